/*
 * HTTP/1.1 wire format, the pure part: request head parsing with the
 * request-smuggling checks of RFC 9112, Range parsing (RFC 9110 §14),
 * strict percent-decoding of the target, MIME types by extension, HTTP
 * dates and response head building. No sockets, clocks or files here; the
 * server in src/http/ feeds bytes in and writes what comes out.
 */
#ifndef NETBOOTD_WIRE_HTTP_H
#define NETBOOTD_WIRE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum http_method {
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_DELETE, /* only the API takes it (/api/v1/booted/MAC) */
	HTTP_METHOD_OTHER,  /* a valid token we do not serve: 405 */
};

/* A byte span inside the buffer that was parsed (never NUL-terminated). */
struct http_span {
	const char *p;
	size_t len;
};

struct http_limits {
	size_t max_header_bytes; /* request line + header fields + final CRLF */
	size_t max_headers;      /* header field lines */
};

struct http_request {
	enum http_method method;
	struct http_span method_text;
	struct http_span target;     /* as sent: origin-form or absolute-form */
	unsigned version_minor;      /* HTTP/1.<minor> */
	size_t header_count;

	/* The fields the server acts on; len 0 when absent. */
	struct http_span host;
	struct http_span range;
	struct http_span if_none_match;
	struct http_span if_modified_since;
	struct http_span if_range;
	struct http_span user_agent;

	bool keep_alive;             /* after Connection and the version default */
	bool has_content_length;
	uint64_t content_length;
	bool has_transfer_encoding;
	bool transfer_encoding_unknown; /* a coding other than chunked: 501 */

	int error_status;            /* on -EBADMSG: the status to answer (400, 431, 505, 501...) */
	const char *error_reason;    /* on -EBADMSG: a short text for the log */
};

/*
 * Parse one request head at the start of buf. Returns the number of bytes
 * the head takes (request line to the empty line, inclusive) when it is
 * complete and valid, 0 when more bytes are needed (and the limits still
 * allow it), or -EBADMSG with req->error_status and req->error_reason set.
 * Rejects (RFC 9112 §2.2, §5.1, §5.2, §6.1, §11.2): a bare CR, obs-fold,
 * whitespace before a colon, a control byte in a field, Content-Length with
 * Transfer-Encoding, differing Content-Lengths, a missing or repeated Host
 * in HTTP/1.1. A single LF is accepted as a line end (§2.2 allows it).
 * Spans in req point into buf.
 */
int http_request_parse(const uint8_t *buf, size_t len, const struct http_limits *lim,
                       struct http_request *req);

/*
 * Split an origin-form or absolute-form target into its path and query.
 * Returns 0, or -EINVAL for a target we cannot serve (asterisk-form, an
 * authority-form, an absolute URI without a path, a fragment).
 */
int http_target_split(struct http_span target, struct http_span *path, struct http_span *query);

/*
 * Strictly percent-decode a path into out (NUL-terminated). Refuses with
 * -EINVAL: a malformed escape, an encoded NUL (%00), an encoded slash
 * (%2F) or backslash (%5C), which would let a name hide a separator from
 * the normaliser, a raw NUL or control byte. -ENAMETOOLONG if out is too
 * small. *outlen gets the decoded length.
 */
int http_percent_decode(const char *in, size_t inlen, char *out, size_t outsize, size_t *outlen);

enum http_range_result {
	HTTP_RANGE_NONE,          /* no usable Range: send the whole file (200) */
	HTTP_RANGE_SINGLE,        /* one satisfiable range: 206 */
	HTTP_RANGE_MULTI,         /* several ranges: we answer 200 with the whole file */
	HTTP_RANGE_UNSATISFIABLE, /* 416 */
};

#define HTTP_RANGE_MAX_SPECS 64

/*
 * Parse a Range header value against a representation of `size` bytes
 * (RFC 9110 §14.1.2, §14.2). A syntactically invalid value or another unit
 * is ignored (NONE), as §14.2 asks. For SINGLE, [*first, *last] is the
 * inclusive byte span, clipped to the file.
 */
enum http_range_result http_range_parse(const char *s, size_t len, uint64_t size,
                                        uint64_t *first, uint64_t *last);

/* Content-Type for a path by its extension; "application/octet-stream" if unknown. */
const char *http_mime_type(const char *path);

/* The reason phrase for a status code ("Unknown" for codes we never send). */
const char *http_status_text(int status);

/* IMF-fixdate (RFC 9110 §5.6.7) into buf (at least 30 bytes). Returns buf. */
char *http_date_format(time_t t, char *buf, size_t len);

/* Parse IMF-fixdate, RFC 850 and asctime dates. Returns 0 or -EINVAL. */
int http_date_parse(const char *s, size_t len, time_t *out);

/* A strong ETag (with quotes) from inode, size and mtime. Returns buf. */
char *http_etag_format(uint64_t inode, uint64_t size, time_t mtime, char *buf, size_t len);

/*
 * Does an If-None-Match value match etag? Handles "*", lists, and weak
 * comparison (W/ prefixes ignored), as §13.1.2 asks for If-None-Match.
 */
bool http_etag_list_match(const char *list, size_t len, const char *etag);

struct http_response_head {
	int status;
	const char *content_type;   /* NULL: none */
	uint64_t content_length;
	bool has_range;             /* 206: Content-Range bytes first-last/size */
	uint64_t range_first, range_last, range_size;
	bool unsatisfied_range;     /* 416: Content-Range bytes * / size */
	const char *etag;           /* NULL: none */
	time_t last_modified;       /* 0: none */
	time_t date;
	bool accept_ranges;
	bool keep_alive;
	bool http10;                /* HTTP/1.0 client: say keep-alive explicitly */
	bool no_store;              /* generated documents change per request */
	const char *allow;          /* 405 */
};

/* Build the status line and header fields, ending with the empty line. Returns length like snprintf. */
size_t http_response_head_build(char *buf, size_t len, const struct http_response_head *h);

/* What is known of a representation before its bytes are sent. */
struct http_resource {
	uint64_t size;
	const char *etag;           /* strong, with quotes; NULL: none (generated) */
	time_t mtime;               /* 0: none */
};

/* Which bytes of it a GET or HEAD gets, and with which status. */
struct http_plan {
	int status;                 /* 200, 206, 304 or 416 */
	uint64_t first;             /* first byte of the body */
	uint64_t length;            /* body bytes: Content-Length */
};

/*
 * The conditional and range rules of RFC 9110 for one request and one
 * representation: If-None-Match (weak comparison) over If-Modified-Since
 * (13.2.2) gives 304; a Range (14.2) honoured only when If-Range still
 * matches (13.1.5: a strong ETag, or the exact Last-Modified date) gives
 * 206 with the clipped span, or 416 when no byte of it exists; several
 * ranges get the whole representation in one 200 (allowed by 14.2).
 */
void http_response_plan(const struct http_request *req, const struct http_resource *res,
                        struct http_plan *plan);

/* ---- the client side (`netbootd status`) ---------------------------------- */

struct http_url {
	char host[256];             /* a name, an IPv4 address, or an IPv6 one without [] */
	char port[8];               /* "80" unless given */
	char path[512];             /* "/" unless given; the query stays with it */
};

/* "http://HOST[:PORT][/PATH]" (HOST may be [IPv6]). 0, -EPROTONOSUPPORT for
 * another scheme, -EINVAL or -ENAMETOOLONG. */
int http_url_parse(const char *url, struct http_url *out);

/* The status code of a whole response in buf, and where its body starts
 * (after the empty line). 0 or -EBADMSG. */
int http_status_line_parse(const uint8_t *buf, size_t len, int *status, size_t *body);

#endif
