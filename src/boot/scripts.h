/*
 * Per-machine boot documents: iPXE scripts, pxelinux.cfg files, grub.cfg
 * files and imgboot.efi's instructions. Pure: text in, text out; the
 * generator (generated.c) serves them.
 */
#ifndef NETBOOTD_BOOT_SCRIPTS_H
#define NETBOOTD_BOOT_SCRIPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/bootconf.h"
#include "model/config.h"

/* Files inside a profile's disk image are served as image/PROFILE/PATH. */
#define SCRIPTS_IMAGE_PREFIX "image/"

/* Size of a served image (for memdisk vs sanboot); 0 when unknown. */
typedef uint64_t (*script_size_fn)(void *ctx, const char *ref);

struct script_env {
	const struct config *cfg;
	const char *base;          /* http://server[:port], no trailing slash */
	const char *mac;           /* aa:bb:cc:dd:ee:ff */
	script_size_fn image_size; /* may be NULL */
	void *size_ctx;
	bool local_disk;           /* boot-once, booted already: every document boots the disk */
};

/*
 * The iPXE script for profile p (NULL: a script that says no profile is
 * configured and returns to the firmware). Kernel profiles boot kernel +
 * initrds over HTTP, image profiles pick per platform (${platform} efi or
 * pcbios), menus offer `menu`/`choose` with a timeout and a default; every
 * step retries after a failure. Returns 0 with *out malloc'd, or -errno.
 */
int scripts_ipxe(const struct script_env *env, const struct boot_profile *p, char **out,
                 size_t *len);

/*
 * pxelinux.cfg/01-<mac> for a kernel profile, or an image booted direct (its
 * own kernel and initrd): HTTP URLs for lpxelinux.0, names for pxelinux.0.
 */
int scripts_pxelinux(const struct script_env *env, const struct boot_profile *p, char **out,
                     size_t *len);

/*
 * grub.cfg for a kernel profile or an image booted direct (GRUB netboot:
 * names are fetched from its TFTP root).
 */
int scripts_grub(const struct script_env *env, const struct boot_profile *p, char **out,
                 size_t *len);

/* boot/<mac>.imgboot: "url=..." and "type=iso|disk" lines for imgboot.efi. */
int scripts_imgboot(const struct script_env *env, const struct boot_profile *p, char **out,
                    size_t *len);

/* The last path component of a name or URL (iPXE names images by it). */
const char *scripts_basename(const char *ref);

#endif
