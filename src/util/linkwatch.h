/*
 * Network interfaces coming and going, from the kernel's rtnetlink link
 * messages (RTM_NEWLINK, RTM_DELLINK). A socket bound to a device with
 * SO_BINDTODEVICE keeps that device's index for ever: when the device is
 * deleted and created again under the same name, the socket hears nothing
 * more. Whoever binds to devices by name listens here and reopens.
 *
 * The parser is pure (unit tests, fuzzing); linkwatch_open() is the socket.
 */
#ifndef NETBOOTD_UTIL_LINKWATCH_H
#define NETBOOTD_UTIL_LINKWATCH_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct link_change {
	bool gone;                  /* RTM_DELLINK: the device no longer exists */
	int ifindex;
	char ifname[IF_NAMESIZE];   /* "" when the message carried no IFLA_IFNAME */
	bool up;                    /* IFF_UP */
};

typedef void (*link_change_fn)(void *ctx, const struct link_change *change);

/*
 * Walk one datagram of netlink messages and call fn for each link message.
 * Anything else (errors, other types, truncated or malformed messages) is
 * skipped. Returns the number of link changes reported, or -1 when the
 * datagram was malformed (what came before the bad part is still reported).
 */
int linkwatch_parse(const void *buf, size_t len, link_change_fn fn, void *ctx);

/*
 * A nonblocking NETLINK_ROUTE socket subscribed to link changes, or -errno.
 * Needs no privilege; open it before the sandbox so it counts as "bound".
 */
int linkwatch_open(void);

/*
 * IPv6 addresses of the links, asked for (RTM_GETADDR): DHCPv6 names our
 * address on a client's link in boot URLs. getifaddrs() would open a new
 * netlink socket, which the sandbox forbids once serving, so the socket is
 * opened at start and asked again when needed.
 */
struct link_addr6 {
	int ifindex;
	struct in6_addr addr;
	unsigned scope;             /* RT_SCOPE_UNIVERSE (0) is global */
	uint32_t flags;             /* IFA_F_TENTATIVE, IFA_F_DADFAILED, ... */
};

typedef void (*link_addr6_fn)(void *ctx, const struct link_addr6 *addr);

/* Pure: each RTM_NEWADDR of family AF_INET6 to fn; *done at NLMSG_DONE. As linkwatch_parse. */
int linkwatch_parse_addr6(const void *buf, size_t len, link_addr6_fn fn, void *ctx, bool *done);

/* A NETLINK_ROUTE socket for queries (blocking, 200 ms receive timeout), or -errno. */
int linkwatch_query_open(void);

/* Dump every IPv6 address through fd to fn. 0 or -errno. */
int linkwatch_query_addr6(int fd, link_addr6_fn fn, void *ctx);

#endif
