#include "boot/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/safeopen.h"

#define FILES_MAX_DIRS 16
#define FILES_MAX_ALIASES 32
#define FILES_MAX_DIR_ALIASES 4

struct files_alias {
	char *name;
	int dirfd;
	char *base;
};

/* Every name under prefix ("boot/grub/") resolves beneath dirfd. */
struct files_dir_alias {
	char *prefix;
	int dirfd;
};

struct files {
	int rootfd;
	int dirfds[FILES_MAX_DIRS];
	size_t ndirs;
	struct files_alias aliases[FILES_MAX_ALIASES];
	size_t naliases;
	struct files_dir_alias dir_aliases[FILES_MAX_DIR_ALIASES];
	size_t ndir_aliases;
	files_generator_fn gen;
	void *gen_ctx;
};

struct files *
files_new(int rootfd)
{
	struct files *f = calloc(1, sizeof(*f));
	if (f)
		f->rootfd = rootfd;
	return f;
}

void
files_free(struct files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->ndirs; i++)
		close(f->dirfds[i]);
	for (size_t i = 0; i < f->naliases; i++) {
		close(f->aliases[i].dirfd);
		free(f->aliases[i].name);
		free(f->aliases[i].base);
	}
	for (size_t i = 0; i < f->ndir_aliases; i++) {
		close(f->dir_aliases[i].dirfd);
		free(f->dir_aliases[i].prefix);
	}
	free(f);
}

int
files_add_loader_dir(struct files *f, const char *dir)
{
	if (f->ndirs >= FILES_MAX_DIRS)
		return -ENOSPC;
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f->dirfds[f->ndirs++] = fd;
	return 0;
}

int
files_add_alias(struct files *f, const char *name, const char *host_path)
{
	if (f->naliases >= FILES_MAX_ALIASES)
		return -ENOSPC;
	const char *slash = strrchr(host_path, '/');
	char dir[4096];
	const char *base = host_path;
	if (slash) {
		size_t n = (size_t)(slash - host_path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, host_path, n);
		dir[n] = '\0';
		if (n == 0)
			strcpy(dir, "/");
		base = slash + 1;
	} else {
		strcpy(dir, ".");
	}
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct files_alias *a = &f->aliases[f->naliases];
	a->name = strdup(name);
	a->base = strdup(base);
	if (!a->name || !a->base) {
		free(a->name);
		free(a->base);
		close(fd);
		return -ENOMEM;
	}
	a->dirfd = fd;
	f->naliases++;
	return 0;
}

int
files_add_dir_alias(struct files *f, const char *prefix, const char *dir)
{
	size_t n = strlen(prefix);
	if (n == 0 || prefix[n - 1] != '/' || prefix[0] == '/')
		return -EINVAL;
	if (f->ndir_aliases >= FILES_MAX_DIR_ALIASES)
		return -ENOSPC;
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct files_dir_alias *a = &f->dir_aliases[f->ndir_aliases];
	a->prefix = strdup(prefix);
	if (!a->prefix) {
		close(fd);
		return -ENOMEM;
	}
	a->dirfd = fd;
	f->ndir_aliases++;
	return 0;
}

void
files_set_generator(struct files *f, files_generator_fn fn, void *ctx)
{
	f->gen = fn;
	f->gen_ctx = ctx;
}

/*
 * beneath: the root, where nothing may lead out (no symlinks at all);
 * otherwise a directory the administrator configured, whose links are theirs.
 */
static int
open_real(int dirfd, const char *rel, struct file_source *src, bool beneath)
{
	struct stat st;
	int fd = beneath ? safe_open_file(dirfd, rel, &st) : trusted_open_file(dirfd, rel, &st);
	if (fd == -EXDEV || fd == -ELOOP)
		return -EACCES; /* an escape attempt is "denied", never "missing" */
	if (fd < 0)
		return fd;
	src->fd = fd;
	src->size = (uint64_t)st.st_size;
	src->mtime = st.st_mtime;
	src->inode = (uint64_t)st.st_ino;
	return 0;
}

int
files_open(struct files *f, const char *name, size_t namelen,
           const struct file_client *client, struct file_source *src)
{
	memset(src, 0, sizeof(*src));
	src->fd = -1;

	int r = path_normalize(name, namelen, src->path, sizeof(src->path));
	if (r < 0)
		return r;

	if (f->gen) {
		r = f->gen(f->gen_ctx, src->path, client, src);
		if (r != -ENOENT)
			return r;
	}

	r = open_real(f->rootfd, src->path, src, true);
	/* Only a missing file falls through; a denied one stays denied. */
	if (r != -ENOENT)
		return r;
	for (size_t i = 0; i < f->naliases; i++) {
		if (strcmp(f->aliases[i].name, src->path) == 0)
			return open_real(f->aliases[i].dirfd, f->aliases[i].base, src, false);
	}
	for (size_t i = 0; i < f->ndir_aliases; i++) {
		const struct files_dir_alias *a = &f->dir_aliases[i];
		size_t n = strlen(a->prefix);
		/* The rest is normalised (no "..", no leading '/'); the safe opener
		 * keeps it beneath the directory all the same. */
		if (strncmp(src->path, a->prefix, n) == 0 && src->path[n]) {
			r = open_real(a->dirfd, src->path + n, src, false);
			if (r != -ENOENT)
				return r;
		}
	}
	for (size_t i = 0; i < f->ndirs; i++) {
		r = open_real(f->dirfds[i], src->path, src, false);
		if (r != -ENOENT)
			return r;
	}
	return -ENOENT;
}

void
file_source_release(struct file_source *src)
{
	if (src->fd >= 0)
		close(src->fd);
	src->fd = -1;
	free(src->data);
	src->data = NULL;
}
