#include "wire/tftp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wire/be.h"

int
tftp_opcode(const uint8_t *buf, size_t len)
{
	if (len < 2)
		return -EBADMSG;
	return be16_get(buf);
}

/*
 * The next NUL-terminated string at *pos, bounded by len. Returns its length
 * (the string is buf+*pos) and advances past the NUL, or -1 when there is no
 * terminator before the end of the packet (atftpd CVE-2021-46671 read past
 * the end here).
 */
static long
next_string(const uint8_t *buf, size_t len, size_t *pos)
{
	if (*pos >= len)
		return -1;
	const uint8_t *nul = memchr(buf + *pos, '\0', len - *pos);
	if (!nul)
		return -1;
	long n = (long)(nul - (buf + *pos));
	*pos += (size_t)n + 1;
	return n;
}

/* Decimal only, no sign, no spaces, bounded: "0x10", "-1", "1e3", "" are invalid. */
static int
parse_number(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static enum tftp_mode
mode_from_text(const char *s)
{
	/* RFC 1350: "any combination of upper and lower case". */
	if (strcasecmp(s, "octet") == 0)
		return TFTP_MODE_OCTET;
	if (strcasecmp(s, "netascii") == 0)
		return TFTP_MODE_NETASCII;
	if (strcasecmp(s, "mail") == 0)
		return TFTP_MODE_MAIL;
	return TFTP_MODE_UNKNOWN;
}

const char *
tftp_mode_name(enum tftp_mode m)
{
	switch (m) {
	case TFTP_MODE_OCTET: return "octet";
	case TFTP_MODE_NETASCII: return "netascii";
	case TFTP_MODE_MAIL: return "mail";
	default: return "unknown";
	}
}

/* One known option: its name, range, and where the value goes. */
static void
request_option(struct tftp_request *req, const char *name, const char *val, size_t vlen)
{
	uint64_t v;
	int r;

	if (strcasecmp(name, "blksize") == 0) {
		/* RFC 2348: 8..65464. A larger request is not invalid: the server
		 * answers with what it can do, so clamp it here. */
		r = parse_number(val, vlen, UINT64_MAX, &v);
		if (r == -ERANGE || (r == 0 && v > TFTP_BLKSIZE_MAX)) {
			v = TFTP_BLKSIZE_MAX;
			r = 0;
		}
		if (r == 0 && v >= TFTP_BLKSIZE_MIN && !req->has_blksize) {
			req->has_blksize = true;
			req->blksize = (unsigned)v;
		} else if (r < 0 || v < TFTP_BLKSIZE_MIN) {
			req->n_invalid++;
		}
	} else if (strcasecmp(name, "tsize") == 0) {
		r = parse_number(val, vlen, UINT64_MAX, &v);
		if (r == 0 && !req->has_tsize) {
			req->has_tsize = true;
			req->tsize = v;
		} else if (r < 0) {
			req->n_invalid++;
		}
	} else if (strcasecmp(name, "timeout") == 0) {
		/* RFC 2349: 1..255 seconds; outside that the option is not acknowledged. */
		r = parse_number(val, vlen, TFTP_TIMEOUT_MAX, &v);
		if (r == 0 && v >= TFTP_TIMEOUT_MIN && !req->has_timeout) {
			req->has_timeout = true;
			req->timeout = (unsigned)v;
		} else if (r < 0 || v < TFTP_TIMEOUT_MIN) {
			req->n_invalid++;
		}
	} else if (strcasecmp(name, "windowsize") == 0) {
		/* RFC 7440: 1..65535. */
		r = parse_number(val, vlen, TFTP_WINDOWSIZE_MAX, &v);
		if (r == 0 && v >= TFTP_WINDOWSIZE_MIN && !req->has_windowsize) {
			req->has_windowsize = true;
			req->windowsize = (unsigned)v;
		} else if (r < 0 || v < TFTP_WINDOWSIZE_MIN) {
			req->n_invalid++;
		}
	} else {
		req->n_unknown++; /* RFC 2347: unknown options are ignored */
	}
}

int
tftp_request_parse(const uint8_t *buf, size_t len, struct tftp_request *req)
{
	memset(req, 0, sizeof(*req));
	if (len < 2)
		return -EBADMSG;
	if (len > TFTP_REQUEST_MAX)
		return -EMSGSIZE;
	uint16_t op = be16_get(buf);
	if (op != TFTP_RRQ && op != TFTP_WRQ)
		return -EPROTO;
	req->opcode = (enum tftp_opcode)op;

	size_t pos = 2;
	long n = next_string(buf, len, &pos);
	if (n <= 0) /* unterminated, or empty: dnsmasq CVE-2009-2958 */
		return -EBADMSG;
	req->filename = (const char *)buf + 2;
	req->filename_len = (size_t)n;

	size_t mode_at = pos;
	n = next_string(buf, len, &pos);
	if (n <= 0)
		return -EBADMSG;
	req->mode_text = (const char *)buf + mode_at;
	req->mode = mode_from_text(req->mode_text);

	/* RFC 2347 option pairs: name NUL value NUL, until the end. */
	while (pos < len) {
		size_t name_at = pos;
		long nl = next_string(buf, len, &pos);
		if (nl < 0)
			return -EBADMSG;
		size_t val_at = pos;
		long vl = next_string(buf, len, &pos);
		if (vl < 0)
			return -EBADMSG; /* a name without a value */
		if (++req->n_options > TFTP_MAX_OPTIONS)
			return -E2BIG;
		if (nl == 0) {
			req->n_unknown++;
			continue;
		}
		request_option(req, (const char *)buf + name_at, (const char *)buf + val_at, (size_t)vl);
	}
	return 0;
}

int
tftp_ack_parse(const uint8_t *buf, size_t len, uint16_t *block)
{
	if (len < 4)
		return -EBADMSG;
	if (be16_get(buf) != TFTP_ACK)
		return -EPROTO;
	*block = be16_get(buf + 2);
	return 0;
}

int
tftp_error_parse(const uint8_t *buf, size_t len, uint16_t *code,
                 const char **msg, size_t *msg_len)
{
	if (len < 4)
		return -EBADMSG;
	if (be16_get(buf) != TFTP_ERROR)
		return -EPROTO;
	*code = be16_get(buf + 2);
	*msg = (const char *)buf + 4;
	const uint8_t *nul = memchr(buf + 4, '\0', len - 4);
	*msg_len = nul ? (size_t)(nul - (buf + 4)) : len - 4;
	return 0;
}

int
tftp_data_parse(const uint8_t *buf, size_t len, uint16_t *block,
                const uint8_t **payload, size_t *payload_len)
{
	if (len < 4)
		return -EBADMSG;
	if (be16_get(buf) != TFTP_DATA)
		return -EPROTO;
	*block = be16_get(buf + 2);
	*payload = buf + 4;
	*payload_len = len - 4;
	return 0;
}

int
tftp_error_build(uint8_t *out, size_t outlen, uint16_t code, const char *msg)
{
	if (outlen < 5)
		return -ENOSPC;
	be16_put(out, TFTP_ERROR);
	be16_put(out + 2, code);
	size_t n = msg ? strlen(msg) : 0;
	if (n > outlen - 5)
		n = outlen - 5;
	if (n)
		memcpy(out + 4, msg, n);
	out[4 + n] = '\0';
	return (int)(5 + n);
}

int
tftp_ack_build(uint8_t *out, size_t outlen, uint16_t block)
{
	if (outlen < 4)
		return -ENOSPC;
	be16_put(out, TFTP_ACK);
	be16_put(out + 2, block);
	return 4;
}

void
tftp_data_header(uint8_t out[4], uint16_t block)
{
	be16_put(out, TFTP_DATA);
	be16_put(out + 2, block);
}

/* Append "name\0value\0"; returns the new position or -ENOSPC. */
static int
put_option(uint8_t *out, size_t outlen, size_t pos, const char *name, uint64_t value)
{
	char num[24];
	int nn = snprintf(num, sizeof(num), "%llu", (unsigned long long)value);
	size_t ln = strlen(name);
	if (nn < 0 || pos + ln + 1 + (size_t)nn + 1 > outlen)
		return -ENOSPC;
	memcpy(out + pos, name, ln + 1);
	pos += ln + 1;
	memcpy(out + pos, num, (size_t)nn + 1);
	return (int)(pos + (size_t)nn + 1);
}

static int
put_options(uint8_t *out, size_t outlen, size_t pos, const struct tftp_oack *o, bool request)
{
	int r = (int)pos;
	if (o->blksize && (r = put_option(out, outlen, (size_t)r, "blksize", o->blksize)) < 0)
		return r;
	if (o->has_tsize && (r = put_option(out, outlen, (size_t)r, "tsize", request ? 0 : o->tsize)) < 0)
		return r;
	if (o->timeout && (r = put_option(out, outlen, (size_t)r, "timeout", o->timeout)) < 0)
		return r;
	if (o->windowsize && (r = put_option(out, outlen, (size_t)r, "windowsize", o->windowsize)) < 0)
		return r;
	return r;
}

int
tftp_oack_build(uint8_t *out, size_t outlen, const struct tftp_oack *o)
{
	if (outlen < 2)
		return -ENOSPC;
	be16_put(out, TFTP_OACK);
	return put_options(out, outlen, 2, o, false);
}

int
tftp_request_build(uint8_t *out, size_t outlen, enum tftp_opcode op,
                   const char *filename, const char *mode, const struct tftp_oack *opts)
{
	size_t fl = strlen(filename), ml = strlen(mode);
	if (outlen < 2 + fl + 1 + ml + 1)
		return -ENOSPC;
	be16_put(out, (uint16_t)op);
	memcpy(out + 2, filename, fl + 1);
	memcpy(out + 2 + fl + 1, mode, ml + 1);
	size_t pos = 2 + fl + 1 + ml + 1;
	if (!opts)
		return (int)pos;
	return put_options(out, outlen, pos, opts, true);
}

int
tftp_oack_parse(const uint8_t *buf, size_t len, struct tftp_oack *o)
{
	memset(o, 0, sizeof(*o));
	if (len < 2)
		return -EBADMSG;
	if (be16_get(buf) != TFTP_OACK)
		return -EPROTO;
	size_t pos = 2;
	while (pos < len) {
		size_t name_at = pos;
		long nl = next_string(buf, len, &pos);
		size_t val_at = pos;
		long vl = nl < 0 ? -1 : next_string(buf, len, &pos);
		uint64_t v;
		if (nl < 0 || vl < 0)
			return -EBADMSG;
		if (parse_number((const char *)buf + val_at, (size_t)vl, UINT64_MAX, &v) < 0)
			return -EBADMSG;
		const char *name = (const char *)buf + name_at;
		if (strcasecmp(name, "blksize") == 0)
			o->blksize = (unsigned)(v > TFTP_BLKSIZE_MAX ? 0 : v);
		else if (strcasecmp(name, "tsize") == 0) {
			o->has_tsize = true;
			o->tsize = v;
		} else if (strcasecmp(name, "timeout") == 0)
			o->timeout = (unsigned)(v > TFTP_TIMEOUT_MAX ? 0 : v);
		else if (strcasecmp(name, "windowsize") == 0)
			o->windowsize = (unsigned)(v > TFTP_WINDOWSIZE_MAX ? 0 : v);
	}
	return 0;
}
