/*
 * DHCPv6 for network boot (RFC 8415, RFC 5970): UEFI PXE and HTTP boot
 * over IPv6, and iPXE on an IPv6 link, learn their boot file URL (option
 * 59) here.
 *
 *   proxy   beside the LAN's own DHCPv6 server or SLAAC: boot clients get
 *           an ADVERTISE with the boot file URL and no address (EDK2 takes
 *           it as a "proxy offer"), the same in a REPLY to an
 *           INFORMATION-REQUEST (iPXE with an RA's O flag).
 *   server  an IA_NA address pool (--pool6, one /96) with crash-safe
 *           leases (--lease-file6, the same journal as DHCPv4's), for
 *           every client, the boot file URL for boot clients.
 *
 * Both modes answer the REQUEST EDK2 sends to port 4011 for its boot file
 * after an offer with the PXEClient class (RFC 5970 has no such step; EDK2
 * calls it BINL). The planner decides the boot file exactly as for DHCPv4; a TFTP file
 * name becomes tftp://[addr]/NAME, and HTTP URLs name our IPv6 address on
 * the client's link (or --server-addr6).
 */
#ifndef NETBOOTD_DHCP6_SERVER_H
#define NETBOOTD_DHCP6_SERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/linkwatch.h"

struct netbootd;
struct dhcp6_server;

/*
 * Bind UDP [::]:547 (and the PXE port), join ff02::1:2 on the interfaces
 * (--interface, else every multicast-capable one up at start), and
 * register with nb->base. Before privileges are dropped. 0 or -errno.
 */
int dhcp6_server_start(struct netbootd *nb, struct dhcp6_server **out);
void dhcp6_server_free(struct dhcp6_server *srv);

/* After a reload changed the settings in place: the new-client rate. NULL is a no-op. */
void dhcp6_server_apply_settings(struct dhcp6_server *srv);

/* ---- the message handler, without sockets (unit tests, fuzzer) ---------- */

struct dhcp6_arrival {
	bool pxe_port;              /* arrived on the PXE boot server port (4011) */
	int ifindex;
	struct sockaddr_in6 from;
	/* Our global address on the arrival link, for URLs; :: when it has none. */
	struct in6_addr local;
};

struct dhcp6_reply {
	const uint8_t *buf;
	size_t len;
	struct sockaddr_in6 to;
	bool durable;               /* sent only after the lease is on disk */
};

struct dhcp6_sink {
	void (*emit)(void *ctx, const struct dhcp6_reply *reply);
	void *ctx;
};

/*
 * A server with no sockets. duid: our server DUID (DUID-UUID from the
 * machine id at start-up; tests give their own). In server mode the lease
 * store is in memory unless open_leases and cfg->lease_file6.
 */
struct dhcp6_server *dhcp6_server_new(struct netbootd *nb, const uint8_t *duid, size_t duid_len,
                                      bool open_leases);
void dhcp6_server_set_time(struct dhcp6_server *srv, time_t now);

/*
 * Handle one datagram: at most one reply to sink. Returns 0 when a reply
 * was emitted, -ENOMSG when silence is the answer, -EINVAL when malformed.
 */
int dhcp6_handle_message(struct dhcp6_server *srv, const uint8_t *buf, size_t len,
                         const struct dhcp6_arrival *arr, const struct dhcp6_sink *sink);

/* Make journaled leases durable. 0 or -errno. */
int dhcp6_server_commit(struct dhcp6_server *srv);

/*
 * Of the links' IPv6 addresses, the one to name in URLs for a client on
 * ifindex: global scope, not tentative or failed DAD, one inside prefer's
 * /64 first (the pool's link), else the first. 0 or -ENOENT.
 */
int dhcp6_pick_local(const struct link_addr6 *addrs, size_t n, int ifindex,
                     const struct in6_addr *prefer, struct in6_addr *out);

#endif
