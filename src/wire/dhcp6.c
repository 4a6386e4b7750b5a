/*
 * DHCPv6 parser and builder (RFC 8415, RFC 5970). Pure: byte buffers in,
 * structs or byte buffers out. See dhcp6.h for what is checked.
 */
#include "wire/dhcp6.h"

#include <errno.h>
#include <string.h>

#include "wire/be.h"

/* A list of (2-byte length, bytes) items that ends exactly at len; at
 * least min_items of them. Vendor and user class data have this shape. */
static bool
length_prefixed_list_ok(const uint8_t *p, size_t len, unsigned min_items)
{
	unsigned items = 0;
	size_t at = 0;
	while (at < len) {
		if (len - at < 2)
			return false;
		size_t n = be16_get(p + at);
		at += 2;
		if (n > len - at)
			return false;
		at += n;
		items++;
	}
	return items >= min_items;
}

/* Options inside an option (IA_NA's IAADDRs): whole TLVs up to the end. */
static bool
tlv_list_ok(const uint8_t *p, size_t len)
{
	size_t at = 0;
	while (at < len) {
		if (len - at < 4)
			return false;
		size_t n = be16_get(p + at + 2);
		at += 4;
		if (n > len - at)
			return false;
		at += n;
	}
	return true;
}

/* Whether an option's value has the shape its code requires. */
static bool
shape_ok(uint8_t type, uint16_t code, const uint8_t *v, size_t n)
{
	switch (code) {
	case DHCP6_OPT_CLIENTID:
	case DHCP6_OPT_SERVERID:
		return n >= 3 && n <= DHCP6_DUID_MAX;
	case DHCP6_OPT_IA_NA:
		return n >= 12 && tlv_list_ok(v + 12, n - 12);
	case DHCP6_OPT_IA_TA:
		return n >= 4 && tlv_list_ok(v + 4, n - 4);
	case DHCP6_OPT_ORO:
		return n % 2 == 0;
	case DHCP6_OPT_PREFERENCE:
		return n == 1;
	case DHCP6_OPT_ELAPSED_TIME:
		return n == 2;
	case DHCP6_OPT_RELAY_MSG: /* only relays carry a message inside */
		return dhcp6_is_relay(type);
	case DHCP6_OPT_UNICAST:
		return n == 16;
	case DHCP6_OPT_STATUS_CODE:
		return n >= 2;
	case DHCP6_OPT_RAPID_COMMIT:
		return n == 0;
	case DHCP6_OPT_USER_CLASS:
		return length_prefixed_list_ok(v, n, 1);
	case DHCP6_OPT_VENDOR_CLASS:
		return n >= 4 && length_prefixed_list_ok(v + 4, n - 4, 0);
	case DHCP6_OPT_INTERFACE_ID:
	case DHCP6_OPT_BOOTFILE_URL:
		return n >= 1;
	case DHCP6_OPT_CLIENT_ARCH_TYPE:
		return n >= 2 && n % 2 == 0;
	case DHCP6_OPT_NII:
		return n == 3;
	case DHCP6_OPT_CLIENT_LINKLAYER_ADDR:
		return n >= 3;
	default:
		return true;
	}
}

int
dhcp6_parse(const uint8_t *buf, size_t len, struct dhcp6_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
	if (len < DHCP6_HEADER_LEN)
		return -EMSGSIZE;
	msg->type = buf[0];
	size_t at;
	if (dhcp6_is_relay(msg->type)) {
		if (len < DHCP6_RELAY_HEADER_LEN)
			return -EMSGSIZE;
		msg->hop_count = buf[1];
		memcpy(&msg->link, buf + 2, 16);
		memcpy(&msg->peer, buf + 18, 16);
		at = DHCP6_RELAY_HEADER_LEN;
	} else {
		memcpy(msg->xid, buf + 1, 3);
		at = DHCP6_HEADER_LEN;
	}
	while (at < len) {
		if (len - at < 4)
			return -EINVAL;
		uint16_t code = be16_get(buf + at);
		uint16_t n = be16_get(buf + at + 2);
		const uint8_t *v = buf + at + 4;
		at += 4;
		if (n > len - at)
			return -EINVAL;
		at += n;
		if (++msg->nopts > DHCP6_MAX_OPTIONS || !shape_ok(msg->type, code, v, n))
			return -EINVAL;
		if (code >= DHCP6_KEPT_CODES)
			continue;
		struct dhcp6_opt *o = &msg->opt[code];
		if (o->present) {
			msg->duplicates++;
			continue;
		}
		o->val = v;
		o->len = n;
		o->present = true;
	}
	return 0;
}

const char *
dhcp6_type_name(uint8_t type)
{
	static const char *const names[] = {
		[DHCP6_SOLICIT] = "SOLICIT",
		[DHCP6_ADVERTISE] = "ADVERTISE",
		[DHCP6_REQUEST] = "REQUEST",
		[DHCP6_CONFIRM] = "CONFIRM",
		[DHCP6_RENEW] = "RENEW",
		[DHCP6_REBIND] = "REBIND",
		[DHCP6_REPLY] = "REPLY",
		[DHCP6_RELEASE] = "RELEASE",
		[DHCP6_DECLINE] = "DECLINE",
		[DHCP6_RECONFIGURE] = "RECONFIGURE",
		[DHCP6_INFORMATION_REQUEST] = "INFORMATION-REQUEST",
		[DHCP6_RELAY_FORW] = "RELAY-FORW",
		[DHCP6_RELAY_REPL] = "RELAY-REPL",
	};
	return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "?";
}

int
dhcp6_client_arch(const struct dhcp6_msg *msg, uint16_t *arch)
{
	const struct dhcp6_opt *o = &msg->opt[DHCP6_OPT_CLIENT_ARCH_TYPE];
	if (!o->present)
		return -ENOENT;
	*arch = be16_get(o->val); /* the parser checked: at least 2 bytes */
	return 0;
}

/* Whether one item of a (2-byte length, bytes) list starts with prefix. */
static bool
list_has_prefix(const uint8_t *p, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);
	for (size_t at = 0; len - at >= 2;) {
		size_t n = be16_get(p + at);
		at += 2;
		if (n > len - at)
			return false;
		if (n >= plen && memcmp(p + at, prefix, plen) == 0)
			return true;
		at += n;
	}
	return false;
}

bool
dhcp6_vendor_class_has(const struct dhcp6_msg *msg, const char *prefix)
{
	const struct dhcp6_opt *o = &msg->opt[DHCP6_OPT_VENDOR_CLASS];
	return o->present && list_has_prefix(o->val + 4, o->len - 4u, prefix);
}

bool
dhcp6_user_class_has(const struct dhcp6_msg *msg, const char *prefix)
{
	const struct dhcp6_opt *o = &msg->opt[DHCP6_OPT_USER_CLASS];
	return o->present && list_has_prefix(o->val, o->len, prefix);
}

bool
dhcp6_ia_na(const struct dhcp6_msg *msg, struct dhcp6_ia *ia)
{
	const struct dhcp6_opt *o = &msg->opt[DHCP6_OPT_IA_NA];
	memset(ia, 0, sizeof(*ia));
	if (!o->present)
		return false;
	memcpy(ia->iaid, o->val, 4);
	/* shape_ok() saw whole TLVs from byte 12 to the end. */
	for (size_t at = 12; at + 4 <= o->len; at += 4 + (size_t)be16_get(o->val + at + 2)) {
		if (be16_get(o->val + at) == DHCP6_OPT_IAADDR && be16_get(o->val + at + 2) >= 24) {
			memcpy(&ia->addr, o->val + at + 4, 16);
			ia->has_addr = true;
			break;
		}
	}
	return true;
}

int
dhcp6_client_mac(const struct dhcp6_msg *msg, uint8_t mac[6])
{
	const struct dhcp6_opt *ll = &msg->opt[DHCP6_OPT_CLIENT_LINKLAYER_ADDR];
	if (ll->present && ll->len == 8 && be16_get(ll->val) == 1) {
		memcpy(mac, ll->val + 2, 6);
		return 0;
	}
	const struct dhcp6_opt *id = &msg->opt[DHCP6_OPT_CLIENTID];
	if (!id->present)
		return -ENOENT;
	uint16_t duid_type = be16_get(id->val);
	/* DUID-LLT: type 1, hardware type, 4 bytes of time, address. */
	if (duid_type == 1 && id->len == 14 && be16_get(id->val + 2) == 1) {
		memcpy(mac, id->val + 8, 6);
		return 0;
	}
	/* DUID-LL: type 3, hardware type, address. */
	if (duid_type == 3 && id->len == 10 && be16_get(id->val + 2) == 1) {
		memcpy(mac, id->val + 4, 6);
		return 0;
	}
	return -ENOENT;
}

int
dhcp6_eui64_mac(const struct in6_addr *addr, uint8_t mac[6])
{
	const uint8_t *iid = addr->s6_addr + 8;
	if (iid[3] != 0xff || iid[4] != 0xfe)
		return -ENOENT;
	mac[0] = iid[0] ^ 0x02; /* the universal/local bit, inverted in EUI-64 */
	mac[1] = iid[1];
	mac[2] = iid[2];
	mac[3] = iid[5];
	mac[4] = iid[6];
	mac[5] = iid[7];
	return 0;
}

/* ---- builder --------------------------------------------------------------- */

static uint8_t *
reserve(struct dhcp6_builder *b, size_t n)
{
	if (b->err)
		return NULL;
	if (n > b->cap - b->len) {
		b->err = -EMSGSIZE;
		return NULL;
	}
	uint8_t *p = b->buf + b->len;
	b->len += n;
	return p;
}

void
dhcp6_build_start(struct dhcp6_builder *b, uint8_t *buf, size_t cap, uint8_t type,
                  const uint8_t xid[3])
{
	*b = (struct dhcp6_builder){ .buf = buf, .cap = cap };
	uint8_t *p = reserve(b, DHCP6_HEADER_LEN);
	if (!p)
		return;
	p[0] = type;
	memcpy(p + 1, xid, 3);
}

void
dhcp6_build_relay_start(struct dhcp6_builder *b, uint8_t *buf, size_t cap, uint8_t type,
                        uint8_t hop_count, const struct in6_addr *link,
                        const struct in6_addr *peer)
{
	*b = (struct dhcp6_builder){ .buf = buf, .cap = cap };
	uint8_t *p = reserve(b, DHCP6_RELAY_HEADER_LEN);
	if (!p)
		return;
	p[0] = type;
	p[1] = hop_count;
	memcpy(p + 2, link, 16);
	memcpy(p + 18, peer, 16);
}

void
dhcp6_build_relay_reply(struct dhcp6_builder *b, uint8_t *buf, size_t cap,
                        const struct dhcp6_msg *relay)
{
	dhcp6_build_relay_start(b, buf, cap, DHCP6_RELAY_REPL, relay->hop_count, &relay->link,
	                        &relay->peer);
	const struct dhcp6_opt *ifid = &relay->opt[DHCP6_OPT_INTERFACE_ID];
	if (ifid->present)
		dhcp6_build_opt(b, DHCP6_OPT_INTERFACE_ID, ifid->val, ifid->len);
}

void
dhcp6_build_opt(struct dhcp6_builder *b, uint16_t code, const void *val, size_t len)
{
	if (len > UINT16_MAX) {
		if (!b->err)
			b->err = -EMSGSIZE;
		return;
	}
	uint8_t *p = reserve(b, 4 + len);
	if (!p)
		return;
	be16_put(p, code);
	be16_put(p + 2, (uint16_t)len);
	if (len)
		memcpy(p + 4, val, len);
}

void
dhcp6_build_raw(struct dhcp6_builder *b, const void *val, size_t len)
{
	uint8_t *p = reserve(b, len);
	if (p && len)
		memcpy(p, val, len);
}

void
dhcp6_build_opt_u16(struct dhcp6_builder *b, uint16_t code, uint16_t v)
{
	uint8_t be[2];
	be16_put(be, v);
	dhcp6_build_opt(b, code, be, sizeof(be));
}

size_t
dhcp6_build_open(struct dhcp6_builder *b, uint16_t code)
{
	size_t mark = b->len;
	uint8_t *p = reserve(b, 4);
	if (p) {
		be16_put(p, code);
		be16_put(p + 2, 0);
	}
	return mark;
}

void
dhcp6_build_close(struct dhcp6_builder *b, size_t mark)
{
	if (b->err)
		return;
	size_t n = b->len - mark - 4;
	if (n > UINT16_MAX) {
		b->err = -EMSGSIZE;
		return;
	}
	be16_put(b->buf + mark + 2, (uint16_t)n);
}

void
dhcp6_build_vendor_class(struct dhcp6_builder *b, uint32_t enterprise, const char *data)
{
	size_t mark = dhcp6_build_open(b, DHCP6_OPT_VENDOR_CLASS);
	size_t n = strlen(data);
	uint8_t *p = reserve(b, 4 + 2 + n);
	if (p) {
		be32_put(p, enterprise);
		if (n > UINT16_MAX)
			b->err = -EMSGSIZE;
		else
			be16_put(p + 4, (uint16_t)n);
		memcpy(p + 6, data, n);
	}
	dhcp6_build_close(b, mark);
}

static void
build_u32(struct dhcp6_builder *b, uint32_t v)
{
	uint8_t x[4];
	be32_put(x, v);
	dhcp6_build_raw(b, x, 4);
}

void
dhcp6_build_ia_na(struct dhcp6_builder *b, const struct dhcp6_ia *ia,
                  const struct in6_addr *addr, uint32_t lifetime, uint16_t status,
                  const char *why)
{
	size_t mark = dhcp6_build_open(b, DHCP6_OPT_IA_NA);
	dhcp6_build_raw(b, ia->iaid, 4);
	build_u32(b, addr ? lifetime / 2 : 0);
	build_u32(b, addr ? lifetime / 5 * 4 : 0);
	if (addr) {
		size_t am = dhcp6_build_open(b, DHCP6_OPT_IAADDR);
		dhcp6_build_raw(b, addr, 16);
		build_u32(b, lifetime); /* preferred */
		build_u32(b, lifetime); /* valid */
		dhcp6_build_close(b, am);
	} else {
		dhcp6_build_status(b, status, why);
	}
	dhcp6_build_close(b, mark);
}

void
dhcp6_build_status(struct dhcp6_builder *b, uint16_t status, const char *message)
{
	size_t mark = dhcp6_build_open(b, DHCP6_OPT_STATUS_CODE);
	size_t n = strlen(message);
	uint8_t *p = reserve(b, 2 + n);
	if (p) {
		be16_put(p, status);
		memcpy(p + 2, message, n);
	}
	dhcp6_build_close(b, mark);
}

int
dhcp6_build_finish(struct dhcp6_builder *b)
{
	if (b->err)
		return b->err;
	return (int)b->len;
}
