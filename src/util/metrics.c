#include "util/metrics.h"

#include <stdarg.h>
#include <stdio.h>

struct metrics metrics;

static const char *const proto_names[METRICS_PROTO_COUNT] = {
	[METRICS_DHCP] = "dhcp",
	[METRICS_TFTP] = "tftp",
	[METRICS_HTTP] = "http",
};

static size_t append(char *buf, size_t len, size_t used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t
append(char *buf, size_t len, size_t used, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(used < len ? buf + used : NULL, used < len ? len - used : 0, fmt, ap);
	va_end(ap);
	return n > 0 ? used + (size_t)n : used;
}

size_t
metrics_render(char *buf, size_t len)
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
		used = append(buf, len, used, "# HELP %s %s\n# TYPE %s %s\n", series[s].name,
		              series[s].help, series[s].name, series[s].type);
		for (int p = 0; p < METRICS_PROTO_COUNT; p++) {
			const struct metrics_counters *c = &metrics.proto[p];
			long long v = s == 0 ? (long long)c->requests
			            : s == 1 ? (long long)c->bytes
			            : s == 2 ? (long long)c->errors
			                     : (long long)c->active;
			used = append(buf, len, used, "%s{proto=\"%s\"} %lld\n", series[s].name,
			              proto_names[p], v);
		}
	}
	used = append(buf, len, used,
	              "# HELP netbootd_boots_total Boot answers by firmware kind\n"
	              "# TYPE netbootd_boots_total counter\n");
	for (int k = 0; k < FIRMWARE_KIND_COUNT; k++)
		used = append(buf, len, used, "netbootd_boots_total{firmware=\"%s\"} %llu\n",
		              firmware_kind_name((enum firmware_kind)k),
		              (unsigned long long)metrics.boots[k]);
	return used;
}
