/*
 * The TFTP server: read-only, RFC 1350 with the option extensions of
 * RFC 2347 (OACK), 2348 (blksize), 2349 (timeout, tsize) and 7440
 * (windowsize). Its request handler takes bytes and answers through a sink,
 * like the DHCP one, so it is tested without sockets.
 */
#ifndef NETBOOTD_TFTP_SERVER_H
#define NETBOOTD_TFTP_SERVER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct netbootd;
struct tftp_server;
struct tftp_transfer;

/*
 * Bind the listener described by nb->boot.cfg and register it with
 * nb->base. Called before privileges are dropped. Returns 0, or -errno after
 * logging a one-line reason.
 */
int tftp_server_start(struct netbootd *nb, struct tftp_server **out);

/* Close every socket and transfer; safe on NULL. */
void tftp_server_free(struct tftp_server *srv);

/*
 * After a reload changed the settings in place: a new tftp-rate takes
 * effect (the other limits are read per request). NULL is a no-op.
 */
void tftp_server_apply_settings(struct tftp_server *srv);

/* ---- the request handler, without sockets (unit tests) ------------------ */

/* Who asked, and which of our addresses they wrote to (IP_PKTINFO). */
struct tftp_arrival {
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct sockaddr_storage local;
	socklen_t locallen;
};

struct tftp_sink {
	/* An ERROR packet for the peer, sent from the listener's port. */
	void (*refuse)(void *ctx, const uint8_t *pkt, size_t len, const struct tftp_arrival *arr);
	/*
	 * An admitted transfer (file open, options decided, OACK built): give it
	 * its own socket and events from arr->local, then transfer_link() and
	 * transfer_begin() (tftp/transfer.h). 0 or -errno: on failure t is not
	 * linked, and the handler refuses the request and frees it.
	 */
	int (*start)(void *ctx, struct tftp_transfer *t, const struct tftp_arrival *arr);
	/* A repeated request while the client has not answered: the first
	 * packet once more (transfer_begin). */
	void (*resend_first)(void *ctx, struct tftp_transfer *t);
	/* The MTU of the route to the peer, for the blksize cap; 0 when unknown. */
	unsigned (*path_mtu)(void *ctx, const struct sockaddr_storage *peer, socklen_t peerlen);
	void *ctx;
};

enum tftp_verdict {
	TFTP_IGNORED,   /* not a request (a stray ACK on port 69): silence */
	TFTP_DROPPED,   /* malformed or over --tftp-rate: silence, logged */
	TFTP_REFUSED,   /* an ERROR went to the sink */
	TFTP_REPEATED,  /* a transfer to this TID exists: at most its first packet again */
	TFTP_STARTED,   /* a new transfer went to the sink's start */
};

/* A server with no sockets, for tests: the handler and the engine's state. */
struct tftp_server *tftp_server_new(struct netbootd *nb);

/*
 * Handle one datagram that arrived on the listener. Never trusts pkt; an
 * answer to a request that cannot be parsed is never sent (it would make us
 * a reflector for spoofed sources).
 */
enum tftp_verdict tftp_handle_request(struct tftp_server *srv, const uint8_t *pkt, size_t len,
                                      const struct tftp_arrival *arr, const struct tftp_sink *sink);

#endif
