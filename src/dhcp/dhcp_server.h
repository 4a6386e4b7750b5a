/* The DHCP server: listener(s), sessions, and their event loop callbacks. */
#ifndef NETBOOTD_DHCP_SERVER_H
#define NETBOOTD_DHCP_SERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct netbootd;
struct dhcp_server;

/*
 * Bind the listener(s) described by nb->cfg and register them with
 * nb->base. Called before privileges are dropped. Returns 0, or -errno after
 * logging a one-line reason.
 */
int dhcp_server_start(struct netbootd *nb, struct dhcp_server **out);

/* Close every socket and session; safe on NULL. */
void dhcp_server_free(struct dhcp_server *srv);

/*
 * After a reload changed the settings in place: the new-client rate and
 * the [host] fixed addresses take effect; leases are kept. NULL is a no-op.
 */
void dhcp_server_apply_settings(struct dhcp_server *srv);

/* ---- the message handler, without sockets (unit tests, fuzzer) ---------- */

/* Where a request came from: the socket's port role and IP_PKTINFO. */
struct dhcp_arrival {
	bool pxe_port;              /* arrived on the PXE boot server port (4011) */
	int ifindex;                /* arrival interface, 0 if unknown */
	struct in_addr local;       /* our address on that interface (ipi_spec_dst) */
	struct sockaddr_in from;    /* the sender */
};

/* One reply to send. durable: only after leases_commit() succeeded. */
struct dhcp_reply {
	const uint8_t *buf;
	size_t len;
	struct sockaddr_in to;
	int ifindex;
	struct in_addr src;
	bool durable;
	/*
	 * RFC 2131 §4.1: to a client with no address yet that did not ask for
	 * broadcast: an Ethernet unicast to chaddr carrying an IP packet to
	 * yiaddr (to.sin_addr). Sent on a packet socket; broadcast if that fails.
	 */
	bool link_unicast;
	uint8_t chaddr[6];
};

struct dhcp_sink {
	void (*emit)(void *ctx, const struct dhcp_reply *reply);
	void *ctx;
};

/*
 * A server with no sockets: nb->cfg decides the mode; in server mode the
 * lease store is in memory unless cfg->lease_file is set and open_leases.
 */
struct dhcp_server *dhcp_server_new(struct netbootd *nb, bool open_leases);

/* Pin the clock (tests, fuzzer); 0 goes back to time(). */
void dhcp_server_set_time(struct dhcp_server *srv, time_t now);

/*
 * Handle one datagram: parse, classify, ask the planner, update leases,
 * and hand at most one reply to sink. Never trusts buf. Returns 0 when a
 * reply was emitted, -ENOMSG when the message was answered with silence,
 * -EINVAL when it was malformed.
 */
int dhcp_handle_message(struct dhcp_server *srv, const uint8_t *buf, size_t len,
                        const struct dhcp_arrival *arr, const struct dhcp_sink *sink);

/* Make journaled leases durable (group commit). Returns 0 or -errno. */
int dhcp_server_commit(struct dhcp_server *srv);

#endif
