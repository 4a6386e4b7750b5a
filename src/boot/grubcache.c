#include "boot/grubcache.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot/files.h"
#include "boot/mkgrub.h"
#include "model/bootconf.h"
#include "model/config.h"
#include "util/fs.h"
#include "util/log.h"

/*
 * mkdir -p, then make sure only root can write there: the builds below run
 * as root (grub-mkimage writes by path), so a cache directory another user
 * can write would let them aim those writes at any file (docs/security.md).
 */
static int
cache_dir_ready(const char *dir)
{
	char why[PATH_MAX + 96];
	int r = fs_mkdir_p(dir);
	if (r < 0) {
		log_error("main", "cache-dir %s: %s", dir, strerror(-r));
		return -1;
	}
	r = fs_dir_root_only(dir, why, sizeof(why));
	if (r == -EPERM && geteuid() == 0) {
		log_error("main", "cache-dir %s: %s; netbootd builds there as root before it drops "
		                  "privileges, so only root may write it (chown root: and chmod go-w, "
		                  "or choose another cache-dir)", dir, why);
		return -1;
	}
	if (r < 0 && r != -EPERM) {
		log_error("main", "cache-dir %s: %s", dir, strerror(-r));
		return -1;
	}
	return 0;
}

/* The host path of a profile's image: quick mode's file, or beneath --root. */
static int
image_host_path(const struct config *cfg, const char *image, char *buf, size_t len)
{
	if (cfg->image && strncmp(image, "quick/", 6) == 0)
		return snprintf(buf, len, "%s", cfg->image) < (int)len ? 0 : -ENAMETOOLONG;
	if (!cfg->root)
		return -ENOENT;
	/* Names are checked against escapes by bootconf; no "..", no leading '/'. */
	while (*image == '/')
		image++;
	if (strstr(image, ".."))
		return -EACCES;
	return snprintf(buf, len, "%s/%s", cfg->root, image) < (int)len ? 0 : -ENAMETOOLONG;
}

/*
 * Served files are opened beneath --root by the safe opener, which refuses
 * symlinks; this build runs as root before the privilege drop, so it holds
 * the image to the same rule (the resolved path must be the literal one),
 * or a link in the root would pack any host file into a binary anyone on
 * the LAN can fetch.
 */
static bool
plain_beneath_root(const struct config *cfg, const char *image, const char *abs_image)
{
	char r[PATH_MAX], want[PATH_MAX + 8];
	if (!cfg->root || !realpath(cfg->root, r))
		return false;
	while (*image == '/')
		image++;
	if (snprintf(want, sizeof(want), "%s/%s", strcmp(r, "/") == 0 ? "" : r, image) >=
	    (int)sizeof(want))
		return false;
	return strcmp(want, abs_image) == 0;
}

/* What the cached binary was built from; a change of any field rebuilds. */
static void
cache_key(const char *abs_image, const struct stat *st, char *buf, size_t len)
{
	snprintf(buf, len, "image=%s\nsize=%lld\nmtime=%lld.%09ld\n", abs_image, (long long)st->st_size,
	         (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

static bool
key_matches(const char *keyfile, const char *key)
{
	char buf[PATH_MAX + 128];
	FILE *f = fopen(keyfile, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strcmp(buf, key) == 0;
}

static int
build_one(struct boot_context *boot, size_t idx, const struct boot_profile *p, const char *dir)
{
	char host[PATH_MAX], abs_image[PATH_MAX], out[PATH_MAX], tmp[PATH_MAX], keyfile[PATH_MAX];
	char key[PATH_MAX + 128], name[300];
	struct stat st;

	int r = image_host_path(boot->cfg, p->image, host, sizeof(host));
	if (r < 0 || stat(host, &st) < 0 || !S_ISREG(st.st_mode) || !realpath(host, abs_image)) {
		log_error("main", "profile %s: grub-memdisk: image %s: %s", p->name, p->image,
		          r < 0 ? strerror(-r) : errno ? strerror(errno) : "not a regular file");
		return -1;
	}
	bool quick = boot->cfg->image && strncmp(p->image, "quick/", 6) == 0;
	if (!quick && !plain_beneath_root(boot->cfg, p->image, abs_image)) {
		log_error("main", "profile %s: grub-memdisk: image %s resolves to %s through a "
		                  "symlink (served files may not use symlinks)", p->name, p->image,
		          abs_image);
		return -1;
	}
	if (snprintf(out, sizeof(out), "%s/%s-grub.efi", dir, p->name) >= (int)sizeof(out) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s-grub.efi.tmp", dir, p->name) >= (int)sizeof(tmp) ||
	    snprintf(keyfile, sizeof(keyfile), "%s/%s-grub.key", dir, p->name) >= (int)sizeof(keyfile)) {
		log_error("main", "profile %s: grub-memdisk: cache path too long", p->name);
		return -1;
	}
	cache_key(abs_image, &st, key, sizeof(key));
	if (key_matches(keyfile, key) && access(out, R_OK) == 0) {
		log_info("main", "profile %s: grub-memdisk: reusing %s (image %s unchanged)", p->name, out,
		         abs_image);
	} else {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		log_info("main", "profile %s: grub-memdisk: building %s from %s (%lld MiB)", p->name, out,
		         abs_image, (long long)(st.st_size >> 20));
		unlink(keyfile);
		if (mkgrub_build(abs_image, tmp, NULL) < 0) {
			unlink(tmp);
			log_error("main", "profile %s: grub-memdisk: building the GRUB binary failed "
			                  "(see above; `netbootd mkgrub --image %s -o FILE` shows the same)",
			          p->name, abs_image);
			return -1;
		}
		r = fs_publish(tmp, out);
		if (r < 0) {
			log_error("main", "profile %s: grub-memdisk: %s: %s", p->name, out, strerror(-r));
			return -1;
		}
		FILE *f = fopen(keyfile, "we");
		if (!f || fputs(key, f) < 0 || fclose(f) != 0)
			log_warn("main", "profile %s: grub-memdisk: cannot write %s: the next start "
			                 "builds again", p->name, keyfile);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_info("main", "profile %s: grub-memdisk: built %s in %.1f s", p->name, out,
		         (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	snprintf(name, sizeof(name), "cache/%s-grub.efi", p->name);
	r = files_add_alias(boot->files, name, out);
	if (r < 0) {
		log_error("main", "cannot serve %s as %s: %s", out, name, strerror(-r));
		return -1;
	}
	if (bootconf_set_profile_grub(boot->cfg->boot, idx, name) < 0) {
		log_error("main", "out of memory at start-up");
		return -1;
	}
	return 0;
}

int
grubcache_setup(struct boot_context *boot)
{
	const struct bootconf *bc = boot->cfg->boot;
	const char *dir = boot->cfg->cache_dir ? boot->cfg->cache_dir : GRUBCACHE_DEFAULT_DIR;
	bool made_dir = false;

	for (size_t i = 0; i < bootconf_profile_count(bc); i++) {
		const struct boot_profile *p = bootconf_profile_at(bc, i);
		if (!p || p->kind != PROFILE_IMAGE || p->method != BOOT_METHOD_GRUB_MEMDISK || p->grub)
			continue;
		if (bootconf_is_url(p->image)) {
			log_error("main", "profile %s: grub-memdisk builds from a local image, not the URL "
			                  "%s (or give grub = FILE)", p->name, p->image);
			return -1;
		}
		if (!made_dir) {
			if (cache_dir_ready(dir) < 0)
				return -1;
			made_dir = true;
		}
		if (build_one(boot, i, p, dir) < 0)
			return -1;
	}
	return 0;
}

/*
 * A reload builds nothing: the sandbox has no exec, and a build takes
 * seconds of a serving daemon's time. A profile that was built at start-up
 * keeps its binary; one that would need a new build refuses the reload.
 */
static int
carry_built_grub(const struct bootconf *running, struct bootconf *fresh, size_t idx,
                 const struct boot_profile *p)
{
	char built[BOOTCONF_NAME_MAX + 32];
	snprintf(built, sizeof(built), "cache/%s-grub.efi", p->name);
	const struct boot_profile *q = bootconf_profile(running, p->name);
	if (q && q->kind == PROFILE_IMAGE && q->grub && strcmp(q->grub, built) == 0 &&
	    strcmp(q->image, p->image) == 0)
		return bootconf_set_profile_grub(fresh, idx, built) < 0 ? -1 : 0;
	log_error("reload", "profile %s: method grub-memdisk builds its GRUB binary at start-up, "
	                    "which a reload does not do: restart netbootd to apply it, or give "
	                    "grub = FILE (made by netbootd mkgrub)", p->name);
	return -1;
}

static bool needs_grub_net(const struct bootconf *bc);

int
grubcache_reload(const struct bootconf *running, struct bootconf *fresh)
{
	for (size_t i = 0; i < bootconf_profile_count(fresh); i++) {
		const struct boot_profile *p = bootconf_profile_at(fresh, i);
		if (p->kind == PROFILE_IMAGE && p->method == BOOT_METHOD_GRUB_MEMDISK && !p->grub &&
		    carry_built_grub(running, fresh, i, p) < 0)
			return -1;
	}
	if (needs_grub_net(fresh) && !needs_grub_net(running)) {
		log_error("reload", "method grub: GRUB's network images are built at start-up, and "
		                    "none were (no profile used method grub): restart netbootd to apply");
		return -1;
	}
	return 0;
}

/* ---- GRUB network images (method = grub) ---------------------------------- */

struct grub_platform {
	const char *dir;        /* beneath the GRUB module dir and boot/grub/ */
	const char *format;     /* grub-mkimage -O */
	const char *net_module;
	const char *image;      /* the name the planner answers with */
};

static const struct grub_platform grub_platforms[] = {
	{ "i386-pc", "i386-pc-pxe", "pxe", "boot/grub/i386-pc/core.0" },
	{ "x86_64-efi", "x86_64-efi", "efinet", "boot/grub/x86_64-efi/core.efi" },
};

bool
grubcache_net_prefix(bool proxy, const struct in_addr *server, char *buf, size_t len)
{
	if (!proxy)
		return snprintf(buf, len, "/boot/grub") < (int)len;
	if (!server || !server->s_addr)
		return false;
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, server, ip, sizeof(ip));
	return snprintf(buf, len, "(tftp,%s)/boot/grub", ip) < (int)len;
}

static bool
chosen_interface(const struct config *cfg, const char *name)
{
	if (cfg->interfaces.count == 0)
		return true;
	for (size_t i = 0; i < cfg->interfaces.count; i++) {
		if (strcmp(cfg->interfaces.items[i], name) == 0)
			return true;
	}
	return false;
}

/*
 * The address GRUB should fetch from: server-addr, else the TFTP listen
 * address, else the one IPv4 address of the chosen interfaces. With several
 * there is no right answer for every client: say so.
 */
static bool
tftp_server_address(const struct config *cfg, struct in_addr *out, char *how, size_t howlen)
{
	if (cfg->server_addr_set) {
		*out = cfg->server_addr;
		snprintf(how, howlen, "server-addr");
		return true;
	}
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&cfg->tftp.addr;
	if (cfg->tftp.enabled && sin->sin_family == AF_INET && sin->sin_addr.s_addr != INADDR_ANY) {
		*out = sin->sin_addr;
		snprintf(how, howlen, "the TFTP address");
		return true;
	}
	struct ifaddrs *ifs;
	if (getifaddrs(&ifs) < 0) {
		snprintf(how, howlen, "getifaddrs: %s", strerror(errno));
		return false;
	}
	size_t found = 0;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
		    !(i->ifa_flags & IFF_UP) || !chosen_interface(cfg, i->ifa_name))
			continue;
		struct in_addr a = ((const struct sockaddr_in *)i->ifa_addr)->sin_addr;
		if (found == 0 || a.s_addr != out->s_addr) {
			*out = a;
			found++;
		}
	}
	freeifaddrs(ifs);
	if (found == 1) {
		snprintf(how, howlen, "the one address of the chosen interfaces");
		return true;
	}
	snprintf(how, howlen, "%s IPv4 addresses on the chosen interfaces", found ? "several" : "no");
	return false;
}

static bool
needs_grub_net(const struct bootconf *bc)
{
	for (size_t i = 0; i < bootconf_profile_count(bc); i++) {
		const struct boot_profile *p = bootconf_profile_at(bc, i);
		if (p && p->method == BOOT_METHOD_GRUB && !p->grub)
			return true;
	}
	return false;
}

/* 1: built and served; 0: not built (said why; only its clients fail); -1: stop. */
static int
build_net_image(struct boot_context *boot, const char *label, const struct grub_platform *pf,
                const char *modules, const char *cache, const char *prefix)
{
	char dir[PATH_MAX], out[PATH_MAX], tmp[PATH_MAX];
	const char *base = strrchr(pf->image, '/') + 1;
	if (snprintf(dir, sizeof(dir), "%s/grub-net/%s", cache, pf->dir) >= (int)sizeof(dir) ||
	    snprintf(out, sizeof(out), "%s/%s", dir, base) >= (int)sizeof(out) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, base) >= (int)sizeof(tmp)) {
		log_error("main", "%s: cache path too long", label);
		return -1;
	}
	if (cache_dir_ready(dir) < 0)
		return -1;
	if (mkgrub_build_net(modules, pf->format, prefix, pf->net_module, tmp) < 0 ||
	    fs_publish(tmp, out) < 0) {
		unlink(tmp);
		/* One platform missing (grub-pc-bin not installed) only fails its clients. */
		log_warn("main", "%s: no GRUB image for %s clients (see above)", label, pf->dir);
		return 0;
	}
	int r = files_add_alias(boot->files, pf->image, out);
	if (r < 0) {
		log_error("main", "cannot serve %s as %s: %s", out, pf->image, strerror(-r));
		return -1;
	}
	log_info("main", "%s: built %s (prefix %s), served as %s", label, out, prefix, pf->image);
	return 1;
}

/* The prefix to build into this configuration's GRUB images, with the
 * server address (proxy mode) and how it was found; false when unknown. */
static bool
prefix_for(const struct config *cfg, struct in_addr *server, char *how, size_t howlen,
           char *prefix, size_t prefixlen)
{
	bool proxy = cfg->dhcp_mode != DHCP_MODE_SERVER;
	bool have_server = proxy && tftp_server_address(cfg, server, how, howlen);
	return grubcache_net_prefix(proxy, have_server ? server : NULL, prefix, prefixlen);
}

int
grubcache_net_setup(struct boot_context *boot, const char *grub_dir)
{
	const struct config *cfg = boot->cfg;
	if (!needs_grub_net(cfg->boot))
		return 0;
	bool proxy = cfg->dhcp_mode != DHCP_MODE_SERVER;
	struct in_addr server = { 0 };
	char how[96] = "", prefix[64];
	if (!prefix_for(cfg, &server, how, sizeof(how), prefix, sizeof(prefix))) {
		/* GRUB would ask the LAN's DHCP server for its files: a boot that
		 * hangs on normal.mod. Refuse at start-up, with the fix. */
		log_error("main", "method grub in proxy mode: GRUB needs netbootd's address built "
		                  "in, and it is not known (%s); set server-addr", how);
		return -1;
	}
	const char *cache = cfg->cache_dir ? cfg->cache_dir : GRUBCACHE_DEFAULT_DIR;
	bool built = false;
	for (size_t i = 0; i < sizeof(grub_platforms) / sizeof(grub_platforms[0]); i++) {
		const struct grub_platform *pf = &grub_platforms[i];
		struct stat st;
		if (fstatat(boot->rootfd, pf->image, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			log_info("main", "method grub: serving the root's %s (grub-mknetdir layout)%s",
			         pf->image, proxy ? "; it takes its TFTP server from the LAN's DHCP "
			                            "ACK in proxy mode: remove it to get one built "
			                            "with netbootd's address" : "");
			continue;
		}
		char modules[PATH_MAX];
		if (snprintf(modules, sizeof(modules), "%s/%s", grub_dir, pf->dir) >= (int)sizeof(modules)) {
			log_error("main", "method grub: %s: path too long", grub_dir);
			return -1;
		}
		int r = build_net_image(boot, "method grub", pf, modules, cache, prefix);
		if (r < 0)
			return -1;
		built |= r > 0;
	}
	if (built) {
		/* normal.mod, linux.mod, ... as grub-mknetdir would copy them; the root's
		 * own boot/grub/ files still come first. */
		int r = files_add_dir_alias(boot->files, "boot/grub/", grub_dir);
		if (r < 0) {
			log_error("main", "cannot serve %s as boot/grub/: %s", grub_dir, strerror(-r));
			return -1;
		}
		if (proxy)
			log_info("main", "method grub: GRUB fetches from %s (%s)", inet_ntoa(server), how);
	}
	return 0;
}

/*
 * ARM64 UEFI PXE without Debian's signed chain's limits: that GRUB takes its
 * TFTP server from the DHCP ACK, which in proxy mode is the LAN's server. An
 * unsigned network GRUB for arm64-efi built here, like method grub's x86
 * images, carries netbootd's address instead; its modules come from
 * modules (grub-efi-arm64-bin's /usr/lib/grub/arm64-efi, or a copy of it on
 * a server of another architecture), served as boot/grub/arm64-efi/. A
 * root's own boot/grub/arm64-efi/core.efi is served instead. Returns 1 when
 * that image is there to offer, 0 when not (no modules: logged at debug
 * level, the signed chain or nothing is offered), -1 on an error that must
 * stop start-up.
 */
int
grubcache_arm64_setup(struct boot_context *boot, const char *modules, bool named)
{
	static const struct grub_platform arm64 = { "arm64-efi", "arm64-efi", "efinet",
		                                    GRUBCACHE_ARM64_IMAGE };
	const struct config *cfg = boot->cfg;
	struct stat st;
	if (fstatat(boot->rootfd, arm64.image, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		log_info("main", "ARM64: serving the root's %s", arm64.image);
		return 1;
	}
	char kernel[PATH_MAX];
	if (snprintf(kernel, sizeof(kernel), "%s/kernel.img", modules) >= (int)sizeof(kernel) ||
	    access(kernel, R_OK) < 0) {
		/* The default place is empty on most servers; a named one is a mistake. */
		if (named)
			log_warn("main", "arm64-grub-dir %s: no GRUB arm64-efi modules there (no "
			                 "kernel.img): ARM64 machines get no GRUB of netbootd's", modules);
		else
			log_debug("main", "ARM64: no GRUB modules in %s", modules);
		return 0;
	}
	struct in_addr server = { 0 };
	char how[96] = "", prefix[64];
	if (!prefix_for(cfg, &server, how, sizeof(how), prefix, sizeof(prefix))) {
		log_warn("main", "ARM64: GRUB for arm64 needs netbootd's address built in, and it "
		                 "is not known (%s); set server-addr", how);
		return 0;
	}
	const char *cache = cfg->cache_dir ? cfg->cache_dir : GRUBCACHE_DEFAULT_DIR;
	int r = build_net_image(boot, "ARM64", &arm64, modules, cache, prefix);
	if (r <= 0)
		return r;
	r = files_add_dir_alias(boot->files, "boot/grub/arm64-efi/", modules);
	if (r < 0) {
		log_error("main", "cannot serve %s as boot/grub/arm64-efi/: %s", modules, strerror(-r));
		return -1;
	}
	return 1;
}
