/*
 * The HTTP and HTTPS server: our own HTTP/1.1 framing on libevent
 * bufferevents, because evhttp cannot refuse the smuggling shapes (bare CR,
 * obs-fold, Content-Length with Transfer-Encoding), cannot count header
 * fields, and copies file bodies through memory. The request head is parsed
 * by the pure src/wire/http.c; this file holds connections, timers, TLS and
 * the file body pumps:
 *   - plain HTTP: one evbuffer file segment per body, which libevent writes
 *     with sendfile(2);
 *   - HTTPS: pread chunks into the output buffer up to a high-water mark,
 *     refilled from the write callback, so a 1 GiB image never sits in RAM.
 *
 * Per connection: one deadline timer for receiving a whole request head
 * (idle keep-alive and slowloris alike), and the bufferevent write timeout
 * for a reader that stops reading. One request at a time; pipelined
 * requests wait in the input buffer until the current response is out.
 */
#include "http/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "boot/files.h"
#include "boot/timeline.h"
#include "daemon.h"
#include "model/machine.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/netaddr.h"
#include "util/srccount.h"
#include "wire/http.h"

#define TLS_CHUNK (64 * 1024)          /* one pread for HTTPS bodies */
#define TLS_SLOTS 8                    /* chunks per HTTPS response in flight */
#define TLS_HIGH_WATER (TLS_SLOTS * TLS_CHUNK) /* refill the TLS output up to this */
#define TLS_LOW_WATER (128 * 1024)     /* ... whenever it drains below this */
#define LINGER_SECONDS 2               /* read and drop after an error reply */
#define METRICS_BUF (16 * 1024)
#define REFUSE_BUDGET 64               /* connections over the cap that still get a 503 */

struct http_server;

/*
 * The HTTPS body buffers: TLS_SLOTS chunks lent to the output evbuffer by
 * reference and given back when libevent drains them. A fresh evbuffer
 * chain per 64 KiB chunk costs an mmap/munmap pair and page faults on every
 * chunk (measured: 8192 of each per 512 MiB, twice nginx's CPU time).
 * Refcounted: the connection holds one reference, each lent chunk another,
 * so a connection freed with chunks still queued leaves no dangling slot.
 */
struct pump_pool {
	unsigned refs;
	unsigned free_mask;
	uint8_t mem[];
};

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
	char peer[64];

	/* The response in flight. */
	bool busy;
	bool close_after;
	bool report_file;            /* a file body: goes to the timeline */
	bool is_head;
	int status;
	char method[16];
	char target[256];            /* escaped, for the access log */
	char path[512];              /* normalised name, for the timeline */
	struct timespec started;
	uint64_t body_len;           /* bytes of body this response has */
	uint64_t body_queued;        /* bytes of body put into the output so far */
	size_t head_len;             /* bytes of status line + fields queued first */
	size_t out_at_start;         /* output bytes already pending before this response */
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

static void conn_free(struct http_conn *c);
static void pump_pool_unref(struct pump_pool *pool);
static void conn_process_input(struct http_conn *c);
static void conn_arm_deadline(struct http_conn *c, unsigned seconds);

static const char *
proto_name(const struct http_conn *c)
{
	return c->tls ? "https" : "http";
}

/* ---- TLS ---------------------------------------------------------------- */

/* Every queued OpenSSL error as "reason; reason", for one log line. */
static void
ssl_errors_format(char *buf, size_t len, unsigned long first)
{
	size_t used = 0;
	unsigned long e = first;
	buf[0] = '\0';
	while (e != 0 && used + 2 < len) {
		char one[256];
		const char *reason = ERR_reason_error_string(e);
		if (reason)
			snprintf(one, sizeof(one), "%s", reason);
		else
			ERR_error_string_n(e, one, sizeof(one));
		int n = snprintf(buf + used, len - used, "%s%s", used ? "; " : "", one);
		if (n < 0)
			break;
		used += (size_t)n;
		e = ERR_get_error();
	}
}

static SSL_CTX *
tls_context_new(const char *cert, const char *key)
{
	char why[512];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		goto fail;
	/* UEFI HTTPS boot (TlsDxe) speaks TLS 1.2; nothing older is safe. */
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Idle keep-alive connections then hold no 34 KiB TLS buffers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_errors_format(why, sizeof(why), ERR_get_error());
		log_error("https", "certificate %s: %s", cert, why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_errors_format(why, sizeof(why), ERR_get_error());
		log_error("https", "private key %s: %s", key, why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
fail:
	ssl_errors_format(why, sizeof(why), ERR_get_error());
	log_error("https", "cannot set up TLS: %s", why);
	SSL_CTX_free(ctx);
	return NULL;
}

int
http_server_reload_tls(struct http_server *srv)
{
	if (!srv || !srv->ssl_ctx)
		return 0;
	const struct config *cfg = srv->nb->boot.cfg;
	SSL_CTX *ctx = tls_context_new(cfg->tls_cert, cfg->tls_key);
	if (!ctx) {
		log_error("https", "reload failed: keeping the previous certificate");
		return -EINVAL;
	}
	/* Sessions in flight hold their own reference to the old context. */
	SSL_CTX_free(srv->ssl_ctx);
	srv->ssl_ctx = ctx;
	log_info("https", "certificate reloaded from %s", cfg->tls_cert);
	return 0;
}

/* ---- responses ---------------------------------------------------------- */

/* Body bytes that have left the output buffer so far. */
static uint64_t
body_sent(const struct http_conn *c)
{
	size_t pending = evbuffer_get_length(bufferevent_get_output(c->bev));
	uint64_t total = (uint64_t)c->out_at_start + c->head_len + c->body_queued;
	uint64_t gone = total > pending ? total - pending : 0;
	uint64_t before_body = (uint64_t)c->out_at_start + c->head_len;
	return gone > before_body ? gone - before_body : 0;
}

/* The access-log line, metrics and timeline for the response in flight. */
static void
response_done(struct http_conn *c, bool complete)
{
	if (!c->busy)
		return;
	/* A body cut short on our side (file shrank, out of memory) is not complete either. */
	if (c->body_queued != c->body_len)
		complete = false;
	uint64_t sent = complete ? c->body_queued : body_sent(c);
	uint64_t us = usec_since(&c->started);
	struct metrics_counters *m = &metrics.proto[METRICS_HTTP];

	m->bytes += sent;
	if (c->status >= 400 || !complete)
		m->errors++;
	if (c->report_file) {
		m->active--;
		if (c->srv->nb->boot.timeline)
			timeline_file(c->srv->nb->boot.timeline, (const struct sockaddr *)&c->addr,
			              proto_name(c), c->path, sent, us, complete);
	}
	log_info(proto_name(c), "%s \"%s %s\" %d %llu %llu.%03llums%s", c->peer, c->method, c->target,
	         c->status, (unsigned long long)sent, (unsigned long long)(us / 1000),
	         (unsigned long long)(us % 1000), complete ? "" : " (incomplete)");
	if (c->body_fd >= 0)
		close(c->body_fd);
	c->body_fd = -1;
	if (c->pool) {
		pump_pool_unref(c->pool); /* lent chunks keep it alive until drained */
		SSL_set_mode(bufferevent_openssl_get_ssl(c->bev), SSL_MODE_RELEASE_BUFFERS);
	}
	c->pool = NULL;
	c->busy = false;
	c->report_file = false;
}

static void
pump_pool_unref(struct pump_pool *pool)
{
	if (--pool->refs == 0)
		free(pool);
}

/* evbuffer cleanup: libevent is done with one lent chunk. */
static void
pump_chunk_done(const void *data, size_t len, void *arg)
{
	struct pump_pool *pool = arg;
	size_t slot = (size_t)((const uint8_t *)data - pool->mem) / TLS_CHUNK;
	(void)len;
	pool->free_mask |= 1u << slot;
	pump_pool_unref(pool);
}

/* HTTPS: read more of the file into the output, up to the high-water mark. */
static int
tls_pump(struct http_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (!c->pool) {
		c->pool = malloc(sizeof(*c->pool) + (size_t)TLS_SLOTS * TLS_CHUNK);
		if (!c->pool)
			return -ENOMEM;
		c->pool->refs = 1;
		c->pool->free_mask = (1u << TLS_SLOTS) - 1;
	}
	while (c->body_off < c->body_end && evbuffer_get_length(out) < TLS_HIGH_WATER &&
	       c->pool->free_mask) {
		unsigned slot = (unsigned)__builtin_ctz(c->pool->free_mask);
		uint8_t *buf = c->pool->mem + (size_t)slot * TLS_CHUNK;
		uint64_t want = c->body_end - c->body_off;
		if (want > TLS_CHUNK)
			want = TLS_CHUNK;
		ssize_t n = pread(c->body_fd, buf, (size_t)want, (off_t)c->body_off);
		if (n <= 0) {
			/* The file shrank under us: the promised length cannot be kept. */
			log_warn("https", "%s: read %s at %llu: %s", c->peer, c->path,
			         (unsigned long long)c->body_off, n < 0 ? strerror(errno) : "short file");
			return n < 0 ? -errno : -EIO;
		}
		if (evbuffer_add_reference(out, buf, (size_t)n, pump_chunk_done, c->pool) < 0)
			return -ENOMEM;
		c->pool->free_mask &= ~(1u << slot);
		c->pool->refs++;
		c->body_off += (uint64_t)n;
		c->body_queued += (uint64_t)n;
	}
	/* Once everything is queued, wake up only when the output is empty. */
	bufferevent_setwatermark(c->bev, EV_WRITE, c->body_off < c->body_end ? TLS_LOW_WATER : 0, 0);
	return 0;
}

static void
begin_response(struct http_conn *c, int status)
{
	c->busy = true;
	c->status = status;
	c->body_len = 0;
	c->body_queued = 0;
	c->head_len = 0;
	c->out_at_start = evbuffer_get_length(bufferevent_get_output(c->bev));
	c->body_fd = -1;
}

static void
queue_head(struct http_conn *c, struct http_response_head *h)
{
	char head[2048];
	h->date = time(NULL);
	size_t n = http_response_head_build(head, sizeof(head), h);
	if (n >= sizeof(head))
		n = sizeof(head) - 1; /* never: our fields are bounded */
	evbuffer_add(bufferevent_get_output(c->bev), head, n);
	c->head_len = n;
}

/* A short error or status response with a text body. */
static void
send_simple(struct http_conn *c, int status, bool keep_alive, const char *allow)
{
	char body[128];
	int blen = snprintf(body, sizeof(body), "%d %s\n", status, http_status_text(status));
	struct http_response_head h = {
		.status = status,
		.content_type = "text/plain; charset=utf-8",
		.content_length = (uint64_t)blen,
		.keep_alive = keep_alive,
		.allow = allow,
	};
	begin_response(c, status);
	if (!keep_alive)
		c->close_after = true;
	queue_head(c, &h);
	if (!c->is_head) {
		evbuffer_add(bufferevent_get_output(c->bev), body, (size_t)blen);
		c->body_len = c->body_queued = (uint64_t)blen;
	}
}

static int
status_for_errno(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
		return 404;
	case -EACCES:
	case -EPERM:
	case -EISDIR:
	case -EXDEV:
	case -ELOOP:
		return 403;
	case -ENAMETOOLONG:
		return 414;
	default:
		return 500;
	}
}

/* Conditional requests (RFC 9110 §13.2.2): If-None-Match wins over If-Modified-Since. */
static bool
not_modified(const struct http_request *req, const char *etag, time_t mtime)
{
	if (req->if_none_match.len)
		return etag && http_etag_list_match(req->if_none_match.p, req->if_none_match.len, etag);
	if (req->if_modified_since.len && mtime) {
		time_t ims;
		if (http_date_parse(req->if_modified_since.p, req->if_modified_since.len, &ims) == 0)
			return mtime <= ims;
	}
	return false;
}

/* If-Range (§13.1.5): the Range applies only if the validator still matches. */
static bool
range_allowed(const struct http_request *req, const char *etag, time_t mtime)
{
	if (!req->if_range.len)
		return true;
	const char *v = req->if_range.p;
	size_t n = req->if_range.len;
	if (v[0] == '"' || (n > 2 && v[0] == 'W' && v[1] == '/'))
		return etag && v[0] == '"' && n == strlen(etag) && memcmp(v, etag, n) == 0;
	time_t t;
	return mtime && http_date_parse(v, n, &t) == 0 && t == mtime;
}

static void
free_cb(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)(uintptr_t)data);
}

static void
serve_source(struct http_conn *c, const struct http_request *req, struct file_source *src)
{
	char etag[80];
	const char *etag_p = NULL;
	time_t mtime = 0;
	bool generated = src->fd < 0;

	if (!generated) {
		etag_p = http_etag_format(src->inode, src->size, src->mtime, etag, sizeof(etag));
		mtime = src->mtime;
	}
	struct http_response_head h = {
		.status = 200,
		.content_type = src->content_type ? src->content_type : http_mime_type(src->path),
		.content_length = src->size,
		.etag = etag_p,
		.last_modified = mtime,
		.accept_ranges = true,
		.keep_alive = !c->close_after,
		.http10 = req->version_minor == 0,
		.no_store = generated,
	};
	uint64_t first = 0, last = src->size ? src->size - 1 : 0;
	uint64_t len = src->size;

	if (not_modified(req, etag_p, mtime)) {
		h.status = 304;
		h.content_length = 0;
		h.content_type = NULL;
		len = 0;
	} else if (req->range.len && range_allowed(req, etag_p, mtime)) {
		switch (http_range_parse(req->range.p, req->range.len, src->size, &first, &last)) {
		case HTTP_RANGE_SINGLE:
			h.status = 206;
			h.has_range = true;
			h.range_first = first;
			h.range_last = last;
			h.range_size = src->size;
			len = last - first + 1;
			h.content_length = len;
			break;
		case HTTP_RANGE_UNSATISFIABLE:
			h.status = 416;
			h.unsatisfied_range = true;
			h.range_size = src->size;
			h.content_length = 0;
			len = 0;
			break;
		case HTTP_RANGE_MULTI: /* the whole file in one 200 is allowed (§14.2) */
		case HTTP_RANGE_NONE:
			break;
		}
	}

	begin_response(c, h.status);
	snprintf(c->path, sizeof(c->path), "%s", src->path);
	queue_head(c, &h);
	if (c->is_head || len == 0)
		return;

	struct evbuffer *out = bufferevent_get_output(c->bev);
	c->body_len = len;
	c->report_file = true;
	metrics.proto[METRICS_HTTP].active++;
	if (generated) {
		/* Hand the generated bytes to the buffer; it frees them once sent. */
		if (first == 0 && len == src->size) {
			if (evbuffer_add_reference(out, src->data, (size_t)len, free_cb, NULL) == 0)
				src->data = NULL;
			else
				evbuffer_add(out, src->data, (size_t)len);
		} else {
			evbuffer_add(out, src->data + first, (size_t)len);
		}
		c->body_queued = len;
	} else if (!c->tls) {
		/* sendfile(2) from the page cache: libevent uses it for file
		 * segments added to a socket's output buffer. */
		struct evbuffer_file_segment *seg =
			evbuffer_file_segment_new(src->fd, (ev_off_t)(src->offset + first), (ev_off_t)len,
			                          EVBUF_FS_CLOSE_ON_FREE);
		if (!seg || evbuffer_add_file_segment(out, seg, 0, (ev_off_t)len) < 0) {
			log_error("http", "%s: cannot queue %s", c->peer, src->path);
			if (seg)
				evbuffer_file_segment_free(seg);
			else
				close(src->fd);
			src->fd = -1;
			c->close_after = true;
			return;
		}
		src->fd = -1; /* the segment owns it now */
		evbuffer_file_segment_free(seg); /* drops our reference; the buffer keeps one */
		c->body_queued = len;
	} else {
		/* Keep the TLS record buffers while a body streams; release them
		 * again once the connection idles (response_done). */
		SSL_clear_mode(bufferevent_openssl_get_ssl(c->bev), SSL_MODE_RELEASE_BUFFERS);
		c->body_fd = src->fd;
		src->fd = -1;
		c->body_off = src->offset + first;
		c->body_end = src->offset + first + len;
		if (tls_pump(c) < 0)
			c->close_after = true;
	}
}

static void
serve_metrics(struct http_conn *c, const struct http_request *req)
{
	char *buf = malloc(METRICS_BUF);
	const char *kinds[FIRMWARE_KIND_COUNT];
	for (int k = 0; k < FIRMWARE_KIND_COUNT; k++)
		kinds[k] = firmware_kind_name((enum firmware_kind)k);
	size_t n = buf ? metrics_render(buf, METRICS_BUF, kinds, FIRMWARE_KIND_COUNT) : 0;
	if (!buf || n >= METRICS_BUF) {
		free(buf);
		send_simple(c, 500, !c->close_after, NULL);
		return;
	}
	struct file_source src = { .fd = -1, .data = (uint8_t *)buf, .size = n,
		                       .content_type = "text/plain; version=0.0.4; charset=utf-8" };
	snprintf(src.path, sizeof(src.path), "metrics");
	serve_source(c, req, &src);
	c->report_file = false; /* not a boot file: keep it off the timeline */
	if (c->body_len)
		metrics.proto[METRICS_HTTP].active--;
	free(src.data);
}

static void
handle_request(struct http_conn *c, const struct http_request *req)
{
	struct http_server *srv = c->srv;
	char decoded[1024];
	size_t dlen;
	struct http_span path, query;

	metrics.proto[METRICS_HTTP].requests++;
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	log_escape(c->method, sizeof(c->method), req->method_text.p, req->method_text.len);
	log_escape(c->target, sizeof(c->target), req->target.p, req->target.len);
	c->path[0] = '\0';
	c->is_head = req->method == HTTP_METHOD_HEAD;
	/* We never read request bodies: after one, the framing is unknown. */
	if (!req->keep_alive || req->has_transfer_encoding ||
	    (req->has_content_length && req->content_length > 0))
		c->close_after = true;

	if (req->method == HTTP_METHOD_OTHER) {
		send_simple(c, 405, !c->close_after, "GET, HEAD");
		return;
	}
	if (req->transfer_encoding_unknown) {
		send_simple(c, 501, false, NULL); /* RFC 9112 6.1 */
		return;
	}
	if (http_target_split(req->target, &path, &query) < 0) {
		send_simple(c, 400, !c->close_after, NULL);
		return;
	}
	int r = http_percent_decode(path.p, path.len, decoded, sizeof(decoded), &dlen);
	if (r < 0) {
		log_warn(proto_name(c), "%s: refused target %s: %s", c->peer, c->target,
		         r == -ENAMETOOLONG ? "too long" : "bad percent-encoding");
		send_simple(c, r == -ENAMETOOLONG ? 414 : 400, !c->close_after, NULL);
		return;
	}
	if (strcmp(decoded, "/metrics") == 0) {
		if (!config_status_allowed(srv->nb->boot.cfg, (const struct sockaddr *)&c->addr)) {
			log_warn(proto_name(c), "%s: /metrics refused (status-allow)", c->peer);
			send_simple(c, 403, !c->close_after, NULL);
			return;
		}
		serve_metrics(c, req);
		return;
	}
	if (!srv->nb->boot.files) {
		send_simple(c, 404, !c->close_after, NULL);
		return;
	}

	char qbuf[512];
	struct file_client client = {
		.addr = (const struct sockaddr *)&c->addr,
		.addrlen = c->addrlen,
		.query = NULL,
	};
	if (query.p && query.len < sizeof(qbuf)) {
		memcpy(qbuf, query.p, query.len);
		qbuf[query.len] = '\0';
		client.query = qbuf;
	}
	struct file_source src;
	r = files_open(srv->nb->boot.files, decoded, dlen, &client, &src);
	if (r < 0) {
		int status = status_for_errno(r);
		if (status == 403)
			log_warn(proto_name(c), "%s: denied %s", c->peer, c->target);
		else if (status == 500)
			log_error(proto_name(c), "%s: %s: %s", c->peer, c->target, strerror(-r));
		send_simple(c, status, !c->close_after, NULL);
		return;
	}
	serve_source(c, req, &src);
	file_source_release(&src);
}

/* ---- connection life ---------------------------------------------------- */

static void
conn_free(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	if (c->busy)
		response_done(c, false);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->refusing)
		srv->nrefusing--;
	else
		srv->nconns--;
	if (c->counted) {
		const void *key;
		size_t keylen;
		bool loopback;
		if (addr_key((const struct sockaddr *)&c->addr, &key, &keylen, &loopback))
			(void)srccount_add(srv->per_source, key, keylen, -1);
	}
	if (c->deadline)
		event_free(c->deadline);
	if (c->bev)
		bufferevent_free(c->bev);
	free(c);
}

/*
 * After a response that ends the connection, stop writing but keep reading
 * (and dropping) for a moment: closing with unread input makes the kernel
 * send RST, which can destroy the error reply before the client reads it.
 */
static void
conn_linger(struct http_conn *c)
{
	c->lingering = true;
	if (!c->tls)
		shutdown(c->fd, SHUT_WR);
	bufferevent_disable(c->bev, EV_WRITE);
	bufferevent_enable(c->bev, EV_READ);
	evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
	conn_arm_deadline(c, LINGER_SECONDS);
}

/* The output is empty: the response is out. */
static void
conn_response_sent(struct http_conn *c)
{
	response_done(c, true);
	if (c->close_after) {
		conn_linger(c);
		return;
	}
	bufferevent_enable(c->bev, EV_READ);
	conn_arm_deadline(c, c->srv->nb->boot.cfg->http_idle_timeout);
	conn_process_input(c);
}

static void
conn_reject_head(struct http_conn *c, const struct http_request *req)
{
	metrics.proto[METRICS_HTTP].requests++;
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	snprintf(c->method, sizeof(c->method), "-");
	snprintf(c->target, sizeof(c->target), "-");
	if (req->method_text.len)
		log_escape(c->method, sizeof(c->method), req->method_text.p, req->method_text.len);
	if (req->target.len)
		log_escape(c->target, sizeof(c->target), req->target.p, req->target.len);
	log_warn(proto_name(c), "%s: bad request: %s (%d)", c->peer, req->error_reason,
	         req->error_status);
	c->is_head = false;
	c->close_after = true;
	send_simple(c, req->error_status, false, NULL);
}

static void
conn_process_input(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n = evbuffer_get_length(in);
	if (c->busy || c->lingering || n == 0)
		return;
	size_t max = c->srv->limits.max_header_bytes;
	size_t look = n < max ? n : max;
	const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)look);
	if (!p)
		return; /* out of memory: the deadline ends this connection */
	struct http_request req;
	int r = http_request_parse(p, look, &c->srv->limits, &req);
	if (r == 0)
		return; /* wait for more; the deadline bounds how long */
	/* One request at a time: pipelined bytes wait in the input (bounded by
	 * the read high-water mark) until this response is out. Reading stays
	 * enabled, which saves two epoll_ctl calls per request. */
	event_del(c->deadline);
	if (r < 0) {
		conn_reject_head(c, &req);
	} else {
		handle_request(c, &req);
		evbuffer_drain(in, (size_t)r);
	}
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	if (c->lingering) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (c->busy) {
		/* Pipelined bytes wait until this response is out. Once they
		 * fill the input to the high-water mark, stop reading: libevent
		 * 2.1.12 re-runs this callback for as long as the input sits at
		 * the mark with reading enabled, which would spin the loop (found
		 * by fuzz_http_conn). conn_response_sent() enables reading again. */
		if (evbuffer_get_length(in) >= c->srv->limits.max_header_bytes)
			bufferevent_disable(bev, EV_READ);
		return;
	}
	conn_process_input(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;
	if (!c->busy || c->lingering)
		return;
	if (c->body_fd >= 0 && c->body_off < c->body_end) {
		if (tls_pump(c) < 0) {
			conn_free(c);
		}
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_response_sent(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *c = arg;
	(void)bev;

	if (what & BEV_EVENT_CONNECTED) {
		c->handshake_done = true; /* TLS handshake finished */
		log_debug("https", "%s: TLS handshake done (%s)", c->peer,
		          SSL_get_version(bufferevent_openssl_get_ssl(c->bev)));
		return;
	}
	if (c->tls && !c->handshake_done && (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))) {
		/* UEFI HTTPS boot fails here when the firmware lacks our CA: say
		 * who and why, since the firmware itself shows little. */
		char why[512] = "";
		unsigned long e = bufferevent_get_openssl_error(c->bev);
		if (e == SSL_ERROR_SYSCALL)
			/* libevent queues SSL_get_error()'s code, not an ERR_ code:
			 * the peer dropped TCP mid-handshake without a TLS alert.
			 * EDK2's TlsDxe does exactly that when our chain does not
			 * verify against its TlsCaCertificate list. */
			snprintf(why, sizeof(why), "the client closed the connection without a TLS "
			                           "alert (a UEFI client does this when it does not "
			                           "trust our certificate: is the CA in its list?)");
		else if (e)
			ssl_errors_format(why, sizeof(why), e);
		unsigned long more;
		while ((more = bufferevent_get_openssl_error(c->bev)) != 0) {
			size_t u = strlen(why);
			char one[256];
			ssl_errors_format(one, sizeof(one), more);
			snprintf(why + u, sizeof(why) - u, "; %s", one);
		}
		if (!why[0])
			snprintf(why, sizeof(why), "%s",
			         (what & BEV_EVENT_EOF) ? "connection closed by client"
			         : errno                ? strerror(errno)
			                                : "unknown error");
		log_warn("https", "%s: TLS handshake failed: %s", c->peer, why);
		metrics.proto[METRICS_HTTP].errors++;
		conn_free(c);
		return;
	}
	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) && !c->lingering) {
		/* The client half-closed after its request (HTTP/1.0 tools do):
		 * finish what it asked for, then close. */
		c->close_after = true;
		bufferevent_disable(c->bev, EV_READ);
		if (c->busy)
			return;
		conn_process_input(c);
		if (!c->busy)
			conn_free(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		log_warn(proto_name(c), "%s: client stopped reading for %us, closing", c->peer,
		         c->srv->nb->boot.cfg->http_idle_timeout);
	} else if ((what & BEV_EVENT_ERROR) && c->busy) {
		log_info(proto_name(c), "%s: connection error: %s", c->peer,
		         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	conn_free(c);
}

static void
conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	(void)fd;
	(void)what;
	if (c->lingering || c->busy) {
		conn_free(c);
		return;
	}
	size_t pending = evbuffer_get_length(bufferevent_get_input(c->bev));
	if (pending == 0 && (!c->tls || c->handshake_done)) {
		log_debug(proto_name(c), "%s: idle keep-alive connection closed", c->peer);
		conn_free(c);
		return;
	}
	if (c->tls && !c->handshake_done) {
		log_warn("https", "%s: TLS handshake not finished after %us, closing", c->peer,
		         c->srv->nb->boot.cfg->http_idle_timeout);
		metrics.proto[METRICS_HTTP].errors++;
		conn_free(c);
		return;
	}
	/* A request head trickling in too slowly (slowloris): 408 and close. */
	snprintf(c->method, sizeof(c->method), "-");
	snprintf(c->target, sizeof(c->target), "-");
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	log_warn(proto_name(c), "%s: request head not complete after %us (%zu bytes), closing", c->peer,
	         c->srv->nb->boot.cfg->http_idle_timeout, pending);
	metrics.proto[METRICS_HTTP].requests++;
	bufferevent_disable(c->bev, EV_READ);
	c->is_head = false;
	send_simple(c, 408, false, NULL);
}

static void
conn_arm_deadline(struct http_conn *c, unsigned seconds)
{
	struct timeval tv = { .tv_sec = seconds, .tv_usec = 0 };
	event_add(c->deadline, &tv);
}

static void
reject_busy(evutil_socket_t fd)
{
	evutil_closesocket(fd);
}

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
	log_debug(proto_name(oldest), "%s: idle connection closed to make room", oldest->peer);
	srv->shed++;
	conn_free(oldest);
	return true;
}

/* A new client socket, from a listener or http_server_adopt(). */
static void
conn_new(struct http_server *srv, evutil_socket_t fd, const struct sockaddr *sa, int salen, bool tls)
{
	struct event_base *base = srv->nb->base;
	const struct config *cfg = srv->nb->boot.cfg;
	char peer[64];

	sockaddr_format(sa, peer, sizeof(peer));
	/* One address may hold at most http-max-per-client (loopback: no limit). */
	const void *key = NULL;
	size_t keylen = 0;
	bool loopback = true;
	if (addr_key(sa, &key, &keylen, &loopback) && !loopback &&
	    srccount_get(srv->per_source, key, keylen) >= cfg->http_max_per_client) {
		static uint64_t last_warn;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((uint64_t)now.tv_sec != last_warn) {
			log_warn(tls ? "https" : "http", "%s: per-client connection limit (%u) reached, "
			                                 "refusing", peer, cfg->http_max_per_client);
			last_warn = (uint64_t)now.tv_sec;
		}
		metrics.proto[METRICS_HTTP].errors++;
		reject_busy(fd);
		return;
	}
	bool over = srv->nconns >= cfg->http_max_connections && !shed_oldest_idle(srv);
	if (over) {
		log_warn(tls ? "https" : "http", "%s: connection limit (%u) reached, refusing", peer,
		         cfg->http_max_connections);
		/* A few refused connections get a proper 503 (sent, then a
		 * lingering close so it is not lost to a RST); past that budget,
		 * or over TLS where a reply costs a handshake, just close. */
		if (tls || srv->nrefusing >= REFUSE_BUDGET) {
			metrics.proto[METRICS_HTTP].errors++;
			reject_busy(fd);
			return;
		}
	}
	struct http_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	c->tls = tls;
	c->body_fd = -1;
	memcpy(c->peer, peer, sizeof(peer));
	if ((size_t)salen <= sizeof(c->addr)) {
		memcpy(&c->addr, sa, (size_t)salen);
		c->addrlen = (socklen_t)salen;
	}
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	if (tls) {
		SSL *ssl = SSL_new(srv->ssl_ctx);
		if (ssl)
			c->bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
			                                        BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev) {
			SSL_free(ssl);
			evutil_closesocket(fd);
			free(c);
			return;
		}
		/* Clients that just close after the last response are not errors. */
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev) {
			evutil_closesocket(fd);
			free(c);
			return;
		}
	}
	c->deadline = evtimer_new(base, conn_deadline_cb, c);
	/* libevent writes 16 KiB per loop turn by default: far too little for sendfile. */
	bufferevent_set_max_single_write(c->bev, 1 << 30);
	bufferevent_set_max_single_read(c->bev, 64 * 1024);
	struct timeval wt = { .tv_sec = cfg->http_idle_timeout, .tv_usec = 0 };
	bufferevent_set_timeouts(c->bev, NULL, &wt);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	/* Never buffer more input than one request head may take. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, cfg->http_max_header_bytes);

	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	if (key && !loopback && srccount_add(srv->per_source, key, keylen, 1) == 0)
		c->counted = true;
	if (!c->deadline || bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0) {
		conn_free(c);
		return;
	}
	if (over) {
		c->refusing = true;
		srv->nrefusing++;
		srv->nconns--; /* counted apart, so the cap stays exact */
		bufferevent_disable(c->bev, EV_READ);
		snprintf(c->method, sizeof(c->method), "-");
		snprintf(c->target, sizeof(c->target), "-");
		clock_gettime(CLOCK_MONOTONIC, &c->started);
		c->close_after = true;
		send_simple(c, 503, false, NULL);
		conn_arm_deadline(c, LINGER_SECONDS * 2);
		return;
	}
	conn_arm_deadline(c, cfg->http_idle_timeout);
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct http_server *srv = arg;
	conn_new(srv, fd, sa, salen, lev == srv->secure);
}

int
http_server_adopt(struct http_server *srv, int fd, const struct sockaddr *sa, socklen_t salen)
{
	if (evutil_make_socket_nonblocking(fd) < 0)
		return -errno;
	conn_new(srv, fd, sa, (int)salen, false);
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

int
http_server_start(struct netbootd *nb, struct http_server **out)
{
	const struct config *cfg = nb->boot.cfg;
	struct http_server *srv = calloc(1, sizeof(*srv));
	*out = NULL;
	if (!srv)
		return -ENOMEM;
	srv->nb = nb;
	srv->per_source = srccount_new();
	if (!srv->per_source) {
		free(srv);
		return -ENOMEM;
	}
	srv->limits.max_header_bytes = cfg->http_max_header_bytes;
	srv->limits.max_headers = cfg->http_max_headers;

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
