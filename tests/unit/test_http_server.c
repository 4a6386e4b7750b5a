/*
 * The HTTP request handler without sockets: request heads as byte arrays
 * in, a capturing sink out. Each test names the rule it exercises
 * (src/http/request.c) and what a broken rule would get wrong.
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
#include "boot/timeline.h"
#include "daemon.h"
#include "http/http_server.h"
#include "model/config.h"
#include "testboot.h"
#include "testfs.h"
#include "util/metrics.h"
#include "util/netlist.h"

/* The last response, with its body read out of the fd or the memory. */
struct capture {
	int n;
	struct http_response r;
	char body[4096];
	size_t body_len;
	char head[2048];            /* the head as the connection would send it */
};

static void
cap_respond(void *ctx, struct http_response *resp)
{
	struct capture *c = ctx;
	c->n++;
	c->r = *resp;
	c->body_len = 0;
	if (resp->body == HTTP_BODY_MEMORY) {
		assert_true(resp->length <= sizeof(c->body));
		memcpy(c->body, resp->data, (size_t)resp->length);
		c->body_len = (size_t)resp->length;
		free(resp->data);
	} else if (resp->body == HTTP_BODY_FILE) {
		assert_true(resp->length <= sizeof(c->body));
		ssize_t n = pread(resp->fd, c->body, (size_t)resp->length, (off_t)resp->offset);
		assert_int_equal(n, (ssize_t)resp->length);
		c->body_len = (size_t)n;
		close(resp->fd);
	} else {
		assert_null(resp->data);
	}
	c->r.head.date = 0;
	c->r.head.etag = resp->head.etag ? c->r.etag : NULL;
	http_response_head_build(c->head, sizeof(c->head), &c->r.head);
}

/* A generated document, as the per-machine scripts are. */
static int
generate(void *ctx, const char *relpath, const struct file_client *client, struct file_source *src)
{
	(void)ctx;
	(void)client;
	if (strcmp(relpath, "boot/gen.ipxe") != 0)
		return -ENOENT;
	static const char text[] = "#!ipxe\nboot\n";
	src->fd = -1;
	src->data = malloc(sizeof(text) - 1);
	memcpy(src->data, text, sizeof(text) - 1);
	src->size = sizeof(text) - 1;
	snprintf(src->path, sizeof(src->path), "%s", relpath);
	return 0;
}

struct fixture {
	struct testboot tb;
	struct http_server *srv;
	struct capture cap;
	struct http_sink sink;
	struct sockaddr_in addr;
	struct http_peer peer;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (testboot_init(&f->tb, "http") < 0)
		return -1;
	TESTFS_PUT(f->tb.dir, "vmlinuz", "0123456789");
	TESTFS_PUT(f->tb.dir, "sub/initrd.img", "INITRD");
	files_set_generator(f->tb.nb.boot.files, generate, NULL);
	f->srv = http_server_new(&f->tb.nb);
	assert_non_null(f->srv);
	f->sink = (struct http_sink){ .respond = cap_respond, .ctx = &f->cap };
	f->addr.sin_family = AF_INET;
	f->addr.sin_port = htons(40000);
	inet_pton(AF_INET, "198.18.0.20", &f->addr.sin_addr);
	f->peer = (struct http_peer){ .addr = (const struct sockaddr *)&f->addr,
		                          .addrlen = sizeof(f->addr), .text = "198.18.0.20:40000" };
	memset(&metrics, 0, sizeof(metrics));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	http_server_free(f->srv);
	int r = testboot_fini(&f->tb);
	free(f);
	return r;
}

/* One request head; asserts it was taken whole and answered once. */
static const struct http_response *
ask(struct fixture *f, const char *head)
{
	int before = f->cap.n;
	size_t used = http_handle_request(f->srv, (const uint8_t *)head, strlen(head), &f->peer, &f->sink);
	assert_int_equal(used, strlen(head));
	assert_int_equal(f->cap.n, before + 1);
	return &f->cap.r;
}

static bool
head_has(const struct fixture *f, const char *field)
{
	return strstr(f->cap.head, field) != NULL;
}

/* files: a GET of a file under the root is a 200 from the file itself. */
static void
test_get_file(void **state)
{
	struct fixture *f = *state;
	const struct http_response *r = ask(f, "GET /vmlinuz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(r->head.status, 200);
	assert_int_equal(r->body, HTTP_BODY_FILE);
	assert_int_equal(f->cap.body_len, 10);
	assert_memory_equal(f->cap.body, "0123456789", 10);
	assert_true(r->boot_file);
	assert_false(r->close_after);
	assert_string_equal(r->path, "vmlinuz");
	assert_string_equal(r->method, "GET");
	assert_true(head_has(f, "Content-Length: 10\r\n"));
	assert_true(head_has(f, "ETag: \""));
	assert_true(head_has(f, "Accept-Ranges: bytes\r\n"));
	assert_int_equal(metrics.proto[METRICS_HTTP].requests, 1);
}

/* HEAD: the GET answer's fields, no body. */
static void
test_head_has_no_body(void **state)
{
	struct fixture *f = *state;
	const struct http_response *r = ask(f, "HEAD /sub/initrd.img HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(r->head.status, 200);
	assert_int_equal(r->body, HTTP_BODY_NONE);
	assert_true(head_has(f, "Content-Length: 6\r\n"));
}

/* body: Range on a file is a 206 from the right offset; past the end, 416;
 * the ETag it sent makes an If-None-Match a 304. */
static void
test_range_and_conditionals(void **state)
{
	struct fixture *f = *state;
	const struct http_response *r = ask(f, "GET /vmlinuz HTTP/1.1\r\nHost: x\r\nRange: bytes=3-5\r\n\r\n");
	assert_int_equal(r->head.status, 206);
	assert_int_equal(f->cap.body_len, 3);
	assert_memory_equal(f->cap.body, "345", 3);
	assert_true(head_has(f, "Content-Range: bytes 3-5/10\r\n"));
	char etag[80];
	snprintf(etag, sizeof(etag), "%s", r->etag);

	r = ask(f, "GET /vmlinuz HTTP/1.1\r\nHost: x\r\nRange: bytes=10-\r\n\r\n");
	assert_int_equal(r->head.status, 416);
	assert_int_equal(r->body, HTTP_BODY_NONE);
	assert_true(head_has(f, "Content-Range: bytes */10\r\n"));

	char req[256];
	snprintf(req, sizeof(req), "GET /vmlinuz HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\n\r\n", etag);
	r = ask(f, req);
	assert_int_equal(r->head.status, 304);
	assert_int_equal(r->body, HTTP_BODY_NONE);
	assert_false(r->boot_file && r->body != HTTP_BODY_NONE);
}

/* body: generated documents are never cached and ranges copy the bytes. */
static void
test_generated_document(void **state)
{
	struct fixture *f = *state;
	const struct http_response *r = ask(f, "GET /boot/gen.ipxe HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(r->head.status, 200);
	assert_int_equal(r->body, HTTP_BODY_MEMORY);
	assert_memory_equal(f->cap.body, "#!ipxe\nboot\n", 12);
	assert_true(head_has(f, "Cache-Control: no-store"));
	assert_false(head_has(f, "ETag"));
	r = ask(f, "GET /boot/gen.ipxe HTTP/1.1\r\nHost: x\r\nRange: bytes=1-4\r\n\r\n");
	assert_int_equal(r->head.status, 206);
	assert_memory_equal(f->cap.body, "!ipx", 4);
}

/* files: a missing name is 404, a climb above the root 403, from the table
 * the TFTP server answers from (boot/refusal.c). */
static void
test_missing_and_denied(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(ask(f, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")->head.status, 404);
	assert_memory_equal(f->cap.body, "404 Not Found\n", 14);
	assert_int_equal(ask(f, "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")->head.status, 403);
	/* A dot segment inside the root resolves by name (RFC 3986 5.2.4). */
	assert_int_equal(ask(f, "GET /sub/../vmlinuz HTTP/1.1\r\nHost: x\r\n\r\n")->head.status, 200);
}

/* method, framing and target rules. */
static void
test_method_framing_target(void **state)
{
	struct fixture *f = *state;
	const struct http_response *r = ask(f, "POST /vmlinuz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n");
	assert_int_equal(r->head.status, 405);
	assert_true(head_has(f, "Allow: GET, HEAD\r\n"));
	assert_true(r->close_after); /* a body we will not read: the framing is lost */

	r = ask(f, "GET /vmlinuz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n");
	assert_int_equal(r->head.status, 501);
	assert_true(r->close_after);

	assert_int_equal(ask(f, "GET /vm%2Flinuz HTTP/1.1\r\nHost: x\r\n\r\n")->head.status, 400);
	assert_int_equal(ask(f, "GET /vm%zzlinuz HTTP/1.1\r\nHost: x\r\n\r\n")->head.status, 400);
	assert_int_equal(ask(f, "GET * HTTP/1.1\r\nHost: x\r\n\r\n")->head.status, 400);
	/* Absolute-form with a query: the path is what is served. */
	r = ask(f, "GET http://x/vmlinuz?mac=52-54-00-00-00-01 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(r->head.status, 200);
	assert_false(r->close_after);
}

/* head: a malformed head is answered and closes; an incomplete one waits. */
static void
test_malformed_and_incomplete(void **state)
{
	struct fixture *f = *state;
	const char *partial = "GET /vmlinuz HTTP/1.1\r\nHost: x\r\n";
	assert_int_equal(http_handle_request(f->srv, (const uint8_t *)partial, strlen(partial), &f->peer,
	                                     &f->sink), 0);
	assert_int_equal(f->cap.n, 0);

	const struct http_response *r = ask(f, "GET /vmlinuz HTTP/1.1\r\nHost: x\rEvil: 1\r\n\r\n");
	assert_int_equal(r->head.status, 400);
	assert_true(r->close_after);
	assert_true(head_has(f, "Connection: close\r\n"));
	r = ask(f, "GET /vmlinuz HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\nHost: x\r\n\r\n");
	assert_int_equal(r->head.status, 400);
	assert_true(r->close_after);
}

/* head: two pipelined requests: only the first is taken, the rest waits. */
static void
test_pipelined(void **state)
{
	struct fixture *f = *state;
	const char *one = "GET /vmlinuz HTTP/1.1\r\nHost: x\r\n\r\n";
	char two[256];
	snprintf(two, sizeof(two), "%sHEAD /vmlinuz HTTP/1.1\r\nHost: x\r\n\r\n", one);
	size_t used = http_handle_request(f->srv, (const uint8_t *)two, strlen(two), &f->peer, &f->sink);
	assert_int_equal(used, strlen(one));
	assert_int_equal(f->cap.n, 1);
	assert_int_equal(f->cap.r.body, HTTP_BODY_FILE);
	/* HTTP/1.0 without keep-alive closes; a closing connection says so. */
	const struct http_response *r = ask(f, "GET /vmlinuz HTTP/1.0\r\n\r\n");
	assert_true(r->close_after);
	f->peer.closing = true;
	r = ask(f, "GET /vmlinuz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(r->close_after);
	assert_true(head_has(f, "Connection: close\r\n"));
}

/* /metrics: served to status-allow only, and never on the timeline. */
static void
test_metrics_access(void **state)
{
	struct fixture *f = *state;
	char bad[64];
	assert_int_equal(net_list_add(&f->tb.cfg.status_allow, "127.0.0.0/8", bad, sizeof(bad)), 0);
	assert_int_equal(ask(f, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")->head.status, 403);
	inet_pton(AF_INET, "127.0.0.1", &f->addr.sin_addr);
	const struct http_response *r = ask(f, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(r->head.status, 200);
	assert_false(r->boot_file);
	assert_non_null(strstr(f->cap.body, "netbootd_"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_has_no_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_and_conditionals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generated_document, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_framing_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_and_incomplete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_access, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
