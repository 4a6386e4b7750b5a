/*
 * The HTTP and HTTPS server. Its request handler takes the bytes of a
 * request head and answers through a sink, like the DHCP one, so the rules
 * (methods, targets, /metrics, files, conditionals, ranges) are tested
 * without sockets; the connection layer only moves bytes.
 */
#ifndef NETBOOTD_HTTP_SERVER_H
#define NETBOOTD_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "wire/http.h"

struct netbootd;
struct http_server;

/*
 * Bind the listener(s) described by nb->cfg and register them with
 * nb->base. Called before privileges are dropped. Returns 0, or -errno after
 * logging a one-line reason.
 */
int http_server_start(struct netbootd *nb, struct http_server **out);

/* Reload the TLS certificate and key (SIGHUP); transfers in flight go on. */
int http_server_reload_tls(struct http_server *srv);

/*
 * Serve an already connected stream socket (fd, owned from now on) as if the
 * plain HTTP listener had accepted it from sa. For the fuzz harness and
 * tests; a server started with both listeners off accepts nothing else.
 */
int http_server_adopt(struct http_server *srv, int fd, const struct sockaddr *sa,
                      socklen_t salen);

/* Close every socket and session; safe on NULL. */
void http_server_free(struct http_server *srv);

/*
 * After a reload changed the settings in place: the header limits take
 * effect for new requests (the other limits are read per connection).
 * NULL is a no-op.
 */
void http_server_apply_settings(struct http_server *srv);

/* ---- the request handler, without sockets (unit tests) ------------------ */

/* The client of one request. */
struct http_peer {
	const struct sockaddr *addr;
	socklen_t addrlen;
	const struct sockaddr *local; /* our end of the connection, or NULL */
	const char *text;           /* "198.18.0.5:1234", for log lines */
	bool tls;
	bool closing;               /* the connection ends after this response anyway */
};

enum http_body {
	HTTP_BODY_NONE,             /* HEAD, 304, 416, or nothing to send */
	HTTP_BODY_MEMORY,           /* data[0..length) */
	HTTP_BODY_FILE,             /* length bytes of fd from offset */
};

/* One response, decided; the sink puts it on the wire. */
struct http_response {
	struct http_response_head head;
	enum http_body body;
	uint8_t *data;              /* MEMORY: malloc'd, the sink frees it */
	int fd;                     /* FILE: owned by the sink from now on */
	uint64_t offset;
	uint64_t length;            /* body bytes (0 for HEAD: head.content_length says) */
	bool is_head;               /* a HEAD request: the fields of the GET answer, no body */
	bool close_after;           /* end the connection after this response */
	bool boot_file;             /* a file a machine boots from: the timeline shows it */
	char method[16];            /* escaped, for the access log */
	char target[256];
	char path[512];             /* normalised name, for the timeline */
	char etag[80];              /* head.etag points here */
};

struct http_sink {
	void (*respond)(void *ctx, struct http_response *resp);
	void *ctx;
};

/* A server with no listeners, for tests. */
struct http_server *http_server_new(struct netbootd *nb);

/*
 * Handle the request head at the start of buf[0..len): exactly one
 * response to the sink, and the number of bytes the head took; or 0, with
 * nothing emitted, while the head is incomplete. A malformed head is
 * answered (400, 431, 505, ...) with close_after set, and all of buf is
 * taken. Never trusts buf.
 */
size_t http_handle_request(struct http_server *srv, const uint8_t *buf, size_t len,
                           const struct http_peer *peer, const struct http_sink *sink);

#endif
