/*
 * libFuzzer harness for the HTTP connection state machine (not just the
 * parser): the input is what a client sends on one connection, fed through
 * a socketpair in pieces, with the real server, event loop, file resolver
 * and body pumps behind it. Pipelining, errors after good requests,
 * half-closes, limits and lingering closes all run here.
 *
 * Input layout: byte 0 = piece size (1..256, 0 means all at once), the rest
 * is the byte stream. A small root holds a few files (see setup()).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "boot/files.h"
#include "daemon.h"
#include "http/http_server.h"
#include "model/config.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct config cfg;
static struct netbootd nb;

static void
put(const char *dir, const char *name, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	for (size_t i = 0; i < len; i++)
		fputc('a' + (int)(i % 26), f);
	fclose(f);
}

static char dir[] = "/tmp/nbd-fuzz-http-XXXXXX";

static void
remove_root(void)
{
	static const char *const names[] = { "sub/c.efi", "sub", "a.txt", "b.iso", "empty" };
	char path[600];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)remove(path);
	}
	(void)rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	atexit(remove_root);
	put(dir, "a.txt", 100);
	put(dir, "b.iso", 70000);
	put(dir, "empty", 0);
	char sub[600];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	mkdir(sub, 0755);
	put(sub, "c.efi", 3000);

	/* NBD_FUZZ_DEBUG=1 shows the server's log when replaying one input. */
	log_set_level(getenv("NBD_FUZZ_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	config_init(&cfg);
	cfg.http.enabled = false;
	cfg.https.enabled = false;
	cfg.http_max_header_bytes = 1024;
	cfg.http_max_headers = 16;
	nb.boot.cfg = &cfg;
	nb.base = event_base_new();
	nb.boot.rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	nb.boot.files = files_new(nb.boot.rootfd);
	/* No timeline: it keeps per-client state by design, which would look
	 * like a leak per input to libFuzzer. The server skips it when NULL. */
	nb.boot.timeline = NULL;
	if (!nb.base || nb.boot.rootfd < 0 || !nb.boot.files)
		abort();
	return 0;
}

/*
 * Drain what the server sent so its writes never block for long.
 * Returns -1 once the server has closed, else the bytes read.
 */
static ssize_t
drain(int fd)
{
	char buf[65536];
	ssize_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			total += n;
			continue;
		}
		return n == 0 ? -1 : total;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = data[0] ? data[0] : SIZE_MAX;
	data++;
	size--;

	struct http_server *srv;
	if (http_server_start(&nb, &srv) < 0 || !srv)
		abort();
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(40000),
		                        .sin_addr.s_addr = htonl(0x7f000001) };
	if (http_server_adopt(srv, sv[1], (const struct sockaddr *)&peer, sizeof(peer)) < 0)
		abort();

	size_t off = 0;
	int idle = 0;
	for (int round = 0; round < 10000; round++) {
		if (off < size) {
			size_t n = size - off < piece ? size - off : piece;
			ssize_t w = write(sv[0], data + off, n);
			if (w > 0)
				off += (size_t)w;
		} else if (off == size) {
			shutdown(sv[0], SHUT_WR); /* the client is done talking */
			off++;
		}
		event_base_loop(nb.base, EVLOOP_NONBLOCK);
		ssize_t got = drain(sv[0]);
		if (got < 0)
			break; /* the server closed */
		/*
		 * All sent and nothing came back for a few rounds: lingering or
		 * idle, the server would wait for a timer. (Stopping after a fixed
		 * 64 rounds made every input cost 64 loop turns: 1.7k execs/s.)
		 */
		idle = (off > size && got == 0) ? idle + 1 : 0;
		if (idle >= 2)
			break;
	}
	close(sv[0]);
	event_base_loop(nb.base, EVLOOP_NONBLOCK);
	http_server_free(srv);
	return 0;
}
