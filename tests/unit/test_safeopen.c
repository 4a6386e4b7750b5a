/*
 * The safe opener is the only way a client-chosen name reaches the file
 * system, so every escape spelling is tried, with openat2 and with the
 * fallback walk.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "testfs.h"
#include "util/safeopen.h"

static char base[256];
static int rootfd = -1;

/*
 * base/root/{ok.txt, sub/inner.txt, link-in -> sub/inner.txt,
 *            link-out -> ../secret.txt, link-abs -> /etc/hostname,
 *            dirlink-out -> .., fifo}
 * base/secret.txt
 * base/root-private/secret.txt   (a sibling whose name starts with "root")
 */
static int
setup(void **state)
{
	(void)state;
	char p[512];
	snprintf(base, sizeof(base), "/tmp/netbootd-safeopen-XXXXXX");
	if (!mkdtemp(base))
		return -1;
#define P(...) (snprintf(p, sizeof(p), __VA_ARGS__), p)
	mkdir(P("%s/root", base), 0755);
	mkdir(P("%s/root/sub", base), 0755);
	mkdir(P("%s/root-private", base), 0755);
	TESTFS_PUT(NULL, P("%s/root/ok.txt", base), "ok\n");
	TESTFS_PUT(NULL, P("%s/root/sub/inner.txt", base), "inner\n");
	TESTFS_PUT(NULL, P("%s/secret.txt", base), "secret\n");
	TESTFS_PUT(NULL, P("%s/root-private/secret.txt", base), "private\n");
	if (symlink("sub/inner.txt", P("%s/root/link-in", base)) < 0 ||
	    symlink("../secret.txt", P("%s/root/link-out", base)) < 0 ||
	    symlink("/etc/hostname", P("%s/root/link-abs", base)) < 0 ||
	    symlink("..", P("%s/root/dirlink-out", base)) < 0 ||
	    mkfifo(P("%s/root/fifo", base), 0644) < 0)
		return -1;
	rootfd = open(P("%s/root", base), O_PATH | O_DIRECTORY);
#undef P
	return rootfd < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	char cmd[400];
	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static int
open_name(const char *name)
{
	char rel[256];
	int r = path_normalize(name, strlen(name), rel, sizeof(rel));
	if (r < 0)
		return r;
	struct stat st;
	int fd = safe_open_file(rootfd, rel, &st);
	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : fd;
}

static void
test_normalize_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t len; /* 0: strlen */
		int want;
		const char *out;
	} cases[] = {
		{ "ok.txt", 0, 0, "ok.txt" },
		{ "/ok.txt", 0, 0, "ok.txt" },
		{ "///sub//inner.txt", 0, 0, "sub/inner.txt" },
		{ "\\sub\\inner.txt", 0, 0, "sub/inner.txt" },
		{ "./sub/./inner.txt", 0, 0, "sub/inner.txt" },
		{ "../secret.txt", 0, -EACCES, NULL },
		{ "sub/../../secret.txt", 0, -EACCES, NULL },
		{ "..\\secret.txt", 0, -EACCES, NULL },
		{ "sub/..", 0, -ENOENT, NULL }, /* the root itself: no file name (RFC 3986 dot segments) */
		{ "sub/../ok.txt", 0, 0, "ok.txt" },
		{ "sub/./x/../../ok.txt", 0, 0, "ok.txt" },
		{ "sub/x/../../../ok.txt", 0, -EACCES, NULL },
		{ "...", 0, 0, "..." }, /* a legal (odd) file name */
		{ "..foo", 0, 0, "..foo" },
		{ "ok.txt\0../../etc/passwd", 22, -EACCES, NULL },
		{ "", 0, -ENOENT, NULL },
		{ "/", 0, -ENOENT, NULL },
		{ "./", 0, -ENOENT, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64];
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		int r = path_normalize(cases[i].in, len, out, sizeof(out));
		if (r != cases[i].want)
			fail_msg("case %zu '%s': got %d want %d", i, cases[i].in, r, cases[i].want);
		if (r == 0)
			assert_string_equal(out, cases[i].out);
	}
}

static void
test_normalize_too_long(void **state)
{
	(void)state;
	char out[8];
	assert_int_equal(path_normalize("abcdefgh", 8, out, sizeof(out)), -ENAMETOOLONG);
	assert_int_equal(path_normalize("abcdefg", 7, out, sizeof(out)), 0);
	assert_int_equal(path_normalize("a/b/c/d/e", 9, out, sizeof(out)), -ENAMETOOLONG);
}

static void
check_escapes(void)
{
	/* Inside the root: plain files and a symlink that stays inside. */
	assert_int_equal(open_name("ok.txt"), 0);
	assert_int_equal(open_name("/sub/inner.txt"), 0);
	assert_int_equal(open_name("\\sub\\inner.txt"), 0);
	/* Escapes, however spelled. */
	assert_int_equal(open_name("../secret.txt"), -EACCES);
	assert_int_equal(open_name("../root-private/secret.txt"), -EACCES);
	assert_true(open_name("link-out") < 0);
	assert_true(open_name("link-abs") < 0);
	assert_true(open_name("dirlink-out/secret.txt") < 0);
	assert_true(open_name("dirlink-out/root-private/secret.txt") < 0);
	/* Not regular files. */
	assert_int_equal(open_name("sub"), -EISDIR);
	assert_int_equal(open_name("fifo"), -EACCES);
	assert_int_equal(open_name("missing.txt"), -ENOENT);
	/* Absolute paths given straight to the opener are refused. */
	assert_int_equal(safe_openat(rootfd, "/etc/hostname", O_RDONLY), -EXDEV);
	assert_true(safe_openat(rootfd, "../secret.txt", O_RDONLY) < 0);
	assert_true(safe_openat(rootfd, "../root-private/secret.txt", O_RDONLY) < 0);
}

static void
test_escapes_openat2(void **state)
{
	(void)state;
	safe_open_force_fallback(false);
	check_escapes();
	assert_int_equal(open_name("link-in"), 0); /* RESOLVE_BENEATH follows inner links */
}

static void
test_escapes_fallback(void **state)
{
	(void)state;
	safe_open_force_fallback(true);
	check_escapes();
	/* The fallback refuses every symlink: stricter, never looser. */
	assert_true(open_name("link-in") < 0);
	safe_open_force_fallback(false);
}

static void
test_sibling_prefix_dir(void **state)
{
	(void)state;
	/* A root opened by fd cannot be confused with base/root-private. */
	char rel[64];
	assert_int_equal(path_normalize("/root-private/secret.txt", 24, rel, sizeof(rel)), 0);
	struct stat st;
	assert_int_equal(safe_open_file(rootfd, rel, &st), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_table),
		cmocka_unit_test(test_normalize_too_long),
		cmocka_unit_test(test_escapes_openat2),
		cmocka_unit_test(test_escapes_fallback),
		cmocka_unit_test(test_sibling_prefix_dir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
