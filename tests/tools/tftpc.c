/*
 * tftpc: a small TFTP client for tests and benchmarks (RFC 1350 + 2347 OACK,
 * 2348 blksize, 2349 tsize/timeout, 7440 windowsize), able to run many
 * transfers at once in one epoll loop, and to misbehave on purpose.
 *
 *   tftpc [options] HOST PORT FILE
 *     -o OUT       write the file here (single transfer)
 *     -c LOCAL     check every byte against this local file
 *     -n N         run N transfers of FILE at once (default 1)
 *     -b N -w N    ask blksize / windowsize
 *     -t           ask tsize;  -T N  ask timeout N;  -X NAME=VAL  an unknown option
 *     -m MODE      octet (default) or netascii
 *     -R MS        client retransmit timeout (default 1000); -r N tries (default 10)
 *     -D MS        dally after the last ACK, re-ACKing a repeated last block
 *     -d           send every ACK twice (Sorcerer's Apprentice check)
 *     -x           mid-transfer, send a packet from another port to the
 *                  server's TID and report the ERROR code it gets back
 *     -P           size probe: after the OACK send ERROR 8 and stop (OVMF)
 *     -S ADDR      bind to this local address
 * Prints one line of key=value figures; exit 0 when every transfer succeeded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct xfer {
	int fd;
	struct sockaddr_in srv;     /* listener, then the server's TID */
	bool have_tid;
	bool done, failed;
	bool dallying;
	int64_t dally_until;
	unsigned blksize, window;
	uint64_t expected;          /* next block, 64-bit (wraps on the wire) */
	unsigned in_window;
	uint64_t bytes;
	uint64_t last_acked;
	bool gap_acked;
	int64_t deadline;
	unsigned tries;
	uint16_t err_code;
	char err_msg[64];
	bool oack;
	uint64_t tsize;
	bool got_tsize;
	int wrongfd;
	int wrongtid_code;
};

static const char *opt_out, *opt_check, *opt_mode = "octet", *opt_unknown, *opt_bind;
static unsigned opt_n = 1, opt_blksize, opt_window, opt_timeout, opt_rto = 1000, opt_tries = 10, opt_dally;
static bool opt_tsize, opt_dup, opt_wrongtid, opt_probe;
static const uint8_t *check_map;
static size_t check_len;
static FILE *out_fp;
static uint64_t data_pkts, dup_data, ack_pkts, retrans, mismatches;
static int epfd;

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t
put_opt(uint8_t *p, size_t pos, const char *name, const char *val)
{
	size_t a = strlen(name) + 1, b = strlen(val) + 1;
	memcpy(p + pos, name, a);
	memcpy(p + pos + a, val, b);
	return pos + a + b;
}

static void
send_rrq(struct xfer *x, const char *file, const struct sockaddr_in *to)
{
	uint8_t p[600];
	char num[24];
	size_t pos = 2;
	p[0] = 0;
	p[1] = 1;
	size_t fl = strlen(file) + 1;
	memcpy(p + pos, file, fl);
	pos += fl;
	memcpy(p + pos, opt_mode, strlen(opt_mode) + 1);
	pos += strlen(opt_mode) + 1;
	if (opt_blksize) {
		snprintf(num, sizeof(num), "%u", opt_blksize);
		pos = put_opt(p, pos, "blksize", num);
	}
	if (opt_tsize)
		pos = put_opt(p, pos, "tsize", "0");
	if (opt_timeout) {
		snprintf(num, sizeof(num), "%u", opt_timeout);
		pos = put_opt(p, pos, "timeout", num);
	}
	if (opt_window) {
		snprintf(num, sizeof(num), "%u", opt_window);
		pos = put_opt(p, pos, "windowsize", num);
	}
	if (opt_unknown) {
		char name[64];
		const char *eq = strchr(opt_unknown, '=');
		size_t nl = eq ? (size_t)(eq - opt_unknown) : strlen(opt_unknown);
		if (nl >= sizeof(name))
			nl = sizeof(name) - 1;
		memcpy(name, opt_unknown, nl);
		name[nl] = 0;
		pos = put_opt(p, pos, name, eq ? eq + 1 : "1");
	}
	sendto(x->fd, p, pos, 0, (const struct sockaddr *)to, sizeof(*to));
}

static void
send_ack(struct xfer *x, uint64_t blk)
{
	uint8_t p[4] = { 0, 4, (uint8_t)(blk >> 8), (uint8_t)blk };
	int times = opt_dup ? 2 : 1;
	for (int i = 0; i < times; i++)
		sendto(x->fd, p, 4, 0, (const struct sockaddr *)&x->srv, sizeof(x->srv));
	ack_pkts += (uint64_t)times;
	x->last_acked = blk;
}

static void
send_err(struct xfer *x, uint16_t code, const char *msg)
{
	uint8_t p[64];
	size_t ml = strlen(msg) + 1;
	p[0] = 0;
	p[1] = 5;
	p[2] = (uint8_t)(code >> 8);
	p[3] = (uint8_t)code;
	memcpy(p + 4, msg, ml);
	sendto(x->fd, p, 4 + ml, 0, (const struct sockaddr *)&x->srv, sizeof(x->srv));
}

static void
finish(struct xfer *x, bool ok)
{
	if (ok && opt_dally && !x->dallying) {
		x->dallying = true;
		x->dally_until = now_ms() + opt_dally;
		x->done = true;
		return;
	}
	x->done = true;
	x->failed = !ok;
	x->dallying = false;
	epoll_ctl(epfd, EPOLL_CTL_DEL, x->fd, NULL);
}

/* Parse an OACK into the transfer; unknown names are a protocol error. */
static bool
parse_oack(struct xfer *x, const uint8_t *p, size_t n)
{
	size_t pos = 2;
	while (pos < n) {
		const uint8_t *nul = memchr(p + pos, 0, n - pos);
		if (!nul)
			return false;
		const char *name = (const char *)p + pos;
		pos = (size_t)(nul - p) + 1;
		const uint8_t *nul2 = pos < n ? memchr(p + pos, 0, n - pos) : NULL;
		if (!nul2)
			return false;
		unsigned long long v = strtoull((const char *)p + pos, NULL, 10);
		pos = (size_t)(nul2 - p) + 1;
		if (!strcasecmp(name, "blksize") && opt_blksize && v >= 8 && v <= opt_blksize)
			x->blksize = (unsigned)v;
		else if (!strcasecmp(name, "windowsize") && opt_window && v >= 1 && v <= opt_window)
			x->window = (unsigned)v;
		else if (!strcasecmp(name, "tsize") && opt_tsize) {
			x->tsize = v;
			x->got_tsize = true;
		} else if (!strcasecmp(name, "timeout") && opt_timeout && v == opt_timeout)
			;
		else
			return false; /* an option we did not ask for, or a bad value */
	}
	return true;
}

static void
on_data(struct xfer *x, uint16_t wire, const uint8_t *payload, size_t len)
{
	data_pkts++;
	if (wire != (uint16_t)x->expected) {
		dup_data++;
		/* RFC 7440: out of order; ACK the last in-order block once per gap. */
		if (x->expected > 1 && !x->gap_acked && x->window > 1) {
			send_ack(x, x->expected - 1);
			x->gap_acked = true;
			x->in_window = 0;
		}
		/* A repeated final block while dallying: our last ACK was lost. */
		if (x->dallying && wire == (uint16_t)(x->expected - 1))
			send_ack(x, x->expected - 1);
		return;
	}
	if (x->dallying)
		return;
	if (len > x->blksize) {
		snprintf(x->err_msg, sizeof(x->err_msg), "oversized block");
		finish(x, false);
		return;
	}
	uint64_t off = x->bytes;
	if (check_map) {
		if (off + len > check_len || memcmp(check_map + off, payload, len) != 0)
			mismatches++;
	}
	if (out_fp && len)
		fwrite(payload, 1, len, out_fp);
	x->bytes += len;
	x->expected++;
	x->gap_acked = false;
	x->tries = 0;
	x->deadline = now_ms() + opt_rto;
	bool last = len < x->blksize;
	if (++x->in_window >= x->window || last) {
		x->in_window = 0;
		send_ack(x, x->expected - 1);
	}
	if (opt_wrongtid && x->expected == 4 && x->wrongfd < 0) {
		/* A stranger (another port) pokes the server's TID. */
		x->wrongfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		uint8_t p[4] = { 0, 4, 0, 3 };
		sendto(x->wrongfd, p, 4, 0, (const struct sockaddr *)&x->srv, sizeof(x->srv));
		struct pollfd pf = { .fd = x->wrongfd, .events = POLLIN };
		if (poll(&pf, 1, 2000) == 1) {
			uint8_t r[128];
			ssize_t n = recv(x->wrongfd, r, sizeof(r), 0);
			if (n >= 4 && r[1] == 5)
				x->wrongtid_code = (r[2] << 8) | r[3];
		}
	}
	if (last)
		finish(x, true);
}

/* Datagrams are read 32 at a time (recvmmsg): a window arrives in a burst. */
#define RX_BATCH 32
static uint8_t rxbuf[RX_BATCH][65536 + 4];
static struct sockaddr_in rxfrom[RX_BATCH];

static bool handle_packet(struct xfer *x, uint8_t *p, ssize_t n, struct sockaddr_in from, socklen_t fl);

/* Drain one socket; returns false when it is empty or the transfer ended. */
static bool
on_packet(struct xfer *x)
{
	struct mmsghdr m[RX_BATCH];
	struct iovec iov[RX_BATCH];
	if (x->done && !x->dallying)
		return false;
	for (int i = 0; i < RX_BATCH; i++) {
		iov[i].iov_base = rxbuf[i];
		iov[i].iov_len = sizeof(rxbuf[i]);
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_name = &rxfrom[i];
		m[i].msg_hdr.msg_namelen = sizeof(rxfrom[i]);
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	int got = recvmmsg(x->fd, m, RX_BATCH, MSG_DONTWAIT, NULL);
	if (got <= 0)
		return false;
	for (int i = 0; i < got; i++) {
		if (x->done && !x->dallying)
			return false;
		if (!handle_packet(x, rxbuf[i], (ssize_t)m[i].msg_len, rxfrom[i], m[i].msg_hdr.msg_namelen))
			return false;
	}
	return got == RX_BATCH;
}

static bool
handle_packet(struct xfer *x, uint8_t *p, ssize_t n, struct sockaddr_in from, socklen_t fl)
{
	if (n < 4)
		return true;
	if (!x->have_tid) {
		x->srv.sin_port = from.sin_port; /* the server's TID */
		x->have_tid = true;
	} else if (from.sin_port != x->srv.sin_port || from.sin_addr.s_addr != x->srv.sin_addr.s_addr) {
		/* RFC 1350: a stranger gets ERROR 5. */
		uint8_t e[] = { 0, 5, 0, 5, 'u', 'n', 'k', 'n', 'o', 'w', 'n', ' ', 'T', 'I', 'D', 0 };
		sendto(x->fd, e, sizeof(e), 0, (const struct sockaddr *)&from, fl);
		return true;
	}
	uint16_t op = (uint16_t)((p[0] << 8) | p[1]);
	if (op == 6) {
		if (x->expected != 1 || x->oack)
			return true; /* duplicate OACK */
		x->oack = true;
		if (!parse_oack(x, p, (size_t)n)) {
			send_err(x, 8, "bad OACK");
			snprintf(x->err_msg, sizeof(x->err_msg), "bad OACK");
			finish(x, false);
			return false;
		}
		if (opt_probe) {
			send_err(x, 8, "tsize probe");
			x->done = true;
			epoll_ctl(epfd, EPOLL_CTL_DEL, x->fd, NULL);
			return false;
		}
		send_ack(x, 0);
		x->deadline = now_ms() + opt_rto;
	} else if (op == 3) {
		on_data(x, (uint16_t)((p[2] << 8) | p[3]), p + 4, (size_t)n - 4);
	} else if (op == 5) {
		x->err_code = (uint16_t)((p[2] << 8) | p[3]);
		size_t ml = strnlen((const char *)p + 4, (size_t)n - 4);
		if (ml >= sizeof(x->err_msg))
			ml = sizeof(x->err_msg) - 1;
		memcpy(x->err_msg, p + 4, ml);
		x->err_msg[ml] = 0;
		x->dallying = false;
		finish(x, false);
		return false;
	}
	return true;
}

int
main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "o:c:n:b:w:tT:X:m:R:r:D:dxPS:")) != -1) {
		switch (c) {
		case 'o': opt_out = optarg; break;
		case 'c': opt_check = optarg; break;
		case 'n': opt_n = (unsigned)atoi(optarg); break;
		case 'b': opt_blksize = (unsigned)atoi(optarg); break;
		case 'w': opt_window = (unsigned)atoi(optarg); break;
		case 't': opt_tsize = true; break;
		case 'T': opt_timeout = (unsigned)atoi(optarg); break;
		case 'X': opt_unknown = optarg; break;
		case 'm': opt_mode = optarg; break;
		case 'R': opt_rto = (unsigned)atoi(optarg); break;
		case 'r': opt_tries = (unsigned)atoi(optarg); break;
		case 'D': opt_dally = (unsigned)atoi(optarg); break;
		case 'd': opt_dup = true; break;
		case 'x': opt_wrongtid = true; break;
		case 'P': opt_probe = true; opt_tsize = true; break;
		case 'S': opt_bind = optarg; break;
		default:
			fprintf(stderr, "usage: tftpc [-o out] [-c local] [-n N] [-b blksize] [-w window] [-t] "
			                "[-T timeout] [-X name=val] [-m mode] [-R ms] [-r tries] [-D ms] [-d] [-x] [-P] "
			                "[-S addr] HOST PORT FILE\n");
			return 2;
		}
	}
	if (argc - optind != 3 || opt_n == 0)
		return fprintf(stderr, "tftpc: need HOST PORT FILE\n"), 2;
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[optind + 1])) };
	if (inet_pton(AF_INET, argv[optind], &srv.sin_addr) != 1)
		return fprintf(stderr, "tftpc: bad host\n"), 2;
	const char *file = argv[optind + 2];
	if (opt_check) {
		int fd = open(opt_check, O_RDONLY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			return perror(opt_check), 2;
		check_len = (size_t)st.st_size;
		check_map = check_len ? mmap(NULL, check_len, PROT_READ, MAP_PRIVATE, fd, 0) : (const uint8_t *)"";
		if (check_map == MAP_FAILED)
			return perror("mmap"), 2;
		close(fd);
	}
	if (opt_out && !(out_fp = fopen(opt_out, "wb")))
		return perror(opt_out), 2;

	/* One socket per transfer: room for -n 1000 and more. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	epfd = epoll_create1(0);
	struct xfer *xs = calloc(opt_n, sizeof(*xs));
	int64_t t0 = now_ms();
	for (unsigned i = 0; i < opt_n; i++) {
		struct xfer *x = &xs[i];
		x->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (x->fd < 0)
			return perror("socket"), 2;
		int big = 4 << 20;
		setsockopt(x->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		if (opt_bind) {
			struct sockaddr_in b = { .sin_family = AF_INET };
			inet_pton(AF_INET, opt_bind, &b.sin_addr);
			if (bind(x->fd, (struct sockaddr *)&b, sizeof(b)) < 0)
				return perror("bind"), 2;
		}
		x->srv = srv;
		x->blksize = 512;
		x->window = 1;
		x->expected = 1;
		x->wrongfd = -1;
		x->deadline = now_ms() + opt_rto;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = x };
		epoll_ctl(epfd, EPOLL_CTL_ADD, x->fd, &ev);
		send_rrq(x, file, &srv);
	}
	unsigned left = opt_n;
	struct epoll_event evs[256];
	while (left) {
		int n = epoll_wait(epfd, evs, 256, 50);
		for (int i = 0; i < n; i++)
			while (on_packet(evs[i].data.ptr))
				;
		/* Timeouts: a scan over every transfer, at most every 20 ms. */
		static int64_t last_scan;
		int64_t now = now_ms();
		if (n > 0 && now - last_scan < 20)
			continue;
		last_scan = now;
		left = 0;
		for (unsigned i = 0; i < opt_n; i++) {
			struct xfer *x = &xs[i];
			if (x->dallying) {
				if (now >= x->dally_until)
					finish(x, true);
				else
					left++;
				continue;
			}
			if (x->done)
				continue;
			left++;
			if (now < x->deadline)
				continue;
			if (++x->tries > opt_tries) {
				snprintf(x->err_msg, sizeof(x->err_msg), "timed out");
				finish(x, false);
				continue;
			}
			retrans++;
			x->deadline = now + opt_rto;
			if (!x->have_tid)
				send_rrq(x, file, &srv);
			else
				send_ack(x, x->expected - 1); /* 0 = ACK of the OACK */
		}
	}
	int64_t t1 = now_ms();
	unsigned ok = 0, failed = 0;
	uint64_t bytes = 0;
	for (unsigned i = 0; i < opt_n; i++) {
		struct xfer *x = &xs[i];
		bool good = !x->failed && (opt_probe || !check_map || x->bytes == check_len);
		ok += good;
		failed += !good;
		bytes += x->bytes;
	}
	if (mismatches)
		failed += opt_n - failed, ok = 0;
	printf("ok=%u failed=%u bytes=%llu ms=%lld data_pkts=%llu dup_data=%llu acks=%llu retrans=%llu "
	       "mismatches=%llu blksize=%u windowsize=%u",
	       ok, failed, (unsigned long long)bytes, (long long)(t1 - t0), (unsigned long long)data_pkts,
	       (unsigned long long)dup_data, (unsigned long long)ack_pkts, (unsigned long long)retrans,
	       (unsigned long long)mismatches, xs[0].blksize, xs[0].window);
	if (xs[0].got_tsize)
		printf(" tsize=%llu", (unsigned long long)xs[0].tsize);
	if (xs[0].oack)
		printf(" oack=1");
	if (opt_wrongtid)
		printf(" wrongtid_error=%d", xs[0].wrongtid_code);
	for (unsigned i = 0; i < opt_n; i++)
		if (xs[i].err_code || xs[i].err_msg[0]) {
			printf(" error=%u error_msg=\"%s\"", xs[i].err_code, xs[i].err_msg);
			break;
		}
	printf("\n");
	if (out_fp)
		fclose(out_fp);
	return (failed || (opt_probe && !xs[0].got_tsize)) ? 1 : 0;
}
