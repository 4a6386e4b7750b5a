/*
 * DHCP: proxyDHCP on port 67, the PXE boot server on port 4011, and a full
 * DHCP server (RFC 2131) with crash-safe leases. The handler is a pipeline,
 * as in pixiecore: parse, is it for us, classify, ask the planner, then the
 * proxy or the server rules, and at most one reply to the sink. No sockets
 * here: they live in dhcp_server.c.
 */
#include "dhcp/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/timeline.h"
#include "daemon.h"
#include "store/leases.h"
#include "boot/bootonce.h"
#include "boot/decision.h"
#include "model/bootconf.h"
#include "util/metrics.h"
#include "util/netaddr.h"

time_t
dhcp_now(const struct dhcp_server *srv)
{
	return srv->fixed_now ? srv->fixed_now : time(NULL);
}

void
dhcp_server_set_time(struct dhcp_server *srv, time_t now)
{
	srv->fixed_now = now;
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
		return dhcp_send_reply(rq, DHCPACK, (struct in_addr){ 0 }, false, false, false);
	}
	/* Answer REQUEST as well: some ROMs wait for the proxy's ACK. */
	if (msg->type == DHCPDISCOVER)
		return dhcp_send_reply(rq, DHCPOFFER, (struct in_addr){ 0 }, false, false, false);
	if (msg->type == DHCPREQUEST)
		return dhcp_send_reply(rq, DHCPACK, (struct in_addr){ 0 }, false, false, false);
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
	time_t now = dhcp_now(srv);
	if (leases_in_pool(srv->leases, ip)) {
		int r = leases_bind(srv->leases, rq->m.mac, ip, now + (time_t)srv->cfg->lease_time, now);
		if (r < 0)
			return dhcp_send_reply(rq, DHCPNAK, (struct in_addr){ 0 }, false, false, false);
	}
	note_ip(rq, ip);
	return dhcp_send_reply(rq, DHCPACK, ip, true, true, true);
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
	enum lease_state st = leases_owner(srv->leases, ip, dhcp_now(srv), owner);
	if (st == LEASE_FREE) {
		/* Back after its lease ran out, and nobody took the address since. */
		*known = leases_expired_owner(srv->leases, ip, dhcp_now(srv), rq->m.mac);
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
	struct in_addr gi = rq->msg->giaddr, netmask = dhcp_pool_netmask(rq->srv->cfg);
	if (!gi.s_addr || ((ip.s_addr ^ gi.s_addr) & netmask.s_addr) == 0)
		return true;
	char mac[18], relay[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN], nm[INET_ADDRSTRLEN], why[64];
	inet_ntop(AF_INET, &gi, relay, sizeof(relay));
	inet_ntop(AF_INET, &ip, addr, sizeof(addr));
	inet_ntop(AF_INET, &netmask, nm, sizeof(nm));
	snprintf(why, sizeof(why), "relay %s off-network", relay);
	log_msg(dhcp_answer_is_new(rq->srv, &rq->m, why) ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG, "dhcp",
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
	time_t now = dhcp_now(srv);
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
	time_t now = dhcp_now(srv);
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
	return dhcp_send_reply(rq, DHCPOFFER, ip, true, true, false);
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
			leases_unoffer(srv->leases, rq->m.mac, dhcp_now(srv));
			return -ENOMSG;
		}
		if (!has_want)
			want = msg->ciaddr;
		if (!want.s_addr)
			return -ENOMSG;
		if (client_owns(rq, want, &known))
			return ack_lease(rq, want);
		return dhcp_send_reply(rq, DHCPNAK, (struct in_addr){ 0 }, false, false, false);
	}
	if (!msg->ciaddr.s_addr) {
		/* INIT-REBOOT: option 50 must be there. */
		if (!has_want)
			return -ENOMSG;
		if (client_owns(rq, want, &known))
			return ack_lease(rq, want);
		/* Wrong network or someone else's: NAK. No record of it: silence. */
		if (known || !leases_in_pool(srv->leases, want))
			return dhcp_send_reply(rq, DHCPNAK, (struct in_addr){ 0 }, false, false, false);
		return -ENOMSG;
	}
	/* RENEWING (unicast) or REBINDING (broadcast): ciaddr is the lease. */
	if (client_owns(rq, msg->ciaddr, &known))
		return ack_lease(rq, msg->ciaddr);
	if (known)
		return dhcp_send_reply(rq, DHCPNAK, (struct in_addr){ 0 }, false, false, false);
	return -ENOMSG;
}

static int
handle_server(struct request_ctx *rq)
{
	struct dhcp_server *srv = rq->srv;
	const struct dhcp_msg *msg = rq->msg;
	time_t now = dhcp_now(srv);
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
		return dhcp_send_reply(rq, DHCPACK, (struct in_addr){ 0 }, true, false, false);
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
		log_msg(dhcp_answer_log_level(srv, &rq.m, "unknown"), "dhcp",
		        "%s %s: not answered: not a known host (dhcp-known-only)",
		        mac_format(rq.m.mac, mac), dhcp_type_name(msg.type));
		return -ENOMSG;
	}
	/* Whatever the mode, what the client says its address is feeds the timeline. */
	if (rq.m.client_ip.s_addr && srv->nb->boot.timeline)
		timeline_map_ip(srv->nb->boot.timeline, rq.m.client_ip, rq.m.mac);

	if (rq.boot_client) {
		rq.m.local_disk = bootonce_local_disk(&srv->nb->boot, rq.m.mac);
		decisions_prefetch(srv->nb->boot.decisions, rq.m.mac, rq.m.arch_set ? rq.m.arch : -1);
		planner_dhcp_answer(srv->cfg, &rq.m, &rq.ans);
		if (rq.ans.answer && strlen(rq.ans.bootfile) > 255) {
			/* Option 67 holds 255 bytes; a cut URL would boot the wrong thing. */
			rq.ans.answer = false;
			snprintf(rq.ans.reason, sizeof(rq.ans.reason),
			         "boot file name longer than 255 bytes (option 67)");
		}
		if (!rq.ans.answer || !rq.ans.bootfile[0]) {
			rq.ans.answer = false;
			log_msg(dhcp_answer_log_level(srv, &rq.m, rq.ans.reason), "dhcp",
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
	return leases_commit(srv->leases, dhcp_now(srv));
}

/* Fixed addresses inside the pool are kept for their hosts. */
static void
reserve_fixed_addresses(struct dhcp_server *srv)
{
	const struct bootconf *bc = srv->cfg->boot;
	for (size_t i = 0; bc && i < bootconf_host_count(bc); i++) {
		const struct boot_host *h = bootconf_host_at(bc, i);
		if (h->address_set && leases_in_pool(srv->leases, h->address))
			(void)leases_reserve(srv->leases, h->address, h->mac);
	}
}

void
dhcp_server_apply_settings(struct dhcp_server *srv)
{
	if (!srv)
		return;
	const struct config *cfg = srv->cfg;
	if (srv->new_leases.rate != cfg->dhcp_lease_rate)
		ratelimit_init(&srv->new_leases, cfg->dhcp_lease_rate,
		               cfg->dhcp_lease_rate * DHCP_LEASE_BURST_SECONDS);
	if (srv->leases) {
		leases_clear_reservations(srv->leases);
		reserve_fixed_addresses(srv);
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
	reserve_fixed_addresses(srv);
	if (open_leases && cfg->lease_file) {
		int r = leases_open_as(srv->leases, cfg->lease_file, cfg->user, dhcp_now(srv));
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
