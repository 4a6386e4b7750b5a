#include "boot/bootonce.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/context.h"
#include "boot/strbuf.h"
#include "boot/timeline.h"
#include "model/config.h"
#include "model/bootconf.h"
#include "model/machine.h"
#include "util/log.h"

struct bootonce_record {
	uint8_t mac[6];
	time_t when;
};

struct bootonce {
	struct bootonce_record *recs;
	size_t n, cap;
	int dirfd;          /* -1: in memory only */
	char *base;         /* the file's name in dirfd */
	char *tmpname;      /* ".<base>.tmp" */
	char *path;         /* for log lines */
};

struct bootonce *
bootonce_new(void)
{
	struct bootonce *bo = calloc(1, sizeof(*bo));
	if (bo)
		bo->dirfd = -1;
	return bo;
}

void
bootonce_free(struct bootonce *bo)
{
	if (!bo)
		return;
	if (bo->dirfd >= 0)
		close(bo->dirfd);
	free(bo->recs);
	free(bo->base);
	free(bo->tmpname);
	free(bo->path);
	free(bo);
}

size_t
bootonce_count(const struct bootonce *bo)
{
	return bo ? bo->n : 0;
}

static ssize_t
find(const struct bootonce *bo, const uint8_t mac[6])
{
	for (size_t i = 0; bo && i < bo->n; i++)
		if (memcmp(bo->recs[i].mac, mac, 6) == 0)
			return (ssize_t)i;
	return -1;
}

bool
bootonce_local_disk(const struct boot_context *boot, const uint8_t mac[6])
{
	const struct boot_host *h = boot->cfg ? bootconf_host(boot->cfg->boot, mac) : NULL;
	return h && h->boot_once && bootonce_done(boot->bootonce, mac);
}

int
bootonce_report_booted(struct boot_context *boot, const uint8_t mac[6], time_t now,
                       bool *recorded)
{
	const struct boot_host *h = boot->cfg ? bootconf_host(boot->cfg->boot, mac) : NULL;
	bool known = timeline_up(boot->timeline, mac);
	*recorded = false;
	if (!h || !h->boot_once)
		return known ? 0 : -ENOENT;
	if (!boot->bootonce)
		return -ENOSYS;
	int r = bootonce_mark(boot->bootonce, mac, now);
	char m[18];
	if (r < 0) {
		log_error("boot-once", "%s: cannot record that it booted: %s: it will network-boot "
		                       "again", mac_format(mac, m), strerror(-r));
		return r;
	}
	*recorded = true;
	log_info("boot-once", "%s booted: its next boots start its local disk until reset",
	         mac_format(mac, m));
	return 0;
}

bool
bootonce_done(const struct bootonce *bo, const uint8_t mac[6])
{
	return find(bo, mac) >= 0;
}

time_t
bootonce_when(const struct bootonce *bo, const uint8_t mac[6])
{
	ssize_t i = find(bo, mac);
	return i < 0 ? 0 : bo->recs[i].when;
}

/* In memory only; -ENOSPC past BOOTONCE_MAX. */
static int
put(struct bootonce *bo, const uint8_t mac[6], time_t when)
{
	ssize_t i = find(bo, mac);
	if (i >= 0) {
		bo->recs[i].when = when;
		return 0;
	}
	if (bo->n == bo->cap) {
		if (bo->cap >= BOOTONCE_MAX)
			return -ENOSPC;
		size_t cap = bo->cap ? bo->cap * 2 : 16;
		struct bootonce_record *r = realloc(bo->recs, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		bo->recs = r;
		bo->cap = cap;
	}
	memcpy(bo->recs[bo->n].mac, mac, 6);
	bo->recs[bo->n].when = when;
	bo->n++;
	return 0;
}

static void
drop(struct bootonce *bo, size_t i)
{
	bo->recs[i] = bo->recs[--bo->n];
}

/* One "MAC UNIXTIME" line (no newline); 0 or -EINVAL. */
static int
parse_line(const char *s, size_t n, uint8_t mac[6], time_t *when)
{
	char buf[64];
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	char macs[18];
	long long t;
	char extra;
	if (sscanf(buf, "%17s %lld %c", macs, &t, &extra) != 2 || t < 0 || mac_parse(macs, mac) < 0)
		return -EINVAL;
	*when = (time_t)t;
	return 0;
}

size_t
bootonce_load_text(struct bootonce *bo, const char *text, size_t len, const char *name)
{
	size_t bad = 0, lineno = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		uint8_t mac[6];
		time_t when;
		if (n && p[0] != '#') {
			if (parse_line(p, n, mac, &when) < 0 || put(bo, mac, when) < 0) {
				bad++;
				log_warn("boot-once", "%s:%zu: not a 'MAC UNIXTIME' record: skipped", name, lineno);
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return bad;
}

int
bootonce_format(const struct bootonce *bo, char **out, size_t *len)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_puts(&sb, "# netbootd boot-once: machines that booted and now start from their "
	                 "local disk (MAC UNIXTIME)\n");
	for (size_t i = 0; i < bo->n; i++) {
		char mac[18];
		strbuf_printf(&sb, "%s %lld\n", mac_format(bo->recs[i].mac, mac),
		              (long long)bo->recs[i].when);
	}
	return strbuf_finish(&sb, out, len);
}

/* The whole file again: tmp, fsync, rename, fsync the directory. 0 or -errno. */
static int
persist(struct bootonce *bo)
{
	if (bo->dirfd < 0)
		return 0;
	char *text;
	size_t len;
	if (bootonce_format(bo, &text, &len) < 0)
		return -ENOMEM;
	int r = 0;
	int fd = openat(bo->dirfd, bo->tmpname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	                0640);
	if (fd < 0)
		r = -errno;
	for (size_t off = 0; r == 0 && off < len;) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else
			off += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r == 0 && renameat(bo->dirfd, bo->tmpname, bo->dirfd, bo->base) < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(bo->dirfd, bo->tmpname, 0);
	else if (fsync(bo->dirfd) < 0)
		log_warn("boot-once", "%s: fsync of its directory: %s", bo->path, strerror(errno));
	free(text);
	return r;
}

int
bootonce_mark(struct bootonce *bo, const uint8_t mac[6], time_t when)
{
	ssize_t i = find(bo, mac);
	time_t before = i >= 0 ? bo->recs[i].when : 0;
	int r = put(bo, mac, when);
	if (r < 0)
		return r;
	r = persist(bo);
	if (r < 0) { /* what is not on disk is not kept: a restart would disagree */
		i = find(bo, mac);
		if (before)
			bo->recs[i].when = before;
		else
			drop(bo, (size_t)i);
	}
	return r;
}

int
bootonce_reset(struct bootonce *bo, const uint8_t mac[6])
{
	ssize_t i = find(bo, mac);
	if (i < 0)
		return -ENOENT;
	struct bootonce_record was = bo->recs[i];
	drop(bo, (size_t)i);
	int r = persist(bo);
	if (r < 0)
		(void)put(bo, was.mac, was.when);
	return r;
}

size_t
bootonce_prune(struct bootonce *bo, const struct bootconf *bc)
{
	size_t dropped = 0;
	for (size_t i = 0; bo && i < bo->n;) {
		const struct boot_host *h = bootconf_host(bc, bo->recs[i].mac);
		if (h && h->boot_once) {
			i++;
			continue;
		}
		char mac[18];
		log_info("boot-once", "%s: no longer boot-once in the configuration: its record is "
		                      "dropped (it network-boots again)", mac_format(bo->recs[i].mac, mac));
		drop(bo, i);
		dropped++;
	}
	int r = dropped ? persist(bo) : 0;
	if (r < 0)
		log_warn("boot-once", "%s: cannot write: %s", bo->path, strerror(-r));
	return dropped;
}

/* The directory, made if missing (owned by the run user) and opened. */
static int
open_dir(struct bootonce *bo, const char *path, uid_t owner, gid_t group)
{
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	char *dir = dirname(copy);
	bool created = mkdir(dir, 0750) == 0;
	bo->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = bo->dirfd < 0 ? -errno : 0;
	if (r == 0 && created && owner != (uid_t)-1 && fchown(bo->dirfd, owner, group) < 0)
		log_warn("boot-once", "chown %s: %s", dir, strerror(errno));
	free(copy);
	return r;
}

/* Read the file if it is there (a regular file, never through a link). */
static int
load_file(struct bootonce *bo, uid_t owner, gid_t group)
{
	int fd = openat(bo->dirfd, bo->base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct stat st;
	int r = fstat(fd, &st) < 0 ? -errno : !S_ISREG(st.st_mode) ? -EINVAL : 0;
	if (r == 0 && st.st_size > (off_t)BOOTONCE_MAX * 64)
		r = -EFBIG;
	char *text = r == 0 ? malloc((size_t)st.st_size + 1) : NULL;
	if (r == 0 && !text)
		r = -ENOMEM;
	size_t got = 0;
	while (r == 0 && got < (size_t)st.st_size) {
		ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (r == 0) {
		(void)bootonce_load_text(bo, text, got, bo->path);
		/* Rewritten after the privilege drop: the run user must own it. */
		if (owner != (uid_t)-1 && fchown(fd, owner, group) < 0)
			log_warn("boot-once", "chown %s: %s", bo->path, strerror(errno));
	}
	free(text);
	close(fd);
	return r;
}

struct bootonce *
bootonce_open(const char *path, uid_t owner, gid_t group, char *err, size_t errlen)
{
	struct bootonce *bo = bootonce_new();
	if (!bo) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!path)
		return bo;
	char *copy = strdup(path);
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	bo->path = strdup(path);
	bo->base = strdup(base);
	size_t tl = strlen(base) + 6;
	bo->tmpname = malloc(tl);
	if (!copy || !bo->path || !bo->base || !bo->tmpname || !*base) {
		snprintf(err, errlen, "%s", *base ? "out of memory" : "names a directory, not a file");
		goto fail;
	}
	snprintf(bo->tmpname, tl, ".%s.tmp", base);
	int r = open_dir(bo, path, owner, group);
	if (r == 0)
		r = load_file(bo, owner, group);
	if (r < 0) {
		snprintf(err, errlen, "%s", strerror(-r));
		goto fail;
	}
	free(copy);
	return bo;
fail:
	free(copy);
	bootonce_free(bo);
	return NULL;
}
