/*
 * grub-memdisk at start-up: a profile with `image` and `method = grub-memdisk`
 * but no prebuilt `grub = FILE` gets its GRUB binary built once by
 * mkgrub_build() into the cache dir and served as cache/<profile>-grub.efi.
 * The build is reused while the image's path, size and mtime are unchanged.
 */
#ifndef NETBOOTD_BOOT_GRUBCACHE_H
#define NETBOOTD_BOOT_GRUBCACHE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "boot/context.h"

struct bootconf;

#define GRUBCACHE_DEFAULT_DIR "/var/cache/netbootd"

/* Before the privilege drop. Returns 0, or -1 after logging why (start-up stops). */
int grubcache_setup(struct boot_context *boot);

/*
 * A reload: the new configuration's grub-memdisk profiles take the binaries
 * built at start-up for the same profile and image. Returns 0, or -1 after
 * logging why a restart is needed (a new build, or method grub's network
 * images when none were built).
 */
int grubcache_reload(const struct bootconf *running, struct bootconf *fresh);

/*
 * GRUB network boot without grub-mknetdir. Profiles with `method = grub` and
 * no `grub = FILE` get GRUB's network images built at start-up into
 * CACHE/grub-net/ (served as boot/grub/i386-pc/core.0 for BIOS and
 * boot/grub/x86_64-efi/core.efi for UEFI) and GRUB's modules served from the
 * Debian packages under boot/grub/: the layout grub-mknetdir makes. A
 * grub-mknetdir layout already beneath --root wins (it is the operator's).
 *
 * Why build rather than ask for grub-mknetdir: GRUB takes its TFTP server
 * from the DHCP ACK it was started with. Beside another DHCP server (proxy
 * mode) that ACK is the LAN server's, and GRUB asks the wrong host for
 * normal.mod. The images built here carry netbootd's address in their
 * prefix in proxy mode.
 */

/*
 * The prefix to build in, pure. In server mode the ACK is ours, so GRUB's
 * own choice ("/boot/grub" on the DHCP next-server) is right and follows
 * relays and several interfaces. In proxy mode it is (tftp,SERVER)/boot/grub;
 * false when there is no server address to build in.
 */
bool grubcache_net_prefix(bool proxy, const struct in_addr *server, char *buf, size_t len);

/* Before the privilege drop. Returns 0, or -1 after logging why (start-up stops). */
int grubcache_net_setup(struct boot_context *boot, const char *grub_dir);

/*
 * ARM64: an unsigned network GRUB for arm64-efi with netbootd's address in
 * its prefix, from the modules in modules (grubcache.c says why); 1 when
 * GRUBCACHE_ARM64_IMAGE can be offered, 0 when not, -1 to stop start-up.
 * named: the administrator named that directory (a warning when empty).
 */
#define GRUBCACHE_ARM64_IMAGE "boot/grub/arm64-efi/core.efi"
int grubcache_arm64_setup(struct boot_context *boot, const char *modules, bool named);

#endif
