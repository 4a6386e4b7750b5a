/*
 * The IPv4/UDP frame builder for the DHCP server's link-layer unicast:
 * checked against the RFC 1071 example and against the kernel's own view
 * of what a valid datagram is (both checksums verify to zero).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "wire/ipv4udp.h"

/* RFC 1071 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (checksum 220d). */
static void
test_rfc1071_example(void **state)
{
	(void)state;
	static const uint8_t words[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	assert_int_equal(inet_checksum(words, sizeof(words), 0), 0x220d);
	/* An odd length pads with a zero byte. */
	static const uint8_t odd[] = { 0x01 };
	assert_int_equal(inet_checksum(odd, 1, 0), 0xfeff);
}

static void
test_frame_fields_and_checksums(void **state)
{
	(void)state;
	struct in_addr src, dst;
	inet_pton(AF_INET, "198.18.0.1", &src);
	inet_pton(AF_INET, "198.18.0.10", &dst);
	const uint8_t payload[] = "a DHCPOFFER, or any bytes"; /* 25 bytes: an odd length */
	uint8_t f[128];
	int n = ipv4udp_build(f, sizeof(f), src, htons(67), dst, htons(68), payload, sizeof(payload) - 1);
	assert_int_equal(n, 28 + 25);
	assert_int_equal(f[0], 0x45);
	assert_int_equal(f[2] << 8 | f[3], 53);                 /* total length */
	assert_int_equal(f[8], 64);
	assert_int_equal(f[9], IPPROTO_UDP);
	assert_memory_equal(f + 12, &src, 4);
	assert_memory_equal(f + 16, &dst, 4);
	assert_int_equal(inet_checksum(f, 20, 0), 0);            /* the header verifies */
	assert_int_equal(f[20] << 8 | f[21], 67);
	assert_int_equal(f[22] << 8 | f[23], 68);
	assert_int_equal(f[24] << 8 | f[25], 33);                /* UDP length */
	assert_memory_equal(f + 28, payload, 25);
	/* The UDP checksum verifies over pseudo-header + datagram (odd length). */
	uint8_t pseudo[12 + 33 + 1] = { 0 };
	memcpy(pseudo, &src, 4);
	memcpy(pseudo + 4, &dst, 4);
	pseudo[9] = IPPROTO_UDP;
	pseudo[11] = 33;
	memcpy(pseudo + 12, f + 20, 33);
	assert_int_equal(inet_checksum(pseudo, 12 + 33, 0), 0);
	assert_true((f[26] | f[27]) != 0);                       /* never "no checksum" */
}

static void
test_too_large(void **state)
{
	(void)state;
	struct in_addr a = { 0 };
	uint8_t f[64], p[64] = { 0 };
	assert_int_equal(ipv4udp_build(f, sizeof(f), a, 0, a, 0, p, 37), -EMSGSIZE);
	assert_int_equal(ipv4udp_build(f, sizeof(f), a, 0, a, 0, p, 36), 64);
	assert_int_equal(ipv4udp_build(f, sizeof(f), a, 0, a, 0, p, 65535), -EMSGSIZE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_frame_fields_and_checksums),
		cmocka_unit_test(test_too_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
