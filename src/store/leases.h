/*
 * The lease store of server mode: one slot per pool address, a MAC index,
 * and an append-only journal on disk made durable by group commit.
 *
 * Journal lines (text, one record per line, later lines win):
 *   L <ip> <mac> <expiry-unix-time>   bound (or renewed) until expiry
 *   F <ip> <mac>                      released by the client
 *   D <ip> <until-unix-time>          declined (in use by someone else)
 * Compaction writes the live state to "<file>.tmp" in the same directory,
 * fsyncs it, renames it over the file and fsyncs the directory.
 */
#ifndef NETBOOTD_STORE_LEASES_H
#define NETBOOTD_STORE_LEASES_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct lease_store;

enum lease_state {
	LEASE_FREE,
	LEASE_OFFERED,  /* in memory only: an OFFER is a promise, not a lease */
	LEASE_BOUND,
	LEASE_DECLINED,
};

/* A store for first..last (host order, inclusive); NULL if too large (>1M). */
struct lease_store *leases_new(struct in_addr first, struct in_addr last);

/*
 * An IPv6 pool (DHCPv6 IA_NA): first..last must share their first 96 bits,
 * and the store keys each address by its last 32, so every call below takes
 * and gives such a key as its struct in_addr; the lease file holds the full
 * IPv6 text. NULL when the two differ above bit 96 or the pool is too large.
 */
struct lease_store *leases_new6(const struct in6_addr *first, const struct in6_addr *last);
/* An IPv6 address to its key (0.0.0.0 when outside the pool's /96) and back. */
struct in_addr leases_key6(const struct lease_store *ls, const struct in6_addr *a);
void leases_addr6(const struct lease_store *ls, struct in_addr key, struct in6_addr *out);
void leases_free(struct lease_store *ls);

/*
 * Load path (if it exists; every bad line is logged with its number and
 * skipped), rewrite it compacted, and keep it open for appending. When
 * owner is not (uid_t)-1 (we run as root and will drop to owner), a missing
 * directory is created for owner and the file is chowned to owner, so that
 * compaction still works after the privilege drop. Returns 0 or -errno.
 */
int leases_open(struct lease_store *ls, const char *path, uid_t owner, gid_t group, time_t now);
/*
 * leases_open() for a daemon that drops to user (NULL: none) after start:
 * when run as root, that user must own what compaction touches.
 */
int leases_open_as(struct lease_store *ls, const char *path, const char *user, time_t now);

/* Load journal text (exposed for unit tests and the fuzzer). Returns bad lines. */
unsigned leases_load_text(struct lease_store *ls, const char *text, size_t len, const char *name,
                          time_t now);

/*
 * Keep ip (inside the pool) for mac only: a [host MAC] fixed address. Other
 * clients are never offered it. Returns 0, -ERANGE or -EEXIST.
 */
int leases_reserve(struct lease_store *ls, struct in_addr ip, const uint8_t mac[6]);

/*
 * Forget every reservation (a reload makes them again from the new [host]
 * sections). Leases themselves, bound or offered, are kept.
 */
void leases_clear_reservations(struct lease_store *ls);

bool leases_in_pool(const struct lease_store *ls, struct in_addr ip);

/* The address this MAC holds or was offered (not expired); 0 or -ENOENT. */
int leases_find_mac(const struct lease_store *ls, const uint8_t mac[6], time_t now,
                    struct in_addr *ip, enum lease_state *state);

/*
 * Who holds ip now: returns its state (FREE when expired) and fills mac
 * when it is not FREE.
 */
enum lease_state leases_owner(const struct lease_store *ls, struct in_addr ip, time_t now,
                              uint8_t mac[6]);

/*
 * ip was bound to mac, has expired, and nobody took it since: a client back
 * after its lease ran out may have it again (INIT-REBOOT, RENEWING).
 */
bool leases_expired_owner(const struct lease_store *ls, struct in_addr ip, time_t now,
                          const uint8_t mac[6]);

/*
 * Pick an address for mac to OFFER: its current one, else want (if free and
 * in the pool), else a never-used one, else an expired one, else (pool
 * full) the one whose OFFER has waited longest for its REQUEST. Held as
 * OFFERED until now + hold. Returns 0, or -ENOSPC when every address is
 * bound, declined or reserved.
 */
int leases_offer(struct lease_store *ls, const uint8_t mac[6], struct in_addr want, time_t now,
                 unsigned hold, struct in_addr *out);

/* How many OFFERs were taken back for another client since the start. */
uint64_t leases_reclaimed_offers(const struct lease_store *ls);
/* Drop an OFFER that the client turned down (it chose another server). */
void leases_unoffer(struct lease_store *ls, const uint8_t mac[6], time_t now);

/*
 * Bind ip to mac until expiry and journal it (not yet durable: see
 * leases_commit). Fails with -EBUSY if someone else holds ip.
 */
int leases_bind(struct lease_store *ls, const uint8_t mac[6], struct in_addr ip, time_t expiry,
                time_t now);
int leases_release(struct lease_store *ls, const uint8_t mac[6], struct in_addr ip, time_t now);
int leases_decline(struct lease_store *ls, const uint8_t mac[6], struct in_addr ip, time_t until,
                   time_t now);

/* Journal records not yet durable. */
bool leases_dirty(const struct lease_store *ls);
/*
 * Group commit: write every pending record, fdatasync once, compact when
 * the journal has grown well past the live state. Without a file (tests,
 * fuzzer) it just forgets the records. Returns 0 or -errno.
 */
int leases_commit(struct lease_store *ls, time_t now);

/* Bound, unexpired leases (for logs and tests). */
size_t leases_bound_count(const struct lease_store *ls, time_t now);

#endif
