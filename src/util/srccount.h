/*
 * Per-source bookkeeping for the servers' limits: an address as a hashable
 * key (and whether it is loopback), and a count of things (connections) per
 * source address.
 */
#ifndef NETBOOTD_UTIL_SRCCOUNT_H
#define NETBOOTD_UTIL_SRCCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/*
 * The address of sa (port left out) as key bytes inside sa: 4 for IPv4, 16
 * for IPv6. Returns false for other families. *loopback: 127/8 or ::1,
 * which no one on the network can claim to be.
 */
bool addr_key(const struct sockaddr *sa, const void **key, size_t *keylen, bool *loopback);

struct srccount;

struct srccount *srccount_new(void);
void srccount_free(struct srccount *sc);
/* The current count for key (0 when unseen). */
unsigned srccount_get(const struct srccount *sc, const void *key, size_t keylen);
/* Add delta (+1 or -1); an entry reaching 0 is freed. Returns 0 or -ENOMEM. */
int srccount_add(struct srccount *sc, const void *key, size_t keylen, int delta);

#endif
