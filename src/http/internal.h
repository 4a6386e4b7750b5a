/*
 * Inside the HTTP server: the state shared by its parts.
 *   request.c      a request head to one decided response (no sockets)
 *   conn.c         a connection's life: reading heads, writing responses
 *                  (sendfile for plain HTTP, a pread pump for HTTPS),
 *                  deadlines, lingering close
 *   tls.c          certificates, and what a failed handshake means
 *   http_server.c  listeners, and which connections are admitted
 */
#ifndef NETBOOTD_HTTP_INTERNAL_H
#define NETBOOTD_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "http/http_server.h"
#include "wire/http.h"

#define LINGER_SECONDS 2               /* read and drop after an error reply */

/* The log module and timeline protocol of a connection: "https" or "http". */
static inline const char *
http_proto_name(bool tls)
{
	return tls ? "https" : "http";
}

struct pump_pool;

struct http_conn {
	struct http_server *srv;
	struct http_conn *prev, *next;
	struct bufferevent *bev;
	struct event *deadline;
	evutil_socket_t fd;
	bool tls;
	bool handshake_done;
	bool lingering;
	bool refusing;               /* over the connection cap: 503 and close */
	bool counted;                /* in srv->per_source */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct sockaddr_storage local;
	char peer[64];

	/* The response in flight. */
	bool busy;
	bool close_after;
	bool report_file;            /* a file body: goes to the timeline */
	int status;
	char method[16];
	char target[256];            /* escaped, for the access log */
	char path[512];              /* normalised name, for the timeline */
	struct timespec started;
	uint64_t body_len;           /* bytes of body this response has */
	uint64_t body_queued;        /* bytes of body put into the output so far */
	size_t head_len;             /* bytes of status line + fields queued first */
	size_t out_at_start;         /* output bytes already pending before this response */
	bool corked;                 /* plain file body: TCP_CORK set until the output drains */
	int body_fd;                 /* HTTPS: file being pumped, or -1 */
	struct pump_pool *pool;      /* HTTPS: its buffers, or NULL */
	uint64_t body_off, body_end; /* HTTPS: next file offset, end offset */
};

struct http_server {
	struct netbootd *nb;
	struct evconnlistener *plain;
	struct evconnlistener *secure;
	SSL_CTX *ssl_ctx;
	struct http_conn *conns;
	unsigned nconns;
	unsigned nrefusing;
	struct srccount *per_source; /* connections per client address (http-max-per-client) */
	uint64_t shed;               /* idle connections closed to admit new ones */
	struct http_limits limits;
};

/* ---- request.c ---------------------------------------------------------- */

/* Fill resp as a short status response with a text body ("404 Not
 * Found\n"), keep-alive unless resp->close_after; allow: the 405 field. */
void http_response_status(struct http_response *resp, int status, const char *allow);

/* ---- conn.c ------------------------------------------------------------- */

/* A connection for an accepted socket (fd owned from now on), linked into
 * srv->conns; NULL (fd closed) when out of memory. */
struct http_conn *conn_new(struct http_server *srv, evutil_socket_t fd, const struct sockaddr *sa,
                           socklen_t salen, bool tls);
void conn_free(struct http_conn *c);
/* Over the connection cap: a 503, then a lingering close. */
void conn_refuse_busy(struct http_conn *c);

/* ---- tls.c -------------------------------------------------------------- */

SSL_CTX *tls_context_new(const char *cert, const char *key);
/* Why a TLS handshake failed, in words an operator can act on. */
void tls_handshake_failure(struct bufferevent *bev, short what, char *why, size_t len);

#endif
