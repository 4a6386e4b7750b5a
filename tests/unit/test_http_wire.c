/*
 * The pure HTTP pieces: request heads (good ones and every smuggling shape),
 * Range, percent-decoding before path normalisation, MIME types, dates,
 * ETags and the response head. Tables of inputs with the expected verdict.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/safeopen.h"
#include "wire/http.h"

static const struct http_limits limits = { .max_header_bytes = 8192, .max_headers = 64 };

static int
parse(const char *s, struct http_request *req)
{
	return http_request_parse((const uint8_t *)s, strlen(s), &limits, req);
}

static bool
span_is(struct http_span sp, const char *s)
{
	return sp.len == strlen(s) && memcmp(sp.p, s, sp.len) == 0;
}

static void
test_request_good(void **state)
{
	(void)state;
	struct http_request req;
	const char *s = "GET /boot/vmlinuz?mac=52:54:00:12:34:56 HTTP/1.1\r\n"
	                "Host: 198.18.0.1\r\n"
	                "User-Agent: iPXE/1.0.0+\r\n"
	                "Range: bytes=0-511\r\n"
	                "\r\n"
	                "GET /next HTTP/1.1\r\n";
	int r = parse(s, &req);
	assert_int_equal(r, (int)(strstr(s, "\r\n\r\n") - s + 4));
	assert_int_equal(req.method, HTTP_METHOD_GET);
	assert_true(span_is(req.target, "/boot/vmlinuz?mac=52:54:00:12:34:56"));
	assert_int_equal(req.version_minor, 1);
	assert_true(span_is(req.host, "198.18.0.1"));
	assert_true(span_is(req.range, "bytes=0-511"));
	assert_true(span_is(req.user_agent, "iPXE/1.0.0+"));
	assert_true(req.keep_alive);
	assert_int_equal(req.header_count, 3);

	/* HEAD, bare LF line ends (RFC 9112 §2.2 allows them), HTTP/1.0 default close. */
	assert_true(parse("HEAD /x HTTP/1.0\n\n", &req) > 0);
	assert_int_equal(req.method, HTTP_METHOD_HEAD);
	assert_false(req.keep_alive);
	assert_true(parse("GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req) > 0);
	assert_true(req.keep_alive);
	assert_true(parse("GET /x HTTP/1.1\r\nHost: a\r\nConnection: TE, close\r\n\r\n", &req) > 0);
	assert_false(req.keep_alive);
	/* Leading empty lines are skipped. */
	assert_true(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &req) > 0);
	/* Trailing whitespace in a value is not part of it. */
	assert_true(parse("GET / HTTP/1.1\r\nHost:   a \t\r\nRange:bytes=1-\r\n\r\n", &req) > 0);
	assert_true(span_is(req.host, "a"));
	assert_true(span_is(req.range, "bytes=1-"));
	/* DELETE is known (the API's boot-once reset); other methods parse, the server answers 405. */
	assert_true(parse("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n", &req) > 0);
	assert_int_equal(req.method, HTTP_METHOD_DELETE);
	assert_true(parse("PUT /x HTTP/1.1\r\nHost: a\r\n\r\n", &req) > 0);
	assert_int_equal(req.method, HTTP_METHOD_OTHER);
	assert_true(parse("DELETEX /x HTTP/1.1\r\nHost: a\r\n\r\n", &req) > 0);
	assert_int_equal(req.method, HTTP_METHOD_OTHER);
	assert_true(parse("get /x HTTP/1.1\r\nHost: a\r\n\r\n", &req) > 0);
	assert_int_equal(req.method, HTTP_METHOD_OTHER); /* methods are case-sensitive */
	/* Equal repeated Content-Length is allowed. */
	assert_true(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", &req) > 0);
	assert_true(req.has_content_length);
}

static void
test_request_incomplete(void **state)
{
	(void)state;
	struct http_request req;
	static const char *partial[] = {
		"",
		"G",
		"GET / HTTP/1.1",
		"GET / HTTP/1.1\r",
		"GET / HTTP/1.1\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r",
		"\r\n",
	};
	for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
		int r = parse(partial[i], &req);
		if (r != 0)
			fail_msg("partial #%zu: %d", i, r);
	}
}

static void
test_request_bad(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int status;
	} bad[] = {
		/* request smuggling shapes */
		{ "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400 },              /* bare CR */
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400 },
		{ "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n", 400 },       /* obs-fold */
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\tz\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n", 400 }, /* space before colon */
		{ "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n", 400 },
		/* framing and fields */
		{ "GET / HTTP/1.1\r\n\r\n", 400 },                                  /* no Host */
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", 400 },
		/* request line */
		{ "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400 },
		{ " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET /\r\n\r\n", 400 },                                          /* HTTP/0.9 */
		{ "GET / http/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400 },
		{ "GET / HTTP/11\r\nHost: a\r\n\r\n", 400 },
		{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
		{ "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505 },
		{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505 },
		{ "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET /a\x7f" "b HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },   /* too many blank lines */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_request req;
		int r = parse(bad[i].in, &req);
		if (r != -EBADMSG || req.error_status != bad[i].status)
			fail_msg("bad #%zu: got %d status %d, want %d", i, r, req.error_status, bad[i].status);
		assert_non_null(req.error_reason);
	}
	/* A NUL inside the head. */
	struct http_request req;
	static const uint8_t nul[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	assert_int_equal(http_request_parse(nul, sizeof(nul) - 1, &limits, &req), -EBADMSG);
	assert_int_equal(req.error_status, 400);
	/* A bare CR is refused before the head is complete. */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\rX", &req), -EBADMSG);
}

static void
test_request_limits(void **state)
{
	(void)state;
	struct http_limits small = { .max_header_bytes = 64, .max_headers = 2 };
	struct http_request req;
	const char *ok = "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n";
	assert_true(http_request_parse((const uint8_t *)ok, strlen(ok), &small, &req) > 0);

	const char *many = "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\n\r\n";
	assert_int_equal(http_request_parse((const uint8_t *)many, strlen(many), &small, &req), -EBADMSG);
	assert_int_equal(req.error_status, 431);

	char big[200];
	snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX: %080d\r\n\r\n", 0);
	assert_int_equal(http_request_parse((const uint8_t *)big, strlen(big), &small, &req), -EBADMSG);
	assert_int_equal(req.error_status, 431);
	/* Incomplete but already over the limit: refused without waiting. */
	assert_int_equal(http_request_parse((const uint8_t *)big, 70, &small, &req), -EBADMSG);
	assert_int_equal(req.error_status, 431);

	char longline[200];
	snprintf(longline, sizeof(longline), "GET /%0100d HTTP/1.1\r\n", 0);
	assert_int_equal(http_request_parse((const uint8_t *)longline, strlen(longline), &small, &req),
	                 -EBADMSG);
	assert_int_equal(req.error_status, 414);

	/* Exactly at the limit passes. */
	const char *exact = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_limits tight = { .max_header_bytes = strlen(exact), .max_headers = 1 };
	assert_int_equal(http_request_parse((const uint8_t *)exact, strlen(exact), &tight, &req),
	                 (int)strlen(exact));
	tight.max_header_bytes--;
	assert_int_equal(http_request_parse((const uint8_t *)exact, strlen(exact), &tight, &req), -EBADMSG);
}

static void
test_target_split(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int ret;
		const char *path, *query;
	} cases[] = {
		{ "/a/b", 0, "/a/b", NULL },
		{ "/a?x=1&y", 0, "/a", "x=1&y" },
		{ "/?", 0, "/", "" },
		{ "http://host:8080/p/q?z", 0, "/p/q", "z" },
		{ "HTTPS://host/p", 0, "/p", NULL },
		{ "http://host", 0, "/", NULL },
		{ "http://host?a", 0, "/", "a" },
		{ "*", -EINVAL, NULL, NULL },
		{ "host:80", -EINVAL, NULL, NULL },
		{ "a/b", -EINVAL, NULL, NULL },
		{ "/a#frag", -EINVAL, NULL, NULL },
		{ "ftp://h/a", -EINVAL, NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_span t = { cases[i].in, strlen(cases[i].in) }, p, q;
		int r = http_target_split(t, &p, &q);
		if (r != cases[i].ret)
			fail_msg("split #%zu: %d", i, r);
		if (r == 0) {
			assert_true(span_is(p, cases[i].path));
			if (cases[i].query)
				assert_true(q.p && span_is(q, cases[i].query));
			else
				assert_null(q.p);
		}
	}
}

static void
test_percent_decode(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int ret;
		const char *out;
	} cases[] = {
		{ "/plain/name.iso", 0, "/plain/name.iso" },
		{ "/a%20b", 0, "/a b" },
		{ "/%41%62%7e", 0, "/Ab~" },
		{ "/%e2%82%ac", 0, "/\xe2\x82\xac" },
		{ "/%2e%2e/etc/passwd", 0, "/../etc/passwd" }, /* the normaliser refuses it next */
		{ "/a%2fb", -EINVAL, NULL },
		{ "/a%2Fb", -EINVAL, NULL },
		{ "/a%5cb", -EINVAL, NULL },
		{ "/a%00b", -EINVAL, NULL },
		{ "/a%0ab", -EINVAL, NULL },
		{ "/a%7f", -EINVAL, NULL },
		{ "/a%", -EINVAL, NULL },
		{ "/a%4", -EINVAL, NULL },
		{ "/a%g0", -EINVAL, NULL },
		{ "/a%0g", -EINVAL, NULL },
		{ "/a%%41", -EINVAL, NULL },
		{ "/a%-1", -EINVAL, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64];
		size_t n = 0;
		int r = http_percent_decode(cases[i].in, strlen(cases[i].in), out, sizeof(out), &n);
		if (r != cases[i].ret)
			fail_msg("decode #%zu (%s): %d", i, cases[i].in, r);
		if (r == 0) {
			assert_string_equal(out, cases[i].out);
			assert_int_equal(n, strlen(cases[i].out));
		}
	}
	/* A raw NUL inside the span. */
	char out[16];
	size_t n;
	assert_int_equal(http_percent_decode("/a\0b", 4, out, sizeof(out), &n), -EINVAL);
	/* Too small an output buffer. */
	assert_int_equal(http_percent_decode("/abcdef", 7, out, 4, &n), -ENAMETOOLONG);
	assert_int_equal(http_percent_decode("/abc", 4, out, 5, &n), 0);
	assert_int_equal(http_percent_decode("/abc", 4, out, 0, &n), -ENAMETOOLONG);
}

/* Decoding then normalising: every escape spelling ends refused, never outside. */
static void
test_decode_then_normalize(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int decode, norm;
		const char *out;
	} cases[] = {
		{ "/%2e%2e/%2e%2e/etc/passwd", 0, -EACCES, NULL },
		{ "/a/%2E%2E/%2e%2E/b", 0, -EACCES, NULL },
		{ "/..%5c..%5cetc", -EINVAL, 0, NULL },
		{ "/..\\..\\etc\\passwd", 0, -EACCES, NULL }, /* raw backslashes are separators */
		{ "/boot/./x//y", 0, 0, "boot/x/y" },
		{ "/", 0, -ENOENT, NULL },
		{ "/.%2e", 0, -EACCES, NULL },
		{ "/%2e", 0, -ENOENT, NULL },
		{ "/...", 0, 0, "..." },
		{ "/a%00.iso", -EINVAL, 0, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char dec[128], norm[128];
		size_t n;
		int r = http_percent_decode(cases[i].in, strlen(cases[i].in), dec, sizeof(dec), &n);
		if (r != cases[i].decode)
			fail_msg("#%zu decode %d", i, r);
		if (r < 0)
			continue;
		r = path_normalize(dec, n, norm, sizeof(norm));
		if (r != cases[i].norm)
			fail_msg("#%zu normalize %d", i, r);
		if (r == 0)
			assert_string_equal(norm, cases[i].out);
	}
}

static void
test_range(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		uint64_t size;
		enum http_range_result res;
		uint64_t first, last;
	} cases[] = {
		{ "bytes=0-499", 1000, HTTP_RANGE_SINGLE, 0, 499 },
		{ "bytes=500-999", 1000, HTTP_RANGE_SINGLE, 500, 999 },
		{ "bytes=500-5000", 1000, HTTP_RANGE_SINGLE, 500, 999 },      /* clipped */
		{ "bytes=900-", 1000, HTTP_RANGE_SINGLE, 900, 999 },         /* open */
		{ "bytes=-100", 1000, HTTP_RANGE_SINGLE, 900, 999 },         /* suffix */
		{ "bytes=-5000", 1000, HTTP_RANGE_SINGLE, 0, 999 },          /* suffix > size */
		{ "bytes=0-0", 1, HTTP_RANGE_SINGLE, 0, 0 },
		{ "BYTES=1-2", 10, HTTP_RANGE_SINGLE, 1, 2 },
		{ "bytes=  5-6 ", 10, HTTP_RANGE_SINGLE, 5, 6 },
		{ "bytes=,5-6,", 10, HTTP_RANGE_SINGLE, 5, 6 },
		{ "bytes=999-999", 1000, HTTP_RANGE_SINGLE, 999, 999 },
		{ "bytes=0-18446744073709551615", 10, HTTP_RANGE_SINGLE, 0, 9 },
		{ "bytes=0-99999999999999999999999", 10, HTTP_RANGE_SINGLE, 0, 9 },
		{ "bytes=1000-", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=1000-2000", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=-0", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=99999999999999999999999-", 10, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=2000-3000,4000-", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=0-1,5-6", 10, HTTP_RANGE_MULTI, 0, 0 },
		{ "bytes=0-1,50-60", 10, HTTP_RANGE_MULTI, 0, 0 },
		{ "bytes=5-1", 10, HTTP_RANGE_NONE, 0, 0 },                  /* invalid: ignored */
		{ "bytes=", 10, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes=-", 10, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes=a-b", 10, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes=1-2x", 10, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes=1", 10, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes=1-2;3-4", 10, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes 0-1", 10, HTTP_RANGE_NONE, 0, 0 },
		{ "items=0-1", 10, HTTP_RANGE_NONE, 0, 0 },
		{ "", 10, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes=0-", 0, HTTP_RANGE_NONE, 0, 0 },                   /* empty file: whole */
		{ "bytes=-1", 0, HTTP_RANGE_NONE, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t f = 77, l = 77;
		enum http_range_result res =
			http_range_parse(cases[i].in, strlen(cases[i].in), cases[i].size, &f, &l);
		if (res != cases[i].res)
			fail_msg("range #%zu (%s): %d want %d", i, cases[i].in, res, cases[i].res);
		if (res == HTTP_RANGE_SINGLE && (f != cases[i].first || l != cases[i].last))
			fail_msg("range #%zu (%s): %llu-%llu", i, cases[i].in, (unsigned long long)f,
			         (unsigned long long)l);
	}
	/* Too many ranges: served whole rather than parsed forever. */
	char many[2048] = "bytes=";
	for (int i = 0; i < HTTP_RANGE_MAX_SPECS + 1; i++)
		strcat(many, "0-1,");
	uint64_t f, l;
	assert_int_equal(http_range_parse(many, strlen(many), 100, &f, &l), HTTP_RANGE_NONE);
}

static void
test_mime(void **state)
{
	(void)state;
	assert_string_equal(http_mime_type("boot/grubx64.efi"), "application/efi");
	assert_string_equal(http_mime_type("rescue.ISO"), "application/vnd.efi-iso");
	assert_string_equal(http_mime_type("disk.img"), "application/vnd.efi-img");
	assert_string_equal(http_mime_type("boot.ipxe"), "text/plain; charset=utf-8");
	assert_string_equal(http_mime_type("vmlinuz"), "application/octet-stream");
	assert_string_equal(http_mime_type("undionly.kpxe"), "application/octet-stream");
	assert_string_equal(http_mime_type("dir.iso/file"), "application/octet-stream");
	assert_string_equal(http_mime_type(".iso"), "application/octet-stream");
	assert_string_equal(http_mime_type("a."), "application/octet-stream");
	assert_string_equal(http_mime_type(""), "application/octet-stream");
	assert_string_equal(http_mime_type("initrd.img.gz"), "application/gzip");
}

static void
test_dates_etags(void **state)
{
	(void)state;
	char buf[40];
	time_t t;
	assert_string_equal(http_date_format(784111777, buf, sizeof(buf)), "Sun, 06 Nov 1994 08:49:37 GMT");
	static const char *forms[] = {
		"Sun, 06 Nov 1994 08:49:37 GMT",
		"Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994",
	};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(http_date_parse(forms[i], strlen(forms[i]), &t), 0);
		assert_int_equal(t, 784111777);
	}
	static const char *bad[] = {
		"", "yesterday", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Foo 1994 08:49:37 GMT",
		"Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMTxx",
		"Sun, 06 Nov 1994 08:49:37 GMT and a very long tail that does not fit at all in 64",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_date_parse(bad[i], strlen(bad[i]), &t) == 0)
			fail_msg("date #%zu parsed", i);

	char etag[64];
	http_etag_format(0x1234, 1000, 784111777, etag, sizeof(etag));
	assert_string_equal(etag, "\"1234-3e8-2ebc98a1\"");
	assert_true(http_etag_list_match(etag, strlen(etag), etag));
	const char *list = "\"x\", W/\"1234-3e8-2ebc98a1\"";
	assert_true(http_etag_list_match(list, strlen(list), etag));
	assert_true(http_etag_list_match("*", 1, etag));
	assert_false(http_etag_list_match("\"x\", \"y\"", 8, etag));
	assert_false(http_etag_list_match("\"1234-3e8-2ebc2ba", 17, etag));
	assert_false(http_etag_list_match("", 0, etag));
}

static void
test_response_head(void **state)
{
	(void)state;
	char buf[1024];
	struct http_response_head h = {
		.status = 206,
		.content_type = "application/vnd.efi-iso",
		.content_length = 100,
		.has_range = true,
		.range_first = 100,
		.range_last = 199,
		.range_size = 1000,
		.etag = "\"e\"",
		.last_modified = 784111777,
		.date = 784111777,
		.accept_ranges = true,
		.keep_alive = true,
	};
	size_t n = http_response_head_build(buf, sizeof(buf), &h);
	assert_int_equal(n, strlen(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 206 Partial Content\r\n"));
	assert_non_null(strstr(buf, "\r\nContent-Length: 100\r\n"));
	assert_non_null(strstr(buf, "\r\nContent-Range: bytes 100-199/1000\r\n"));
	assert_non_null(strstr(buf, "\r\nETag: \"e\"\r\n"));
	assert_non_null(strstr(buf, "\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
	assert_null(strstr(buf, "Connection:"));
	assert_int_equal(memcmp(buf + n - 4, "\r\n\r\n", 4), 0);

	struct http_response_head e = { .status = 416, .range_size = 5, .unsatisfied_range = true,
		                            .allow = "GET, HEAD" };
	n = http_response_head_build(buf, sizeof(buf), &e);
	assert_non_null(strstr(buf, "Content-Range: bytes */5\r\n"));
	assert_non_null(strstr(buf, "Connection: close\r\n"));
	assert_non_null(strstr(buf, "Allow: GET, HEAD\r\n"));
	assert_non_null(strstr(buf, "Content-Length: 0\r\n"));
	/* Truncation reports the length it needed, like snprintf. */
	assert_true(http_response_head_build(buf, 10, &h) > 10);
	assert_string_equal(http_status_text(431), "Request Header Fields Too Large");
}

/* http_response_plan: the conditional and range rules, one row per case. */
static void
test_response_plan(void **state)
{
	(void)state;
	static const char etag[] = "\"abc-100-5\"";
	const time_t mtime = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
	static const struct {
		const char *fields;
		int status;
		uint64_t first, length;
	} rows[] = {
		{ "", 200, 0, 100 },
		{ "Range: bytes=10-19\r\n", 206, 10, 10 },
		{ "Range: bytes=-5\r\n", 206, 95, 5 },
		{ "Range: bytes=90-500\r\n", 206, 90, 10 },            /* clipped to the file */
		{ "Range: bytes=100-\r\n", 416, 0, 0 },
		{ "Range: bytes=0-1,5-6\r\n", 200, 0, 100 },           /* several: the whole file */
		{ "Range: lines=1-2\r\n", 200, 0, 100 },               /* another unit: ignored */
		{ "If-None-Match: \"abc-100-5\"\r\n", 304, 0, 0 },
		{ "If-None-Match: W/\"abc-100-5\"\r\n", 304, 0, 0 },  /* weak comparison */
		{ "If-None-Match: \"other\", *\r\n", 304, 0, 0 },
		{ "If-None-Match: \"other\"\r\n", 200, 0, 100 },
		/* If-None-Match wins over If-Modified-Since (13.2.2). */
		{ "If-None-Match: \"other\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", 200, 0, 100 },
		{ "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", 304, 0, 0 },
		{ "If-Modified-Since: Sat, 05 Nov 1994 08:49:37 GMT\r\n", 200, 0, 100 },
		{ "If-Modified-Since: yesterday\r\n", 200, 0, 100 },
		/* If-Range: only a strong equal tag or the exact date keeps the range. */
		{ "Range: bytes=0-0\r\nIf-Range: \"abc-100-5\"\r\n", 206, 0, 1 },
		{ "Range: bytes=0-0\r\nIf-Range: W/\"abc-100-5\"\r\n", 200, 0, 100 },
		{ "Range: bytes=0-0\r\nIf-Range: \"old\"\r\n", 200, 0, 100 },
		{ "Range: bytes=0-0\r\nIf-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n", 206, 0, 1 },
		{ "Range: bytes=0-0\r\nIf-Range: Sun, 06 Nov 1994 08:49:38 GMT\r\n", 200, 0, 100 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char head[512];
		snprintf(head, sizeof(head), "GET /f HTTP/1.1\r\nHost: x\r\n%s\r\n", rows[i].fields);
		struct http_request req;
		assert_true(parse(head, &req) > 0);
		struct http_resource res = { .size = 100, .etag = etag, .mtime = mtime };
		struct http_plan plan;
		http_response_plan(&req, &res, &plan);
		if (plan.status != rows[i].status || plan.first != rows[i].first ||
		    plan.length != rows[i].length)
			fail_msg("row %zu (%s): got %d %llu+%llu", i, rows[i].fields, plan.status,
			         (unsigned long long)plan.first, (unsigned long long)plan.length);
	}
	/* Generated documents have no validators: no 304, no If-Range match. */
	struct http_request req;
	assert_true(parse("GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n"
	                  "Range: bytes=0-0\r\nIf-Range: \"x\"\r\n\r\n", &req) > 0);
	struct http_resource gen = { .size = 7 };
	struct http_plan plan;
	http_response_plan(&req, &gen, &plan);
	assert_int_equal(plan.status, 200);
	assert_int_equal(plan.length, 7);
}

/* The client side: URLs for --server, and a response's status line. */
static void
test_client_side(void **state)
{
	(void)state;
	struct http_url u;
	assert_int_equal(http_url_parse("http://198.18.0.1:8080/x/", &u), 0);
	assert_string_equal(u.host, "198.18.0.1");
	assert_string_equal(u.port, "8080");
	assert_string_equal(u.path, "/x/");
	assert_int_equal(http_url_parse("http://boot.example", &u), 0);
	assert_string_equal(u.port, "80");
	assert_string_equal(u.path, "/");
	assert_int_equal(http_url_parse("http://[fd00::1]:81", &u), 0);
	assert_string_equal(u.host, "fd00::1");
	assert_string_equal(u.port, "81");
	assert_int_equal(http_url_parse("https://x/", &u), -EPROTONOSUPPORT);
	assert_int_equal(http_url_parse("x:80", &u), -EPROTONOSUPPORT);
	assert_int_equal(http_url_parse("http://", &u), -EINVAL);
	assert_int_equal(http_url_parse("http://:80/", &u), -EINVAL);
	assert_int_equal(http_url_parse("http://h:0/", &u), -EINVAL);
	assert_int_equal(http_url_parse("http://h:65536/", &u), -EINVAL);
	assert_int_equal(http_url_parse("http://h:8x/", &u), -EINVAL);
	assert_int_equal(http_url_parse("http://h:/", &u), -EINVAL);
	assert_int_equal(http_url_parse("http://[fd00::1/", &u), -EINVAL);
	assert_int_equal(http_url_parse("http://[fd00::1]x/", &u), -EINVAL);

	int status;
	size_t body;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
	assert_int_equal(http_status_line_parse((const uint8_t *)ok, strlen(ok), &status, &body), 0);
	assert_int_equal(status, 200);
	assert_string_equal(ok + body, "hi");
	const char *cut = "HTTP/1.1 403 Forbidden\r\nX: y\r\n";
	assert_int_equal(http_status_line_parse((const uint8_t *)cut, strlen(cut), &status, &body),
	                 -EBADMSG);
	const char *bad[] = { "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20x OK\r\n\r\n", "SSH-2.0-x\r\n\r\n",
		                  "HTTP/1.1 099 x\r\n\r\n", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(http_status_line_parse((const uint8_t *)bad[i], strlen(bad[i]), &status,
		                                        &body), -EBADMSG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_good),
		cmocka_unit_test(test_request_incomplete),
		cmocka_unit_test(test_request_bad),
		cmocka_unit_test(test_request_limits),
		cmocka_unit_test(test_target_split),
		cmocka_unit_test(test_percent_decode),
		cmocka_unit_test(test_decode_then_normalize),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_mime),
		cmocka_unit_test(test_dates_etags),
		cmocka_unit_test(test_response_head),
		cmocka_unit_test(test_response_plan),
		cmocka_unit_test(test_client_side),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
