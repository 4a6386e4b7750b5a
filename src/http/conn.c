/*
 * An HTTP connection's life on libevent bufferevents: read a request head,
 * hand it to the request handler (request.c), put the response on the
 * wire, and go again. Bodies:
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
#include "http/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "boot/timeline.h"
#include "daemon.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/netaddr.h"
#include "util/srccount.h"

#define TLS_CHUNK (64 * 1024)          /* one pread for HTTPS bodies */
#define TLS_SLOTS 8                    /* chunks per HTTPS response in flight */
#define TLS_HIGH_WATER (TLS_SLOTS * TLS_CHUNK) /* refill the TLS output up to this */
#define TLS_LOW_WATER (128 * 1024)     /* ... whenever it drains below this */

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

static void pump_pool_unref(struct pump_pool *pool);
static void conn_process_input(struct http_conn *c);
static void conn_arm_deadline(struct http_conn *c, unsigned seconds);

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

/*
 * Hold partial segments back while a plain file body is queued, as nginx's
 * tcp_nopush does: with TCP_NODELAY the head would leave as a segment of its
 * own before the body's sendfile, costing the client a wakeup per response
 * (wrk -c100 on 1 MiB files: ~10 % fewer requests/s, docs/benchmarks.md).
 * Released when the output has drained (response_done).
 */
static void
set_cork(struct http_conn *c, bool on)
{
	int v = on;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
	c->corked = on;
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
			              http_proto_name(c->tls), c->path, sent, us, complete);
	}
	log_info(http_proto_name(c->tls), "%s \"%s %s\" %d %llu %llu.%03llums%s", c->peer, c->method, c->target,
	         c->status, (unsigned long long)sent, (unsigned long long)(us / 1000),
	         (unsigned long long)(us % 1000), complete ? "" : " (incomplete)");
	if (c->corked)
		set_cork(c, false);
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
free_cb(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)(uintptr_t)data);
}

/* Plain HTTP: sendfile(2) from the page cache; libevent uses it for file
 * segments added to a socket's output buffer. */
static int
queue_file_segment(struct http_conn *c, struct http_response *resp)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct evbuffer_file_segment *seg = evbuffer_file_segment_new(
		resp->fd, (ev_off_t)resp->offset, (ev_off_t)resp->length, EVBUF_FS_CLOSE_ON_FREE);
	if (!seg)
		return -ENOMEM; /* resp->fd is still ours */
	resp->fd = -1;      /* the segment owns it now */
	int r = evbuffer_add_file_segment(out, seg, 0, (ev_off_t)resp->length);
	evbuffer_file_segment_free(seg); /* drops our reference; the buffer keeps one */
	return r < 0 ? -ENOMEM : 0;
}

/*
 * The sink of the request handler: put one decided response on the wire.
 * Takes the response's data or fd. The access log line comes when the
 * output has drained (response_done).
 */
static void
conn_send(void *ctx, struct http_response *resp)
{
	struct http_conn *c = ctx;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	c->busy = true;
	c->status = resp->head.status;
	c->body_len = resp->length;
	c->body_queued = 0;
	c->out_at_start = evbuffer_get_length(out);
	c->body_fd = -1;
	c->close_after = resp->close_after;
	c->report_file = resp->boot_file && resp->body != HTTP_BODY_NONE;
	memcpy(c->method, resp->method, sizeof(c->method));
	memcpy(c->target, resp->target, sizeof(c->target));
	memcpy(c->path, resp->path, sizeof(c->path));

	char head[2048];
	resp->head.date = time(NULL);
	size_t n = http_response_head_build(head, sizeof(head), &resp->head);
	if (n >= sizeof(head))
		n = sizeof(head) - 1; /* never: our fields are bounded */
	c->head_len = n;
	size_t written = 0;
	if (resp->body == HTTP_BODY_FILE && !c->tls) {
		set_cork(c, true);
		/* Corked, the head waits in the kernel for the body's first
		 * sendfile: write it now, saving the loop turn libevent would
		 * spend on it, unless earlier output is still queued. */
		ssize_t w = c->out_at_start == 0 ? send(c->fd, head, n, MSG_NOSIGNAL) : 0;
		if (w > 0)
			written = (size_t)w;
	}
	evbuffer_add(out, head + written, n - written);
	if (c->report_file)
		metrics.proto[METRICS_HTTP].active++;

	switch (resp->body) {
	case HTTP_BODY_NONE:
		break;
	case HTTP_BODY_MEMORY:
		/* The buffer frees the bytes once they are sent. */
		if (evbuffer_add_reference(out, resp->data, (size_t)resp->length, free_cb, NULL) == 0)
			resp->data = NULL;
		else
			evbuffer_add(out, resp->data, (size_t)resp->length);
		c->body_queued = resp->length;
		break;
	case HTTP_BODY_FILE:
		if (!c->tls) {
			if (queue_file_segment(c, resp) < 0) {
				log_error("http", "%s: cannot queue %s", c->peer, c->path);
				c->close_after = true;
				break;
			}
			c->body_queued = resp->length;
			break;
		}
		/* Keep the TLS record buffers while a body streams; release them
		 * again once the connection idles (response_done). */
		SSL_clear_mode(bufferevent_openssl_get_ssl(c->bev), SSL_MODE_RELEASE_BUFFERS);
		c->body_fd = resp->fd;
		resp->fd = -1;
		c->body_off = resp->offset;
		c->body_end = resp->offset + resp->length;
		if (tls_pump(c) < 0)
			c->close_after = true;
		break;
	}
	free(resp->data);
	if (resp->fd >= 0)
		close(resp->fd);
}

/* A status response of the connection's own (408, 503), outside any request. */
static void
conn_send_status(struct http_conn *c, int status)
{
	struct http_response resp = { .fd = -1, .close_after = true };
	snprintf(resp.method, sizeof(resp.method), "-");
	snprintf(resp.target, sizeof(resp.target), "-");
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	http_response_status(&resp, status, NULL);
	conn_send(c, &resp);
}

/* ---- connection life ---------------------------------------------------- */

void
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
	struct http_peer peer = {
		.addr = (const struct sockaddr *)&c->addr, .addrlen = c->addrlen,
		.local = c->local.ss_family ? (const struct sockaddr *)&c->local : NULL,
		.text = c->peer, .tls = c->tls, .closing = c->close_after,
	};
	struct http_sink sink = { .respond = conn_send, .ctx = c };
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t used = http_handle_request(c->srv, p, look, &peer, &sink);
	if (used == 0)
		return; /* wait for more; the deadline bounds how long */
	/* One request at a time: pipelined bytes wait in the input (bounded by
	 * the read high-water mark) until this response is out. Reading stays
	 * enabled, which saves two epoll_ctl calls per request. */
	c->started = t0;
	event_del(c->deadline);
	evbuffer_drain(in, used);
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
		char why[512];
		tls_handshake_failure(c->bev, what, why, sizeof(why));
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
		log_warn(http_proto_name(c->tls), "%s: client stopped reading for %us, closing", c->peer,
		         c->srv->nb->boot.cfg->http_idle_timeout);
	} else if ((what & BEV_EVENT_ERROR) && c->busy) {
		log_info(http_proto_name(c->tls), "%s: connection error: %s", c->peer,
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
		log_debug(http_proto_name(c->tls), "%s: idle keep-alive connection closed", c->peer);
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
	log_warn(http_proto_name(c->tls), "%s: request head not complete after %us (%zu bytes), closing", c->peer,
	         c->srv->nb->boot.cfg->http_idle_timeout, pending);
	metrics.proto[METRICS_HTTP].requests++;
	bufferevent_disable(c->bev, EV_READ);
	conn_send_status(c, 408);
}

static void
conn_arm_deadline(struct http_conn *c, unsigned seconds)
{
	struct timeval tv = { .tv_sec = seconds, .tv_usec = 0 };
	event_add(c->deadline, &tv);
}

/* A new client socket, from a listener or http_server_adopt(), admitted. */
struct http_conn *
conn_new(struct http_server *srv, evutil_socket_t fd, const struct sockaddr *sa, socklen_t salen,
         bool tls)
{
	struct event_base *base = srv->nb->base;
	const struct config *cfg = srv->nb->boot.cfg;
	struct http_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		evutil_closesocket(fd);
		return NULL;
	}
	c->srv = srv;
	c->fd = fd;
	c->tls = tls;
	c->body_fd = -1;
	sockaddr_format(sa, c->peer, sizeof(c->peer));
	if ((size_t)salen <= sizeof(c->addr)) {
		memcpy(&c->addr, sa, (size_t)salen);
		c->addrlen = salen;
	}
	/*
	 * Our end, for an IPv6 client only: generated scripts name the address
	 * it came to. IPv4 (and v4-mapped) clients never need it, so the common
	 * case costs no system call per connection.
	 */
	c->local.ss_family = AF_UNSPEC;
	if (sa->sa_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr)) {
		socklen_t locallen = sizeof(c->local);
		if (getsockname(fd, (struct sockaddr *)&c->local, &locallen) < 0)
			c->local.ss_family = AF_UNSPEC;
	}
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	if (tls) {
		SSL *ssl = SSL_new(srv->ssl_ctx);
		if (ssl)
			c->bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
			                                        BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev)
			SSL_free(ssl);
		else /* Clients that just close after the last response are not errors. */
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!c->bev) {
		evutil_closesocket(fd);
		free(c);
		return NULL;
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
	if (!c->deadline || bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0) {
		conn_free(c);
		return NULL;
	}
	conn_arm_deadline(c, cfg->http_idle_timeout);
	return c;
}

void
conn_refuse_busy(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	c->refusing = true;
	srv->nrefusing++;
	srv->nconns--; /* counted apart, so the cap stays exact */
	bufferevent_disable(c->bev, EV_READ);
	conn_send_status(c, 503);
	conn_arm_deadline(c, LINGER_SECONDS * 2);
}
