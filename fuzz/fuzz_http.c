/*
 * libFuzzer harness for the pure HTTP pieces: the request head parser, and
 * then everything the server does with its fields (target split, strict
 * percent-decoding, path normalisation, Range, dates, ETag lists, MIME).
 * The first 8 bytes pick the file size the Range is checked against.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/safeopen.h"
#include "wire/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
has_dotdot(const char *p)
{
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		if (!slash)
			return 0;
		p = slash + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t fsize = 0;
	if (size >= 8) {
		memcpy(&fsize, data, 8);
		data += 8;
		size -= 8;
	}
	struct http_limits lim = { .max_header_bytes = 4096, .max_headers = 32 };
	struct http_request req;
	int r = http_request_parse(data, size, &lim, &req);
	if (r < 0 && (req.error_status < 400 || !req.error_reason))
		__builtin_trap();
	if (r <= 0)
		return 0;
	if ((size_t)r > size)
		__builtin_trap();

	struct http_span path, query;
	if (http_target_split(req.target, &path, &query) == 0) {
		char dec[512], norm[512];
		size_t n;
		if (http_percent_decode(path.p, path.len, dec, sizeof(dec), &n) == 0) {
			if (strlen(dec) != n)
				__builtin_trap(); /* no NUL can hide inside */
			if (path_normalize(dec, n, norm, sizeof(norm)) == 0) {
				/* Nothing normalised may climb out of the root. */
				if (norm[0] == '/' || strchr(norm, '\\') || has_dotdot(norm))
					__builtin_trap();
				(void)http_mime_type(norm);
			}
		}
	}
	if (req.range.len) {
		uint64_t f = 0, l = 0;
		if (http_range_parse(req.range.p, req.range.len, fsize, &f, &l) == HTTP_RANGE_SINGLE &&
		    (f > l || l >= fsize))
			__builtin_trap();
	}
	time_t t;
	if (req.if_modified_since.len)
		(void)http_date_parse(req.if_modified_since.p, req.if_modified_since.len, &t);
	if (req.if_none_match.len)
		(void)http_etag_list_match(req.if_none_match.p, req.if_none_match.len, "\"1-2-3\"");
	return 0;
}
