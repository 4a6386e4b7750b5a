/* Small file-system steps shared by the start-up builds (grubcache, mkgrub). */
#ifndef NETBOOTD_UTIL_FS_H
#define NETBOOTD_UTIL_FS_H

/* mkdir -p with mode 0755. Returns 0 or -errno. */
int fs_mkdir_p(const char *dir);

/*
 * A file built at tmp becomes out: made world-readable (it is served after
 * the privilege drop) and renamed over out, so no reader and no crash ever
 * sees half of it. On failure tmp is removed. Returns 0 or -errno.
 */
int fs_publish(const char *tmp, const char *out);

#endif
