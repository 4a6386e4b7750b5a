/*
 * The DHCPv6 server's sockets: [::]:547 in the All_DHCP_Relay_Agents_and_
 * Servers group (ff02::1:2) on each link we serve, [::]:4011 for EDK2's
 * boot file request after a proxy offer, and our global address per link
 * (asked of rtnetlink over a socket opened at start: the sandbox allows no
 * new netlink socket, and systemd's ProcSubset=pid hides /proc/net).
 */
#include "dhcp6/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "store/leases.h"
#include "util/metrics.h"

#define MAX_ADDRS6 256

struct addr_list {
	struct link_addr6 a[MAX_ADDRS6];
	size_t n;
};

static void
collect_addr(void *ctx, const struct link_addr6 *a)
{
	struct addr_list *l = ctx;
	if (l->n < MAX_ADDRS6)
		l->a[l->n++] = *a;
}

/* Our global address on ifindex (rtnetlink), cached DHCP6_LOCAL_TTL seconds. */
static struct in6_addr
local_address(struct dhcp6_server *srv, int ifindex)
{
	time_t now = time(NULL);
	struct local6 *slot = &srv->locals[0];
	for (size_t i = 0; i < DHCP6_MAX_LOCALS; i++) {
		struct local6 *l = &srv->locals[i];
		if (l->ifindex == ifindex && now - l->at < DHCP6_LOCAL_TTL)
			return l->addr;
		if (l->at < slot->at)
			slot = l;
	}
	struct in6_addr a = IN6ADDR_ANY_INIT;
	static struct addr_list list; /* 10 KB: not on the stack */
	list.n = 0;
	int r = srv->nlfd >= 0 ? linkwatch_query_addr6(srv->nlfd, collect_addr, &list) : -EBADF;
	if (r < 0)
		log_warn("dhcp6", "cannot list the IPv6 addresses of link %d: %s", ifindex, strerror(-r));
	(void)dhcp6_pick_local(list.a, list.n, ifindex,
	                       srv->cfg->pool6_set ? &srv->cfg->pool6_first : NULL, &a);
	*slot = (struct local6){ .ifindex = ifindex, .at = now, .addr = a };
	return a;
}

static bool
serves_ifindex(const struct dhcp6_server *srv, int ifindex)
{
	if (!srv->nifindexes)
		return true;
	for (size_t i = 0; i < srv->nifindexes; i++)
		if (srv->ifindexes[i] == ifindex)
			return true;
	return false;
}

struct pending6 {
	uint8_t buf[DHCP6_MAX_REPLY];
	size_t len;
	struct sockaddr_in6 to;
	bool durable;
	bool set;
};

static void
collect(void *ctx, const struct dhcp6_reply *r)
{
	struct pending6 *p = ctx;
	if (r->len > sizeof(p->buf))
		return;
	memcpy(p->buf, r->buf, r->len);
	p->len = r->len;
	p->to = r->to;
	p->durable = r->durable;
	p->set = true;
}

static void
on_readable(evutil_socket_t fd, short events, void *arg)
{
	struct dhcp6_server *srv = arg;
	(void)events;
	/* A few datagrams a turn: DHCPv6 boot clients are few and retry. */
	for (int turn = 0; turn < 16; turn++) {
		uint8_t buf[2048];
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
			struct cmsghdr align;
		} control;
		struct dhcp6_arrival arr = { .pxe_port = fd == srv->pxefd };
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_name = &arr.from, .msg_namelen = sizeof(arr.from),
			                 .msg_iov = &iov, .msg_iovlen = 1,
			                 .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		if (mh.msg_flags & MSG_TRUNC)
			continue;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				arr.ifindex = (int)pi.ipi6_ifindex;
			}
		}
		if (!serves_ifindex(srv, arr.ifindex))
			continue;
		arr.local = local_address(srv, arr.ifindex);
		struct pending6 p = { .set = false };
		struct dhcp6_sink sink = { .emit = collect, .ctx = &p };
		(void)dhcp6_handle_message(srv, buf, (size_t)n, &arr, &sink);
		if (!p.set)
			continue;
		/* A REPLY that binds an address leaves only once the lease is on disk. */
		if (p.durable && dhcp6_server_commit(srv) < 0) {
			metrics.proto[METRICS_DHCP].errors++;
			continue;
		}
		if (sendto(fd, p.buf, p.len, 0, (struct sockaddr *)&p.to, sizeof(p.to)) < 0) {
			char a6[INET6_ADDRSTRLEN];
			inet_ntop(AF_INET6, &p.to.sin6_addr, a6, sizeof(a6));
			log_warn("dhcp6", "send to [%s]:%u: %s", a6, ntohs(p.to.sin6_port), strerror(errno));
		}
	}
}

static int
udp6_open(unsigned port)
{
	int one = 1, rcvbuf = 1 << 20;
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
		                       .sin6_addr = IN6ADDR_ANY_INIT };
	/* No SO_REUSEADDR, as for DHCPv4: a second listener is a start-up error, not a rival. */
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}

static int
join_group(int fd, int ifindex, const char *name)
{
	struct ipv6_mreq mr = { .ipv6mr_interface = (unsigned)ifindex };
	inet_pton(AF_INET6, "ff02::1:2", &mr.ipv6mr_multiaddr);
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)) < 0) {
		log_warn("dhcp6", "%s: cannot join ff02::1:2: %s", name, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Every link that is up and multicast-capable now, loopback aside. */
static size_t
join_all(struct dhcp6_server *srv)
{
	struct if_nameindex *ifs = if_nameindex();
	size_t joined = 0;
	for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
		char path[64 + IF_NAMESIZE], flags[32] = "";
		snprintf(path, sizeof(path), "/sys/class/net/%s/flags", i->if_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, flags, sizeof(flags) - 1);
		close(fd);
		unsigned long f = n > 0 ? strtoul(flags, NULL, 16) : 0;
		if ((f & IFF_UP) && (f & IFF_MULTICAST) && !(f & IFF_LOOPBACK) &&
		    join_group(srv->fd, (int)i->if_index, i->if_name) == 0)
			joined++;
	}
	if (ifs)
		if_freenameindex(ifs);
	return joined;
}

/* DUID-UUID (RFC 6355) from /etc/machine-id: the same identity across restarts. */
static size_t
make_duid(uint8_t duid[18])
{
	char id[64] = "";
	int fd = open("/etc/machine-id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, id, sizeof(id) - 1) : -1;
	if (fd >= 0)
		close(fd);
	duid[0] = 0;
	duid[1] = 4;
	bool ok = n >= 32;
	for (int i = 0; i < 16 && ok; i++) {
		unsigned byte;
		ok = sscanf(id + 2 * i, "%2x", &byte) == 1;
		duid[2 + i] = (uint8_t)byte;
	}
	if (!ok) {
		/* No machine id (a container): a random one for this run. */
		int r = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (r < 0 || read(r, duid + 2, 16) != 16)
			memset(duid + 2, 0x5a, 16);
		if (r >= 0)
			close(r);
	}
	return 18;
}

static int
arm(struct dhcp6_server *srv, int fd, struct event **ev)
{
	*ev = event_new(srv->nb->base, fd, EV_READ | EV_PERSIST, on_readable, srv);
	if (!*ev || event_priority_set(*ev, EVENT_PRIORITY_DATAGRAM) < 0 || event_add(*ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

int
dhcp6_server_start(struct netbootd *nb, struct dhcp6_server **out)
{
	const struct config *cfg = nb->boot.cfg;
	uint8_t duid[18];
	size_t duid_len = make_duid(duid);
	struct dhcp6_server *srv = dhcp6_server_new(nb, duid, duid_len, true);
	if (!srv)
		return -ENOMEM;
	/* Before the sandbox: asking the kernel for our addresses needs this socket. */
	int r = srv->nlfd = linkwatch_query_open();
	if (r < 0) {
		log_error("dhcp6", "rtnetlink: %s", strerror(-r));
		goto fail;
	}
	r = srv->fd = udp6_open(DHCP6_SERVER_PORT);
	if (r < 0) {
		log_error("dhcp6", "bind [::]:%d: %s", DHCP6_SERVER_PORT, strerror(-r));
		goto fail;
	}
	/*
	 * Both modes: EDK2 sends its boot file request here after any offer
	 * with the PXEClient class, a server's (BINL) as well as a proxy's.
	 */
	r = srv->pxefd = udp6_open(cfg->pxe_port);
	if (r < 0) {
		log_error("dhcp6", "bind [::]:%u: %s", cfg->pxe_port, strerror(-r));
		goto fail;
	}
	size_t joined = 0;
	if (cfg->interfaces.count) {
		for (size_t i = 0; i < cfg->interfaces.count; i++) {
			const char *name = cfg->interfaces.items[i];
			int idx = (int)if_nametoindex(name);
			if (!idx) {
				log_error("dhcp6", "--interface %s: no such interface", name);
				r = -ENODEV;
				goto fail;
			}
			srv->ifindexes[srv->nifindexes++] = idx;
			if (join_group(srv->fd, idx, name) == 0)
				joined++;
		}
	} else {
		joined = join_all(srv);
	}
	if (!joined)
		log_warn("dhcp6", "no link joined ff02::1:2: only relayed and unicast messages arrive");
	r = -ENOMEM;
	if (arm(srv, srv->fd, &srv->ev) < 0 || (srv->pxefd >= 0 && arm(srv, srv->pxefd, &srv->pxe_ev) < 0))
		goto fail;
	log_info("dhcp6", "DHCPv6 %s on [::]:%d and [::]:%u, %zu link%s",
	         cfg->dhcp6_mode == DHCP_MODE_SERVER ? "server" : "proxy", DHCP6_SERVER_PORT,
	         cfg->pxe_port, joined, joined == 1 ? "" : "s");
	*out = srv;
	return 0;
fail:
	dhcp6_server_free(srv);
	return r;
}

void
dhcp6_server_free(struct dhcp6_server *srv)
{
	if (!srv)
		return;
	if (srv->ev)
		event_free(srv->ev);
	if (srv->pxe_ev)
		event_free(srv->pxe_ev);
	if (srv->nlfd >= 0)
		close(srv->nlfd);
	if (srv->fd >= 0)
		close(srv->fd);
	if (srv->pxefd >= 0 && srv->pxefd != srv->fd)
		close(srv->pxefd);
	if (srv->leases)
		leases_free(srv->leases);
	free(srv);
}
