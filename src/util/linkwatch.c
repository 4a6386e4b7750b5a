/* rtnetlink link messages: see linkwatch.h. */
#include "util/linkwatch.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* One RTM_NEWLINK/RTM_DELLINK payload: struct ifinfomsg, then attributes. */
static bool
parse_link(const uint8_t *p, size_t len, bool gone, struct link_change *out)
{
	struct ifinfomsg ifi;
	if (len < NLMSG_ALIGN(sizeof(ifi)))
		return false;
	memcpy(&ifi, p, sizeof(ifi));
	memset(out, 0, sizeof(*out));
	out->gone = gone;
	out->ifindex = ifi.ifi_index;
	out->up = (ifi.ifi_flags & IFF_UP) != 0;
	size_t off = NLMSG_ALIGN(sizeof(ifi));
	while (off + sizeof(struct rtattr) <= len) {
		struct rtattr rta;
		memcpy(&rta, p + off, sizeof(rta));
		if (rta.rta_len < sizeof(rta) || rta.rta_len > len - off)
			return false;
		if (rta.rta_type == IFLA_IFNAME) {
			size_t n = rta.rta_len - sizeof(rta);
			const uint8_t *name = p + off + sizeof(rta);
			const uint8_t *nul = memchr(name, 0, n);
			size_t namelen = nul ? (size_t)(nul - name) : n;
			if (namelen == 0 || namelen >= sizeof(out->ifname))
				return false;
			memcpy(out->ifname, name, namelen);
			out->ifname[namelen] = '\0';
		}
		off += RTA_ALIGN(rta.rta_len);
	}
	return out->ifindex > 0;
}

/*
 * Walk one datagram of netlink messages: each message's type, payload and
 * length to fn, which returns whether it reported something. Returns the
 * number reported, or -1 when the datagram was malformed. *done (if given)
 * is set on NLMSG_DONE or NLMSG_ERROR: the end of a dump's answer.
 */
static int
walk(const void *buf, size_t len, bool (*fn)(void *ctx, uint16_t type, const uint8_t *p, size_t n),
     void *ctx, bool *done)
{
	const uint8_t *p = buf;
	int reported = 0;
	size_t off = 0;
	while (off + sizeof(struct nlmsghdr) <= len) {
		struct nlmsghdr nh;
		memcpy(&nh, p + off, sizeof(nh));
		if (nh.nlmsg_len < sizeof(nh) || nh.nlmsg_len > len - off)
			return -1;
		if ((nh.nlmsg_type == NLMSG_DONE || nh.nlmsg_type == NLMSG_ERROR) && done)
			*done = true;
		if (fn(ctx, nh.nlmsg_type, p + off + NLMSG_HDRLEN, nh.nlmsg_len - NLMSG_HDRLEN))
			reported++;
		size_t step = NLMSG_ALIGN(nh.nlmsg_len);
		if (step > len - off)
			break; /* the last message's padding may be missing */
		off += step;
	}
	return reported;
}

struct link_walk {
	link_change_fn fn;
	void *ctx;
};

static bool
on_link_message(void *ctx, uint16_t type, const uint8_t *p, size_t n)
{
	struct link_walk *w = ctx;
	struct link_change change;
	if ((type != RTM_NEWLINK && type != RTM_DELLINK) ||
	    !parse_link(p, n, type == RTM_DELLINK, &change))
		return false;
	w->fn(w->ctx, &change);
	return true;
}

int
linkwatch_parse(const void *buf, size_t len, link_change_fn fn, void *ctx)
{
	struct link_walk w = { .fn = fn, .ctx = ctx };
	return walk(buf, len, on_link_message, &w, NULL);
}

/* One RTM_NEWADDR payload of family AF_INET6: struct ifaddrmsg, then attributes. */
static bool
parse_addr6(const uint8_t *p, size_t len, struct link_addr6 *out)
{
	struct ifaddrmsg ifa;
	bool have = false;
	if (len < NLMSG_ALIGN(sizeof(ifa)))
		return false;
	memcpy(&ifa, p, sizeof(ifa));
	if (ifa.ifa_family != AF_INET6)
		return false;
	memset(out, 0, sizeof(*out));
	out->ifindex = (int)ifa.ifa_index;
	out->scope = ifa.ifa_scope;
	out->flags = ifa.ifa_flags;
	size_t off = NLMSG_ALIGN(sizeof(ifa));
	while (off + sizeof(struct rtattr) <= len) {
		struct rtattr rta;
		memcpy(&rta, p + off, sizeof(rta));
		if (rta.rta_len < sizeof(rta) || rta.rta_len > len - off)
			return false;
		size_t n = rta.rta_len - sizeof(rta);
		if (rta.rta_type == IFA_ADDRESS && n == 16) {
			memcpy(&out->addr, p + off + sizeof(rta), 16);
			have = true;
		} else if (rta.rta_type == IFA_FLAGS && n == 4) {
			memcpy(&out->flags, p + off + sizeof(rta), 4); /* the full 32 bits */
		}
		off += RTA_ALIGN(rta.rta_len);
	}
	return have && out->ifindex > 0;
}

struct addr_walk {
	link_addr6_fn fn;
	void *ctx;
};

static bool
on_addr_message(void *ctx, uint16_t type, const uint8_t *p, size_t n)
{
	struct addr_walk *w = ctx;
	struct link_addr6 a;
	if (type != RTM_NEWADDR || !parse_addr6(p, n, &a))
		return false;
	w->fn(w->ctx, &a);
	return true;
}

int
linkwatch_parse_addr6(const void *buf, size_t len, link_addr6_fn fn, void *ctx, bool *done)
{
	struct addr_walk w = { .fn = fn, .ctx = ctx };
	return walk(buf, len, on_addr_message, &w, done);
}

int
linkwatch_query_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	/* A dump answers at once; a kernel that does not must not stall the loop. */
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int
linkwatch_query_addr6(int fd, link_addr6_fn fn, void *ctx)
{
	static uint32_t seq;
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETADDR,
		        .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = ++seq },
		.ifa = { .ifa_family = AF_INET6 },
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	bool done = false;
	/* A dump of a few hundred addresses is a few datagrams. */
	for (int i = 0; i < 64 && !done; i++) {
		uint32_t buf[8192 / sizeof(uint32_t)];
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
		if (n < 0)
			return -errno;
		if (from.nl_pid != 0)
			continue; /* not the kernel: a forged answer is no answer */
		if (linkwatch_parse_addr6(buf, (size_t)n, fn, ctx, &done) < 0)
			return -EBADMSG;
	}
	return done ? 0 : -EMSGSIZE;
}

int
linkwatch_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}
