/*
 * A daemon context over a scratch root for handler tests (TFTP, HTTP): the
 * settings at their defaults, the files resolver, the timeline. The servers
 * themselves are the test's: it makes them on tb->nb and frees them before
 * testboot_fini().
 */
#ifndef NETBOOTD_TESTS_UNIT_TESTBOOT_H
#define NETBOOTD_TESTS_UNIT_TESTBOOT_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "boot/files.h"
#include "boot/timeline.h"
#include "daemon.h"
#include "model/config.h"
#include "util/log.h"

struct testboot {
	char dir[64];               /* the root: put files there with TESTFS_PUT */
	int rootfd;
	struct config cfg;
	struct netbootd nb;
};

/* 0, or -1 when the scratch root cannot be made. */
static inline int
testboot_init(struct testboot *tb, const char *tag)
{
	/* The handlers log every refusal and every transfer cut short at the
	 * end of a test: the tests assert what was sent, not the lines. */
	log_set_level(LOG_LEVEL_ERROR);
	snprintf(tb->dir, sizeof(tb->dir), "/tmp/netbootd-%s-XXXXXX", tag);
	if (!mkdtemp(tb->dir))
		return -1;
	tb->rootfd = open(tb->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	config_init(&tb->cfg);
	tb->nb.boot.cfg = &tb->cfg;
	tb->nb.boot.rootfd = tb->rootfd;
	tb->nb.boot.files = files_new(tb->rootfd);
	tb->nb.boot.timeline = timeline_new();
	return tb->rootfd >= 0 && tb->nb.boot.files && tb->nb.boot.timeline ? 0 : -1;
}

/* Free it all and remove the root; 0 or -1. */
static inline int
testboot_fini(struct testboot *tb)
{
	files_free(tb->nb.boot.files);
	timeline_free(tb->nb.boot.timeline);
	config_free(&tb->cfg);
	close(tb->rootfd);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tb->dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
