/*
 * DHCPv6 wire format (RFC 8415) with the network boot options of RFC 5970
 * (59 boot file URL, 60 boot file parameters, 61 client architecture,
 * 62 network interface identifier): a pure parser and a pure builder over
 * byte buffers, as wire/dhcp.h is for DHCPv4. No sockets, clocks or policy.
 *
 * Client and server messages: msg-type (1), transaction-id (3), options.
 * Relay messages: msg-type, hop-count (1), link-address (16),
 * peer-address (16), options, the relayed message inside OPTION_RELAY_MSG.
 * Options: code (2), length (2), value; all integers big-endian.
 */
#ifndef NETBOOTD_WIRE_DHCP6_H
#define NETBOOTD_WIRE_DHCP6_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHCP6_CLIENT_PORT 546
#define DHCP6_SERVER_PORT 547
#define DHCP6_HEADER_LEN 4
#define DHCP6_RELAY_HEADER_LEN 34
/* RFC 8415 §19: a relay chain longer than this is dropped. */
#define DHCP6_HOP_COUNT_LIMIT 8
/* What we ever send: one IPv6 minimum-MTU datagram (1280 - 40 - 8). */
#define DHCP6_MAX_REPLY 1232
/* Option instances we look at in one message; more is hostile. */
#define DHCP6_MAX_OPTIONS 128
/* Options are kept by code below this; higher codes are counted, not kept. */
#define DHCP6_KEPT_CODES 96
/* RFC 8415 §11.1: a DUID is 2 bytes of type and at most 128 more. */
#define DHCP6_DUID_MAX 130
/* The IANA enterprise number PXE clients (EDK2, iPXE) send in option 16. */
#define DHCP6_ENTERPRISE_PXE 343

enum dhcp6_msg_type {
	DHCP6_SOLICIT = 1,
	DHCP6_ADVERTISE = 2,
	DHCP6_REQUEST = 3,
	DHCP6_CONFIRM = 4,
	DHCP6_RENEW = 5,
	DHCP6_REBIND = 6,
	DHCP6_REPLY = 7,
	DHCP6_RELEASE = 8,
	DHCP6_DECLINE = 9,
	DHCP6_RECONFIGURE = 10,
	DHCP6_INFORMATION_REQUEST = 11,
	DHCP6_RELAY_FORW = 12,
	DHCP6_RELAY_REPL = 13,
};

enum dhcp6_option {
	DHCP6_OPT_CLIENTID = 1,
	DHCP6_OPT_SERVERID = 2,
	DHCP6_OPT_IA_NA = 3,
	DHCP6_OPT_IA_TA = 4,
	DHCP6_OPT_IAADDR = 5,
	DHCP6_OPT_ORO = 6,
	DHCP6_OPT_PREFERENCE = 7,
	DHCP6_OPT_ELAPSED_TIME = 8,
	DHCP6_OPT_RELAY_MSG = 9,
	DHCP6_OPT_UNICAST = 12,
	DHCP6_OPT_STATUS_CODE = 13,
	DHCP6_OPT_RAPID_COMMIT = 14,
	DHCP6_OPT_USER_CLASS = 15,
	DHCP6_OPT_VENDOR_CLASS = 16,
	DHCP6_OPT_VENDOR_OPTS = 17,
	DHCP6_OPT_INTERFACE_ID = 18,
	DHCP6_OPT_DNS_SERVERS = 23,
	DHCP6_OPT_DOMAIN_LIST = 24,
	DHCP6_OPT_BOOTFILE_URL = 59,
	DHCP6_OPT_BOOTFILE_PARAM = 60,
	DHCP6_OPT_CLIENT_ARCH_TYPE = 61,
	DHCP6_OPT_NII = 62,
	DHCP6_OPT_CLIENT_LINKLAYER_ADDR = 79,
};

enum dhcp6_status {
	DHCP6_STATUS_SUCCESS = 0,
	DHCP6_STATUS_UNSPEC_FAIL = 1,
	DHCP6_STATUS_NO_ADDRS_AVAIL = 2,
	DHCP6_STATUS_NO_BINDING = 3,
	DHCP6_STATUS_NOT_ON_LINK = 4,
	DHCP6_STATUS_USE_MULTICAST = 5,
};

/* One option as found in the packet: points into the caller's buffer. */
struct dhcp6_opt {
	const uint8_t *val;
	uint16_t len;
	bool present;
};

/*
 * A parsed message. Every pointer points into the buffer given to
 * dhcp6_parse(), which must outlive it. For a relay message, type is
 * RELAY-FORW or RELAY-REPL, hop_count/link/peer are set, and the relayed
 * message is opt[DHCP6_OPT_RELAY_MSG] (parse it again for its contents).
 */
struct dhcp6_msg {
	uint8_t type;
	uint8_t xid[3];              /* client/server messages only */
	uint8_t hop_count;           /* relay messages only */
	struct in6_addr link, peer;  /* relay messages only */
	unsigned nopts;              /* option instances seen */
	unsigned duplicates;         /* repeated codes: the first instance wins */
	struct dhcp6_opt opt[DHCP6_KEPT_CODES];
};

/*
 * Parse buf[0..len) as a DHCPv6 message into msg. Known options are checked
 * for their shape (DUIDs 3..130 bytes, elapsed time 2, architecture list a
 * non-empty even length, NII 3, rapid commit 0, vendor and user class
 * lists that end exactly at the option's end, IA_NA at least 12); a bad
 * shape, a truncated option or too many options fails the whole message.
 * Returns 0, -EINVAL (malformed) or -EMSGSIZE (too short).
 */
int dhcp6_parse(const uint8_t *buf, size_t len, struct dhcp6_msg *msg);

static inline bool
dhcp6_is_relay(uint8_t type)
{
	return type == DHCP6_RELAY_FORW || type == DHCP6_RELAY_REPL;
}

/* Human name of a message type for logs ("SOLICIT"), "?" when unknown. */
const char *dhcp6_type_name(uint8_t type);

/*
 * The client's IA_NA (RFC 8415 §21.4): its IAID and the first address it
 * names in an IAADDR, if any. The parser checked the option's shape; an
 * IAADDR shorter than 24 bytes is not an address. false when there is none.
 */
struct dhcp6_ia {
	uint8_t iaid[4];
	bool has_addr;
	struct in6_addr addr;
};
bool dhcp6_ia_na(const struct dhcp6_msg *msg, struct dhcp6_ia *ia);

/* Option 61's first architecture (RFC 5970: in order of preference). */
int dhcp6_client_arch(const struct dhcp6_msg *msg, uint16_t *arch);

/*
 * Whether one of the class strings in option 16 (vendor class, any
 * enterprise number) or 15 (user class) starts with prefix, e.g.
 * "PXEClient", "HTTPClient" or "iPXE".
 */
bool dhcp6_vendor_class_has(const struct dhcp6_msg *msg, const char *prefix);
bool dhcp6_user_class_has(const struct dhcp6_msg *msg, const char *prefix);

/*
 * The client's MAC address: from option 79 (set by a relay), else from a
 * DUID-LLT or DUID-LL of Ethernet (hardware type 1) in option 1. -ENOENT
 * when neither says (a DUID-UUID, as EDK2 makes when SMBIOS has a UUID):
 * then the caller tries the link-local source address (dhcp6_eui64_mac).
 */
int dhcp6_client_mac(const struct dhcp6_msg *msg, uint8_t mac[6]);

/* The MAC inside a modified EUI-64 interface identifier (fe80::xxff:fexx:xxxx). */
int dhcp6_eui64_mac(const struct in6_addr *addr, uint8_t mac[6]);

/*
 * Message builder. Any overflow sets err and every later call becomes a
 * no-op, so callers check once at the end (dhcp6_build_finish).
 */
struct dhcp6_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
};

/* Start a client or server message of the given type and transaction id. */
void dhcp6_build_start(struct dhcp6_builder *b, uint8_t *buf, size_t cap, uint8_t type,
                       const uint8_t xid[3]);
/* Start a relay message (RELAY-FORW from tests and tools, RELAY-REPL). */
void dhcp6_build_relay_start(struct dhcp6_builder *b, uint8_t *buf, size_t cap, uint8_t type,
                             uint8_t hop_count, const struct in6_addr *link,
                             const struct in6_addr *peer);
/* Start a RELAY-REPL answering relay (a parsed RELAY-FORW): same hop count,
 * link and peer addresses, its interface-id echoed (RFC 8415 §19.3). The
 * caller adds the answer with dhcp6_build_opt(b, DHCP6_OPT_RELAY_MSG, ...). */
void dhcp6_build_relay_reply(struct dhcp6_builder *b, uint8_t *buf, size_t cap,
                             const struct dhcp6_msg *relay);
void dhcp6_build_opt(struct dhcp6_builder *b, uint16_t code, const void *val, size_t len);
/* Bytes inside an open option (IA_NA's IAID, T1 and T2). */
void dhcp6_build_raw(struct dhcp6_builder *b, const void *val, size_t len);
void dhcp6_build_opt_u16(struct dhcp6_builder *b, uint16_t code, uint16_t v);
/*
 * Nested options (IA_NA holding IAADDR, RELAY_MSG holding a message): open
 * returns a mark, the contents are built, close writes the length.
 */
size_t dhcp6_build_open(struct dhcp6_builder *b, uint16_t code);
void dhcp6_build_close(struct dhcp6_builder *b, size_t mark);
/* Option 16: one enterprise number and one class string. */
void dhcp6_build_vendor_class(struct dhcp6_builder *b, uint32_t enterprise, const char *data);
/*
 * Option 3 answering ia: with addr, that address for lifetime seconds
 * (T1 and T2 at 0.5 and 0.8 of it, RFC 8415 §21.4); without, T1 = T2 = 0
 * and a status code option with status and why inside.
 */
void dhcp6_build_ia_na(struct dhcp6_builder *b, const struct dhcp6_ia *ia,
                       const struct in6_addr *addr, uint32_t lifetime, uint16_t status,
                       const char *why);
/* Option 13: a status code and its message. */
void dhcp6_build_status(struct dhcp6_builder *b, uint16_t status, const char *message);
/* Returns the length or -errno (-EMSGSIZE when it did not fit). */
int dhcp6_build_finish(struct dhcp6_builder *b);

#endif
