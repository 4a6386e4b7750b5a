/* The client side of HTTP for `netbootd status`: a URL and a response's status line. */
#include "wire/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
http_url_parse(const char *url, struct http_url *out)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(url, "http://", 7) != 0)
		return -EPROTONOSUPPORT;
	const char *h = url + 7, *end = h + strcspn(h, "/?#");
	const char *colon = NULL;
	if (*h == '[') { /* [IPv6]:port */
		const char *close = memchr(h, ']', (size_t)(end - h));
		if (!close || close == h + 1)
			return -EINVAL;
		if ((size_t)(close - h - 1) >= sizeof(out->host))
			return -ENAMETOOLONG;
		memcpy(out->host, h + 1, (size_t)(close - h - 1));
		colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
		if (close + 1 < end && !colon)
			return -EINVAL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		const char *hend = colon ? colon : end;
		if (hend == h)
			return -EINVAL;
		if ((size_t)(hend - h) >= sizeof(out->host))
			return -ENAMETOOLONG;
		memcpy(out->host, h, (size_t)(hend - h));
	}
	snprintf(out->port, sizeof(out->port), "80");
	if (colon) {
		size_t n = (size_t)(end - colon - 1);
		char *stop;
		char digits[8] = "";
		if (n == 0 || n >= sizeof(digits))
			return -EINVAL;
		memcpy(digits, colon + 1, n);
		unsigned long p = strtoul(digits, &stop, 10);
		if (*stop || p == 0 || p > 65535 || digits[0] < '0' || digits[0] > '9')
			return -EINVAL;
		snprintf(out->port, sizeof(out->port), "%lu", p);
	}
	if (*end == '/' && strlen(end) >= sizeof(out->path))
		return -ENAMETOOLONG;
	snprintf(out->path, sizeof(out->path), "%s", *end == '/' ? end : "/");
	return 0;
}

int
http_status_line_parse(const uint8_t *buf, size_t len, int *status, size_t *body)
{
	/* "HTTP/1.x NNN" then anything to the end of the line. */
	if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[7] < '0' || buf[7] > '9' ||
	    buf[8] != ' ')
		return -EBADMSG;
	int code = 0;
	for (size_t i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -EBADMSG;
		code = code * 10 + (buf[i] - '0');
	}
	if (code < 100)
		return -EBADMSG;
	for (size_t i = 12; i + 3 < len; i++) {
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
			*status = code;
			*body = i + 4;
			return 0;
		}
	}
	return -EBADMSG; /* no end of head: truncated */
}
