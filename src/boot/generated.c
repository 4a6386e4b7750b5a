#include "boot/generated.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boot/context.h"
#include "boot/bootonce.h"
#include "boot/decision.h"
#include "boot/imagefiles.h"
#include "boot/planner.h"
#include "boot/scripts.h"
#include "boot/timeline.h"
#include "model/bootconf.h"
#include "model/machine.h"
#include "util/log.h"

/* generated_open may resolve a real file through files_open (boot/<mac>.efi). */
static int gen_depth;
static uint64_t gen_serial;

static int
set_doc(struct file_source *src, char *data, size_t len, const char *type)
{
	src->fd = -1;
	src->data = (uint8_t *)data;
	src->size = len;
	src->mtime = time(NULL);
	/* Generated documents change: a fresh "inode" keeps HTTP validators from matching. */
	src->inode = ++gen_serial;
	src->content_type = type;
	return 0;
}

/* "aa:bb:cc:dd:ee:ff" + suffix, exactly. */
static bool
parse_mac_prefix(const char *s, size_t n, uint8_t mac[6])
{
	char buf[18];
	if (n != 17)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return mac_parse(buf, mac) == 0;
}

/*
 * The MAC in a script's name ties the fetching address to that machine,
 * but only for a machine whose DHCP request we saw: anyone can fetch
 * boot/<any-mac>.ipxe, and must not thereby add machines to the timeline
 * or steal a real one's address mapping (docs/security.md).
 */
static void
map_client(struct boot_context *boot, const struct file_client *client, const uint8_t mac[6])
{
	if (!client || !client->addr || !timeline_knows(boot->timeline, mac))
		return;
	if (client->addr->sa_family == AF_INET)
		timeline_map_ip(boot->timeline,
		                ((const struct sockaddr_in *)(const void *)client->addr)->sin_addr, mac);
	/* Over IPv6 in proxy mode the address came from another DHCPv6 server:
	 * this is where netbootd first learns it. */
	else if (client->addr->sa_family == AF_INET6)
		timeline_map_ip6(boot->timeline,
		                 &((const struct sockaddr_in6 *)(const void *)client->addr)->sin6_addr, mac);
}

/* The address this machine reached us at: from its DHCP exchange, else the listener's. */
static void
base_for(struct boot_context *boot, const uint8_t mac[6], const struct file_client *client,
         char *base, size_t len)
{
	static bool warned;
	/* Over IPv6 (not v4-mapped): the address it came to is the one it can reach. */
	if (client && client->local && client->local->sa_family == AF_INET6) {
		const struct sockaddr_in6 *l6 = (const struct sockaddr_in6 *)(const void *)client->local;
		if (!IN6_IS_ADDR_V4MAPPED(&l6->sin6_addr)) {
			planner_http_base6(boot->cfg, &l6->sin6_addr, base, len);
			return;
		}
	}
	struct in_addr a = { 0 };
	if (boot->cfg->http.enabled && boot->cfg->http.addr.ss_family == AF_INET)
		a = ((const struct sockaddr_in *)&boot->cfg->http.addr)->sin_addr;
	if (!boot->cfg->server_addr_set && a.s_addr == 0) {
		struct in_addr s;
		if (timeline_server_ip(boot->timeline, mac, &s))
			a = s;
		else if (boot->cfg->tftp.enabled && boot->cfg->tftp.addr.ss_family == AF_INET)
			a = ((const struct sockaddr_in *)&boot->cfg->tftp.addr)->sin_addr;
		if (a.s_addr == 0 && !warned) {
			/* No DHCP exchange seen and wildcard listeners: URLs cannot name us. */
			log_warn("boot", "cannot tell which address clients reach this server at; "
			                 "set --server-addr");
			warned = true;
		}
	}
	planner_http_base(boot->cfg, a, base, len);
}

static uint64_t
image_size(void *ctx, const char *ref)
{
	struct boot_context *boot = ctx;
	struct file_source s;
	uint64_t size = 0;
	gen_depth++;
	if (files_open(boot->files, ref, strlen(ref), NULL, &s) == 0) {
		size = s.size;
		file_source_release(&s);
	}
	gen_depth--;
	return size;
}

static void
expect_finals(struct boot_context *boot, const uint8_t mac[6], const struct boot_profile *p)
{
	const char *finals[16];
	size_t n = planner_final_files(boot->cfg, p, finals, 16);
	timeline_expect(boot->timeline, mac, p ? p->name : NULL, finals, n);
}

/*
 * The iPXE script holds both branches (iPXE picks by ${platform}); say which
 * one this machine will take and why, from the firmware DHCP saw, so that
 * `method = auto` explains itself in the log for BIOS and UEFI alike.
 */
static void
log_image_choice(struct boot_context *boot, const char *macs, const uint8_t mac[6],
                 const struct boot_profile *p)
{
	static const struct {
		enum image_client client;
		const char *name;
		bool bios;
	} kinds[] = { { IMAGE_CLIENT_BIOS, "BIOS", true }, { IMAGE_CLIENT_UEFI, "UEFI", false } };
	char why[160];
	bool bios = false;
	uint64_t size = bootconf_is_url(p->image) ? 0 : image_size(boot, p->image);
	bool known = timeline_is_bios(boot->timeline, mac, &bios);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (known && bios != kinds[i].bios)
			continue; /* not this machine's branch */
		planner_image_method(boot->cfg, p, kinds[i].client, size, why, sizeof(why));
		log_info("boot", "%s: image %s for %s%s%s: %s", macs, p->image, known ? "" : "a ",
		         kinds[i].name, known ? "" : " client", why);
	}
}

typedef int (*doc_fn)(const struct script_env *env, const struct boot_profile *p, char **out,
                      size_t *len);

/*
 * The decision API has not answered yet: iPXE asks again in a second (the
 * API's answer, or the config's after decision-api-timeout).
 */
static int
decision_wait_script(const struct script_env *env, char **out, size_t *len)
{
	int n = asprintf(out, "#!ipxe\n# netbootd: %s, waiting for the decision API\n"
	                      "echo netbootd: asking the decision API about %s...\nsleep 1\n"
	                      "chain --replace --autofree %s/boot/%s.ipxe\n",
	                 env->mac, env->mac, env->base, env->mac);
	if (n < 0)
		return -ENOMEM;
	*len = (size_t)n;
	return 0;
}

/*
 * GRUB netboot looks for grub.cfg-01-<mac> beside its modules: boot/grub/
 * (grub-mknetdir's --subdir, our built images), or the prefix of one of
 * Debian's signed network GRUBs, through the hand-over in generated_open:
 * grub/ (grub-efi-*-signed's grubnet*.efi.signed) or debian-installer/ARCH/
 * grub/ (the installer's netboot grubx64.efi and grubaa64.efi). The name
 * after such a directory, or NULL; *ours: the directory is boot/grub/.
 */
static const char *
grub_cfg_name(const char *relpath, bool *ours)
{
	static const char *const dirs[] = { "boot/grub/", "grub/", "debian-installer/amd64/grub/",
		                            "debian-installer/arm64/grub/" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		size_t d = strlen(dirs[i]);
		if (strncmp(relpath, dirs[i], d) == 0) {
			*ours = i == 0;
			return relpath + d;
		}
	}
	return NULL;
}

static int
serve_doc(struct boot_context *boot, const uint8_t mac[6], const struct file_client *client, doc_fn fn,
          const char *type, struct file_source *src)
{
	char base[96], macs[18];
	char *out;
	size_t len;
	const struct boot_profile *p =
		bootconf_profile_for_arch(boot->cfg->boot, mac, timeline_arch(boot->timeline, mac));

	map_client(boot, client, mac);
	base_for(boot, mac, client, base, sizeof(base));
	struct script_env env = {
		.cfg = boot->cfg,
		.base = base,
		.mac = mac_format(mac, macs),
		.image_size = image_size,
		.size_ctx = boot,
		.local_disk = bootonce_local_disk(boot, mac),
	};
	int r = fn == scripts_ipxe && decisions_pending(boot->decisions, mac)
	            ? decision_wait_script(&env, &out, &len)
	            : fn(&env, p, &out, &len);
	if (r < 0)
		return r;
	if (env.local_disk)
		log_info("boot", "%s: boot-once: it booted already, so its local disk", env.mac);
	else
		expect_finals(boot, mac, p);
	if (fn == scripts_ipxe && p && p->kind == PROFILE_IMAGE)
		log_image_choice(boot, macs, mac, p);
	log_debug("boot", "%s: generated %zu bytes for profile %s", macs, len, p ? p->name : "(none)");
	return set_doc(src, out, len, type);
}

/* boot/<mac>.efi, .iso, .img: the bytes of the file the planner names (no redirect). */
static int
serve_http_boot(struct boot_context *boot, const char *relpath, const uint8_t mac[6],
                const struct file_client *client, struct file_source *src)
{
	char name[512], reason[256], macs[18], path[sizeof(src->path)];
	int arch = timeline_arch(boot->timeline, mac);
	const struct boot_profile *p = bootconf_profile_for_arch(boot->cfg->boot, mac, arch);
	uint64_t size = 0;

	if (gen_depth > 0)
		return -ENOENT; /* never a generated name inside a generated name */
	if (p && p->kind == PROFILE_IMAGE && !bootconf_is_url(p->image))
		size = image_size(boot, p->image);
	int r = planner_http_boot_file(boot->cfg, mac, arch, size, name, sizeof(name), reason,
	                               sizeof(reason));
	log_info("boot", "%s: %s serves %s: %s", mac_format(mac, macs), relpath, r == 0 ? name : "-",
	         reason);
	if (r < 0)
		return r;
	map_client(boot, client, mac);
	snprintf(path, sizeof(path), "%s", relpath);
	gen_depth++;
	r = files_open(boot->files, name, strlen(name), client, src);
	gen_depth--;
	if (r < 0) {
		log_warn("boot", "%s: %s: %s", macs, name, strerror(-r));
		return r == -ENOENT ? -ENOENT : r;
	}
	/* The log and the timeline name what was asked for. */
	snprintf(src->path, sizeof(src->path), "%s", path);
	const char *finals[16];
	size_t n = planner_final_files(boot->cfg, p, finals, 16);
	bool final = false;
	for (size_t i = 0; i < n; i++)
		final |= strcmp(finals[i], name) == 0;
	const char *self = path;
	timeline_expect(boot->timeline, mac, p ? p->name : NULL, final ? &self : finals, final ? 1 : n);
	return 0;
}

/* /status (HTML), /status.json and /status.txt (`netbootd status`): the
 * machines of the LAN and their addresses, so status-allow says who may look. */
static int
open_status(struct boot_context *boot, const char *ext, const struct file_client *client,
            struct file_source *src)
{
	if (!config_status_allowed(boot->cfg, client ? client->addr : NULL))
		return -EACCES;
	char *out;
	size_t len;
	bool json = strcmp(ext, ".json") == 0, text = strcmp(ext, ".txt") == 0;
	int r = json   ? timeline_json(boot->timeline, &out, &len)
	        : text ? timeline_text(boot->timeline, &out, &len)
	               : timeline_html(boot->timeline, &out, &len);
	if (r < 0)
		return r;
	return set_doc(src, out, len, json   ? "application/json"
	                              : text ? "text/plain; charset=utf-8"
	                                     : "text/html; charset=utf-8");
}

int
generated_open(void *ctx, const char *relpath, const struct file_client *client,
               struct file_source *src)
{
	struct boot_context *boot = ctx;
	uint8_t mac[6];
	size_t n = strlen(relpath);

	if (strcmp(relpath, "status.json") == 0 || strcmp(relpath, "status") == 0 ||
	    strcmp(relpath, "status.txt") == 0)
		return open_status(boot, relpath + 6, client, src);
	/* GRUB's per-machine configuration, in any directory GRUB looks in. */
	bool ours;
	const char *grub_cfg = grub_cfg_name(relpath, &ours);
	if (grub_cfg && strncmp(grub_cfg, "grub.cfg-01-", 12) == 0 && strlen(grub_cfg) == 12 + 17) {
		if (!parse_mac_prefix(grub_cfg + 12, 17, mac))
			return -ENOENT;
		return serve_doc(boot, mac, client, scripts_grub, "text/plain; charset=utf-8", src);
	}
	/*
	 * Debian's signed network GRUB (Secure Boot and ARM64, after shim) reads
	 * $prefix/grub.cfg, not the per-MAC names: hand over to this machine's
	 * own, named by GRUB's own variable (aa:bb:.. is a MAC our parser
	 * takes). The same document serves every machine, under each prefix
	 * but boot/grub/ (ours, which asks for the per-MAC name itself).
	 */
	if (grub_cfg && !ours && strcmp(grub_cfg, "grub.cfg") == 0) {
		static const char handover[] =
			"# netbootd: this machine's own configuration (profile by MAC)\n"
			"configfile $prefix/grub.cfg-01-$net_default_mac\n"
			"echo \"netbootd: no configuration for $net_default_mac\"\n"
			"sleep 5\n";
		char *out = strdup(handover);
		if (!out)
			return -ENOMEM;
		return set_doc(src, out, sizeof(handover) - 1, "text/plain; charset=utf-8");
	}
	if (strncmp(relpath, SCRIPTS_IMAGE_PREFIX, strlen(SCRIPTS_IMAGE_PREFIX)) == 0) {
		if (gen_depth > 0)
			return -ENOENT; /* never a generated name inside a generated name */
		gen_depth++;
		int r = imagefiles_open(boot->files, boot->cfg->boot, relpath, src);
		gen_depth--;
		return r;
	}
	if (strncmp(relpath, "boot/", 5) == 0 && n > 5 + 17) {
		const char *ext = relpath + 5 + 17;
		if (!parse_mac_prefix(relpath + 5, 17, mac))
			return -ENOENT;
		if (strcmp(ext, ".ipxe") == 0)
			return serve_doc(boot, mac, client, scripts_ipxe, "text/plain; charset=utf-8", src);
		if (strcmp(ext, ".imgboot") == 0)
			return serve_doc(boot, mac, client, scripts_imgboot, "text/plain; charset=utf-8", src);
		if (strcmp(ext, ".efi") == 0 || strcmp(ext, ".iso") == 0 || strcmp(ext, ".img") == 0)
			return serve_http_boot(boot, relpath, mac, client, src);
		return -ENOENT;
	}
	/* pxelinux asks for 01-<mac with dashes> (ARP type 1 = Ethernet). */
	if (strncmp(relpath, "pxelinux.cfg/01-", 16) == 0 && n == 16 + 17) {
		if (!parse_mac_prefix(relpath + 16, 17, mac))
			return -ENOENT;
		return serve_doc(boot, mac, client, scripts_pxelinux, "text/plain; charset=utf-8", src);
	}
	return -ENOENT;
}

void
generated_register(struct boot_context *boot)
{
	if (boot->files)
		files_set_generator(boot->files, generated_open, boot);
}

/* ---- quick mode ------------------------------------------------------------ */

static int
quick_alias(struct boot_context *boot, const char *name, const char *host_path)
{
	if (access(host_path, R_OK) != 0) {
		log_error("main", "%s: %s", host_path, strerror(errno));
		return -1;
	}
	int r = files_add_alias(boot->files, name, host_path);
	if (r < 0) {
		log_error("main", "cannot serve %s as %s: %s", host_path, name, strerror(-r));
		return -1;
	}
	log_info("main", "quick mode: serving %s as /%s", host_path, name);
	return 0;
}

/* The served name of quick mode's image: quick/image.iso, quick/image.img, ... */
static void
quick_image_name(const struct config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "quick/image%s", planner_image_ext(cfg->image));
}

int
generated_quick_profile(const struct config *cfg, struct bootconf *bc)
{
	if (cfg->image) {
		char name[32];
		quick_image_name(cfg, name, sizeof(name));
		if (bootconf_add_quick_image(bc, name, cfg->method) < 0) {
			log_error("main", "--method %s: not an image method (auto, imgboot, "
			                  "firmware-ramdisk, memdisk, sanboot, grub-memdisk, direct, pxelinux, grub)",
			          cfg->method ? cfg->method : "?");
			return -1;
		}
		return 0;
	}
	if (cfg->kernel) {
		char names[BOOTCONF_MAX_INITRDS][48];
		const char *initrds[BOOTCONF_MAX_INITRDS];
		if (cfg->initrds.count > BOOTCONF_MAX_INITRDS) {
			log_error("main", "at most %d --initrd", BOOTCONF_MAX_INITRDS);
			return -1;
		}
		for (size_t i = 0; i < cfg->initrds.count; i++) {
			snprintf(names[i], sizeof(names[i]), "quick/initrd%zu", i);
			initrds[i] = names[i];
		}
		if (bootconf_add_quick_kernel(bc, "quick/linux", initrds, cfg->initrds.count,
		                              cfg->cmdline) < 0) {
			log_error("main", "cannot set up the quick profile");
			return -1;
		}
	}
	return 0;
}

int
generated_quick_setup(struct boot_context *boot)
{
	struct config *cfg = boot->cfg;
	if (cfg->image) {
		char name[32];
		quick_image_name(cfg, name, sizeof(name));
		if (quick_alias(boot, name, cfg->image) < 0)
			return -1;
	} else if (cfg->kernel) {
		if (quick_alias(boot, "quick/linux", cfg->kernel) < 0)
			return -1;
		for (size_t i = 0; i < cfg->initrds.count && i < BOOTCONF_MAX_INITRDS; i++) {
			char name[48];
			snprintf(name, sizeof(name), "quick/initrd%zu", i);
			if (quick_alias(boot, name, cfg->initrds.items[i]) < 0)
				return -1;
		}
	}
	return generated_quick_profile(cfg, cfg->boot);
}

/* ---- --check-config ----------------------------------------------------------- */

/* Where each boot loader comes from, for the line that says it is missing. */
struct loader_pkg {
	const char *name;
	const char *hint;
};

static const struct loader_pkg loader_pkgs[] = {
	{ "undionly.kpxe", "install the Debian package ipxe, or set ipxe-dir" },
	{ "snponly.efi", "install the Debian package ipxe, or set ipxe-dir" },
	{ "ipxe.efi", "install the Debian package ipxe, or set ipxe-dir" },
	{ "ipxe.pxe", "install the Debian package ipxe, or set ipxe-dir" },
	{ "lpxelinux.0", "install the Debian package pxelinux, or set pxelinux-dir" },
	{ "pxelinux.0", "install the Debian package pxelinux, or set pxelinux-dir" },
	{ "ldlinux.c32", "install the Debian package syslinux-common, or set syslinux-dir" },
	{ "memdisk", "install the Debian package syslinux-common, or set syslinux-dir" },
	/* Built at start-up from the package's modules (grubcache_net_setup). */
	{ "boot/grub/i386-pc/core.0", "install the Debian package grub-pc-bin, or set grub-dir" },
	{ "boot/grub/x86_64-efi/core.efi", "install the Debian package grub-efi-amd64-bin, or set "
	                                   "grub-dir" },
	{ "imgboot.efi", "build it with make efi (Debian package gnu-efi), or set imgboot-efi" },
	{ "shimx64.efi", "install the Debian package shim-signed, or set shim-efi" },
	{ "grubx64.efi", "install the Debian package grub-efi-amd64-signed, or set signed-grub-efi" },
	{ "shimaa64.efi", "install the Debian package debian-installer-12-netboot-arm64 (on arm64: "
	                  "shim-signed), or set arm64-shim-efi" },
	{ "grubaa64.efi", "install the Debian package debian-installer-12-netboot-arm64 (on arm64: "
	                  "grub-efi-arm64-signed), or set arm64-grub-efi" },
};

static int
check_ref(struct boot_context *boot, const char *what, const char *owner, const char *ref)
{
	struct file_source s;
	if (!ref || bootconf_is_url(ref))
		return 0;
	gen_depth++;
	int r = files_open(boot->files, ref, strlen(ref), NULL, &s);
	gen_depth--;
	if (r == 0) {
		file_source_release(&s);
		return 0;
	}
	const char *slash = strrchr(ref, '/');
	const char *base = slash ? slash + 1 : ref;
	for (size_t i = 0; i < sizeof(loader_pkgs) / sizeof(loader_pkgs[0]); i++) {
		if (strcmp(loader_pkgs[i].name, ref) == 0 || strcmp(loader_pkgs[i].name, base) == 0) {
			fprintf(stderr, "netbootd: %s: %s '%s' not found: %s (%s)\n", owner, what, ref,
			        strerror(-r), loader_pkgs[i].hint);
			return 1;
		}
	}
	fprintf(stderr, "netbootd: %s: %s '%s' not found beneath the root: %s\n", owner, what, ref,
	        strerror(-r));
	return 1;
}

int
generated_check(struct boot_context *boot)
{
	const struct config *cfg = boot->cfg;
	const struct bootconf *bc = cfg->boot;
	int problems = 0;
	char owner[96];
	bool need_memdisk = false, need_imgboot = false;

	/* Every chain starts with iPXE for BIOS and x64 UEFI unless [arch] says otherwise. */
	if (!bootconf_arch_loader(bc, ARCH_X86_BIOS))
		problems += check_ref(boot, "boot loader", "BIOS PXE", "undionly.kpxe");
	const char *uefi = bootconf_arch_loader(bc, ARCH_X64_UEFI);
	problems += check_ref(boot, "boot loader", "UEFI PXE", uefi ? uefi : "snponly.efi");
	if (uefi && strcmp(uefi, "shimx64.efi") == 0) /* shim fetches it next */
		problems += check_ref(boot, "boot loader", "UEFI PXE (shim)", "grubx64.efi");
	/* ARM64's Debian loaders are optional (main.c), unless named outright. */
	if (cfg->arm64_shim_efi)
		problems += check_ref(boot, "boot loader", "ARM64 UEFI PXE", "shimaa64.efi");
	if (cfg->arm64_grub_efi)
		problems += check_ref(boot, "boot loader", "ARM64 UEFI PXE", "grubaa64.efi");
	for (size_t i = 0; i < bootconf_arch_count(bc); i++) {
		const struct boot_arch *a = bootconf_arch_at(bc, i);
		const char *an = arch_name(a->arch);
		snprintf(owner, sizeof(owner), "[arch %s]", an ? an : "?");
		problems += check_ref(boot, "loader", owner, a->loader);
	}
	for (size_t i = 0; i < bootconf_profile_count(bc); i++) {
		const struct boot_profile *p = bootconf_profile_at(bc, i);
		snprintf(owner, sizeof(owner), "[profile %s]", p->name);
		problems += check_ref(boot, "kernel", owner, p->kernel);
		for (size_t k = 0; k < p->n_initrds; k++)
			problems += check_ref(boot, "initrd", owner, p->initrds[k]);
		problems += check_ref(boot, "image", owner, p->image);
		problems += check_ref(boot, "efi", owner, p->efi);
		if (p->method == BOOT_METHOD_PXELINUX) {
			problems += check_ref(boot, "loader", owner, p->pxelinux ? p->pxelinux : "lpxelinux.0");
			problems += check_ref(boot, "loader", owner, "ldlinux.c32");
		}
		if ((p->method == BOOT_METHOD_GRUB || p->method == BOOT_METHOD_GRUB_MEMDISK) && p->grub)
			problems += check_ref(boot, "grub", owner, p->grub);
		if (p->method == BOOT_METHOD_GRUB && !p->grub) {
			problems += check_ref(boot, "loader", owner, "boot/grub/i386-pc/core.0");
			problems += check_ref(boot, "loader", owner, "boot/grub/x86_64-efi/core.efi");
		}
		if ((p->method == BOOT_METHOD_GRUB || p->method == BOOT_METHOD_PXELINUX) &&
		    !cfg->tftp.enabled) {
			/* The firmware fetches these loaders, and they their files, by TFTP. */
			fprintf(stderr, "netbootd: %s: method %s needs TFTP, which is off\n", owner,
			        boot_method_name(p->method));
			problems++;
		}
		if (p->kind == PROFILE_IMAGE) {
			char why[160];
			uint64_t size = bootconf_is_url(p->image) ? 0 : image_size(boot, p->image);
			enum boot_method b = planner_image_method(cfg, p, IMAGE_CLIENT_BIOS, size, why,
			                                          sizeof(why));
			enum boot_method u = planner_image_method(cfg, p, IMAGE_CLIENT_UEFI, size, why,
			                                          sizeof(why));
			need_memdisk |= b == BOOT_METHOD_MEMDISK;
			need_imgboot |= u == BOOT_METHOD_IMGBOOT;
		}
	}
	if (need_memdisk)
		problems += check_ref(boot, "loader", "memdisk method", "memdisk");
	if (need_imgboot)
		problems += check_ref(boot, "loader", "imgboot method", "imgboot.efi");
	return problems;
}
