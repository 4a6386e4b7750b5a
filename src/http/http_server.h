/* The HTTP server: listener(s), sessions, and their event loop callbacks. */
#ifndef NETBOOTD_HTTP_SERVER_H
#define NETBOOTD_HTTP_SERVER_H

#include <sys/socket.h>

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

#endif
