/*
 * libFuzzer harness for the rtnetlink parsers (util/linkwatch), links and
 * IPv6 addresses:
 * the input is one datagram as the kernel would send it. Every reported
 * change must name a real index and a NUL-terminated name that fits.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/linkwatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(void *ctx, const struct link_change *c)
{
	(void)ctx;
	if (c->ifindex <= 0 || memchr(c->ifname, 0, sizeof(c->ifname)) == NULL)
		__builtin_trap();
}

static void
check_addr(void *ctx, const struct link_addr6 *a)
{
	(void)ctx;
	if (a->ifindex <= 0)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so ASan sees any read past the datagram. */
	uint8_t *buf = __builtin_malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	int n = linkwatch_parse(buf, size, check, NULL);
	if (n < -1)
		__builtin_trap();
	bool done = false;
	n = linkwatch_parse_addr6(buf, size, check_addr, NULL, &done);
	if (n < -1)
		__builtin_trap();
	__builtin_free(buf);
	return 0;
}
