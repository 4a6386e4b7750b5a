/*
 * DHCPv6: a message's way through, as for DHCPv4 (dhcp/pipeline.c): parse,
 * unwrap relays, who is it, ask the planner, then the proxy or the server
 * rules, and at most one reply to the sink. No sockets here.
 */
#include "dhcp6/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "boot/bootonce.h"
#include "boot/decision.h"
#include "boot/planner.h"
#include "boot/timeline.h"
#include "daemon.h"
#include "store/leases.h"
#include "model/bootconf.h"
#include "util/metrics.h"
#include "util/netaddr.h"
#include "wire/be.h"

/* What an OFFER-like ADVERTISE holds its address for. */
#define DHCP6_ADVERTISE_HOLD 60

static time_t
now_of(const struct dhcp6_server *srv)
{
	return srv->fixed_now ? srv->fixed_now : time(NULL);
}

void
dhcp6_server_set_time(struct dhcp6_server *srv, time_t now)
{
	srv->fixed_now = now;
}

/* ---- who is asking ------------------------------------------------------ */

/*
 * The client's MAC: a relay's option 79 (RFC 6939) in the first-hop relay
 * message, else its DUID when that holds one, else the EUI-64 of the
 * link-local address it sent from (EDK2 makes a DUID-UUID when the machine
 * has an SMBIOS UUID, but its link-local address comes from the MAC).
 */
static int
client_mac(const struct rq6 *rq, uint8_t mac[6])
{
	if (rq->nrelays && dhcp6_client_mac(&rq->relays[rq->nrelays - 1], mac) == 0 &&
	    !rq->relays[rq->nrelays - 1].opt[DHCP6_OPT_CLIENTID].present)
		return 0;
	if (dhcp6_client_mac(rq->msg, mac) == 0)
		return 0;
	if (!rq->nrelays && IN6_IS_ADDR_LINKLOCAL(&rq->arr->from.sin6_addr))
		return dhcp6_eui64_mac(&rq->arr->from.sin6_addr, mac);
	return -ENOENT;
}

static bool
oro_has(const struct dhcp6_msg *msg, uint16_t code)
{
	const struct dhcp6_opt *o = &msg->opt[DHCP6_OPT_ORO];
	for (size_t i = 0; o->present && i + 1 < o->len; i += 2)
		if (be16_get(o->val + i) == code)
			return true;
	return false;
}

/* The firmware's view of itself, as dhcp_classify() makes it from DHCPv4. */
static void
classify(struct rq6 *rq)
{
	const struct dhcp6_msg *msg = rq->msg;
	struct machine *m = &rq->m;
	bool pxe = dhcp6_vendor_class_has(msg, "PXEClient");
	bool http = dhcp6_vendor_class_has(msg, "HTTPClient");
	uint16_t arch;
	if (dhcp6_client_arch(msg, &arch) == 0) {
		m->arch = arch;
		m->arch_set = true;
	}
	m->ipxe = dhcp6_user_class_has(msg, "iPXE");
	if (m->ipxe)
		snprintf(m->user_class, sizeof(m->user_class), "iPXE");
	/* No BIOS PXE ROM speaks DHCPv6; option 61 alone says PXE or HTTP by its value. */
	if (!pxe && !http && m->arch_set)
		http = m->arch == ARCH_X86_UEFI_HTTP || m->arch == ARCH_X64_UEFI_HTTP ||
		       m->arch == ARCH_ARM32_UEFI_HTTP || m->arch == ARCH_ARM64_UEFI_HTTP ||
		       m->arch == ARCH_RISCV32_UEFI_HTTP || m->arch == ARCH_RISCV64_UEFI_HTTP;
	if (m->ipxe)
		m->kind = FIRMWARE_IPXE;
	else if (http)
		m->kind = FIRMWARE_UEFI_HTTP;
	else if (pxe || m->arch_set)
		m->kind = FIRMWARE_UEFI_PXE;
	else
		m->kind = FIRMWARE_UNKNOWN;
	/*
	 * Option 59 in the request list alone does not make a boot client: a
	 * plain OS client may ask for it too, and without its architecture there
	 * is nothing to choose.
	 */
	rq->boot_client = m->kind != FIRMWARE_UNKNOWN;
}

static enum log_level
answer_level(struct rq6 *rq, const char *answer)
{
	return answerlog_is_new(&rq->srv->logged, rq->m.mac, (int)rq->m.kind, answer, now_of(rq->srv))
	               ? LOG_LEVEL_INFO
	               : LOG_LEVEL_DEBUG;
}

/*
 * The planner's answer as option 59 wants it: a URL. A TFTP file name
 * becomes tftp://[addr]/NAME (RFC 5970 §3.1), which needs a TFTP listener
 * that IPv6 clients reach.
 */
static void
plan(struct rq6 *rq)
{
	struct dhcp6_server *srv = rq->srv;
	const struct config *cfg = srv->cfg;
	char mac[18];
	rq->m.local_disk = bootonce_local_disk(&srv->nb->boot, rq->m.mac);
	decisions_prefetch(srv->nb->boot.decisions, rq->m.mac, rq->m.arch_set ? rq->m.arch : -1);
	planner_dhcp_answer(cfg, &rq->m, &rq->ans);
	if (rq->ans.answer && rq->ans.bootfile[0] && !bootconf_is_url(rq->ans.bootfile)) {
		if (!cfg->tftp.enabled || cfg->tftp.addr.ss_family != AF_INET6) {
			rq->ans.answer = false;
			snprintf(rq->ans.reason, sizeof(rq->ans.reason),
			         "%.100s is a TFTP file and no TFTP listener takes IPv6 (--tftp [::]:69)",
			         rq->ans.bootfile);
		} else {
			char a6[INET6_ADDRSTRLEN], port[8] = "", url[sizeof(rq->ans.bootfile)];
			uint16_t p = ntohs(sockaddr_port(&cfg->tftp.addr));
			inet_ntop(AF_INET6, &rq->m.server_ip6, a6, sizeof(a6));
			if (p != 69)
				snprintf(port, sizeof(port), ":%u", p);
			int n = snprintf(url, sizeof(url), "tftp://[%s]%s/%s", a6, port, rq->ans.bootfile);
			if (n < 0 || (size_t)n >= sizeof(url)) {
				rq->ans.answer = false;
				snprintf(rq->ans.reason, sizeof(rq->ans.reason), "boot file URL too long");
			} else {
				memcpy(rq->ans.bootfile, url, (size_t)n + 1);
			}
		}
	}
	if (!rq->ans.answer || !rq->ans.bootfile[0]) {
		rq->ans.answer = false;
		log_msg(answer_level(rq, rq->ans.reason), "dhcp6", "%s %s %s: no boot answer (%s)",
		        mac_format(rq->m.mac, mac), firmware_kind_name(rq->m.kind),
		        dhcp6_type_name(rq->msg->type), rq->ans.reason);
	}
}

/* ---- replies ----------------------------------------------------------- */

static void
add_dns(struct dhcp6_builder *b, const struct config *cfg, const struct dhcp6_msg *msg)
{
	uint8_t addrs[16 * CONFIG_MAX_LIST];
	size_t n = 0;
	if (!oro_has(msg, DHCP6_OPT_DNS_SERVERS))
		return;
	for (size_t i = 0; i < cfg->dns.count; i++) {
		struct in6_addr a;
		if (inet_pton(AF_INET6, cfg->dns.items[i], &a) == 1)
			memcpy(addrs + 16 * n++, &a, 16);
	}
	if (n)
		dhcp6_build_opt(b, DHCP6_OPT_DNS_SERVERS, addrs, 16 * n);
}

/*
 * The reply to the client, wrapped in one RELAY-REPL per relay it came
 * through (innermost first), then to the sink.
 */
static int
emit(struct rq6 *rq, const uint8_t *buf, size_t len, bool durable)
{
	uint8_t wrap[2][DHCP6_MAX_REPLY];
	const uint8_t *cur = buf;
	size_t curlen = len;
	for (size_t k = rq->nrelays; k-- > 0;) {
		struct dhcp6_builder b;
		uint8_t *out = wrap[k % 2];
		dhcp6_build_relay_reply(&b, out, sizeof(wrap[0]), &rq->relays[k]);
		dhcp6_build_opt(&b, DHCP6_OPT_RELAY_MSG, cur, curlen);
		int n = dhcp6_build_finish(&b);
		if (n < 0)
			return -EMSGSIZE;
		cur = out;
		curlen = (size_t)n;
	}
	struct dhcp6_reply r = { .buf = cur, .len = curlen, .to = rq->arr->from, .durable = durable };
	/* RFC 8415 §19.3: RELAY-REPL to the relay's server port. */
	if (rq->nrelays)
		r.to.sin6_port = htons(DHCP6_SERVER_PORT);
	rq->sink->emit(rq->sink->ctx, &r);
	metrics.proto[METRICS_DHCP].bytes += curlen;
	return 0;
}

/*
 * Option 16 in our answer, as EDK2 reads it. HTTP boot wants "HTTPClient"
 * echoed. For PXE, "PXEClient" makes the answer a BINL offer: EDK2 then
 * asks port 4011 for the boot file before it has configured the address it
 * was given, and on Debian 12's OVMF that request never leaves (seen in
 * tests/e2e/test_boot_ipv6.py: "PXE-E16: No valid offer received"). So an
 * offer with an address carries the URL alone (EDK2's "DHCP only with boot
 * file"), and only a proxy's offer, which has no address, is a BINL offer.
 */
static bool
wants_class(const struct rq6 *rq, bool with_address)
{
	return rq->m.kind == FIRMWARE_UEFI_HTTP || !with_address;
}

/* Every answer starts the same: its type, the client's transaction id, our DUID, its DUID. */
static void
start_reply(const struct rq6 *rq, struct dhcp6_builder *b, uint8_t *buf, size_t cap, uint8_t type)
{
	const struct dhcp6_opt *cid = &rq->msg->opt[DHCP6_OPT_CLIENTID];
	dhcp6_build_start(b, buf, cap, type, rq->msg->xid);
	dhcp6_build_opt(b, DHCP6_OPT_SERVERID, rq->srv->duid, rq->srv->duid_len);
	if (cid->present)
		dhcp6_build_opt(b, DHCP6_OPT_CLIENTID, cid->val, cid->len);
}

/*
 * One reply: our DUID, the client's, its IA_NA (addr NULL: a status
 * instead, or none at all when ia is NULL or status is 0 with no addr),
 * DNS, and for a boot client the boot file URL and its vendor class.
 */
static int
reply(struct rq6 *rq, uint8_t type, const struct dhcp6_ia *ia, const struct in6_addr *addr,
      uint16_t ia_status, const char *why, bool durable)
{
	struct dhcp6_server *srv = rq->srv;
	const struct dhcp6_msg *msg = rq->msg;
	uint8_t buf[DHCP6_MAX_REPLY];
	struct dhcp6_builder b;
	start_reply(rq, &b, buf, sizeof(buf), type);
	/* RFC 8415 §18.2.1: 255 ends the client's wait for other servers' ADVERTISEs. */
	if (type == DHCP6_ADVERTISE && addr) {
		uint8_t pref = 255;
		dhcp6_build_opt(&b, DHCP6_OPT_PREFERENCE, &pref, 1);
	}
	if (ia && (addr || ia_status))
		dhcp6_build_ia_na(&b, ia, addr, srv->cfg->lease_time, ia_status, why);
	if (srv->cfg->dhcp6_mode == DHCP_MODE_SERVER)
		add_dns(&b, srv->cfg, msg);
	bool boot = rq->ans.answer;
	if (boot) {
		dhcp6_build_opt(&b, DHCP6_OPT_BOOTFILE_URL, rq->ans.bootfile, strlen(rq->ans.bootfile));
		if (wants_class(rq, addr != NULL))
			dhcp6_build_vendor_class(&b, DHCP6_ENTERPRISE_PXE, rq->ans.vendor_class);
	}
	int len = dhcp6_build_finish(&b);
	if (len < 0) {
		char mac[18];
		log_warn("dhcp6", "%s: %s does not fit in %d bytes: not sent", mac_format(rq->m.mac, mac),
		         dhcp6_type_name(type), DHCP6_MAX_REPLY);
		metrics.proto[METRICS_DHCP].errors++;
		return -EMSGSIZE;
	}
	int r = emit(rq, buf, (size_t)len, durable);
	if (r == 0 && boot) {
		char mac[18], a6[INET6_ADDRSTRLEN], arch[32];
		inet_ntop(AF_INET6, &rq->arr->from.sin6_addr, a6, sizeof(a6));
		log_msg(answer_level(rq, rq->ans.bootfile), "dhcp6", "%s arch %s %s: %s%s %s (%s) to [%s]%s",
		        mac_format(rq->m.mac, mac), machine_arch_text(&rq->m, arch),
		        firmware_kind_name(rq->m.kind), dhcp6_type_name(type), rq->arr->pxe_port ? " [pxe port]" : "", rq->ans.bootfile,
		        rq->ans.reason, a6, rq->nrelays ? " via relay" : "");
		metrics.boots[rq->m.kind < FIRMWARE_KIND_COUNT ? rq->m.kind : FIRMWARE_UNKNOWN]++;
		if (srv->nb->boot.timeline) {
			timeline_dhcp(srv->nb->boot.timeline, &rq->m, rq->ans.bootfile);
			if (!rq->nrelays)
				timeline_map_ip6(srv->nb->boot.timeline, &rq->arr->from.sin6_addr, rq->m.mac);
		}
	}
	return r;
}

/* A REPLY with only a status (RELEASE, DECLINE, CONFIRM: RFC 8415 §18.3.6-8). */
static int
reply_status(struct rq6 *rq, uint16_t status, const char *why)
{
	uint8_t buf[DHCP6_MAX_REPLY];
	struct dhcp6_builder b;
	start_reply(rq, &b, buf, sizeof(buf), DHCP6_REPLY);
	dhcp6_build_status(&b, status, why);
	int len = dhcp6_build_finish(&b);
	return len < 0 ? -EMSGSIZE : emit(rq, buf, (size_t)len, true);
}

/* ---- proxy mode --------------------------------------------------------- */

static int
handle_proxy(struct rq6 *rq)
{
	if (!rq->boot_client || !rq->ans.answer)
		return -ENOMSG;
	switch (rq->msg->type) {
	case DHCP6_SOLICIT:
		/*
		 * No IA_NA at all: with an IA holding NoAddrsAvail, EDK2's DHCPv6
		 * drops the ADVERTISE before PXE sees it; without one, PXE keeps it
		 * as the proxy offer beside the LAN server's address.
		 */
		return rq->arr->pxe_port ? -ENOMSG : reply(rq, DHCP6_ADVERTISE, NULL, NULL, 0, NULL, false);
	case DHCP6_REQUEST:
	case DHCP6_INFORMATION_REQUEST:
		/* EDK2 asks port 4011 for its boot file; iPXE after an RA's O flag. */
		return reply(rq, DHCP6_REPLY, NULL, NULL, 0, NULL, false);
	default:
		return -ENOMSG;
	}
}

/* ---- server mode (RFC 8415 §18.3) --------------------------------------- */

static bool
same_64(const struct in6_addr *a, const struct in6_addr *b)
{
	return memcmp(a->s6_addr, b->s6_addr, 8) == 0;
}

/* A first-hop relay on another link than the pool's gets no address from it. */
static bool
pool_serves_link(const struct rq6 *rq)
{
	if (!rq->nrelays)
		return true;
	const struct in6_addr *link = &rq->relays[rq->nrelays - 1].link;
	return IN6_IS_ADDR_UNSPECIFIED(link) || same_64(link, &rq->srv->cfg->pool6_first);
}

/* The client's address: the one it asked for when free or its own, else any free one. */
static int
offer_address(struct rq6 *rq, const struct dhcp6_ia *ia, struct in6_addr *out)
{
	struct dhcp6_server *srv = rq->srv;
	time_t now = now_of(srv);
	struct in_addr want = { 0 }, got;
	enum lease_state st;
	if (!pool_serves_link(rq))
		return -ENETUNREACH;
	if (leases_find_mac(srv->leases, rq->m.mac, now, &got, &st) == 0 && st != LEASE_DECLINED) {
		leases_addr6(srv->leases, got, out);
		return 0;
	}
	if (ia->has_addr)
		want = leases_key6(srv->leases, &ia->addr);
	if (!ratelimit_take(&srv->new_leases, "pool", 4, (uint64_t)now * 1000)) {
		char mac[18];
		srv->rate_refused++;
		log_msg(answerlog_is_new(&srv->logged, rq->m.mac, -1, "rate", now) ? LOG_LEVEL_WARN
		                                                                   : LOG_LEVEL_DEBUG,
		        "dhcp6", "%s: no new address: --dhcp-lease-rate %u a second reached "
		        "(%llu refused so far)", mac_format(rq->m.mac, mac), srv->cfg->dhcp_lease_rate,
		        (unsigned long long)srv->rate_refused);
		return -EBUSY;
	}
	int r = leases_offer(srv->leases, rq->m.mac, want, now, DHCP6_ADVERTISE_HOLD, &got);
	if (r < 0)
		return r;
	leases_addr6(srv->leases, got, out);
	return 0;
}

static int
server_solicit(struct rq6 *rq, const struct dhcp6_ia *ia)
{
	struct in6_addr a;
	if (!ia)
		return reply(rq, DHCP6_ADVERTISE, NULL, NULL, 0, NULL, false);
	if (offer_address(rq, ia, &a) < 0)
		return reply(rq, DHCP6_ADVERTISE, ia, NULL, DHCP6_STATUS_NO_ADDRS_AVAIL,
		             "no address for this client", false);
	return reply(rq, DHCP6_ADVERTISE, ia, &a, 0, NULL, false);
}

/* REQUEST (and a RENEW or REBIND of its own address): bind, REPLY after the commit. */
static int
server_bind(struct rq6 *rq, const struct dhcp6_ia *ia, bool new_ok)
{
	struct dhcp6_server *srv = rq->srv;
	time_t now = now_of(srv);
	struct in6_addr a;
	if (!ia)
		return reply(rq, DHCP6_REPLY, NULL, NULL, 0, NULL, false);
	struct in_addr key = ia->has_addr ? leases_key6(srv->leases, &ia->addr) : (struct in_addr){ 0 };
	uint8_t owner[6];
	bool own = ia->has_addr && leases_in_pool(srv->leases, key) &&
	           (leases_owner(srv->leases, key, now, owner) != LEASE_FREE
	                    ? memcmp(owner, rq->m.mac, 6) == 0
	                    : leases_expired_owner(srv->leases, key, now, rq->m.mac));
	if (own) {
		a = ia->addr;
	} else if (!new_ok) {
		return reply(rq, DHCP6_REPLY, ia, NULL, DHCP6_STATUS_NO_BINDING, "no binding for this IA",
		             false);
	} else if (offer_address(rq, ia, &a) < 0) {
		return reply(rq, DHCP6_REPLY, ia, NULL, DHCP6_STATUS_NO_ADDRS_AVAIL,
		             "no address for this client", false);
	}
	key = leases_key6(srv->leases, &a);
	if (leases_bind(srv->leases, rq->m.mac, key, now + (time_t)srv->cfg->lease_time, now) < 0)
		return reply(rq, DHCP6_REPLY, ia, NULL, DHCP6_STATUS_NO_ADDRS_AVAIL,
		             "the address is not free", false);
	if (srv->nb->boot.timeline)
		timeline_map_ip6(srv->nb->boot.timeline, &a, rq->m.mac);
	return reply(rq, DHCP6_REPLY, ia, &a, 0, NULL, true);
}

static int
handle_server(struct rq6 *rq)
{
	struct dhcp6_server *srv = rq->srv;
	const struct dhcp6_msg *msg = rq->msg;
	struct dhcp6_ia ia;
	time_t now = now_of(srv);
	const struct dhcp6_ia *has_ia = dhcp6_ia_na(msg, &ia) ? &ia : NULL;
	switch (msg->type) {
	case DHCP6_SOLICIT:
		return server_solicit(rq, has_ia);
	case DHCP6_REQUEST:
		return server_bind(rq, has_ia, true);
	case DHCP6_RENEW:
	case DHCP6_REBIND:
		return server_bind(rq, has_ia, false);
	case DHCP6_RELEASE:
		if (ia.has_addr)
			(void)leases_release(srv->leases, rq->m.mac, leases_key6(srv->leases, &ia.addr), now);
		return reply_status(rq, DHCP6_STATUS_SUCCESS, "released");
	case DHCP6_DECLINE:
		if (ia.has_addr)
			(void)leases_decline(srv->leases, rq->m.mac, leases_key6(srv->leases, &ia.addr),
			                     now + (time_t)srv->cfg->lease_time, now);
		return reply_status(rq, DHCP6_STATUS_SUCCESS, "declined");
	case DHCP6_CONFIRM:
		/* §18.3.3: no IA address to judge: no reply. */
		if (!ia.has_addr)
			return -ENOMSG;
		if (same_64(&ia.addr, &srv->cfg->pool6_first) && pool_serves_link(rq))
			return reply_status(rq, DHCP6_STATUS_SUCCESS, "on link");
		return reply_status(rq, DHCP6_STATUS_NOT_ON_LINK, "not on this link");
	case DHCP6_INFORMATION_REQUEST:
		return reply(rq, DHCP6_REPLY, NULL, NULL, 0, NULL, false);
	default:
		return -ENOMSG;
	}
}

/* ---- the pipeline ------------------------------------------------------ */

/* RFC 8415 §16: which messages carry a server identifier, and must it be ours. */
static bool
server_id_ok(const struct dhcp6_server *srv, const struct dhcp6_msg *msg)
{
	const struct dhcp6_opt *sid = &msg->opt[DHCP6_OPT_SERVERID];
	bool ours = sid->present && sid->len == srv->duid_len &&
	            memcmp(sid->val, srv->duid, srv->duid_len) == 0;
	switch (msg->type) {
	case DHCP6_SOLICIT:
	case DHCP6_REBIND:
	case DHCP6_CONFIRM:
		return !sid->present;
	case DHCP6_REQUEST:
	case DHCP6_RENEW:
	case DHCP6_RELEASE:
	case DHCP6_DECLINE:
		return ours;
	case DHCP6_INFORMATION_REQUEST:
		return !sid->present || ours;
	default:
		return false;
	}
}

int
dhcp6_handle_message(struct dhcp6_server *srv, const uint8_t *buf, size_t len,
                     const struct dhcp6_arrival *arr, const struct dhcp6_sink *sink)
{
	struct dhcp6_msg msg;
	struct rq6 rq = { .srv = srv, .msg = &msg, .arr = arr, .sink = sink };
	char mac[18];

	metrics.proto[METRICS_DHCP].requests++;
	int r = dhcp6_parse(buf, len, &msg);
	/* Unwrap RELAY-FORW: each holds the next message in its option 9. */
	while (r == 0 && msg.type == DHCP6_RELAY_FORW) {
		if (rq.nrelays == DHCP6_HOP_COUNT_LIMIT || !msg.opt[DHCP6_OPT_RELAY_MSG].present) {
			r = -EINVAL;
			break;
		}
		rq.relays[rq.nrelays++] = msg;
		const struct dhcp6_opt *inner = &msg.opt[DHCP6_OPT_RELAY_MSG];
		r = dhcp6_parse(inner->val, inner->len, &msg);
	}
	if (r < 0) {
		metrics.proto[METRICS_DHCP].errors++;
		log_debug("dhcp6", "malformed message (%zu bytes): %s: dropped", len, strerror(-r));
		return -EINVAL;
	}
	if (!server_id_ok(srv, &msg) || !msg.opt[DHCP6_OPT_CLIENTID].present)
		return -ENOMSG; /* a server's message, or one for another server */
	if (client_mac(&rq, rq.m.mac) < 0) {
		log_debug("dhcp6", "%s: no MAC address in its DUID or source address: dropped",
		          dhcp6_type_name(msg.type));
		return -ENOMSG;
	}
	classify(&rq);
	rq.m.v6 = true;
	rq.m.server_ip6 = srv->cfg->server_addr6_set ? srv->cfg->server_addr6 : arr->local;
	if (IN6_IS_ADDR_UNSPECIFIED(&rq.m.server_ip6)) {
		log_msg(answer_level(&rq, "no-local-address"), "dhcp6",
		        "%s %s: no global IPv6 address of ours on its link to name in URLs "
		        "(add one, or set --server-addr6): dropped",
		        mac_format(rq.m.mac, mac), dhcp6_type_name(msg.type));
		return -ENOMSG;
	}
	if (srv->cfg->dhcp_known_only && !(srv->cfg->boot && bootconf_host(srv->cfg->boot, rq.m.mac))) {
		log_msg(answer_level(&rq, "unknown"), "dhcp6",
		        "%s %s: not answered: not a known host (dhcp-known-only)",
		        mac_format(rq.m.mac, mac), dhcp6_type_name(msg.type));
		return -ENOMSG;
	}
	if (rq.boot_client)
		plan(&rq);
	if (srv->cfg->dhcp6_mode == DHCP_MODE_SERVER && srv->leases && !arr->pxe_port)
		return handle_server(&rq);
	return handle_proxy(&rq);
}

void
dhcp6_server_apply_settings(struct dhcp6_server *srv)
{
	if (srv && srv->new_leases.rate != srv->cfg->dhcp_lease_rate)
		ratelimit_init(&srv->new_leases, srv->cfg->dhcp_lease_rate,
		               srv->cfg->dhcp_lease_rate * DHCP6_LEASE_BURST_SECONDS);
}

int
dhcp6_server_commit(struct dhcp6_server *srv)
{
	return srv->leases ? leases_commit(srv->leases, now_of(srv)) : 0;
}

int
dhcp6_pick_local(const struct link_addr6 *addrs, size_t n, int ifindex,
                 const struct in6_addr *prefer, struct in6_addr *out)
{
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		const struct link_addr6 *a = &addrs[i];
		if (a->ifindex != ifindex || a->scope != RT_SCOPE_UNIVERSE ||
		    (a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) || IN6_IS_ADDR_LINKLOCAL(&a->addr))
			continue;
		if (!found || (prefer && same_64(&a->addr, prefer) && !same_64(out, prefer))) {
			*out = a->addr;
			found = true;
		}
	}
	return found ? 0 : -ENOENT;
}

struct dhcp6_server *
dhcp6_server_new(struct netbootd *nb, const uint8_t *duid, size_t duid_len, bool open_leases)
{
	const struct config *cfg = nb->boot.cfg;
	struct dhcp6_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->nb = nb;
	srv->cfg = cfg;
	srv->fd = srv->pxefd = srv->nlfd = -1;
	if (duid_len > sizeof(srv->duid))
		duid_len = sizeof(srv->duid);
	memcpy(srv->duid, duid, duid_len);
	srv->duid_len = duid_len;
	ratelimit_init(&srv->new_leases, cfg->dhcp_lease_rate,
	               cfg->dhcp_lease_rate * DHCP6_LEASE_BURST_SECONDS);
	if (cfg->dhcp6_mode != DHCP_MODE_SERVER || !cfg->pool6_set)
		return srv;
	srv->leases = leases_new6(&cfg->pool6_first, &cfg->pool6_last);
	if (!srv->leases) {
		log_error("dhcp6", "--pool6: empty, reversed or larger than 1M addresses");
		goto fail;
	}
	if (open_leases && cfg->lease_file6) {
		int r = leases_open_as(srv->leases, cfg->lease_file6, cfg->user, now_of(srv));
		if (r < 0) {
			log_error("dhcp6", "--lease-file6 %s: %s", cfg->lease_file6, strerror(-r));
			goto fail;
		}
	}
	return srv;
fail:
	dhcp6_server_free(srv);
	return NULL;
}
