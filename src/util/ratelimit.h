/*
 * Per-source token buckets in a fixed table: `rate` new requests per second
 * per source address, bursts of up to `burst`. Pure: the caller passes the
 * time. A full table reuses the slot of the source seen longest ago, so
 * memory stays fixed whatever the number of (possibly spoofed) sources.
 */
#ifndef NETBOOTD_UTIL_RATELIMIT_H
#define NETBOOTD_UTIL_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_SLOTS 1024
#define RATELIMIT_KEY_MAX 16 /* an IPv6 address */

struct ratelimit_slot {
	uint8_t key[RATELIMIT_KEY_MAX];
	uint8_t keylen;
	uint32_t tokens_milli; /* tokens x 1000 */
	uint64_t last_ms;
};

struct ratelimit {
	unsigned rate;  /* per second; 0 = unlimited */
	unsigned burst; /* bucket size */
	struct ratelimit_slot slots[RATELIMIT_SLOTS];
};

void ratelimit_init(struct ratelimit *rl, unsigned rate, unsigned burst);

/* Take one token for key at now_ms: true when allowed. */
bool ratelimit_take(struct ratelimit *rl, const void *key, size_t keylen, uint64_t now_ms);

#endif
