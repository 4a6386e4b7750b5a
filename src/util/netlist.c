#include "util/netlist.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
parse_one(const char *s, size_t n, struct net_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *slash = strchr(buf, '/');
	long bits = -1;
	if (slash) {
		char *end;
		*slash = '\0';
		if (!slash[1])
			return -EINVAL;
		bits = strtol(slash + 1, &end, 10);
		if (*end || bits < 0)
			return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		if (bits > 32)
			return -EINVAL;
		out->bits = bits < 0 ? 32 : (unsigned)bits;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		if (bits > 128)
			return -EINVAL;
		out->bits = bits < 0 ? 128 : (unsigned)bits;
	} else {
		return -EINVAL;
	}
	/* Clear host bits, so 198.18.0.1/15 means the network 198.18.0.0/15. */
	size_t len = out->family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < len; i++) {
		unsigned keep = out->bits > i * 8 ? out->bits - (unsigned)i * 8 : 0;
		if (keep < 8)
			out->addr[i] &= (uint8_t)(0xff00u >> keep);
	}
	return 0;
}

int
net_list_add(struct net_list *l, const char *text, char *bad, size_t badlen)
{
	const char *p = text;
	for (;;) {
		p += strspn(p, ", \t");
		if (!*p)
			return 0;
		size_t n = strcspn(p, ", \t");
		if (l->count >= NETLIST_MAX)
			return -ENOSPC;
		if (parse_one(p, n, &l->items[l->count]) < 0) {
			snprintf(bad, badlen, "%.*s", (int)(n < 64 ? n : 64), p);
			return -EINVAL;
		}
		l->count++;
		p += n;
	}
}

static bool
prefix_match(const uint8_t *a, const uint8_t *net, unsigned bits)
{
	size_t full = bits / 8;
	if (memcmp(a, net, full) != 0)
		return false;
	unsigned rest = bits % 8;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (a[full] & mask) == (net[full] & mask);
}

bool
net_list_contains(const struct net_list *l, const struct sockaddr *sa)
{
	uint8_t a[16];
	int family;
	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			memcpy(a, in6->s6_addr + 12, 4);
			family = AF_INET;
		} else {
			memcpy(a, in6->s6_addr, 16);
			family = AF_INET6;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < l->count; i++)
		if (l->items[i].family == family && prefix_match(a, l->items[i].addr, l->items[i].bits))
			return true;
	return false;
}
