/* http-boot-https: UEFI HTTP boot offers name https:// URLs; nothing else changes. */
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

#include "boot/planner.h"
#include "model/bootconf.h"
#include "model/config.h"

static void
load(struct config *cfg, const char *https, bool flag)
{
	char path[] = "/tmp/netbootd-ih-XXXXXX";
	static const char text[] = "[default]\nprofile = iso\n[profile iso]\nimage = rescue.iso\n"
	                           "[host 52:54:00:00:00:02]\nprofile = efi\n"
	                           "[profile efi]\nefi = shell.efi\n";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	config_init(cfg);
	char err[128];
	assert_int_equal(config_set(cfg, "root", "/tmp", err, sizeof(err)), 0);
	if (https) {
		assert_int_equal(config_set(cfg, "https", https, err, sizeof(err)), 0);
		assert_int_equal(config_set(cfg, "tls-cert", "/nonexistent.pem", err, sizeof(err)), 0);
		assert_int_equal(config_set(cfg, "tls-key", "/nonexistent.key", err, sizeof(err)), 0);
	}
	if (flag)
		assert_int_equal(config_set(cfg, "http-boot-https", "yes", err, sizeof(err)), 0);
	assert_int_equal(config_load_file(cfg, path), 0);
	unlink(path);
}

static void
answer(const struct config *cfg, uint8_t host, enum firmware_kind kind, uint16_t arch,
       struct boot_answer *a)
{
	struct machine m = { .mac = { 0x52, 0x54, 0, 0, 0, host }, .kind = kind };
	m.arch_set = true;
	m.arch = arch;
	inet_pton(AF_INET, "198.18.0.1", &m.server_ip);
	assert_int_equal(planner_dhcp_answer(cfg, &m, a), 0);
	assert_true(a->answer);
}

static void
test_https_offer(void **state)
{
	(void)state;
	struct config cfg;
	struct boot_answer a;

	load(&cfg, "0.0.0.0:443", true);
	assert_int_equal(config_validate(&cfg), 0);
	answer(&cfg, 1, FIRMWARE_UEFI_HTTP, 16, &a);
	assert_string_equal(a.bootfile, "https://198.18.0.1/boot/52:54:00:00:00:01.iso");
	assert_string_equal(a.vendor_class, "HTTPClient");
	answer(&cfg, 2, FIRMWARE_UEFI_HTTP, 16, &a);
	assert_string_equal(a.bootfile, "https://198.18.0.1/boot/52:54:00:00:00:02.efi");
	/* iPXE scripts and PXE clients keep plain HTTP/TFTP. */
	answer(&cfg, 1, FIRMWARE_IPXE, 7, &a);
	assert_string_equal(a.bootfile, "http://198.18.0.1/boot/52:54:00:00:00:01.ipxe");
	answer(&cfg, 1, FIRMWARE_UEFI_PXE, 7, &a);
	assert_string_equal(a.bootfile, "snponly.efi");
	config_free(&cfg);

	load(&cfg, "0.0.0.0:8443", true);
	answer(&cfg, 1, FIRMWARE_UEFI_HTTP, 16, &a);
	assert_string_equal(a.bootfile, "https://198.18.0.1:8443/boot/52:54:00:00:00:01.iso");
	config_free(&cfg);

	/* --https alone does not change offers: the firmware may lack the CA. */
	load(&cfg, "0.0.0.0:443", false);
	answer(&cfg, 1, FIRMWARE_UEFI_HTTP, 16, &a);
	assert_string_equal(a.bootfile, "http://198.18.0.1/boot/52:54:00:00:00:01.iso");
	config_free(&cfg);
}

static void
test_flag_needs_https(void **state)
{
	(void)state;
	struct config cfg;
	load(&cfg, NULL, true);
	assert_int_equal(config_validate(&cfg), 1);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_https_offer),
		cmocka_unit_test(test_flag_needs_https),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
