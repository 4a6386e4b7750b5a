/*
 * Inside the boot configuration: the model that bootconf.c keeps, shared
 * with its INI key tables (bootconf_keys.c) and its cross-checks
 * (bootconf_check.c).
 */
#ifndef NETBOOTD_MODEL_BOOTCONF_INTERNAL_H
#define NETBOOTD_MODEL_BOOTCONF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/bootconf.h"

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
	const char *file;      /* hosts-dir file being parsed; NULL: the config file */
	char **files;          /* every such file's name (hosts point into them) */
	size_t n_files;
	bootconf_override_fn override; /* asked first by bootconf_profile_for (the decision API) */
	void *override_ctx;
};

/* Append ptr to a growable pointer array; 0, -ENOMEM or -ENOSPC. */
int bootconf_ptr_push(void ***arr, size_t *n, void *ptr);

/* A profile name: 1..BOOTCONF_NAME_MAX of letters, digits, - _ . */
bool bootconf_valid_name(const char *s);

/*
 * Values end up inside iPXE scripts, pxelinux and GRUB configs, one per
 * line: refuse control bytes so no value can start a new command.
 */
bool bootconf_printable(const char *s);

/* A file reference: a served name or a URL; no spaces or quotes (they split commands). */
bool bootconf_valid_ref(const char *s);

/* Replace *dst with a copy of value; 0 or -ENOMEM. */
int bootconf_set_str(char **dst, const char *value);

struct boot_profile *bootconf_profile_find(const struct bootconf *bc, const char *name);
/* Find or create (at bc->line); NULL when out of memory. */
struct boot_profile *bootconf_profile_get(struct bootconf *bc, const char *name);
struct boot_host *bootconf_host_find(const struct bootconf *bc, const uint8_t mac[6]);
struct boot_host *bootconf_host_get(struct bootconf *bc, const uint8_t mac[6]);

#endif
