/*
 * The boot configuration's model: profiles, hosts and architectures, built
 * from [profile], [host] and [arch] sections (bootconf_keys.c) or from the
 * quick mode's command line, checked once read (bootconf_check.c), then
 * only read by the planner.
 */
#include "model/bootconf_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/inspect.h"
#include "model/machine.h"

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
		free(bc->arches[i]->profile);
		free(bc->arches[i]);
	}
	free(bc->arches);
	free(bc->default_profile);
	free(bc->quick_profile);
	for (size_t i = 0; i < bc->n_files; i++)
		free(bc->files[i]);
	free(bc->files);
	free(bc);
}

int
bootconf_note_file(struct bootconf *bc, const char *path)
{
	if (!path) {
		bc->file = NULL;
		return 0;
	}
	char *copy = strdup(path);
	if (!copy || bootconf_ptr_push((void ***)&bc->files, &bc->n_files, copy) < 0) {
		free(copy);
		return -ENOMEM;
	}
	bc->file = copy;
	return 0;
}

void
bootconf_note_line(struct bootconf *bc, int line)
{
	if (bc)
		bc->line = line;
}

int
bootconf_ptr_push(void ***arr, size_t *n, void *ptr)
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

bool
bootconf_valid_name(const char *s)
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

bool
bootconf_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

bool
bootconf_valid_ref(const char *s)
{
	if (!*s || strlen(s) > 1024 || !bootconf_printable(s))
		return false;
	for (; *s; s++)
		if (*s == ' ' || *s == '"' || *s == '\'' || *s == '\\' || *s == '$' || *s == '`')
			return false;
	return true;
}

int
bootconf_set_str(char **dst, const char *value)
{
	char *copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

struct boot_profile *
bootconf_profile_find(const struct bootconf *bc, const char *name)
{
	for (size_t i = 0; i < bc->n_profiles; i++)
		if (strcmp(bc->profiles[i]->name, name) == 0)
			return bc->profiles[i];
	return NULL;
}

struct boot_profile *
bootconf_profile_get(struct bootconf *bc, const char *name)
{
	struct boot_profile *found = bootconf_profile_find(bc, name);
	if (found)
		return found;
	struct boot_profile *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->name = strdup(name);
	p->line = bc->line;
	p->menu_timeout = BOOTCONF_DEFAULT_MENU_TIMEOUT;
	if (!p->name || bootconf_ptr_push((void ***)&bc->profiles, &bc->n_profiles, p) < 0) {
		profile_free(p);
		return NULL;
	}
	return p;
}

const struct boot_profile *
bootconf_profile(const struct bootconf *bc, const char *name)
{
	return bc ? bootconf_profile_find(bc, name) : NULL;
}

struct boot_host *
bootconf_host_find(const struct bootconf *bc, const uint8_t mac[6])
{
	for (size_t i = 0; i < bc->n_hosts; i++)
		if (memcmp(bc->hosts[i]->mac, mac, 6) == 0)
			return bc->hosts[i];
	return NULL;
}

struct boot_host *
bootconf_host_get(struct bootconf *bc, const uint8_t mac[6])
{
	struct boot_host *found = bootconf_host_find(bc, mac);
	if (found)
		return found;
	struct boot_host *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	memcpy(h->mac, mac, 6);
	h->line = bc->line;
	h->file = bc->file;
	if (bootconf_ptr_push((void ***)&bc->hosts, &bc->n_hosts, h) < 0) {
		free(h);
		return NULL;
	}
	return h;
}

const struct boot_host *
bootconf_host(const struct bootconf *bc, const uint8_t mac[6])
{
	return bc ? bootconf_host_find(bc, mac) : NULL;
}

static int
quick_profile_new(struct bootconf *bc, struct boot_profile **out)
{
	if (bootconf_profile(bc, "quick"))
		return -EEXIST;
	struct boot_profile *p = bootconf_profile_get(bc, "quick");
	if (!p)
		return -ENOMEM;
	if (bootconf_set_str(&bc->quick_profile, "quick") < 0)
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
	if (bootconf_set_str(&p->kernel, kernel) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n_initrds; i++) {
		p->initrds[i] = strdup(initrds[i]);
		if (!p->initrds[i])
			return -ENOMEM;
		p->n_initrds++;
	}
	if (cmdline && bootconf_set_str(&p->cmdline, cmdline) < 0)
		return -ENOMEM;
	p->kind = PROFILE_KERNEL;
	return 0;
}

int
bootconf_set_profile_grub(struct bootconf *bc, size_t i, const char *name)
{
	if (!bc || i >= bc->n_profiles)
		return -EINVAL;
	return bootconf_set_str(&bc->profiles[i]->grub, name) < 0 ? -ENOMEM : 0;
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
	return bootconf_set_str(&p->direct_final, final) < 0 ? -ENOMEM : 0;
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
	if (bootconf_set_str(&p->image, image) < 0)
		return -ENOMEM;
	p->method = (enum boot_method)m;
	p->kind = PROFILE_IMAGE;
	return 0;
}

void
bootconf_set_override(struct bootconf *bc, bootconf_override_fn fn, void *ctx)
{
	if (bc) {
		bc->override = fn;
		bc->override_ctx = ctx;
	}
}

/* The [arch] entry for an option 93 value; 9 (EBC) falls back to 7's. */
static const struct boot_arch *
arch_entry_for(const struct bootconf *bc, uint16_t arch)
{
	for (size_t i = 0; i < bc->n_arches; i++)
		if (bc->arches[i]->arch == arch)
			return bc->arches[i];
	/* Many x64 UEFI ROMs say 9 (EBC) when they mean 7 (RFC 4578 errata). */
	return arch == ARCH_EBC ? arch_entry_for(bc, ARCH_X64_UEFI) : NULL;
}

const struct boot_profile *
bootconf_profile_for(const struct bootconf *bc, const uint8_t mac[6])
{
	return bootconf_profile_for_arch(bc, mac, -1);
}

const struct boot_profile *
bootconf_profile_for_arch(const struct bootconf *bc, const uint8_t mac[6], int arch)
{
	if (!bc)
		return NULL;
	const struct boot_profile *decided = bc->override ? bc->override(bc->override_ctx, bc, mac) : NULL;
	if (decided)
		return decided;
	const struct boot_host *h = bootconf_host(bc, mac);
	if (h && h->profile)
		return bootconf_profile(bc, h->profile);
	const struct boot_arch *a = arch >= 0 ? arch_entry_for(bc, (uint16_t)arch) : NULL;
	if (a && a->profile)
		return bootconf_profile(bc, a->profile);
	if (bc->quick_profile)
		return bootconf_profile(bc, bc->quick_profile);
	if (bc->default_profile)
		return bootconf_profile(bc, bc->default_profile);
	return NULL;
}

const char *
bootconf_arch_loader(const struct bootconf *bc, uint16_t arch)
{
	const struct boot_arch *a = bc ? arch_entry_for(bc, arch) : NULL;
	return a ? a->loader : NULL;
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
