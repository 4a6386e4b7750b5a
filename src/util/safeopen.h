/*
 * Opening files strictly beneath a root directory.
 *
 * Every file a client can name (TFTP, HTTP) is opened through here. The
 * kernel enforces the boundary (openat2 RESOLVE_BENEATH), so "..",
 * absolute paths and symlinks out of the root fail no matter how the name
 * was spelled; path_normalize() is only the first, friendlier line.
 */
#ifndef NETBOOTD_UTIL_SAFEOPEN_H
#define NETBOOTD_UTIL_SAFEOPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/*
 * Turn a client-supplied name into a relative path: backslashes become
 * slashes (PXE clients send DOS paths), leading slashes mean the root, empty
 * and "." components vanish, "x/.." vanishes (RFC 3986 dot segments, by
 * name: nothing on disk is looked at). A ".." that would climb above the
 * root, or a NUL byte inside the name, is refused with -EACCES; an empty
 * result is -ENOENT; a result longer than
 * outlen-1 is -ENAMETOOLONG. Returns 0 on success.
 */
int path_normalize(const char *in, size_t inlen, char *out, size_t outlen);

/*
 * Open relpath beneath the directory rootfd with open(2) flags. Symlinks that
 * stay inside the root are followed; anything that would leave it fails with
 * -EXDEV (or -ELOOP). Returns an fd or -errno.
 */
int safe_openat(int rootfd, const char *relpath, int flags);

/*
 * Open a regular file for reading beneath rootfd and fstat it into st.
 * Directories, devices and FIFOs are -EACCES (a FIFO is never waited on).
 * Returns an fd or -errno.
 */
int safe_open_file(int rootfd, const char *relpath, struct stat *st);

/*
 * The same for a directory root configured by the administrator (boot
 * loader directories, aliases): relpath is a normalised name (no "..", no
 * leading '/'), and symlinks are followed, because Debian's packages ship
 * loaders as links (/usr/lib/ipxe/ipxe.efi -> /boot/ipxe.efi). Only regular
 * files. Returns an fd (O_CLOEXEC) or -errno.
 */
int trusted_open_file(int dirfd, const char *relpath, struct stat *st);

/* For tests: use the component-by-component fallback even if openat2 works. */
void safe_open_force_fallback(bool on);

#endif
