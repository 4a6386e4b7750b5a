/* boot-once records: the file's text both ways, marks and resets, pruning
 * by the configuration, and the file on disk (kept across a reopen, never
 * written through a planted link). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/bootonce.h"
#include "model/bootconf.h"
#include "model/config.h"

static const uint8_t mac1[6] = { 0x52, 0x54, 0, 0, 0, 1 };
static const uint8_t mac2[6] = { 0x52, 0x54, 0, 0, 0, 2 };

static void
test_text_round_trip(void **state)
{
	(void)state;
	struct bootonce *bo = bootonce_new();
	static const char text[] = "# comment\n\n52:54:00:00:00:01 1700000000\n"
	                           "not a record\n52-54-00-00-00-02 5 extra\n"
	                           "52:54:00:00:00:02 -1\n52:54:00:00:00:02 1700000001\r\n";
	assert_int_equal(bootonce_load_text(bo, text, sizeof(text) - 1, "t"), 3);
	assert_int_equal(bootonce_count(bo), 2);
	assert_true(bootonce_done(bo, mac1));
	assert_int_equal(bootonce_when(bo, mac2), 1700000001);
	char *out;
	size_t len;
	assert_int_equal(bootonce_format(bo, &out, &len), 0);
	assert_non_null(strstr(out, "\n52:54:00:00:00:01 1700000000\n52:54:00:00:00:02 1700000001\n"));
	struct bootonce *again = bootonce_new();
	assert_int_equal(bootonce_load_text(again, out, len, "t2"), 0);
	assert_int_equal(bootonce_count(again), 2);
	free(out);
	/* No newline at the end, a NUL inside: still only whole records. */
	static const char odd[] = "52:54:00:00:00:09 7\0garbage";
	assert_int_equal(bootonce_load_text(again, odd, sizeof(odd) - 1, "t3"), 0);
	assert_int_equal(bootonce_count(again), 3);
	bootonce_free(again);
	bootonce_free(bo);
}

static void
test_mark_reset_prune(void **state)
{
	(void)state;
	struct bootonce *bo = bootonce_new(); /* in memory: nothing to write */
	assert_false(bootonce_done(bo, mac1));
	assert_int_equal(bootonce_mark(bo, mac1, 10), 0);
	assert_int_equal(bootonce_mark(bo, mac2, 20), 0);
	assert_int_equal(bootonce_mark(bo, mac1, 30), 0); /* again: the newer time */
	assert_int_equal(bootonce_count(bo), 2);
	assert_int_equal(bootonce_when(bo, mac1), 30);
	assert_int_equal(bootonce_reset(bo, mac2), 0);
	assert_int_equal(bootonce_reset(bo, mac2), -ENOENT);
	assert_false(bootonce_done(bo, mac2));
	assert_false(bootonce_done(NULL, mac1));

	/* Only [host] boot-once = yes keeps its record. */
	struct config cfg;
	config_init(&cfg);
	char err[128];
	assert_int_equal(bootconf_ini_entry(cfg.boot, "host 52:54:00:00:00:01", "boot-once", "yes", err,
	                                    sizeof(err)), 0);
	assert_int_equal(bootconf_ini_entry(cfg.boot, "host 52:54:00:00:00:02", "boot-once", "no", err,
	                                    sizeof(err)), 0);
	assert_int_equal(bootconf_ini_entry(cfg.boot, "host 52:54:00:00:00:03", "boot-once", "maybe",
	                                    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "boot-once: 'maybe' is not yes or no"));
	assert_int_equal(bootonce_mark(bo, mac2, 40), 0);
	assert_int_equal(bootonce_prune(bo, cfg.boot), 1);
	assert_true(bootonce_done(bo, mac1));
	assert_false(bootonce_done(bo, mac2));
	config_free(&cfg);
	bootonce_free(bo);
}

static void
test_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/netbootd-bo-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], err[128];
	snprintf(path, sizeof(path), "%s/state/boot-once", dir);
	struct bootonce *bo = bootonce_open(path, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	assert_non_null(bo); /* its directory is made */
	assert_int_equal(bootonce_mark(bo, mac1, 1234), 0);
	bootonce_free(bo);
	bo = bootonce_open(path, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	assert_non_null(bo);
	assert_int_equal(bootonce_when(bo, mac1), 1234);
	assert_int_equal(bootonce_reset(bo, mac1), 0);
	bootonce_free(bo);
	bo = bootonce_open(path, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	assert_int_equal(bootonce_count(bo), 0);
	bootonce_free(bo);

	/* A link planted as the file is not followed: refused at start. */
	unlink(path);
	char target[160];
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	assert_int_equal(symlink(target, path), 0);
	assert_null(bootonce_open(path, (uid_t)-1, (gid_t)-1, err, sizeof(err)));
	assert_non_null(strstr(err, "many levels of symbolic links"));
	unlink(path);
	/* In memory only. */
	bo = bootonce_open(NULL, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	assert_non_null(bo);
	assert_int_equal(bootonce_mark(bo, mac2, 1), 0);
	bootonce_free(bo);
	snprintf(target, sizeof(target), "%s/state", dir);
	assert_int_equal(rmdir(target), 0); /* nothing was left behind (no .tmp) */
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_round_trip),
		cmocka_unit_test(test_mark_reset_prune),
		cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
