#include "store/leases.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/machine.h"
#include "util/log.h"

#define LEASES_MAX_POOL (1u << 20)
#define LEASES_MAX_FILE (256u << 20)

struct lease {
	uint8_t mac[6];
	uint8_t state;        /* enum lease_state */
	bool hashed;          /* linked in the MAC index */
	bool reserved;        /* a [host] fixed address: only rmac gets it */
	uint8_t rmac[6];
	int64_t expiry;       /* unix time; for OFFERED the end of the hold */
	int32_t next;         /* MAC index chain */
};

struct lease_store {
	uint32_t first, last; /* host order; for IPv6 the low 32 bits */
	bool v6;              /* an IPv6 pool: v6_prefix + the 32 bits above */
	uint8_t v6_prefix[12];
	size_t size;
	struct lease *slots;
	int32_t *buckets;
	size_t nbuckets;      /* power of two */
	size_t cursor;        /* where the next free-address search starts */
	size_t *reserved;     /* slots with a reservation */
	size_t nreserved;
	uint64_t reclaimed_offers; /* OFFERs taken back for another client (pool full) */

	/* journal */
	int dirfd;
	int fd;
	char *base;           /* file name inside dirfd */
	char *tmpname;
	char *path;           /* for messages */
	char *wbuf;
	size_t wlen, wcap;
	size_t records;       /* lines in the file since the last compaction */
	bool compact_failed;  /* logged once; the journal just grows */
};

static uint32_t
ip_host(struct in_addr a)
{
	return ntohl(a.s_addr);
}

static struct in_addr
ip_net(uint32_t h)
{
	struct in_addr a = { .s_addr = htonl(h) };
	return a;
}

/* The address of slot i as text: dotted quad, or IPv6 inside the /96. */
static const char *
slot_text(const struct lease_store *ls, size_t i, char buf[INET6_ADDRSTRLEN])
{
	struct in_addr a = ip_net(ls->first + (uint32_t)i);
	if (!ls->v6)
		return inet_ntop(AF_INET, &a, buf, INET6_ADDRSTRLEN);
	struct in6_addr a6;
	memcpy(a6.s6_addr, ls->v6_prefix, 12);
	memcpy(a6.s6_addr + 12, &a.s_addr, 4);
	return inet_ntop(AF_INET6, &a6, buf, INET6_ADDRSTRLEN);
}

/* Text to the store's address key; false when it is not of the pool's family or /96. */
static bool
text_key(const struct lease_store *ls, const char *text, struct in_addr *key)
{
	if (!ls->v6)
		return inet_pton(AF_INET, text, key) == 1;
	struct in6_addr a6;
	if (inet_pton(AF_INET6, text, &a6) != 1 || memcmp(a6.s6_addr, ls->v6_prefix, 12) != 0)
		return false;
	memcpy(&key->s_addr, a6.s6_addr + 12, 4);
	return true;
}

static size_t
mac_hash(const struct lease_store *ls, const uint8_t mac[6])
{
	/* FNV-1a: MACs from one vendor share their first half. */
	uint32_t h = 2166136261u;
	for (int i = 0; i < 6; i++)
		h = (h ^ mac[i]) * 16777619u;
	return h & (ls->nbuckets - 1);
}

static void
index_add(struct lease_store *ls, size_t i)
{
	struct lease *l = &ls->slots[i];
	if (l->hashed)
		return;
	size_t b = mac_hash(ls, l->mac);
	l->next = ls->buckets[b];
	ls->buckets[b] = (int32_t)i;
	l->hashed = true;
}

static void
index_del(struct lease_store *ls, size_t i)
{
	struct lease *l = &ls->slots[i];
	if (!l->hashed)
		return;
	int32_t *pp = &ls->buckets[mac_hash(ls, l->mac)];
	while (*pp >= 0) {
		if ((size_t)*pp == i) {
			*pp = l->next;
			break;
		}
		pp = &ls->slots[*pp].next;
	}
	l->hashed = false;
	l->next = -1;
}

static bool
live(const struct lease *l, time_t now)
{
	return l->state != LEASE_FREE && l->expiry > (int64_t)now;
}

/* Slot of the live lease (or offer) this MAC has, or -1. */
static ssize_t
find_mac(const struct lease_store *ls, const uint8_t mac[6], time_t now, bool include_expired)
{
	for (int32_t i = ls->buckets[mac_hash(ls, mac)]; i >= 0; i = ls->slots[i].next) {
		const struct lease *l = &ls->slots[i];
		if (memcmp(l->mac, mac, 6) != 0 || l->state == LEASE_DECLINED)
			continue;
		if (live(l, now) || (include_expired && l->state != LEASE_FREE))
			return i;
	}
	return -1;
}

static void
slot_set(struct lease_store *ls, size_t i, const uint8_t mac[6], enum lease_state st,
         int64_t expiry)
{
	struct lease *l = &ls->slots[i];
	if (l->hashed && (!mac || memcmp(l->mac, mac, 6) != 0 || st == LEASE_FREE ||
	                  st == LEASE_DECLINED))
		index_del(ls, i);
	if (mac)
		memcpy(l->mac, mac, 6);
	else
		memset(l->mac, 0, 6);
	l->state = (uint8_t)st;
	l->expiry = expiry;
	if (mac && (st == LEASE_BOUND || st == LEASE_OFFERED))
		index_add(ls, i);
}

struct lease_store *
leases_new(struct in_addr first, struct in_addr last)
{
	uint32_t f = ip_host(first), t = ip_host(last);
	if (t < f || (uint64_t)t - f + 1 > LEASES_MAX_POOL)
		return NULL;
	struct lease_store *ls = calloc(1, sizeof(*ls));
	if (!ls)
		return NULL;
	ls->first = f;
	ls->last = t;
	ls->size = (size_t)(t - f) + 1;
	ls->nbuckets = 16;
	while (ls->nbuckets < ls->size * 2)
		ls->nbuckets <<= 1;
	ls->slots = calloc(ls->size, sizeof(*ls->slots));
	ls->buckets = malloc(ls->nbuckets * sizeof(*ls->buckets));
	ls->dirfd = -1;
	ls->fd = -1;
	if (!ls->slots || !ls->buckets) {
		leases_free(ls);
		return NULL;
	}
	for (size_t i = 0; i < ls->nbuckets; i++)
		ls->buckets[i] = -1;
	for (size_t i = 0; i < ls->size; i++)
		ls->slots[i].next = -1;
	return ls;
}

struct lease_store *
leases_new6(const struct in6_addr *first, const struct in6_addr *last)
{
	if (memcmp(first->s6_addr, last->s6_addr, 12) != 0)
		return NULL;
	struct in_addr f, l;
	memcpy(&f.s_addr, first->s6_addr + 12, 4);
	memcpy(&l.s_addr, last->s6_addr + 12, 4);
	struct lease_store *ls = leases_new(f, l);
	if (ls) {
		ls->v6 = true;
		memcpy(ls->v6_prefix, first->s6_addr, 12);
	}
	return ls;
}

struct in_addr
leases_key6(const struct lease_store *ls, const struct in6_addr *a)
{
	struct in_addr key = { 0 };
	if (ls->v6 && memcmp(a->s6_addr, ls->v6_prefix, 12) == 0)
		memcpy(&key.s_addr, a->s6_addr + 12, 4);
	return key;
}

void
leases_addr6(const struct lease_store *ls, struct in_addr key, struct in6_addr *out)
{
	memcpy(out->s6_addr, ls->v6_prefix, 12);
	memcpy(out->s6_addr + 12, &key.s_addr, 4);
}

void
leases_free(struct lease_store *ls)
{
	if (!ls)
		return;
	if (ls->fd >= 0)
		close(ls->fd);
	if (ls->dirfd >= 0)
		close(ls->dirfd);
	free(ls->slots);
	free(ls->buckets);
	free(ls->reserved);
	free(ls->wbuf);
	free(ls->base);
	free(ls->tmpname);
	free(ls->path);
	free(ls);
}

int
leases_reserve(struct lease_store *ls, struct in_addr ip, const uint8_t mac[6])
{
	if (!leases_in_pool(ls, ip))
		return -ERANGE;
	size_t i = ip_host(ip) - ls->first;
	if (ls->slots[i].reserved)
		return -EEXIST;
	size_t *p = realloc(ls->reserved, (ls->nreserved + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	ls->reserved = p;
	ls->reserved[ls->nreserved++] = i;
	ls->slots[i].reserved = true;
	memcpy(ls->slots[i].rmac, mac, 6);
	return 0;
}

void
leases_clear_reservations(struct lease_store *ls)
{
	for (size_t i = 0; i < ls->nreserved; i++)
		ls->slots[ls->reserved[i]].reserved = false;
	ls->nreserved = 0;
}

bool
leases_in_pool(const struct lease_store *ls, struct in_addr ip)
{
	uint32_t h = ip_host(ip);
	return h >= ls->first && h <= ls->last;
}

int
leases_find_mac(const struct lease_store *ls, const uint8_t mac[6], time_t now,
                struct in_addr *ip, enum lease_state *state)
{
	ssize_t i = find_mac(ls, mac, now, false);
	if (i < 0)
		return -ENOENT;
	*ip = ip_net(ls->first + (uint32_t)i);
	if (state)
		*state = (enum lease_state)ls->slots[i].state;
	return 0;
}

enum lease_state
leases_owner(const struct lease_store *ls, struct in_addr ip, time_t now, uint8_t mac[6])
{
	if (!leases_in_pool(ls, ip))
		return LEASE_FREE;
	const struct lease *l = &ls->slots[ip_host(ip) - ls->first];
	if (!live(l, now))
		return LEASE_FREE;
	if (mac)
		memcpy(mac, l->mac, 6);
	return (enum lease_state)l->state;
}

bool
leases_expired_owner(const struct lease_store *ls, struct in_addr ip, time_t now,
                     const uint8_t mac[6])
{
	if (!leases_in_pool(ls, ip))
		return false;
	const struct lease *l = &ls->slots[ip_host(ip) - ls->first];
	if (live(l, now) || l->state != LEASE_BOUND || memcmp(l->mac, mac, 6) != 0)
		return false;
	return !l->reserved || memcmp(l->rmac, mac, 6) == 0;
}

/* ---- journal ----------------------------------------------------------- */

static void
journal_printf(struct lease_store *ls, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
journal_printf(struct lease_store *ls, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	if (ls->wlen + (size_t)n > ls->wcap) {
		size_t cap = ls->wcap ? ls->wcap * 2 : 16384;
		while (cap < ls->wlen + (size_t)n)
			cap *= 2;
		char *p = realloc(ls->wbuf, cap);
		if (!p) {
			/* Leave wlen alone: the commit will still write what fits. */
			log_error("dhcp", "lease journal: out of memory");
			return;
		}
		ls->wbuf = p;
		ls->wcap = cap;
	}
	memcpy(ls->wbuf + ls->wlen, line, (size_t)n);
	ls->wlen += (size_t)n;
}

static void
journal_bound(struct lease_store *ls, size_t i)
{
	char ip[INET6_ADDRSTRLEN], mac[18];
	journal_printf(ls, "L %s %s %" PRId64 "\n", slot_text(ls, i, ip), mac_format(ls->slots[i].mac, mac),
	               ls->slots[i].expiry);
}

/* Journal that the address at slot i no longer belongs to mac. */
static void
journal_freed(struct lease_store *ls, size_t i, const uint8_t mac[6])
{
	char ip[INET6_ADDRSTRLEN], macs[18];
	journal_printf(ls, "F %s %s\n", slot_text(ls, i, ip), mac_format(mac, macs));
}

int
leases_offer(struct lease_store *ls, const uint8_t mac[6], struct in_addr want, time_t now,
             unsigned hold, struct in_addr *out)
{
	ssize_t cur = -1;
	/* Its fixed address first, unless someone else still holds it. */
	for (size_t i = 0; i < ls->nreserved; i++) {
		size_t r = ls->reserved[i];
		const struct lease *l = &ls->slots[r];
		if (memcmp(l->rmac, mac, 6) == 0 &&
		    (!live(l, now) || (memcmp(l->mac, mac, 6) == 0 && l->state != LEASE_DECLINED))) {
			cur = (ssize_t)r;
			break;
		}
	}
	if (cur < 0)
		cur = find_mac(ls, mac, now, true);
	if (cur >= 0) {
		struct lease *l = &ls->slots[cur];
		/*
		 * Its own address, even expired, unless someone else took it
		 * meanwhile (then find_mac would not have found it).
		 */
		if (l->state != LEASE_BOUND || !live(l, now) || memcmp(l->mac, mac, 6) != 0)
			slot_set(ls, (size_t)cur, mac, LEASE_OFFERED, (int64_t)now + hold);
		*out = ip_net(ls->first + (uint32_t)cur);
		return 0;
	}
	if (want.s_addr && leases_in_pool(ls, want)) {
		size_t i = ip_host(want) - ls->first;
		if (ls->slots[i].state == LEASE_FREE && !ls->slots[i].reserved) {
			slot_set(ls, i, mac, LEASE_OFFERED, (int64_t)now + hold);
			*out = want;
			return 0;
		}
	}
	/* Never-used (or released) first, so expired leases keep their owner longer. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < ls->size; k++) {
			size_t i = (ls->cursor + k) % ls->size;
			struct lease *l = &ls->slots[i];
			bool ok = pass == 0 ? l->state == LEASE_FREE : !live(l, now);
			if (!ok || l->reserved)
				continue;
			slot_set(ls, i, mac, LEASE_OFFERED, (int64_t)now + hold);
			ls->cursor = (i + 1) % ls->size;
			*out = ip_net(ls->first + (uint32_t)i);
			return 0;
		}
	}
	/*
	 * Full: an OFFER is a promise, not a lease. Take back the one that has
	 * waited longest for its REQUEST, so a flood of DISCOVERs from made-up
	 * MACs cannot starve real clients; bound leases are never taken.
	 */
	ssize_t oldest = -1;
	for (size_t i = 0; i < ls->size; i++) {
		const struct lease *l = &ls->slots[i];
		if (l->state != LEASE_OFFERED || l->reserved || !live(l, now))
			continue;
		if (oldest < 0 || l->expiry < ls->slots[oldest].expiry)
			oldest = (ssize_t)i;
	}
	if (oldest < 0)
		return -ENOSPC;
	ls->reclaimed_offers++;
	slot_set(ls, (size_t)oldest, mac, LEASE_OFFERED, (int64_t)now + hold);
	*out = ip_net(ls->first + (uint32_t)oldest);
	return 0;
}

uint64_t
leases_reclaimed_offers(const struct lease_store *ls)
{
	return ls->reclaimed_offers;
}

/* ip's slot (and its index in *i), or NULL when ip is outside the pool. */
static struct lease *
pool_slot(struct lease_store *ls, struct in_addr ip, size_t *i)
{
	if (!leases_in_pool(ls, ip))
		return NULL;
	*i = ip_host(ip) - ls->first;
	return &ls->slots[*i];
}

void
leases_unoffer(struct lease_store *ls, const uint8_t mac[6], time_t now)
{
	ssize_t i = find_mac(ls, mac, now, false);
	if (i >= 0 && ls->slots[i].state == LEASE_OFFERED)
		slot_set(ls, (size_t)i, NULL, LEASE_FREE, 0);
}

int
leases_bind(struct lease_store *ls, const uint8_t mac[6], struct in_addr ip, time_t expiry,
            time_t now)
{
	size_t i;
	struct lease *l = pool_slot(ls, ip, &i);
	if (!l)
		return -ERANGE;
	if (live(l, now) && (l->state == LEASE_DECLINED || memcmp(l->mac, mac, 6) != 0))
		return -EBUSY;
	if (l->reserved && memcmp(l->rmac, mac, 6) != 0)
		return -EBUSY;
	/* One address per MAC: a client moving to another address frees the old one. */
	ssize_t old = find_mac(ls, mac, now, true);
	if (old >= 0 && (size_t)old != i) {
		bool was_bound = ls->slots[old].state == LEASE_BOUND;
		slot_set(ls, (size_t)old, NULL, LEASE_FREE, 0);
		if (was_bound)
			journal_freed(ls, (size_t)old, mac);
	}
	slot_set(ls, i, mac, LEASE_BOUND, (int64_t)expiry);
	journal_bound(ls, i);
	return 0;
}

int
leases_release(struct lease_store *ls, const uint8_t mac[6], struct in_addr ip, time_t now)
{
	size_t i;
	struct lease *l = pool_slot(ls, ip, &i);
	if (!l)
		return -ERANGE;
	if (!live(l, now) || l->state != LEASE_BOUND || memcmp(l->mac, mac, 6) != 0)
		return -ENOENT;
	slot_set(ls, i, NULL, LEASE_FREE, 0);
	journal_freed(ls, i, mac);
	return 0;
}

int
leases_decline(struct lease_store *ls, const uint8_t mac[6], struct in_addr ip, time_t until,
               time_t now)
{
	size_t i;
	struct lease *l = pool_slot(ls, ip, &i);
	if (!l)
		return -ERANGE;
	/* Only the client the address was given to may decline it. */
	if (!live(l, now) || memcmp(l->mac, mac, 6) != 0)
		return -ENOENT;
	slot_set(ls, i, NULL, LEASE_DECLINED, (int64_t)until);
	char ips[INET6_ADDRSTRLEN];
	journal_printf(ls, "D %s %" PRId64 "\n", slot_text(ls, i, ips), (int64_t)until);
	return 0;
}

bool
leases_dirty(const struct lease_store *ls)
{
	return ls->wlen > 0;
}

size_t
leases_bound_count(const struct lease_store *ls, time_t now)
{
	size_t n = 0;
	for (size_t i = 0; i < ls->size; i++)
		if (ls->slots[i].state == LEASE_BOUND && live(&ls->slots[i], now))
			n++;
	return n;
}

/* ---- loading ----------------------------------------------------------- */

static int
parse_i64(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

/* Apply one journal line (NUL-terminated, no newline). Returns 0 or -1 with why. */
static int
load_line(struct lease_store *ls, char *line, time_t now, const char **why)
{
	char *f[5];
	int n = 0;
	char *save = NULL;
	/* A comment (the file's own header has more words than a record) before any field count. */
	line += strspn(line, " \t");
	if (line[0] == '#')
		return 0;
	for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == 5) {
			*why = "too many fields";
			return -1;
		}
		f[n++] = t;
	}
	if (n == 0 || f[0][0] == '#')
		return 0;
	struct in_addr ip;
	uint8_t mac[6];
	int64_t t = 0;
	if (strlen(f[0]) != 1 || !strchr("LFD", f[0][0])) {
		*why = "unknown record type";
		return -1;
	}
	char type = f[0][0];
	if ((type == 'L' && n != 4) || (type == 'F' && n != 3) || (type == 'D' && n != 3)) {
		*why = "wrong number of fields";
		return -1;
	}
	if (!text_key(ls, f[1], &ip)) {
		*why = "bad address";
		return -1;
	}
	if (!leases_in_pool(ls, ip)) {
		*why = "address outside the pool (pool changed?)";
		return -1;
	}
	size_t i = ip_host(ip) - ls->first;
	switch (type) {
	case 'L':
		if (mac_parse(f[2], mac) != 0) {
			*why = "bad MAC address";
			return -1;
		}
		if (parse_i64(f[3], &t) != 0) {
			*why = "bad expiry time";
			return -1;
		}
		{
			/* Later records win; one address per MAC, as when it was written. */
			ssize_t old = find_mac(ls, mac, now, true);
			if (old >= 0 && (size_t)old != i)
				slot_set(ls, (size_t)old, NULL, LEASE_FREE, 0);
		}
		slot_set(ls, i, mac, LEASE_BOUND, t);
		break;
	case 'F':
		if (mac_parse(f[2], mac) != 0) {
			*why = "bad MAC address";
			return -1;
		}
		if (memcmp(ls->slots[i].mac, mac, 6) == 0)
			slot_set(ls, i, NULL, LEASE_FREE, 0);
		break;
	case 'D':
		if (parse_i64(f[2], &t) != 0) {
			*why = "bad time";
			return -1;
		}
		slot_set(ls, i, NULL, LEASE_DECLINED, t);
		break;
	}
	return 0;
}

unsigned
leases_load_text(struct lease_store *ls, const char *text, size_t len, const char *name,
                 time_t now)
{
	unsigned bad = 0, lineno = 0;
	size_t pos = 0;
	char line[256];
	char shown[96];
	while (pos < len) {
		lineno++;
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		const char *why = NULL;
		if (!nl) {
			/* A crash in the middle of a write: that record never reached an ACK. */
			why = "truncated (no newline at end of file)";
		} else if (n >= sizeof(line)) {
			why = "line too long";
		} else if (memchr(text + pos, '\0', n)) {
			why = "NUL byte in line";
		} else {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			if (n && line[n - 1] == '\r')
				line[n - 1] = '\0';
			(void)load_line(ls, line, now, &why);
		}
		if (why) {
			bad++;
			log_escape(shown, sizeof(shown), text + pos, n > 60 ? 60 : n);
			log_warn("dhcp", "lease file %s:%u: %s: \"%s\": line skipped", name, lineno, why,
			         shown);
		}
		pos += n + (nl ? 1 : 0);
	}
	return bad;
}

/* ---- file handling ----------------------------------------------------- */

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write the live state to tmp, fsync, rename over the journal, fsync the dir. */
static int
compact(struct lease_store *ls, time_t now)
{
	int r;
	size_t saved_wlen = ls->wlen;
	if (saved_wlen != 0)
		return -EAGAIN; /* only compact a fully committed journal */

	journal_printf(ls, "# netbootd leases v1: L ip mac expiry | F ip mac | D ip until\n");
	size_t records = 0;
	for (size_t i = 0; i < ls->size; i++) {
		const struct lease *l = &ls->slots[i];
		if (l->state == LEASE_BOUND && live(l, now)) {
			journal_bound(ls, i);
			records++;
		} else if (l->state == LEASE_DECLINED && live(l, now)) {
			char ips[INET6_ADDRSTRLEN];
			journal_printf(ls, "D %s %" PRId64 "\n", slot_text(ls, i, ips), l->expiry);
			records++;
		}
	}
	/*
	 * The directory belongs to the user we run as after the privilege drop,
	 * and the first compaction runs as root: whatever that user left under
	 * the temporary name (a symlink to /etc/shadow, say) is removed, never
	 * followed. O_EXCL|O_NOFOLLOW make the new file ours or fail.
	 */
	if (unlinkat(ls->dirfd, ls->tmpname, 0) < 0 && errno != ENOENT) {
		r = -errno;
		goto out;
	}
	int fd = openat(ls->dirfd, ls->tmpname,
	                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = write_all(fd, ls->wbuf, ls->wlen);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(ls->dirfd, ls->tmpname, ls->dirfd, ls->base) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		(void)unlinkat(ls->dirfd, ls->tmpname, 0);
		goto out;
	}
	/* The rename is durable only once the directory is. */
	if (fsync(ls->dirfd) < 0)
		log_warn("dhcp", "lease file %s: fsync of its directory: %s", ls->path, strerror(errno));
	/* The new file is the journal; appends go on after its end. */
	if (lseek(fd, 0, SEEK_END) < 0) {
		r = -errno;
		close(fd);
		goto out;
	}
	if (ls->fd >= 0)
		close(ls->fd);
	ls->fd = fd;
	ls->records = records;
out:
	ls->wlen = 0;
	return r;
}

/* The lease file as it is on disk, if there is one: read (a regular file of
 * bounded size only, no link followed) and replayed. 0 or -errno, logged. */
static int
load_existing(struct lease_store *ls, const char *path, time_t now)
{
	int fd = openat(ls->dirfd, ls->base, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		log_error("dhcp", "lease file %s: %s", path, strerror(errno));
		return -errno;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > LEASES_MAX_FILE) {
		log_error("dhcp", "lease file %s: not a regular file of at most %u MiB", path,
		          LEASES_MAX_FILE >> 20);
		close(fd);
		return -EINVAL;
	}
	char *text = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (text && got < (size_t)st.st_size) {
		ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!text)
		return -ENOMEM;
	unsigned bad = leases_load_text(ls, text, got, path, now);
	log_info("dhcp", "lease file %s: %zu active leases loaded%s", path, leases_bound_count(ls, now),
	         bad ? " (some lines skipped, see above)" : "");
	free(text);
	return 0;
}

int
leases_open(struct lease_store *ls, const char *path, uid_t owner, gid_t group, time_t now)
{
	int r = 0;
	char *copy = strdup(path);
	char *dir = NULL;
	if (!copy)
		return -ENOMEM;
	char *slash = strrchr(copy, '/');
	const char *base = slash ? slash + 1 : copy;
	if (!*base) {
		r = -EISDIR;
		goto out;
	}
	dir = slash ? strndup(copy, (size_t)(slash - copy)) : strdup(".");
	if (!dir) {
		r = -ENOMEM;
		goto out;
	}
	if (!*dir) {
		free(dir);
		dir = strdup("/");
		if (!dir) {
			r = -ENOMEM;
			goto out;
		}
	}
	/*
	 * A lease directory we create ourselves belongs to the user we run as
	 * after the privilege drop, so compaction (create + rename) keeps
	 * working as that user.
	 */
	bool created = mkdir(dir, 0750) == 0;
	if (!created && errno != EEXIST) {
		r = -errno;
		log_error("dhcp", "lease directory %s: %s", dir, strerror(errno));
		goto out;
	}
	/* By descriptor from here on: a path can be swapped under us, an fd cannot. */
	ls->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ls->dirfd < 0) {
		r = -errno;
		log_error("dhcp", "lease directory %s: %s", dir, strerror(errno));
		goto out;
	}
	if (created && owner != (uid_t)-1 && fchown(ls->dirfd, owner, group) < 0)
		log_warn("dhcp", "chown %s: %s", dir, strerror(errno));
	ls->path = strdup(path);
	ls->base = strdup(base);
	ls->tmpname = malloc(strlen(base) + 6);
	if (!ls->path || !ls->base || !ls->tmpname) {
		r = -ENOMEM;
		goto out;
	}
	sprintf(ls->tmpname, "%s.tmp", base);

	r = load_existing(ls, path, now);
	if (r < 0)
		goto out;
	/* Start from a clean, compacted file: bad lines are not carried on. */
	r = compact(ls, now);
	if (r < 0) {
		log_error("dhcp", "lease file %s: cannot rewrite it: %s", path, strerror(-r));
		goto out;
	}
	/* ls->fd is the file compaction just created (O_EXCL): no one else's. */
	if (owner != (uid_t)-1 && fchown(ls->fd, owner, group) < 0)
		log_warn("dhcp", "chown %s: %s", path, strerror(errno));
out:
	free(dir);
	free(copy);
	return r;
}

int
leases_commit(struct lease_store *ls, time_t now)
{
	if (ls->wlen == 0)
		return 0;
	if (ls->fd < 0) {
		ls->wlen = 0;
		return 0;
	}
	size_t lines = 0;
	for (size_t i = 0; i < ls->wlen; i++)
		lines += ls->wbuf[i] == '\n';
	off_t good = lseek(ls->fd, 0, SEEK_CUR);
	int r = write_all(ls->fd, ls->wbuf, ls->wlen);
	ls->wlen = 0;
	if (r == 0 && fdatasync(ls->fd) < 0)
		r = -errno;
	if (r < 0) {
		/*
		 * A half-written record (ENOSPC, EIO) must not glue itself to the
		 * next one, whose ACK will leave: cut the file back to its last
		 * good end. Those records are journaled again when clients retry.
		 */
		if (good >= 0 && (ftruncate(ls->fd, good) < 0 || lseek(ls->fd, good, SEEK_SET) < 0))
			log_error("dhcp", "lease file %s: cannot cut back a failed write: %s", ls->path,
			          strerror(errno));
		log_error("dhcp", "lease file %s: %s: leases not durable, ACKs withheld", ls->path,
		          strerror(-r));
		return r;
	}
	ls->records += lines;
	size_t live_count = 0;
	if (ls->records > 4096 && !ls->compact_failed) {
		live_count = leases_bound_count(ls, now);
		if (ls->records > 4 * live_count + 4096) {
			int c = compact(ls, now);
			if (c < 0) {
				/* The journal stays correct, only longer. */
				log_warn("dhcp",
				         "lease file %s: compaction failed: %s (is its directory "
				         "writable by the user netbootd runs as?)",
				         ls->path, strerror(-c));
				ls->compact_failed = true;
			}
		}
	}
	return 0;
}

int
leases_open_as(struct lease_store *ls, const char *path, const char *user, time_t now)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	if (geteuid() == 0) {
		struct passwd *pw = user ? getpwnam(user) : NULL;
		if (pw) {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		}
	}
	return leases_open(ls, path, uid, gid, now);
}
