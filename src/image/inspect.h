/*
 * What a disk image is, and how it finds its root once its kernel runs.
 * Pure: bytes come through an image_reader (iso9660.h).
 *
 * A live or installer ISO needs its medium after the kernel starts. Method
 * `direct` boots the image's own kernel and initrd, sent straight out of
 * the ISO, with the image's own command line plus the parameter that makes
 * its initramfs fetch the root over HTTP from us:
 *
 *   Debian live-boot   live/filesystem.squashfs  fetch=URL (squashfs into RAM)
 *   Ubuntu casper      casper/                   ip=dhcp netboot=url url=ISO-URL
 *   Fedora / dracut    LiveOS/squashfs.img       root=live:URL rd.live.image ip=dhcp
 *   Arch archiso       arch/                     archiso_http_srv=URL/ ip=dhcp
 *   Debian installer   install.amd/              as is (kernel + initrd only)
 *
 * (REFERENCES.md, "Live distributions".) Anything else is a whole-disk image
 * for the other methods.
 */
#ifndef NETBOOTD_IMAGE_INSPECT_H
#define NETBOOTD_IMAGE_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/iso9660.h"

#define IMAGE_PATH_MAX 256
#define IMAGE_CMDLINE_MAX 1024
#define IMAGE_MAX_INITRDS 4

enum image_kind {
	IMAGE_KIND_UNKNOWN,          /* an ISO we do not recognise */
	IMAGE_KIND_DEBIAN_LIVE,      /* live-boot */
	IMAGE_KIND_CASPER,           /* Ubuntu and derivatives */
	IMAGE_KIND_DRACUT_LIVE,      /* Fedora, CentOS, ... live images */
	IMAGE_KIND_ARCHISO,          /* Arch Linux and derivatives */
	IMAGE_KIND_DEBIAN_INSTALLER, /* debian-installer CD/DVD */
	IMAGE_KIND_DISK,             /* not ISO 9660: a raw disk (MBR/GPT) or unknown bytes */
};

struct image_info {
	enum image_kind kind;
	bool iso;
	bool eltorito_bios, eltorito_efi;
	bool mbr, gpt;               /* a partition table in the first sectors (hybrid ISOs have one) */
	char volume_id[33];
	uint64_t size;
	/* Paths inside the image, no leading '/'; empty when not found. */
	char kernel[IMAGE_PATH_MAX];
	char initrds[IMAGE_MAX_INITRDS][IMAGE_PATH_MAX];
	size_t n_initrds;
	char cmdline[IMAGE_CMDLINE_MAX]; /* the image's own, as its boot config says */
	char config[IMAGE_PATH_MAX];     /* the boot config file it came from */
	/*
	 * The file the booted OS fetches over the network for its root (the
	 * squashfs), "" when it fetches the whole image (casper) or nothing (d-i).
	 */
	char root_file[IMAGE_PATH_MAX];
	uint64_t root_bytes;             /* its size (RAM the target needs beyond the kernel's) */
	uint64_t boot_bytes;             /* kernel + initrds: unpacked into RAM at boot */
	char why[192];                   /* when not bootable direct: what was missing */
};

const char *image_kind_name(enum image_kind k);

/*
 * Look at an image: ISO 9660 (with El Torito) or raw disk; for ISOs, which
 * live system it carries and its kernel, initrds and command line. Returns
 * 0 (info filled, kind may be UNKNOWN or DISK) or the reader's -errno.
 */
int image_inspect(const struct image_reader *rd, struct image_info *info);

/* True when method direct can boot this image (kernel and initrd found, kind known). */
bool image_direct_ok(const struct image_info *info);

/*
 * RAM (MiB) a machine needs to boot the image by method direct: the root it
 * copies into RAM, twice the kernel and initrds (compressed, then unpacked),
 * and 256 MiB for the running system. Measured: Debian live with a 162 MiB
 * squashfs and 48 MiB kernel + initrd boots in 512 MiB, not in 384.
 */
uint64_t image_direct_ram_mib(const struct image_info *info);

/*
 * The kernel command line for method direct: the image's own (GRUB
 * variables, "initrd=" and the parameters that name a local medium
 * removed), then the distribution's network-root parameter. files_url is
 * where files inside the image are served ("http://S/image/PROFILE"), iso_url
 * the whole image's URL. Returns 0, or -ENOSPC when it does not fit.
 */
int image_direct_cmdline(const struct image_info *info, const char *files_url, const char *iso_url,
                         char *out, size_t outlen);

/*
 * Parse a boot loader config (grub.cfg or syslinux/isolinux .cfg, told
 * apart by its commands) for the first entry's kernel, initrds and command
 * line. Pure text in; paths get their leading '/' removed. Returns 0 when a
 * kernel line was found, else -ENOENT.
 */
int image_parse_boot_config(const char *text, struct image_info *info);

#endif
