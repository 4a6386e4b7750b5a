/*
 * The TFTP server: read-only, RFC 1350 with the option extensions of
 * RFC 2347 (OACK), 2348 (blksize), 2349 (timeout, tsize) and 7440
 * (windowsize), on the daemon's one libevent loop.
 *
 * Shape (after OpenBSD tftpd and iPXE's tftp.c): one listener takes
 * requests; each transfer gets its own ephemeral socket (its TID), a read
 * event, a write event (only armed when the socket buffer is full) and one
 * retransmit timer. Blocks are numbered with a 64-bit counter internally; on
 * the wire the number wraps 65535 -> 0, so files of any size transfer.
 *
 * Retransmission happens on the timer only, never because an ACK was
 * duplicated (RFC 1123 4.2.3.1: the Sorcerer's Apprentice). With a window,
 * an ACK of block n restarts the window at n+1 (RFC 7440 4).
 */
#include "tftp/tftp_server.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "boot/files.h"
#include "boot/timeline.h"
#include "daemon.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/netaddr.h"
#include "util/ratelimit.h"
#include "util/srccount.h"
#include "wire/tftp.h"

/*
 * Reflection hardening (REFERENCES.md, docs/security.md): until the client
 * has answered once, its address may be spoofed, so the first packet (OACK
 * or DATA 1) goes out once per request received: never resent by our timer
 * (which only waits), only again when the client repeats its request (which
 * real clients do when their first answer is lost). One request, one
 * answer: at most the size ratio of DATA 1 to the request, never a multiple.
 */
#define TFTP_FIRST_RETRIES 0
/* A new transfer per source above --tftp-rate is dropped; say so at most this often. */
#define TFTP_RATE_LOG_MS 1000
/* The retransmit interval doubles per try up to this (seconds). */
#define TFTP_BACKOFF_CAP 8
/* A window's bytes are read with one pread into one buffer shared by every
 * transfer (sendmmsg copies them into the socket, so the buffer is free
 * again as soon as the window is out). Its size bounds the window: the
 * windowsize is reduced in the OACK instead (RFC 7440 allows it). */
#define TFTP_WINDOW_BYTES_MAX (512u * 1024u)
/* Read-ahead when the same transfer reads twice in a row (a lone lock-step
 * transfer): one pread then serves many blocks. */
#define TFTP_READAHEAD (64u * 1024u)
/* netascii is converted in memory (it is meant for small text files). */
#define TFTP_NETASCII_MAX (16u * 1024u * 1024u)
/* Batch of DATA packets per sendmmsg call. */
#define TFTP_BATCH 64
/* Requests read per listener wake-up, so one busy listener cannot starve transfers. */
#define TFTP_LISTENER_BURST 64
/* IPv4 + UDP + TFTP header; IPv6 adds 20 more. */
#define TFTP_HDR_V4 (20 + 8 + 4)
#define TFTP_HDR_V6 (40 + 8 + 4)
/* UDP GSO (UDP_SEGMENT, Linux 4.18+): one sendmsg carries up to this many
 * DATA packets of a window, as long as they fit one 64 KiB super-datagram. */
#define TFTP_GSO_SEGS 64
#define TFTP_GSO_BYTES 65507
/* Used when the path MTU cannot be read: Ethernet. */
#define TFTP_FALLBACK_MTU 1500

enum transfer_state {
	XFER_OACK_SENT,  /* waiting for ACK 0 (RFC 2347: DATA only after it) */
	XFER_DATA,
};

struct tftp_transfer {
	struct tftp_server *srv;
	struct tftp_transfer *prev, *next;
	int fd;
	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_timer;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	char peer_text[64];
	enum transfer_state state;

	struct file_source src;
	const uint8_t *mem;    /* whole content in memory (generated or netascii), or NULL */
	uint8_t *conv;         /* owned netascii conversion */
	uint64_t size;
	enum tftp_mode mode;

	unsigned blksize;
	unsigned windowsize;
	unsigned timeout;      /* base retransmit interval, seconds */
	unsigned max_tries;
	bool probe_tsize;      /* client asked tsize: an abort after OACK is a size probe */
	char opts_text[96];    /* accepted options, for the log line */

	uint8_t oack[128];
	size_t oack_len;

	uint64_t nblocks;      /* blocks in the file: size / blksize + 1 */
	uint64_t acked;        /* highest block the client acknowledged */
	uint64_t next_send;    /* next block to put on the wire in this window */
	uint64_t win_end;      /* last block of the current window */
	unsigned tries;
	bool verified;         /* the client answered at least once */
	bool no_gso;           /* the route refused UDP_SEGMENT: plain sendmmsg */

	struct timespec started;
	uint64_t bytes_sent;   /* payload, retransmissions included */
	uint64_t retransmits;
};

struct tftp_server {
	struct netbootd *nb;
	int fd;
	int family;
	struct sockaddr_storage bound;
	struct event *ev;
	struct tftp_transfer *transfers;
	unsigned active;
	/* File bytes [scratch_off, +scratch_len) of scratch_owner's file. Per
	 * transfer memory stays at a few hundred bytes, so 1000 transfers cost
	 * little more than one. */
	uint8_t *scratch;
	const struct tftp_transfer *scratch_owner;
	uint64_t scratch_off;
	size_t scratch_len;
	/* Scratch for sendmmsg: the loop is single-threaded, so one set serves all. */
	uint8_t gso[TFTP_GSO_BYTES];   /* [hdr|data][hdr|data]... for one GSO send */
	struct iovec gso_iov[TFTP_GSO_SEGS];
	struct mmsghdr msgs[TFTP_BATCH];
	struct iovec iov[TFTP_BATCH][2];
	uint8_t hdrs[TFTP_BATCH][4];
	struct ratelimit requests_per_source; /* --tftp-rate */
	uint64_t rate_logged_ms;
	uint64_t rate_dropped;                /* since the last such log line */
};

static void transfer_send_window(struct tftp_transfer *t);
static void transfer_end(struct tftp_transfer *t, const char *outcome, bool complete, bool failed);

static bool
same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		              &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
	return false;
}

static uint16_t
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_port;
	if (ss->ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)ss)->sin6_port;
	return 0;
}

static bool
same_tid(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return same_host(a, b) && port_of(a) == port_of(b);
}

/* Send an ERROR from fd to one address; best effort (an ERROR is never retransmitted). */
static void
send_error(int fd, const struct sockaddr_storage *to, socklen_t tolen, uint16_t code, const char *msg)
{
	uint8_t pkt[128];
	int n = tftp_error_build(pkt, sizeof(pkt), code, msg);
	if (n > 0 && sendto(fd, pkt, (size_t)n, 0, (const struct sockaddr *)to, tolen) < 0)
		log_debug("tftp", "sending ERROR %u: %s", code, strerror(errno));
}

/* ---- transfers ------------------------------------------------------- */

/* The one place a transfer's resources go, linked in or not. */
static void
transfer_release(struct tftp_transfer *t)
{
	if (t->ev_read)
		event_free(t->ev_read);
	if (t->ev_write)
		event_free(t->ev_write);
	if (t->ev_timer)
		event_free(t->ev_timer);
	if (t->fd >= 0)
		close(t->fd);
	file_source_release(&t->src);
	free(t->conv);
	free(t);
}

/* Unlink a live transfer, drop it from the counters, release it. */
static void
transfer_free(struct tftp_transfer *t)
{
	struct tftp_server *srv = t->srv;
	if (t->prev)
		t->prev->next = t->next;
	else
		srv->transfers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	srv->active--;
	if (srv->scratch_owner == t)
		srv->scratch_owner = NULL; /* the next transfer may reuse this address */
	metrics.proto[METRICS_TFTP].active--;
	transfer_release(t);
}

/*
 * The one log line per transfer: client, file, size, options, duration,
 * throughput, outcome. Then the timeline and counters, then free.
 */
static void
transfer_end(struct tftp_transfer *t, const char *outcome, bool complete, bool failed)
{
	uint64_t us = usec_since(&t->started);
	uint64_t delivered = t->acked == 0 ? 0 : (t->acked >= t->nblocks ? t->size : t->acked * t->blksize);
	double secs = (double)us / 1e6;
	double mbps = us ? (double)delivered / (double)us : 0.0; /* bytes/us = MB/s */
	enum log_level lvl = failed ? LOG_LEVEL_WARN : LOG_LEVEL_INFO;

	log_msg(lvl, "tftp", "%s \"%s\" %" PRIu64 "/%" PRIu64 " bytes, %s%s%s, %.3f s, %.2f MB/s, "
	        "%" PRIu64 " retransmits: %s",
	        t->peer_text, t->src.path, delivered, t->size, tftp_mode_name(t->mode),
	        t->opts_text[0] ? " " : "", t->opts_text, secs, mbps, t->retransmits, outcome);

	/* A size probe (OVMF asks tsize, reads the OACK, then sends ERROR 8) is
	 * not a file transfer: it is neither a success nor a failure for the
	 * machine's boot timeline, so it is not reported there. */
	if (complete || failed)
		timeline_file(t->srv->nb->boot.timeline, (const struct sockaddr *)&t->peer, "tftp",
		              t->src.path, delivered, us, complete);
	if (failed)
		metrics.proto[METRICS_TFTP].errors++;
	transfer_free(t);
}

static void
transfer_arm_timer(struct tftp_transfer *t)
{
	unsigned shift = t->tries < 8 ? t->tries : 8;
	unsigned secs = t->timeout << shift;
	unsigned cap = t->timeout > TFTP_BACKOFF_CAP ? t->timeout : TFTP_BACKOFF_CAP;
	if (secs > cap)
		secs = cap;
	struct timeval tv = { .tv_sec = secs, .tv_usec = 0 };
	event_add(t->ev_timer, &tv);
}

/* Bytes of block blk (1-based) and where they start in the file. */
static size_t
block_len(const struct tftp_transfer *t, uint64_t blk, uint64_t *off)
{
	*off = (blk - 1) * t->blksize;
	uint64_t left = t->size > *off ? t->size - *off : 0;
	return left < t->blksize ? (size_t)left : t->blksize;
}

/*
 * Make sure the file bytes of blocks [first, last] are in the shared
 * buffer. One pread covers a whole window, and more when the same transfer
 * keeps reading (lock-step blocks of a lone transfer).
 */
static int
transfer_fill(struct tftp_transfer *t, uint64_t first, uint64_t last)
{
	struct tftp_server *srv = t->srv;
	uint64_t off, off_last;
	block_len(t, first, &off);
	size_t last_len = block_len(t, last, &off_last);
	uint64_t end = off_last + last_len;
	if (srv->scratch_owner == t && off >= srv->scratch_off && end <= srv->scratch_off + srv->scratch_len)
		return 0;
	uint64_t want = end - off;
	if (srv->scratch_owner == t && want < TFTP_READAHEAD)
		want = TFTP_READAHEAD;
	if (want > t->size - off)
		want = t->size - off;
	if (want > TFTP_WINDOW_BYTES_MAX)
		want = TFTP_WINDOW_BYTES_MAX;
	srv->scratch_owner = NULL;
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(t->src.fd, srv->scratch + got, (size_t)want - got,
		                  (off_t)(t->src.offset + off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA; /* the file shrank under us */
		got += (size_t)n;
	}
	srv->scratch_owner = t;
	srv->scratch_off = off;
	srv->scratch_len = got;
	return end <= off + got ? 0 : -ENODATA;
}

static void
on_transfer_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	transfer_send_window(arg);
}

/*
 * Send several blocks of a file in one UDP GSO datagram: the blocks are
 * read with one preadv into [header|data] slots, and the kernel cuts the
 * buffer into one DATA packet per slot (the last block of the file may be
 * shorter: GSO allows a short last segment). Each block then crosses the
 * IP stack once per batch instead of once per packet.
 * Returns blocks sent, 0 when GSO is not usable here, or -errno.
 */
static int
transfer_send_gso(struct tftp_transfer *t)
{
	struct tftp_server *srv = t->srv;
	size_t seg = 4 + (size_t)t->blksize;
	uint64_t left = t->win_end - t->next_send + 1;
	size_t nseg = TFTP_GSO_BYTES / seg;
	if (nseg > TFTP_GSO_SEGS)
		nseg = TFTP_GSO_SEGS;
	if (nseg > left)
		nseg = (size_t)left;
	if (nseg < 2)
		return 0;

	size_t total = 0, want = 0;
	uint64_t off0 = 0;
	for (size_t i = 0; i < nseg; i++) {
		uint64_t blk = t->next_send + i, off;
		size_t len = block_len(t, blk, &off);
		if (i == 0)
			off0 = off;
		tftp_data_header(srv->gso + i * seg, (uint16_t)blk);
		srv->gso_iov[i].iov_base = srv->gso + i * seg + 4;
		srv->gso_iov[i].iov_len = len;
		want += len;
		total = i * seg + 4 + len;
	}
	size_t got = 0;
	while (got < want) {
		/* A short read only happens at the end of the file: retry the rest. */
		struct iovec rest[TFTP_GSO_SEGS];
		size_t skip = got, n = 0;
		for (size_t i = 0; i < nseg; i++) {
			size_t len = srv->gso_iov[i].iov_len;
			if (skip >= len) {
				skip -= len;
				continue;
			}
			rest[n].iov_base = (uint8_t *)srv->gso_iov[i].iov_base + skip;
			rest[n].iov_len = len - skip;
			skip = 0;
			n++;
		}
		ssize_t r = preadv(t->src.fd, rest, (int)n, (off_t)(t->src.offset + off0 + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ENODATA;
		got += (size_t)r;
	}

	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(uint16_t))];
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { .iov_base = srv->gso, .iov_len = total };
	struct msghdr mh = {
		.msg_name = &t->peer, .msg_namelen = t->peerlen,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	uint16_t gso_size = (uint16_t)seg;
	memcpy(CMSG_DATA(c), &gso_size, sizeof(gso_size));
	if (sendmsg(t->fd, &mh, 0) < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR)
			return -EAGAIN;
		/* EINVAL/EIO/ENOPROTOOPT: no GSO on this kernel or route. */
		log_debug("tftp", "%s: UDP GSO unavailable (%s): plain sends", t->peer_text, strerror(errno));
		t->no_gso = true;
		return 0;
	}
	t->bytes_sent += want;
	metrics.proto[METRICS_TFTP].bytes += want;
	t->next_send += nseg;
	return (int)nseg;
}

/*
 * Put blocks next_send..win_end on the wire: GSO batches for file data,
 * else sendmmsg. If the socket buffer fills, wait for it to drain (write
 * event) and carry on: a full buffer is not loss, so it must not cost a
 * retransmit timeout.
 */
static void
transfer_send_window(struct tftp_transfer *t)
{
	struct tftp_server *srv = t->srv;
	while (t->next_send <= t->win_end) {
		if (!t->mem && !t->no_gso) {
			int g = transfer_send_gso(t);
			if (g == -EAGAIN) {
				event_add(t->ev_write, NULL);
				return;
			}
			if (g < 0) {
				send_error(t->fd, &t->peer, t->peerlen, TFTP_EUNDEF, "read error");
				transfer_end(t, g == -ENODATA ? "failed: file shrank during transfer"
				                              : "failed: read error", false, true);
				return;
			}
			if (g > 0)
				continue;
		}
		unsigned n = 0;
		uint64_t blk = t->next_send;
		if (!t->mem) {
			int r = transfer_fill(t, blk, t->win_end);
			if (r < 0) {
				send_error(t->fd, &t->peer, t->peerlen, TFTP_EUNDEF, "read error");
				transfer_end(t, r == -ENODATA ? "failed: file shrank during transfer"
				                              : "failed: read error", false, true);
				return;
			}
		}
		for (; n < TFTP_BATCH && blk <= t->win_end; n++, blk++) {
			uint64_t off;
			size_t len = block_len(t, blk, &off);
			tftp_data_header(srv->hdrs[n], (uint16_t)blk); /* wraps 65535 -> 0 */
			srv->iov[n][0].iov_base = srv->hdrs[n];
			srv->iov[n][0].iov_len = 4;
			srv->iov[n][1].iov_base = (void *)(uintptr_t)(t->mem ? t->mem + off
			                                                     : srv->scratch + (off - srv->scratch_off));
			srv->iov[n][1].iov_len = len;
			memset(&srv->msgs[n], 0, sizeof(srv->msgs[n]));
			srv->msgs[n].msg_hdr.msg_name = &t->peer;
			srv->msgs[n].msg_hdr.msg_namelen = t->peerlen;
			srv->msgs[n].msg_hdr.msg_iov = srv->iov[n];
			srv->msgs[n].msg_hdr.msg_iovlen = 2;
		}
		int sent = sendmmsg(t->fd, srv->msgs, n, 0);
		if (sent < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
				event_add(t->ev_write, NULL);
				return;
			}
			if (errno == EINTR)
				continue;
			/* Anything else (EPERM from a firewall, ...): the timer retries. */
			log_debug("tftp", "%s: sendmmsg: %s", t->peer_text, strerror(errno));
			return;
		}
		for (int i = 0; i < sent; i++) {
			t->bytes_sent += srv->iov[i][1].iov_len;
			metrics.proto[METRICS_TFTP].bytes += srv->iov[i][1].iov_len;
		}
		t->next_send += (uint64_t)sent;
		if ((unsigned)sent < n) {
			event_add(t->ev_write, NULL);
			return;
		}
	}
}

/* Start (or restart) the window at the block after the last one acknowledged. */
static void
transfer_start_window(struct tftp_transfer *t)
{
	t->next_send = t->acked + 1;
	t->win_end = t->acked + t->windowsize;
	if (t->win_end > t->nblocks)
		t->win_end = t->nblocks;
	transfer_arm_timer(t);
	transfer_send_window(t); /* may end (free) t: nothing after this */
}

static void
transfer_send_oack(struct tftp_transfer *t)
{
	if (sendto(t->fd, t->oack, t->oack_len, 0, (const struct sockaddr *)&t->peer, t->peerlen) < 0)
		log_debug("tftp", "%s: sending OACK: %s", t->peer_text, strerror(errno));
	transfer_arm_timer(t);
}

static void
on_transfer_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct tftp_transfer *t = arg;
	(void)fd;
	(void)what;
	/*
	 * Not yet answered: wait as long as a verified transfer would (a slow
	 * client's ACK 0 or ACK 1 still continues it), but send nothing more.
	 */
	if (!t->verified && t->tries < t->max_tries) {
		t->tries++;
		transfer_arm_timer(t);
		return;
	}
	unsigned limit = t->verified ? t->max_tries : TFTP_FIRST_RETRIES;
	if (t->tries >= limit) {
		char why[80];
		/*
		 * Every block acknowledged but the last, which went out every
		 * retry: the client has the file and stopped talking. RFC 1350 6
		 * allows a receiver to end without its final ACK reaching us, and
		 * GRUB's TFTP does so for large files (seen with a 40 MiB initrd
		 * that then booted). Not a failure of the boot.
		 */
		if (t->verified && t->state == XFER_DATA && t->acked + 1 == t->nblocks &&
		    t->next_send > t->nblocks) {
			t->acked = t->nblocks;
			transfer_end(t, "complete (the client never acknowledged the last block)", true,
			             false);
			return;
		}
		if (t->verified)
			snprintf(why, sizeof(why), "failed: timed out after %u retransmits", t->tries);
		else
			snprintf(why, sizeof(why), "failed: no answer to the first packet");
		transfer_end(t, why, false, true);
		return;
	}
	t->tries++;
	t->retransmits++;
	event_del(t->ev_write);
	if (t->state == XFER_OACK_SENT)
		transfer_send_oack(t);
	else
		transfer_start_window(t); /* RFC 7440 4: resend from the block after the last ACK */
}

static void
transfer_on_ack(struct tftp_transfer *t, uint16_t block)
{
	if (t->state == XFER_OACK_SENT) {
		if (block != 0)
			return; /* stray: only ACK 0 answers an OACK */
		t->state = XFER_DATA;
		t->verified = true;
		t->tries = 0;
		transfer_start_window(t);
		return;
	}
	/*
	 * Map the 16-bit number onto the blocks in flight, (acked, next_send).
	 * delta 0 is a duplicate of the last ACK: ignored, never answered with
	 * DATA (RFC 1123 4.2.3.1). Older or never-sent numbers are ignored too.
	 */
	uint16_t delta = (uint16_t)(block - (uint16_t)t->acked);
	uint64_t in_flight = t->next_send - 1 - t->acked;
	if (delta == 0 || delta > in_flight)
		return;
	t->acked += delta;
	t->verified = true;
	t->tries = 0;
	if (t->acked >= t->nblocks) {
		transfer_end(t, "complete", true, false);
		return;
	}
	event_del(t->ev_write);
	/* An ACK inside the window means the client lost the next block:
	 * RFC 7440 4 restarts from there. An ACK at the window's end moves on. */
	transfer_start_window(t);
}

static void
on_transfer_readable(evutil_socket_t fd, short what, void *arg)
{
	struct tftp_transfer *t = arg;
	(void)what;
	uint8_t pkt[TFTP_REQUEST_MAX + 4];
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);

	/* One datagram per wake-up: the loop is level-triggered, so a second
	 * one brings us back, and an idle socket costs no extra recvfrom. */
	ssize_t n = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&from, &fromlen);
	if (n < 0)
		return;
	if (!same_tid(&from, &t->peer)) {
		/* RFC 1350 4: another TID gets ERROR 5; the transfer goes on. */
		char who[64];
		sockaddr_format((const struct sockaddr *)&from, who, sizeof(who));
		log_debug("tftp", "%s: packet from unknown TID %s: ERROR 5", t->peer_text, who);
		send_error(fd, &from, fromlen, TFTP_EBADID, "Unknown transfer ID");
		return;
	}
	int op = tftp_opcode(pkt, (size_t)n);
	if (op == TFTP_ACK) {
		uint16_t block;
		if (tftp_ack_parse(pkt, (size_t)n, &block) == 0)
			transfer_on_ack(t, block);
		return;
	}
	if (op == TFTP_ERROR) {
		uint16_t code = 0;
		const char *msg = "";
		size_t msg_len = 0;
		char esc[80], why[160];
		(void)tftp_error_parse(pkt, (size_t)n, &code, &msg, &msg_len);
		log_escape(esc, sizeof(esc), msg, msg_len);
		if (t->state == XFER_OACK_SENT && t->probe_tsize) {
			/* OVMF (and other UEFI PXE) ask tsize to size a buffer, then stop
			 * with ERROR 8 and ask again: normal, not a failure. */
			snprintf(why, sizeof(why), "size probe: client stopped after OACK (ERROR %u \"%s\")",
			         code, esc);
			transfer_end(t, why, false, false);
		} else {
			snprintf(why, sizeof(why), "failed: aborted by client (ERROR %u \"%s\")", code, esc);
			transfer_end(t, why, false, true);
		}
		return;
	}
	log_debug("tftp", "%s: ignoring a %zd-byte packet with opcode %d", t->peer_text, n, op);
}

/* ---- requests -------------------------------------------------------- */

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
path_blksize(const struct tftp_transfer *t)
{
	int mtu = TFTP_FALLBACK_MTU;
	int fd = socket(t->peer.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		/* A connected UDP socket reports the route's MTU (IP_MTU, ip(7)).
		 * The transfer socket itself stays unconnected so that packets from
		 * other TIDs reach it and get their ERROR 5. */
		int v = 0;
		socklen_t vl = sizeof(v);
		if (connect(fd, (const struct sockaddr *)&t->peer, t->peerlen) == 0) {
			int r = t->peer.ss_family == AF_INET6
			            ? getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &v, &vl)
			            : getsockopt(fd, IPPROTO_IP, IP_MTU, &v, &vl);
			if (r == 0 && v > 68)
				mtu = v;
		}
		close(fd);
	}
	int hdr = t->peer.ss_family == AF_INET6 ? TFTP_HDR_V6 : TFTP_HDR_V4;
	int b = mtu - hdr;
	if (b > TFTP_BLKSIZE_MAX)
		b = TFTP_BLKSIZE_MAX;
	if (b < TFTP_BLKSIZE_DEFAULT)
		b = TFTP_BLKSIZE_DEFAULT;
	return (unsigned)b;
}

/* Decide what to accept and build the OACK. Only accepted options are echoed. */
static int
transfer_negotiate(struct tftp_transfer *t, const struct tftp_request *req)
{
	const struct config *cfg = t->srv->nb->boot.cfg;
	struct tftp_oack o = { 0 };
	size_t tl = 0;

	t->blksize = TFTP_BLKSIZE_DEFAULT;
	t->windowsize = 1;
	t->timeout = cfg->tftp_timeout ? cfg->tftp_timeout : 1;

	if (req->has_blksize) {
		unsigned cap = cfg->tftp_max_blksize ? cfg->tftp_max_blksize : path_blksize(t);
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

static int
transfer_socket(struct tftp_transfer *t, const struct sockaddr_storage *local, socklen_t locallen)
{
	int fd = socket(local->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_storage a = *local;
	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&a)->sin6_port = 0;
	/* Reply from the address the client wrote to, on a fresh port (the TID). */
	if (bind(fd, (struct sockaddr *)&a, locallen) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	t->fd = fd;
	return 0;
}

static unsigned
count_client(const struct tftp_server *srv, const struct sockaddr_storage *peer)
{
	unsigned n = 0;
	for (const struct tftp_transfer *t = srv->transfers; t; t = t->next)
		n += same_host(&t->peer, peer);
	return n;
}

static struct tftp_transfer *
transfer_find(const struct tftp_server *srv, const struct sockaddr_storage *peer)
{
	for (struct tftp_transfer *t = srv->transfers; t; t = t->next)
		if (same_tid(&t->peer, peer))
			return t;
	return NULL;
}

/*
 * The per-source token bucket on requests (--tftp-rate). Loopback is never
 * limited: it cannot be spoofed from the network, and local tools and
 * benchmarks run many transfers from it.
 */
static bool
request_allowed(struct tftp_server *srv, const struct sockaddr_storage *peer, const char *who)
{
	const void *key;
	size_t keylen;
	bool loopback;
	if (!addr_key((const struct sockaddr *)peer, &key, &keylen, &loopback) || loopback)
		return true;
	uint64_t now = monotonic_ms();
	if (ratelimit_take(&srv->requests_per_source, key, keylen, now))
		return true;
	metrics.proto[METRICS_TFTP].errors++;
	srv->rate_dropped++;
	if (now - srv->rate_logged_ms >= TFTP_RATE_LOG_MS) {
		log_warn("tftp", "%s: over %u new requests a second (tftp-rate): %" PRIu64
		                 " request%s dropped unanswered", who, srv->nb->boot.cfg->tftp_rate,
		         srv->rate_dropped, srv->rate_dropped == 1 ? "" : "s");
		srv->rate_logged_ms = now;
		srv->rate_dropped = 0;
	}
	return false;
}

/* Refuse a request with an ERROR from the listener, and log why. */
static void
refuse(struct tftp_server *srv, const struct sockaddr_storage *peer, socklen_t peerlen,
       const char *who, const char *name, uint16_t code, const char *msg, bool count_error)
{
	log_info("tftp", "%s \"%s\": refused with ERROR %u (%s)", who, name, code, msg);
	send_error(srv->fd, peer, peerlen, code, msg);
	if (count_error)
		metrics.proto[METRICS_TFTP].errors++;
}

static void
handle_request(struct tftp_server *srv, const uint8_t *pkt, size_t len,
               const struct sockaddr_storage *peer, socklen_t peerlen,
               const struct sockaddr_storage *local, socklen_t locallen)
{
	const struct config *cfg = srv->nb->boot.cfg;
	struct tftp_request req;
	char who[64], name[160];
	sockaddr_format((const struct sockaddr *)peer, who, sizeof(who));

	int r = tftp_request_parse(pkt, len, &req);
	if (r == -EPROTO) {
		/* Not a request at all (a stray ACK or ERROR sent to port 69 by a
		 * confused client): nothing to answer, nothing to warn about. */
		log_debug("tftp", "%s: ignoring opcode %d on the listener", who, tftp_opcode(pkt, len));
		return;
	}
	if (r < 0) {
		/* Hostile or broken: logged and dropped, no answer (an answer to a
		 * spoofed source would make us a reflector). */
		metrics.proto[METRICS_TFTP].errors++;
		log_warn("tftp", "%s: dropped a malformed %zu-byte request (%s)", who, len, strerror(-r));
		return;
	}
	metrics.proto[METRICS_TFTP].requests++;
	log_escape(name, sizeof(name), req.filename, req.filename_len);

	if (req.opcode == TFTP_WRQ) {
		refuse(srv, peer, peerlen, who, name, TFTP_EACCESS, "read-only server: writes are refused", false);
		return;
	}
	if (req.mode != TFTP_MODE_OCTET && req.mode != TFTP_MODE_NETASCII) {
		refuse(srv, peer, peerlen, who, name, TFTP_EBADOP, "unsupported transfer mode", true);
		return;
	}
	if (!request_allowed(srv, peer, who))
		return;
	/*
	 * A retransmitted RRQ (our first answer was lost or slow, or the network
	 * duplicated it) must not start a second transfer to the same TID. While
	 * the client has not answered, it gets the first packet again, once per
	 * request (our timer does not resend it: TFTP_FIRST_RETRIES).
	 */
	struct tftp_transfer *dup = transfer_find(srv, peer);
	if (dup) {
		log_debug("tftp", "%s \"%s\": repeated request%s", who, name,
		          dup->verified ? " ignored (transfer under way)" : ": first packet sent again");
		if (!dup->verified) {
			event_del(dup->ev_write);
			if (dup->state == XFER_OACK_SENT)
				transfer_send_oack(dup);
			else
				transfer_start_window(dup);
		}
		return;
	}
	if (srv->active >= cfg->tftp_max_transfers) {
		refuse(srv, peer, peerlen, who, name, TFTP_EUNDEF, "server busy: too many transfers, retry later", true);
		return;
	}
	if (count_client(srv, peer) >= cfg->tftp_max_per_client) {
		refuse(srv, peer, peerlen, who, name, TFTP_EUNDEF, "too many transfers from your address", true);
		return;
	}

	struct tftp_transfer *t = calloc(1, sizeof(*t));
	if (!t) {
		refuse(srv, peer, peerlen, who, name, TFTP_EUNDEF, "out of memory", true);
		return;
	}
	t->fd = -1;
	t->src.fd = -1;
	t->srv = srv;
	t->peer = *peer;
	t->peerlen = peerlen;
	t->mode = req.mode;
	t->max_tries = cfg->tftp_retries;
	memcpy(t->peer_text, who, sizeof(t->peer_text));
	clock_gettime(CLOCK_MONOTONIC, &t->started);

	struct file_client fc = { .addr = (const struct sockaddr *)peer, .addrlen = peerlen, .query = NULL };
	r = srv->nb->boot.files ? files_open(srv->nb->boot.files, req.filename, req.filename_len, &fc, &t->src) : -ENOENT;
	if (r < 0) {
		uint16_t code = TFTP_EUNDEF;
		const char *msg = "cannot open file";
		if (r == -ENOENT || r == -ENAMETOOLONG || r == -ENOTDIR) {
			code = TFTP_ENOTFOUND;
			msg = "file not found";
		} else if (r == -EACCES || r == -EISDIR || r == -EPERM || r == -EXDEV || r == -ELOOP) {
			code = TFTP_EACCESS;
			msg = "access violation";
		}
		refuse(srv, peer, peerlen, who, name, code, msg, true);
		file_source_release(&t->src);
		free(t);
		return;
	}
	if (!t->src.path[0])
		snprintf(t->src.path, sizeof(t->src.path), "%s", name);
	t->size = t->src.size;
	if (t->src.fd < 0)
		t->mem = t->src.data;

	if (req.mode == TFTP_MODE_NETASCII && (r = load_netascii(t)) < 0) {
		refuse(srv, peer, peerlen, who, name, r == -EFBIG ? TFTP_ENOSPACE : TFTP_EUNDEF,
		       r == -EFBIG ? "file too large for netascii, use octet" : "cannot read file", true);
		goto fail_quiet;
	}
	if ((r = transfer_negotiate(t, &req)) < 0) {
		refuse(srv, peer, peerlen, who, name, TFTP_EUNDEF, "out of memory", true);
		goto fail_quiet;
	}
	if ((r = transfer_socket(t, local, locallen)) < 0) {
		/* EMFILE/ENFILE: out of descriptors is the same as "busy". */
		refuse(srv, peer, peerlen, who, name, TFTP_EUNDEF, "server busy, retry later", true);
		log_warn("tftp", "cannot open a transfer socket: %s", strerror(-r));
		goto fail_quiet;
	}
	t->ev_read = event_new(srv->nb->base, t->fd, EV_READ | EV_PERSIST, on_transfer_readable, t);
	t->ev_write = event_new(srv->nb->base, t->fd, EV_WRITE, on_transfer_writable, t);
	t->ev_timer = evtimer_new(srv->nb->base, on_transfer_timeout, t);
	if (!t->ev_read || !t->ev_write || !t->ev_timer || event_add(t->ev_read, NULL) < 0) {
		refuse(srv, peer, peerlen, who, name, TFTP_EUNDEF, "out of memory", true);
		goto fail_quiet;
	}

	t->next = srv->transfers;
	if (t->next)
		t->next->prev = t;
	srv->transfers = t;
	srv->active++;
	metrics.proto[METRICS_TFTP].active++;

	log_debug("tftp", "%s \"%s\": %" PRIu64 " bytes, %s%s%s", who, t->src.path, t->size,
	          tftp_mode_name(t->mode), t->oack_len ? ", OACK " : "", t->opts_text);
	/* RFC 2347: with accepted options, OACK first and DATA only after ACK 0;
	 * with none accepted (all unknown), DATA 1 straight away. */
	if (t->oack_len) {
		t->state = XFER_OACK_SENT;
		transfer_send_oack(t);
	} else {
		t->state = XFER_DATA;
		transfer_start_window(t);
	}
	return;

fail_quiet:
	transfer_release(t);
}

/* The address a request was sent to (IP_PKTINFO / IPV6_PKTINFO), so the
 * transfer answers from it even when the listener is bound to a wildcard. */
static void
request_local(const struct tftp_server *srv, struct msghdr *mh,
              struct sockaddr_storage *local, socklen_t *locallen)
{
	*local = srv->bound;
	*locallen = srv->family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && srv->family == AF_INET) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in *)local)->sin_addr = pi.ipi_spec_dst;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		           srv->family == AF_INET6) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			struct sockaddr_in6 *l6 = (struct sockaddr_in6 *)local;
			l6->sin6_addr = pi.ipi6_addr;
			/* A link-local address only binds with its interface. */
			if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
				l6->sin6_scope_id = (uint32_t)pi.ipi6_ifindex;
		}
	}
}

static void
on_listener_readable(evutil_socket_t fd, short what, void *arg)
{
	struct tftp_server *srv = arg;
	(void)what;
	/* One byte more than the limit, so an oversized request is seen as such. */
	uint8_t pkt[TFTP_REQUEST_MAX + 1];
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
	} ctl;

	for (int i = 0; i < TFTP_LISTENER_BURST; i++) {
		struct sockaddr_storage peer;
		struct iovec iov = { .iov_base = pkt, .iov_len = sizeof(pkt) };
		struct msghdr mh = {
			.msg_name = &peer, .msg_namelen = sizeof(peer),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		if (peer.ss_family != srv->family || port_of(&peer) == 0)
			continue;
		if (mh.msg_flags & MSG_TRUNC)
			n = TFTP_REQUEST_MAX + 1; /* still "too long" for the parser */
		struct sockaddr_storage local;
		socklen_t locallen;
		request_local(srv, &mh, &local, &locallen);
		handle_request(srv, pkt, (size_t)n, &peer, mh.msg_namelen, &local, locallen);
	}
}

/* Many concurrent transfers need many descriptors: one socket each. */
static void
raise_fd_limit(unsigned want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want + 64)
		log_warn("tftp", "open file limit %llu is below --tftp-max-transfers %u: "
		         "excess requests will be refused", (unsigned long long)rl.rlim_cur, want);
}

int
tftp_server_start(struct netbootd *nb, struct tftp_server **out)
{
	const struct config *cfg = nb->boot.cfg;
	*out = NULL;
	struct tftp_server *srv = calloc(1, sizeof(*srv));
	if (srv)
		ratelimit_init(&srv->requests_per_source, cfg->tftp_rate, 2 * cfg->tftp_rate);
	if (!srv)
		return -ENOMEM;
	srv->nb = nb;
	srv->fd = -1;
	srv->bound = cfg->tftp.addr;
	srv->family = cfg->tftp.addr.ss_family;
	srv->scratch = malloc(TFTP_WINDOW_BYTES_MAX);
	if (!srv->scratch) {
		free(srv);
		return -ENOMEM;
	}

	int one = 1, r;
	srv->fd = socket(srv->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->fd < 0) {
		r = -errno;
		log_error("tftp", "socket: %s", strerror(errno));
		goto fail;
	}
	/* No SO_REUSEADDR: nobody else may bind our port beside us (docs/security.md). */
	if (srv->family == AF_INET)
		(void)setsockopt(srv->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	else
		(void)setsockopt(srv->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	/* A boot storm sends hundreds of RRQs at once: room for them. */
	int rcvbuf = 1 << 20;
	(void)setsockopt(srv->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(srv->fd, (const struct sockaddr *)&cfg->tftp.addr, cfg->tftp.addrlen) < 0) {
		r = -errno;
		log_error("tftp", "cannot bind UDP %s: %s%s", cfg->tftp.text, strerror(errno),
		          errno == EADDRINUSE ? " (another TFTP server, or a second netbootd, holds it)" : "");
		goto fail;
	}
	srv->ev = event_new(nb->base, srv->fd, EV_READ | EV_PERSIST, on_listener_readable, srv);
	if (!srv->ev || event_add(srv->ev, NULL) < 0) {
		r = -ENOMEM;
		log_error("tftp", "cannot register the listener");
		goto fail;
	}
	raise_fd_limit(cfg->tftp_max_transfers);
	log_info("tftp", "listening on %s (blksize cap %s%u, windowsize cap %u, %u transfers, %u per client)",
	         cfg->tftp.text, cfg->tftp_max_blksize ? "" : "path MTU, at most ",
	         cfg->tftp_max_blksize ? cfg->tftp_max_blksize : TFTP_BLKSIZE_MAX, cfg->tftp_max_windowsize,
	         cfg->tftp_max_transfers, cfg->tftp_max_per_client);
	*out = srv;
	return 0;
fail:
	tftp_server_free(srv);
	return r;
}

void
tftp_server_free(struct tftp_server *srv)
{
	if (!srv)
		return;
	/* Transfers cut short by a shutdown still get their log line. */
	while (srv->transfers)
		transfer_end(srv->transfers, "failed: server shutting down", false, true);
	if (srv->ev)
		event_free(srv->ev);
	if (srv->fd >= 0)
		close(srv->fd);
	free(srv->scratch);
	free(srv);
}
