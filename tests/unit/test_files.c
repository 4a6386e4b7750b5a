/* The file resolver's order (root, exact alias, directory alias, loader dirs)
 * and GRUB's network prefix. */
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

#include <arpa/inet.h>
#include <cmocka.h>

#include "boot/files.h"
#include "boot/grubcache.h"
#include "testfs.h"

static char dir[] = "/tmp/netbootd-files-XXXXXX";
static int rootfd = -1;

static int
setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	/* root/: the operator's files; grub/: a package's; loaders/: iPXE's. */
	TESTFS_PUT(dir, "root/boot/grub/i386-pc/normal.mod", "ROOT-NORMAL");
	TESTFS_PUT(dir, "root/vmlinuz", "KERNEL");
	TESTFS_PUT(dir, "grub/i386-pc/normal.mod", "PKG-NORMAL");
	TESTFS_PUT(dir, "grub/i386-pc/linux.mod", "PKG-LINUX");
	TESTFS_PUT(dir, "grub/secret", "PKG-SECRET");
	TESTFS_PUT(dir, "outside", "OUTSIDE");
	TESTFS_PUT(dir, "cache/core.0", "BUILT-CORE");
	TESTFS_PUT(dir, "loaders/undionly.kpxe", "IPXE");
	TESTFS_PUT(dir, "loaders/boot/grub/x86_64-efi/efinet.mod", "LOADER-EFINET");
	char path[512];
	snprintf(path, sizeof(path), "%s/root", dir);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return rootfd < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	close(rootfd);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct files *
resolver(void)
{
	char path[512];
	struct files *f = files_new(rootfd);
	assert_non_null(f);
	snprintf(path, sizeof(path), "%s/cache/core.0", dir);
	assert_int_equal(files_add_alias(f, "boot/grub/i386-pc/core.0", path), 0);
	snprintf(path, sizeof(path), "%s/grub", dir);
	assert_int_equal(files_add_dir_alias(f, "boot/grub/", path), 0);
	snprintf(path, sizeof(path), "%s/loaders", dir);
	assert_int_equal(files_add_loader_dir(f, path), 0);
	return f;
}

/* Returns the file's bytes (static buffer) or NULL with *err set. */
static const char *
fetch(struct files *f, const char *name, int *err)
{
	static char buf[64];
	struct file_source src;
	struct file_client client = { 0 };
	*err = files_open(f, name, strlen(name), &client, &src);
	if (*err < 0)
		return NULL;
	ssize_t n = pread(src.fd, buf, sizeof(buf) - 1, 0);
	file_source_release(&src);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void
test_order(void **state)
{
	(void)state;
	struct files *f = resolver();
	int err;
	/* The root wins over the package directory... */
	assert_string_equal(fetch(f, "boot/grub/i386-pc/normal.mod", &err), "ROOT-NORMAL");
	/* ...which serves what the root lacks, under its prefix... */
	assert_string_equal(fetch(f, "/boot/grub/i386-pc/linux.mod", &err), "PKG-LINUX");
	assert_string_equal(fetch(f, "boot\\grub\\i386-pc\\linux.mod", &err), "PKG-LINUX");
	/* ...an exact alias is the built image... */
	assert_string_equal(fetch(f, "boot/grub/i386-pc/core.0", &err), "BUILT-CORE");
	/* ...and loader directories come last. */
	assert_string_equal(fetch(f, "undionly.kpxe", &err), "IPXE");
	assert_string_equal(fetch(f, "boot/grub/x86_64-efi/efinet.mod", &err), "LOADER-EFINET");
	assert_string_equal(fetch(f, "vmlinuz", &err), "KERNEL");
	files_free(f);
}

static void
test_dir_alias_stays_beneath(void **state)
{
	(void)state;
	struct files *f = resolver();
	int err;
	/* The prefix itself, or a name that only starts like it, is not a file. */
	assert_null(fetch(f, "boot/grub/", &err));
	assert_null(fetch(f, "boot/grubby/i386-pc/linux.mod", &err));
	assert_int_equal(err, -ENOENT);
	/* No way out of the package directory or the root. */
	assert_null(fetch(f, "boot/grub/../outside", &err));
	assert_true(err == -EACCES || err == -ENOENT);
	assert_null(fetch(f, "boot/grub/../../outside", &err));
	assert_true(err == -EACCES || err == -ENOENT);
	assert_null(fetch(f, "boot/grub/i386-pc/../../../outside", &err));
	assert_true(err == -EACCES || err == -ENOENT);
	files_free(f);
}

static void
test_dir_alias_rejects_bad_prefix(void **state)
{
	(void)state;
	struct files *f = files_new(rootfd);
	assert_int_equal(files_add_dir_alias(f, "boot/grub", "/tmp"), -EINVAL);
	assert_int_equal(files_add_dir_alias(f, "/boot/grub/", "/tmp"), -EINVAL);
	assert_int_equal(files_add_dir_alias(f, "", "/tmp"), -EINVAL);
	assert_int_equal(files_add_dir_alias(f, "x/", "/nonexistent-netbootd"), -ENOENT);
	files_free(f);
}

static void
test_grub_prefix(void **state)
{
	(void)state;
	char buf[64];
	struct in_addr a = { .s_addr = htonl(0xc6120001) }; /* 198.18.0.1 */
	struct in_addr zero = { 0 };
	/* Server mode: GRUB's own choice, the ACK's next-server (ours). */
	assert_true(grubcache_net_prefix(false, &a, buf, sizeof(buf)));
	assert_string_equal(buf, "/boot/grub");
	assert_true(grubcache_net_prefix(false, NULL, buf, sizeof(buf)));
	assert_string_equal(buf, "/boot/grub");
	/* Proxy mode: the ACK is the LAN's; our address must be built in. */
	assert_true(grubcache_net_prefix(true, &a, buf, sizeof(buf)));
	assert_string_equal(buf, "(tftp,198.18.0.1)/boot/grub");
	assert_false(grubcache_net_prefix(true, NULL, buf, sizeof(buf)));
	assert_false(grubcache_net_prefix(true, &zero, buf, sizeof(buf)));
	assert_false(grubcache_net_prefix(true, &a, buf, 10));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_dir_alias_stays_beneath),
		cmocka_unit_test(test_dir_alias_rejects_bad_prefix),
		cmocka_unit_test(test_grub_prefix),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
