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
#include <stdbool.h>
#include <stddef.h>

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

#endif
