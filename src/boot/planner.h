/*
 * The boot planner: policy only, no I/O. Given what the firmware said about
 * itself and the config, it says what to send. Servers ask; they never decide.
 *
 * The chain table (docs/boot-flows.md):
 *   BIOS PXE   -> undionly.kpxe (TFTP)          | pxelinux: lpxelinux.0 | grub: core.0
 *   UEFI PXE   -> snponly.efi (or [arch] loader) | grub: core.efi
 *   UEFI HTTP  -> http://server/boot/<mac>.efi (EFI file, imgboot.efi, or iPXE)
 *                 or http://server/boot/<mac>.iso|.img (firmware RAM disk)
 *   iPXE       -> http://server/boot/<mac>.ipxe, never an iPXE binary again
 *   other arch -> the [arch NAME] loader, or no answer (logged)
 */
#ifndef NETBOOTD_BOOT_PLANNER_H
#define NETBOOTD_BOOT_PLANNER_H

#include <stdbool.h>
#include <stdint.h>

#include "model/bootconf.h"
#include "model/config.h"
#include "model/machine.h"

struct boot_answer {
	bool answer;            /* false: send nothing (reason says why) */
	char bootfile[512];     /* TFTP file name, or a URL (UEFI HTTP boot, iPXE) */
	char vendor_class[16];  /* option 60 to echo: "PXEClient" or "HTTPClient" */
	char reason[192];       /* for the one log line per boot client */
};

/*
 * What a machine asking DHCP (port 67 or 4011) gets as its boot file.
 * m->server_ip must be our address on the arrival interface (URLs use it).
 * Returns 0; out->answer says whether to reply at all.
 */
int planner_dhcp_answer(const struct config *cfg, const struct machine *m, struct boot_answer *out);

/* Which firmware runs a step of an image boot. */
enum image_client {
	IMAGE_CLIENT_BIOS,      /* iPXE on BIOS (undionly.kpxe or a ROM) */
	IMAGE_CLIENT_UEFI,      /* iPXE on UEFI, or UEFI PXE */
	IMAGE_CLIENT_UEFI_HTTP, /* the firmware's own HTTP boot */
};

/*
 * The concrete method for an image profile on one kind of client: the
 * profile's forced method when that client can run it, else `auto`'s pick
 * (firmware RAM disk for UEFI HTTP, imgboot for other UEFI, memdisk for BIOS
 * when the image fits memdisk_max_mb, else sanboot). image_size 0 = unknown
 * (taken as fitting). The reason is for the log line.
 */
enum boot_method planner_image_method(const struct config *cfg, const struct boot_profile *p,
                                      enum image_client client, uint64_t image_size,
                                      char *reason, size_t reasonlen);

/*
 * UEFI HTTP boot fetched http://server/boot/<mac>.efi (or .iso/.img): the
 * served name whose bytes to send. arch: the machine's option 93 (-1 when
 * not known), for an [arch] profile. Returns 0 with name filled, or
 * -ENOENT when the profile has nothing to send that way (reason says why).
 */
int planner_http_boot_file(const struct config *cfg, const uint8_t mac[6], int arch,
                           uint64_t image_size, char *name, size_t namelen, char *reason,
                           size_t reasonlen);

/*
 * The files whose completed transfer means "hand-off to the OS" for this
 * profile (the last file of its chain): up to max names into names[],
 * pointing into the profile or to static strings. Menus list every entry's.
 */
size_t planner_final_files(const struct config *cfg, const struct boot_profile *p,
                           const char **names, size_t max);

/*
 * True when an image profile boots by method direct: its image was
 * recognised at start-up and the method is direct or auto, or pxelinux or
 * grub (the image's own kernel and initrd through that loader).
 */
bool planner_direct_ok(const struct boot_profile *p);

/* The served file name of an image type (".iso" or ".img") for URLs. */
const char *planner_image_ext(const char *image);

/* The HTTP base URL for a client: http://server[:port] (no trailing slash). */
void planner_http_base(const struct config *cfg, struct in_addr server_ip, char *buf, size_t len);
/* The same for a machine that reaches us over IPv6: http://[addr][:port]. */
void planner_http_base6(const struct config *cfg, const struct in6_addr *server_ip6, char *buf,
                        size_t len);

#endif
