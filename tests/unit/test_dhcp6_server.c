/*
 * The DHCPv6 handler without sockets (a capturing sink), the IPv6 lease
 * store and its journal text, and the pick of our address per link.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "boot/timeline.h"
#include "daemon.h"
#include "store/leases.h"
#include "dhcp6/dhcp6_server.h"
#include "model/config.h"
#include "wire/dhcp6.h"
#include "testconf.h"

#define NOW 1800000000

static const uint8_t mac1[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t duid[] = { 0, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

struct capture {
	int n;
	uint8_t buf[DHCP6_MAX_REPLY];
	size_t len;
	struct dhcp6_reply r;
	struct dhcp6_msg msg;
};

static void
capture_emit(void *ctx, const struct dhcp6_reply *r)
{
	struct capture *c = ctx;
	c->n++;
	memcpy(c->buf, r->buf, r->len);
	c->len = r->len;
	c->r = *r;
	c->r.buf = c->buf;
	assert_int_equal(dhcp6_parse(c->buf, c->len, &c->msg), 0);
}

struct fixture {
	struct config cfg;
	struct netbootd nb;
	struct dhcp6_server *srv;
	struct capture cap;
	struct dhcp6_sink sink;
	struct dhcp6_arrival arr;
};

/* x64 UEFI PXE boots a kernel (through iPXE), UEFI HTTP boot an EFI file. */
static const char *conf = "[default]\nprofile = linux\n"
                          "[profile linux]\nkernel = vmlinuz\n"
                          "[profile shell]\nefi = shell.efi\n"
                          "[arch x64-uefi-http]\nprofile = shell\n";

static struct fixture *
fixture_new(enum dhcp_mode mode)
{
	struct fixture *f = calloc(1, sizeof(*f));
	static const char *const sets[] = { "tftp", "[::]:69", "http", "[::]:80", "lease-time", "600",
		                                NULL };
	testconf_load(&f->cfg, conf, sets);
	f->cfg.dhcp6_mode = mode;
	if (mode == DHCP_MODE_SERVER) {
		inet_pton(AF_INET6, "2001:db8::100", &f->cfg.pool6_first);
		inet_pton(AF_INET6, "2001:db8::101", &f->cfg.pool6_last);
		f->cfg.pool6_set = true;
	}
	f->nb.boot.cfg = &f->cfg;
	f->nb.boot.timeline = timeline_new();
	f->srv = dhcp6_server_new(&f->nb, duid, sizeof(duid), false);
	assert_non_null(f->srv);
	dhcp6_server_set_time(f->srv, NOW);
	f->sink.emit = capture_emit;
	f->sink.ctx = &f->cap;
	f->arr.ifindex = 3;
	f->arr.from.sin6_family = AF_INET6;
	f->arr.from.sin6_port = htons(546);
	/* EDK2's link-local address: EUI-64 of mac1. */
	inet_pton(AF_INET6, "fe80::5054:ff:fe12:3456", &f->arr.from.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::1", &f->arr.local);
	return f;
}

static void
fixture_free(struct fixture *f)
{
	dhcp6_server_free(f->srv);
	timeline_free(f->nb.boot.timeline);
	config_free(&f->cfg);
	free(f);
}

/* A client message: DUID-UUID (no MAC in it, as EDK2 sends with an SMBIOS UUID). */
static size_t
client_msg(uint8_t *buf, size_t cap, uint8_t type, bool ia, const struct in6_addr *ia_addr,
           const char *vendor_class, uint16_t arch, bool server_id)
{
	struct dhcp6_builder b;
	static const uint8_t uuid_duid[18] = { 0, 4, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9 };
	dhcp6_build_start(&b, buf, cap, type, (const uint8_t *)"\x01\x02\x03");
	dhcp6_build_opt(&b, DHCP6_OPT_CLIENTID, uuid_duid, sizeof(uuid_duid));
	if (server_id)
		dhcp6_build_opt(&b, DHCP6_OPT_SERVERID, duid, sizeof(duid));
	if (ia) {
		size_t m = dhcp6_build_open(&b, DHCP6_OPT_IA_NA);
		dhcp6_build_raw(&b, "\0\0\0\7" "\0\0\0\0" "\0\0\0\0", 12);
		if (ia_addr) {
			size_t am = dhcp6_build_open(&b, DHCP6_OPT_IAADDR);
			dhcp6_build_raw(&b, ia_addr, 16);
			dhcp6_build_raw(&b, "\0\0\0\0\0\0\0\0", 8);
			dhcp6_build_close(&b, am);
		}
		dhcp6_build_close(&b, m);
	}
	if (vendor_class)
		dhcp6_build_vendor_class(&b, DHCP6_ENTERPRISE_PXE, vendor_class);
	if (arch != 0xffff)
		dhcp6_build_opt_u16(&b, DHCP6_OPT_CLIENT_ARCH_TYPE, arch);
	int n = dhcp6_build_finish(&b);
	assert_true(n > 0);
	return (size_t)n;
}

static const struct dhcp6_opt *
opt(const struct capture *c, uint16_t code)
{
	return c->msg.opt[code].present ? &c->msg.opt[code] : NULL;
}

/* The address inside the reply's IA_NA, or false with its status code. */
static bool
ia_addr_of(const struct capture *c, struct in6_addr *a, uint16_t *status)
{
	const struct dhcp6_opt *o = opt(c, DHCP6_OPT_IA_NA);
	assert_non_null(o);
	assert_memory_equal(o->val, "\0\0\0\7", 4); /* the client's IAID echoed */
	for (size_t i = 12; i + 4 <= o->len;) {
		uint16_t code = (uint16_t)(o->val[i] << 8 | o->val[i + 1]);
		uint16_t len = (uint16_t)(o->val[i + 2] << 8 | o->val[i + 3]);
		if (code == DHCP6_OPT_IAADDR) {
			memcpy(a, o->val + i + 4, 16);
			return true;
		}
		if (code == DHCP6_OPT_STATUS_CODE)
			*status = (uint16_t)(o->val[i + 4] << 8 | o->val[i + 5]);
		i += 4 + (size_t)len;
	}
	return false;
}

static void
test_server_pxe_solicit_request(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(DHCP_MODE_SERVER);
	uint8_t buf[512];
	size_t n = client_msg(buf, sizeof(buf), DHCP6_SOLICIT, true, NULL,
	                      "PXEClient:Arch:00007:UNDI:003016", 7, false);
	assert_int_equal(dhcp6_handle_message(f->srv, buf, n, &f->arr, &f->sink), 0);
	assert_int_equal(f->cap.msg.type, DHCP6_ADVERTISE);
	assert_memory_equal(f->cap.msg.xid, "\x01\x02\x03", 3);
	assert_false(f->cap.r.durable);
	struct in6_addr a, first;
	uint16_t st = 0;
	assert_true(ia_addr_of(&f->cap, &a, &st));
	inet_pton(AF_INET6, "2001:db8::100", &first);
	assert_memory_equal(&a, &first, 16);
	const struct dhcp6_opt *url = opt(&f->cap, DHCP6_OPT_BOOTFILE_URL);
	assert_non_null(url);
	const char want[] = "tftp://[2001:db8::1]/snponly.efi";
	assert_int_equal(url->len, sizeof(want) - 1);
	assert_memory_equal(url->val, want, sizeof(want) - 1);
	/* With an address, no PXEClient class: EDK2 would take it as a BINL offer. */
	assert_null(opt(&f->cap, DHCP6_OPT_VENDOR_CLASS));
	/* Sent back to the link-local source, its port. */
	assert_int_equal(ntohs(f->cap.r.to.sin6_port), 546);

	n = client_msg(buf, sizeof(buf), DHCP6_REQUEST, true, &a, "PXEClient:Arch:00007:UNDI:003016",
	               7, true);
	assert_int_equal(dhcp6_handle_message(f->srv, buf, n, &f->arr, &f->sink), 0);
	assert_int_equal(f->cap.msg.type, DHCP6_REPLY);
	assert_true(f->cap.r.durable);
	struct in6_addr b;
	assert_true(ia_addr_of(&f->cap, &b, &st));
	assert_memory_equal(&a, &b, 16);

	/* A second machine (another link-local, so another MAC) gets the other address. */
	inet_pton(AF_INET6, "fe80::5054:ff:fe12:3457", &f->arr.from.sin6_addr);
	n = client_msg(buf, sizeof(buf), DHCP6_SOLICIT, true, NULL, NULL, 0xffff, false);
	assert_int_equal(dhcp6_handle_message(f->srv, buf, n, &f->arr, &f->sink), 0);
	assert_true(ia_addr_of(&f->cap, &b, &st));
	assert_memory_not_equal(&a, &b, 16);
	assert_null(opt(&f->cap, DHCP6_OPT_BOOTFILE_URL)); /* not a boot client */
	n = client_msg(buf, sizeof(buf), DHCP6_REQUEST, true, &b, NULL, 0xffff, true);
	assert_int_equal(dhcp6_handle_message(f->srv, buf, n, &f->arr, &f->sink), 0);
	assert_int_equal(f->cap.msg.type, DHCP6_REPLY);
	/* A third: both addresses of the pool are bound. */
	inet_pton(AF_INET6, "fe80::5054:ff:fe12:3458", &f->arr.from.sin6_addr);
	n = client_msg(buf, sizeof(buf), DHCP6_SOLICIT, true, NULL, NULL, 0xffff, false);
	assert_int_equal(dhcp6_handle_message(f->srv, buf, n, &f->arr, &f->sink), 0);
	assert_false(ia_addr_of(&f->cap, &b, &st));
	assert_int_equal(st, DHCP6_STATUS_NO_ADDRS_AVAIL);
	fixture_free(f);
}

static void
test_server_id_rules(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(DHCP_MODE_SERVER);
	uint8_t buf[512];
	/* A SOLICIT naming a server, a REQUEST naming none: dropped (RFC 8415 §16). */
	size_t n = client_msg(buf, sizeof(buf), DHCP6_SOLICIT, true, NULL, NULL, 0xffff, true);
	assert_int_equal(dhcp6_handle_message(f->srv, buf, n, &f->arr, &f->sink), -ENOMSG);
	n = client_msg(buf, sizeof(buf), DHCP6_REQUEST, true, NULL, NULL, 0xffff, false);
	assert_int_equal(dhcp6_handle_message(f->srv, buf, n, &f->arr, &f->sink), -ENOMSG);
	/* Our own kind of message coming back (a loop, a rogue): never answered. */
	n = client_msg(buf, sizeof(buf), DHCP6_ADVERTISE, true, NULL, NULL, 0xffff, true);
	assert_int_equal(dhcp6_handle_message(f->srv, buf, n, &f->arr, &f->sink), -ENOMSG);
	assert_int_equal(f->cap.n, 0);
	fixture_free(f);
}

static void
test_proxy_http_and_relay(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(DHCP_MODE_PROXY);
	uint8_t inner[512], buf[700];
	size_t n = client_msg(inner, sizeof(inner), DHCP6_SOLICIT, true, NULL,
	                      "HTTPClient:Arch:00016:UNDI:003016", 16, false);
	/* Through a relay that names the client's link-layer address (RFC 6939). */
	struct dhcp6_builder b;
	struct in6_addr link, peer;
	inet_pton(AF_INET6, "2001:db8:5::1", &link);
	inet_pton(AF_INET6, "fe80::1", &peer);
	dhcp6_build_relay_start(&b, buf, sizeof(buf), DHCP6_RELAY_FORW, 0, &link, &peer);
	dhcp6_build_opt(&b, DHCP6_OPT_RELAY_MSG, inner, n);
	dhcp6_build_opt(&b, DHCP6_OPT_CLIENT_LINKLAYER_ADDR, "\0\1\x52\x54\x00\x12\x34\x56", 8);
	int len = dhcp6_build_finish(&b);
	assert_true(len > 0);
	inet_pton(AF_INET6, "2001:db8:5::1", &f->arr.from.sin6_addr);
	f->arr.from.sin6_port = htons(547);
	assert_int_equal(dhcp6_handle_message(f->srv, buf, (size_t)len, &f->arr, &f->sink), 0);
	assert_int_equal(f->cap.msg.type, DHCP6_RELAY_REPL);
	assert_int_equal(ntohs(f->cap.r.to.sin6_port), 547);
	const struct dhcp6_opt *rm = opt(&f->cap, DHCP6_OPT_RELAY_MSG);
	assert_non_null(rm);
	struct dhcp6_msg adv;
	assert_int_equal(dhcp6_parse(rm->val, rm->len, &adv), 0);
	assert_int_equal(adv.type, DHCP6_ADVERTISE);
	/* Proxy: no IA at all, the URL names our address and the client's MAC. */
	assert_false(adv.opt[DHCP6_OPT_IA_NA].present);
	const char want[] = "http://[2001:db8::1]/boot/52:54:00:12:34:56.efi";
	assert_int_equal(adv.opt[DHCP6_OPT_BOOTFILE_URL].len, sizeof(want) - 1);
	assert_memory_equal(adv.opt[DHCP6_OPT_BOOTFILE_URL].val, want, sizeof(want) - 1);
	assert_true(dhcp6_vendor_class_has(&adv, "HTTPClient"));
	fixture_free(f);
}

static void
test_no_local_address_no_answer(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(DHCP_MODE_SERVER);
	memset(&f->arr.local, 0, sizeof(f->arr.local));
	uint8_t buf[512];
	size_t n = client_msg(buf, sizeof(buf), DHCP6_SOLICIT, true, NULL,
	                      "PXEClient:Arch:00007:UNDI:003016", 7, false);
	assert_int_equal(dhcp6_handle_message(f->srv, buf, n, &f->arr, &f->sink), -ENOMSG);
	/* --server-addr6 names it instead. */
	inet_pton(AF_INET6, "2001:db8:9::9", &f->cfg.server_addr6);
	f->cfg.server_addr6_set = true;
	assert_int_equal(dhcp6_handle_message(f->srv, buf, n, &f->arr, &f->sink), 0);
	const char want[] = "tftp://[2001:db8:9::9]/snponly.efi";
	assert_memory_equal(f->cap.msg.opt[DHCP6_OPT_BOOTFILE_URL].val, want, sizeof(want) - 1);
	fixture_free(f);
}

/*
 * Proxy mode: a kernel profile goes through iPXE, which cannot get its script
 * over DHCPv6 beside another server: no answer (the firmware moves on).
 */
static void
test_proxy_no_ipxe_chain(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(DHCP_MODE_PROXY);
	uint8_t buf[512];
	size_t n = client_msg(buf, sizeof(buf), DHCP6_SOLICIT, true, NULL,
	                      "PXEClient:Arch:00007:UNDI:003016", 7, false);
	assert_int_equal(dhcp6_handle_message(f->srv, buf, n, &f->arr, &f->sink), -ENOMSG);
	assert_int_equal(f->cap.n, 0);
	/* The same machine in server mode: iPXE gets its script from us. */
	f->cfg.dhcp6_mode = DHCP_MODE_SERVER;
	dhcp6_server_free(f->srv);
	f->srv = dhcp6_server_new(&f->nb, duid, sizeof(duid), false);
	assert_non_null(f->srv);
	assert_int_equal(dhcp6_handle_message(f->srv, buf, n, &f->arr, &f->sink), 0);
	assert_true(f->cap.msg.opt[DHCP6_OPT_BOOTFILE_URL].present);
	fixture_free(f);
}

static struct link_addr6
addr6(int ifindex, const char *text, unsigned scope, uint32_t flags)
{
	struct link_addr6 a = { .ifindex = ifindex, .scope = scope, .flags = flags };
	assert_int_equal(inet_pton(AF_INET6, text, &a.addr), 1);
	return a;
}

static void
test_pick_local(void **state)
{
	(void)state;
	const struct link_addr6 addrs[] = {
		addr6(3, "fe80::5054:ff:fe12:3456", 253, 0x80),   /* link scope */
		addr6(3, "2001:db8:1::1", 0, 0x40),               /* tentative (DAD) */
		addr6(3, "2001:db8:2::1", 0, 0x80),
		addr6(3, "2001:db8:3::1", 0, 0x80),
		addr6(4, "2001:db8:4::1", 0, 0x80),               /* another link */
	};
	size_t n = sizeof(addrs) / sizeof(addrs[0]);
	struct in6_addr a, want, prefer;
	assert_int_equal(dhcp6_pick_local(addrs, n, 3, NULL, &a), 0);
	inet_pton(AF_INET6, "2001:db8:2::1", &want);
	assert_memory_equal(&a, &want, 16);
	inet_pton(AF_INET6, "2001:db8:3::100", &prefer);
	assert_int_equal(dhcp6_pick_local(addrs, n, 3, &prefer, &a), 0);
	inet_pton(AF_INET6, "2001:db8:3::1", &want);
	assert_memory_equal(&a, &want, 16);
	assert_int_equal(dhcp6_pick_local(addrs, n, 7, NULL, &a), -ENOENT);
	assert_int_equal(dhcp6_pick_local(addrs, 0, 3, NULL, &a), -ENOENT);
}

static void
test_leases6_text(void **state)
{
	(void)state;
	struct in6_addr first, last, a;
	inet_pton(AF_INET6, "2001:db8::1:0", &first);
	inet_pton(AF_INET6, "2001:db8::1:ff", &last);
	struct lease_store *ls = leases_new6(&first, &last);
	assert_non_null(ls);
	static const char text[] = "L 2001:db8::1:5 52:54:00:12:34:56 1900000000\n"
	                           "L 198.18.0.5 52:54:00:12:34:57 1900000000\n" /* not IPv6 */
	                           "L 2001:db9::1:6 52:54:00:12:34:58 1900000000\n"; /* other /96 */
	assert_int_equal(leases_load_text(ls, text, sizeof(text) - 1, "test", NOW), 2);
	struct in_addr key;
	assert_int_equal(leases_find_mac(ls, mac1, NOW, &key, NULL), 0);
	leases_addr6(ls, key, &a);
	struct in6_addr want;
	inet_pton(AF_INET6, "2001:db8::1:5", &want);
	assert_memory_equal(&a, &want, 16);
	assert_int_equal(leases_key6(ls, &want).s_addr, key.s_addr);
	inet_pton(AF_INET6, "2001:db9::1:5", &want);
	assert_int_equal(leases_key6(ls, &want).s_addr, 0);
	leases_free(ls);
	/* Across a /96: refused. */
	inet_pton(AF_INET6, "2001:db8::1:0:0", &last);
	assert_null(leases_new6(&first, &last));
}

int
main(void)
{
	log_set_level(LOG_LEVEL_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_pxe_solicit_request),
		cmocka_unit_test(test_server_id_rules),
		cmocka_unit_test(test_proxy_http_and_relay),
		cmocka_unit_test(test_no_local_address_no_answer),
		cmocka_unit_test(test_proxy_no_ipxe_chain),
		cmocka_unit_test(test_pick_local),
		cmocka_unit_test(test_leases6_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
