/*
 * Counters for /metrics (Prometheus text). The daemon is one thread on one
 * event loop, so plain integers are enough.
 */
#ifndef NETBOOTD_UTIL_METRICS_H
#define NETBOOTD_UTIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "boot/machine.h"

enum metrics_proto {
	METRICS_DHCP,
	METRICS_TFTP,
	METRICS_HTTP,
	METRICS_PROTO_COUNT,
};

struct metrics_counters {
	uint64_t requests;
	uint64_t bytes;     /* payload bytes sent */
	uint64_t errors;    /* dropped/malformed requests and failed transfers */
	int64_t active;     /* transfers or connections in progress */
};

struct metrics {
	struct metrics_counters proto[METRICS_PROTO_COUNT];
	uint64_t boots[FIRMWARE_KIND_COUNT]; /* DHCP boot answers by firmware kind */
};

extern struct metrics metrics;

/* Render every counter in Prometheus text format; returns bytes written (like snprintf). */
size_t metrics_render(char *buf, size_t len);

#endif
