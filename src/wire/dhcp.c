/*
 * DHCPv4 parse and build. The option loop follows OpenBSD dhcpleased's
 * discipline: check what remains before reading a length, check the length
 * before reading a value, check known options for their exact length.
 */
#include "wire/dhcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static const uint8_t dhcp_cookie[4] = { 99, 130, 83, 99 };

/*
 * Known option lengths (RFC 2132, RFC 4578). A fatal option with a wrong
 * length drops the message: we would act on it. A non-fatal one is ignored
 * as if absent: PXE ROMs in the wild get option 94/97 wrong and still
 * deserve a boot file (option 97 missing must be accepted anyway).
 */
struct opt_rule {
	uint8_t code;
	uint8_t min, max; /* inclusive */
	uint8_t multiple; /* length must be a multiple of this */
	bool fatal;
};

static const struct opt_rule opt_rules[] = {
	{ DHCP_OPT_SUBNET_MASK, 4, 4, 1, false },
	{ DHCP_OPT_ROUTER, 4, 252, 4, false },
	{ DHCP_OPT_DNS, 4, 252, 4, false },
	{ DHCP_OPT_REQUESTED_IP, 4, 4, 1, true },
	{ DHCP_OPT_LEASE_TIME, 4, 4, 1, true },
	{ DHCP_OPT_OVERLOAD, 1, 1, 1, true },
	{ DHCP_OPT_MSG_TYPE, 1, 1, 1, true },
	{ DHCP_OPT_SERVER_ID, 4, 4, 1, true },
	{ DHCP_OPT_MAX_SIZE, 2, 2, 1, false },
	{ DHCP_OPT_CLIENT_ID, 2, 255, 1, false },
	{ DHCP_OPT_CLIENT_ARCH, 2, 254, 2, false }, /* RFC 4578 §2.1: a list of u16 */
	{ DHCP_OPT_CLIENT_NDI, 3, 3, 1, false },    /* RFC 4578 §2.2 */
	{ DHCP_OPT_CLIENT_UUID, 17, 17, 1, false }, /* RFC 4578 §2.3: type 0 + 16 bytes */
};

static const struct opt_rule *
opt_rule_find(uint8_t code)
{
	for (size_t i = 0; i < sizeof(opt_rules) / sizeof(opt_rules[0]); i++)
		if (opt_rules[i].code == code)
			return &opt_rules[i];
	return NULL;
}

/* Walk one option area. Returns 0 or -EINVAL. */
static int
parse_options(const uint8_t *p, size_t rem, struct dhcp_msg *msg)
{
	while (rem > 0) {
		uint8_t code = p[0];
		if (code == DHCP_OPT_PAD) {
			p++;
			rem--;
			continue;
		}
		if (code == DHCP_OPT_END)
			return 0;
		if (rem < 2)
			return -EINVAL; /* a code with no length byte */
		uint8_t len = p[1];
		if ((size_t)len > rem - 2)
			return -EINVAL; /* the value runs past the area */
		if (++msg->nopts > DHCP_MAX_OPTIONS)
			return -EINVAL;
		const uint8_t *val = p + 2;
		p += 2 + (size_t)len;
		rem -= 2 + (size_t)len;

		const struct opt_rule *rule = opt_rule_find(code);
		if (rule && (len < rule->min || len > rule->max || len % rule->multiple != 0)) {
			if (rule->fatal)
				return -EINVAL;
			continue;
		}
		if (msg->opt[code].present) {
			/*
			 * RFC 3396 would concatenate repeated options; nothing a
			 * boot client sends needs that, so the first one wins.
			 */
			msg->duplicates++;
			continue;
		}
		msg->opt[code].present = true;
		msg->opt[code].val = val;
		msg->opt[code].len = len;
	}
	/* RFC 2131 §4.1 wants an END; tolerate its absence (old ROMs). */
	return 0;
}

int
dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
	if (len < DHCP_MIN_LEN)
		return -EMSGSIZE;
	if (memcmp(buf + DHCP_HEADER_LEN, dhcp_cookie, sizeof(dhcp_cookie)) != 0)
		return -EINVAL;
	msg->op = buf[0];
	msg->htype = buf[1];
	msg->hlen = buf[2];
	msg->hops = buf[3];
	memcpy(&msg->xid, buf + 4, 4);
	uint16_t v16;
	memcpy(&v16, buf + 8, 2);
	msg->secs = ntohs(v16);
	memcpy(&v16, buf + 10, 2);
	msg->flags = ntohs(v16);
	memcpy(&msg->ciaddr, buf + 12, 4);
	memcpy(&msg->yiaddr, buf + 16, 4);
	memcpy(&msg->siaddr, buf + 20, 4);
	memcpy(&msg->giaddr, buf + 24, 4);
	memcpy(msg->chaddr, buf + 28, 16);
	msg->sname = buf + 44;
	msg->file = buf + 108;
	if (msg->hlen > 16)
		return -EINVAL;

	int r = parse_options(buf + DHCP_MIN_LEN, len - DHCP_MIN_LEN, msg);
	if (r < 0)
		return r;
	/* RFC 2132 §9.3: file first, then sname, only when option 52 says so. */
	if (msg->opt[DHCP_OPT_OVERLOAD].present) {
		msg->overload = msg->opt[DHCP_OPT_OVERLOAD].val[0];
		if (msg->overload < 1 || msg->overload > 3)
			return -EINVAL;
		/* Option 52 inside an overloaded field is ignored: no recursion. */
		if (msg->overload & 1) {
			r = parse_options(msg->file, 128, msg);
			if (r < 0)
				return r;
		}
		if (msg->overload & 2) {
			r = parse_options(msg->sname, 64, msg);
			if (r < 0)
				return r;
		}
	}
	if (msg->opt[DHCP_OPT_MSG_TYPE].present) {
		msg->type = msg->opt[DHCP_OPT_MSG_TYPE].val[0];
		if (msg->type < DHCPDISCOVER || msg->type > DHCPINFORM)
			return -EINVAL;
	}
	return 0;
}

int
dhcp_opt_u8(const struct dhcp_msg *msg, uint8_t code, uint8_t *out)
{
	const struct dhcp_opt *o = &msg->opt[code];
	if (!o->present)
		return -ENOENT;
	if (o->len != 1)
		return -EINVAL;
	*out = o->val[0];
	return 0;
}

int
dhcp_opt_u16(const struct dhcp_msg *msg, uint8_t code, uint16_t *out)
{
	const struct dhcp_opt *o = &msg->opt[code];
	uint16_t v;
	if (!o->present)
		return -ENOENT;
	if (o->len < 2)
		return -EINVAL;
	memcpy(&v, o->val, 2);
	*out = ntohs(v);
	return 0;
}

int
dhcp_opt_u32(const struct dhcp_msg *msg, uint8_t code, uint32_t *out)
{
	const struct dhcp_opt *o = &msg->opt[code];
	uint32_t v;
	if (!o->present)
		return -ENOENT;
	if (o->len != 4)
		return -EINVAL;
	memcpy(&v, o->val, 4);
	*out = ntohl(v);
	return 0;
}

int
dhcp_opt_addr(const struct dhcp_msg *msg, uint8_t code, struct in_addr *out)
{
	const struct dhcp_opt *o = &msg->opt[code];
	if (!o->present)
		return -ENOENT;
	if (o->len != 4)
		return -EINVAL;
	memcpy(out, o->val, 4);
	return 0;
}

const char *
dhcp_type_name(uint8_t type)
{
	static const char *const names[] = {
		[DHCPDISCOVER] = "DISCOVER", [DHCPOFFER] = "OFFER",     [DHCPREQUEST] = "REQUEST",
		[DHCPDECLINE] = "DECLINE",   [DHCPACK] = "ACK",         [DHCPNAK] = "NAK",
		[DHCPRELEASE] = "RELEASE",   [DHCPINFORM] = "INFORM",
	};
	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "?";
}

/* ---- builder ----------------------------------------------------------- */

static void
build_header(struct dhcp_builder *b, uint8_t *buf, size_t cap)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->err = 0;
	if (cap < DHCP_MIN_LEN) {
		b->err = -ENOBUFS;
		return;
	}
	memset(buf, 0, DHCP_MIN_LEN);
	memcpy(buf + DHCP_HEADER_LEN, dhcp_cookie, sizeof(dhcp_cookie));
	b->len = DHCP_MIN_LEN;
}

void
dhcp_build_reply(struct dhcp_builder *b, uint8_t *buf, size_t cap, const struct dhcp_msg *req,
                 uint8_t type, struct in_addr yiaddr, struct in_addr siaddr)
{
	build_header(b, buf, cap);
	if (b->err)
		return;
	uint16_t flags = htons(req->flags & DHCP_FLAG_BROADCAST);
	buf[0] = DHCP_BOOTREPLY;
	buf[1] = req->htype;
	buf[2] = req->hlen <= 16 ? req->hlen : 16;
	memcpy(buf + 4, &req->xid, 4);
	memcpy(buf + 10, &flags, 2);
	memcpy(buf + 16, &yiaddr, 4);
	memcpy(buf + 20, &siaddr, 4);
	memcpy(buf + 24, &req->giaddr, 4);
	memcpy(buf + 28, req->chaddr, 16);
	dhcp_build_opt_u8(b, DHCP_OPT_MSG_TYPE, type);
}

void
dhcp_build_request(struct dhcp_builder *b, uint8_t *buf, size_t cap, uint8_t type, uint32_t xid,
                   const uint8_t mac[6])
{
	build_header(b, buf, cap);
	if (b->err)
		return;
	buf[0] = DHCP_BOOTREQUEST;
	buf[1] = 1;
	buf[2] = 6;
	memcpy(buf + 4, &xid, 4);
	memcpy(buf + 28, mac, 6);
	dhcp_build_opt_u8(b, DHCP_OPT_MSG_TYPE, type);
}

void
dhcp_build_opt(struct dhcp_builder *b, uint8_t code, const void *val, size_t len)
{
	if (b->err)
		return;
	if (len > 255 || code == DHCP_OPT_PAD || code == DHCP_OPT_END) {
		b->err = -EINVAL;
		return;
	}
	/* Keep one byte for END. */
	if (b->cap - b->len < 2 + len + 1) {
		b->err = -ENOBUFS;
		return;
	}
	b->buf[b->len] = code;
	b->buf[b->len + 1] = (uint8_t)len;
	if (len)
		memcpy(b->buf + b->len + 2, val, len);
	b->len += 2 + len;
}

void
dhcp_build_opt_u8(struct dhcp_builder *b, uint8_t code, uint8_t v)
{
	dhcp_build_opt(b, code, &v, 1);
}

void
dhcp_build_opt_u32(struct dhcp_builder *b, uint8_t code, uint32_t v)
{
	uint32_t n = htonl(v);
	dhcp_build_opt(b, code, &n, 4);
}

void
dhcp_build_opt_addr(struct dhcp_builder *b, uint8_t code, struct in_addr a)
{
	dhcp_build_opt(b, code, &a, 4);
}

static void
build_field(struct dhcp_builder *b, size_t off, size_t size, const char *str)
{
	if (b->err)
		return;
	size_t n = strlen(str);
	if (n >= size) {
		b->err = -ENAMETOOLONG;
		return;
	}
	memset(b->buf + off, 0, size);
	memcpy(b->buf + off, str, n);
}

void
dhcp_build_file(struct dhcp_builder *b, const char *str)
{
	build_field(b, 108, 128, str);
}

void
dhcp_build_sname(struct dhcp_builder *b, const char *str)
{
	build_field(b, 44, 64, str);
}

int
dhcp_build_finish(struct dhcp_builder *b)
{
	if (b->err)
		return b->err;
	if (b->len >= b->cap)
		return -ENOBUFS;
	b->buf[b->len++] = DHCP_OPT_END;
	if (b->len < 300 && b->cap >= 300) {
		memset(b->buf + b->len, 0, 300 - b->len);
		b->len = 300;
	}
	return (int)b->len;
}
