/*
 * Inside the DHCPv6 server: the state shared by its parts.
 *   pipeline.c       a message's way through (no sockets)
 *   dhcp6_server.c   the sockets, the multicast group, our address per link
 */
#ifndef NETBOOTD_DHCP6_INTERNAL_H
#define NETBOOTD_DHCP6_INTERNAL_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "boot/planner.h"
#include "dhcp6/dhcp6_server.h"
#include "model/config.h"
#include "model/machine.h"
#include "util/answerlog.h"
#include "util/log.h"
#include "util/ratelimit.h"
#include "wire/dhcp6.h"

/* --dhcp-lease-rate's bucket, as for DHCPv4: ten seconds' worth at once. */
#define DHCP6_LEASE_BURST_SECONDS 10
/* How long our address on a link is trusted before the kernel is asked again. */
#define DHCP6_LOCAL_TTL 10
#define DHCP6_MAX_LOCALS 32

struct local6 {
	int ifindex;
	time_t at;
	struct in6_addr addr;  /* :: when the link has no global address */
};

struct dhcp6_server {
	struct netbootd *nb;
	const struct config *cfg;
	struct lease_store *leases;
	time_t fixed_now;
	uint8_t duid[DHCP6_DUID_MAX];
	size_t duid_len;
	int fd;                        /* [::]:547 */
	int pxefd;                     /* [::]:4011, EDK2's boot file request */
	int nlfd;                      /* rtnetlink, to ask our addresses per link */
	struct event *ev, *pxe_ev;
	int ifindexes[CONFIG_MAX_LIST];/* --interface: only these; none: every link */
	size_t nifindexes;
	struct local6 locals[DHCP6_MAX_LOCALS];
	struct answerlog logged;
	struct ratelimit new_leases;
	uint64_t rate_refused;
};

/* One message on its way through. */
struct rq6 {
	struct dhcp6_server *srv;
	const struct dhcp6_msg *msg;       /* the client's message (inside any relays) */
	struct dhcp6_msg relays[DHCP6_HOP_COUNT_LIMIT]; /* outermost first */
	size_t nrelays;
	const struct dhcp6_arrival *arr;
	const struct dhcp6_sink *sink;
	struct machine m;
	bool boot_client;
	struct boot_answer ans;            /* valid when ans.answer */
};

#endif
