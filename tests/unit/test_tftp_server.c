/*
 * The TFTP request handler without sockets: requests as byte arrays in, a
 * capturing sink out. Each test names the admission stage it exercises
 * (src/tftp/admission.c) and what a broken stage would get wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "boot/files.h"
#include "boot/refusal.h"
#include "boot/timeline.h"
#include "daemon.h"
#include "model/config.h"
#include "tftp/tftp_server.h"
#include "tftp/transfer.h"
#include "testboot.h"
#include "testfs.h"
#include "util/metrics.h"
#include "wire/tftp.h"

/* What the sink saw. */
struct capture {
	int refused, started, resent;
	uint8_t err[256];
	size_t err_len;
	struct tftp_transfer *last; /* the last started transfer (linked, owned by the server) */
	int start_result;           /* what start returns: 0, or -errno to fail */
	unsigned mtu;               /* what path_mtu reports */
};

static void
cap_refuse(void *ctx, const uint8_t *pkt, size_t len, const struct tftp_arrival *arr)
{
	struct capture *c = ctx;
	(void)arr;
	c->refused++;
	assert_true(len <= sizeof(c->err));
	memcpy(c->err, pkt, len);
	c->err_len = len;
}

static int
cap_start(void *ctx, struct tftp_transfer *t, const struct tftp_arrival *arr)
{
	struct capture *c = ctx;
	(void)arr;
	if (c->start_result < 0)
		return c->start_result;
	c->started++;
	c->last = t;
	transfer_link(t); /* what the socket sink does, minus the socket */
	return 0;
}

static void
cap_resend(void *ctx, struct tftp_transfer *t)
{
	struct capture *c = ctx;
	(void)t;
	c->resent++;
}

static unsigned
cap_mtu(void *ctx, const struct sockaddr_storage *peer, socklen_t len)
{
	(void)peer;
	(void)len;
	return ((struct capture *)ctx)->mtu;
}

struct fixture {
	struct testboot tb;
	struct tftp_server *srv;
	struct capture cap;
	struct tftp_sink sink;
	struct tftp_arrival arr;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (testboot_init(&f->tb, "tftp") < 0)
		return -1;
	TESTFS_PUT(f->tb.dir, "pxelinux.0", "0123456789abcdef0123456789"); /* 26 bytes */
	TESTFS_PUT(f->tb.dir, "menu.txt", "a\nb\r");
	f->srv = tftp_server_new(&f->tb.nb);
	assert_non_null(f->srv);
	f->cap.mtu = 1500;
	f->sink = (struct tftp_sink){ .refuse = cap_refuse, .start = cap_start,
		                          .resend_first = cap_resend, .path_mtu = cap_mtu, .ctx = &f->cap };
	struct sockaddr_in *p = (struct sockaddr_in *)&f->arr.peer;
	p->sin_family = AF_INET;
	p->sin_port = htons(2000);
	inet_pton(AF_INET, "198.18.0.20", &p->sin_addr);
	f->arr.peerlen = sizeof(*p);
	struct sockaddr_in *l = (struct sockaddr_in *)&f->arr.local;
	l->sin_family = AF_INET;
	l->sin_port = htons(69);
	inet_pton(AF_INET, "198.18.0.1", &l->sin_addr);
	f->arr.locallen = sizeof(*l);
	memset(&metrics, 0, sizeof(metrics));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	tftp_server_free(f->srv);
	int r = testboot_fini(&f->tb);
	free(f);
	return r;
}

static enum tftp_verdict
request(struct fixture *f, enum tftp_opcode op, const char *name, const char *mode,
        const struct tftp_oack *opts)
{
	uint8_t pkt[TFTP_REQUEST_MAX];
	int n = tftp_request_build(pkt, sizeof(pkt), op, name, mode, opts);
	assert_true(n > 0);
	return tftp_handle_request(f->srv, pkt, (size_t)n, &f->arr, &f->sink);
}

static void
set_peer(struct fixture *f, const char *ip, uint16_t port)
{
	struct sockaddr_in *p = (struct sockaddr_in *)&f->arr.peer;
	inet_pton(AF_INET, ip, &p->sin_addr);
	p->sin_port = htons(port);
}

/* The ERROR the sink got: its code and text. */
static void
assert_error(const struct fixture *f, uint16_t code, const char *text)
{
	uint16_t got;
	const char *msg;
	size_t msg_len;
	assert_int_equal(tftp_error_parse(f->cap.err, f->cap.err_len, &got, &msg, &msg_len), 0);
	assert_int_equal(got, code);
	assert_int_equal(msg_len, strlen(text));
	assert_memory_equal(msg, text, msg_len);
}

/* open + start: no options means no OACK, DATA 1 first (RFC 2347). */
static void
test_plain_rrq_starts_without_oack(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", NULL), TFTP_STARTED);
	assert_int_equal(f->cap.started, 1);
	assert_int_equal(f->cap.refused, 0);
	struct tftp_transfer *t = f->cap.last;
	assert_int_equal(t->size, 26);
	assert_int_equal(t->blksize, TFTP_BLKSIZE_DEFAULT);
	assert_int_equal(t->windowsize, 1);
	assert_int_equal(t->oack_len, 0);
	assert_int_equal(t->state, XFER_DATA);
	assert_int_equal(t->nblocks, 1);
	assert_int_equal(f->srv->active, 1);
	assert_int_equal(metrics.proto[METRICS_TFTP].requests, 1);
}

/* options: blksize is capped by the path MTU the sink reports, windowsize by
 * tftp-max-windowsize; tsize is the file's size; only accepted ones echoed. */
static void
test_options_are_capped_and_echoed(void **state)
{
	struct fixture *f = *state;
	f->tb.cfg.tftp_max_windowsize = 8;
	struct tftp_oack want = { .blksize = 8192, .has_tsize = true, .windowsize = 16 };
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", &want), TFTP_STARTED);
	struct tftp_transfer *t = f->cap.last;
	assert_int_equal(t->state, XFER_OACK_SENT);
	struct tftp_oack got;
	assert_int_equal(tftp_oack_parse(t->oack, t->oack_len, &got), 0);
	assert_int_equal(got.blksize, 1500 - 32);
	assert_true(got.has_tsize);
	assert_int_equal(got.tsize, 26);
	assert_int_equal(got.windowsize, 8);
	assert_int_equal(got.timeout, 0);
	assert_true(t->probe_tsize);

	/* A jumbo route takes the client's 8192; an unknown MTU falls back to Ethernet. */
	set_peer(f, "198.18.0.21", 2000);
	f->cap.mtu = 9000;
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", &want), TFTP_STARTED);
	assert_int_equal(f->cap.last->blksize, 8192);
	set_peer(f, "198.18.0.22", 2000);
	f->cap.mtu = 0;
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", &want), TFTP_STARTED);
	assert_int_equal(f->cap.last->blksize, 1468);
	/* tftp-max-blksize wins over the path. */
	set_peer(f, "198.18.0.23", 2000);
	f->tb.cfg.tftp_max_blksize = 1024;
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", &want), TFTP_STARTED);
	assert_int_equal(f->cap.last->blksize, 1024);
	assert_int_equal(f->cap.last->nblocks, 1);
}

/* writes: a WRQ is refused with ERROR 2, and is not counted as an error. */
static void
test_write_request_refused(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(request(f, TFTP_WRQ, "pxelinux.0", "octet", NULL), TFTP_REFUSED);
	assert_error(f, TFTP_EACCESS, "read-only server: writes are refused");
	assert_int_equal(f->cap.started, 0);
	assert_int_equal(metrics.proto[METRICS_TFTP].errors, 0);
}

/* mode: "mail" is obsolete (RFC 1350), refused with ERROR 4. */
static void
test_mail_mode_refused(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "mail", NULL), TFTP_REFUSED);
	assert_error(f, TFTP_EBADOP, "unsupported transfer mode");
	assert_int_equal(metrics.proto[METRICS_TFTP].errors, 1);
}

/* open: a missing file is ERROR 1; a climb above the root is ERROR 2. The
 * table (boot/refusal.c) is the one the HTTP server answers from. */
static void
test_open_failures_use_the_shared_table(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(request(f, TFTP_RRQ, "nope.efi", "octet", NULL), TFTP_REFUSED);
	assert_error(f, TFTP_ENOTFOUND, "file not found");
	assert_int_equal(request(f, TFTP_RRQ, "../../etc/passwd", "octet", NULL), TFTP_REFUSED);
	assert_error(f, TFTP_EACCESS, "access violation");
	assert_int_equal(f->srv->active, 0);
	assert_int_equal(metrics.proto[METRICS_TFTP].errors, 2);
	/* The table itself: the same failure, both protocols. */
	assert_int_equal(refusal_for_errno(-ENOENT)->http_status, 404);
	assert_int_equal(refusal_for_errno(-ELOOP)->http_status, 403);
	assert_int_equal(refusal_for_errno(-ENAMETOOLONG)->http_status, 414);
	assert_int_equal(refusal_for_errno(-ENOTSUP)->tftp_code, TFTP_EUNDEF);
	assert_int_equal(refusal_for_errno(-ENOTSUP)->http_status, 500);
}

/* parse: malformed bytes are dropped unanswered (no reflection); a stray
 * ACK on the listener is ignored without counting. */
static void
test_malformed_dropped_and_stray_ignored(void **state)
{
	struct fixture *f = *state;
	static const uint8_t truncated[] = { 0, 1, 'p', 'x', 'e' }; /* no terminator, no mode */
	assert_int_equal(tftp_handle_request(f->srv, truncated, sizeof(truncated), &f->arr, &f->sink),
	                 TFTP_DROPPED);
	static const uint8_t ack[] = { 0, 4, 0, 1 };
	assert_int_equal(tftp_handle_request(f->srv, ack, sizeof(ack), &f->arr, &f->sink), TFTP_IGNORED);
	static const uint8_t empty[] = { 0 };
	assert_int_equal(tftp_handle_request(f->srv, empty, 0, &f->arr, &f->sink), TFTP_DROPPED);
	assert_int_equal(f->cap.refused + f->cap.started + f->cap.resent, 0);
	assert_int_equal(metrics.proto[METRICS_TFTP].errors, 2);
	assert_int_equal(metrics.proto[METRICS_TFTP].requests, 0);
}

/* repeat: the same TID again starts nothing new; the first packet goes out
 * again only while the client has not answered. */
static void
test_repeated_request(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", NULL), TFTP_STARTED);
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", NULL), TFTP_REPEATED);
	assert_int_equal(f->cap.resent, 1);
	f->cap.last->verified = true;
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", NULL), TFTP_REPEATED);
	assert_int_equal(f->cap.resent, 1);
	assert_int_equal(f->cap.started, 1);
	assert_int_equal(f->srv->active, 1);
	/* Another port of the same host is another TID: a new transfer. */
	set_peer(f, "198.18.0.20", 2001);
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", NULL), TFTP_STARTED);
	assert_int_equal(f->srv->active, 2);
}

/* capacity: per client first counted by host, then the global cap. */
static void
test_capacity_caps(void **state)
{
	struct fixture *f = *state;
	f->tb.cfg.tftp_max_per_client = 1;
	f->tb.cfg.tftp_max_transfers = 2;
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", NULL), TFTP_STARTED);
	set_peer(f, "198.18.0.20", 2001);
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", NULL), TFTP_REFUSED);
	assert_error(f, TFTP_EUNDEF, "too many transfers from your address");
	set_peer(f, "198.18.0.30", 2000);
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", NULL), TFTP_STARTED);
	set_peer(f, "198.18.0.40", 2000);
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", NULL), TFTP_REFUSED);
	assert_error(f, TFTP_EUNDEF, "server busy: too many transfers, retry later");
	assert_int_equal(f->srv->active, 2);
}

/* start: a sink that cannot open a socket gets "busy" to the client and
 * leaves nothing linked (the transfer and its file are released). */
static void
test_start_failure_refuses_and_frees(void **state)
{
	struct fixture *f = *state;
	f->cap.start_result = -EMFILE;
	assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", NULL), TFTP_REFUSED);
	assert_error(f, TFTP_EUNDEF, "server busy, retry later");
	assert_int_equal(f->srv->active, 0);
	assert_null(f->srv->transfers);
}

/* netascii: LF -> CR LF, CR -> CR NUL (RFC 764), served from memory. */
static void
test_netascii_converted(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(request(f, TFTP_RRQ, "menu.txt", "netascii", NULL), TFTP_STARTED);
	struct tftp_transfer *t = f->cap.last;
	assert_int_equal(t->size, 6);
	assert_non_null(t->mem);
	assert_memory_equal(t->mem, "a\r\nb\r\0", 6);
}

/* rate: --tftp-rate per source, bursts of twice the rate; loopback exempt. */
static void
test_rate_limit_per_source(void **state)
{
	struct fixture *f = *state;
	f->tb.cfg.tftp_rate = 1;
	tftp_server_free(f->srv);
	f->srv = tftp_server_new(&f->tb.nb); /* the bucket is sized at start */
	int started = 0, dropped = 0;
	for (uint16_t port = 3000; port < 3005; port++) {
		set_peer(f, "198.18.0.50", port);
		enum tftp_verdict v = request(f, TFTP_RRQ, "pxelinux.0", "octet", NULL);
		started += v == TFTP_STARTED;
		dropped += v == TFTP_DROPPED;
	}
	assert_int_equal(started, 2);
	assert_int_equal(dropped, 3);
	assert_int_equal(f->cap.refused, 0); /* dropped means unanswered */
	for (uint16_t port = 3000; port < 3005; port++) {
		set_peer(f, "127.0.0.1", port);
		assert_int_equal(request(f, TFTP_RRQ, "pxelinux.0", "octet", NULL), TFTP_STARTED);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_rrq_starts_without_oack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options_are_capped_and_echoed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_request_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mail_mode_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_failures_use_the_shared_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_dropped_and_stray_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeated_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_failure_refuses_and_frees, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netascii_converted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_per_source, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
