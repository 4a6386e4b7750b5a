/*
 * Pure parsing and formatting for net.c: no firmware calls, so that
 * tests/e2e/test_imgboot_parsers.py can run them on the host (test_host.c)
 * under ASan/UBSan with hostile inputs.
 */
#include "imgboot.h"

/* EFI_HTTP_STATUS_CODE enum order (UEFI 2.10 §29.6.6) to the real number. */
static const UINT16 http_status_numbers[] = {
	0,   100, 101, 200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303,
	304, 305, 307, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410,
	411, 412, 413, 414, 415, 416, 417, 500, 501, 502, 503, 504, 505, 308,
};

/* "http://host:port/path" -> "host:port" as ASCII, for the Host header. */
void
url_authority(const CHAR16 *url, CHAR8 *out, UINTN outlen)
{
	const CHAR16 *p = url;
	UINTN n = 0;

	while (*p && !(p[0] == ':' && p[1] == '/' && p[2] == '/'))
		p++;
	if (*p)
		p += 3;
	else
		p = url;
	for (; *p && *p != '/' && *p != '?' && *p != '#' && n + 1 < outlen; p++)
		out[n++] = (CHAR8)*p;
	out[n] = 0;
}

UINT64
parse_u64(const CHAR8 *s, BOOLEAN *ok)
{
	UINT64 v = 0;
	BOOLEAN any = FALSE;

	while (*s == ' ')
		s++;
	for (; *s >= '0' && *s <= '9'; s++) {
		UINT64 d = (UINT64)(*s - '0');

		if (v > (~0ULL - d) / 10) {
			*ok = FALSE;
			return 0;
		}
		v = v * 10 + d;
		any = TRUE;
	}
	while (*s == ' ')
		s++;
	*ok = any && *s == 0;
	return v;
}

BOOLEAN
ascii_ieq(const CHAR8 *a, const CHAR8 *b)
{
	for (; *a && *b; a++, b++) {
		CHAR8 x = *a, y = *b;

		if (x >= 'A' && x <= 'Z')
			x += 32;
		if (y >= 'A' && y <= 'Z')
			y += 32;
		if (x != y)
			return FALSE;
	}
	return *a == *b;
}

UINTN
append(CHAR16 *dst, UINTN n, UINTN cap, const CHAR16 *s)
{
	for (; *s && n + 1 < cap; s++)
		dst[n++] = *s;
	dst[n] = 0;
	return n;
}

static UINTN
append_dec(CHAR16 *dst, UINTN n, UINTN cap, UINT8 v)
{
	CHAR16 d[4];
	UINTN k = 0;

	do {
		d[k++] = (CHAR16)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k > 0 && n + 1 < cap)
		dst[n++] = d[--k];
	dst[n] = 0;
	return n;
}

/* "http://a.b.c.d" (port 80: see docs/imgboot.md for why). */
void
wire_ip_url(const UINT8 ip[4], CHAR16 *out, UINTN cap)
{
	UINTN n = 0, i;

	out[0] = 0;
	n = append(out, n, cap, L"http://");
	for (i = 0; i < 4; i++) {
		n = append_dec(out, n, cap, ip[i]);
		if (i < 3)
			n = append(out, n, cap, L".");
	}
}

/* Lower case, colon-separated, as netbootd's /boot/<mac>.* names expect. */
void
wire_format_mac(const UINT8 m[6], CHAR16 out[18])
{
	static const CHAR16 hex[] = L"0123456789abcdef";
	UINTN n;

	for (n = 0; n < 6; n++) {
		out[n * 3] = hex[m[n] >> 4];
		out[n * 3 + 1] = hex[m[n] & 15];
		out[n * 3 + 2] = n < 5 ? ':' : 0;
	}
}


UINTN
append_ascii(CHAR16 *dst, UINTN n, UINTN cap, const CHAR8 *s, UINTN len)
{
	UINTN i;

	for (i = 0; i < len && s[i] && n + 1 < cap; i++)
		dst[n++] = (CHAR16)s[i];
	dst[n] = 0;
	return n;
}

/* "http://host:port/dir/file" (ASCII, len bytes) -> "http://host:port". */
BOOLEAN
url_base(const CHAR8 *s, UINTN len, CHAR16 *out, UINTN cap)
{
	UINTN i = 0, n;

	if (len >= 7 && CompareMem(s, "http://", 7) == 0)
		i = 7;
	else if (len >= 8 && CompareMem(s, "https://", 8) == 0)
		i = 8;
	else
		return FALSE;
	while (i < len && s[i] && s[i] != '/')
		i++;
	for (n = 0; n < i; n++) {
		if (s[n] <= 0x20 || s[n] > 0x7e)
			return FALSE;
	}
	out[0] = 0;
	append_ascii(out, 0, cap, s, i);
	return TRUE;
}

/* A DHCP option of the cached packet (RFC 2132 TLV; bounded by the packet). */
const UINT8 *
dhcp_option(const UINT8 *pkt, UINTN pktlen, UINT8 code, UINT8 *olen)
{
	UINTN i = 240;

	if (pktlen < 240 || pkt[236] != 99 || pkt[237] != 130 || pkt[238] != 83 || pkt[239] != 99)
		return NULL;
	while (i < pktlen) {
		UINT8 c = pkt[i++];

		if (c == 0)
			continue;
		if (c == 255 || i >= pktlen)
			break;
		*olen = pkt[i++];
		if (*olen > pktlen - i)
			break;
		if (c == code)
			return pkt + i;
		i += *olen;
	}
	return NULL;
}

BOOLEAN
server_from_packet(const UINT8 *pkt, UINTN pktlen, CHAR16 *base, UINTN cap)
{
	const UINT8 *o;
	UINT8 olen = 0;
	UINT8 ip[4] = { 0 };

	if (pktlen < 236) /* through the BOOTP file field */
		return FALSE;
	/* A boot file name that is a URL names the server and the port. */
	o = dhcp_option(pkt, pktlen, 67, &olen);
	if (o && url_base((const CHAR8 *)o, olen, base, cap))
		return TRUE;
	if (url_base((const CHAR8 *)pkt + 108, 128, base, cap))
		return TRUE;
	CopyMem(ip, pkt + 20, 4); /* siaddr, the next server */
	if (!(ip[0] | ip[1] | ip[2] | ip[3])) {
		o = dhcp_option(pkt, pktlen, 54, &olen); /* server identifier */
		if (!o || olen != 4)
			return FALSE;
		CopyMem(ip, o, 4);
	}
	wire_ip_url(ip, base, cap);
	return TRUE;
}

UINTN
http_status_number(HTTP_STATUS_CODE c)
{
	if (c < sizeof(http_status_numbers) / sizeof(http_status_numbers[0]))
		return http_status_numbers[c];
	return 0;
}


/* Length of "http://" or "https://" at the start of s, or 0. */
static UINTN
scheme_len16(const CHAR16 *s)
{
	static const CHAR16 http[] = L"http://", https[] = L"https://";

	if (StrnCmp(s, http, 7) == 0)
		return 7;
	if (StrnCmp(s, https, 8) == 0)
		return 8;
	return 0;
}

/*
 * A redirect's Location (RFC 9110 §10.2.2: absolute, or relative to the
 * URL that was asked for) -> the next URL. FALSE for anything unusable:
 * another scheme, control characters or spaces, a result that does not fit,
 * and https -> http (a redirect must not take the image off TLS).
 */
BOOLEAN
url_redirect(const CHAR16 *from, const CHAR8 *location, CHAR16 *out, UINTN cap)
{
	UINTN from_scheme = scheme_len16(from), n = 0, keep, i, loclen = 0;

	if (!from_scheme || cap == 0)
		return FALSE;
	while (location[loclen]) {
		if (location[loclen] <= 0x20 || location[loclen] > 0x7e)
			return FALSE;
		loclen++;
	}
	if (loclen == 0)
		return FALSE;
	if (loclen >= 7 && CompareMem(location, "http://", 7) == 0) {
		if (from_scheme == 8)
			return FALSE; /* https -> http: no */
		keep = 0;
	} else if (loclen >= 8 && CompareMem(location, "https://", 8) == 0) {
		keep = 0;
	} else if (location[0] == '/' && location[1] == '/') {
		keep = from_scheme - 2; /* "//host/path": this scheme */
	} else if (location[0] == '/') {
		/* "/path": this scheme and authority */
		for (keep = from_scheme; from[keep] && from[keep] != '/' && from[keep] != '?' &&
		                         from[keep] != '#'; keep++)
			;
	} else {
		/* "name": beside the last path segment, before any query */
		UINTN end = from_scheme, slash = 0;

		for (i = 0; i < loclen && location[i] != '/' && location[i] != '?' &&
		            location[i] != '#'; i++) {
			if (location[i] == ':')
				return FALSE; /* "ftp:...", "mailto:...": another scheme */
		}

		while (from[end] && from[end] != '?' && from[end] != '#')
			end++;
		for (i = from_scheme; i < end; i++) {
			if (from[i] == '/')
				slash = i;
		}
		if (!slash)
			return FALSE; /* "http://host" has no path to be relative to */
		keep = slash + 1;
	}
	if (keep + loclen + 1 > cap)
		return FALSE;
	for (i = 0; i < keep; i++)
		out[n++] = from[i];
	n = append_ascii(out, n, cap, location, loclen);
	return n == keep + loclen && scheme_len16(out) != 0;
}
