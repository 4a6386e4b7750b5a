/* Small file-system steps shared by the start-up builds (grubcache, mkgrub). */
#ifndef NETBOOTD_UTIL_FS_H
#define NETBOOTD_UTIL_FS_H

#include <stddef.h>

/* mkdir -p with mode 0755. Returns 0 or -errno. */
int fs_mkdir_p(const char *dir);

/*
 * Whether only root can change what is in dir: dir and every directory
 * above it are owned by root and writable by no one else (a parent with the
 * sticky bit, like /tmp, is accepted: others cannot rename what root put
 * there). netbootd writes its start-up builds there as root, by path (the
 * tools it runs take paths), so a directory another user can write would
 * let that user point those writes at any file. Returns 0, or -EPERM with
 * the offending directory and why in why, or another -errno.
 */
int fs_dir_root_only(const char *dir, char *why, size_t whylen);

/*
 * A file built at tmp becomes out: made world-readable (it is served after
 * the privilege drop) and renamed over out, so no reader and no crash ever
 * sees half of it. On failure tmp is removed. Returns 0 or -errno.
 */
int fs_publish(const char *tmp, const char *out);

#endif
