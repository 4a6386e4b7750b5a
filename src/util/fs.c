#include "util/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
fs_mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int
fs_dir_root_only(const char *dir, char *why, size_t whylen)
{
	char real[PATH_MAX], path[PATH_MAX];
	struct stat st;
	if (!realpath(dir, real))
		return -errno;
	size_t n = strlen(real);
	/* "/", "/var", "/var/cache", ..., then the directory itself. */
	for (size_t i = 0; i <= n; i++) {
		bool last = i == n;
		if (!last && real[i] != '/')
			continue;
		size_t len = i == 0 ? 1 : i;
		memcpy(path, real, len);
		path[len] = '\0';
		if (lstat(path, &st) < 0)
			return -errno;
		const char *bad = NULL;
		if (!S_ISDIR(st.st_mode))
			bad = "not a directory";
		else if (st.st_uid != 0)
			bad = "not owned by root";
		else if ((st.st_mode & 0022) && (last || !(st.st_mode & S_ISVTX)))
			bad = "writable by others than root";
		if (bad) {
			snprintf(why, whylen, "%s is %s (mode %04o, owner uid %u)", path, bad,
			         (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
			return -EPERM;
		}
	}
	return 0;
}

int
fs_publish(const char *tmp, const char *out)
{
	if (chmod(tmp, 0644) == 0 && rename(tmp, out) == 0)
		return 0;
	int r = -errno;
	unlink(tmp);
	return r;
}
