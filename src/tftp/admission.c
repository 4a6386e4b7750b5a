/*
 * A TFTP request's way in, without sockets: the listener hands over the
 * bytes, and the request passes the admission stages in order; the first
 * stage that says no decides the answer, at one exit:
 *
 *   parse       not a request: ignored; malformed: dropped (never answered,
 *               or a spoofed source would make us a reflector)
 *   writes      WRQ: refused, read-only server
 *   mode        octet and netascii only
 *   rate        --tftp-rate per source: dropped
 *   repeat      a transfer to this TID exists: its first packet again
 *   capacity    --tftp-max-transfers, then --tftp-max-per-client
 *   open        the name through the files resolver
 *   netascii    converted in memory (bounded)
 *   options     blksize/tsize/timeout/windowsize decided, the OACK built
 *   start       the sink gives the transfer its socket and sends
 *
 * A refusal is a -errno; boot/refusal.c turns it into the ERROR packet, the
 * same table the HTTP server answers from.
 */
#include "tftp/transfer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/refusal.h"
#include "daemon.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/netaddr.h"
#include "util/ratelimit.h"
#include "util/srccount.h"

/* A new transfer per source above --tftp-rate is dropped; say so at most this often. */
#define TFTP_RATE_LOG_MS 1000
/* netascii is converted in memory (it is meant for small text files). */
#define TFTP_NETASCII_MAX (16u * 1024u * 1024u)
/* IPv4 + UDP + TFTP header; IPv6 adds 20 more. */
#define TFTP_HDR_V4 (20 + 8 + 4)
#define TFTP_HDR_V6 (40 + 8 + 4)
/* Used when the path MTU cannot be read: Ethernet. */
#define TFTP_FALLBACK_MTU 1500

enum stage_result {
	STAGE_NEXT,    /* go on to the next stage */
	STAGE_IGNORE,  /* silence, nothing to report */
	STAGE_DROP,    /* silence, counted and logged by the stage */
	STAGE_REFUSE,  /* an ERROR from a->err */
	STAGE_REPEAT,  /* an existing transfer's request, handled */
	STAGE_STARTED, /* the sink took the transfer */
};

/* A request on its way in: what the stages have learned so far. */
struct admission {
	struct tftp_server *srv;
	const struct config *cfg;
	const uint8_t *pkt;
	size_t len;
	const struct tftp_arrival *arr;
	const struct tftp_sink *sink;
	struct tftp_request req;
	char who[64];                /* the peer, for log lines */
	char name[160];              /* the requested name, escaped */
	unsigned from_host;          /* transfers to this address already (repeat stage) */
	struct tftp_transfer *t;     /* from the open stage on */
	int err;                     /* STAGE_REFUSE: why, as -errno */
};

typedef enum stage_result (*admission_stage)(struct admission *a);

static enum stage_result
refuse_with(struct admission *a, int err)
{
	a->err = err;
	return STAGE_REFUSE;
}

/* ---- what the stages use ----------------------------------------------- */

/* RFC 764 netascii: LF -> CR LF, CR -> CR NUL. */
static int
netascii_convert(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
	size_t extra = 0;
	for (size_t i = 0; i < len; i++)
		extra += in[i] == '\n' || in[i] == '\r';
	uint8_t *o = malloc(len + extra + 1);
	if (!o)
		return -ENOMEM;
	size_t j = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n') {
			o[j++] = '\r';
			o[j++] = '\n';
		} else if (in[i] == '\r') {
			o[j++] = '\r';
			o[j++] = '\0';
		} else {
			o[j++] = in[i];
		}
	}
	*out = o;
	*outlen = j;
	return 0;
}

static int
load_netascii(struct tftp_transfer *t)
{
	const uint8_t *raw = t->src.data;
	uint8_t *tmp = NULL;
	int r = 0;
	if (t->src.size > TFTP_NETASCII_MAX)
		return -EFBIG;
	if (t->src.fd >= 0) {
		tmp = malloc(t->src.size ? t->src.size : 1);
		if (!tmp)
			return -ENOMEM;
		size_t got = 0;
		while (got < t->src.size) {
			ssize_t n = pread(t->src.fd, tmp + got, t->src.size - got, (off_t)(t->src.offset + got));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				r = n < 0 ? -errno : -ENODATA;
				goto out;
			}
			got += (size_t)n;
		}
		raw = tmp;
	}
	size_t outlen;
	r = netascii_convert(raw, t->src.size, &t->conv, &outlen);
	if (r == 0) {
		t->mem = t->conv;
		t->size = outlen;
	}
out:
	free(tmp);
	return r;
}


/* The largest blksize the path takes: route MTU minus IP/UDP/TFTP headers. */
static unsigned
path_blksize(const struct tftp_transfer *t, const struct tftp_sink *sink)
{
	unsigned mtu = sink->path_mtu(sink->ctx, &t->peer, t->peerlen);
	if (mtu <= 68)
		mtu = TFTP_FALLBACK_MTU; /* unknown (68: the IPv4 minimum, RFC 791) */
	unsigned hdr = t->peer.ss_family == AF_INET6 ? TFTP_HDR_V6 : TFTP_HDR_V4;
	unsigned b = mtu - hdr;
	if (b > TFTP_BLKSIZE_MAX)
		b = TFTP_BLKSIZE_MAX;
	if (b < TFTP_BLKSIZE_DEFAULT)
		b = TFTP_BLKSIZE_DEFAULT;
	return b;
}

/* Decide what to accept and build the OACK. Only accepted options are echoed. */
static int
negotiate(struct tftp_transfer *t, const struct tftp_request *req, const struct config *cfg,
          const struct tftp_sink *sink)
{
	struct tftp_oack o = { 0 };
	size_t tl = 0;

	t->blksize = TFTP_BLKSIZE_DEFAULT;
	t->windowsize = 1;
	t->timeout = cfg->tftp_timeout ? cfg->tftp_timeout : 1;

	if (req->has_blksize) {
		unsigned cap = cfg->tftp_max_blksize ? cfg->tftp_max_blksize : path_blksize(t, sink);
		if (cap > TFTP_BLKSIZE_MAX)
			cap = TFTP_BLKSIZE_MAX;
		if (cap < TFTP_BLKSIZE_MIN)
			cap = TFTP_BLKSIZE_MIN;
		t->blksize = req->blksize < cap ? req->blksize : cap;
		o.blksize = t->blksize;
		tl += (size_t)snprintf(t->opts_text + tl, sizeof(t->opts_text) - tl, "blksize=%u ", t->blksize);
	}
	if (req->has_tsize) {
		o.has_tsize = true;
		o.tsize = t->size;
		t->probe_tsize = true;
		tl += (size_t)snprintf(t->opts_text + tl, sizeof(t->opts_text) - tl, "tsize ");
	}
	if (req->has_timeout) {
		t->timeout = req->timeout;
		o.timeout = req->timeout;
		tl += (size_t)snprintf(t->opts_text + tl, sizeof(t->opts_text) - tl, "timeout=%u ", t->timeout);
	}
	if (req->has_windowsize) {
		unsigned w = req->windowsize;
		unsigned cap = cfg->tftp_max_windowsize ? cfg->tftp_max_windowsize : 1;
		unsigned mem_cap = TFTP_WINDOW_BYTES_MAX / t->blksize;
		if (mem_cap < 1)
			mem_cap = 1;
		if (w > cap)
			w = cap;
		if (w > mem_cap)
			w = mem_cap;
		t->windowsize = w;
		o.windowsize = w;
		tl += (size_t)snprintf(t->opts_text + tl, sizeof(t->opts_text) - tl, "windowsize=%u ", w);
	}
	if (tl > 0 && tl < sizeof(t->opts_text))
		t->opts_text[tl - 1] = '\0';

	t->nblocks = t->size / t->blksize + 1;
	if (o.blksize || o.has_tsize || o.timeout || o.windowsize) {
		int n = tftp_oack_build(t->oack, sizeof(t->oack), &o);
		if (n < 0)
			return n;
		t->oack_len = (size_t)n;
	}
	return 0;
}

/* ---- the stages, in order ----------------------------------------------- */

static enum stage_result
stage_parse(struct admission *a)
{
	int r = tftp_request_parse(a->pkt, a->len, &a->req);
	if (r == -EPROTO) {
		/* Not a request at all (a stray ACK or ERROR sent to port 69 by a
		 * confused client): nothing to answer, nothing to warn about. */
		log_debug("tftp", "%s: ignoring opcode %d on the listener", a->who,
		          tftp_opcode(a->pkt, a->len));
		return STAGE_IGNORE;
	}
	if (r < 0) {
		metrics.proto[METRICS_TFTP].errors++;
		log_warn("tftp", "%s: dropped a malformed %zu-byte request (%s)", a->who, a->len,
		         strerror(-r));
		return STAGE_DROP;
	}
	metrics.proto[METRICS_TFTP].requests++;
	log_escape(a->name, sizeof(a->name), a->req.filename, a->req.filename_len);
	return STAGE_NEXT;
}

static enum stage_result
stage_writes(struct admission *a)
{
	return a->req.opcode == TFTP_WRQ ? refuse_with(a, -EROFS) : STAGE_NEXT;
}

static enum stage_result
stage_mode(struct admission *a)
{
	if (a->req.mode != TFTP_MODE_OCTET && a->req.mode != TFTP_MODE_NETASCII)
		return refuse_with(a, -EPROTONOSUPPORT);
	return STAGE_NEXT;
}

/*
 * The per-source token bucket on requests (--tftp-rate). Loopback is never
 * limited: it cannot be spoofed from the network, and local tools and
 * benchmarks run many transfers from it.
 */
static enum stage_result
stage_rate(struct admission *a)
{
	struct tftp_server *srv = a->srv;
	const void *key;
	size_t keylen;
	bool loopback;
	if (!addr_key((const struct sockaddr *)&a->arr->peer, &key, &keylen, &loopback) || loopback)
		return STAGE_NEXT;
	uint64_t now = monotonic_ms();
	if (ratelimit_take(&srv->requests_per_source, key, keylen, now))
		return STAGE_NEXT;
	metrics.proto[METRICS_TFTP].errors++;
	srv->rate_dropped++;
	if (now - srv->rate_logged_ms >= TFTP_RATE_LOG_MS) {
		log_warn("tftp", "%s: over %u new requests a second (tftp-rate): %" PRIu64
		                 " request%s dropped unanswered", a->who, a->cfg->tftp_rate,
		         srv->rate_dropped, srv->rate_dropped == 1 ? "" : "s");
		srv->rate_logged_ms = now;
		srv->rate_dropped = 0;
	}
	return STAGE_DROP;
}

/*
 * A retransmitted RRQ (our first answer was lost or slow, or the network
 * duplicated it) must not start a second transfer to the same TID. While
 * the client has not answered, it gets the first packet again, once per
 * request (our timer does not resend it: transfer.c, TFTP_FIRST_RETRIES).
 */
static enum stage_result
stage_repeat(struct admission *a)
{
	/* One walk over the transfers serves this stage and the next. */
	struct tftp_transfer *dup = NULL;
	for (struct tftp_transfer *t = a->srv->transfers; t; t = t->next) {
		if (!sockaddr_same_host(&t->peer, &a->arr->peer))
			continue;
		a->from_host++;
		if (sockaddr_port(&t->peer) == sockaddr_port(&a->arr->peer))
			dup = t;
	}
	if (!dup)
		return STAGE_NEXT;
	log_debug("tftp", "%s \"%s\": repeated request%s", a->who, a->name,
	          dup->verified ? " ignored (transfer under way)" : ": first packet sent again");
	if (!dup->verified)
		a->sink->resend_first(a->sink->ctx, dup);
	return STAGE_REPEAT;
}

static enum stage_result
stage_capacity(struct admission *a)
{
	if (a->srv->active >= a->cfg->tftp_max_transfers)
		return refuse_with(a, -EBUSY);
	return a->from_host >= a->cfg->tftp_max_per_client ? refuse_with(a, -EUSERS) : STAGE_NEXT;
}

static enum stage_result
stage_open(struct admission *a)
{
	struct tftp_transfer *t = calloc(1, sizeof(*t));
	if (!t)
		return refuse_with(a, -ENOMEM);
	t->fd = -1;
	t->src.fd = -1;
	t->srv = a->srv;
	t->peer = a->arr->peer;
	t->peerlen = a->arr->peerlen;
	t->mode = a->req.mode;
	t->max_tries = a->cfg->tftp_retries;
	memcpy(t->peer_text, a->who, sizeof(t->peer_text));
	clock_gettime(CLOCK_MONOTONIC, &t->started);
	a->t = t;

	struct file_client fc = { .addr = (const struct sockaddr *)&a->arr->peer,
		                      .addrlen = a->arr->peerlen,
		                      .local = (const struct sockaddr *)&a->arr->local, .query = NULL };
	struct files *files = a->srv->nb->boot.files;
	int r = files ? files_open(files, a->req.filename, a->req.filename_len, &fc, &t->src) : -ENOENT;
	if (r < 0)
		return refuse_with(a, r);
	if (!t->src.path[0])
		snprintf(t->src.path, sizeof(t->src.path), "%s", a->name);
	t->size = t->src.size;
	if (t->src.fd < 0)
		t->mem = t->src.data;
	return STAGE_NEXT;
}

static enum stage_result
stage_netascii(struct admission *a)
{
	if (a->req.mode != TFTP_MODE_NETASCII)
		return STAGE_NEXT;
	int r = load_netascii(a->t);
	return r < 0 ? refuse_with(a, r) : STAGE_NEXT;
}

static enum stage_result
stage_options(struct admission *a)
{
	int r = negotiate(a->t, &a->req, a->cfg, a->sink);
	if (r < 0)
		return refuse_with(a, r);
	/* RFC 2347: with accepted options, OACK first and DATA only after ACK 0;
	 * with none accepted (all unknown), DATA 1 straight away. */
	a->t->state = a->t->oack_len ? XFER_OACK_SENT : XFER_DATA;
	return STAGE_NEXT;
}

static enum stage_result
stage_start(struct admission *a)
{
	struct tftp_transfer *t = a->t;
	log_debug("tftp", "%s \"%s\": %" PRIu64 " bytes, %s%s%s", a->who, t->src.path, t->size,
	          tftp_mode_name(t->mode), t->oack_len ? ", OACK " : "", t->opts_text);
	int r = a->sink->start(a->sink->ctx, t, a->arr);
	if (r < 0)
		return refuse_with(a, r);
	a->t = NULL; /* linked: the engine owns it now */
	return STAGE_STARTED;
}

static const admission_stage stages[] = {
	stage_parse, stage_writes, stage_mode, stage_rate, stage_repeat,
	stage_capacity, stage_open, stage_netascii, stage_options, stage_start,
};

enum tftp_verdict
tftp_handle_request(struct tftp_server *srv, const uint8_t *pkt, size_t len,
                    const struct tftp_arrival *arr, const struct tftp_sink *sink)
{
	struct admission a = {
		.srv = srv, .cfg = srv->nb->boot.cfg, .pkt = pkt, .len = len, .arr = arr, .sink = sink,
	};
	snprintf(a.name, sizeof(a.name), "-");
	sockaddr_format((const struct sockaddr *)&arr->peer, a.who, sizeof(a.who));

	enum stage_result res = STAGE_NEXT;
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]) && res == STAGE_NEXT; i++)
		res = stages[i](&a);

	/* The one exit. */
	switch (res) {
	case STAGE_REFUSE: {
		const struct refusal *why = refusal_for_errno(a.err);
		uint8_t err[128];
		log_info("tftp", "%s \"%s\": refused with ERROR %u (%s)", a.who, a.name, why->tftp_code,
		         why->tftp_text);
		int n = tftp_error_build(err, sizeof(err), why->tftp_code, why->tftp_text);
		if (n > 0)
			sink->refuse(sink->ctx, err, (size_t)n, arr);
		if (why->counted)
			metrics.proto[METRICS_TFTP].errors++;
		if (a.t)
			transfer_release(a.t);
		return TFTP_REFUSED;
	}
	case STAGE_STARTED:
		return TFTP_STARTED;
	case STAGE_REPEAT:
		return TFTP_REPEATED;
	case STAGE_DROP:
		return TFTP_DROPPED;
	case STAGE_IGNORE:
	case STAGE_NEXT: /* not reached: the last stage never says next */
		break;
	}
	return TFTP_IGNORED;
}
