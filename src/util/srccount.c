#include "util/srccount.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096
#define KEY_MAX 16

struct entry {
	struct entry *next;
	uint8_t key[KEY_MAX];
	uint8_t keylen;
	unsigned count;
};

struct srccount {
	struct entry *buckets[BUCKETS];
};

bool
addr_key(const struct sockaddr *sa, const void **key, size_t *keylen, bool *loopback)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		*key = &in->sin_addr;
		*keylen = sizeof(in->sin_addr);
		*loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		*key = &in6->sin6_addr;
		*keylen = sizeof(in6->sin6_addr);
		*loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
		return true;
	}
	return false;
}

static unsigned
bucket_of(const void *key, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const uint8_t *)key)[i]) * 16777619u;
	return h % BUCKETS;
}

struct srccount *
srccount_new(void)
{
	return calloc(1, sizeof(struct srccount));
}

void
srccount_free(struct srccount *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < BUCKETS; i++) {
		struct entry *e = sc->buckets[i];
		while (e) {
			struct entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(sc);
}

static struct entry **
find(const struct srccount *sc, const void *key, size_t keylen)
{
	struct entry **pe = (struct entry **)(uintptr_t)&sc->buckets[bucket_of(key, keylen)];
	for (; *pe; pe = &(*pe)->next)
		if ((*pe)->keylen == keylen && memcmp((*pe)->key, key, keylen) == 0)
			break;
	return pe;
}

unsigned
srccount_get(const struct srccount *sc, const void *key, size_t keylen)
{
	if (keylen > KEY_MAX)
		return 0;
	struct entry **pe = find(sc, key, keylen);
	return *pe ? (*pe)->count : 0;
}

int
srccount_add(struct srccount *sc, const void *key, size_t keylen, int delta)
{
	if (keylen > KEY_MAX)
		return -EINVAL;
	struct entry **pe = find(sc, key, keylen);
	struct entry *e = *pe;
	if (!e) {
		if (delta <= 0)
			return 0;
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		memcpy(e->key, key, keylen);
		e->keylen = (uint8_t)keylen;
		*pe = e;
	}
	if (delta < 0 && e->count < (unsigned)-delta)
		e->count = 0;
	else
		e->count = (unsigned)((int)e->count + delta);
	if (e->count == 0) {
		*pe = e->next;
		free(e);
	}
	return 0;
}
