/*
 * `netbootd mkgrub`: one GRUB EFI binary with a whole disk image inside
 * (grub-mkimage --memdisk), for GRUB-based images on UEFI machines.
 */
#ifndef NETBOOTD_BOOT_MKGRUB_H
#define NETBOOTD_BOOT_MKGRUB_H

#include <stddef.h>

/* Debian's grub-efi-amd64-bin puts the x86_64-efi modules here. */
#define MKGRUB_DEFAULT_MODULE_DIR "/usr/lib/grub/x86_64-efi"

/*
 * The early config embedded in the binary: find a grub.cfg inside the
 * memdisk (ISO 9660 root, or any partition of a raw disk) and hand over to
 * it with root and prefix pointing there. Pure; returns bytes written
 * (like snprintf).
 */
size_t mkgrub_early_config(char *buf, size_t len);

/*
 * Build out from image with grub-mkimage. module_dir may be NULL (default).
 * Returns 0, or -1 after printing why to stderr.
 */
int mkgrub_build(const char *image, const char *out, const char *module_dir);

/*
 * GRUB's network image (what grub-mknetdir builds): format "i386-pc-pxe" or
 * "x86_64-efi", net_module "pxe" or "efinet", prefix where GRUB finds its
 * modules and grub.cfg. Returns 0, or -1 after printing why to stderr.
 */
int mkgrub_build_net(const char *module_dir, const char *format, const char *prefix,
                     const char *net_module, const char *out);

/* The subcommand: argv[0] is "mkgrub". Returns the exit status. */
int mkgrub_main(int argc, char **argv);

#endif
