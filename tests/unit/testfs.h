/* Scratch files for unit tests: write a small text file, making its parents. */
#ifndef NETBOOTD_TESTS_UNIT_TESTFS_H
#define NETBOOTD_TESTS_UNIT_TESTFS_H

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Writes dir/name (dir may be NULL: name is the path); 0 or -1. */
static inline int
testfs_put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s%s%s", dir ? dir : "", dir ? "/" : "", name) >=
	    (int)sizeof(path))
		return -1;
	for (char *p = path + (dir ? strlen(dir) + 1 : 1); (p = strchr(p, '/')); p++) {
		*p = '\0';
		(void)mkdir(path, 0755);
		*p = '/';
	}
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int r = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) != 0 ? -1 : r;
}

/* In a cmocka test: write it or fail the test. */
#define TESTFS_PUT(dir, name, text) assert_int_equal(testfs_put((dir), (name), (text)), 0)

#endif
