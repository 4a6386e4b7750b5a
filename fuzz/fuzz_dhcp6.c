/*
 * libFuzzer harness for the DHCPv6 wire format: any datagram is parsed
 * without crashing or reading out of bounds; a message that parses has
 * option values inside the input; a relayed message parses in turn (to the
 * hop limit); and an answer built from what was parsed (ADVERTISE echoing
 * the client id, in a RELAY-REPL for a relay) parses back with the same
 * transaction id, client id, addresses and interface-id. Then the server's
 * own handler (dhcp6/) takes it, in server and in proxy mode: whatever it
 * sends parses, within one IPv6 minimum-MTU datagram.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>

#include "boot/timeline.h"
#include "daemon.h"
#include "dhcp6/dhcp6_server.h"
#include "model/config.h"
#include "util/log.h"
#include "wire/dhcp6.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_inside(const struct dhcp6_msg *m, const uint8_t *data, size_t size)
{
	for (size_t c = 0; c < DHCP6_KEPT_CODES; c++) {
		const struct dhcp6_opt *o = &m->opt[c];
		if (o->present && (o->val < data || o->val + o->len > data + size))
			__builtin_trap();
	}
}

/* Answer a client message the way a server does, and read the answer back. */
static void
answer(const struct dhcp6_msg *req, uint8_t *out, size_t cap, int *len)
{
	struct dhcp6_builder b;
	static const uint8_t duid[] = { 0, 3, 0, 1, 2, 0, 0, 0, 0, 1 };
	static const char url[] = "tftp://[2001:db8::1]/snponly.efi";
	dhcp6_build_start(&b, out, cap, DHCP6_ADVERTISE, req->xid);
	dhcp6_build_opt(&b, DHCP6_OPT_SERVERID, duid, sizeof(duid));
	const struct dhcp6_opt *id = &req->opt[DHCP6_OPT_CLIENTID];
	if (id->present)
		dhcp6_build_opt(&b, DHCP6_OPT_CLIENTID, id->val, id->len);
	dhcp6_build_opt(&b, DHCP6_OPT_BOOTFILE_URL, url, sizeof(url) - 1);
	dhcp6_build_vendor_class(&b, DHCP6_ENTERPRISE_PXE, "PXEClient");
	*len = dhcp6_build_finish(&b);
	if (*len < 0)
		return; /* a client id of 130 bytes still fits: never here */
	struct dhcp6_msg back;
	if (dhcp6_parse(out, (size_t)*len, &back) != 0 || back.type != DHCP6_ADVERTISE ||
	    memcmp(back.xid, req->xid, 3) != 0 ||
	    back.opt[DHCP6_OPT_CLIENTID].present != id->present ||
	    (id->present && (back.opt[DHCP6_OPT_CLIENTID].len != id->len ||
	                     memcmp(back.opt[DHCP6_OPT_CLIENTID].val, id->val, id->len) != 0)))
		__builtin_trap();
}

static void
handle(const uint8_t *data, size_t size, unsigned depth)
{
	struct dhcp6_msg m;
	if (dhcp6_parse(data, size, &m) != 0)
		return;
	check_inside(&m, data, size);
	uint16_t arch;
	uint8_t mac[6];
	(void)dhcp6_client_arch(&m, &arch);
	(void)dhcp6_client_mac(&m, mac);
	(void)dhcp6_vendor_class_has(&m, "PXEClient");
	(void)dhcp6_user_class_has(&m, "iPXE");
	(void)dhcp6_eui64_mac(&m.peer, mac);
	(void)dhcp6_type_name(m.type);

	uint8_t inner[DHCP6_MAX_REPLY], out[DHCP6_MAX_REPLY];
	int n;
	if (!dhcp6_is_relay(m.type)) {
		answer(&m, inner, sizeof(inner), &n);
		return;
	}
	const struct dhcp6_opt *rm = &m.opt[DHCP6_OPT_RELAY_MSG];
	if (!rm->present || depth >= DHCP6_HOP_COUNT_LIMIT)
		return;
	handle(rm->val, rm->len, depth + 1);
	struct dhcp6_msg client;
	if (dhcp6_parse(rm->val, rm->len, &client) != 0 || dhcp6_is_relay(client.type))
		return;
	answer(&client, inner, sizeof(inner), &n);
	if (n < 0)
		return;
	struct dhcp6_builder b;
	dhcp6_build_relay_reply(&b, out, sizeof(out), &m);
	dhcp6_build_opt(&b, DHCP6_OPT_RELAY_MSG, inner, (size_t)n);
	int rn = dhcp6_build_finish(&b);
	if (rn < 0)
		return; /* a long interface-id leaves no room: the server drops it */
	struct dhcp6_msg back;
	const struct dhcp6_opt *ifid = &m.opt[DHCP6_OPT_INTERFACE_ID];
	if (dhcp6_parse(out, (size_t)rn, &back) != 0 || back.type != DHCP6_RELAY_REPL ||
	    back.hop_count != m.hop_count || memcmp(&back.link, &m.link, 16) != 0 ||
	    memcmp(&back.peer, &m.peer, 16) != 0 ||
	    back.opt[DHCP6_OPT_RELAY_MSG].len != (uint16_t)n ||
	    back.opt[DHCP6_OPT_INTERFACE_ID].present != ifid->present)
		__builtin_trap();
}

static void
check_reply(void *ctx, const struct dhcp6_reply *r)
{
	struct dhcp6_msg m;
	(void)ctx;
	if (r->len > DHCP6_MAX_REPLY || dhcp6_parse(r->buf, r->len, &m) != 0)
		__builtin_trap();
}

/* The handler as the daemon runs it; mode alternates with the input's length. */
static void
serve(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static struct netbootd nb;
	static bool init;
	static const uint8_t duid[] = { 0, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	if (!init) {
		log_set_level(LOG_LEVEL_ERROR);
		config_init(&cfg);
		(void)listen_spec_parse("[::]:69", &cfg.tftp);
		(void)listen_spec_parse("[::]:80", &cfg.http);
		inet_pton(AF_INET6, "2001:db8::100", &cfg.pool6_first);
		inet_pton(AF_INET6, "2001:db8::107", &cfg.pool6_last);
		cfg.pool6_set = true;
		nb.boot.cfg = &cfg;
		nb.boot.timeline = timeline_new();
		init = true;
	}
	cfg.dhcp6_mode = (size & 1) ? DHCP_MODE_SERVER : DHCP_MODE_PROXY;
	struct dhcp6_server *srv = dhcp6_server_new(&nb, duid, sizeof(duid), false);
	if (!srv)
		return;
	dhcp6_server_set_time(srv, 1800000000);
	struct dhcp6_sink sink = { .emit = check_reply, .ctx = NULL };
	struct dhcp6_arrival arr = { .pxe_port = (size & 2) != 0, .ifindex = 2 };
	arr.from.sin6_family = AF_INET6;
	arr.from.sin6_port = htons(546);
	inet_pton(AF_INET6, "fe80::5054:ff:fe12:3456", &arr.from.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::1", &arr.local);
	(void)dhcp6_handle_message(srv, data, size, &arr, &sink);
	(void)dhcp6_handle_message(srv, data, size, &arr, &sink);
	dhcp6_server_free(srv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	handle(data, size, 0);
	serve(data, size);
	return 0;
}
