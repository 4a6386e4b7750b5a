#include "util/ratelimit.h"

#include <string.h>

#define PROBE 8 /* slots looked at per key: its own, or the oldest of these */

void
ratelimit_init(struct ratelimit *rl, unsigned rate, unsigned burst)
{
	memset(rl, 0, sizeof(*rl));
	rl->rate = rate;
	rl->burst = burst ? burst : 1;
}

static uint32_t
key_hash(const uint8_t *k, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 16777619u;
	return h;
}

bool
ratelimit_take(struct ratelimit *rl, const void *key, size_t keylen, uint64_t now_ms)
{
	if (rl->rate == 0)
		return true;
	if (keylen > RATELIMIT_KEY_MAX)
		keylen = RATELIMIT_KEY_MAX;
	uint32_t h = key_hash(key, keylen);
	struct ratelimit_slot *s = NULL, *oldest = NULL;
	for (unsigned i = 0; i < PROBE; i++) {
		struct ratelimit_slot *c = &rl->slots[(h + i) % RATELIMIT_SLOTS];
		if (c->keylen == keylen && memcmp(c->key, key, keylen) == 0) {
			s = c;
			break;
		}
		if (!oldest || c->last_ms < oldest->last_ms || c->keylen == 0)
			oldest = c;
	}
	uint32_t full = rl->burst * 1000u;
	if (!s) {
		/* A new source starts with a full bucket. */
		s = oldest;
		memcpy(s->key, key, keylen);
		s->keylen = (uint8_t)keylen;
		s->tokens_milli = full;
		s->last_ms = now_ms;
	} else if (now_ms > s->last_ms) {
		uint64_t add = (now_ms - s->last_ms) * rl->rate; /* ms x per-second = milli-tokens */
		s->tokens_milli = add >= full - s->tokens_milli ? full : s->tokens_milli + (uint32_t)add;
		s->last_ms = now_ms;
	}
	if (s->tokens_milli < 1000)
		return false;
	s->tokens_milli -= 1000;
	return true;
}
