/*
 * DHCPv4 / BOOTP wire format (RFC 2131, RFC 2132): a pure parser and a
 * pure builder over byte buffers. No sockets, clocks or policy in here.
 */
#ifndef NETBOOTD_WIRE_DHCP_H
#define NETBOOTD_WIRE_DHCP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The fixed BOOTP header (236 bytes) plus the magic cookie. */
#define DHCP_HEADER_LEN 236
#define DHCP_MIN_LEN 240
/* RFC 2131 §2: a client must accept 576-byte IP datagrams (548 of DHCP). */
#define DHCP_MIN_REPLY 548
/* What we ever send: one Ethernet frame without fragmentation. */
#define DHCP_MAX_REPLY 1472
/* Option instances we look at in one message; more is hostile. */
#define DHCP_MAX_OPTIONS 255

#define DHCP_BOOTREQUEST 1
#define DHCP_BOOTREPLY 2
#define DHCP_FLAG_BROADCAST 0x8000

enum dhcp_msg_type {
	DHCPDISCOVER = 1,
	DHCPOFFER = 2,
	DHCPREQUEST = 3,
	DHCPDECLINE = 4,
	DHCPACK = 5,
	DHCPNAK = 6,
	DHCPRELEASE = 7,
	DHCPINFORM = 8,
};

enum dhcp_option {
	DHCP_OPT_PAD = 0,
	DHCP_OPT_SUBNET_MASK = 1,
	DHCP_OPT_ROUTER = 3,
	DHCP_OPT_DNS = 6,
	DHCP_OPT_HOSTNAME = 12,
	DHCP_OPT_DOMAIN = 15,
	DHCP_OPT_VENDOR = 43,
	DHCP_OPT_REQUESTED_IP = 50,
	DHCP_OPT_LEASE_TIME = 51,
	DHCP_OPT_OVERLOAD = 52,
	DHCP_OPT_MSG_TYPE = 53,
	DHCP_OPT_SERVER_ID = 54,
	DHCP_OPT_PARAM_LIST = 55,
	DHCP_OPT_MESSAGE = 56,
	DHCP_OPT_MAX_SIZE = 57,
	DHCP_OPT_RENEWAL_TIME = 58,
	DHCP_OPT_REBINDING_TIME = 59,
	DHCP_OPT_VENDOR_CLASS = 60,
	DHCP_OPT_CLIENT_ID = 61,
	DHCP_OPT_TFTP_SERVER = 66,
	DHCP_OPT_BOOTFILE = 67,
	DHCP_OPT_USER_CLASS = 77,
	DHCP_OPT_RELAY_AGENT = 82,
	DHCP_OPT_CLIENT_ARCH = 93,
	DHCP_OPT_CLIENT_NDI = 94,
	DHCP_OPT_CLIENT_UUID = 97,
	DHCP_OPT_IPXE_ENCAP = 175,
	DHCP_OPT_END = 255,
};

/* One option as found in the packet: points into the caller's buffer. */
struct dhcp_opt {
	const uint8_t *val;
	uint8_t len;
	bool present;
};

/*
 * A parsed message. Every pointer points into the buffer given to
 * dhcp_parse(), which must outlive it.
 */
struct dhcp_msg {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;            /* kept in network order: echoed as is */
	uint16_t secs, flags;    /* host order */
	struct in_addr ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	const uint8_t *sname;    /* 64 bytes; not a string when overloaded */
	const uint8_t *file;     /* 128 bytes; not a string when overloaded */
	uint8_t overload;        /* option 52: 1 file, 2 sname, 3 both */
	uint8_t type;            /* option 53, 0 for plain BOOTP */
	unsigned nopts;          /* option instances seen (PAD excluded) */
	unsigned duplicates;     /* repeated codes: the first instance wins */
	struct dhcp_opt opt[256];
};

/*
 * Parse buf[0..len) as a DHCP/BOOTP message into msg. Known options are
 * checked for their exact length (RFC 2132); a wrong length, a truncated
 * option, too many options or a bad overload fails the whole message.
 * Returns 0, -EINVAL (malformed) or -EMSGSIZE (too short).
 */
int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *msg);

/* Option value helpers: return 0 and fill *out, or -ENOENT / -EINVAL. */
int dhcp_opt_u8(const struct dhcp_msg *msg, uint8_t code, uint8_t *out);
int dhcp_opt_u16(const struct dhcp_msg *msg, uint8_t code, uint16_t *out);
int dhcp_opt_u32(const struct dhcp_msg *msg, uint8_t code, uint32_t *out);
int dhcp_opt_addr(const struct dhcp_msg *msg, uint8_t code, struct in_addr *out);

/* Human name of a message type for logs ("DISCOVER"), "?" when unknown. */
const char *dhcp_type_name(uint8_t type);

/*
 * Reply builder: header, then options, then END. Any overflow sets err and
 * every later call becomes a no-op, so callers check once at the end.
 */
struct dhcp_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
};

/*
 * Start a BOOTREPLY to req in buf (cap bytes, at least DHCP_MIN_LEN): xid,
 * flags, giaddr, hlen/htype and chaddr copied, the given yiaddr and siaddr,
 * and option 53 = type.
 */
void dhcp_build_reply(struct dhcp_builder *b, uint8_t *buf, size_t cap,
                      const struct dhcp_msg *req, uint8_t type,
                      struct in_addr yiaddr, struct in_addr siaddr);
/* Start a BOOTREQUEST (tests and tools). */
void dhcp_build_request(struct dhcp_builder *b, uint8_t *buf, size_t cap, uint8_t type,
                        uint32_t xid, const uint8_t mac[6]);
void dhcp_build_opt(struct dhcp_builder *b, uint8_t code, const void *val, size_t len);
void dhcp_build_opt_u8(struct dhcp_builder *b, uint8_t code, uint8_t v);
void dhcp_build_opt_u32(struct dhcp_builder *b, uint8_t code, uint32_t v);
void dhcp_build_opt_addr(struct dhcp_builder *b, uint8_t code, struct in_addr a);
/* Copy str into the 128-byte file field (must fit with its NUL). */
void dhcp_build_file(struct dhcp_builder *b, const char *str);
void dhcp_build_sname(struct dhcp_builder *b, const char *str);
/*
 * Write END and pad to the BOOTP minimum of 300 bytes (RFC 1542 §3.2.1:
 * some relays and old ROMs drop shorter). Returns the length or -errno.
 */
int dhcp_build_finish(struct dhcp_builder *b);

#endif
