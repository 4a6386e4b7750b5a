/* A config file's text loaded into a fresh struct config (planner, DHCP tests). */
#ifndef NETBOOTD_TESTS_UNIT_TESTCONF_H
#define NETBOOTD_TESTS_UNIT_TESTCONF_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/config.h"

/* Defaults, then each "key=value" of sets (NULL-terminated), then the file text. */
static inline void
testconf_load(struct config *cfg, const char *text, const char *const *sets)
{
	char path[] = "/tmp/netbootd-conf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	config_init(cfg);
	for (size_t i = 0; sets && sets[i]; i += 2) {
		char err[128];
		assert_int_equal(config_set(cfg, sets[i], sets[i + 1], err, sizeof(err)), 0);
	}
	assert_int_equal(config_load_file(cfg, path), 0);
	unlink(path);
}

#endif
