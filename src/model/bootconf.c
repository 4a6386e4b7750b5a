#include "model/bootconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/inspect.h"
#include "model/machine.h"

#define BOOTCONF_MAX_ITEMS 4096

struct bootconf {
	struct boot_profile **profiles;
	size_t n_profiles;
	struct boot_host **hosts;
	size_t n_hosts;
	struct boot_arch **arches;
	size_t n_arches;
	char *default_profile;
	int default_line;
	char *quick_profile;   /* quick mode: wins over [default] */
	int line;              /* of the entry being parsed */
};

static const char *const method_names[BOOT_METHOD_COUNT] = {
	[BOOT_METHOD_AUTO] = "auto",
	[BOOT_METHOD_IPXE] = "ipxe",
	[BOOT_METHOD_PXELINUX] = "pxelinux",
	[BOOT_METHOD_GRUB] = "grub",
	[BOOT_METHOD_IMGBOOT] = "imgboot",
	[BOOT_METHOD_FIRMWARE_RAMDISK] = "firmware-ramdisk",
	[BOOT_METHOD_MEMDISK] = "memdisk",
	[BOOT_METHOD_SANBOOT] = "sanboot",
	[BOOT_METHOD_GRUB_MEMDISK] = "grub-memdisk",
	[BOOT_METHOD_DIRECT] = "direct",
};

const char *
boot_method_name(enum boot_method m)
{
	return (unsigned)m < BOOT_METHOD_COUNT ? method_names[m] : "unknown";
}

int
boot_method_parse(const char *name)
{
	for (int i = 0; i < BOOT_METHOD_COUNT; i++)
		if (strcmp(name, method_names[i]) == 0)
			return i;
	return -1;
}

bool
boot_method_is_image(enum boot_method m)
{
	return m >= BOOT_METHOD_IMGBOOT && m < BOOT_METHOD_COUNT;
}

const char *
profile_kind_name(enum profile_kind k)
{
	static const char *const names[] = { "empty", "kernel", "image", "efi", "chain", "menu" };
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

bool
bootconf_is_url(const char *ref)
{
	return strncmp(ref, "http://", 7) == 0 || strncmp(ref, "https://", 8) == 0;
}

struct bootconf *
bootconf_new(void)
{
	return calloc(1, sizeof(struct bootconf));
}

static void
profile_free(struct boot_profile *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->title);
	free(p->kernel);
	for (size_t i = 0; i < p->n_initrds; i++)
		free(p->initrds[i]);
	free(p->cmdline);
	free(p->image);
	free(p->efi);
	free(p->chain);
	for (size_t i = 0; i < p->n_menu; i++)
		free(p->menu[i]);
	free(p->menu_default);
	free(p->pxelinux);
	free(p->grub);
	free(p->inspected);
	free(p->direct_final);
	free(p);
}

void
bootconf_free(struct bootconf *bc)
{
	if (!bc)
		return;
	for (size_t i = 0; i < bc->n_profiles; i++)
		profile_free(bc->profiles[i]);
	free(bc->profiles);
	for (size_t i = 0; i < bc->n_hosts; i++) {
		free(bc->hosts[i]->profile);
		free(bc->hosts[i]->hostname);
		free(bc->hosts[i]);
	}
	free(bc->hosts);
	for (size_t i = 0; i < bc->n_arches; i++) {
		free(bc->arches[i]->loader);
		free(bc->arches[i]);
	}
	free(bc->arches);
	free(bc->default_profile);
	free(bc->quick_profile);
	free(bc);
}

void
bootconf_note_line(struct bootconf *bc, int line)
{
	if (bc)
		bc->line = line;
}

/* Append ptr to a growable pointer array; returns 0 or -ENOMEM/-ENOSPC. */
static int
ptr_push(void ***arr, size_t *n, void *ptr)
{
	if (*n >= BOOTCONF_MAX_ITEMS)
		return -ENOSPC;
	void **p = realloc(*arr, (*n + 1) * sizeof(void *));
	if (!p)
		return -ENOMEM;
	p[*n] = ptr;
	*arr = p;
	(*n)++;
	return 0;
}

static bool
valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > BOOTCONF_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

/*
 * Values end up inside iPXE scripts, pxelinux and GRUB configs, one per
 * line: refuse control bytes so no value can start a new command.
 */
static bool
printable_value(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

/* A file reference: a served name or a URL; no spaces (they split commands). */
static bool
valid_ref(const char *s)
{
	if (!*s || strlen(s) > 1024 || !printable_value(s))
		return false;
	for (; *s; s++)
		if (*s == ' ' || *s == '"' || *s == '\'' || *s == '\\' || *s == '$' || *s == '`')
			return false;
	return true;
}

static int
set_str(char **dst, const char *value)
{
	char *copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

static struct boot_profile *
profile_find(const struct bootconf *bc, const char *name)
{
	for (size_t i = 0; i < bc->n_profiles; i++)
		if (strcmp(bc->profiles[i]->name, name) == 0)
			return bc->profiles[i];
	return NULL;
}

static struct boot_profile *
profile_get(struct bootconf *bc, const char *name)
{
	struct boot_profile *found = profile_find(bc, name);
	if (found)
		return found;
	struct boot_profile *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->name = strdup(name);
	p->line = bc->line;
	p->menu_timeout = BOOTCONF_DEFAULT_MENU_TIMEOUT;
	if (!p->name || ptr_push((void ***)&bc->profiles, &bc->n_profiles, p) < 0) {
		profile_free(p);
		return NULL;
	}
	return p;
}

const struct boot_profile *
bootconf_profile(const struct bootconf *bc, const char *name)
{
	return bc ? profile_find(bc, name) : NULL;
}

/* Lists in `menu` are separated by spaces or commas. */
static int
profile_menu_set(struct boot_profile *p, const char *value, char *err, size_t errlen)
{
	for (size_t i = 0; i < p->n_menu; i++)
		free(p->menu[i]);
	p->n_menu = 0;
	const char *s = value;
	while (*s) {
		while (*s == ' ' || *s == ',' || *s == '\t')
			s++;
		if (!*s)
			break;
		size_t n = strcspn(s, " ,\t");
		char item[BOOTCONF_NAME_MAX + 2];
		if (n > BOOTCONF_NAME_MAX) {
			snprintf(err, errlen, "menu: entry name too long");
			return -1;
		}
		memcpy(item, s, n);
		item[n] = '\0';
		if (!valid_name(item)) {
			snprintf(err, errlen, "menu: '%s' is not a profile name", item);
			return -1;
		}
		if (p->n_menu >= BOOTCONF_MAX_MENU) {
			snprintf(err, errlen, "menu: more than %d entries", BOOTCONF_MAX_MENU);
			return -1;
		}
		p->menu[p->n_menu] = strdup(item);
		if (!p->menu[p->n_menu])
			return -1;
		p->n_menu++;
		s += n;
	}
	if (p->n_menu == 0) {
		snprintf(err, errlen, "menu: empty list");
		return -1;
	}
	return 0;
}

static int
profile_entry(struct bootconf *bc, const char *name, const char *key, const char *value,
              char *err, size_t errlen)
{
	if (!valid_name(name)) {
		snprintf(err, errlen, "'%s' is not a valid profile name (letters, digits, - _ .)", name);
		return -1;
	}
	struct boot_profile *p = profile_get(bc, name);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!printable_value(value)) {
		snprintf(err, errlen, "%s: control characters in value", key);
		return -1;
	}
	char **ref = NULL;
	if (strcmp(key, "kernel") == 0)
		ref = &p->kernel;
	else if (strcmp(key, "image") == 0)
		ref = &p->image;
	else if (strcmp(key, "efi") == 0)
		ref = &p->efi;
	else if (strcmp(key, "pxelinux") == 0)
		ref = &p->pxelinux;
	else if (strcmp(key, "grub") == 0)
		ref = &p->grub;
	if (ref) {
		if (!valid_ref(value)) {
			snprintf(err, errlen, "%s: '%s' is not a file name or URL (no spaces or quotes)",
			         key, value);
			return -1;
		}
		return set_str(ref, value) < 0 ? -1 : 0;
	}
	if (strcmp(key, "initrd") == 0) {
		if (!valid_ref(value)) {
			snprintf(err, errlen, "initrd: '%s' is not a file name or URL", value);
			return -1;
		}
		if (p->n_initrds >= BOOTCONF_MAX_INITRDS) {
			snprintf(err, errlen, "initrd: more than %d", BOOTCONF_MAX_INITRDS);
			return -1;
		}
		p->initrds[p->n_initrds] = strdup(value);
		if (!p->initrds[p->n_initrds])
			return -1;
		p->n_initrds++;
		return 0;
	}
	if (strcmp(key, "cmdline") == 0) {
		if (strlen(value) > 2048) {
			snprintf(err, errlen, "cmdline: longer than 2048 bytes");
			return -1;
		}
		return set_str(&p->cmdline, value) < 0 ? -1 : 0;
	}
	if (strcmp(key, "chain") == 0) {
		if (!bootconf_is_url(value) || !valid_ref(value)) {
			snprintf(err, errlen, "chain: '%s' is not an http:// or https:// URL", value);
			return -1;
		}
		return set_str(&p->chain, value) < 0 ? -1 : 0;
	}
	if (strcmp(key, "title") == 0) {
		if (strlen(value) > 128 || strchr(value, '$')) {
			snprintf(err, errlen, "title: at most 128 characters, no '$'");
			return -1;
		}
		return set_str(&p->title, value) < 0 ? -1 : 0;
	}
	if (strcmp(key, "method") == 0) {
		int m = boot_method_parse(value);
		if (m < 0) {
			snprintf(err, errlen,
			         "method: '%s' is not one of auto, ipxe, pxelinux, grub, imgboot, "
			         "firmware-ramdisk, memdisk, sanboot, grub-memdisk",
			         value);
			return -1;
		}
		p->method = (enum boot_method)m;
		return 0;
	}
	if (strcmp(key, "menu") == 0)
		return profile_menu_set(p, value, err, errlen);
	if (strcmp(key, "menu-default") == 0) {
		if (!valid_name(value)) {
			snprintf(err, errlen, "menu-default: '%s' is not a profile name", value);
			return -1;
		}
		return set_str(&p->menu_default, value) < 0 ? -1 : 0;
	}
	if (strcmp(key, "menu-timeout") == 0) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(value, &end, 10);
		if (errno || !*value || *value == '-' || *end || v > 3600) {
			snprintf(err, errlen, "menu-timeout: '%s' is not a number of seconds (0-3600)", value);
			return -1;
		}
		p->menu_timeout = (unsigned)v;
		return 0;
	}
	snprintf(err, errlen, "unknown key '%s' (kernel, initrd, cmdline, image, method, efi, "
	                      "chain, menu, menu-default, menu-timeout, title, pxelinux, grub)", key);
	return -1;
}

static struct boot_host *
host_find(const struct bootconf *bc, const uint8_t mac[6])
{
	for (size_t i = 0; i < bc->n_hosts; i++)
		if (memcmp(bc->hosts[i]->mac, mac, 6) == 0)
			return bc->hosts[i];
	return NULL;
}

static struct boot_host *
host_get(struct bootconf *bc, const uint8_t mac[6])
{
	struct boot_host *found = host_find(bc, mac);
	if (found)
		return found;
	struct boot_host *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	memcpy(h->mac, mac, 6);
	h->line = bc->line;
	if (ptr_push((void ***)&bc->hosts, &bc->n_hosts, h) < 0) {
		free(h);
		return NULL;
	}
	return h;
}

const struct boot_host *
bootconf_host(const struct bootconf *bc, const uint8_t mac[6])
{
	return bc ? host_find(bc, mac) : NULL;
}

static bool
valid_hostname(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '.')
			return false;
	}
	return true;
}

static int
host_entry(struct bootconf *bc, const char *macstr, const char *key, const char *value,
           char *err, size_t errlen)
{
	uint8_t mac[6];
	if (mac_parse(macstr, mac) < 0) {
		snprintf(err, errlen, "'%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", macstr);
		return -1;
	}
	struct boot_host *h = host_get(bc, mac);
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (strcmp(key, "profile") == 0) {
		if (!valid_name(value)) {
			snprintf(err, errlen, "profile: '%s' is not a profile name", value);
			return -1;
		}
		h->profile_line = bc->line;
		return set_str(&h->profile, value) < 0 ? -1 : 0;
	}
	if (strcmp(key, "hostname") == 0) {
		if (!valid_hostname(value)) {
			snprintf(err, errlen, "hostname: '%s' is not a host name", value);
			return -1;
		}
		return set_str(&h->hostname, value) < 0 ? -1 : 0;
	}
	if (strcmp(key, "address") == 0) {
		if (inet_pton(AF_INET, value, &h->address) != 1) {
			snprintf(err, errlen, "address: '%s' is not an IPv4 address", value);
			return -1;
		}
		h->address_set = true;
		return 0;
	}
	snprintf(err, errlen, "unknown key '%s' (profile, hostname, address)", key);
	return -1;
}

/* "x64-uefi", "arm64-uefi", ... or the option 93 number itself. */
static int
arch_parse(const char *name, uint16_t *out)
{
	for (unsigned v = 0; v < 64; v++) {
		const char *n = arch_name((uint16_t)v);
		if (n && strcmp(n, name) == 0) {
			*out = (uint16_t)v;
			return 0;
		}
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(name, &end, 10);
	if (errno || !*name || !isdigit((unsigned char)*name) || *end || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int
arch_entry(struct bootconf *bc, const char *name, const char *key, const char *value,
           char *err, size_t errlen)
{
	uint16_t arch;
	if (arch_parse(name, &arch) < 0) {
		snprintf(err, errlen, "'%s' is not an architecture (x86-bios, x64-uefi, arm64-uefi, "
		                      "x64-uefi-http, ... or an option 93 number)", name);
		return -1;
	}
	if (strcmp(key, "loader") != 0) {
		snprintf(err, errlen, "unknown key '%s' (loader)", key);
		return -1;
	}
	if (!valid_ref(value)) {
		snprintf(err, errlen, "loader: '%s' is not a file name or URL", value);
		return -1;
	}
	struct boot_arch *a = NULL;
	for (size_t i = 0; i < bc->n_arches; i++)
		if (bc->arches[i]->arch == arch)
			a = bc->arches[i];
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a || ptr_push((void ***)&bc->arches, &bc->n_arches, a) < 0) {
			free(a);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		a->arch = arch;
	}
	a->line = bc->line;
	return set_str(&a->loader, value) < 0 ? -1 : 0;
}

int
bootconf_ini_entry(struct bootconf *bc, const char *section, const char *key,
                   const char *value, char *err, size_t errlen)
{
	if (strcmp(section, "default") == 0) {
		if (strcmp(key, "profile") != 0) {
			snprintf(err, errlen, "unknown key '%s' (profile)", key);
			return -1;
		}
		if (!valid_name(value)) {
			snprintf(err, errlen, "profile: '%s' is not a profile name", value);
			return -1;
		}
		bc->default_line = bc->line;
		return set_str(&bc->default_profile, value) < 0 ? -1 : 0;
	}
	const char *sp = strchr(section, ' ');
	char kind[16];
	if (!sp || (size_t)(sp - section) >= sizeof(kind)) {
		snprintf(err, errlen, "unknown section (server, default, profile NAME, host MAC, arch NAME)");
		return -1;
	}
	memcpy(kind, section, (size_t)(sp - section));
	kind[sp - section] = '\0';
	const char *name = sp;
	while (*name == ' ')
		name++;
	if (strcmp(kind, "profile") == 0)
		return profile_entry(bc, name, key, value, err, errlen);
	if (strcmp(kind, "host") == 0)
		return host_entry(bc, name, key, value, err, errlen);
	if (strcmp(kind, "arch") == 0)
		return arch_entry(bc, name, key, value, err, errlen);
	snprintf(err, errlen, "unknown section (server, default, profile NAME, host MAC, arch NAME)");
	return -1;
}

/* Where bootconf_finish's findings go: the caller's reporter, and a count. */
struct finish_report {
	const char *path;
	bootconf_report_fn report;
	void *ctx;
	int errors;
};

static void finish_err(struct finish_report *fr, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
finish_err(struct finish_report *fr, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fr->errors++;
	if (fr->report)
		fr->report(fr->ctx, fr->path ? fr->path : "config", line, msg);
}

#define FINISH_ERR(line, ...) finish_err(fr, line, __VA_ARGS__)

static void
profile_settle_kind(struct boot_profile *p, struct finish_report *fr)
{
	int n = !!p->kernel + !!p->image + !!p->efi + !!p->chain + (p->n_menu > 0);
	if (n != 1) {
		FINISH_ERR(p->line, "[profile %s]: give exactly one of kernel, image, efi, chain, menu",
		           p->name);
		return;
	}
	p->kind = p->kernel ? PROFILE_KERNEL
	        : p->image  ? PROFILE_IMAGE
	        : p->efi    ? PROFILE_EFI
	        : p->chain  ? PROFILE_CHAIN
	                    : PROFILE_MENU;
	if (p->kind != PROFILE_KERNEL && p->n_initrds)
		FINISH_ERR(p->line, "[profile %s]: initrd needs kernel", p->name);
	/* An image's cmdline is added to its own under method direct (e.g. console=ttyS0). */
	if (p->kind != PROFILE_KERNEL && p->kind != PROFILE_IMAGE && p->cmdline)
		FINISH_ERR(p->line, "[profile %s]: cmdline needs kernel or image", p->name);
	bool image = boot_method_is_image(p->method);
	/*
	 * pxelinux and grub on an image: the image's own kernel and initrd
	 * through that loader (method direct's files; imagefiles.c checks at
	 * start-up that the image is one netbootd recognises).
	 */
	bool loader = p->method == BOOT_METHOD_PXELINUX || p->method == BOOT_METHOD_GRUB;
	if (p->kind == PROFILE_IMAGE && !image && !loader && p->method != BOOT_METHOD_AUTO)
		FINISH_ERR(p->line, "[profile %s]: method '%s' does not boot an image (use auto, "
		                    "direct, pxelinux, grub, imgboot, firmware-ramdisk, memdisk, sanboot, "
		                    "grub-memdisk)",
		           p->name, boot_method_name(p->method));
	if (p->kind != PROFILE_IMAGE && image)
		FINISH_ERR(p->line, "[profile %s]: method '%s' needs image", p->name,
		           boot_method_name(p->method));
	if (p->grub && p->method != BOOT_METHOD_GRUB && p->method != BOOT_METHOD_GRUB_MEMDISK)
		FINISH_ERR(p->line, "[profile %s]: grub is for method grub or grub-memdisk", p->name);
	if (loader && p->kind != PROFILE_KERNEL && p->kind != PROFILE_IMAGE)
		FINISH_ERR(p->line, "[profile %s]: method '%s' needs kernel or image", p->name,
		           boot_method_name(p->method));
}

int
bootconf_finish(struct bootconf *bc, const char *path, bootconf_report_fn report, void *ctx)
{
	struct finish_report report_to = { .path = path, .report = report, .ctx = ctx };
	struct finish_report *fr = &report_to;
	if (!bc)
		return 0;
	for (size_t i = 0; i < bc->n_profiles; i++) {
		struct boot_profile *p = bc->profiles[i];
		profile_settle_kind(p, fr);
		for (size_t j = 0; j < p->n_menu; j++) {
			const struct boot_profile *q = bootconf_profile(bc, p->menu[j]);
			if (!q)
				FINISH_ERR(p->line, "[profile %s]: menu: no profile '%s'", p->name,
				           p->menu[j]);
			else if (q->n_menu)
				FINISH_ERR(p->line, "[profile %s]: menu: '%s' is a menu itself", p->name,
				           p->menu[j]);
		}
		if (p->menu_default) {
			bool found = false;
			for (size_t j = 0; j < p->n_menu; j++)
				found |= strcmp(p->menu[j], p->menu_default) == 0;
			if (!found)
				FINISH_ERR(p->line, "[profile %s]: menu-default: '%s' is not in the menu",
				           p->name, p->menu_default);
		}
	}
	for (size_t i = 0; i < bc->n_hosts; i++) {
		const struct boot_host *h = bc->hosts[i];
		char mac[18];
		if (h->profile && !bootconf_profile(bc, h->profile))
			FINISH_ERR(h->profile_line, "[host %s]: profile: no profile '%s'",
			           mac_format(h->mac, mac), h->profile);
	}
	if (bc->default_profile && !bootconf_profile(bc, bc->default_profile))
		FINISH_ERR(bc->default_line, "[default]: profile: no profile '%s'", bc->default_profile);
	return fr->errors ? -1 : 0;
}

static int
quick_profile_new(struct bootconf *bc, struct boot_profile **out)
{
	if (bootconf_profile(bc, "quick"))
		return -EEXIST;
	struct boot_profile *p = profile_get(bc, "quick");
	if (!p)
		return -ENOMEM;
	if (set_str(&bc->quick_profile, "quick") < 0)
		return -ENOMEM;
	*out = p;
	return 0;
}

int
bootconf_add_quick_kernel(struct bootconf *bc, const char *kernel, const char *const *initrds,
                          size_t n_initrds, const char *cmdline)
{
	struct boot_profile *p;
	int r = quick_profile_new(bc, &p);
	if (r < 0)
		return r;
	if (n_initrds > BOOTCONF_MAX_INITRDS)
		return -E2BIG;
	if (set_str(&p->kernel, kernel) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n_initrds; i++) {
		p->initrds[i] = strdup(initrds[i]);
		if (!p->initrds[i])
			return -ENOMEM;
		p->n_initrds++;
	}
	if (cmdline && set_str(&p->cmdline, cmdline) < 0)
		return -ENOMEM;
	p->kind = PROFILE_KERNEL;
	return 0;
}

int
bootconf_set_profile_grub(struct bootconf *bc, size_t i, const char *name)
{
	if (!bc || i >= bc->n_profiles)
		return -EINVAL;
	return set_str(&bc->profiles[i]->grub, name) < 0 ? -ENOMEM : 0;
}

int
bootconf_set_profile_inspected(struct bootconf *bc, size_t i, const struct image_info *info,
                               const char *final)
{
	if (!bc || i >= bc->n_profiles)
		return -EINVAL;
	struct boot_profile *p = bc->profiles[i];
	struct image_info *copy = malloc(sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, info, sizeof(*copy));
	free(p->inspected);
	p->inspected = copy;
	return set_str(&p->direct_final, final) < 0 ? -ENOMEM : 0;
}

int
bootconf_add_quick_image(struct bootconf *bc, const char *image, const char *method)
{
	int m = BOOT_METHOD_AUTO;
	if (method) {
		m = boot_method_parse(method);
		/* pxelinux and grub: the image's own kernel and initrd through that loader. */
		if (m < 0 || (m != BOOT_METHOD_AUTO && m != BOOT_METHOD_PXELINUX &&
		              m != BOOT_METHOD_GRUB && !boot_method_is_image((enum boot_method)m)))
			return -EINVAL;
	}
	struct boot_profile *p;
	int r = quick_profile_new(bc, &p);
	if (r < 0)
		return r;
	if (set_str(&p->image, image) < 0)
		return -ENOMEM;
	p->method = (enum boot_method)m;
	p->kind = PROFILE_IMAGE;
	return 0;
}

const struct boot_profile *
bootconf_profile_for(const struct bootconf *bc, const uint8_t mac[6])
{
	if (!bc)
		return NULL;
	const struct boot_host *h = bootconf_host(bc, mac);
	if (h && h->profile)
		return bootconf_profile(bc, h->profile);
	if (bc->quick_profile)
		return bootconf_profile(bc, bc->quick_profile);
	if (bc->default_profile)
		return bootconf_profile(bc, bc->default_profile);
	return NULL;
}

const char *
bootconf_arch_loader(const struct bootconf *bc, uint16_t arch)
{
	if (!bc)
		return NULL;
	for (size_t i = 0; i < bc->n_arches; i++)
		if (bc->arches[i]->arch == arch)
			return bc->arches[i]->loader;
	/* Many x64 UEFI ROMs say 9 (EBC) when they mean 7 (RFC 4578 errata). */
	if (arch == ARCH_EBC)
		return bootconf_arch_loader(bc, ARCH_X64_UEFI);
	return NULL;
}

size_t
bootconf_profile_count(const struct bootconf *bc)
{
	return bc ? bc->n_profiles : 0;
}

const struct boot_profile *
bootconf_profile_at(const struct bootconf *bc, size_t i)
{
	return bc && i < bc->n_profiles ? bc->profiles[i] : NULL;
}

size_t
bootconf_host_count(const struct bootconf *bc)
{
	return bc ? bc->n_hosts : 0;
}

const struct boot_host *
bootconf_host_at(const struct bootconf *bc, size_t i)
{
	return bc && i < bc->n_hosts ? bc->hosts[i] : NULL;
}

size_t
bootconf_arch_count(const struct bootconf *bc)
{
	return bc ? bc->n_arches : 0;
}

const struct boot_arch *
bootconf_arch_at(const struct bootconf *bc, size_t i)
{
	return bc && i < bc->n_arches ? bc->arches[i] : NULL;
}
