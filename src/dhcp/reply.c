/*
 * A DHCP reply, built: where it goes (RFC 2131 4.1, relays, the PXE port),
 * which options it carries (PXE, RFC 4578, leases), and the one log line
 * per boot client and answer.
 */
#include "dhcp/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/timeline.h"
#include "daemon.h"
#include "util/answerlog.h"
#include "util/metrics.h"

/* True the first time this client gets this answer (log it), false for its repeats. */
bool
dhcp_answer_is_new(struct dhcp_server *srv, const struct machine *m, const char *answer)
{
	return answerlog_is_new(&srv->logged, m->mac, (int)m->kind, answer, dhcp_now(srv));
}

enum log_level
dhcp_answer_log_level(struct dhcp_server *srv, const struct machine *m, const char *answer)
{
	return dhcp_answer_is_new(srv, m, answer) ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG;
}

uint16_t
dhcp_client_port(const struct dhcp_server *srv)
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
		to->sin_port = htons(dhcp_client_port(srv));
		to->sin_addr.s_addr = htonl(INADDR_BROADCAST);
		return false;
	}
	if (req->giaddr.s_addr) {
		/* RFC 2131 §4.1 / RFC 3046: through the relay, on the server port. */
		to->sin_addr = req->giaddr;
		to->sin_port = htons((uint16_t)srv->cfg->dhcp_port);
		return false;
	}
	to->sin_port = htons(dhcp_client_port(srv));
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
struct in_addr
dhcp_pool_netmask(const struct config *cfg)
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
	dhcp_build_opt_addr(b, DHCP_OPT_SUBNET_MASK, dhcp_pool_netmask(cfg));
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


int
dhcp_send_reply(struct request_ctx *rq, uint8_t type, struct in_addr yiaddr, bool lease_opts,
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
		inet_ntop(AF_INET, &r.to.sin_addr, ip, sizeof(ip));
		/* The one line per boot client that says what happened. */
		log_msg(dhcp_answer_log_level(rq->srv, &rq->m, rq->ans.bootfile), "dhcp",
		        "%s arch %s %s: %s%s %s (%s) to %s:%u%s", mac_format(rq->m.mac, mac),
		         machine_arch_text(&rq->m, arch), firmware_kind_name(rq->m.kind), dhcp_type_name(type),
		         rq->arr->pxe_port ? " [pxe port]" : "", rq->ans.bootfile, rq->ans.reason, ip,
		         (unsigned)ntohs(r.to.sin_port), req->giaddr.s_addr ? " via relay" : "");
		metrics.boots[rq->m.kind < FIRMWARE_KIND_COUNT ? rq->m.kind : FIRMWARE_UNKNOWN]++;
		if (rq->srv->nb->boot.timeline)
			timeline_dhcp(rq->srv->nb->boot.timeline, &rq->m, rq->ans.bootfile);
	}
	metrics.proto[METRICS_DHCP].bytes += (uint64_t)len;
	return 0;
}
