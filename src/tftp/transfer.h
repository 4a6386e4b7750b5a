/*
 * Inside the TFTP server: the state shared by its three parts.
 *   admission.c   a request's way in: parse, rules, file, options (no sockets)
 *   transfer.c    the send engine: window, GSO/sendmmsg, timers, ACKs
 *   tftp_server.c the listener socket and the sink that gives an admitted
 *                 transfer its own socket and events
 * Unit tests include this header to look at an admitted transfer.
 */
#ifndef NETBOOTD_TFTP_TRANSFER_H
#define NETBOOTD_TFTP_TRANSFER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <event2/event.h>

#include "boot/files.h"
#include "tftp/tftp_server.h"
#include "util/ratelimit.h"
#include "wire/tftp.h"

/* A window's bytes are read with one pread into one buffer shared by every
 * transfer (sendmmsg copies them into the socket, so the buffer is free
 * again as soon as the window is out). Its size bounds the window: the
 * windowsize is reduced in the OACK instead (RFC 7440 allows it). */
#define TFTP_WINDOW_BYTES_MAX (512u * 1024u)
/* Batch of DATA packets per sendmmsg call. */
#define TFTP_BATCH 64
/* UDP GSO (UDP_SEGMENT, Linux 4.18+): one sendmsg carries up to this many
 * DATA packets of a window, as long as they fit one 64 KiB super-datagram. */
#define TFTP_GSO_SEGS 64
#define TFTP_GSO_BYTES 65507

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
	size_t oack_len;       /* 0: no option accepted, DATA 1 comes first */

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
	int fd;                /* the listener; -1 in a server without sockets */
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

/* ---- transfer.c: the send engine ---------------------------------------- */

/* Send an ERROR from fd; best effort (an ERROR is never retransmitted). */
void tftp_send_error(int fd, const struct sockaddr_storage *to, socklen_t tolen, uint16_t code,
                     const char *msg);

/* Put the first packet on the wire (again): the OACK, or DATA 1 when no
 * option was accepted (RFC 2347). What the socket sink does for a new
 * transfer, and for a repeated request while the client has not answered. */
void transfer_begin(struct tftp_transfer *t);

/* Link an admitted transfer into srv's list and counters. */
void transfer_link(struct tftp_transfer *t);

/* The one log line, the timeline and counters, then free (t is gone after). */
void transfer_end(struct tftp_transfer *t, const char *outcome, bool complete, bool failed);

/* Free what an unlinked transfer holds (a refused or failed admission). */
void transfer_release(struct tftp_transfer *t);

/* libevent callbacks of a transfer's socket and timer. */
void transfer_on_readable(evutil_socket_t fd, short what, void *arg);
void transfer_on_writable(evutil_socket_t fd, short what, void *arg);
void transfer_on_timeout(evutil_socket_t fd, short what, void *arg);

#endif
