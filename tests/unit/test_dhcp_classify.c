/* Classification of real option 60/77/93/97/175 values into a machine record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "dhcp/classify.h"
#include "wire/dhcp.h"

struct opt {
	uint8_t code;
	uint8_t len;
	const char *val;
};

/* Build a DISCOVER with the given options and classify it. */
static enum boot_vendor
classify(const struct opt *opts, size_t n, struct machine *m)
{
	static uint8_t buf[1024];
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
	struct dhcp_builder b;
	struct dhcp_msg msg;
	dhcp_build_request(&b, buf, sizeof(buf), DHCPDISCOVER, 42, mac);
	for (size_t i = 0; i < n; i++)
		dhcp_build_opt(&b, opts[i].code, opts[i].val, opts[i].len);
	int len = dhcp_build_finish(&b);
	assert_true(len > 0);
	assert_int_equal(dhcp_parse(buf, (size_t)len, &msg), 0);
	memset(m, 0, sizeof(*m));
	enum boot_vendor v = dhcp_classify(&msg, m);
	assert_memory_equal(m->mac, mac, 6);
	return v;
}

#define S(x) (uint8_t)(sizeof(x) - 1), x

struct case_ {
	const char *name;
	struct opt opts[4];
	size_t n;
	enum boot_vendor vendor;
	enum firmware_kind kind;
	bool arch_set;
	uint16_t arch;
};

static const struct case_ cases[] = {
	/* Real strings seen from ROMs and firmware (REFERENCES.md, TESTBED.md). */
	{ "SeaBIOS iPXE ROM", { { 60, S("PXEClient:Arch:00000:UNDI:002001") }, { 93, 2, "\0\0" } }, 2,
	  BOOT_VENDOR_PXE, FIRMWARE_BIOS_PXE, true, 0 },
	{ "OVMF PXE x64", { { 60, S("PXEClient:Arch:00007:UNDI:003000") }, { 93, 2, "\0\7" } }, 2,
	  BOOT_VENDOR_PXE, FIRMWARE_UEFI_PXE, true, 7 },
	{ "EBC-as-x64 ROM", { { 60, S("PXEClient:Arch:00009:UNDI:003016") } }, 1, BOOT_VENDOR_PXE,
	  FIRMWARE_UEFI_PXE, true, 9 },
	{ "ARM64 UEFI", { { 60, S("PXEClient:Arch:00011:UNDI:003000") }, { 93, 2, "\0\x0b" } }, 2,
	  BOOT_VENDOR_PXE, FIRMWARE_UEFI_PXE, true, 11 },
	{ "OVMF HTTP boot", { { 60, S("HTTPClient:Arch:00016:UNDI:003000") }, { 93, 2, "\0\x10" } }, 2,
	  BOOT_VENDOR_HTTP, FIRMWARE_UEFI_HTTP, true, 16 },
	{ "iPXE by user class", { { 60, S("PXEClient:Arch:00000:UNDI:002001") }, { 77, S("iPXE") } }, 2,
	  BOOT_VENDOR_PXE, FIRMWARE_IPXE, true, 0 },
	{ "iPXE by option 175", { { 60, S("PXEClient:Arch:00007:UNDI:003010") }, { 175, 3, "\xb1\x01\x01" } },
	  2, BOOT_VENDOR_PXE, FIRMWARE_IPXE, true, 7 },
	{ "iPXE RFC 3004 user class", { { 60, S("PXEClient") }, { 77, S("\x04iPXE") } }, 2,
	  BOOT_VENDOR_PXE, FIRMWARE_IPXE, false, 0 },
	{ "PXEClient without arch", { { 60, S("PXEClient") } }, 1, BOOT_VENDOR_PXE, FIRMWARE_BIOS_PXE,
	  false, 0 },
	{ "93 wins over 60", { { 60, S("PXEClient:Arch:00000:UNDI:002001") }, { 93, 2, "\0\7" } }, 2,
	  BOOT_VENDOR_PXE, FIRMWARE_UEFI_PXE, true, 7 },
	{ "Windows client", { { 60, S("MSFT 5.0") } }, 1, BOOT_VENDOR_NONE, FIRMWARE_UNKNOWN, false, 0 },
	{ "no options at all", { { 0, 0, NULL } }, 0, BOOT_VENDOR_NONE, FIRMWARE_UNKNOWN, false, 0 },
	{ "udhcp", { { 60, S("udhcp 1.35.0") } }, 1, BOOT_VENDOR_NONE, FIRMWARE_UNKNOWN, false, 0 },
	{ "arch with 4 digits", { { 60, S("PXEClient:Arch:0007:UNDI:003000") } }, 1, BOOT_VENDOR_PXE,
	  FIRMWARE_BIOS_PXE, false, 0 },
	{ "arch not digits", { { 60, S("PXEClient:Arch:0000x:UNDI:003000") } }, 1, BOOT_VENDOR_PXE,
	  FIRMWARE_BIOS_PXE, false, 0 },
	{ "arch too big", { { 60, S("PXEClient:Arch:99999") } }, 1, BOOT_VENDOR_PXE, FIRMWARE_BIOS_PXE,
	  false, 0 },
	{ "arch at the very end", { { 60, S("PXEClient:Arch:00007") } }, 1, BOOT_VENDOR_PXE,
	  FIRMWARE_UEFI_PXE, true, 7 },
	{ "truncated arch", { { 60, S("PXEClient:Arch:000") } }, 1, BOOT_VENDOR_PXE, FIRMWARE_BIOS_PXE,
	  false, 0 },
	{ "user class not iPXE", { { 60, S("PXEClient") }, { 77, S("iPXEx") } }, 2, BOOT_VENDOR_PXE,
	  FIRMWARE_BIOS_PXE, false, 0 },
	{ "93 list: first entry", { { 60, S("PXEClient") }, { 93, 4, "\0\x07\0\0" } }, 2,
	  BOOT_VENDOR_PXE, FIRMWARE_UEFI_PXE, true, 7 },
};

static void
test_classify_table(void **state)
{
	(void)state;
	struct machine m;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct case_ *c = &cases[i];
		enum boot_vendor v = classify(c->opts, c->n, &m);
		if (v != c->vendor || m.kind != c->kind || m.arch_set != c->arch_set ||
		    (c->arch_set && m.arch != c->arch))
			fail_msg("%s: vendor %d kind %d arch_set %d arch %u", c->name, v, m.kind,
			         m.arch_set, m.arch);
	}
}

static void
test_uuid_and_addresses(void **state)
{
	(void)state;
	struct machine m;
	static const char uuid[17] = "\0\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff";
	struct opt o[] = { { 60, S("PXEClient") }, { 97, 17, uuid }, { 50, 4, "\xc6\x12\x00\x09" } };
	classify(o, 3, &m);
	assert_true(m.uuid_set);
	assert_memory_equal(m.uuid, uuid + 1, 16);
	assert_int_equal(ntohl(m.client_ip.s_addr), 0xc6120009);
	/* GUID type byte other than 0: ignored, not fatal. */
	static const char bad[17] = "\x01\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff";
	struct opt o2[] = { { 60, S("PXEClient") }, { 97, 17, bad } };
	assert_int_equal(classify(o2, 2, &m), BOOT_VENDOR_PXE);
	assert_false(m.uuid_set);
	/* User class text is kept printable. */
	struct opt o3[] = { { 77, S("a\nb") } };
	classify(o3, 1, &m);
	assert_string_equal(m.user_class, "a\\x0ab");
}

static void
test_vendor_class_arch(void **state)
{
	(void)state;
	uint16_t a = 0;
	assert_int_equal(dhcp_vendor_class_arch((const uint8_t *)"PXEClient:Arch:00016:UNDI", 25, &a), 0);
	assert_int_equal(a, 16);
	/* Bounded by the length: the digits past it do not count. */
	assert_int_equal(dhcp_vendor_class_arch((const uint8_t *)"PXEClient:Arch:00016", 18, &a), -1);
	assert_int_equal(dhcp_vendor_class_arch((const uint8_t *)"", 0, &a), -1);
	assert_true(dhcp_user_class_is_ipxe((const uint8_t *)"iPXE", 4));
	assert_true(dhcp_user_class_is_ipxe((const uint8_t *)"\x03" "abc\x04iPXE", 9));
	assert_false(dhcp_user_class_is_ipxe((const uint8_t *)"\x09iPXE", 5));
	assert_false(dhcp_user_class_is_ipxe((const uint8_t *)"\x00", 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_table),
		cmocka_unit_test(test_uuid_and_addresses),
		cmocka_unit_test(test_vendor_class_arch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
