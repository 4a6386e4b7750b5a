/*
 * libFuzzer harness over the whole DHCP message handler (parse, classify,
 * planner, leases, reply build) with sendto stubbed by a sink that checks
 * every reply parses back. Input: one flags byte, then up to four messages,
 * each prefixed by a 2-byte big-endian length, handled in order by a fresh
 * server so that state (offers, leases) carries from one to the next.
 *   flags bit 0: server mode (else proxy)   bit 1: messages arrive on 4011
 *   bit 2: no local address known           bit 3: commit after each message
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/timeline.h"
#include "daemon.h"
#include "dhcp/dhcp_server.h"
#include "fuzz_messages.h"
#include "model/config.h"
#include "util/log.h"
#include "wire/dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reply(void *ctx, const struct dhcp_reply *r)
{
	struct dhcp_msg msg;
	(void)ctx;
	/* Whatever we send must be a well-formed reply of a sane size. */
	if (r->len < 300 || r->len > DHCP_MAX_REPLY || dhcp_parse(r->buf, r->len, &msg) != 0 ||
	    msg.op != DHCP_BOOTREPLY || msg.type == 0)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static struct netbootd nb;
	static bool init;
	if (!init) {
		log_set_level(LOG_LEVEL_ERROR);
		config_init(&cfg);
		inet_pton(AF_INET, "198.18.0.10", &cfg.pool_first);
		inet_pton(AF_INET, "198.18.0.17", &cfg.pool_last);
		cfg.pool_set = true;
		nb.boot.cfg = &cfg;
		nb.boot.timeline = timeline_new();
		init = true;
	}
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	data++;
	size--;
	cfg.dhcp_mode = (flags & 1) ? DHCP_MODE_SERVER : DHCP_MODE_PROXY;

	struct dhcp_server *srv = dhcp_server_new(&nb, false);
	if (!srv)
		return 0;
	dhcp_server_set_time(srv, 1800000000);
	struct dhcp_sink sink = { .emit = check_reply, .ctx = NULL };
	struct dhcp_arrival arr = { .pxe_port = (flags & 2) != 0, .ifindex = 2 };
	if (!(flags & 4))
		inet_pton(AF_INET, "198.18.0.1", &arr.local);
	arr.from.sin_family = AF_INET;
	arr.from.sin_port = htons(68);
	inet_pton(AF_INET, "198.18.0.50", &arr.from.sin_addr);

	size_t len;
	uint8_t *msg;
	for (int i = 0; i < 4 && (msg = fuzz_next_message(&data, &size, &len)) != NULL; i++) {
		(void)dhcp_handle_message(srv, msg, len, &arr, &sink);
		free(msg);
		if (flags & 8)
			(void)dhcp_server_commit(srv);
	}
	dhcp_server_free(srv);
	return 0;
}
