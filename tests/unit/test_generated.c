/* The generator behind the file resolver: per-machine names, status documents, quick mode. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "boot/context.h"
#include "boot/files.h"
#include "boot/generated.h"
#include "boot/timeline.h"
#include "model/config.h"
#include "testfs.h"

static char dir[] = "/tmp/netbootd-gen-XXXXXX";
static struct config cfg;
static struct boot_context boot;

static int
setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	TESTFS_PUT(dir, "vmlinuz", "KERNEL");
	TESTFS_PUT(dir, "initrd.img", "INITRD");
	TESTFS_PUT(dir, "shell.efi", "MZ-shell");
	TESTFS_PUT(dir, "disk.img", "DISKDISKDISK");
	TESTFS_PUT(dir, "netbootd.conf",
	    "[default]\nprofile = linux\n"
	    "[profile linux]\nkernel = vmlinuz\ninitrd = initrd.img\ncmdline = quiet\n"
	    "[profile shell]\nefi = shell.efi\n"
	    "[profile disk]\nimage = disk.img\n"
	    "[host 52:54:00:00:00:02]\nprofile = shell\n"
	    "[host 52:54:00:00:00:03]\nprofile = disk\n");
	char path[256], err[128];
	snprintf(path, sizeof(path), "%s/netbootd.conf", dir);
	config_init(&cfg);
	if (config_load_file(&cfg, path) != 0)
		return -1;
	if (config_set(&cfg, "http", "198.18.0.1:8080", err, sizeof(err)) != 0)
		return -1;
	boot.cfg = &cfg;
	boot.rootfd = open(dir, O_PATH | O_DIRECTORY);
	boot.files = files_new(boot.rootfd);
	boot.timeline = timeline_new();
	if (boot.rootfd < 0 || !boot.files || !boot.timeline)
		return -1;
	generated_register(&boot);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	files_free(boot.files);
	timeline_free(boot.timeline);
	close(boot.rootfd);
	config_free(&cfg);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct sockaddr_in client_sin = { .sin_family = AF_INET };
static const struct file_client client = { .addr = (const struct sockaddr *)&client_sin,
                                           .addrlen = sizeof(client_sin) };

/* Resolve name; returns the bytes (static copy) or NULL with *err set. */
static const char *
fetch(const char *name, int *err, struct file_source *keep)
{
	static char buf[8192];
	struct file_source src;
	*err = files_open(boot.files, name, strlen(name), &client, &src);
	if (*err < 0)
		return NULL;
	size_t n = src.size < sizeof(buf) - 1 ? (size_t)src.size : sizeof(buf) - 1;
	if (src.fd >= 0)
		n = (size_t)pread(src.fd, buf, n, 0);
	else
		memcpy(buf, src.data, n);
	buf[n] = '\0';
	if (keep)
		*keep = src;
	else
		file_source_release(&src);
	return buf;
}

static void
test_ipxe_script_and_mapping(void **state)
{
	(void)state;
	int err;
	inet_pton(AF_INET, "198.18.0.77", &client_sin.sin_addr);
	/* DHCP saw machine ...:01 (as iPXE); ...:02 never asked. */
	struct machine m = { .kind = FIRMWARE_IPXE };
	m.mac[0] = 0x52;
	m.mac[1] = 0x54;
	m.mac[5] = 1;
	timeline_dhcp(boot.timeline, &m, "script");
	const char *s = fetch("/boot/52:54:00:00:00:01.ipxe", &err, NULL);
	assert_non_null(s);
	assert_non_null(strstr(s, "kernel http://198.18.0.1:8080/vmlinuz initrd=initrd.img quiet"));
	/* The requester's IP now belongs to that MAC. */
	uint8_t mac[6];
	assert_true(timeline_lookup_ip(boot.timeline, client_sin.sin_addr, mac));
	assert_int_equal(mac[5], 1);
	/* Upper case and dashes name the same machine. */
	assert_non_null(fetch("boot/52-54-00-00-00-02.ipxe", &err, NULL));
	s = fetch("boot/52:54:00:00:00:02.ipxe", &err, NULL);
	assert_non_null(strstr(s, "chain http://198.18.0.1:8080/shell.efi"));
	/* A script fetched under a MAC DHCP never saw claims no address and adds no machine. */
	assert_true(timeline_lookup_ip(boot.timeline, client_sin.sin_addr, mac));
	assert_int_equal(mac[5], 1);
	assert_false(timeline_knows(boot.timeline, (const uint8_t[6]){ 0x52, 0x54, 0, 0, 0, 2 }));
}

static void
test_http_boot_serves_real_bytes(void **state)
{
	(void)state;
	int err;
	struct file_source src;
	const char *s = fetch("boot/52:54:00:00:00:02.efi", &err, &src);
	assert_non_null(s);
	assert_string_equal(s, "MZ-shell");
	assert_true(src.fd >= 0); /* a real file: HTTP can sendfile it */
	assert_string_equal(src.path, "boot/52:54:00:00:00:02.efi");
	file_source_release(&src);
	/* The image as the firmware's RAM disk, under the URL's extension. */
	s = fetch("boot/52:54:00:00:00:03.img", &err, NULL);
	assert_string_equal(s, "DISKDISKDISK");
	s = fetch("boot/52:54:00:00:00:03.imgboot", &err, NULL);
	assert_string_equal(s, "url=http://198.18.0.1:8080/disk.img\ntype=disk\n");
}

static void
test_pxelinux_and_status(void **state)
{
	(void)state;
	int err;
	struct file_source src;
	const char *s = fetch("pxelinux.cfg/01-52-54-00-00-00-01", &err, NULL);
	assert_non_null(s);
	assert_non_null(strstr(s, "KERNEL http://198.18.0.1:8080/vmlinuz"));
	/* GRUB's name lives under boot/ too: it must not be taken for boot/<mac>.* */
	s = fetch("/boot/grub/grub.cfg-01-52-54-00-00-00-01", &err, NULL);
	if (!s)
		fail_msg("grub.cfg: %d", err);
	if (!strstr(s, "\tlinux /vmlinuz quiet\n\tinitrd /initrd.img\n"))
		fail_msg("grub.cfg:\n%s", s);
	s = fetch("status.json", &err, &src);
	assert_string_equal(src.content_type, "application/json");
	assert_non_null(strstr(s, "\"mac\":\"52:54:00:00:00:01\""));
	file_source_release(&src);
	s = fetch("status", &err, &src);
	assert_string_equal(src.content_type, "text/html; charset=utf-8");
	assert_non_null(strstr(s, "<!DOCTYPE html>"));
	file_source_release(&src);
}

static void
test_not_generated(void **state)
{
	(void)state;
	static const char *const names[] = {
		"boot/52:54:00:00:00:01.ipx", "boot/52:54:00:00:00:0.ipxe", "boot/52:54:00:00:00:0g.ipxe",
		"boot/52:54:00:00:00:01.ipxe/x", "boot/52:54:00:00:00:01", "boot/", "boot/x.efi",
		"pxelinux.cfg/01-52-54-00-00-00-01x", "pxelinux.cfg/default", "status.html",
		"boot/grub/grub.cfg-01-52-54-00-00-00", "boot/52:54:00:00:00:01.efi.ipxe",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int err;
		if (fetch(names[i], &err, NULL) || err != -ENOENT)
			fail_msg("%s: %d", names[i], err);
	}
	/* Escapes stay denied before the generator is even asked. */
	int err;
	assert_null(fetch("../boot/52:54:00:00:00:01.ipxe", &err, NULL));
	assert_int_equal(err, -EACCES);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipxe_script_and_mapping),
		cmocka_unit_test(test_http_boot_serves_real_bytes),
		cmocka_unit_test(test_pxelinux_and_status),
		cmocka_unit_test(test_not_generated),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
