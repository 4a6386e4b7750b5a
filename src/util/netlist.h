/*
 * Lists of networks (ADDR/BITS, IPv4 or IPv6) that an address is checked
 * against, for settings such as status-allow. Pure.
 */
#ifndef NETBOOTD_UTIL_NETLIST_H
#define NETBOOTD_UTIL_NETLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NETLIST_MAX 32

struct net_prefix {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network address, host bits cleared */
	unsigned bits;
};

struct net_list {
	struct net_prefix items[NETLIST_MAX];
	size_t count;
};

/*
 * Add the networks in text ("198.18.0.0/15, 127.0.0.1, fd00::/8": commas or
 * spaces; an address without /BITS is one host). Returns 0, or -EINVAL with
 * the offending entry in bad, or -ENOSPC past NETLIST_MAX.
 */
int net_list_add(struct net_list *l, const char *text, char *bad, size_t badlen);

/* Whether sa lies in one of the networks (IPv4-mapped IPv6 counts as IPv4). */
bool net_list_contains(const struct net_list *l, const struct sockaddr *sa);

#endif
