#include "api/decision_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "boot/decision.h"
#include "boot/timeline.h"
#include "model/bootconf.h"
#include "model/config.h"
#include "model/machine.h"
#include "util/log.h"
#include "util/netaddr.h"

#define DECISION_MAX_BODY (64 * 1024)

struct decision_client {
	struct netbootd *nb;
	struct evhttp_connection *conn;
	char host[64];
	unsigned port;
	char prefix[256];
};

struct asking {
	struct decision_client *dc;
	uint8_t mac[6];
};

int
decision_url_parse(const char *url, char *host, size_t hostlen, unsigned *port, char *prefix,
                   size_t prefixlen)
{
	if (strncmp(url, "http://", 7) != 0)
		return -EINVAL;
	const char *h = url + 7, *end;
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end)
			return -EINVAL;
		h++;
	} else {
		end = h + strcspn(h, ":/");
	}
	size_t n = (size_t)(end - h);
	if (n == 0 || n >= hostlen)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	unsigned char addr[16];
	if (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)
		return -EINVAL; /* an address: a name would need a resolver in the loop */
	const char *p = *end == ']' ? end + 1 : end;
	*port = 80;
	if (*p == ':') {
		char *e;
		unsigned long v = strtoul(p + 1, &e, 10);
		if (e == p + 1 || v == 0 || v > 65535)
			return -EINVAL;
		*port = (unsigned)v;
		p = e;
	}
	if (*p && *p != '/')
		return -EINVAL;
	size_t pl = strlen(p);
	while (pl && p[pl - 1] == '/')
		pl--;
	if (pl >= prefixlen || memchr(p, '?', pl) || memchr(p, ' ', pl))
		return -EINVAL;
	memcpy(prefix, p, pl);
	prefix[pl] = '\0';
	return 0;
}

static uint64_t
monotonic_clock_ms(void *ctx)
{
	(void)ctx;
	return monotonic_ms();
}

static void
on_answer(struct evhttp_request *req, void *arg)
{
	struct asking *a = arg;
	struct decisions *d = a->dc->nb->boot.decisions;
	int status = req ? evhttp_request_get_response_code(req) : 0;
	if (!req || status == 0) {
		(void)decisions_answer(d, a->mac, -ECONNREFUSED, NULL, 0);
	} else {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t len = evbuffer_get_length(in);
		const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
		(void)decisions_answer(d, a->mac, status, body, len);
	}
	free(a);
}

static void
ask(void *ctx, const uint8_t mac[6], int arch)
{
	struct decision_client *dc = ctx;
	struct asking *a = calloc(1, sizeof(*a));
	struct evhttp_request *req = a ? evhttp_request_new(on_answer, a) : NULL;
	char path[512], macs[18];
	bool bios;
	if (!req) {
		free(a);
		(void)decisions_answer(dc->nb->boot.decisions, mac, -ENOMEM, NULL, 0);
		return;
	}
	a->dc = dc;
	memcpy(a->mac, mac, 6);
	mac_format(mac, macs);
	/* Option 93 as DHCP saw it; else what the timeline knows (BIOS 0, UEFI x64 7). */
	if (arch < 0 && timeline_is_bios(dc->nb->boot.timeline, mac, &bios))
		arch = bios ? ARCH_X86_BIOS : ARCH_X64_UEFI;
	if (arch >= 0)
		snprintf(path, sizeof(path), "%s/v1/boot/%s?arch=%d", dc->prefix, macs, arch);
	else
		snprintf(path, sizeof(path), "%s/v1/boot/%s", dc->prefix, macs);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", dc->host);
	evhttp_add_header(h, "Accept", "application/json");
	evhttp_add_header(h, "User-Agent", "netbootd/" NETBOOTD_VERSION);
	if (evhttp_make_request(dc->conn, req, EVHTTP_REQ_GET, path) < 0) {
		/* libevent freed req; the answer is "none" */
		free(a);
		(void)decisions_answer(dc->nb->boot.decisions, mac, -EIO, NULL, 0);
	}
}

void
decision_client_rebind(struct netbootd *nb)
{
	if (!nb->boot.decisions)
		return;
	decisions_set_ttl(nb->boot.decisions, nb->boot.cfg->decision_api_ttl);
	bootconf_set_override(nb->boot.cfg->boot, decisions_profile, nb->boot.decisions);
}

int
decision_client_start(struct netbootd *nb)
{
	const struct config *cfg = nb->boot.cfg;
	if (!cfg->decision_api)
		return 0;
	struct decision_client *dc = calloc(1, sizeof(*dc));
	if (!dc)
		return -1;
	dc->nb = nb;
	nb->decide = dc;
	if (decision_url_parse(cfg->decision_api, dc->host, sizeof(dc->host), &dc->port, dc->prefix,
	                       sizeof(dc->prefix)) < 0) {
		log_error("main", "decision-api %s: not http://ADDR[:PORT][/PREFIX] with an IP address",
		          cfg->decision_api);
		return -1;
	}
	dc->conn = evhttp_connection_base_new(nb->base, NULL, dc->host, (ev_uint16_t)dc->port);
	nb->boot.decisions = decisions_new(ask, dc, monotonic_clock_ms, NULL);
	if (!dc->conn || !nb->boot.decisions) {
		log_error("main", "decision-api: out of memory");
		return -1;
	}
	evhttp_connection_set_timeout(dc->conn, (int)cfg->decision_api_timeout);
	evhttp_connection_set_retries(dc->conn, 0);
	evhttp_connection_set_max_body_size(dc->conn, DECISION_MAX_BODY);
	decision_client_rebind(nb);
	log_info("main", "decision-api %s: asked before the config, answers kept %u s, %u s to "
	                 "answer", cfg->decision_api, cfg->decision_api_ttl, cfg->decision_api_timeout);
	return 0;
}

void
decision_client_free(struct netbootd *nb)
{
	struct decision_client *dc = nb->decide;
	if (dc && dc->conn)
		evhttp_connection_free(dc->conn);
	free(dc);
	nb->decide = NULL;
	decisions_free(nb->boot.decisions);
	nb->boot.decisions = NULL;
}
