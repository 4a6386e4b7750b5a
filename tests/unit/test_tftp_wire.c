/*
 * The pure TFTP pieces: RRQ/WRQ parsing (good, hostile and broken), ACK,
 * ERROR and DATA parsing, and the OACK/ERROR/request builders. Tables of byte
 * arrays with the expected verdict, after systemd's and iPXE's self-tests.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/tftp.h"

#define PKT(s) (const uint8_t *)(s), sizeof(s) - 1

struct bad_case {
	const char *what;
	const uint8_t *buf;
	size_t len;
	int expect;
};

static void
test_rrq_plain(void **state)
{
	(void)state;
	struct tftp_request r;
	assert_int_equal(tftp_request_parse(PKT("\x00\x01pxelinux.0\x00octet\x00"), &r), 0);
	assert_int_equal(r.opcode, TFTP_RRQ);
	assert_int_equal(r.filename_len, 10);
	assert_memory_equal(r.filename, "pxelinux.0", 10);
	assert_int_equal(r.mode, TFTP_MODE_OCTET);
	assert_false(r.has_blksize || r.has_tsize || r.has_timeout || r.has_windowsize);
	assert_int_equal(r.n_options, 0);

	assert_int_equal(tftp_request_parse(PKT("\x00\x02up\x00NetASCII\x00"), &r), 0);
	assert_int_equal(r.opcode, TFTP_WRQ);
	assert_int_equal(r.mode, TFTP_MODE_NETASCII); /* RFC 1350: any case */
	assert_int_equal(tftp_request_parse(PKT("\x00\x01x\x00mail\x00"), &r), 0);
	assert_int_equal(r.mode, TFTP_MODE_MAIL);
	assert_int_equal(tftp_request_parse(PKT("\x00\x01x\x00" "binary\x00"), &r), 0);
	assert_int_equal(r.mode, TFTP_MODE_UNKNOWN);
}

static void
test_rrq_options(void **state)
{
	(void)state;
	struct tftp_request r;
	/* What OVMF sends: blksize, tsize, windowsize (upper case works too). */
	assert_int_equal(tftp_request_parse(PKT("\x00\x01" "a/b.efi\x00octet\x00"
	                                        "BLKSIZE\x00" "1468\x00tsize\x00" "0\x00"
	                                        "timeout\x00" "3\x00windowsize\x00" "4\x00"
	                                        "multicast\x00\x00"), &r), 0);
	assert_true(r.has_blksize);
	assert_int_equal(r.blksize, 1468);
	assert_true(r.has_tsize);
	assert_int_equal(r.tsize, 0);
	assert_true(r.has_timeout);
	assert_int_equal(r.timeout, 3);
	assert_true(r.has_windowsize);
	assert_int_equal(r.windowsize, 4);
	assert_int_equal(r.n_options, 5);
	assert_int_equal(r.n_unknown, 1);
	assert_int_equal(r.n_invalid, 0);
}

static void
test_rrq_option_ranges(void **state)
{
	(void)state;
	struct tftp_request r;
	static const struct {
		const char *pkt;
		size_t len;
		bool has;
		unsigned value;
	} blk[] = {
#define B(v, has, val) { "\x00\x01" "f\x00octet\x00" "blksize\x00" v "\x00", 18 + sizeof(v), has, val }
		B("8", true, 8),
		B("7", false, 0),              /* RFC 2348: below 8 is not acknowledged */
		B("0", false, 0),
		B("65464", true, 65464),
		B("65465", true, 65464),       /* above: the server answers with what it can do */
		B("99999999999999999999", true, 65464),
		B("", false, 0),               /* empty value */
		B("-1", false, 0),
		B("0x200", false, 0),
		B(" 512", false, 0),
		B("512abc", false, 0),
		B("123456789012345678901", false, 0), /* 21 digits */
#undef B
	};
	for (size_t i = 0; i < sizeof(blk) / sizeof(blk[0]); i++) {
		assert_int_equal(tftp_request_parse((const uint8_t *)blk[i].pkt, blk[i].len, &r), 0);
		assert_int_equal(r.has_blksize, blk[i].has);
		if (blk[i].has)
			assert_int_equal(r.blksize, blk[i].value);
		else
			assert_int_equal(r.n_invalid, 1);
	}
	/* timeout 1..255, windowsize 1..65535. */
	assert_int_equal(tftp_request_parse(PKT("\x00\x01" "f\x00octet\x00timeout\x00" "0\x00"), &r), 0);
	assert_false(r.has_timeout);
	assert_int_equal(tftp_request_parse(PKT("\x00\x01" "f\x00octet\x00timeout\x00" "256\x00"), &r), 0);
	assert_false(r.has_timeout);
	assert_int_equal(tftp_request_parse(PKT("\x00\x01" "f\x00octet\x00timeout\x00" "255\x00"), &r), 0);
	assert_true(r.has_timeout);
	assert_int_equal(tftp_request_parse(PKT("\x00\x01" "f\x00octet\x00windowsize\x00" "0\x00"), &r), 0);
	assert_false(r.has_windowsize);
	assert_int_equal(tftp_request_parse(PKT("\x00\x01" "f\x00octet\x00windowsize\x00" "65536\x00"), &r), 0);
	assert_false(r.has_windowsize);
	assert_int_equal(tftp_request_parse(PKT("\x00\x01" "f\x00octet\x00windowsize\x00" "65535\x00"), &r), 0);
	assert_int_equal(r.windowsize, 65535);
	/* tsize: any 64-bit number; the first of duplicated options wins. */
	assert_int_equal(tftp_request_parse(PKT("\x00\x01" "f\x00octet\x00tsize\x00" "18446744073709551615\x00"
	                                        "blksize\x00" "1024\x00" "blksize\x00" "2048\x00"), &r), 0);
	assert_true(r.has_tsize);
	assert_true(r.tsize == UINT64_MAX);
	assert_int_equal(r.blksize, 1024);
	assert_int_equal(tftp_request_parse(PKT("\x00\x01" "f\x00octet\x00tsize\x00" "18446744073709551616\x00"), &r), 0);
	assert_false(r.has_tsize);
}

static void
test_rrq_malformed(void **state)
{
	(void)state;
	uint8_t big[700];
	memset(big, 'A', sizeof(big));
	big[0] = 0;
	big[1] = 1;
	big[600] = 0;
	memcpy(big + 601, "octet", 6);
	uint8_t exact[512];
	memset(exact, 'B', sizeof(exact));
	exact[0] = 0;
	exact[1] = 1;
	exact[505] = 0;
	memcpy(exact + 506, "octet", 6);
	uint8_t many[600];
	size_t n = 0;
	memcpy(many, "\x00\x01" "f\x00octet\x00", 10);
	n = 10;
	for (int i = 0; i < 40 && n + 4 < 512; i++) {
		memcpy(many + n, "a\x00" "1\x00", 4);
		n += 4;
	}
	const struct bad_case cases[] = {
		{ "empty", (const uint8_t *)"", 0, -EBADMSG },
		{ "1 byte", PKT("\x00"), -EBADMSG },
		{ "2 bytes: opcode only", PKT("\x00\x01"), -EBADMSG },
		{ "3 bytes", PKT("\x00\x01" "a"), -EBADMSG },
		{ "3 bytes with NUL", PKT("\x00\x01\x00"), -EBADMSG },
		{ "no mode", PKT("\x00\x01" "file\x00"), -EBADMSG },
		{ "unterminated name", PKT("\x00\x01" "file"), -EBADMSG },
		{ "unterminated mode", PKT("\x00\x01" "file\x00octet"), -EBADMSG },
		{ "empty name (dnsmasq CVE-2009-2958)", PKT("\x00\x01\x00octet\x00"), -EBADMSG },
		{ "empty mode", PKT("\x00\x01" "f\x00\x00"), -EBADMSG },
		{ "option without value", PKT("\x00\x01" "f\x00octet\x00" "blksize\x00"), -EBADMSG },
		{ "option value unterminated (atftpd CVE-2021-46671)",
		  PKT("\x00\x01" "f\x00octet\x00" "blksize\x00" "1468"), -EBADMSG },
		{ "option name unterminated", PKT("\x00\x01" "f\x00octet\x00" "blksize"), -EBADMSG },
		{ "more than 512 bytes", big, sizeof(big), -EMSGSIZE },
		{ "513 bytes", big, 513, -EMSGSIZE },
		{ "too many options (atftpd CVE-2021-41054)", many, n, -E2BIG },
		{ "DATA is not a request", PKT("\x00\x03\x00\x01hello"), -EPROTO },
		{ "ACK", PKT("\x00\x04\x00\x01"), -EPROTO },
		{ "opcode 0", PKT("\x00\x00" "f\x00octet\x00"), -EPROTO },
		{ "opcode 0x0101", PKT("\x01\x01" "f\x00octet\x00"), -EPROTO },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tftp_request r;
		int got = tftp_request_parse(cases[i].buf, cases[i].len, &r);
		if (got != cases[i].expect)
			fail_msg("%s: got %d, want %d", cases[i].what, got, cases[i].expect);
	}
	/* Exactly 512 bytes is fine. */
	struct tftp_request r;
	assert_int_equal(tftp_request_parse(exact, sizeof(exact), &r), 0);
	assert_int_equal(r.filename_len, 503);
}

static void
test_embedded_nul(void **state)
{
	(void)state;
	struct tftp_request r;
	/* The name ends at the first NUL: "a\0../../etc/passwd" is name "a", mode
	 * "../../etc/passwd" (unknown), never a path with a NUL inside. */
	assert_int_equal(tftp_request_parse(PKT("\x00\x01" "a\x00../../etc/passwd\x00"), &r), 0);
	assert_int_equal(r.filename_len, 1);
	assert_int_equal(r.mode, TFTP_MODE_UNKNOWN);
	/* A NUL inside an option value ends it; the rest must pair up. */
	assert_int_equal(tftp_request_parse(PKT("\x00\x01" "a\x00octet\x00" "blksize\x00" "14\x00" "68\x00"), &r),
	                 -EBADMSG);
	/* An empty option name is ignored (as unknown), not a crash. */
	assert_int_equal(tftp_request_parse(PKT("\x00\x01" "a\x00octet\x00\x00" "5\x00"), &r), 0);
	assert_int_equal(r.n_unknown, 1);
}

static void
test_ack_error_data(void **state)
{
	(void)state;
	uint16_t block, code;
	const char *msg;
	size_t msg_len;
	const uint8_t *payload;
	size_t plen;

	assert_int_equal(tftp_ack_parse(PKT("\x00\x04\xff\xfe"), &block), 0);
	assert_int_equal(block, 0xfffe);
	assert_int_equal(tftp_ack_parse(PKT("\x00\x04\x00\x01\x00\x00"), &block), 0); /* padded */
	assert_int_equal(tftp_ack_parse(PKT("\x00\x04\x00"), &block), -EBADMSG);
	assert_int_equal(tftp_ack_parse(PKT("\x00\x03\x00\x01"), &block), -EPROTO);

	assert_int_equal(tftp_error_parse(PKT("\x00\x05\x00\x08tsize probe\x00"), &code, &msg, &msg_len), 0);
	assert_int_equal(code, 8);
	assert_int_equal(msg_len, 11);
	/* 4 bytes, no message (atftpd CVE-2019-11365). */
	assert_int_equal(tftp_error_parse(PKT("\x00\x05\x00\x01"), &code, &msg, &msg_len), 0);
	assert_int_equal(msg_len, 0);
	/* Unterminated message: bounded by the packet. */
	assert_int_equal(tftp_error_parse(PKT("\x00\x05\x00\x00" "abc"), &code, &msg, &msg_len), 0);
	assert_int_equal(msg_len, 3);
	assert_int_equal(tftp_error_parse(PKT("\x00\x05\x00"), &code, &msg, &msg_len), -EBADMSG);

	assert_int_equal(tftp_data_parse(PKT("\x00\x03\x00\x07xyz"), &block, &payload, &plen), 0);
	assert_int_equal(block, 7);
	assert_int_equal(plen, 3);
	assert_int_equal(tftp_data_parse(PKT("\x00\x03\x00\x07"), &block, &payload, &plen), 0);
	assert_int_equal(plen, 0);
	assert_int_equal(tftp_data_parse(PKT("\x00\x03\x00"), &block, &payload, &plen), -EBADMSG);

	assert_int_equal(tftp_opcode(PKT("\x00")), -EBADMSG);
	assert_int_equal(tftp_opcode(PKT("\x00\x06")), TFTP_OACK);
}

static void
test_builders(void **state)
{
	(void)state;
	uint8_t out[600];
	struct tftp_oack o = { .blksize = 1468, .has_tsize = true, .tsize = 123456789012ULL, .windowsize = 8 };
	int n = tftp_oack_build(out, sizeof(out), &o);
	static const char want[] = "\x00\x06" "blksize\x00" "1468\x00tsize\x00" "123456789012\x00"
	                           "windowsize\x00" "8\x00";
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, sizeof(want) - 1);
	struct tftp_oack back;
	assert_int_equal(tftp_oack_parse(out, (size_t)n, &back), 0);
	assert_int_equal(back.blksize, 1468);
	assert_true(back.has_tsize && back.tsize == 123456789012ULL);
	assert_int_equal(back.windowsize, 8);
	assert_int_equal(back.timeout, 0);
	/* Only accepted options appear: an empty OACK is just the opcode. */
	struct tftp_oack none = { 0 };
	assert_int_equal(tftp_oack_build(out, sizeof(out), &none), 2);
	assert_int_equal(tftp_oack_build(out, 10, &o), -ENOSPC);

	n = tftp_error_build(out, sizeof(out), TFTP_ENOTFOUND, "file not found");
	assert_int_equal(n, 4 + 14 + 1);
	assert_memory_equal(out, "\x00\x05\x00\x01" "file not found\x00", (size_t)n);
	/* Truncated to fit, still terminated. */
	n = tftp_error_build(out, 8, TFTP_EUNDEF, "a long message");
	assert_int_equal(n, 8);
	assert_int_equal(out[7], 0);
	assert_int_equal(tftp_error_build(out, 4, 0, "x"), -ENOSPC);

	assert_int_equal(tftp_ack_build(out, sizeof(out), 65535), 4);
	assert_memory_equal(out, "\x00\x04\xff\xff", 4);
	tftp_data_header(out, (uint16_t)65536); /* rollover: block 65536 is 0 on the wire */
	assert_memory_equal(out, "\x00\x03\x00\x00", 4);

	struct tftp_oack ask = { .blksize = 512, .has_tsize = true, .tsize = 99 };
	n = tftp_request_build(out, sizeof(out), TFTP_RRQ, "boot.ipxe", "octet", &ask);
	struct tftp_request r;
	assert_true(n > 0);
	assert_int_equal(tftp_request_parse(out, (size_t)n, &r), 0);
	assert_int_equal(r.blksize, 512);
	assert_true(r.has_tsize && r.tsize == 0); /* a request asks with 0 */
	assert_memory_equal(r.filename, "boot.ipxe", 9);
}

static void
test_oack_parse_bad(void **state)
{
	(void)state;
	struct tftp_oack o;
	assert_int_equal(tftp_oack_parse(PKT("\x00\x06" "blksize\x00"), &o), -EBADMSG);
	assert_int_equal(tftp_oack_parse(PKT("\x00\x06" "blksize\x00" "x\x00"), &o), -EBADMSG);
	assert_int_equal(tftp_oack_parse(PKT("\x00\x06"), &o), 0);
	assert_int_equal(tftp_oack_parse(PKT("\x00\x05"), &o), -EPROTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rrq_plain),
		cmocka_unit_test(test_rrq_options),
		cmocka_unit_test(test_rrq_option_ranges),
		cmocka_unit_test(test_rrq_malformed),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_ack_error_data),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_oack_parse_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
