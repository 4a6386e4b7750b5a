/*
 * The INI keys of the boot configuration: one table per section kind, a
 * row per key naming its field and its check, like config.c's option table.
 * A new key is one row (and its field); the "unknown key" error lists the
 * table, so it cannot fall out of date.
 *
 *   [default]       profile
 *   [profile NAME]  kernel initrd cmdline image method efi chain menu
 *                   menu-default menu-timeout title pxelinux grub
 *   [host MAC]      profile hostname address boot-once
 *   [arch NAME]     loader
 */
#include "model/bootconf_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/machine.h"

/* A key's check-and-store: 0, or -1 with err filled. field points into the
 * profile (or host) at the row's offset. */
typedef int (*key_setter)(void *field, const char *key, const char *value, char *err, size_t errlen);

struct key_row {
	const char *name;
	key_setter set;
	size_t offset;         /* of the field in struct boot_profile / boot_host */
};

/* "unknown key 'x' (a, b, c)": the table itself names what is known. */
static int
unknown_key(const struct key_row *rows, size_t n, const char *key, char *err, size_t errlen)
{
	size_t used = (size_t)snprintf(err, errlen, "unknown key '%s' (", key);
	for (size_t i = 0; i < n && used < errlen; i++)
		used += (size_t)snprintf(err + used, errlen - used, "%s%s", i ? ", " : "", rows[i].name);
	if (used < errlen)
		snprintf(err + used, errlen - used, ")");
	return -1;
}

static int
apply_key(const struct key_row *rows, size_t n, void *record, const char *key, const char *value,
          char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].name, key) == 0)
			return rows[i].set((char *)record + rows[i].offset, key, value, err, errlen);
	return unknown_key(rows, n, key, err, errlen);
}

static int
stored(int r, char *err, size_t errlen)
{
	if (r < 0)
		snprintf(err, errlen, "out of memory");
	return r < 0 ? -1 : 0;
}

/* ---- setters: one per kind of value ------------------------------------- */

/* A file name or URL (kernel, image, efi, pxelinux, grub, loader). */
static int
set_ref(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	if (!bootconf_valid_ref(value)) {
		snprintf(err, errlen, "%s: '%s' is not a file name or URL (no spaces or quotes)", key, value);
		return -1;
	}
	return stored(bootconf_set_str(field, value), err, errlen);
}

static int
set_initrd(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	struct boot_profile *p = (struct boot_profile *)((char *)field - offsetof(struct boot_profile, initrds));
	(void)key;
	if (!bootconf_valid_ref(value)) {
		snprintf(err, errlen, "initrd: '%s' is not a file name or URL", value);
		return -1;
	}
	if (p->n_initrds >= BOOTCONF_MAX_INITRDS) {
		snprintf(err, errlen, "initrd: more than %d", BOOTCONF_MAX_INITRDS);
		return -1;
	}
	if (!(p->initrds[p->n_initrds] = strdup(value)))
		return stored(-ENOMEM, err, errlen);
	p->n_initrds++;
	return 0;
}

static int
set_cmdline(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	(void)key;
	if (strlen(value) > 2048) {
		snprintf(err, errlen, "cmdline: longer than 2048 bytes");
		return -1;
	}
	return stored(bootconf_set_str(field, value), err, errlen);
}

static int
set_chain(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	(void)key;
	if (!bootconf_is_url(value) || !bootconf_valid_ref(value)) {
		snprintf(err, errlen, "chain: '%s' is not an http:// or https:// URL", value);
		return -1;
	}
	return stored(bootconf_set_str(field, value), err, errlen);
}

static int
set_title(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	(void)key;
	if (strlen(value) > 128 || strchr(value, '$')) {
		snprintf(err, errlen, "title: at most 128 characters, no '$'");
		return -1;
	}
	return stored(bootconf_set_str(field, value), err, errlen);
}

static int
set_method(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	(void)key;
	int m = boot_method_parse(value);
	if (m < 0) {
		size_t used = (size_t)snprintf(err, errlen, "method: '%s' is not one of", value);
		for (int i = 0; i < BOOT_METHOD_COUNT && used < errlen; i++)
			used += (size_t)snprintf(err + used, errlen - used, "%s %s", i ? "," : "",
			                         boot_method_name((enum boot_method)i));
		return -1;
	}
	*(enum boot_method *)field = (enum boot_method)m;
	return 0;
}

/* A profile name (menu-default, a host's profile, [default] profile). */
static int
set_profile_name(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	if (!bootconf_valid_name(value)) {
		snprintf(err, errlen, "%s: '%s' is not a profile name", key, value);
		return -1;
	}
	return stored(bootconf_set_str(field, value), err, errlen);
}

static int
set_menu_timeout(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	(void)key;
	char *end;
	errno = 0;
	unsigned long v = strtoul(value, &end, 10);
	if (errno || !*value || *value == '-' || *end || v > 3600) {
		snprintf(err, errlen, "menu-timeout: '%s' is not a number of seconds (0-3600)", value);
		return -1;
	}
	*(unsigned *)field = (unsigned)v;
	return 0;
}

/* Lists in `menu` are separated by spaces or commas. */
static int
set_menu(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	struct boot_profile *p = (struct boot_profile *)((char *)field - offsetof(struct boot_profile, menu));
	(void)key;
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
		if (!bootconf_valid_name(item)) {
			snprintf(err, errlen, "menu: '%s' is not a profile name", item);
			return -1;
		}
		if (p->n_menu >= BOOTCONF_MAX_MENU) {
			snprintf(err, errlen, "menu: more than %d entries", BOOTCONF_MAX_MENU);
			return -1;
		}
		if (!(p->menu[p->n_menu] = strdup(item)))
			return stored(-ENOMEM, err, errlen);
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
set_hostname(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	(void)key;
	const char *s = value;
	size_t n = strlen(s);
	bool ok = n > 0 && n <= 253;
	for (size_t i = 0; ok && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		ok = isalnum(c) || c == '-' || c == '.';
	}
	if (!ok) {
		snprintf(err, errlen, "hostname: '%s' is not a host name", value);
		return -1;
	}
	return stored(bootconf_set_str(field, value), err, errlen);
}


static int
set_address(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	struct boot_host *h = (struct boot_host *)((char *)field - offsetof(struct boot_host, address));
	(void)key;
	if (inet_pton(AF_INET, value, &h->address) != 1) {
		snprintf(err, errlen, "address: '%s' is not an IPv4 address", value);
		return -1;
	}
	h->address_set = true;
	return 0;
}

static int
set_boot_once(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	bool *on = field;
	(void)key;
	if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
		*on = true;
	else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
		*on = false;
	else {
		snprintf(err, errlen, "boot-once: '%s' is not yes or no", value);
		return -1;
	}
	return 0;
}

/* ---- the tables --------------------------------------------------------- */

#define PROFILE(name, set, field) { name, set, offsetof(struct boot_profile, field) }
static const struct key_row profile_keys[] = {
	PROFILE("kernel", set_ref, kernel),
	PROFILE("initrd", set_initrd, initrds),
	PROFILE("cmdline", set_cmdline, cmdline),
	PROFILE("image", set_ref, image),
	PROFILE("method", set_method, method),
	PROFILE("efi", set_ref, efi),
	PROFILE("chain", set_chain, chain),
	PROFILE("menu", set_menu, menu),
	PROFILE("menu-default", set_profile_name, menu_default),
	PROFILE("menu-timeout", set_menu_timeout, menu_timeout),
	PROFILE("title", set_title, title),
	PROFILE("pxelinux", set_ref, pxelinux),
	PROFILE("grub", set_ref, grub),
};

#define HOST(name, set, field) { name, set, offsetof(struct boot_host, field) }
static const struct key_row host_keys[] = {
	HOST("profile", set_profile_name, profile),
	HOST("hostname", set_hostname, hostname),
	HOST("address", set_address, address),
	HOST("boot-once", set_boot_once, boot_once),
};

#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

/* ---- sections ----------------------------------------------------------- */

static int
profile_entry(struct bootconf *bc, const char *name, const char *key, const char *value,
              char *err, size_t errlen)
{
	if (!bootconf_valid_name(name)) {
		snprintf(err, errlen, "'%s' is not a valid profile name (letters, digits, - _ .)", name);
		return -1;
	}
	struct boot_profile *p = bootconf_profile_get(bc, name);
	if (!p)
		return stored(-ENOMEM, err, errlen);
	if (!bootconf_printable(value)) {
		snprintf(err, errlen, "%s: control characters in value", key);
		return -1;
	}
	return apply_key(profile_keys, COUNT(profile_keys), p, key, value, err, errlen);
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
	const struct boot_host *seen = bootconf_host(bc, mac);
	if (seen && seen->file != bc->file) {
		/* Two files saying what one machine boots: neither is right. */
		snprintf(err, errlen, "[host %s] is in %s already (line %d): one file per machine",
		         macstr, seen->file ? seen->file : "the config file", seen->line);
		return -1;
	}
	struct boot_host *h = bootconf_host_get(bc, mac);
	if (!h)
		return stored(-ENOMEM, err, errlen);
	if (strcmp(key, "profile") == 0)
		h->profile_line = bc->line;
	return apply_key(host_keys, COUNT(host_keys), h, key, value, err, errlen);
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

/* The [arch] record for arch, made on first mention; NULL when out of memory. */
static struct boot_arch *
arch_get(struct bootconf *bc, uint16_t arch)
{
	for (size_t i = 0; i < bc->n_arches; i++)
		if (bc->arches[i]->arch == arch)
			return bc->arches[i];
	struct boot_arch *a = calloc(1, sizeof(*a));
	if (!a || bootconf_ptr_push((void ***)&bc->arches, &bc->n_arches, a) < 0) {
		free(a);
		return NULL;
	}
	a->arch = arch;
	return a;
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
	static const struct key_row arch_keys[] = {
		{ "loader", set_ref, offsetof(struct boot_arch, loader) },
		{ "profile", set_profile_name, offsetof(struct boot_arch, profile) },
	};
	struct boot_arch *a = arch_get(bc, arch);
	if (!a)
		return stored(-ENOMEM, err, errlen);
	if (strcmp(key, "profile") == 0)
		a->profile_line = bc->line;
	else
		a->line = bc->line;
	return apply_key(arch_keys, COUNT(arch_keys), a, key, value, err, errlen);
}

int
bootconf_ini_entry(struct bootconf *bc, const char *section, const char *key,
                   const char *value, char *err, size_t errlen)
{
	if (strcmp(section, "default") == 0) {
		static const struct key_row default_keys[] = {
			{ "profile", set_profile_name, offsetof(struct bootconf, default_profile) },
		};
		bc->default_line = bc->line;
		return apply_key(default_keys, COUNT(default_keys), bc, key, value, err, errlen);
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
