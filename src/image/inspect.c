/*
 * Image inspection: which distribution's live or installer layout an ISO
 * carries, and its kernel, initrds and command line from its own boot
 * config. The layouts and parameters are the distributions' own (live-boot's
 * 9990-networking.sh and fetch=, casper's netboot=url, dracut's dmsquash-live
 * root=live:, archiso's archiso_pxe_http hook); see inspect.h.
 */
#include "image/inspect.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CONFIG_MAX (256 * 1024) /* a boot menu is a few KiB */

const char *
image_kind_name(enum image_kind k)
{
	static const char *const names[] = {
		[IMAGE_KIND_UNKNOWN] = "unrecognised ISO 9660 image",
		[IMAGE_KIND_DEBIAN_LIVE] = "Debian live (live-boot)",
		[IMAGE_KIND_CASPER] = "Ubuntu live (casper)",
		[IMAGE_KIND_DRACUT_LIVE] = "dracut live (Fedora and relatives)",
		[IMAGE_KIND_ARCHISO] = "Arch Linux live (archiso)",
		[IMAGE_KIND_DEBIAN_INSTALLER] = "Debian installer",
		[IMAGE_KIND_DISK] = "disk image (not ISO 9660)",
	};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* ---- boot configs -------------------------------------------------------------- */

static const char *
skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* A path as the image names it: "/live/x", "($root)/live/x" -> "live/x". */
static void
set_path(char *dst, const char *p, size_t n)
{
	if (n > 0 && *p == '(') {
		const char *close = memchr(p, ')', n);
		if (close) {
			n -= (size_t)(close + 1 - p);
			p = close + 1;
		}
	}
	while (n > 0 && *p == '/') {
		p++;
		n--;
	}
	if (n >= IMAGE_PATH_MAX)
		n = 0; /* too long to be a real one: treat as not found */
	memcpy(dst, p, n);
	dst[n] = '\0';
}

/* The line's command word, matched without case (syslinux) or exactly (GRUB). */
static bool
word_is(const char *p, size_t n, const char *w)
{
	return n == strlen(w) && strncasecmp(p, w, n) == 0;
}

static void
add_initrds(struct image_info *info, const char *p, const char *end, bool commas)
{
	while (p < end && info->n_initrds < IMAGE_MAX_INITRDS) {
		p = skip_space(p, end);
		const char *s = p;
		while (p < end && *p != ' ' && *p != '\t' && !(commas && *p == ','))
			p++;
		if (p > s)
			set_path(info->initrds[info->n_initrds++], s, (size_t)(p - s));
		if (p < end && *p == ',')
			p++;
	}
}

static void
set_cmdline(struct image_info *info, const char *p, const char *end)
{
	size_t n = (size_t)(end - p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	if (n >= sizeof(info->cmdline))
		n = sizeof(info->cmdline) - 1;
	memcpy(info->cmdline, p, n);
	info->cmdline[n] = '\0';
	/* syslinux puts its initrds on the append line. */
	const char *q = info->cmdline;
	while ((q = strstr(q, "initrd=")) != NULL) {
		if (q == info->cmdline || q[-1] == ' ') {
			const char *v = q + 7;
			add_initrds(info, v, v + strcspn(v, " "), true);
		}
		q += 7;
	}
}

int
image_parse_boot_config(const char *text, struct image_info *info)
{
	bool have_kernel = false;
	const char *line = text;
	info->n_initrds = 0;
	info->kernel[0] = info->cmdline[0] = '\0';

	while (*line) {
		const char *eol = line + strcspn(line, "\r\n");
		const char *p = skip_space(line, eol);
		const char *w = p;
		while (p < eol && *p != ' ' && *p != '\t')
			p++;
		size_t wn = (size_t)(p - w);
		const char *args = skip_space(p, eol);
		const char *arg_end = args;
		while (arg_end < eol && *arg_end != ' ' && *arg_end != '\t')
			arg_end++;

		if (!have_kernel && (word_is(w, wn, "linux") || word_is(w, wn, "linuxefi") ||
		                     word_is(w, wn, "linux16") || word_is(w, wn, "kernel"))) {
			set_path(info->kernel, args, (size_t)(arg_end - args));
			/* GRUB: the rest of the line; syslinux: its append line (below). */
			set_cmdline(info, skip_space(arg_end, eol), eol);
			have_kernel = info->kernel[0] != '\0';
		} else if (have_kernel && (word_is(w, wn, "initrd") || word_is(w, wn, "initrdefi") ||
		                           word_is(w, wn, "initrd16"))) {
			add_initrds(info, args, eol, true);
		} else if (have_kernel && word_is(w, wn, "append")) {
			set_cmdline(info, args, eol);
		} else if (have_kernel && (word_is(w, wn, "label") || word_is(w, wn, "menuentry") ||
		                           word_is(w, wn, "}"))) {
			break; /* the first entry is complete */
		}
		line = *eol == '\r' && eol[1] == '\n' ? eol + 2 : *eol ? eol + 1 : eol;
	}
	return have_kernel ? 0 : -ENOENT;
}

/* ---- layouts ------------------------------------------------------------------ */

struct first_match {
	const char *prefix;
	char name[ISO_NAME_MAX + 1];
};

static int
first_match_cb(void *ctx, const struct iso_entry *e)
{
	struct first_match *m = ctx;
	if (!e->dir && strncmp(e->name, m->prefix, strlen(m->prefix)) == 0) {
		/* The lowest name wins, so the choice does not depend on directory order. */
		if (!m->name[0] || strcmp(e->name, m->name) < 0)
			snprintf(m->name, sizeof(m->name), "%s", e->name);
	}
	return 0;
}

/* dir/prefix* -> out ("live/vmlinuz-6.1.0-9-amd64"); false when none. */
static bool
find_prefixed(const struct iso_volume *v, const char *dir, const char *prefix, char *out)
{
	struct first_match m = { .prefix = prefix };
	if (iso_list(v, dir, first_match_cb, &m) < 0 || !m.name[0])
		return false;
	int n = snprintf(out, IMAGE_PATH_MAX, "%s/%s", dir, m.name);
	return n > 0 && n < IMAGE_PATH_MAX;
}

static bool
exists(const struct iso_volume *v, const char *path, bool dir, uint64_t *size)
{
	struct iso_entry e;
	int r = iso_lookup(v, path, &e);
	if (r == -EISDIR && dir)
		return true;
	if (r < 0 || e.dir != dir)
		return false;
	if (size)
		*size = e.size;
	return true;
}

struct layout {
	enum image_kind kind;
	const char *marker;      /* this path exists (file, or directory with a trailing '/') */
	const char *kernel_dir;  /* where the kernel and initrd live */
	const char *kernel_prefix, *initrd_prefix;
	const char *root_file;   /* fetched by the OS ("" = none or the whole image) */
};

static const struct layout layouts[] = {
	{ IMAGE_KIND_DEBIAN_LIVE, "live/filesystem.squashfs", "live", "vmlinuz", "initrd",
	  "live/filesystem.squashfs" },
	{ IMAGE_KIND_CASPER, "casper/", "casper", "vmlinuz", "initrd", "" },
	{ IMAGE_KIND_DRACUT_LIVE, "LiveOS/squashfs.img", "images/pxeboot", "vmlinuz", "initrd",
	  "LiveOS/squashfs.img" },
	{ IMAGE_KIND_ARCHISO, "arch/", "arch/boot/x86_64", "vmlinuz", "initramfs",
	  "arch/x86_64/airootfs.sfs" },
	{ IMAGE_KIND_DEBIAN_INSTALLER, "install.amd/", "install.amd", "vmlinuz", "initrd", "" },
};

static bool
layout_present(const struct iso_volume *v, const struct layout *l)
{
	size_t n = strlen(l->marker);
	if (l->marker[n - 1] == '/') {
		char dir[IMAGE_PATH_MAX];
		snprintf(dir, sizeof(dir), "%.*s", (int)(n - 1), l->marker);
		return exists(v, dir, true, NULL);
	}
	return exists(v, l->marker, false, NULL);
}

/* Boot configs, most specific first: the first that names a kernel wins. */
static const char *const boot_configs[] = {
	"boot/grub/grub.cfg",   "EFI/BOOT/grub.cfg",    "boot/grub2/grub.cfg",
	"isolinux/live.cfg",    "isolinux/txt.cfg",     "isolinux/isolinux.cfg",
	"syslinux/syslinux.cfg", "boot/syslinux/archiso_sys-linux.cfg",
	"boot/grub/loopback.cfg",
};

static void
read_boot_config(const struct iso_volume *v, struct image_info *info, char *buf, size_t max)
{
	for (size_t i = 0; i < sizeof(boot_configs) / sizeof(boot_configs[0]); i++) {
		struct iso_entry e;
		if (iso_lookup(v, boot_configs[i], &e) < 0 || e.dir)
			continue;
		if (iso_read_file(v, &e, buf, max) < 0)
			continue;
		struct image_info tmp = *info;
		if (image_parse_boot_config(buf, &tmp) == 0 && exists(v, tmp.kernel, false, NULL)) {
			*info = tmp;
			snprintf(info->config, sizeof(info->config), "%s", boot_configs[i]);
			return;
		}
	}
}

static void
apply_layout(const struct iso_volume *v, const struct layout *l, struct image_info *info)
{
	info->kind = l->kind;
	size_t dl = strlen(l->kernel_dir);
	/* The config's kernel, when it lives where this layout keeps kernels; else the first one. */
	if (!info->kernel[0] || strncmp(info->kernel, l->kernel_dir, dl) != 0 ||
	    info->kernel[dl] != '/') {
		info->kernel[0] = '\0';
		info->n_initrds = 0;
		if (!find_prefixed(v, l->kernel_dir, l->kernel_prefix, info->kernel))
			info->kernel[0] = '\0';
	}
	if (info->n_initrds == 0 &&
	    find_prefixed(v, l->kernel_dir, l->initrd_prefix, info->initrds[0]))
		info->n_initrds = 1;
	uint64_t size = 0;
	if (exists(v, info->kernel, false, &size))
		info->boot_bytes = size;
	for (size_t i = 0; i < info->n_initrds; i++) {
		size = 0;
		if (exists(v, info->initrds[i], false, &size)) {
			info->boot_bytes += size;
		} else {
			snprintf(info->why, sizeof(info->why), "initrd %.80s (from %.60s) missing",
			         info->initrds[i], info->config[0] ? info->config : "the layout");
			info->n_initrds = 0;
			break;
		}
	}
	if (l->root_file[0]) {
		snprintf(info->root_file, sizeof(info->root_file), "%s", l->root_file);
		if (!exists(v, info->root_file, false, &info->root_bytes))
			snprintf(info->why, sizeof(info->why), "%.100s is missing", info->root_file);
	} else if (l->kind == IMAGE_KIND_CASPER) {
		info->root_bytes = info->size; /* casper downloads the whole ISO into RAM */
	}
	if (!info->kernel[0])
		snprintf(info->why, sizeof(info->why), "no %s/%s* kernel", l->kernel_dir,
		         l->kernel_prefix);
	else if (info->n_initrds == 0 && !info->why[0])
		snprintf(info->why, sizeof(info->why), "no %s/%s* initrd", l->kernel_dir,
		         l->initrd_prefix);
}

static void
raw_disk_tables(const struct image_reader *rd, struct image_info *info)
{
	uint8_t s[1024];
	if (rd->size < sizeof(s) || rd->read(rd->ctx, 0, s, sizeof(s)) < 0)
		return;
	info->mbr = s[510] == 0x55 && s[511] == 0xaa;
	info->gpt = memcmp(s + 512, "EFI PART", 8) == 0;
}

int
image_inspect(const struct image_reader *rd, struct image_info *info)
{
	static char buf[CONFIG_MAX];
	struct iso_volume v;

	memset(info, 0, sizeof(*info));
	info->size = rd->size;
	raw_disk_tables(rd, info);
	int r = iso_open(rd, &v);
	if (r == -EINVAL) {
		info->kind = IMAGE_KIND_DISK;
		snprintf(info->why, sizeof(info->why), "not an ISO 9660 image: no kernel to take out");
		return 0;
	}
	if (r < 0)
		return r;
	info->iso = true;
	info->eltorito_bios = v.eltorito_bios;
	info->eltorito_efi = v.eltorito_efi;
	snprintf(info->volume_id, sizeof(info->volume_id), "%s", v.volume_id);
	read_boot_config(&v, info, buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		if (layout_present(&v, &layouts[i])) {
			apply_layout(&v, &layouts[i], info);
			return 0;
		}
	}
	info->kind = IMAGE_KIND_UNKNOWN;
	snprintf(info->why, sizeof(info->why),
	         "no live-boot, casper, dracut, archiso or debian-installer layout%s%.60s",
	         info->config[0] ? "; boot config " : "", info->config);
	return 0;
}

uint64_t
image_direct_ram_mib(const struct image_info *info)
{
	return (info->root_bytes >> 20) + 2 * (info->boot_bytes >> 20) + 256;
}

bool
image_direct_ok(const struct image_info *info)
{
	return info->kind != IMAGE_KIND_UNKNOWN && info->kind != IMAGE_KIND_DISK &&
	       info->kernel[0] && info->n_initrds > 0 && !info->why[0];
}

/* ---- the command line ------------------------------------------------------------ */

/* Parameters that name the image's own medium, or that we set ourselves. */
static bool
drop_param(enum image_kind kind, const char *tok, size_t n)
{
	static const struct {
		enum image_kind kind; /* IMAGE_KIND_UNKNOWN: every kind */
		const char *prefix;   /* "x=" drops x=..., "x" drops exactly x */
	} drops[] = {
		{ IMAGE_KIND_UNKNOWN, "initrd=" },
		{ IMAGE_KIND_UNKNOWN, "BOOT_IMAGE=" },
		{ IMAGE_KIND_DEBIAN_LIVE, "findiso=" },
		{ IMAGE_KIND_DEBIAN_LIVE, "fetch=" },
		{ IMAGE_KIND_DEBIAN_LIVE, "live-media=" },
		{ IMAGE_KIND_CASPER, "iso-scan/filename=" },
		{ IMAGE_KIND_CASPER, "netboot=" },
		{ IMAGE_KIND_CASPER, "url=" },
		{ IMAGE_KIND_CASPER, "ip=" },
		{ IMAGE_KIND_DRACUT_LIVE, "root=" },
		{ IMAGE_KIND_DRACUT_LIVE, "rd.live.check" },
		{ IMAGE_KIND_DRACUT_LIVE, "rd.live.image" },
		{ IMAGE_KIND_DRACUT_LIVE, "inst.stage2=" },
		{ IMAGE_KIND_DRACUT_LIVE, "ip=" },
		{ IMAGE_KIND_ARCHISO, "archisolabel=" },
		{ IMAGE_KIND_ARCHISO, "archisosearchuuid=" },
		{ IMAGE_KIND_ARCHISO, "archisosearchfilename=" },
		{ IMAGE_KIND_ARCHISO, "archisodevice=" },
		{ IMAGE_KIND_ARCHISO, "archiso_http_srv=" },
		{ IMAGE_KIND_ARCHISO, "ip=" },
	};
	/* GRUB and syslinux variables have no value without their loader. */
	if (memchr(tok, '$', n))
		return true;
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++) {
		if (drops[i].kind != IMAGE_KIND_UNKNOWN && drops[i].kind != kind)
			continue;
		size_t pl = strlen(drops[i].prefix);
		bool prefix = drops[i].prefix[pl - 1] == '=';
		if (prefix ? n >= pl && memcmp(tok, drops[i].prefix, pl) == 0
		           : n == pl && memcmp(tok, drops[i].prefix, pl) == 0)
			return true;
	}
	return false;
}

static bool
put(char *out, size_t outlen, size_t *len, const char *s, size_t n)
{
	if (*len + n + 2 > outlen)
		return false;
	if (*len)
		out[(*len)++] = ' ';
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return true;
}

/* One parameter made of a fixed part and a value (a URL), with an optional tail. */
static bool
put_param(char *out, size_t outlen, size_t *len, const char *key, const char *value,
          const char *tail)
{
	char tmp[IMAGE_CMDLINE_MAX * 2];
	int n = snprintf(tmp, sizeof(tmp), "%s%s%s", key, value, tail);
	return n >= 0 && (size_t)n < sizeof(tmp) && put(out, outlen, len, tmp, (size_t)n);
}

int
image_direct_cmdline(const struct image_info *info, const char *files_url, const char *iso_url,
                     char *out, size_t outlen)
{
	size_t len = 0;
	bool ok = true, basedir = false;
	char url[IMAGE_CMDLINE_MAX];

	if (outlen == 0)
		return -ENOSPC;
	out[0] = '\0';
	for (const char *p = info->cmdline; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, " \t");
		if (n && !drop_param(info->kind, p, n)) {
			ok &= put(out, outlen, &len, p, n);
			basedir |= n > 15 && memcmp(p, "archisobasedir=", 15) == 0;
		}
		p += n;
	}
	int un = snprintf(url, sizeof(url), "%s/%s", files_url, info->root_file);
	if (un < 0 || (size_t)un >= sizeof(url))
		return -ENOSPC;
	switch (info->kind) {
	case IMAGE_KIND_DEBIAN_LIVE:
		ok &= put_param(out, outlen, &len, "fetch=", url, "");
		break;
	case IMAGE_KIND_CASPER:
		ok &= put_param(out, outlen, &len, "ip=dhcp netboot=url url=", iso_url, "");
		break;
	case IMAGE_KIND_DRACUT_LIVE:
		ok &= put_param(out, outlen, &len, "root=live:", url, " rd.live.image ip=dhcp");
		break;
	case IMAGE_KIND_ARCHISO:
		if (!basedir)
			ok &= put(out, outlen, &len, "archisobasedir=arch", 19);
		ok &= put_param(out, outlen, &len, "archiso_http_srv=", files_url, "/ ip=dhcp");
		break;
	default:
		break;
	}
	return ok ? 0 : -ENOSPC;
}
