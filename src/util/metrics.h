/*
 * Counters for /metrics (Prometheus text). The daemon is one thread on one
 * event loop, so plain integers are enough.
 */
#ifndef NETBOOTD_UTIL_METRICS_H
#define NETBOOTD_UTIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum metrics_proto {
	METRICS_DHCP,
	METRICS_TFTP,
	METRICS_HTTP,
	METRICS_PROTO_COUNT,
};

#define METRICS_MAX_KINDS 8

struct metrics_counters {
	uint64_t requests;
	uint64_t bytes;     /* payload bytes sent */
	uint64_t errors;    /* dropped/malformed requests and failed transfers */
	int64_t active;     /* transfers or connections in progress */
};

struct metrics {
	struct metrics_counters proto[METRICS_PROTO_COUNT];
	/* DHCP boot answers by firmware kind (model/machine.h's enum; util knows no names). */
	uint64_t boots[METRICS_MAX_KINDS];
};

extern struct metrics metrics;

/*
 * Render every counter in Prometheus text format; returns bytes written
 * (like snprintf). kind_names[k] labels boots[k], for k < nkinds.
 */
size_t metrics_render(char *buf, size_t len, const char *const *kind_names, size_t nkinds);

#endif
