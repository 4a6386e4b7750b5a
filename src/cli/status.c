/*
 * `netbootd status [--server URL] [--json]`: the machines a running
 * netbootd has seen, as a table in the terminal. It asks the server's
 * /status.txt (or /status.json), the same data as the /status page, so the
 * table is rendered in one place (boot/timeline.c) and this client stays a
 * few lines of HTTP/1.0: no library, no TLS (the status pages are for the
 * operator's network; status-allow says who may read them).
 */
#include "cli/status.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire/http.h"

#define STATUS_TIMEOUT_MS 5000
#define STATUS_MAX_BYTES (8u << 20)

static void
usage(FILE *out)
{
	fprintf(out, "Usage: netbootd status [--server URL] [--json]\n"
	             "Show the machines a running netbootd has seen and where each is in its boot.\n\n"
	             "  --server URL   the netbootd to ask (default http://127.0.0.1/)\n"
	             "  --json         print /status.json as it is, for scripts\n");
}

/* Connect to url's host within the timeout: the first address that answers. */
static int
connect_to(const struct http_url *u, char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	int r = getaddrinfo(u->host, u->port, &hints, &res);
	if (r != 0) {
		snprintf(why, whylen, "%s: %s", u->host, gai_strerror(r));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		int e = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
		if (e == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			socklen_t el = sizeof(e);
			e = poll(&p, 1, STATUS_TIMEOUT_MS) == 1 &&
			            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0
			        ? e
			        : ETIMEDOUT;
		}
		if (e != 0) {
			snprintf(why, whylen, "%s port %s: %s", u->host, u->port, strerror(e));
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

/* GET path over HTTP/1.0 and read the whole answer into *out (malloc'd). */
static int
fetch(int fd, const struct http_url *u, const char *path, uint8_t **out, size_t *len,
      char *why, size_t whylen)
{
	char req[1024];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: netbootd-status\r\n"
	                                   "Connection: close\r\n\r\n", path, u->host);
	if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n) {
		snprintf(why, whylen, "sending the request: %s", strerror(errno));
		return -1;
	}
	size_t cap = 64 * 1024, used = 0;
	uint8_t *buf = malloc(cap);
	while (buf) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, STATUS_TIMEOUT_MS) != 1) {
			snprintf(why, whylen, "no answer within %d s", STATUS_TIMEOUT_MS / 1000);
			break;
		}
		if (used == cap) {
			uint8_t *bigger = cap < STATUS_MAX_BYTES ? realloc(buf, cap * 2) : NULL;
			if (!bigger) {
				snprintf(why, whylen, "answer larger than %u MiB", STATUS_MAX_BYTES >> 20);
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t got = read(fd, buf + used, cap - used);
		if (got == 0) {
			*out = buf;
			*len = used;
			return 0;
		}
		if (got < 0 && errno != EINTR && errno != EAGAIN) {
			snprintf(why, whylen, "reading the answer: %s", strerror(errno));
			break;
		}
		used += got > 0 ? (size_t)got : 0;
	}
	free(buf);
	return -1;
}

int
status_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server = "http://127.0.0.1/";
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 's') {
			server = optarg;
		} else if (c == 'j') {
			json = true;
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	struct http_url u;
	int r = http_url_parse(server, &u);
	if (r < 0) {
		fprintf(stderr, "netbootd status: --server %s: %s\n", server,
		        r == -EPROTONOSUPPORT ? "only http:// URLs (the status pages are plain HTTP)"
		                              : "not a URL (http://HOST[:PORT])");
		return 2;
	}
	char why[512] = "";
	char path[600];
	snprintf(path, sizeof(path), "%s%sstatus.%s", u.path,
	         u.path[strlen(u.path) - 1] == '/' ? "" : "/", json ? "json" : "txt");
	int fd = connect_to(&u, why, sizeof(why));
	uint8_t *resp = NULL;
	size_t len = 0, body = 0;
	int code = 0;
	if (fd < 0 || fetch(fd, &u, path, &resp, &len, why, sizeof(why)) < 0) {
		fprintf(stderr, "netbootd status: %s: %s\n", server, why);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	close(fd);
	if (http_status_line_parse(resp, len, &code, &body) < 0 || code != 200) {
		if (code == 403)
			fprintf(stderr, "netbootd status: %s refused (403): add this address to its "
			                "status-allow\n", server);
		else if (code)
			fprintf(stderr, "netbootd status: %s answered %d for %s: is it netbootd?\n", server,
			        code, path);
		else
			fprintf(stderr, "netbootd status: %s: not an HTTP answer\n", server);
		free(resp);
		return 1;
	}
	fwrite(resp + body, 1, len - body, stdout);
	free(resp);
	return 0;
}
