/* rtnetlink link messages: see linkwatch.h. */
#include "util/linkwatch.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
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

int
linkwatch_parse(const void *buf, size_t len, link_change_fn fn, void *ctx)
{
	const uint8_t *p = buf;
	int reported = 0;
	size_t off = 0;
	while (off + sizeof(struct nlmsghdr) <= len) {
		struct nlmsghdr nh;
		memcpy(&nh, p + off, sizeof(nh));
		if (nh.nlmsg_len < sizeof(nh) || nh.nlmsg_len > len - off)
			return -1;
		if (nh.nlmsg_type == RTM_NEWLINK || nh.nlmsg_type == RTM_DELLINK) {
			struct link_change change;
			if (parse_link(p + off + NLMSG_HDRLEN, nh.nlmsg_len - NLMSG_HDRLEN,
			               nh.nlmsg_type == RTM_DELLINK, &change)) {
				fn(ctx, &change);
				reported++;
			}
		}
		size_t step = NLMSG_ALIGN(nh.nlmsg_len);
		if (step > len - off)
			break; /* the last message's padding may be missing */
		off += step;
	}
	return reported;
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
