/*
 * The TFTP server's sockets: the listener, which hands each request to the
 * admission stages (admission.c), and the sink through which an admitted
 * transfer gets its own socket (its TID) and events, and refusals leave
 * from port 69. The send engine is transfer.c.
 */
#include "tftp/transfer.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "util/log.h"
#include "util/netaddr.h"

/* Requests read per listener wake-up, so one busy listener cannot starve transfers. */
#define TFTP_LISTENER_BURST 64

/* ---- the socket sink ---------------------------------------------------- */

static void
sink_refuse(void *ctx, const uint8_t *pkt, size_t len, const struct tftp_arrival *arr)
{
	struct tftp_server *srv = ctx;
	if (sendto(srv->fd, pkt, len, 0, (const struct sockaddr *)&arr->peer, arr->peerlen) < 0)
		log_debug("tftp", "sending ERROR: %s", strerror(errno));
}

/* Reply from the address the client wrote to, on a fresh port (the TID). */
static int
transfer_socket(const struct sockaddr_storage *local, socklen_t locallen)
{
	int fd = socket(local->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_storage a = *local;
	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&a)->sin6_port = 0;
	if (bind(fd, (struct sockaddr *)&a, locallen) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static int
sink_start(void *ctx, struct tftp_transfer *t, const struct tftp_arrival *arr)
{
	struct tftp_server *srv = ctx;
	int fd = transfer_socket(&arr->local, arr->locallen);
	if (fd < 0) {
		log_warn("tftp", "cannot open a transfer socket: %s", strerror(-fd));
		/* Out of descriptors, or anything else: to the client, "busy". */
		return -EMFILE;
	}
	t->fd = fd;
	t->ev_read = event_new(srv->nb->base, t->fd, EV_READ | EV_PERSIST, transfer_on_readable, t);
	t->ev_write = event_new(srv->nb->base, t->fd, EV_WRITE, transfer_on_writable, t);
	t->ev_timer = evtimer_new(srv->nb->base, transfer_on_timeout, t);
	if (!t->ev_read || !t->ev_write || !t->ev_timer ||
	    event_priority_set(t->ev_read, EVENT_PRIORITY_DATAGRAM) < 0 ||
	    event_priority_set(t->ev_write, EVENT_PRIORITY_DATAGRAM) < 0 ||
	    event_priority_set(t->ev_timer, EVENT_PRIORITY_DATAGRAM) < 0 ||
	    event_add(t->ev_read, NULL) < 0)
		return -ENOMEM; /* the handler releases t with what it holds */
	transfer_link(t);
	transfer_begin(t); /* may end (free) t */
	return 0;
}

static void
sink_resend_first(void *ctx, struct tftp_transfer *t)
{
	(void)ctx;
	transfer_begin(t);
}

/* A connected UDP socket reports the route's MTU (IP_MTU, ip(7)). The
 * transfer socket itself stays unconnected so that packets from other TIDs
 * reach it and get their ERROR 5: hence a probe socket of its own. */
static unsigned
sink_path_mtu(void *ctx, const struct sockaddr_storage *peer, socklen_t peerlen)
{
	(void)ctx;
	int v = 0;
	socklen_t vl = sizeof(v);
	int fd = socket(peer->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (const struct sockaddr *)peer, peerlen) < 0 ||
	    (peer->ss_family == AF_INET6 ? getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &v, &vl)
	                                 : getsockopt(fd, IPPROTO_IP, IP_MTU, &v, &vl)) < 0)
		v = 0;
	close(fd);
	return v > 0 ? (unsigned)v : 0;
}

/* ---- the listener ------------------------------------------------------- */

/* The address a request was sent to (IP_PKTINFO / IPV6_PKTINFO), so the
 * transfer answers from it even when the listener is bound to a wildcard. */
static void
request_local(const struct tftp_server *srv, struct msghdr *mh,
              struct sockaddr_storage *local, socklen_t *locallen)
{
	*local = srv->bound;
	*locallen = srv->family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && srv->family == AF_INET) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in *)local)->sin_addr = pi.ipi_spec_dst;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		           srv->family == AF_INET6) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			struct sockaddr_in6 *l6 = (struct sockaddr_in6 *)local;
			l6->sin6_addr = pi.ipi6_addr;
			/* A link-local address only binds with its interface. */
			if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
				l6->sin6_scope_id = (uint32_t)pi.ipi6_ifindex;
		}
	}
}

static void
on_listener_readable(evutil_socket_t fd, short what, void *arg)
{
	struct tftp_server *srv = arg;
	(void)what;
	/* One byte more than the limit, so an oversized request is seen as such. */
	uint8_t pkt[TFTP_REQUEST_MAX + 1];
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
	} ctl;

	const struct tftp_sink sink = {
		.refuse = sink_refuse, .start = sink_start, .resend_first = sink_resend_first,
		.path_mtu = sink_path_mtu, .ctx = srv,
	};
	for (int i = 0; i < TFTP_LISTENER_BURST; i++) {
		struct sockaddr_storage peer;
		struct iovec iov = { .iov_base = pkt, .iov_len = sizeof(pkt) };
		struct msghdr mh = {
			.msg_name = &peer, .msg_namelen = sizeof(peer),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		if (peer.ss_family != srv->family || sockaddr_port(&peer) == 0)
			continue;
		if (mh.msg_flags & MSG_TRUNC)
			n = TFTP_REQUEST_MAX + 1; /* still "too long" for the parser */
		struct tftp_arrival arr = { .peer = peer, .peerlen = mh.msg_namelen };
		request_local(srv, &mh, &arr.local, &arr.locallen);
		(void)tftp_handle_request(srv, pkt, (size_t)n, &arr, &sink);
	}
}


/* Many concurrent transfers need many descriptors: one socket each. */
static void
raise_fd_limit(unsigned want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want + 64)
		log_warn("tftp", "open file limit %llu is below --tftp-max-transfers %u: "
		         "excess requests will be refused", (unsigned long long)rl.rlim_cur, want);
}

void
tftp_server_apply_settings(struct tftp_server *srv)
{
	if (!srv)
		return;
	unsigned rate = srv->nb->boot.cfg->tftp_rate;
	if (srv->requests_per_source.rate != rate)
		ratelimit_init(&srv->requests_per_source, rate, 2 * rate);
}

struct tftp_server *
tftp_server_new(struct netbootd *nb)
{
	const struct config *cfg = nb->boot.cfg;
	struct tftp_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	ratelimit_init(&srv->requests_per_source, cfg->tftp_rate, 2 * cfg->tftp_rate);
	srv->nb = nb;
	srv->fd = -1;
	srv->bound = cfg->tftp.addr;
	srv->family = cfg->tftp.addr.ss_family;
	srv->scratch = malloc(TFTP_WINDOW_BYTES_MAX);
	if (!srv->scratch) {
		free(srv);
		return NULL;
	}
	return srv;
}

int
tftp_server_start(struct netbootd *nb, struct tftp_server **out)
{
	const struct config *cfg = nb->boot.cfg;
	*out = NULL;
	struct tftp_server *srv = tftp_server_new(nb);
	if (!srv)
		return -ENOMEM;

	int one = 1, r;
	srv->fd = socket(srv->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->fd < 0) {
		r = -errno;
		log_error("tftp", "socket: %s", strerror(errno));
		goto fail;
	}
	/* No SO_REUSEADDR: nobody else may bind our port beside us (docs/security.md). */
	if (srv->family == AF_INET)
		(void)setsockopt(srv->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	else
		(void)setsockopt(srv->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	/* A boot storm sends hundreds of RRQs at once: room for them. */
	int rcvbuf = 1 << 20;
	(void)setsockopt(srv->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(srv->fd, (const struct sockaddr *)&cfg->tftp.addr, cfg->tftp.addrlen) < 0) {
		r = -errno;
		log_error("tftp", "cannot bind UDP %s: %s%s", cfg->tftp.text, strerror(errno),
		          errno == EADDRINUSE ? " (another TFTP server, or a second netbootd, holds it)" : "");
		goto fail;
	}
	srv->ev = event_new(nb->base, srv->fd, EV_READ | EV_PERSIST, on_listener_readable, srv);
	if (!srv->ev || event_priority_set(srv->ev, EVENT_PRIORITY_DATAGRAM) < 0 ||
	    event_add(srv->ev, NULL) < 0) {
		r = -ENOMEM;
		log_error("tftp", "cannot register the listener");
		goto fail;
	}
	raise_fd_limit(cfg->tftp_max_transfers);
	log_info("tftp", "listening on %s (blksize cap %s%u, windowsize cap %u, %u transfers, %u per client)",
	         cfg->tftp.text, cfg->tftp_max_blksize ? "" : "path MTU, at most ",
	         cfg->tftp_max_blksize ? cfg->tftp_max_blksize : TFTP_BLKSIZE_MAX, cfg->tftp_max_windowsize,
	         cfg->tftp_max_transfers, cfg->tftp_max_per_client);
	*out = srv;
	return 0;
fail:
	tftp_server_free(srv);
	return r;
}

void
tftp_server_free(struct tftp_server *srv)
{
	if (!srv)
		return;
	/* Transfers cut short by a shutdown still get their log line. */
	while (srv->transfers)
		transfer_end(srv->transfers, "failed: server shutting down", false, true);
	if (srv->ev)
		event_free(srv->ev);
	if (srv->fd >= 0)
		close(srv->fd);
	free(srv->scratch);
	free(srv);
}
