/*
 * The TFTP send engine: a transfer's window of DATA packets (UDP GSO, else
 * sendmmsg), its retransmit timer and the ACKs and ERRORs on its socket.
 *
 * Shape (after OpenBSD tftpd and iPXE's tftp.c): each transfer has its own
 * ephemeral socket (its TID), a read event, a write event (only armed when
 * the socket buffer is full) and one retransmit timer. Blocks are numbered
 * with a 64-bit counter internally; on the wire the number wraps
 * 65535 -> 0, so files of any size transfer.
 *
 * Retransmission happens on the timer only, never because an ACK was
 * duplicated (RFC 1123 4.2.3.1: the Sorcerer's Apprentice). With a window,
 * an ACK of block n restarts the window at n+1 (RFC 7440 4).
 */
#include "tftp/transfer.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/timeline.h"
#include "daemon.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/netaddr.h"

/*
 * Reflection hardening (REFERENCES.md, docs/security.md): until the client
 * has answered once, its address may be spoofed, so the first packet (OACK
 * or DATA 1) goes out once per request received: never resent by our timer
 * (which only waits), only again when the client repeats its request (which
 * real clients do when their first answer is lost). One request, one
 * answer: at most the size ratio of DATA 1 to the request, never a multiple.
 */
#define TFTP_FIRST_RETRIES 0
/* The retransmit interval doubles per try up to this (seconds). */
#define TFTP_BACKOFF_CAP 8
/* Read-ahead when the same transfer reads twice in a row (a lone lock-step
 * transfer): one pread then serves many blocks. */
#define TFTP_READAHEAD (64u * 1024u)

static void transfer_send_window(struct tftp_transfer *t);

/* Send an ERROR from fd to one address; best effort (an ERROR is never retransmitted). */
void
tftp_send_error(int fd, const struct sockaddr_storage *to, socklen_t tolen, uint16_t code, const char *msg)
{
	uint8_t pkt[128];
	int n = tftp_error_build(pkt, sizeof(pkt), code, msg);
	if (n > 0 && sendto(fd, pkt, (size_t)n, 0, (const struct sockaddr *)to, tolen) < 0)
		log_debug("tftp", "sending ERROR %u: %s", code, strerror(errno));
}

/* ---- transfers ------------------------------------------------------- */

/* The one place a transfer's resources go, linked in or not. */
void
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
void
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

void
transfer_on_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	transfer_send_window(arg);
}

/* Fill the GSO slots' data parts (srv->gso_iov[0..nseg)) with want bytes
 * of the file from off0. A short read only happens at the end of the file:
 * the rest is asked again. 0, or -errno (-ENODATA: the file shrank). */
static int
read_blocks(struct tftp_transfer *t, size_t nseg, uint64_t off0, size_t want)
{
	struct tftp_server *srv = t->srv;
	size_t got = 0;
	while (got < want) {
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
	return 0;
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
	int r = read_blocks(t, nseg, off0, want);
	if (r < 0)
		return r;

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
				tftp_send_error(t->fd, &t->peer, t->peerlen, TFTP_EUNDEF, "read error");
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
				tftp_send_error(t->fd, &t->peer, t->peerlen, TFTP_EUNDEF, "read error");
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

void
transfer_begin(struct tftp_transfer *t)
{
	event_del(t->ev_write);
	if (t->state == XFER_OACK_SENT)
		transfer_send_oack(t);
	else
		transfer_start_window(t); /* may end (free) t */
}

void
transfer_link(struct tftp_transfer *t)
{
	struct tftp_server *srv = t->srv;
	t->next = srv->transfers;
	if (t->next)
		t->next->prev = t;
	srv->transfers = t;
	srv->active++;
	metrics.proto[METRICS_TFTP].active++;
}

void
transfer_on_timeout(evutil_socket_t fd, short what, void *arg)
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

void
transfer_on_readable(evutil_socket_t fd, short what, void *arg)
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
	if (!sockaddr_same_endpoint(&from, &t->peer)) {
		/* RFC 1350 4: another TID gets ERROR 5; the transfer goes on. */
		char who[64];
		sockaddr_format((const struct sockaddr *)&from, who, sizeof(who));
		log_debug("tftp", "%s: packet from unknown TID %s: ERROR 5", t->peer_text, who);
		tftp_send_error(fd, &from, fromlen, TFTP_EBADID, "Unknown transfer ID");
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

