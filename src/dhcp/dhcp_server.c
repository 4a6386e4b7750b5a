/*
 * The DHCP server's sockets: a listener per port (67 and 4011) and per
 * --interface, batches read with recvmmsg and handed to the pipeline
 * (pipeline.c), replies that need a durable lease held until the group
 * commit, the packet socket for link-layer unicast, and rtnetlink to follow
 * interfaces that are deleted and created again.
 */
#include "dhcp/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "store/leases.h"
#include "util/linkwatch.h"
#include "util/metrics.h"
#include "wire/ipv4udp.h"

/* ---- sockets ----------------------------------------------------------- */

static void
send_now(int fd, const uint8_t *buf, size_t len, const struct sockaddr_in *to, int ifindex,
         struct in_addr src)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} control;
	struct msghdr mh = {
		.msg_name = (void *)(uintptr_t)to,
		.msg_namelen = sizeof(*to),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	/* Out of the arrival interface, from our address there (broadcasts need it). */
	if (ifindex > 0) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
		struct in_pktinfo pi = { .ipi_ifindex = ifindex, .ipi_spec_dst = src };
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	if (sendmsg(fd, &mh, 0) < 0) {
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &to->sin_addr, ip, sizeof(ip));
		log_warn("dhcp", "send to %s:%u: %s", ip, (unsigned)ntohs(to->sin_port), strerror(errno));
		metrics.proto[METRICS_DHCP].errors++;
	}
}

/* The packet socket that may send on ifindex: its interface's, or the all-interfaces one. */
static int
packet_fd_for(const struct dhcp_server *srv, int ifindex)
{
	for (size_t i = 0; i < srv->nifaces; i++)
		if (srv->ifaces[i].ifindex == ifindex && ifindex > 0)
			return srv->ifaces[i].packetfd;
	return srv->packetfd;
}

/*
 * One IPv4/UDP datagram to an Ethernet address on a packet socket: the
 * kernel adds the Ethernet header (SOCK_DGRAM), wire/ipv4udp.c builds IP
 * and UDP.
 */
static int
send_link(const struct dhcp_server *srv, const uint8_t *buf, size_t len, struct in_addr dst,
          struct in_addr src, int ifindex, const uint8_t chaddr[6])
{
	uint8_t pkt[IPV4UDP_HEADERS + DHCP_MAX_REPLY];
	int n = ipv4udp_build(pkt, sizeof(pkt), src, htons((uint16_t)srv->cfg->dhcp_port), dst,
	                      htons(dhcp_client_port(srv)), buf, len);
	if (n < 0)
		return n;
	struct sockaddr_ll ll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = ifindex,
		.sll_halen = 6,
	};
	memcpy(ll.sll_addr, chaddr, 6);
	if (sendto(packet_fd_for(srv, ifindex), pkt, (size_t)n, 0, (struct sockaddr *)&ll,
	           sizeof(ll)) < 0)
		return -errno;
	return 0;
}

static void
send_any(struct dhcp_server *srv, int fd, const uint8_t *buf, size_t len, struct sockaddr_in to,
         int ifindex, struct in_addr src, bool link_unicast, const uint8_t chaddr[6])
{
	if (link_unicast) {
		int r = packet_fd_for(srv, ifindex) >= 0
		            ? send_link(srv, buf, len, to.sin_addr, src, ifindex, chaddr)
		            : -EBADF;
		if (r == 0)
			return;
		/* No packet socket (not started as root) or it failed: broadcast. */
		if (r != -EBADF)
			log_debug("dhcp", "link-layer unicast: %s: broadcasting instead", strerror(-r));
		to.sin_addr.s_addr = htonl(INADDR_BROADCAST);
	}
	send_now(fd, buf, len, &to, ifindex, src);
}

static void
socket_emit(void *ctx, const struct dhcp_reply *r)
{
	struct dhcp_server *srv = ctx;
	if (!r->durable || !srv->leases) {
		send_any(srv, srv->sendfd, r->buf, r->len, r->to, r->ifindex, r->src, r->link_unicast,
		         r->chaddr);
		return;
	}
	if (srv->npending >= DHCP_BATCH * DHCP_ROUNDS)
		return; /* cannot happen: at most one reply per message read */
	struct pending_reply *p = &srv->pending[srv->npending++];
	memcpy(p->buf, r->buf, r->len);
	p->len = r->len;
	p->to = r->to;
	p->ifindex = r->ifindex;
	p->src = r->src;
	p->link_unicast = r->link_unicast;
	memcpy(p->chaddr, r->chaddr, 6);
}

/* Where recvmmsg() puts one datagram and its IP_PKTINFO. */
struct rx_slot {
	uint8_t buf[2048];
	struct sockaddr_in from;
	struct iovec iov;
	uint64_t control[8]; /* aligned room for the IP_PKTINFO cmsg */
};
_Static_assert(sizeof(((struct rx_slot *)0)->control) >= CMSG_SPACE(sizeof(struct in_pktinfo)),
               "control room for IP_PKTINFO");

static void
on_readable(evutil_socket_t fd, short events, void *arg)
{
	struct dhcp_listener *l = arg;
	struct dhcp_server *srv = l->srv;
	struct dhcp_sink sink = { .emit = socket_emit, .ctx = srv };
	struct mmsghdr mm[DHCP_BATCH];
	(void)events;

	srv->sendfd = fd;
	srv->npending = 0;
	/*
	 * Up to DHCP_ROUNDS full batches before one commit: the busier the
	 * server, the more ACKs share one fdatasync.
	 */
	for (int round = 0; round < DHCP_ROUNDS; round++) {
		for (size_t i = 0; i < DHCP_BATCH; i++) {
			struct rx_slot *r = &srv->rx[i];
			r->iov.iov_base = r->buf;
			r->iov.iov_len = sizeof(r->buf);
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_name = &r->from;
			mm[i].msg_hdr.msg_namelen = sizeof(r->from);
			mm[i].msg_hdr.msg_iov = &r->iov;
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_control = r->control;
			mm[i].msg_hdr.msg_controllen = sizeof(r->control);
		}
		int got = recvmmsg(fd, mm, DHCP_BATCH, MSG_DONTWAIT, NULL);
		if (got <= 0)
			break;
		for (int i = 0; i < got; i++) {
			struct msghdr *mh = &mm[i].msg_hdr;
			if (mh->msg_flags & MSG_TRUNC)
				continue; /* larger than any DHCP message we accept */
			struct dhcp_arrival arr = { .pxe_port = l->pxe_port, .from = srv->rx[i].from };
			for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
				if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
					struct in_pktinfo pi;
					memcpy(&pi, CMSG_DATA(c), sizeof(pi));
					arr.ifindex = pi.ipi_ifindex;
					arr.local = pi.ipi_spec_dst;
				}
			}
			(void)dhcp_handle_message(srv, srv->rx[i].buf, mm[i].msg_len, &arr, &sink);
		}
		if (got < DHCP_BATCH)
			break;
	}
	/* Group commit: one fdatasync for the whole batch, then the ACKs go out. */
	if (srv->npending || (srv->leases && leases_dirty(srv->leases))) {
		if (dhcp_server_commit(srv) < 0) {
			metrics.proto[METRICS_DHCP].errors += srv->npending;
			srv->npending = 0;
		}
	}
	for (size_t i = 0; i < srv->npending; i++) {
		struct pending_reply *p = &srv->pending[i];
		send_any(srv, fd, p->buf, p->len, p->to, p->ifindex, p->src, p->link_unicast, p->chaddr);
	}
	srv->npending = 0;
}

/* Close fd after a failed set-up step; returns that step's -errno. */
static int
fail_closed(int fd)
{
	int e = errno;
	close(fd);
	return -e;
}

/* A UDP socket on port, bound to ifname's device when not NULL: the fd, or -errno. */
static int
udp_socket_open(unsigned port, const char *ifname)
{
	int one = 1, rcvbuf = 4 << 20;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	/*
	 * No SO_REUSEADDR: with it, any local user could bind the same port
	 * (4011 is unprivileged) and answer PXE clients with their own boot
	 * file. A port already taken is a start-up error instead. Listeners on
	 * different interfaces do not clash: each is bound to its device first.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
		return fail_closed(fd);
	/* A burst of clients (perfdhcp, a rack powering on) must not overflow the queue. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (ifname && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0)
		return fail_closed(fd);
	/* Bound to 0.0.0.0: broadcasts from address-less clients arrive here. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail_closed(fd);
	return fd;
}

/* (Re)open l's socket and register it with the loop. Returns 0 or -errno. */
static int
listener_arm(struct dhcp_listener *l)
{
	int fd = udp_socket_open(l->port, l->iface ? l->iface->name : NULL);
	if (fd < 0)
		return fd;
	l->ev = event_new(l->srv->nb->base, fd, EV_READ | EV_PERSIST, on_readable, l);
	if (!l->ev || event_priority_set(l->ev, EVENT_PRIORITY_DATAGRAM) < 0 ||
	    event_add(l->ev, NULL) < 0) {
		if (l->ev)
			event_free(l->ev);
		l->ev = NULL;
		close(fd);
		return -ENOMEM;
	}
	l->fd = fd;
	return 0;
}

static void
listener_disarm(struct dhcp_listener *l)
{
	if (l->ev)
		event_free(l->ev);
	l->ev = NULL;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

static int
listener_open(struct dhcp_server *srv, unsigned port, bool pxe_port, struct dhcp_iface *iface)
{
	struct dhcp_listener *l = &srv->listeners[srv->nlisteners];
	*l = (struct dhcp_listener){ .srv = srv, .fd = -1, .pxe_port = pxe_port, .port = port,
		                         .iface = iface };
	int r = listener_arm(l);
	if (r == 0)
		srv->nlisteners++;
	return r;
}

/* IPv4 frames on ifindex (0: every interface); no privilege needed to bind again. */
static int
packet_bind(int fd, int ifindex)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
		                      .sll_ifindex = ifindex };
	return bind(fd, (struct sockaddr *)&ll, sizeof(ll));
}

/*
 * A packet socket for RFC 2131 §4.1 unicasts, opened while root
 * (CAP_NET_RAW). It only ever sends: a filter that accepts nothing is
 * attached and locked before it is bound to IPv4 on its interface (0: all),
 * so no frame is ever queued on it. Returns the fd or -errno.
 */
static int
packet_socket_open(int ifindex)
{
	static struct sock_filter drop_all[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = drop_all };
	int one = 1;
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one)) < 0 ||
	    packet_bind(fd, ifindex) < 0)
		return fail_closed(fd);
	return fd;
}

/* The interface came back under a new index: bind everything of it anew. */
static void
iface_reopen(struct dhcp_server *srv, struct dhcp_iface *ifc, int ifindex)
{
	int failed = 0;
	ifc->ifindex = ifindex;
	for (size_t i = 0; i < srv->nlisteners; i++) {
		struct dhcp_listener *l = &srv->listeners[i];
		if (l->iface != ifc)
			continue;
		listener_disarm(l);
		int r = listener_arm(l);
		if (r < 0) {
			failed++;
			log_error("dhcp", "%s is back (index %d) but UDP port %u cannot be bound there: %s",
			          ifc->name, ifindex, l->port, strerror(-r));
		}
	}
	if (ifc->packetfd >= 0 && packet_bind(ifc->packetfd, ifindex) < 0)
		log_warn("dhcp", "%s: packet socket: %s: replies to address-less clients are "
		         "broadcast there", ifc->name, strerror(errno));
	if (!failed)
		log_info("dhcp", "%s is back (index %d): listening there again on UDP %u and %u",
		         ifc->name, ifindex, srv->cfg->dhcp_port, srv->cfg->pxe_port);
}

static void
on_link_change(void *ctx, const struct link_change *change)
{
	struct dhcp_server *srv = ctx;
	for (size_t i = 0; i < srv->nifaces; i++) {
		struct dhcp_iface *ifc = &srv->ifaces[i];
		if (change->gone && change->ifindex == ifc->ifindex) {
			log_warn("dhcp", "%s (index %d) is gone: no DHCP there until it comes back",
			         ifc->name, ifc->ifindex);
			ifc->ifindex = 0;
		} else if (!change->gone && strcmp(change->ifname, ifc->name) == 0 &&
		           change->ifindex != ifc->ifindex) {
			iface_reopen(srv, ifc, change->ifindex);
		}
	}
}

/*
 * The index of the interface called name, or 0. Not if_nametoindex(): glibc
 * asks through an AF_UNIX socket, which the sandbox refuses once serving.
 */
static int
ifindex_of(const char *name)
{
	struct ifreq ifr;
	int idx = 0;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) == 0)
		idx = ifr.ifr_ifindex;
	close(fd);
	return idx;
}

static void
on_link_readable(evutil_socket_t fd, short events, void *arg)
{
	struct dhcp_server *srv = arg;
	uint8_t buf[16384];
	(void)events;
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
		/*
		 * Any local process may send a unicast netlink message to our port:
		 * only the kernel's (nl_pid 0) are believed, or anyone could make
		 * us reopen a listener and race for its port meanwhile.
		 */
		if (n > 0 && (fromlen < sizeof(from) || from.nl_pid != 0)) {
			log_debug("dhcp", "netlink message from process %u, not the kernel: ignored",
			          (unsigned)from.nl_pid);
			continue;
		}
		if (n < 0 && errno == ENOBUFS) {
			/* Missed messages: the kernel says so. Our indexes may be stale. */
			for (size_t i = 0; i < srv->nifaces; i++) {
				int idx = ifindex_of(srv->ifaces[i].name);
				if (idx > 0 && idx != srv->ifaces[i].ifindex)
					iface_reopen(srv, &srv->ifaces[i], idx);
			}
			continue;
		}
		if (n <= 0)
			return;
		if (linkwatch_parse(buf, (size_t)n, on_link_change, srv) < 0)
			log_debug("dhcp", "malformed rtnetlink message (%zd bytes): ignored", n);
	}
}

int
dhcp_server_start(struct netbootd *nb, struct dhcp_server **out)
{
	const struct config *cfg = nb->boot.cfg;
	int r;
	*out = NULL;
	struct dhcp_server *srv = dhcp_server_new(nb, true);
	if (!srv)
		return -ENOMEM;
	/* Socket-path buffers: the message handler alone (tests, fuzzing) needs none. */
	srv->pending = calloc(DHCP_BATCH * DHCP_ROUNDS, sizeof(*srv->pending));
	srv->rx = calloc(DHCP_BATCH, sizeof(*srv->rx));
	if (!srv->pending || !srv->rx) {
		dhcp_server_free(srv);
		return -ENOMEM;
	}
	size_t nif = cfg->interfaces.count;
	bool want_packet = cfg->dhcp_mode == DHCP_MODE_SERVER;
	int packet_err = 0;
	/* One socket per --interface (SO_BINDTODEVICE), or one for all. */
	for (size_t i = 0; i < (nif ? nif : 1); i++) {
		struct dhcp_iface *ifc = NULL;
		if (nif) {
			ifc = &srv->ifaces[srv->nifaces++];
			snprintf(ifc->name, sizeof(ifc->name), "%s", cfg->interfaces.items[i]);
			ifc->ifindex = ifindex_of(ifc->name);
			ifc->packetfd = -1;
		}
		for (int pxe = 0; pxe < 2; pxe++) {
			unsigned port = pxe ? cfg->pxe_port : cfg->dhcp_port;
			r = listener_open(srv, port, pxe == 1, ifc);
			if (r < 0) {
				log_error("dhcp", "cannot listen on UDP port %u%s%s: %s%s", port,
				          ifc ? " on " : "", ifc ? ifc->name : "", strerror(-r),
				          r == -EADDRINUSE ? " (another DHCP or PXE server, or a second "
				                             "netbootd, holds it)" : "");
				dhcp_server_free(srv);
				return r;
			}
		}
		if (ifc && want_packet && (ifc->packetfd = packet_socket_open(ifc->ifindex)) < 0)
			packet_err = -ifc->packetfd;
	}
	if (!nif && want_packet && (srv->packetfd = packet_socket_open(0)) < 0)
		packet_err = -srv->packetfd;
	if (packet_err)
		log_info("dhcp", "no packet socket (%s): replies to address-less clients are broadcast",
		         strerror(packet_err));
	/* Devices bound by name: follow them when they are deleted and created again. */
	if (nif) {
		srv->linkfd = linkwatch_open();
		srv->link_ev = srv->linkfd >= 0 ? event_new(nb->base, srv->linkfd, EV_READ | EV_PERSIST,
		                                            on_link_readable, srv)
		                                : NULL;
		if (!srv->link_ev || event_add(srv->link_ev, NULL) < 0)
			log_warn("dhcp", "cannot follow interface changes (%s): if %s is deleted and created "
			         "again, restart netbootd", srv->linkfd < 0 ? strerror(-srv->linkfd) : "event",
			         srv->ifaces[0].name);
	}
	log_info("dhcp", "%s mode on UDP %u and %u (%s)%s",
	         cfg->dhcp_mode == DHCP_MODE_SERVER ? "server" : "proxy", cfg->dhcp_port,
	         cfg->pxe_port, nif ? "chosen interfaces" : "all interfaces",
	         srv->leases ? ", leases durable before each ACK" : "");
	*out = srv;
	return 0;
}

void
dhcp_server_free(struct dhcp_server *srv)
{
	if (!srv)
		return;
	for (size_t i = 0; i < srv->nlisteners; i++)
		listener_disarm(&srv->listeners[i]);
	for (size_t i = 0; i < srv->nifaces; i++)
		if (srv->ifaces[i].packetfd >= 0)
			close(srv->ifaces[i].packetfd);
	if (srv->packetfd >= 0)
		close(srv->packetfd);
	if (srv->link_ev)
		event_free(srv->link_ev);
	if (srv->linkfd >= 0)
		close(srv->linkfd);
	if (srv->leases) {
		(void)leases_commit(srv->leases, dhcp_now(srv));
		leases_free(srv->leases);
	}
	free(srv->pending);
	free(srv->rx);
	free(srv);
}
