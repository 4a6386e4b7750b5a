/* DHCPv6 wire format: tables of messages, good and malformed, parsed and built. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "wire/dhcp6.h"

static const uint8_t test_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/*
 * A SOLICIT as EDK2's PXE base code sends it for UEFI PXE over IPv6 (the
 * options of NetworkPkg's PxeBcDhcp6Discover, in its order): client id
 * (DUID-LLT), IA_NA, option request (59, 60, 23), elapsed time, client
 * architecture 7, NII (UNDI 3.0) and vendor class 343 "PXEClient...".
 */
static const uint8_t edk2_solicit[] = {
	0x01, 0x11, 0x22, 0x33,
	0x00, 0x01, 0x00, 0x0e, 0x00, 0x01, 0x00, 0x01, 0x2a, 0x2b, 0x2c, 0x2d,
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
	0x00, 0x03, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
	0x00, 0x06, 0x00, 0x06, 0x00, 0x3b, 0x00, 0x3c, 0x00, 0x17,
	0x00, 0x08, 0x00, 0x02, 0x00, 0x00,
	0x00, 0x3d, 0x00, 0x02, 0x00, 0x07,
	0x00, 0x3e, 0x00, 0x03, 0x01, 0x03, 0x00,
	0x00, 0x10, 0x00, 0x26, 0x00, 0x00, 0x01, 0x57, 0x00, 0x20,
	'P', 'X', 'E', 'C', 'l', 'i', 'e', 'n', 't', ':', 'A', 'r', 'c', 'h', ':', '0',
	'0', '0', '0', '7', ':', 'U', 'N', 'D', 'I', ':', '0', '0', '3', '0', '0', '0',
};

static void
test_parse_edk2_solicit(void **state)
{
	(void)state;
	struct dhcp6_msg m;
	assert_int_equal(dhcp6_parse(edk2_solicit, sizeof(edk2_solicit), &m), 0);
	assert_int_equal(m.type, DHCP6_SOLICIT);
	assert_memory_equal(m.xid, "\x11\x22\x33", 3);
	assert_int_equal(m.nopts, 7);
	assert_int_equal(m.duplicates, 0);
	assert_true(m.opt[DHCP6_OPT_IA_NA].present);
	assert_int_equal(m.opt[DHCP6_OPT_ORO].len, 6);
	uint16_t arch = 0;
	assert_int_equal(dhcp6_client_arch(&m, &arch), 0);
	assert_int_equal(arch, 7);
	assert_true(dhcp6_vendor_class_has(&m, "PXEClient"));
	assert_false(dhcp6_vendor_class_has(&m, "HTTPClient"));
	assert_false(dhcp6_user_class_has(&m, "iPXE"));
	uint8_t mac[6];
	assert_int_equal(dhcp6_client_mac(&m, mac), 0);
	assert_memory_equal(mac, test_mac, 6);
	assert_string_equal(dhcp6_type_name(m.type), "SOLICIT");
	assert_string_equal(dhcp6_type_name(0), "?");
	assert_string_equal(dhcp6_type_name(200), "?");
}

struct bad_case {
	const char *what;
	uint8_t bytes[48];
	size_t len;
	int want;
};

#define HDR 0x01, 0xaa, 0xbb, 0xcc
static const struct bad_case bad_cases[] = {
	{ "shorter than a header", { 0x01, 0x11 }, 2, -EMSGSIZE },
	{ "relay header cut short", { 0x0c, 0x00, 0x20, 0x01 }, 4, -EMSGSIZE },
	{ "option header cut short", { HDR, 0x00, 0x08, 0x00 }, 7, -EINVAL },
	{ "option longer than the message", { HDR, 0x00, 0x08, 0x00, 0x04, 0x00, 0x00 }, 10, -EINVAL },
	{ "elapsed time of 3 bytes", { HDR, 0x00, 0x08, 0x00, 0x03, 0, 0, 0 }, 11, -EINVAL },
	{ "architecture list of odd length", { HDR, 0x00, 0x3d, 0x00, 0x03, 0, 7, 0 }, 11, -EINVAL },
	{ "empty architecture list", { HDR, 0x00, 0x3d, 0x00, 0x00 }, 8, -EINVAL },
	{ "NII of 2 bytes", { HDR, 0x00, 0x3e, 0x00, 0x02, 1, 3 }, 10, -EINVAL },
	{ "rapid commit with a value", { HDR, 0x00, 0x0e, 0x00, 0x01, 0 }, 9, -EINVAL },
	{ "client id of 2 bytes", { HDR, 0x00, 0x01, 0x00, 0x02, 0, 1 }, 10, -EINVAL },
	{ "vendor class without enterprise", { HDR, 0x00, 0x10, 0x00, 0x02, 0, 0 }, 10, -EINVAL },
	{ "vendor class item past the end",
	  { HDR, 0x00, 0x10, 0x00, 0x08, 0, 0, 1, 0x57, 0x00, 0x09, 'P', 'X' }, 16, -EINVAL },
	{ "vendor class with a stray byte",
	  { HDR, 0x00, 0x10, 0x00, 0x07, 0, 0, 1, 0x57, 0x00, 0x00, 'P' }, 15, -EINVAL },
	{ "empty user class", { HDR, 0x00, 0x0f, 0x00, 0x00 }, 8, -EINVAL },
	{ "user class item past the end", { HDR, 0x00, 0x0f, 0x00, 0x03, 0x00, 0x04, 'i' }, 11, -EINVAL },
	{ "relay message in a client message", { HDR, 0x00, 0x09, 0x00, 0x00 }, 8, -EINVAL },
	{ "IA_NA shorter than IAID, T1, T2", { HDR, 0x00, 0x03, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 0 }, 16, -EINVAL },
	{ "IA_NA with a cut option inside",
	  { HDR, 0x00, 0x03, 0x00, 0x0f, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x05, 0x00 }, 23, -EINVAL },
	{ "unicast of 4 bytes", { HDR, 0x00, 0x0c, 0x00, 0x04, 198, 18, 0, 1 }, 12, -EINVAL },
	{ "link-layer address of 2 bytes", { HDR, 0x00, 0x4f, 0x00, 0x02, 0, 1 }, 10, -EINVAL },
	/* What must still parse: an unknown option, a code beyond what we keep, no options. */
	{ "unknown option", { HDR, 0x00, 0x50, 0x00, 0x01, 0x42 }, 9, 0 },
	{ "high option code", { HDR, 0xff, 0xff, 0x00, 0x00 }, 8, 0 },
	{ "header alone", { HDR }, 4, 0 },
};

static void
test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct dhcp6_msg m;
		int r = dhcp6_parse(bad_cases[i].bytes, bad_cases[i].len, &m);
		if (r != bad_cases[i].want)
			fail_msg("%s: got %d, want %d", bad_cases[i].what, r, bad_cases[i].want);
	}
}

static void
test_option_cap_and_duplicates(void **state)
{
	(void)state;
	uint8_t buf[4 + 4 * (DHCP6_MAX_OPTIONS + 1)];
	memcpy(buf, "\x01\x00\x00\x01", 4);
	for (size_t i = 0; i <= DHCP6_MAX_OPTIONS; i++)
		memcpy(buf + 4 + 4 * i, "\x00\x06\x00\x00", 4); /* empty ORO */
	struct dhcp6_msg m;
	assert_int_equal(dhcp6_parse(buf, 4 + 4 * DHCP6_MAX_OPTIONS, &m), 0);
	assert_int_equal(m.duplicates, DHCP6_MAX_OPTIONS - 1);
	assert_int_equal(dhcp6_parse(buf, sizeof(buf), &m), -EINVAL);

	/* Two architecture options: the first one counts. */
	static const uint8_t two[] = { HDR, 0x00, 0x3d, 0x00, 0x02, 0x00, 0x10,
		                       0x00, 0x3d, 0x00, 0x04, 0x00, 0x07, 0x00, 0x0b };
	assert_int_equal(dhcp6_parse(two, sizeof(two), &m), 0);
	uint16_t arch;
	assert_int_equal(dhcp6_client_arch(&m, &arch), 0);
	assert_int_equal(arch, 16);
	assert_int_equal(m.duplicates, 1);
}

static void
test_client_mac_sources(void **state)
{
	(void)state;
	struct dhcp6_msg m;
	uint8_t mac[6];
	/* DUID-LL (type 3, Ethernet). */
	static const uint8_t ll[] = { HDR, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x03, 0x00, 0x01,
		                      0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	assert_int_equal(dhcp6_parse(ll, sizeof(ll), &m), 0);
	assert_int_equal(dhcp6_client_mac(&m, mac), 0);
	assert_memory_equal(mac, test_mac, 6);
	/* DUID-UUID (type 4), as EDK2 makes from an SMBIOS UUID: no MAC in it. */
	static const uint8_t uuid[] = { HDR, 0x00, 0x01, 0x00, 0x12, 0x00, 0x04, 1, 2, 3, 4, 5, 6, 7,
		                        8, 9, 10, 11, 12, 13, 14, 15, 16 };
	assert_int_equal(dhcp6_parse(uuid, sizeof(uuid), &m), 0);
	assert_int_equal(dhcp6_client_mac(&m, mac), -ENOENT);
	/* No client id at all. */
	static const uint8_t none[] = { HDR };
	assert_int_equal(dhcp6_parse(none, sizeof(none), &m), 0);
	assert_int_equal(dhcp6_client_mac(&m, mac), -ENOENT);

	/* The link-local source address: modified EUI-64 (U/L bit inverted). */
	struct in6_addr a;
	inet_pton(AF_INET6, "fe80::5054:ff:fe12:3456", &a);
	assert_int_equal(dhcp6_eui64_mac(&a, mac), 0);
	assert_memory_equal(mac, test_mac, 6);
	inet_pton(AF_INET6, "fe80::1234:5678:9abc:def0", &a); /* privacy/stable: no MAC */
	assert_int_equal(dhcp6_eui64_mac(&a, mac), -ENOENT);
}

/* A RELAY-FORW around edk2_solicit, as a relay agent on the client's link sends it. */
static size_t
make_relay_forw(uint8_t *buf, size_t cap)
{
	struct dhcp6_builder b;
	struct in6_addr link, peer;
	inet_pton(AF_INET6, "2001:db8:1::1", &link);
	inet_pton(AF_INET6, "fe80::5054:ff:fe12:3456", &peer);
	dhcp6_build_relay_start(&b, buf, cap, DHCP6_RELAY_FORW, 1, &link, &peer);
	dhcp6_build_opt(&b, DHCP6_OPT_INTERFACE_ID, "eth7", 4);
	static const uint8_t lladdr[] = { 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
	dhcp6_build_opt(&b, DHCP6_OPT_CLIENT_LINKLAYER_ADDR, lladdr, sizeof(lladdr));
	dhcp6_build_opt(&b, DHCP6_OPT_RELAY_MSG, edk2_solicit, sizeof(edk2_solicit));
	int n = dhcp6_build_finish(&b);
	assert_true(n > 0);
	return (size_t)n;
}

static void
test_relay_forw_and_reply(void **state)
{
	(void)state;
	uint8_t fw[512], rp[DHCP6_MAX_REPLY];
	size_t n = make_relay_forw(fw, sizeof(fw));
	struct dhcp6_msg relay, inner;
	assert_int_equal(dhcp6_parse(fw, n, &relay), 0);
	assert_int_equal(relay.type, DHCP6_RELAY_FORW);
	assert_int_equal(relay.hop_count, 1);
	char text[INET6_ADDRSTRLEN];
	assert_string_equal(inet_ntop(AF_INET6, &relay.link, text, sizeof(text)), "2001:db8:1::1");
	const struct dhcp6_opt *rm = &relay.opt[DHCP6_OPT_RELAY_MSG];
	assert_true(rm->present);
	assert_int_equal(dhcp6_parse(rm->val, rm->len, &inner), 0);
	assert_int_equal(inner.type, DHCP6_SOLICIT);
	/* The relay's option 79 wins over the DUID's address. */
	uint8_t mac[6];
	assert_int_equal(dhcp6_client_mac(&relay, mac), 0);
	assert_int_equal(mac[5], 0x57);

	/* The answer: RELAY-REPL with the same hop count, addresses and interface-id. */
	uint8_t adv[256];
	struct dhcp6_builder ab, b;
	dhcp6_build_start(&ab, adv, sizeof(adv), DHCP6_ADVERTISE, inner.xid);
	dhcp6_build_opt(&ab, DHCP6_OPT_CLIENTID, inner.opt[DHCP6_OPT_CLIENTID].val,
	                inner.opt[DHCP6_OPT_CLIENTID].len);
	int an = dhcp6_build_finish(&ab);
	assert_true(an > 0);
	dhcp6_build_relay_reply(&b, rp, sizeof(rp), &relay);
	dhcp6_build_opt(&b, DHCP6_OPT_RELAY_MSG, adv, (size_t)an);
	int rn = dhcp6_build_finish(&b);
	assert_true(rn > 0);

	struct dhcp6_msg back, back_inner;
	assert_int_equal(dhcp6_parse(rp, (size_t)rn, &back), 0);
	assert_int_equal(back.type, DHCP6_RELAY_REPL);
	assert_int_equal(back.hop_count, 1);
	assert_memory_equal(&back.peer, &relay.peer, 16);
	assert_int_equal(back.opt[DHCP6_OPT_INTERFACE_ID].len, 4);
	assert_memory_equal(back.opt[DHCP6_OPT_INTERFACE_ID].val, "eth7", 4);
	assert_int_equal(dhcp6_parse(back.opt[DHCP6_OPT_RELAY_MSG].val,
	                             back.opt[DHCP6_OPT_RELAY_MSG].len, &back_inner), 0);
	assert_int_equal(back_inner.type, DHCP6_ADVERTISE);
	assert_memory_equal(back_inner.xid, "\x11\x22\x33", 3);
}

static void
test_build_advertise_roundtrip(void **state)
{
	(void)state;
	struct dhcp6_msg sol, adv;
	assert_int_equal(dhcp6_parse(edk2_solicit, sizeof(edk2_solicit), &sol), 0);
	uint8_t buf[DHCP6_MAX_REPLY];
	struct dhcp6_builder b;
	static const uint8_t server_duid[] = { 0x00, 0x03, 0x00, 0x01, 0x02, 0, 0, 0, 0, 1 };
	static const char url[] = "tftp://[2001:db8::1]/snponly.efi";
	dhcp6_build_start(&b, buf, sizeof(buf), DHCP6_ADVERTISE, sol.xid);
	dhcp6_build_opt(&b, DHCP6_OPT_SERVERID, server_duid, sizeof(server_duid));
	dhcp6_build_opt(&b, DHCP6_OPT_CLIENTID, sol.opt[DHCP6_OPT_CLIENTID].val,
	                sol.opt[DHCP6_OPT_CLIENTID].len);
	size_t ia = dhcp6_build_open(&b, DHCP6_OPT_IA_NA);
	static const uint8_t iaid_t1_t2[12] = { 0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x15, 0x18 };
	dhcp6_build_raw(&b, iaid_t1_t2, sizeof(iaid_t1_t2));
	uint8_t iaaddr[24] = { 0 };
	inet_pton(AF_INET6, "2001:db8::100", iaaddr);
	iaaddr[19] = 0x3c; /* preferred 60 s */
	iaaddr[23] = 0x78; /* valid 120 s */
	dhcp6_build_opt(&b, DHCP6_OPT_IAADDR, iaaddr, sizeof(iaaddr));
	dhcp6_build_close(&b, ia);
	dhcp6_build_opt(&b, DHCP6_OPT_BOOTFILE_URL, url, strlen(url));
	dhcp6_build_vendor_class(&b, DHCP6_ENTERPRISE_PXE, "PXEClient");
	dhcp6_build_status(&b, DHCP6_STATUS_SUCCESS, "netbootd");
	dhcp6_build_opt_u16(&b, DHCP6_OPT_CLIENT_ARCH_TYPE, 7);
	int n = dhcp6_build_finish(&b);
	assert_true(n > 0);

	assert_int_equal(dhcp6_parse(buf, (size_t)n, &adv), 0);
	assert_int_equal(adv.type, DHCP6_ADVERTISE);
	assert_memory_equal(adv.xid, sol.xid, 3);
	assert_int_equal(adv.opt[DHCP6_OPT_IA_NA].len, 12 + 4 + 24);
	assert_int_equal(adv.opt[DHCP6_OPT_BOOTFILE_URL].len, strlen(url));
	assert_memory_equal(adv.opt[DHCP6_OPT_BOOTFILE_URL].val, url, strlen(url));
	assert_memory_equal(adv.opt[DHCP6_OPT_CLIENTID].val, sol.opt[DHCP6_OPT_CLIENTID].val, 14);
	assert_true(dhcp6_vendor_class_has(&adv, "PXEClient"));
	assert_int_equal(adv.opt[DHCP6_OPT_STATUS_CODE].len, 2 + 8);
	uint16_t arch;
	assert_int_equal(dhcp6_client_arch(&adv, &arch), 0);
	assert_int_equal(arch, 7);
}

static void
test_build_overflow(void **state)
{
	(void)state;
	uint8_t buf[16];
	struct dhcp6_builder b;
	static const uint8_t xid[3] = { 1, 2, 3 };
	dhcp6_build_start(&b, buf, sizeof(buf), DHCP6_REPLY, xid);
	dhcp6_build_opt(&b, DHCP6_OPT_SERVERID, "0123456789", 10); /* 4 + 14 > 16 */
	assert_int_equal(dhcp6_build_finish(&b), -EMSGSIZE);
	/* Every later call is a no-op, and the error stays. */
	dhcp6_build_opt_u16(&b, DHCP6_OPT_ELAPSED_TIME, 0);
	size_t mark = dhcp6_build_open(&b, DHCP6_OPT_IA_NA);
	dhcp6_build_close(&b, mark);
	assert_int_equal(b.len, 4);
	assert_int_equal(dhcp6_build_finish(&b), -EMSGSIZE);
	/* Too small even for a header. */
	dhcp6_build_start(&b, buf, 3, DHCP6_REPLY, xid);
	assert_int_equal(dhcp6_build_finish(&b), -EMSGSIZE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_edk2_solicit),
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_option_cap_and_duplicates),
		cmocka_unit_test(test_client_mac_sources),
		cmocka_unit_test(test_relay_forw_and_reply),
		cmocka_unit_test(test_build_advertise_roundtrip),
		cmocka_unit_test(test_build_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
