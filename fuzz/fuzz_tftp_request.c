/*
 * libFuzzer harness over the whole TFTP request handler (parse, the
 * admission stages, the files resolver, netascii, option negotiation) with
 * a sink instead of sockets that checks every refusal is a well-formed
 * ERROR and that the server's count of transfers matches what it linked.
 * Input: one flags byte, then up to four requests, each prefixed by a
 * 2-byte big-endian length, handled in order by one fresh server (so the
 * repeat and capacity stages see earlier transfers).
 *   flags bits 0-1: tftp-max-per-client - 1   bit 2: every request from one TID
 *   bit 3: the sink's start fails (EMFILE)    bits 4-5: path MTU 0/1500/9000/576
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/files.h"
#include "boot/timeline.h"
#include "daemon.h"
#include "fuzz_messages.h"
#include "model/config.h"
#include "tftp/tftp_server.h"
#include "tftp/transfer.h"
#include "util/log.h"
#include "wire/tftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_sink {
	bool fail_start;
	unsigned mtu;
	unsigned linked;
};

static void
check_refusal(void *ctx, const uint8_t *pkt, size_t len, const struct tftp_arrival *arr)
{
	uint16_t code;
	const char *msg;
	size_t msg_len;
	(void)ctx;
	(void)arr;
	if (tftp_error_parse(pkt, len, &code, &msg, &msg_len) != 0 || code > TFTP_EOPTNEG ||
	    msg_len == 0)
		__builtin_trap();
}

static int
start(void *ctx, struct tftp_transfer *t, const struct tftp_arrival *arr)
{
	struct fuzz_sink *s = ctx;
	(void)arr;
	if (s->fail_start)
		return -EMFILE;
	/* What negotiation promised must be in range and, with options, in an OACK. */
	if (t->blksize < TFTP_BLKSIZE_MIN || t->blksize > TFTP_BLKSIZE_MAX || t->windowsize < 1 ||
	    t->nblocks != t->size / t->blksize + 1 || (t->oack_len && t->state != XFER_OACK_SENT))
		__builtin_trap();
	transfer_link(t);
	s->linked++;
	return 0;
}

static void
resend(void *ctx, struct tftp_transfer *t)
{
	(void)ctx;
	if (t->verified)
		__builtin_trap(); /* a client that answered never gets the first packet again */
}

static unsigned
path_mtu(void *ctx, const struct sockaddr_storage *peer, socklen_t len)
{
	(void)peer;
	(void)len;
	return ((struct fuzz_sink *)ctx)->mtu;
}

static int
put(const char *dir, const char *name, const char *text, size_t len)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	size_t w = fwrite(text, 1, len, f);
	return fclose(f) == 0 && w == len ? 0 : -1;
}

static char dir[] = "/tmp/netbootd-fuzz-tftp-XXXXXX";

/* The scratch root goes when the fuzzer exits (the files are ours alone). */
static void
remove_root(void)
{
	static const char *const names[] = { "pxelinux.0", "menu.txt", "sub" };
	char path[128];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)(i == 2 ? rmdir(path) : unlink(path));
	}
	(void)rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static struct netbootd nb;
	static bool init;
	if (!init) {
		static char big[3000];
		char sub[64];
		memset(big, 'x', sizeof(big));
		log_set_level(LOG_LEVEL_ERROR);
		if (!mkdtemp(dir))
			abort();
		atexit(remove_root);
		if (put(dir, "pxelinux.0", big, sizeof(big)) < 0 ||
		    put(dir, "menu.txt", "a\nb\r\n", 5) < 0)
			abort();
		snprintf(sub, sizeof(sub), "%s/sub", dir);
		if (mkdir(sub, 0755) < 0)
			abort();
		config_init(&cfg);
		cfg.tftp_rate = 2;
		nb.boot.cfg = &cfg;
		nb.boot.rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		nb.boot.files = files_new(nb.boot.rootfd);
		nb.boot.timeline = timeline_new();
		if (nb.boot.rootfd < 0 || !nb.boot.files || !nb.boot.timeline)
			abort();
		init = true;
	}
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	data++;
	size--;
	static const unsigned mtus[] = { 0, 1500, 9000, 576 };
	struct fuzz_sink s = { .fail_start = (flags & 8) != 0, .mtu = mtus[(flags >> 4) & 3] };
	cfg.tftp_max_per_client = 1u + (flags & 3);
	cfg.tftp_max_transfers = 3;
	struct tftp_server *srv = tftp_server_new(&nb);
	if (!srv)
		return 0;
	struct tftp_sink sink = { .refuse = check_refusal, .start = start, .resend_first = resend,
		                      .path_mtu = path_mtu, .ctx = &s };
	struct tftp_arrival arr = { .peerlen = sizeof(struct sockaddr_in),
		                        .locallen = sizeof(struct sockaddr_in) };
	struct sockaddr_in *peer = (struct sockaddr_in *)&arr.peer, *local = (struct sockaddr_in *)&arr.local;
	peer->sin_family = local->sin_family = AF_INET;
	inet_pton(AF_INET, "198.18.0.50", &peer->sin_addr);
	inet_pton(AF_INET, "198.18.0.1", &local->sin_addr);
	local->sin_port = htons(69);

	size_t len;
	uint8_t *pkt;
	for (int i = 0; i < 4 && (pkt = fuzz_next_message(&data, &size, &len)) != NULL; i++) {
		peer->sin_port = htons((uint16_t)(2000 + ((flags & 4) ? 0 : i)));
		(void)tftp_handle_request(srv, pkt, len, &arr, &sink);
		free(pkt);
	}
	unsigned active = 0;
	for (const struct tftp_transfer *t = srv->transfers; t; t = t->next)
		active++;
	if (active != s.linked || srv->active != s.linked || s.linked > cfg.tftp_max_transfers)
		__builtin_trap();
	tftp_server_free(srv);
	return 0;
}
