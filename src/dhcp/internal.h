/*
 * Inside the DHCP server: the state shared by its parts.
 *   pipeline.c     a message's way through: parse, is it for us, classify,
 *                  ask the planner, proxy or server mode (no sockets)
 *   reply.c        building a reply: destination (RFC 2131 4.1), options,
 *                  the one log line per boot client
 *   dhcp_server.c  sockets: listeners per interface, the packet socket for
 *                  link-layer unicast, batches and the group commit
 */
#ifndef NETBOOTD_DHCP_INTERNAL_H
#define NETBOOTD_DHCP_INTERNAL_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "boot/planner.h"
#include "dhcp/classify.h"
#include "dhcp/dhcp_server.h"
#include "model/config.h"
#include "model/machine.h"
#include "util/answerlog.h"
#include "util/log.h"
#include "util/ratelimit.h"
#include "wire/dhcp.h"

/* Messages per recvmmsg(), and such batches per group commit at most. */
#define DHCP_BATCH 64
#define DHCP_ROUNDS 4
/* dhcp-lease-rate's bucket: this many seconds' worth of new clients at once. */
#define DHCP_LEASE_BURST_SECONDS 10
/* How long an OFFER holds its address (RFC 2131 §4.3.1 leaves it to us). */
#define DHCP_OFFER_HOLD 60
#define DHCP_MAX_LISTENERS (2 * CONFIG_MAX_LIST + 2)

/*
 * An --interface: its listeners are bound to the device (SO_BINDTODEVICE),
 * which pins the device's index; when the device is deleted and created
 * again (a VM's tap, a USB NIC, a bridge rebuilt), they are reopened.
 */
struct dhcp_iface {
	char name[IF_NAMESIZE];
	int ifindex;                /* what the listeners are bound to; 0 while gone */
	int packetfd;               /* AF_PACKET for link-layer unicast: -1 if none */
};

struct dhcp_listener {
	struct dhcp_server *srv;
	int fd;                     /* -1 while its interface is gone */
	struct event *ev;
	bool pxe_port;
	unsigned port;
	struct dhcp_iface *iface;   /* NULL: all interfaces */
};

struct pending_reply {
	uint8_t buf[DHCP_MAX_REPLY];
	size_t len;
	struct sockaddr_in to;
	int ifindex;
	struct in_addr src;
	bool link_unicast;
	uint8_t chaddr[6];
};

struct dhcp_server {
	struct netbootd *nb;
	const struct config *cfg;
	struct lease_store *leases;
	time_t fixed_now;
	struct dhcp_listener listeners[DHCP_MAX_LISTENERS];
	size_t nlisteners;
	struct dhcp_iface ifaces[CONFIG_MAX_LIST];
	size_t nifaces;
	int linkfd;                    /* rtnetlink link changes: -1 if none */
	struct event *link_ev;
	struct pending_reply *pending; /* durable replies waiting for the commit */
	struct rx_slot *rx;            /* DHCP_BATCH receive buffers */
	size_t npending;
	int sendfd;                    /* the socket of the batch being handled */
	int packetfd;                  /* AF_PACKET on all interfaces (no --interface): -1 if none */
	struct answerlog logged;       /* one info line per client and answer */
	struct ratelimit new_leases;   /* --dhcp-lease-rate, per relay or arrival interface */
	time_t rate_logged_at;         /* one rate-limit line a second at most */
	uint64_t rate_refused;         /* since the last such line */
};

/* One message on its way through the pipeline. */
struct request_ctx {
	struct dhcp_server *srv;
	const struct dhcp_msg *msg;
	const struct dhcp_arrival *arr;
	const struct dhcp_sink *sink;
	struct machine m;
	enum boot_vendor vendor;
	bool boot_client;
	struct boot_answer ans;  /* valid when ans.answer */
};

/* ---- pipeline.c --------------------------------------------------------- */

/* The server's clock: time(), or the one a test pinned. */
time_t dhcp_now(const struct dhcp_server *srv);

/* ---- reply.c ------------------------------------------------------------ */

/* The client port: the server port + 1 (68 beside 67). */
uint16_t dhcp_client_port(const struct dhcp_server *srv);

/* True the first time this client gets this answer (log it), false for its repeats. */
bool dhcp_answer_is_new(struct dhcp_server *srv, const struct machine *m, const char *answer);

/* The pool's network: --netmask, else /24. */
struct in_addr dhcp_pool_netmask(const struct config *cfg);

/* Info the first time a client gets this answer, debug for its repeats. */
enum log_level dhcp_answer_log_level(struct dhcp_server *srv, const struct machine *m,
                                     const char *answer);

/*
 * Build and emit one reply. yiaddr 0 for proxy replies and INFORM; boot
 * options when the planner answered; lease options in server mode.
 * 0, or -EMSGSIZE when it does not fit the client's maximum (logged).
 */
int dhcp_send_reply(struct request_ctx *rq, uint8_t type, struct in_addr yiaddr, bool lease_opts,
                    bool lease_time, bool durable);

#endif
