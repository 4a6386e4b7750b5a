/*
 * The HTTP and HTTPS listeners, and which connections they admit: at most
 * http-max-per-client from one address (loopback exempt), and at the
 * global cap the oldest idle connection makes room, else a 503. Why our own
 * HTTP/1.1 framing on bufferevents and not evhttp: evhttp cannot refuse the
 * smuggling shapes (bare CR, obs-fold, Content-Length with
 * Transfer-Encoding), cannot count header fields, and copies file bodies
 * through memory. The parts: http/internal.h.
 */
#include "http/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/netaddr.h"
#include "util/srccount.h"

#define REFUSE_BUDGET 64               /* connections over the cap that still get a 503 */

/*
 * The global cap is full: close the oldest connection that has no response
 * in progress (idle keep-alive, or one still without a whole request head),
 * so that one client holding thousands of idle connections cannot lock
 * everyone else out; transfers under way are never cut. The list is newest
 * first. Returns true when one was closed.
 */
static bool
shed_oldest_idle(struct http_server *srv)
{
	struct http_conn *oldest = NULL;
	for (struct http_conn *c = srv->conns; c; c = c->next)
		if (!c->busy && !c->refusing && !c->lingering)
			oldest = c;
	if (!oldest)
		return false;
	log_debug(http_proto_name(oldest->tls), "%s: idle connection closed to make room", oldest->peer);
	srv->shed++;
	conn_free(oldest);
	return true;
}

/* Once a second at most: a per-client refusal is logged. */
static void
warn_per_client(const char *proto, const char *peer, unsigned limit)
{
	static uint64_t last_warn_ms;
	uint64_t now = monotonic_ms();
	if (last_warn_ms && now - last_warn_ms < 1000)
		return;
	last_warn_ms = now;
	log_warn(proto, "%s: per-client connection limit (%u) reached, refusing", peer, limit);
}

/* A socket a listener accepted: admitted, refused with a 503, or closed. */
static void
admit(struct http_server *srv, evutil_socket_t fd, const struct sockaddr *sa, socklen_t salen,
      bool tls)
{
	const struct config *cfg = srv->nb->boot.cfg;
	const char *proto = http_proto_name(tls);
	const void *key = NULL;
	size_t keylen = 0;
	bool loopback = true;
	bool keyed = addr_key(sa, &key, &keylen, &loopback) && !loopback;
	if (keyed && srccount_get(srv->per_source, key, keylen) >= cfg->http_max_per_client) {
		char peer[64];
		sockaddr_format(sa, peer, sizeof(peer));
		warn_per_client(proto, peer, cfg->http_max_per_client);
		metrics.proto[METRICS_HTTP].errors++;
		evutil_closesocket(fd);
		return;
	}
	bool over = srv->nconns >= cfg->http_max_connections && !shed_oldest_idle(srv);
	if (over) {
		char peer[64];
		sockaddr_format(sa, peer, sizeof(peer));
		log_warn(proto, "%s: connection limit (%u) reached, refusing", peer, cfg->http_max_connections);
		/* A few refused connections get a proper 503 (sent, then a
		 * lingering close so it is not lost to a RST); past that budget,
		 * or over TLS where a reply costs a handshake, just close. */
		if (tls || srv->nrefusing >= REFUSE_BUDGET) {
			metrics.proto[METRICS_HTTP].errors++;
			evutil_closesocket(fd);
			return;
		}
	}
	struct http_conn *c = conn_new(srv, fd, sa, salen, tls);
	if (!c)
		return;
	if (keyed && srccount_add(srv->per_source, key, keylen, 1) == 0)
		c->counted = true;
	if (over)
		conn_refuse_busy(c);
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct http_server *srv = arg;
	admit(srv, fd, sa, (socklen_t)salen, lev == srv->secure);
}

int
http_server_adopt(struct http_server *srv, int fd, const struct sockaddr *sa, socklen_t salen)
{
	if (evutil_make_socket_nonblocking(fd) < 0)
		return -errno;
	admit(srv, fd, sa, salen, false);
	return 0;
}

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	(void)arg;
	int err = EVUTIL_SOCKET_ERROR();
	/* EMFILE and friends: log and go on; the listener keeps accepting. */
	log_warn("http", "accept on fd %d: %s", (int)evconnlistener_get_fd(lev),
	         evutil_socket_error_to_string(err));
}

static struct evconnlistener *
listen_on(struct http_server *srv, const struct listen_spec *spec, const char *what)
{
	struct evconnlistener *lev = evconnlistener_new_bind(
		srv->nb->base, accept_cb, srv,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
		(const struct sockaddr *)&spec->addr, (int)spec->addrlen);
	if (!lev) {
		log_error(what, "cannot listen on %s: %s", spec->text, strerror(errno));
		return NULL;
	}
	evconnlistener_set_error_cb(lev, accept_error_cb);
	log_info(what, "listening on %s", spec->text);
	return lev;
}

struct http_server *
http_server_new(struct netbootd *nb)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->nb = nb;
	srv->per_source = srccount_new();
	if (!srv->per_source) {
		free(srv);
		return NULL;
	}
	http_server_apply_settings(srv);
	return srv;
}

void
http_server_apply_settings(struct http_server *srv)
{
	if (!srv)
		return;
	const struct config *cfg = srv->nb->boot.cfg;
	srv->limits.max_header_bytes = cfg->http_max_header_bytes;
	srv->limits.max_headers = cfg->http_max_headers;
}

int
http_server_start(struct netbootd *nb, struct http_server **out)
{
	const struct config *cfg = nb->boot.cfg;
	*out = NULL;
	struct http_server *srv = http_server_new(nb);
	if (!srv)
		return -ENOMEM;

	if (cfg->https.enabled) {
		srv->ssl_ctx = tls_context_new(cfg->tls_cert, cfg->tls_key);
		if (!srv->ssl_ctx)
			goto fail;
	}
	if (cfg->http.enabled && !(srv->plain = listen_on(srv, &cfg->http, "http")))
		goto fail;
	if (cfg->https.enabled && !(srv->secure = listen_on(srv, &cfg->https, "https")))
		goto fail;
	*out = srv;
	return 0;
fail:
	http_server_free(srv);
	return -EINVAL;
}

void
http_server_free(struct http_server *srv)
{
	if (!srv)
		return;
	while (srv->conns)
		conn_free(srv->conns);
	if (srv->plain)
		evconnlistener_free(srv->plain);
	if (srv->secure)
		evconnlistener_free(srv->secure);
	SSL_CTX_free(srv->ssl_ctx);
	srccount_free(srv->per_source);
	free(srv);
}
