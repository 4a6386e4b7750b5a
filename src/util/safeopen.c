#include "util/safeopen.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool force_fallback;

void
safe_open_force_fallback(bool on)
{
	force_fallback = on;
}

int
path_normalize(const char *in, size_t inlen, char *out, size_t outlen)
{
	size_t o = 0;
	size_t i = 0;

	if (outlen == 0)
		return -ENAMETOOLONG;
	while (i < inlen) {
		/* Skip separators; both kinds count (PXE ROMs send "\pxelinux.0"). */
		while (i < inlen && (in[i] == '/' || in[i] == '\\'))
			i++;
		size_t start = i;
		while (i < inlen && in[i] != '/' && in[i] != '\\') {
			if (in[i] == '\0')
				return -EACCES; /* dnsmasq CVE-2009-2957 style tricks */
			i++;
		}
		size_t len = i - start;
		if (len == 0 || (len == 1 && in[start] == '.'))
			continue;
		if (len == 2 && in[start] == '.' && in[start + 1] == '.') {
			/*
			 * RFC 3986 5.2.4: "a/../b" is "b". Above the root it is an
			 * escape attempt, refused (RFC 3986 would drop it silently).
			 */
			if (o == 0)
				return -EACCES;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* the separator before the dropped component */
			continue;
		}
		if (o + (o ? 1 : 0) + len >= outlen)
			return -ENAMETOOLONG;
		if (o)
			out[o++] = '/';
		memcpy(out + o, in + start, len);
		o += len;
	}
	out[o] = '\0';
	return o ? 0 : -ENOENT;
}

/*
 * Without openat2 (kernels before 5.6, some sandboxes) walk the path one
 * component at a time and refuse every symlink. That is stricter than
 * RESOLVE_BENEATH (links inside the root fail too) but never less safe.
 */
static int
safe_openat_walk(int rootfd, const char *relpath, int flags)
{
	char buf[4096];
	size_t len = strlen(relpath);
	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, relpath, len + 1);

	int dirfd = rootfd;
	char *comp = buf;
	int fd = -ENOENT;
	for (;;) {
		char *slash = strchr(comp, '/');
		if (slash)
			*slash = '\0';
		if (strcmp(comp, "..") == 0 || comp[0] == '\0') {
			fd = -EXDEV;
			break;
		}
		if (slash) {
			int next = openat(dirfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0) {
				fd = errno == ENOTDIR ? -ELOOP : -errno;
				break;
			}
			if (dirfd != rootfd)
				close(dirfd);
			dirfd = next;
			comp = slash + 1;
			continue;
		}
		fd = openat(dirfd, comp, flags | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
		break;
	}
	if (dirfd != rootfd)
		close(dirfd);
	return fd;
}

int
safe_openat(int rootfd, const char *relpath, int flags)
{
	if (relpath[0] == '/' || relpath[0] == '\0')
		return -EXDEV;
	if (!force_fallback) {
		struct open_how how = {
			.flags = (unsigned long long)(flags | O_CLOEXEC),
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
		};
		long fd = syscall(SYS_openat2, rootfd, relpath, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS)
			return -errno;
	}
	return safe_openat_walk(rootfd, relpath, flags);
}

static int
regular_only(int fd, struct stat *st)
{
	if (fstat(fd, st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return S_ISDIR(st->st_mode) ? -EISDIR : -EACCES;
	}
	/* Regular files never block; clear O_NONBLOCK for sendfile users. */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

int
safe_open_file(int rootfd, const char *relpath, struct stat *st)
{
	/* O_NONBLOCK: opening a FIFO planted under the root must not block us. */
	int fd = safe_openat(rootfd, relpath, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	return regular_only(fd, st);
}

int
trusted_open_file(int dirfd, const char *relpath, struct stat *st)
{
	if (relpath[0] == '/' || strcmp(relpath, "..") == 0 || strncmp(relpath, "../", 3) == 0 ||
	    strstr(relpath, "/../") || (strlen(relpath) >= 3 &&
	                                strcmp(relpath + strlen(relpath) - 3, "/..") == 0))
		return -EACCES; /* names are normalised before; this is the backstop */
	int fd = openat(dirfd, relpath, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return regular_only(fd, st);
}
