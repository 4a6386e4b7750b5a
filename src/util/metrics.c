#include "util/metrics.h"

#include "util/appendf.h"

#include <stdarg.h>
#include <stdio.h>

struct metrics metrics;

static const char *const proto_names[METRICS_PROTO_COUNT] = {
	[METRICS_DHCP] = "dhcp",
	[METRICS_TFTP] = "tftp",
	[METRICS_HTTP] = "http",
};

size_t
metrics_render(char *buf, size_t len, const char *const *kind_names, size_t nkinds)
{
	static const struct {
		const char *name, *help, *type;
	} series[] = {
		{ "netbootd_requests_total", "Requests received", "counter" },
		{ "netbootd_bytes_sent_total", "Payload bytes sent", "counter" },
		{ "netbootd_errors_total", "Malformed or failed requests", "counter" },
		{ "netbootd_active_transfers", "Transfers or connections in progress", "gauge" },
	};
	size_t used = 0;

	for (size_t s = 0; s < 4; s++) {
		used = appendf(buf, len, used, "# HELP %s %s\n# TYPE %s %s\n", series[s].name,
		              series[s].help, series[s].name, series[s].type);
		for (int p = 0; p < METRICS_PROTO_COUNT; p++) {
			const struct metrics_counters *c = &metrics.proto[p];
			long long v = s == 0 ? (long long)c->requests
			            : s == 1 ? (long long)c->bytes
			            : s == 2 ? (long long)c->errors
			                     : (long long)c->active;
			used = appendf(buf, len, used, "%s{proto=\"%s\"} %lld\n", series[s].name,
			              proto_names[p], v);
		}
	}
	used = appendf(buf, len, used,
	              "# HELP netbootd_boots_total Boot answers by firmware kind\n"
	              "# TYPE netbootd_boots_total counter\n");
	for (size_t k = 0; k < nkinds && k < METRICS_MAX_KINDS; k++)
		used = appendf(buf, len, used, "netbootd_boots_total{firmware=\"%s\"} %llu\n",
		              kind_names[k], (unsigned long long)metrics.boots[k]);
	return used;
}
