/*
 * TFTP wire format (RFC 1350, options RFC 2347/2348/2349/7440): pure parse
 * and build over byte buffers. No sockets, clocks or policy: the server
 * decides what to accept, this only says what the packet holds.
 */
#ifndef NETBOOTD_WIRE_TFTP_H
#define NETBOOTD_WIRE_TFTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tftp_opcode {
	TFTP_RRQ = 1,
	TFTP_WRQ = 2,
	TFTP_DATA = 3,
	TFTP_ACK = 4,
	TFTP_ERROR = 5,
	TFTP_OACK = 6, /* RFC 2347 */
};

enum tftp_errcode {
	TFTP_EUNDEF = 0,
	TFTP_ENOTFOUND = 1,
	TFTP_EACCESS = 2,
	TFTP_ENOSPACE = 3,
	TFTP_EBADOP = 4,
	TFTP_EBADID = 5,
	TFTP_EEXISTS = 6,
	TFTP_ENOUSER = 7,
	TFTP_EOPTNEG = 8, /* RFC 2347: option negotiation refused */
};

enum tftp_mode {
	TFTP_MODE_OCTET,
	TFTP_MODE_NETASCII,
	TFTP_MODE_MAIL,     /* obsolete (RFC 1350); never served */
	TFTP_MODE_UNKNOWN,
};

/* RFC 2347: a request, options included, fits in 512 bytes. */
#define TFTP_REQUEST_MAX 512
/* RFC 2348 limits. */
#define TFTP_BLKSIZE_MIN 8
#define TFTP_BLKSIZE_MAX 65464
#define TFTP_BLKSIZE_DEFAULT 512
/* RFC 2349 timeout, seconds. */
#define TFTP_TIMEOUT_MIN 1
#define TFTP_TIMEOUT_MAX 255
/* RFC 7440 windowsize. */
#define TFTP_WINDOWSIZE_MIN 1
#define TFTP_WINDOWSIZE_MAX 65535
/* A hostile request could list hundreds of options (atftpd CVE-2021-41054). */
#define TFTP_MAX_OPTIONS 32

/*
 * A parsed RRQ/WRQ. Strings point into the packet (still NUL-terminated
 * there, since the parser checked the terminator). Each has_* flag is set
 * when the option was present with a value in its valid range; a present
 * but invalid value counts in n_invalid and is otherwise ignored, like an
 * unknown option (RFC 2347: the server simply does not acknowledge it).
 */
struct tftp_request {
	enum tftp_opcode opcode;
	const char *filename;
	size_t filename_len;
	enum tftp_mode mode;
	const char *mode_text;
	bool has_blksize;
	bool has_tsize;
	bool has_timeout;
	bool has_windowsize;
	unsigned blksize;
	uint64_t tsize;
	unsigned timeout;
	unsigned windowsize;
	unsigned n_options;  /* option pairs seen */
	unsigned n_unknown;  /* names we do not know (ignored) */
	unsigned n_invalid;  /* known names with out-of-range or non-numeric values (ignored) */
};

/*
 * Parse a RRQ or WRQ. Returns 0, or -EBADMSG (truncated, no terminator,
 * empty filename, missing mode, an option name without a value),
 * -EMSGSIZE (longer than TFTP_REQUEST_MAX), -EPROTO (another opcode),
 * -E2BIG (more than TFTP_MAX_OPTIONS option pairs).
 */
int tftp_request_parse(const uint8_t *buf, size_t len, struct tftp_request *req);

/* An ACK: 4 bytes exactly is the norm; trailing bytes are tolerated (some
 * embedded stacks pad to a minimum frame). Returns 0, -EBADMSG or -EPROTO. */
int tftp_ack_parse(const uint8_t *buf, size_t len, uint16_t *block);

/*
 * An ERROR: code, and the message (not necessarily NUL-terminated in a
 * hostile packet; msg_len bounds it). A packet of exactly 4 bytes (no
 * message at all) is accepted with msg_len 0 (atftpd CVE-2019-11365 crashed
 * on those). Returns 0, -EBADMSG or -EPROTO.
 */
int tftp_error_parse(const uint8_t *buf, size_t len, uint16_t *code,
                     const char **msg, size_t *msg_len);

/* A DATA header (for clients and tests): block and payload. */
int tftp_data_parse(const uint8_t *buf, size_t len, uint16_t *block,
                    const uint8_t **payload, size_t *payload_len);

/* The opcode of any packet, or -EBADMSG under 2 bytes. */
int tftp_opcode(const uint8_t *buf, size_t len);

/*
 * Builders write into out[0..outlen) and return the length, or -ENOSPC.
 * tftp_error_build truncates msg to fit (an ERROR is always sent).
 */
int tftp_error_build(uint8_t *out, size_t outlen, uint16_t code, const char *msg);
int tftp_ack_build(uint8_t *out, size_t outlen, uint16_t block);
void tftp_data_header(uint8_t out[4], uint16_t block);

/* Options the server accepted, in the order it echoes them. Zero/false = absent. */
struct tftp_oack {
	unsigned blksize;
	bool has_tsize;
	uint64_t tsize;
	unsigned timeout;
	unsigned windowsize;
};
/* Returns the OACK length (0 options gives just the opcode), or -ENOSPC. */
int tftp_oack_build(uint8_t *out, size_t outlen, const struct tftp_oack *o);

/* Parse an OACK (client side and tests): fills o with what it holds. */
int tftp_oack_parse(const uint8_t *buf, size_t len, struct tftp_oack *o);

/* Request builder (client side and tests). Any option 0/false is omitted;
 * tsize is sent as "0" when has_tsize. */
int tftp_request_build(uint8_t *out, size_t outlen, enum tftp_opcode op,
                       const char *filename, const char *mode, const struct tftp_oack *opts);

/* For logs: "octet", "netascii", ... */
const char *tftp_mode_name(enum tftp_mode m);

#endif
