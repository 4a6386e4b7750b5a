/*
 * grub-memdisk at start-up: a profile with `image` and `method = grub-memdisk`
 * but no prebuilt `grub = FILE` gets its GRUB binary built once by
 * mkgrub_build() into the cache dir and served as cache/<profile>-grub.efi.
 * The build is reused while the image's path, size and mtime are unchanged.
 */
#ifndef NETBOOTD_BOOT_GRUBCACHE_H
#define NETBOOTD_BOOT_GRUBCACHE_H

#include "daemon.h"

#define GRUBCACHE_DEFAULT_DIR "/var/cache/netbootd"

/* Before the privilege drop. Returns 0, or -1 after logging why (start-up stops). */
int grubcache_setup(struct netbootd *nb);

#endif
