/* DHCP wire format: tables of packets, good and malformed, parsed and built. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "wire/dhcp.h"

static const uint8_t test_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* A request header + cookie followed by opts (opts_len bytes), in buf. */
static size_t
make(uint8_t *buf, size_t cap, const uint8_t *opts, size_t opts_len)
{
	memset(buf, 0, cap);
	buf[0] = 1;
	buf[1] = 1;
	buf[2] = 6;
	buf[4] = 0xde;
	buf[5] = 0xad;
	memcpy(buf + 28, test_mac, 6);
	buf[236] = 99;
	buf[237] = 130;
	buf[238] = 83;
	buf[239] = 99;
	memcpy(buf + 240, opts, opts_len);
	return 240 + opts_len;
}

struct parse_case {
	const char *name;
	uint8_t opts[64];
	size_t len;
	int expect;     /* dhcp_parse() result */
	uint8_t type;   /* option 53 when expect == 0 */
};

static const struct parse_case parse_cases[] = {
	{ "discover", { 53, 1, 1, 255 }, 4, 0, 1 },
	{ "no END is tolerated", { 53, 1, 3 }, 3, 0, 3 },
	{ "PADs then options", { 0, 0, 0, 53, 1, 8, 255 }, 7, 0, 8 },
	{ "plain BOOTP (no 53)", { 255 }, 1, 0, 0 },
	{ "empty options area", { 0 }, 0, 0, 0 },
	{ "code without length", { 53, 1, 1, 60 }, 4, -EINVAL, 0 },
	{ "value past the end", { 53, 1, 1, 60, 9, 'P', 'X', 'E' }, 8, -EINVAL, 0 },
	{ "53 with length 2", { 53, 2, 1, 1, 255 }, 5, -EINVAL, 0 },
	{ "53 with length 0", { 53, 0, 255 }, 3, -EINVAL, 0 },
	{ "53 out of range", { 53, 1, 99, 255 }, 4, -EINVAL, 0 },
	{ "50 with length 3", { 53, 1, 3, 50, 3, 1, 2, 3, 255 }, 9, -EINVAL, 0 },
	{ "54 with length 5", { 53, 1, 3, 54, 5, 1, 2, 3, 4, 5, 255 }, 11, -EINVAL, 0 },
	{ "52 with a bad value", { 53, 1, 1, 52, 1, 7, 255 }, 7, -EINVAL, 0 },
	{ "bad 93 is ignored", { 53, 1, 1, 93, 3, 0, 0, 7, 255 }, 9, 0, 1 },
	{ "bad 97 is ignored", { 53, 1, 1, 97, 2, 0, 1, 255 }, 8, 0, 1 },
	{ "bad 94 is ignored", { 53, 1, 1, 94, 1, 1, 255 }, 7, 0, 1 },
	{ "zero-length unknown option", { 53, 1, 1, 200, 0, 255 }, 6, 0, 1 },
	{ "duplicate 53: first wins", { 53, 1, 1, 53, 1, 3, 255 }, 7, 0, 1 },
	{ "END stops: junk after it", { 53, 1, 1, 255, 60, 200 }, 6, 0, 1 },
};

static void
test_parse_table(void **state)
{
	(void)state;
	uint8_t buf[512];
	struct dhcp_msg msg;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		size_t len = make(buf, sizeof(buf), c->opts, c->len);
		int r = dhcp_parse(buf, len, &msg);
		if (r != c->expect)
			fail_msg("%s: got %d, want %d", c->name, r, c->expect);
		if (r == 0 && msg.type != c->type)
			fail_msg("%s: type %u, want %u", c->name, msg.type, c->type);
	}
}

static void
test_parse_header(void **state)
{
	(void)state;
	uint8_t buf[512];
	struct dhcp_msg msg;
	static const uint8_t opts[] = { 53, 1, 1, 60, 9, 'P', 'X', 'E', 'C', 'l', 'i', 'e', 'n', 't', 255 };
	size_t len = make(buf, sizeof(buf), opts, sizeof(opts));
	buf[10] = 0x80; /* broadcast flag */
	memcpy(buf + 24, "\xc6\x12\x00\x02", 4);
	assert_int_equal(dhcp_parse(buf, len, &msg), 0);
	assert_int_equal(msg.op, 1);
	assert_int_equal(msg.hlen, 6);
	assert_int_equal(msg.flags, DHCP_FLAG_BROADCAST);
	assert_memory_equal(msg.chaddr, test_mac, 6);
	assert_int_equal(ntohl(msg.giaddr.s_addr), 0xc6120002);
	assert_true(msg.opt[60].present);
	assert_int_equal(msg.opt[60].len, 9);
	assert_memory_equal(msg.opt[60].val, "PXEClient", 9);
	assert_false(msg.opt[97].present);
	assert_int_equal(msg.nopts, 2);
}

static void
test_parse_short_and_bad_cookie(void **state)
{
	(void)state;
	uint8_t buf[512];
	struct dhcp_msg msg;
	static const uint8_t opts[] = { 53, 1, 1, 255 };
	size_t len = make(buf, sizeof(buf), opts, sizeof(opts));
	for (size_t n = 0; n < 240; n++)
		assert_int_equal(dhcp_parse(buf, n, &msg), -EMSGSIZE);
	buf[239] = 0;
	assert_int_equal(dhcp_parse(buf, len, &msg), -EINVAL);
	buf[239] = 99;
	buf[2] = 17; /* hlen > 16 */
	assert_int_equal(dhcp_parse(buf, len, &msg), -EINVAL);
}

static void
test_parse_option_cap(void **state)
{
	(void)state;
	uint8_t opts[1200];
	uint8_t buf[1600];
	struct dhcp_msg msg;
	size_t n = 0;
	opts[n++] = 53;
	opts[n++] = 1;
	opts[n++] = 1;
	/* 300 two-byte options: more than DHCP_MAX_OPTIONS. */
	for (int i = 0; i < 300; i++) {
		opts[n++] = 12;
		opts[n++] = 0;
	}
	size_t len = make(buf, sizeof(buf), opts, n);
	assert_int_equal(dhcp_parse(buf, len, &msg), -EINVAL);
	/* 200 is fine. */
	len = make(buf, sizeof(buf), opts, 3 + 2 * 200);
	assert_int_equal(dhcp_parse(buf, len, &msg), 0);
	assert_int_equal(msg.duplicates, 199);
}

static void
test_parse_overload(void **state)
{
	(void)state;
	uint8_t buf[512];
	struct dhcp_msg msg;
	static const uint8_t opts[] = { 53, 1, 1, 52, 1, 3, 255 };
	size_t len = make(buf, sizeof(buf), opts, sizeof(opts));
	/* file: option 60; sname: option 93 = 7. */
	static const uint8_t file[] = { 60, 9, 'P', 'X', 'E', 'C', 'l', 'i', 'e', 'n', 't', 255 };
	static const uint8_t sname[] = { 93, 2, 0, 7, 255 };
	memcpy(buf + 108, file, sizeof(file));
	memcpy(buf + 44, sname, sizeof(sname));
	assert_int_equal(dhcp_parse(buf, len, &msg), 0);
	assert_int_equal(msg.overload, 3);
	assert_true(msg.opt[60].present);
	uint16_t arch;
	assert_int_equal(dhcp_opt_u16(&msg, 93, &arch), 0);
	assert_int_equal(arch, 7);
	/* An option in the file field running past its 128 bytes. */
	buf[108 + 126] = 77;
	buf[108 + 127] = 5;
	memset(buf + 108, 0, 126);
	assert_int_equal(dhcp_parse(buf, len, &msg), -EINVAL);
	/* Without option 52 the same bytes are just a file name. */
	static const uint8_t plain[] = { 53, 1, 1, 255 };
	len = make(buf, sizeof(buf), plain, sizeof(plain));
	memcpy(buf + 108, file, sizeof(file));
	assert_int_equal(dhcp_parse(buf, len, &msg), 0);
	assert_false(msg.opt[60].present);
}

static void
test_opt_helpers(void **state)
{
	(void)state;
	uint8_t buf[512];
	struct dhcp_msg msg;
	static const uint8_t opts[] = { 53, 1, 3, 50, 4, 198, 18, 0, 7, 51, 4, 0, 0, 0x0e, 0x10,
		                        57, 2, 0x05, 0xdc, 255 };
	size_t len = make(buf, sizeof(buf), opts, sizeof(opts));
	assert_int_equal(dhcp_parse(buf, len, &msg), 0);
	struct in_addr a;
	assert_int_equal(dhcp_opt_addr(&msg, 50, &a), 0);
	assert_int_equal(ntohl(a.s_addr), 0xc6120007);
	uint32_t v;
	assert_int_equal(dhcp_opt_u32(&msg, 51, &v), 0);
	assert_int_equal(v, 3600);
	uint16_t m;
	assert_int_equal(dhcp_opt_u16(&msg, 57, &m), 0);
	assert_int_equal(m, 1500);
	assert_int_equal(dhcp_opt_addr(&msg, 54, &a), -ENOENT);
	uint8_t t;
	assert_int_equal(dhcp_opt_u8(&msg, 50, &t), -EINVAL);
	assert_string_equal(dhcp_type_name(3), "REQUEST");
	assert_string_equal(dhcp_type_name(0), "?");
	assert_string_equal(dhcp_type_name(200), "?");
}

static void
test_build_reply_roundtrip(void **state)
{
	(void)state;
	uint8_t req_buf[512], out[DHCP_MAX_REPLY];
	struct dhcp_msg req, rep;
	static const uint8_t opts[] = { 53, 1, 1, 255 };
	size_t len = make(req_buf, sizeof(req_buf), opts, sizeof(opts));
	req_buf[10] = 0x80;
	assert_int_equal(dhcp_parse(req_buf, len, &req), 0);

	struct dhcp_builder b;
	struct in_addr yi = { htonl(0xc612000a) }, si = { htonl(0xc6120001) };
	dhcp_build_reply(&b, out, sizeof(out), &req, DHCPOFFER, yi, si);
	dhcp_build_opt_addr(&b, DHCP_OPT_SERVER_ID, si);
	dhcp_build_opt_u32(&b, DHCP_OPT_LEASE_TIME, 600);
	dhcp_build_opt(&b, DHCP_OPT_VENDOR_CLASS, "PXEClient", 9);
	dhcp_build_file(&b, "undionly.kpxe");
	int n = dhcp_build_finish(&b);
	assert_int_equal(n, 300); /* padded to the BOOTP minimum */
	assert_int_equal(dhcp_parse(out, (size_t)n, &rep), 0);
	assert_int_equal(rep.op, DHCP_BOOTREPLY);
	assert_int_equal(rep.type, DHCPOFFER);
	assert_int_equal(rep.xid, req.xid);
	assert_int_equal(rep.flags, DHCP_FLAG_BROADCAST);
	assert_memory_equal(rep.chaddr, test_mac, 6);
	assert_int_equal(rep.yiaddr.s_addr, yi.s_addr);
	assert_int_equal(rep.siaddr.s_addr, si.s_addr);
	assert_string_equal((const char *)rep.file, "undionly.kpxe");
	uint32_t lt;
	assert_int_equal(dhcp_opt_u32(&rep, 51, &lt), 0);
	assert_int_equal(lt, 600);
}

static void
test_build_overflow(void **state)
{
	(void)state;
	uint8_t req_buf[512], out[DHCP_MIN_REPLY];
	struct dhcp_msg req;
	static const uint8_t opts[] = { 53, 1, 1, 255 };
	size_t len = make(req_buf, sizeof(req_buf), opts, sizeof(opts));
	assert_int_equal(dhcp_parse(req_buf, len, &req), 0);
	struct dhcp_builder b;
	char big[255];
	memset(big, 'a', sizeof(big));
	dhcp_build_reply(&b, out, sizeof(out), &req, DHCPACK, (struct in_addr){ 0 }, (struct in_addr){ 0 });
	dhcp_build_opt(&b, 67, big, 255);
	assert_int_equal(b.err, 0);
	dhcp_build_opt(&b, 43, big, 255); /* 240 + 3 + 257 + 257 > 548 */
	assert_int_equal(b.err, -ENOBUFS);
	dhcp_build_opt(&b, 12, "x", 1); /* no-op after an error */
	assert_int_equal(dhcp_build_finish(&b), -ENOBUFS);

	dhcp_build_reply(&b, out, sizeof(out), &req, DHCPACK, (struct in_addr){ 0 }, (struct in_addr){ 0 });
	char longname[200];
	memset(longname, 'f', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	dhcp_build_file(&b, longname);
	assert_int_equal(dhcp_build_finish(&b), -ENAMETOOLONG);
	dhcp_build_reply(&b, out, sizeof(out), &req, DHCPACK, (struct in_addr){ 0 }, (struct in_addr){ 0 });
	dhcp_build_opt(&b, 0, "x", 1);
	assert_int_equal(dhcp_build_finish(&b), -EINVAL);
	dhcp_build_reply(&b, out, 100, &req, DHCPACK, (struct in_addr){ 0 }, (struct in_addr){ 0 });
	assert_int_equal(dhcp_build_finish(&b), -ENOBUFS);
}

static void
test_build_request(void **state)
{
	(void)state;
	uint8_t out[DHCP_MIN_REPLY];
	struct dhcp_builder b;
	struct dhcp_msg msg;
	dhcp_build_request(&b, out, sizeof(out), DHCPDISCOVER, 0x01020304, test_mac);
	dhcp_build_opt(&b, 60, "HTTPClient:Arch:00016:UNDI:003000", 33);
	int n = dhcp_build_finish(&b);
	assert_true(n >= 300);
	assert_int_equal(dhcp_parse(out, (size_t)n, &msg), 0);
	assert_int_equal(msg.op, DHCP_BOOTREQUEST);
	assert_int_equal(msg.type, DHCPDISCOVER);
	assert_int_equal(msg.opt[60].len, 33);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_header),
		cmocka_unit_test(test_parse_short_and_bad_cookie),
		cmocka_unit_test(test_parse_option_cap),
		cmocka_unit_test(test_parse_overload),
		cmocka_unit_test(test_opt_helpers),
		cmocka_unit_test(test_build_reply_roundtrip),
		cmocka_unit_test(test_build_overflow),
		cmocka_unit_test(test_build_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
