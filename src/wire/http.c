#include "wire/http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/appendf.h"

/* tchar (RFC 9110 §5.6.2): the bytes allowed in a method or a field name. */
static bool
is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
span_eq(const uint8_t *p, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	return len == n && strncasecmp((const char *)p, lit, n) == 0;
}

static int
fail(struct http_request *req, int status, const char *reason)
{
	req->error_status = status;
	req->error_reason = reason;
	return -EBADMSG;
}

/* Request line: method SP request-target SP HTTP-version (RFC 9112 §3). */
static int
parse_request_line(const uint8_t *p, size_t len, struct http_request *req)
{
	size_t i = 0;
	while (i < len && is_tchar(p[i]))
		i++;
	if (i == 0 || i >= len || p[i] != ' ')
		return fail(req, 400, "malformed request line");
	req->method_text.p = (const char *)p;
	req->method_text.len = i;
	if (span_eq(p, i, "GET") && memcmp(p, "GET", 3) == 0)
		req->method = HTTP_METHOD_GET;
	else if (span_eq(p, i, "HEAD") && memcmp(p, "HEAD", 4) == 0)
		req->method = HTTP_METHOD_HEAD;
	else if (span_eq(p, i, "DELETE") && memcmp(p, "DELETE", 6) == 0)
		req->method = HTTP_METHOD_DELETE;
	else
		req->method = HTTP_METHOD_OTHER; /* methods are case-sensitive (§9.1) */
	i++;

	size_t t = i;
	while (i < len && p[i] > 0x20 && p[i] != 0x7f)
		i++;
	if (i == t || i >= len || p[i] != ' ')
		return fail(req, 400, "malformed request target");
	req->target.p = (const char *)p + t;
	req->target.len = i - t;
	i++;

	const uint8_t *v = p + i;
	size_t vlen = len - i;
	if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return fail(req, 400, "malformed HTTP version");
	if (v[5] != '1')
		return fail(req, 505, "HTTP version not supported");
	req->version_minor = (unsigned)(v[7] - '0');
	return 0;
}

static int
parse_content_length(const uint8_t *v, size_t vlen, struct http_request *req)
{
	uint64_t n = 0;
	if (vlen == 0)
		return fail(req, 400, "empty Content-Length");
	for (size_t i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9')
			return fail(req, 400, "invalid Content-Length");
		if (n > (UINT64_MAX - 9) / 10)
			return fail(req, 400, "Content-Length overflows");
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	/* Repeated equal values may be merged; differing ones are an attack (§6.3). */
	if (req->has_content_length && req->content_length != n)
		return fail(req, 400, "conflicting Content-Length fields");
	req->has_content_length = true;
	req->content_length = n;
	return 0;
}

/* Connection: a comma list of tokens; we only look for close and keep-alive. */
static void
parse_connection(const uint8_t *v, size_t vlen, bool *close, bool *keep)
{
	size_t i = 0;
	while (i < vlen) {
		while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < vlen && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (span_eq(v + s, i - s, "close"))
			*close = true;
		else if (span_eq(v + s, i - s, "keep-alive"))
			*keep = true;
	}
}

static int
parse_field(const uint8_t *p, size_t len, struct http_request *req, bool *conn_close,
            bool *conn_keep)
{
	/* A line starting with whitespace continues the previous one: obs-fold,
	 * which a server must reject or replace (RFC 9112 §5.2); we reject. */
	if (p[0] == ' ' || p[0] == '\t')
		return fail(req, 400, "obs-fold in header");
	size_t i = 0;
	while (i < len && is_tchar(p[i]))
		i++;
	if (i == len || p[i] != ':') /* includes "Name : value" (§5.1 MUST reject) */
		return fail(req, 400, "malformed header field name");
	if (i == 0)
		return fail(req, 400, "empty header field name");
	const uint8_t *name = p;
	size_t nlen = i;
	i++;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	size_t vend = len;
	while (vend > i && (p[vend - 1] == ' ' || p[vend - 1] == '\t'))
		vend--;
	for (size_t k = i; k < vend; k++) {
		uint8_t c = p[k];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(req, 400, "control byte in header field value");
	}
	const uint8_t *v = p + i;
	size_t vlen = vend - i;
	struct http_span sv = { (const char *)v, vlen };

	if (span_eq(name, nlen, "Host")) {
		if (req->host.p)
			return fail(req, 400, "repeated Host field");
		req->host = sv;
	} else if (span_eq(name, nlen, "Content-Length")) {
		return parse_content_length(v, vlen, req);
	} else if (span_eq(name, nlen, "Transfer-Encoding")) {
		req->has_transfer_encoding = true;
		/* RFC 9112 6.1: a coding we do not know gets 501; chunked we can frame. */
		size_t a = 0, b = vlen;
		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (!(b - a == 7 && strncasecmp((const char *)v + a, "chunked", 7) == 0))
			req->transfer_encoding_unknown = true;
	} else if (span_eq(name, nlen, "Connection")) {
		parse_connection(v, vlen, conn_close, conn_keep);
	} else if (span_eq(name, nlen, "Range")) {
		/* Two Range fields cannot be combined into one meaning: ignore both. */
		if (req->range.p)
			req->range.len = 0;
		else
			req->range = sv;
	} else if (span_eq(name, nlen, "If-None-Match")) {
		req->if_none_match = sv;
	} else if (span_eq(name, nlen, "If-Modified-Since")) {
		req->if_modified_since = sv;
	} else if (span_eq(name, nlen, "If-Range")) {
		req->if_range = sv;
	} else if (span_eq(name, nlen, "User-Agent")) {
		req->user_agent = sv;
	}
	return 0;
}

int
http_request_parse(const uint8_t *buf, size_t len, const struct http_limits *lim,
                   struct http_request *req)
{
	memset(req, 0, sizeof(*req));
	size_t max = lim->max_header_bytes;
	size_t pos = 0;
	size_t nlines = 0;
	bool conn_close = false, conn_keep = false;

	/* A server SHOULD ignore at least one empty line before the request
	 * line (RFC 9112 §2.2): some clients send CRLF after a POST body. */
	for (int k = 0; k < 4 && pos < len; k++) {
		if (buf[pos] == '\n')
			pos++;
		else if (buf[pos] == '\r' && pos + 1 < len && buf[pos + 1] == '\n')
			pos += 2;
		else
			break;
	}

	for (;;) {
		size_t avail = len - pos;
		size_t limit = max > pos ? max - pos : 0;
		const uint8_t *nl = memchr(buf + pos, '\n', avail < limit ? avail : limit);
		if (!nl) {
			/* Check the partial line now: a bare CR or a NUL never gets better. */
			size_t scan = avail < limit ? avail : limit;
			for (size_t k = 0; k < scan; k++) {
				if (buf[pos + k] == '\r' && k + 1 < scan)
					return fail(req, 400, "bare CR in request head");
				if (buf[pos + k] == '\0')
					return fail(req, 400, "NUL in request head");
			}
			if (avail >= limit)
				return fail(req, nlines == 0 ? 414 : 431,
				            nlines == 0 ? "request line too long" : "request header too large");
			return 0;
		}
		size_t end = (size_t)(nl - buf);
		size_t llen = end - pos;
		if (llen > 0 && buf[end - 1] == '\r')
			llen--;
		const uint8_t *line = buf + pos;
		/* A CR anywhere but before the LF: some servers treat it as a line
		 * end and some do not, the classic smuggling split (lwan does this too). */
		if (memchr(line, '\r', llen))
			return fail(req, 400, "bare CR in request head");
		if (memchr(line, '\0', llen))
			return fail(req, 400, "NUL in request head");
		pos = end + 1;

		if (nlines == 0) {
			if (llen == 0)
				return fail(req, 400, "empty request line");
			int r = parse_request_line(line, llen, req);
			if (r < 0)
				return r;
		} else if (llen == 0) {
			break;
		} else {
			if (++req->header_count > lim->max_headers)
				return fail(req, 431, "too many header fields");
			int r = parse_field(line, llen, req, &conn_close, &conn_keep);
			if (r < 0)
				return r;
		}
		nlines++;
	}

	/* Both framings at once is the request-smuggling signature (§6.3). */
	if (req->has_content_length && req->has_transfer_encoding)
		return fail(req, 400, "both Content-Length and Transfer-Encoding");
	if (req->version_minor >= 1 && !req->host.p)
		return fail(req, 400, "HTTP/1.1 request without Host"); /* RFC 9112 §3.2 */
	if (req->version_minor >= 1)
		req->keep_alive = !conn_close;
	else
		req->keep_alive = conn_keep && !conn_close;
	return (int)pos;
}

int
http_target_split(struct http_span target, struct http_span *path, struct http_span *query)
{
	const char *p = target.p;
	size_t len = target.len;
	static const char root[] = "/";

	query->p = NULL;
	query->len = 0;
	if (len >= 7 && (strncasecmp(p, "http://", 7) == 0 ||
	                 (len >= 8 && strncasecmp(p, "https://", 8) == 0))) {
		/* absolute-form (RFC 9112 §3.2.2): a server must accept it. */
		size_t i = p[4] == ':' ? 7 : 8;
		while (i < len && p[i] != '/' && p[i] != '?' && p[i] != '#')
			i++;
		p += i;
		len -= i;
		if (len == 0 || p[0] == '?') {
			/* "http://host" or "http://host?q": the path is "/". */
			if (len > 0) {
				query->p = p + 1;
				query->len = len - 1;
			}
			path->p = root;
			path->len = 1;
			return memchr(p, '#', len) ? -EINVAL : 0;
		}
	}
	if (len == 0 || p[0] != '/')
		return -EINVAL; /* asterisk-form, authority-form, garbage */
	if (memchr(p, '#', len))
		return -EINVAL; /* a fragment never travels in a request */
	const char *q = memchr(p, '?', len);
	if (q) {
		path->p = p;
		path->len = (size_t)(q - p);
		query->p = q + 1;
		query->len = len - path->len - 1;
	} else {
		path->p = p;
		path->len = len;
	}
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
http_percent_decode(const char *in, size_t inlen, char *out, size_t outsize, size_t *outlen)
{
	size_t o = 0;
	if (outsize == 0)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '%') {
			if (inlen - i < 3)
				return -EINVAL;
			int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			/* An encoded separator would reach the normaliser as a name
			 * byte on some paths and as a separator on others. Refuse. */
			if (c == '/' || c == '\\')
				return -EINVAL;
		}
		if (c < 0x20 || c == 0x7f)
			return -EINVAL; /* includes %00 and a raw NUL */
		if (o + 1 >= outsize)
			return -ENAMETOOLONG;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

/* Digits with saturation: a huge position is valid syntax, just unsatisfiable. */
static size_t
parse_u64_sat(const char *s, size_t len, uint64_t *out)
{
	size_t i = 0;
	uint64_t n = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		uint64_t d = (uint64_t)(s[i] - '0');
		n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
		i++;
	}
	*out = n;
	return i;
}

enum http_range_result
http_range_parse(const char *s, size_t len, uint64_t size, uint64_t *first, uint64_t *last)
{
	size_t i = 0;
	size_t nspecs = 0, nsat = 0;
	uint64_t f1 = 0, l1 = 0;

	if (len < 6 || strncasecmp(s, "bytes=", 6) != 0)
		return HTTP_RANGE_NONE; /* another unit, or garbage: ignore (§14.2) */
	i = 6;
	/* A zero-length file has no byte to point at: send it whole. */
	if (size == 0)
		return HTTP_RANGE_NONE;
	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i < len && s[i] == ',') { /* empty list elements are allowed (§5.6.1.2) */
			i++;
			continue;
		}
		if (i == len)
			break;
		uint64_t a, b;
		bool sat;
		if (s[i] == '-') {
			size_t n = parse_u64_sat(s + i + 1, len - i - 1, &b);
			if (n == 0)
				return HTTP_RANGE_NONE;
			i += 1 + n;
			sat = b > 0;
			a = b >= size ? 0 : size - b;
			b = size - 1;
		} else {
			size_t n = parse_u64_sat(s + i, len - i, &a);
			if (n == 0 || i + n >= len || s[i + n] != '-')
				return HTTP_RANGE_NONE;
			i += n + 1;
			n = parse_u64_sat(s + i, len - i, &b);
			if (n == 0) {
				b = size - 1;
			} else {
				if (b < a)
					return HTTP_RANGE_NONE; /* invalid range-spec: ignore the field */
				if (b >= size)
					b = size - 1;
			}
			i += n;
			sat = a < size;
		}
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i < len && s[i] != ',')
			return HTTP_RANGE_NONE;
		if (++nspecs > HTTP_RANGE_MAX_SPECS)
			return HTTP_RANGE_NONE; /* a thousand tiny ranges: send it whole */
		if (sat && nsat++ == 0) {
			f1 = a;
			l1 = b;
		}
	}
	if (nspecs == 0)
		return HTTP_RANGE_NONE;
	if (nsat == 0)
		return HTTP_RANGE_UNSATISFIABLE;
	if (nspecs > 1)
		return HTTP_RANGE_MULTI;
	*first = f1;
	*last = l1;
	return HTTP_RANGE_SINGLE;
}

static const struct {
	const char *ext;
	const char *type;
} mime_table[] = {
	/* UEFI HTTP boot (UEFI 2.10 §24.7.2) decides by these whether to start
	 * the file as an EFI binary or to mount it as a RAM disk. */
	{ "efi", "application/efi" },
	{ "iso", "application/vnd.efi-iso" },
	{ "img", "application/vnd.efi-img" },
	{ "ipxe", "text/plain; charset=utf-8" },
	{ "cfg", "text/plain; charset=utf-8" },
	{ "conf", "text/plain; charset=utf-8" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "sh", "text/plain; charset=utf-8" },
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "css", "text/css" },
	{ "js", "text/javascript" },
	{ "json", "application/json" },
	{ "xml", "application/xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "svg", "image/svg+xml" },
	{ "ico", "image/vnd.microsoft.icon" },
	{ "gz", "application/gzip" },
	{ "xz", "application/x-xz" },
	{ "zst", "application/zstd" },
	{ "bz2", "application/x-bzip2" },
	{ "tar", "application/x-tar" },
	{ "zip", "application/zip" },
	{ "cpio", "application/x-cpio" },
	{ "sig", "application/pgp-signature" },
	{ "asc", "application/pgp-signature" },
	{ "pem", "application/x-pem-file" },
	{ "crt", "application/x-x509-ca-cert" },
	{ "qcow2", "application/octet-stream" },
};

const char *
http_mime_type(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');
	if (!dot || dot == base || dot[1] == '\0')
		return "application/octet-stream";
	for (size_t i = 0; i < sizeof(mime_table) / sizeof(mime_table[0]); i++)
		if (strcasecmp(dot + 1, mime_table[i].ext) == 0)
			return mime_table[i].type;
	return "application/octet-stream";
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static const char wkday[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

char *
http_date_format(time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 GMT");
		return buf;
	}
	/* Our own names: strftime's %a/%b follow the locale. */
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", wkday[tm.tm_wday % 7], tm.tm_mday,
	         months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return buf;
}

static int
month_index(const char *m)
{
	for (int i = 0; i < 12; i++)
		if (strncmp(m, months[i], 3) == 0)
			return i;
	return -1;
}

int
http_date_parse(const char *s, size_t len, time_t *out)
{
	char buf[64], mon[4] = "", wd[16] = "", tz[4] = "";
	int day, year, hh, mm, ss, n = 0;
	struct tm tm;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(&tm, 0, sizeof(tm));
	/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
	if (sscanf(buf, "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wd, &day, mon, &year, &hh, &mm, &ss, tz,
	           &n) == 8 && (size_t)n == len && strcmp(tz, "GMT") == 0) {
		/* fall through to the checks */
	} else if (sscanf(buf, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s%n", wd, &day, mon, &year, &hh,
	                  &mm, &ss, tz, &n) == 8 && (size_t)n == len && strcmp(tz, "GMT") == 0) {
		/* RFC 850: two-digit years are the closest past century (RFC 9110 §5.6.7) */
		year += year < 70 ? 2000 : 1900;
	} else if (sscanf(buf, "%3s %3s %2d %2d:%2d:%2d %4d%n", wd, mon, &day, &hh, &mm, &ss, &year,
	                  &n) == 7 && (size_t)n == len) {
		/* asctime */
	} else {
		return -EINVAL;
	}
	int m = month_index(mon);
	if (m < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1970 ||
	    year > 9999 || hh < 0 || mm < 0 || ss < 0)
		return -EINVAL;
	tm.tm_year = year - 1900;
	tm.tm_mon = m;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	*out = timegm(&tm);
	return 0;
}

char *
http_etag_format(uint64_t inode, uint64_t size, time_t mtime, char *buf, size_t len)
{
	snprintf(buf, len, "\"%llx-%llx-%llx\"", (unsigned long long)inode, (unsigned long long)size,
	         (unsigned long long)mtime);
	return buf;
}

bool
http_etag_list_match(const char *list, size_t len, const char *etag)
{
	size_t elen = strlen(etag);
	size_t i = 0;
	while (i < len) {
		while (i < len && (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
			i++;
		if (i == len)
			break;
		if (list[i] == '*')
			return true;
		if (len - i >= 2 && list[i] == 'W' && list[i + 1] == '/')
			i += 2;
		size_t s = i;
		if (i < len && list[i] == '"') {
			i++;
			while (i < len && list[i] != '"')
				i++;
			if (i < len)
				i++;
		} else {
			while (i < len && list[i] != ',')
				i++;
		}
		if (i - s == elen && memcmp(list + s, etag, elen) == 0)
			return true;
	}
	return false;
}

size_t
http_response_head_build(char *buf, size_t len, const struct http_response_head *h)
{
	char date[40];
	size_t u = 0;

	u = appendf(buf, len, u, "HTTP/1.1 %d %s\r\nServer: netbootd\r\nDate: %s\r\n", h->status,
	           http_status_text(h->status), http_date_format(h->date, date, sizeof(date)));
	if (h->content_type)
		u = appendf(buf, len, u, "Content-Type: %s\r\n", h->content_type);
	u = appendf(buf, len, u, "Content-Length: %llu\r\n", (unsigned long long)h->content_length);
	if (h->has_range)
		u = appendf(buf, len, u, "Content-Range: bytes %llu-%llu/%llu\r\n",
		           (unsigned long long)h->range_first, (unsigned long long)h->range_last,
		           (unsigned long long)h->range_size);
	if (h->unsatisfied_range)
		u = appendf(buf, len, u, "Content-Range: bytes */%llu\r\n",
		           (unsigned long long)h->range_size);
	if (h->accept_ranges)
		u = appendf(buf, len, u, "Accept-Ranges: bytes\r\n");
	if (h->last_modified)
		u = appendf(buf, len, u, "Last-Modified: %s\r\n",
		           http_date_format(h->last_modified, date, sizeof(date)));
	if (h->etag)
		u = appendf(buf, len, u, "ETag: %s\r\n", h->etag);
	if (h->no_store)
		u = appendf(buf, len, u, "Cache-Control: no-store\r\n");
	if (h->allow)
		u = appendf(buf, len, u, "Allow: %s\r\n", h->allow);
	if (!h->keep_alive)
		u = appendf(buf, len, u, "Connection: close\r\n");
	else if (h->http10)
		u = appendf(buf, len, u, "Connection: keep-alive\r\n");
	u = appendf(buf, len, u, "\r\n");
	return u;
}
