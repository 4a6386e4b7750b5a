/*
 * DHCP: proxyDHCP on port 67, the PXE boot server on port 4011, and a full
 * DHCP server (RFC 2131) with crash-safe leases. The handler is a pipeline,
 * as in pixiecore: parse, is it for us, classify, ask the planner, build,
 * emit. Sockets live only in the event callbacks below it.
 */
#include "dhcp/dhcp_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "boot/planner.h"
#include "boot/timeline.h"
#include "daemon.h"
#include "dhcp/classify.h"
#include "dhcp/leases.h"
#include "model/bootconf.h"
#include "util/linkwatch.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/netaddr.h"
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

/*
 * Boot clients repeat themselves: DISCOVER then REQUEST, the same again on
 * port 4011, and a retry every few seconds while a reply is lost. The
 * operator wants one line per client and answer, so the first line for a
 * (MAC, answer) pair is logged at info and its repeats within
 * LOG_REPEAT_SECONDS at debug. A fixed table indexed by MAC: a collision
 * only costs an extra info line, and the wire can never grow it.
 */
#define LOG_SLOTS 256
#define LOG_REPEAT_SECONDS 60

struct logged_answer {
	uint8_t mac[6];
	uint32_t answer_hash;
	time_t at;
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
	struct logged_answer logged[LOG_SLOTS];
	struct ratelimit new_leases;   /* --dhcp-lease-rate, per relay or arrival interface */
	time_t rate_logged_at;         /* one rate-limit line a second at most */
	uint64_t rate_refused;         /* since the last such line */
};

static time_t
srv_now(const struct dhcp_server *srv)
{
	return srv->fixed_now ? srv->fixed_now : time(NULL);
}

void
dhcp_server_set_time(struct dhcp_server *srv, time_t now)
{
	srv->fixed_now = now;
}

#define FNV1A_START 2166136261u

static uint32_t
fnv1a(uint32_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* True the first time this client gets this answer (log it), false for its repeats. */
static bool
answer_is_new(struct dhcp_server *srv, const struct machine *m, const char *answer)
{
	uint32_t h = fnv1a(fnv1a(FNV1A_START, &m->kind, sizeof(m->kind)), answer, strlen(answer));
	struct logged_answer *slot = &srv->logged[fnv1a(FNV1A_START, m->mac, 6) % LOG_SLOTS];
	time_t now = srv_now(srv);
	bool repeat = memcmp(slot->mac, m->mac, 6) == 0 && slot->answer_hash == h &&
	              now >= slot->at && now - slot->at < LOG_REPEAT_SECONDS;
	memcpy(slot->mac, m->mac, 6);
	slot->answer_hash = h;
	slot->at = now;
	return !repeat;
}

static enum log_level
answer_log_level(struct dhcp_server *srv, const struct machine *m, const char *answer)
{
	return answer_is_new(srv, m, answer) ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG;
}

static uint16_t
client_port(const struct dhcp_server *srv)
{
	return (uint16_t)(srv->cfg->dhcp_port + 1);
}

/* ---- reply building ---------------------------------------------------- */

/*
 * RFC 2131 §4.1, "server transmits" rules. A client with no address that
 * did not set the broadcast bit gets an Ethernet unicast to chaddr with IP
 * destination yiaddr (returns true): no ARP entry can exist for it, and
 * adding one needs CAP_NET_ADMIN, gone after the privilege drop; so the frame
 * goes out on a packet socket opened before the drop.
 */
static bool
reply_destination(const struct dhcp_server *srv, const struct dhcp_msg *req, uint8_t type,
                  struct in_addr yiaddr, const struct dhcp_arrival *arr, struct sockaddr_in *to)
{
	memset(to, 0, sizeof(*to));
	to->sin_family = AF_INET;
	if (arr->pxe_port) {
		/* PXE 2.1 §2.2.4: the boot server answers the client where it asked from. */
		if (arr->from.sin_addr.s_addr && arr->from.sin_port) {
			*to = arr->from;
			return false;
		}
		/* An address-less sender: broadcast, never a reply to 0.0.0.0 (ourselves). */
		to->sin_port = htons(client_port(srv));
		to->sin_addr.s_addr = htonl(INADDR_BROADCAST);
		return false;
	}
	if (req->giaddr.s_addr) {
		/* RFC 2131 §4.1 / RFC 3046: through the relay, on the server port. */
		to->sin_addr = req->giaddr;
		to->sin_port = htons((uint16_t)srv->cfg->dhcp_port);
		return false;
	}
	to->sin_port = htons(client_port(srv));
	if (type != DHCPNAK && req->ciaddr.s_addr) {
		to->sin_addr = req->ciaddr;
		return false;
	}
	if (type != DHCPNAK && yiaddr.s_addr && !(req->flags & DHCP_FLAG_BROADCAST) &&
	    req->htype == 1 && req->hlen == 6 && arr->ifindex > 0) {
		to->sin_addr = yiaddr;
		return true;
	}
	to->sin_addr.s_addr = htonl(INADDR_BROADCAST);
	return false;
}

/* The largest reply this client takes (option 57), within one frame. */
static size_t
reply_capacity(const struct dhcp_msg *req)
{
	uint16_t max;
	size_t cap = DHCP_MIN_REPLY;
	if (dhcp_opt_u16(req, DHCP_OPT_MAX_SIZE, &max) == 0 && max >= 576) {
		/* Option 57 counts the IP and UDP headers (RFC 2132 §9.10). */
		cap = (size_t)max - 28;
		if (cap > DHCP_MAX_REPLY)
			cap = DHCP_MAX_REPLY;
	}
	return cap;
}

/* Option 60, 43, 67/file and 97 for a boot client. */
static void
add_boot_options(struct dhcp_builder *b, const struct dhcp_msg *req, const struct boot_answer *ans,
                 bool pxe_port)
{
	bool pxe = strcmp(ans->vendor_class, "HTTPClient") != 0;
	/* RFC 4578 §2 / PXE 2.1: without option 60 echoed, firmware ignores the reply. */
	dhcp_build_opt(b, DHCP_OPT_VENDOR_CLASS, ans->vendor_class, strlen(ans->vendor_class));
	if (pxe && !pxe_port) {
		/*
		 * PXE 2.1 §2.2.5, option 43 sub-option 6 (discovery control) = 8:
		 * the boot file is in this reply, skip boot server discovery.
		 * Firmware that ignores it asks port 4011, which we answer too.
		 */
		static const uint8_t vendor[] = { 6, 1, 8, 255 };
		dhcp_build_opt(b, DHCP_OPT_VENDOR, vendor, sizeof(vendor));
	} else if (pxe && pxe_port) {
		/* PXE 2.1 §2.2.6: the boot server ACK echoes the boot item (sub-option 71). */
		const struct dhcp_opt *o = &req->opt[DHCP_OPT_VENDOR];
		uint8_t vendor[8];
		size_t i = 0;
		while (o->present && i + 2 <= o->len) {
			uint8_t code = o->val[i], len = o->val[i + 1];
			if (code == 255 || (size_t)len > o->len - i - 2)
				break;
			if (code == 71 && len == 4) {
				vendor[0] = 71;
				vendor[1] = 4;
				memcpy(vendor + 2, o->val + i + 2, 4);
				vendor[6] = 255;
				dhcp_build_opt(b, DHCP_OPT_VENDOR, vendor, 7);
				break;
			}
			i += 2 + (size_t)len;
		}
	}
	size_t n = strlen(ans->bootfile);
	if (n < 128)
		dhcp_build_file(b, ans->bootfile);
	/* Option 67 as well: UEFI HTTP boot reads the URL from it. */
	dhcp_build_opt(b, DHCP_OPT_BOOTFILE, ans->bootfile, n); /* n <= 255: checked earlier */
	/* RFC 4578 §2.3: a PXE reply carries the client's GUID back. */
	const struct dhcp_opt *uuid = &req->opt[DHCP_OPT_CLIENT_UUID];
	if (uuid->present)
		dhcp_build_opt(b, DHCP_OPT_CLIENT_UUID, uuid->val, uuid->len);
}

/* The pool's network: --netmask, else /24. */
static struct in_addr
pool_netmask(const struct config *cfg)
{
	return cfg->netmask_set ? cfg->netmask : (struct in_addr){ .s_addr = htonl(0xffffff00u) };
}

/* The address options of server mode. */
static void
add_lease_options(const struct dhcp_server *srv, struct dhcp_builder *b, bool with_time)
{
	const struct config *cfg = srv->cfg;
	if (with_time) {
		dhcp_build_opt_u32(b, DHCP_OPT_LEASE_TIME, cfg->lease_time);
		dhcp_build_opt_u32(b, DHCP_OPT_RENEWAL_TIME, cfg->lease_time / 2);
		dhcp_build_opt_u32(b, DHCP_OPT_REBINDING_TIME, (uint32_t)((uint64_t)cfg->lease_time * 7 / 8));
	}
	dhcp_build_opt_addr(b, DHCP_OPT_SUBNET_MASK, pool_netmask(cfg));
	if (cfg->router_set)
		dhcp_build_opt_addr(b, DHCP_OPT_ROUTER, cfg->router);
	uint8_t dns[4 * CONFIG_MAX_LIST];
	size_t ndns = 0;
	for (size_t i = 0; i < cfg->dns.count; i++) {
		struct in_addr a;
		if (inet_pton(AF_INET, cfg->dns.items[i], &a) == 1) {
			memcpy(dns + 4 * ndns, &a, 4);
			ndns++;
		}
	}
	if (ndns)
		dhcp_build_opt(b, DHCP_OPT_DNS, dns, 4 * ndns);
	/* A domain too long for one option is left out rather than cut. */
	if (cfg->domain && *cfg->domain && strlen(cfg->domain) <= 255)
		dhcp_build_opt(b, DHCP_OPT_DOMAIN, cfg->domain, strlen(cfg->domain));
}

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

/*
 * Build and emit one reply. yiaddr 0 for proxy replies and INFORM; boot
 * options when the planner answered; lease options in server mode.
 */
static int
send_reply(struct request_ctx *rq, uint8_t type, struct in_addr yiaddr, bool lease_opts,
           bool lease_time, bool durable)
{
	struct dhcp_server *srv = rq->srv;
	const struct dhcp_msg *req = rq->msg;
	uint8_t buf[DHCP_MAX_REPLY];
	struct dhcp_builder b;
	bool boot = rq->ans.answer && type != DHCPNAK;
	/* iPXE ignores a proxy reply whose next-server is 0.0.0.0 (TESTBED.md). */
	struct in_addr siaddr = boot ? rq->m.server_ip : (struct in_addr){ 0 };

	dhcp_build_reply(&b, buf, reply_capacity(req), req, type, yiaddr, siaddr);
	dhcp_build_opt_addr(&b, DHCP_OPT_SERVER_ID, rq->m.server_ip);
	if (type != DHCPNAK) {
		if (lease_opts)
			add_lease_options(srv, &b, lease_time);
		if (boot)
			add_boot_options(&b, req, &rq->ans, rq->arr->pxe_port);
	}
	/* RFC 3046 §2.2: echo the relay agent information, last. */
	const struct dhcp_opt *o82 = &req->opt[DHCP_OPT_RELAY_AGENT];
	if (req->giaddr.s_addr && o82->present)
		dhcp_build_opt(&b, DHCP_OPT_RELAY_AGENT, o82->val, o82->len);
	int len = dhcp_build_finish(&b);
	if (len < 0) {
		char mac[18];
		log_warn("dhcp", "%s: %s does not fit in %zu bytes: not sent", mac_format(rq->m.mac, mac),
		         dhcp_type_name(type), reply_capacity(req));
		metrics.proto[METRICS_DHCP].errors++;
		return -EMSGSIZE;
	}
	struct dhcp_reply r = {
		.buf = buf,
		.len = (size_t)len,
		.ifindex = rq->arr->ifindex,
		/* The kernel's own address there: --server-addr may not be local (NAT, VIP). */
		.src = rq->arr->local.s_addr ? rq->arr->local : rq->m.server_ip,
		.durable = durable,
	};
	r.link_unicast = reply_destination(srv, req, type, yiaddr, rq->arr, &r.to);
	memcpy(r.chaddr, req->chaddr, 6);
	rq->sink->emit(rq->sink->ctx, &r);

	if (boot) {
		char mac[18], ip[INET_ADDRSTRLEN], arch[32];
		const char *an = rq->m.arch_set ? arch_name(rq->m.arch) : NULL;
		if (rq->m.arch_set)
			snprintf(arch, sizeof(arch), "%u (%s)", (unsigned)rq->m.arch, an ? an : "unknown");
		else
			snprintf(arch, sizeof(arch), "none");
		inet_ntop(AF_INET, &r.to.sin_addr, ip, sizeof(ip));
		/* The one line per boot client that says what happened. */
		log_msg(answer_log_level(rq->srv, &rq->m, rq->ans.bootfile), "dhcp",
		        "%s arch %s %s: %s%s %s (%s) to %s:%u%s", mac_format(rq->m.mac, mac),
		         arch, firmware_kind_name(rq->m.kind), dhcp_type_name(type),
		         rq->arr->pxe_port ? " [pxe port]" : "", rq->ans.bootfile, rq->ans.reason, ip,
		         (unsigned)ntohs(r.to.sin_port), req->giaddr.s_addr ? " via relay" : "");
		metrics.boots[rq->m.kind < FIRMWARE_KIND_COUNT ? rq->m.kind : FIRMWARE_UNKNOWN]++;
		if (rq->srv->nb->boot.timeline)
			timeline_dhcp(rq->srv->nb->boot.timeline, &rq->m, rq->ans.bootfile);
	}
	metrics.proto[METRICS_DHCP].bytes += (uint64_t)len;
	return 0;
}

/* ---- proxy mode and the PXE boot server -------------------------------- */

static int
handle_proxy(struct request_ctx *rq)
{
	const struct dhcp_msg *msg = rq->msg;
	if (!rq->ans.answer)
		return -ENOMSG;
	if (rq->arr->pxe_port) {
		/* PXE 2.1 §2.2.4: REQUEST (or INFORM) to the boot server gets an ACK. */
		if (msg->type != DHCPREQUEST && msg->type != DHCPINFORM)
			return -ENOMSG;
		return send_reply(rq, DHCPACK, (struct in_addr){ 0 }, false, false, false);
	}
	/* Answer REQUEST as well: some ROMs wait for the proxy's ACK. */
	if (msg->type == DHCPDISCOVER)
		return send_reply(rq, DHCPOFFER, (struct in_addr){ 0 }, false, false, false);
	if (msg->type == DHCPREQUEST)
		return send_reply(rq, DHCPACK, (struct in_addr){ 0 }, false, false, false);
	return -ENOMSG;
}

/* ---- server mode (RFC 2131 §4.3) ---------------------------------------- */

static const struct boot_host *
reservation(const struct dhcp_server *srv, const uint8_t mac[6])
{
	if (!srv->cfg->boot)
		return NULL;
	const struct boot_host *h = bootconf_host(srv->cfg->boot, mac);
	return h && h->address_set ? h : NULL;
}

static void
note_ip(struct request_ctx *rq, struct in_addr ip)
{
	rq->m.client_ip = ip;
	if (rq->srv->nb->boot.timeline && ip.s_addr)
		timeline_map_ip(rq->srv->nb->boot.timeline, ip, rq->m.mac);
}

/* Bind and ACK, the ACK held until the lease is on disk. */
static int
ack_lease(struct request_ctx *rq, struct in_addr ip)
{
	struct dhcp_server *srv = rq->srv;
	time_t now = srv_now(srv);
	if (leases_in_pool(srv->leases, ip)) {
		int r = leases_bind(srv->leases, rq->m.mac, ip, now + (time_t)srv->cfg->lease_time, now);
		if (r < 0)
			return send_reply(rq, DHCPNAK, (struct in_addr){ 0 }, false, false, false);
	}
	note_ip(rq, ip);
	return send_reply(rq, DHCPACK, ip, true, true, true);
}

/* Is ip this client's, to ACK: its lease or offer, or its fixed address. */
static bool
client_owns(struct request_ctx *rq, struct in_addr ip, bool *known)
{
	struct dhcp_server *srv = rq->srv;
	const struct boot_host *h = reservation(srv, rq->m.mac);
	*known = false;
	if (h && h->address.s_addr == ip.s_addr) {
		*known = true;
		return true;
	}
	if (!leases_in_pool(srv->leases, ip))
		return false;
	uint8_t owner[6];
	enum lease_state st = leases_owner(srv->leases, ip, srv_now(srv), owner);
	if (st == LEASE_FREE) {
		/* Back after its lease ran out, and nobody took the address since. */
		*known = leases_expired_owner(srv->leases, ip, srv_now(srv), rq->m.mac);
		return *known;
	}
	*known = true;
	return memcmp(owner, rq->m.mac, 6) == 0 && st != LEASE_DECLINED;
}

/*
 * RFC 2131 §4.3.1: a relayed client gets an address on the relay's network
 * (giaddr's). There is one pool, on one network: a relay elsewhere would
 * hand its clients an address they cannot use, so they get no OFFER and the
 * operator a warning that says why (once per client, like the boot lines).
 */
static bool
on_relay_network(struct request_ctx *rq, struct in_addr ip)
{
	struct in_addr gi = rq->msg->giaddr, netmask = pool_netmask(rq->srv->cfg);
	if (!gi.s_addr || ((ip.s_addr ^ gi.s_addr) & netmask.s_addr) == 0)
		return true;
	char mac[18], relay[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN], nm[INET_ADDRSTRLEN], why[64];
	inet_ntop(AF_INET, &gi, relay, sizeof(relay));
	inet_ntop(AF_INET, &ip, addr, sizeof(addr));
	inet_ntop(AF_INET, &netmask, nm, sizeof(nm));
	snprintf(why, sizeof(why), "relay %s off-network", relay);
	log_msg(answer_is_new(rq->srv, &rq->m, why) ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG, "dhcp",
	        "%s via relay %s: no OFFER: %s is not on the relay's network (netmask %s); "
	        "netbootd serves one network in server mode (use proxy mode beside that "
	        "network's DHCP server)", mac_format(rq->m.mac, mac), relay, addr, nm);
	return false;
}

/*
 * dhcp-lease-rate: a client that holds nothing yet takes a token from its
 * relay's bucket (giaddr), or its arrival interface's. One machine making
 * up MACs can then only take addresses at that rate; a rack powering on
 * fits in the burst. Refusals are summed in one line a second at most.
 */
static bool
new_lease_allowed(struct request_ctx *rq)
{
	struct dhcp_server *srv = rq->srv;
	struct in_addr held;
	time_t now = srv_now(srv);
	if (srv->cfg->dhcp_lease_rate == 0 || leases_find_mac(srv->leases, rq->m.mac, now, &held, NULL) == 0)
		return true;
	uint8_t key[5];
	if (rq->msg->giaddr.s_addr) {
		key[0] = 'r';
		memcpy(key + 1, &rq->msg->giaddr, 4);
	} else {
		key[0] = 'i';
		uint32_t idx = (uint32_t)rq->arr->ifindex;
		memcpy(key + 1, &idx, 4);
	}
	uint64_t now_ms = srv->fixed_now ? (uint64_t)srv->fixed_now * 1000 : monotonic_ms();
	if (ratelimit_take(&srv->new_leases, key, sizeof(key), now_ms))
		return true;
	srv->rate_refused++;
	if (now != srv->rate_logged_at) {
		char mac[18], where[INET_ADDRSTRLEN + 16];
		if (rq->msg->giaddr.s_addr) {
			memcpy(where, "relay ", 6);
			inet_ntop(AF_INET, &rq->msg->giaddr, where + 6, INET_ADDRSTRLEN);
		} else {
			/* Not if_indextoname(): it opens a socket, and the sandbox allows IP ones only. */
			snprintf(where, sizeof(where), "interface %d", rq->arr->ifindex);
			for (size_t i = 0; i < srv->nifaces; i++)
				if (srv->ifaces[i].ifindex == rq->arr->ifindex)
					snprintf(where, sizeof(where), "%s", srv->ifaces[i].name);
		}
		log_warn("dhcp", "%s: new clients faster than dhcp-lease-rate %u/s (burst %u) on %s: "
		         "%llu DISCOVER%s unanswered (the clients retry)", mac_format(rq->m.mac, mac),
		         srv->cfg->dhcp_lease_rate, srv->new_leases.burst, where,
		         (unsigned long long)srv->rate_refused, srv->rate_refused == 1 ? "" : "s");
		srv->rate_logged_at = now;
		srv->rate_refused = 0;
	}
	return false;
}

static int
server_discover(struct request_ctx *rq)
{
	struct dhcp_server *srv = rq->srv;
	time_t now = srv_now(srv);
	struct in_addr ip = { 0 }, want = { 0 };
	const struct boot_host *h = reservation(srv, rq->m.mac);
	char mac[18];

	bool fixed_outside_pool = h && !leases_in_pool(srv->leases, h->address);
	if (!on_relay_network(rq, fixed_outside_pool ? h->address : srv->cfg->pool_first))
		return -ENOMSG;
	if (fixed_outside_pool) {
		ip = h->address; /* outside the pool: nothing to record */
	} else {
		if (h)
			want = h->address;
		else
			(void)dhcp_opt_addr(rq->msg, DHCP_OPT_REQUESTED_IP, &want);
		if (!h && !new_lease_allowed(rq))
			return -ENOMSG;
		if (leases_offer(srv->leases, rq->m.mac, want, now, DHCP_OFFER_HOLD, &ip) < 0) {
			log_warn("dhcp", "%s: pool exhausted: no OFFER", mac_format(rq->m.mac, mac));
			return -ENOMSG;
		}
	}
	rq->m.client_ip = ip;
	return send_reply(rq, DHCPOFFER, ip, true, true, false);
}

static int
server_request(struct request_ctx *rq)
{
	struct dhcp_server *srv = rq->srv;
	const struct dhcp_msg *msg = rq->msg;
	struct in_addr sid = { 0 }, want = { 0 };
	bool has_sid = dhcp_opt_addr(msg, DHCP_OPT_SERVER_ID, &sid) == 0;
	bool has_want = dhcp_opt_addr(msg, DHCP_OPT_REQUESTED_IP, &want) == 0;
	bool known;

	if (has_sid) {
		/* SELECTING (§4.3.2): the client picked a server; maybe not us. */
		if (sid.s_addr != rq->m.server_ip.s_addr) {
			leases_unoffer(srv->leases, rq->m.mac, srv_now(srv));
			return -ENOMSG;
		}
		if (!has_want)
			want = msg->ciaddr;
		if (!want.s_addr)
			return -ENOMSG;
		if (client_owns(rq, want, &known))
			return ack_lease(rq, want);
		return send_reply(rq, DHCPNAK, (struct in_addr){ 0 }, false, false, false);
	}
	if (!msg->ciaddr.s_addr) {
		/* INIT-REBOOT: option 50 must be there. */
		if (!has_want)
			return -ENOMSG;
		if (client_owns(rq, want, &known))
			return ack_lease(rq, want);
		/* Wrong network or someone else's: NAK. No record of it: silence. */
		if (known || !leases_in_pool(srv->leases, want))
			return send_reply(rq, DHCPNAK, (struct in_addr){ 0 }, false, false, false);
		return -ENOMSG;
	}
	/* RENEWING (unicast) or REBINDING (broadcast): ciaddr is the lease. */
	if (client_owns(rq, msg->ciaddr, &known))
		return ack_lease(rq, msg->ciaddr);
	if (known)
		return send_reply(rq, DHCPNAK, (struct in_addr){ 0 }, false, false, false);
	return -ENOMSG;
}

static int
handle_server(struct request_ctx *rq)
{
	struct dhcp_server *srv = rq->srv;
	const struct dhcp_msg *msg = rq->msg;
	time_t now = srv_now(srv);
	struct in_addr a;

	if (rq->arr->pxe_port)
		return handle_proxy(rq);
	switch (msg->type) {
	case DHCPDISCOVER:
		return server_discover(rq);
	case DHCPREQUEST:
		return server_request(rq);
	case DHCPRELEASE:
		(void)leases_release(srv->leases, rq->m.mac, msg->ciaddr, now);
		return -ENOMSG;
	case DHCPDECLINE:
		/* RFC 2131 §4.3.3: the address is in use by someone else: park it. */
		if (dhcp_opt_addr(msg, DHCP_OPT_REQUESTED_IP, &a) == 0 &&
		    leases_decline(srv->leases, rq->m.mac, a, now + (time_t)srv->cfg->lease_time, now) == 0) {
			char ip[INET_ADDRSTRLEN], mac[18];
			inet_ntop(AF_INET, &a, ip, sizeof(ip));
			log_warn("dhcp", "%s declined %s: address parked", mac_format(rq->m.mac, mac), ip);
		}
		return -ENOMSG;
	case DHCPINFORM:
		/* §4.3.5: configuration only, no lease, no yiaddr. */
		return send_reply(rq, DHCPACK, (struct in_addr){ 0 }, true, false, false);
	default:
		return -ENOMSG;
	}
}

/* ---- the pipeline ------------------------------------------------------ */

int
dhcp_handle_message(struct dhcp_server *srv, const uint8_t *buf, size_t len,
                    const struct dhcp_arrival *arr, const struct dhcp_sink *sink)
{
	struct dhcp_msg msg;
	struct request_ctx rq = { .srv = srv, .msg = &msg, .arr = arr, .sink = sink };
	char mac[18];

	metrics.proto[METRICS_DHCP].requests++;
	int r = dhcp_parse(buf, len, &msg);
	if (r < 0) {
		metrics.proto[METRICS_DHCP].errors++;
		log_debug("dhcp", "malformed message (%zu bytes): %s: dropped", len, strerror(-r));
		return -EINVAL;
	}
	/* Only Ethernet requests: the MAC is the client's identity. */
	if (msg.op != DHCP_BOOTREQUEST || msg.htype != 1 || msg.hlen != 6 || msg.type == 0)
		return -ENOMSG;

	rq.m.server_ip = srv->cfg->server_addr_set ? srv->cfg->server_addr : arr->local;
	rq.vendor = dhcp_classify(&msg, &rq.m);
	rq.boot_client = rq.vendor != BOOT_VENDOR_NONE || rq.m.ipxe;
	if (!rq.m.server_ip.s_addr) {
		log_debug("dhcp", "%s: no local address known for the arrival interface: dropped",
		          mac_format(rq.m.mac, mac));
		return -ENOMSG;
	}
	/* dhcp-known-only: a MAC without a [host] section is not ours to answer. */
	if (srv->cfg->dhcp_known_only && !(srv->cfg->boot && bootconf_host(srv->cfg->boot, rq.m.mac))) {
		log_msg(answer_log_level(srv, &rq.m, "unknown"), "dhcp",
		        "%s %s: not answered: not a known host (dhcp-known-only)",
		        mac_format(rq.m.mac, mac), dhcp_type_name(msg.type));
		return -ENOMSG;
	}
	/* Whatever the mode, what the client says its address is feeds the timeline. */
	if (rq.m.client_ip.s_addr && srv->nb->boot.timeline)
		timeline_map_ip(srv->nb->boot.timeline, rq.m.client_ip, rq.m.mac);

	if (rq.boot_client) {
		planner_dhcp_answer(srv->cfg, &rq.m, &rq.ans);
		if (rq.ans.answer && strlen(rq.ans.bootfile) > 255) {
			/* Option 67 holds 255 bytes; a cut URL would boot the wrong thing. */
			rq.ans.answer = false;
			snprintf(rq.ans.reason, sizeof(rq.ans.reason),
			         "boot file name longer than 255 bytes (option 67)");
		}
		if (!rq.ans.answer || !rq.ans.bootfile[0]) {
			rq.ans.answer = false;
			log_msg(answer_log_level(srv, &rq.m, rq.ans.reason), "dhcp",
			        "%s %s %s: no boot answer (%s)", mac_format(rq.m.mac, mac),
			         firmware_kind_name(rq.m.kind), dhcp_type_name(msg.type), rq.ans.reason);
		}
	}
	if (srv->cfg->dhcp_mode == DHCP_MODE_SERVER && srv->leases)
		return handle_server(&rq);
	/* Proxy mode: a non-boot client never gets a reply. */
	if (!rq.boot_client)
		return -ENOMSG;
	return handle_proxy(&rq);
}

int
dhcp_server_commit(struct dhcp_server *srv)
{
	if (!srv->leases)
		return 0;
	return leases_commit(srv->leases, srv_now(srv));
}

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

/* RFC 1071 ones' complement sum, folded. */
static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * One IPv4/UDP datagram to an Ethernet address on a packet socket: the
 * kernel adds the Ethernet header (SOCK_DGRAM), we build IP and UDP.
 */
/* The packet socket that may send on ifindex: its interface's, or the all-interfaces one. */
static int
packet_fd_for(const struct dhcp_server *srv, int ifindex)
{
	for (size_t i = 0; i < srv->nifaces; i++)
		if (srv->ifaces[i].ifindex == ifindex && ifindex > 0)
			return srv->ifaces[i].packetfd;
	return srv->packetfd;
}

static int
send_link(const struct dhcp_server *srv, const uint8_t *buf, size_t len, struct in_addr dst,
          struct in_addr src, int ifindex, const uint8_t chaddr[6])
{
	uint8_t pkt[20 + 8 + DHCP_MAX_REPLY];
	if (len > DHCP_MAX_REPLY)
		return -EMSGSIZE;
	uint16_t sport = htons((uint16_t)srv->cfg->dhcp_port), dport = htons(client_port(srv));
	uint16_t iplen = htons((uint16_t)(20 + 8 + len)), udplen = htons((uint16_t)(8 + len));
	memset(pkt, 0, 28);
	pkt[0] = 0x45;         /* IPv4, 20-byte header */
	memcpy(pkt + 2, &iplen, 2);
	pkt[8] = 64;           /* TTL */
	pkt[9] = IPPROTO_UDP;
	memcpy(pkt + 12, &src, 4);
	memcpy(pkt + 16, &dst, 4);
	uint16_t c = htons(csum_fold(csum_add(0, pkt, 20)));
	memcpy(pkt + 10, &c, 2);
	memcpy(pkt + 20, &sport, 2);
	memcpy(pkt + 22, &dport, 2);
	memcpy(pkt + 24, &udplen, 2);
	memcpy(pkt + 28, buf, len);
	/* UDP checksum over the pseudo-header (RFC 768). */
	uint8_t pseudo[12];
	memcpy(pseudo, &src, 4);
	memcpy(pseudo + 4, &dst, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	memcpy(pseudo + 10, &udplen, 2);
	uint16_t uc = csum_fold(csum_add(csum_add(0, pseudo, 12), pkt + 20, 8 + len));
	if (uc == 0)
		uc = 0xffff;
	uc = htons(uc);
	memcpy(pkt + 26, &uc, 2);

	struct sockaddr_ll ll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = ifindex,
		.sll_halen = 6,
	};
	memcpy(ll.sll_addr, chaddr, 6);
	if (sendto(packet_fd_for(srv, ifindex), pkt, 28 + len, 0, (struct sockaddr *)&ll,
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
	if (!l->ev || event_add(l->ev, NULL) < 0) {
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

struct dhcp_server *
dhcp_server_new(struct netbootd *nb, bool open_leases)
{
	struct dhcp_server *srv = calloc(1, sizeof(*srv));
	const struct config *cfg = nb->boot.cfg;
	if (!srv)
		return NULL;
	srv->nb = nb;
	srv->cfg = cfg;
	srv->sendfd = -1;
	srv->packetfd = -1;
	srv->linkfd = -1;
	ratelimit_init(&srv->new_leases, cfg->dhcp_lease_rate,
	               cfg->dhcp_lease_rate * DHCP_LEASE_BURST_SECONDS);
	if (cfg->dhcp_mode != DHCP_MODE_SERVER || !cfg->pool_set)
		return srv;
	srv->leases = leases_new(cfg->pool_first, cfg->pool_last);
	if (!srv->leases) {
		log_error("dhcp", "--pool: empty, reversed or larger than 1M addresses");
		goto fail;
	}
	/* Fixed addresses inside the pool are kept for their hosts. */
	for (size_t i = 0; cfg->boot && i < bootconf_host_count(cfg->boot); i++) {
		const struct boot_host *h = bootconf_host_at(cfg->boot, i);
		if (h->address_set && leases_in_pool(srv->leases, h->address))
			(void)leases_reserve(srv->leases, h->address, h->mac);
	}
	if (open_leases && cfg->lease_file) {
		uid_t uid = (uid_t)-1;
		gid_t gid = (gid_t)-1;
		if (geteuid() == 0) {
			/* main() drops to this user after start: it must own what compaction touches. */
			struct passwd *pw = cfg->user ? getpwnam(cfg->user) : NULL;
			if (pw) {
				uid = pw->pw_uid;
				gid = pw->pw_gid;
			}
		}
		int r = leases_open(srv->leases, cfg->lease_file, uid, gid, srv_now(srv));
		if (r < 0) {
			log_error("dhcp", "--lease-file %s: %s", cfg->lease_file, strerror(-r));
			goto fail;
		}
	}
	return srv;
fail:
	dhcp_server_free(srv);
	return NULL;
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
		(void)leases_commit(srv->leases, srv_now(srv));
		leases_free(srv->leases);
	}
	free(srv->pending);
	free(srv->rx);
	free(srv);
}
