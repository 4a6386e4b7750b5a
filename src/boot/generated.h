/*
 * The documents netbootd makes per machine, served through the files
 * resolver so TFTP and HTTP both see them:
 *   boot/<mac>.ipxe                  iPXE script (scripts_ipxe)
 *   boot/<mac>.efi|.iso|.img         UEFI HTTP boot: the bytes of the file the planner names
 *   boot/<mac>.imgboot               imgboot.efi's instructions (url=, type=)
 *   pxelinux.cfg/01-<aa-bb-..>       pxelinux config
 *   boot/grub/grub.cfg-01-<aa-bb-..> GRUB netboot config
 *   status, status.json              the boot timelines
 * <mac> is aa:bb:cc:dd:ee:ff (any case; dashes accepted).
 */
#ifndef NETBOOTD_BOOT_GENERATED_H
#define NETBOOTD_BOOT_GENERATED_H

#include "boot/files.h"

struct boot_context;
struct bootconf;
struct config;

/* The files_generator_fn; ctx is the struct netbootd. */
int generated_open(void *ctx, const char *relpath, const struct file_client *client,
                   struct file_source *src);

/* files_set_generator(boot->files, generated_open, boot). */
void generated_register(struct boot_context *boot);

/*
 * Quick mode (--image, --kernel/--initrd/--cmdline): serve the files under
 * stable names (quick/linux, quick/initrd0.., quick/image.iso|.img) and
 * make the "quick" profile the default. Returns 0 or -1 (logged).
 */
int generated_quick_setup(struct boot_context *boot);

/*
 * Only the "quick" profile, into bc, for the files generated_quick_setup
 * serves: a reload adds it to the configuration read again. 0 or -1 (logged).
 */
int generated_quick_profile(const struct config *cfg, struct bootconf *bc);

/*
 * --check-config: every file a profile names and every boot loader a chain
 * needs must resolve; a missing loader names its Debian package. Prints
 * one line per problem; returns the number of problems.
 */
int generated_check(struct boot_context *boot);

#endif
