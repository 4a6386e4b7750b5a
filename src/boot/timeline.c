#include "boot/timeline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot/strbuf.h"
#include "util/log.h"

#define TL_MAX_MACHINES 1024
#define TL_MAX_EVENTS 48
#define TL_MAX_IPS 4096
#define TL_MAX_FINALS 16
/* A machine silent this long that asks DHCP again is on a new boot. */
#define TL_NEW_BOOT_MS (10 * 60 * 1000)

enum tl_event_type {
	TL_EV_DHCP,
	TL_EV_FILE,
};

struct tl_event {
	enum tl_event_type type;
	uint64_t at_ms;        /* wall clock at the end of the event */
	char proto[8];         /* "dhcp", "tftp", "http", "https" */
	char what[160];        /* offered boot file, or the path served */
	uint64_t bytes;
	uint64_t usec;
	bool complete;
};

struct tl_machine {
	uint8_t mac[6];
	enum firmware_kind kind;
	bool arch_set;
	uint16_t arch;
	struct in_addr ip;
	bool v6;                           /* it asked over DHCPv6: ip6 is its address */
	struct in6_addr ip6;
	struct in_addr server_ip;
	char profile[64];
	char finals[TL_MAX_FINALS][128];
	size_t n_finals;
	uint64_t first_ms, last_ms, handoff_ms, up_ms;
	bool handed_off;
	bool up;                           /* its OS reported in (/api/v1/booted) */
	unsigned files;
	uint64_t bytes;
	struct tl_event ev[TL_MAX_EVENTS]; /* ring: the newest TL_MAX_EVENTS */
	size_t n_ev;                       /* total ever added this boot */
	uint64_t seq;                      /* first-seen order */
};

/* An IPv4 address is kept v4-mapped (::ffff:a.b.c.d): one table for both families. */
struct tl_ip {
	struct in6_addr ip;
	uint8_t mac[6];
	uint64_t seen_ms;
};

struct timeline {
	struct tl_machine *machines;
	size_t n_machines;
	struct tl_ip *ips;
	size_t n_ips;
	uint64_t seq;
	uint64_t (*now_ms)(void *ctx);
	void *clock_ctx;
};

static uint64_t
wall_ms(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct timeline *
timeline_new(void)
{
	struct timeline *tl = calloc(1, sizeof(*tl));
	if (!tl)
		return NULL;
	tl->machines = calloc(TL_MAX_MACHINES, sizeof(*tl->machines));
	tl->ips = calloc(TL_MAX_IPS, sizeof(*tl->ips));
	if (!tl->machines || !tl->ips) {
		timeline_free(tl);
		return NULL;
	}
	tl->now_ms = wall_ms;
	return tl;
}

void
timeline_free(struct timeline *tl)
{
	if (!tl)
		return;
	free(tl->machines);
	free(tl->ips);
	free(tl);
}

void
timeline_set_clock(struct timeline *tl, uint64_t (*now_ms)(void *ctx), void *ctx)
{
	tl->now_ms = now_ms ? now_ms : wall_ms;
	tl->clock_ctx = ctx;
}

static uint64_t
now(const struct timeline *tl)
{
	return tl->now_ms(tl->clock_ctx);
}

/* b - a on the wall clock, 0 if the clock was set back in between. */
static uint64_t
span(uint64_t a, uint64_t b)
{
	return b > a ? b - a : 0;
}

static struct in6_addr
mapped(struct in_addr ip)
{
	struct in6_addr a = { .s6_addr = { [10] = 0xff, [11] = 0xff } };
	memcpy(a.s6_addr + 12, &ip.s_addr, 4);
	return a;
}

/* The IPv4 address inside a v4-mapped one. */
static struct in_addr
unmapped(const struct in6_addr *a)
{
	struct in_addr ip;
	memcpy(&ip.s_addr, a->s6_addr + 12, 4);
	return ip;
}

static struct tl_machine *
machine_find(const struct timeline *tl, const uint8_t mac[6])
{
	for (size_t i = 0; i < tl->n_machines; i++)
		if (memcmp(tl->machines[i].mac, mac, 6) == 0)
			return &tl->machines[i];
	return NULL;
}

static void
machine_reset(struct timeline *tl, struct tl_machine *tm, const uint8_t mac[6], uint64_t t)
{
	memset(tm, 0, sizeof(*tm));
	memcpy(tm->mac, mac, 6);
	tm->first_ms = tm->last_ms = t;
	tm->seq = ++tl->seq;
}

/* Find or add; when full, the machine silent the longest makes room. */
static struct tl_machine *
machine_get(struct timeline *tl, const uint8_t mac[6], uint64_t t)
{
	struct tl_machine *tm = machine_find(tl, mac);
	if (tm)
		return tm;
	if (tl->n_machines < TL_MAX_MACHINES) {
		tm = &tl->machines[tl->n_machines++];
	} else {
		tm = &tl->machines[0];
		for (size_t i = 1; i < tl->n_machines; i++)
			if (tl->machines[i].last_ms < tm->last_ms)
				tm = &tl->machines[i];
	}
	machine_reset(tl, tm, mac, t);
	for (size_t i = 0; i < tl->n_ips; i++) {
		const struct in6_addr *a = &tl->ips[i].ip;
		if (memcmp(tl->ips[i].mac, mac, 6) != 0)
			continue;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			tm->ip = unmapped(a);
		} else if (!IN6_IS_ADDR_LINKLOCAL(a)) {
			tm->v6 = true;
			tm->ip6 = *a;
		}
	}
	return tm;
}

static struct tl_event *
event_add(struct tl_machine *tm, enum tl_event_type type, uint64_t t)
{
	struct tl_event *e = &tm->ev[tm->n_ev % TL_MAX_EVENTS];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->at_ms = t;
	tm->n_ev++;
	tm->last_ms = t;
	return e;
}

void
timeline_dhcp(struct timeline *tl, const struct machine *m, const char *offered)
{
	if (!tl || !m)
		return;
	uint64_t t = now(tl);
	struct tl_machine *tm = machine_get(tl, m->mac, t);
	/* A machine that already reached its OS, or went quiet, is booting again. */
	if (tm->handed_off || tm->up || span(tm->last_ms, t) > TL_NEW_BOOT_MS)
		machine_reset(tl, tm, m->mac, t);
	/* Keep the firmware's own view (PXE ROM, UEFI) rather than the iPXE it chains. */
	if (tm->kind == FIRMWARE_UNKNOWN || m->kind != FIRMWARE_IPXE) {
		tm->kind = m->kind;
		tm->arch_set = m->arch_set;
		tm->arch = m->arch;
	}
	if (m->server_ip.s_addr)
		tm->server_ip = m->server_ip;
	if (m->v6)
		tm->v6 = true;
	if (m->client_ip.s_addr) {
		tm->ip = m->client_ip;
		timeline_map_ip(tl, m->client_ip, m->mac);
	}
	struct tl_event *e = event_add(tm, TL_EV_DHCP, t);
	snprintf(e->proto, sizeof(e->proto), "dhcp");
	snprintf(e->what, sizeof(e->what), "%s%s%s: %s", firmware_kind_name(m->kind),
	         m->arch_set && arch_name(m->arch) ? " " : "",
	         m->arch_set && arch_name(m->arch) ? arch_name(m->arch) : "",
	         offered ? offered : "(nothing)");
}

static struct tl_ip *
ip_slot(struct timeline *tl, const struct in6_addr *key)
{
	for (size_t i = 0; i < tl->n_ips; i++)
		if (memcmp(&tl->ips[i].ip, key, sizeof(*key)) == 0)
			return &tl->ips[i];
	if (tl->n_ips < TL_MAX_IPS)
		return &tl->ips[tl->n_ips++];
	struct tl_ip *oldest = &tl->ips[0];
	for (size_t i = 1; i < tl->n_ips; i++)
		if (tl->ips[i].seen_ms < oldest->seen_ms)
			oldest = &tl->ips[i];
	return oldest;
}

static void
map_key(struct timeline *tl, const struct in6_addr *key, const uint8_t mac[6])
{
	struct tl_ip *slot = ip_slot(tl, key);
	slot->ip = *key;
	memcpy(slot->mac, mac, 6);
	slot->seen_ms = now(tl);
}

void
timeline_map_ip(struct timeline *tl, struct in_addr ip, const uint8_t mac[6])
{
	if (!tl || ip.s_addr == 0)
		return;
	struct in6_addr key = mapped(ip);
	map_key(tl, &key, mac);
	struct tl_machine *tm = machine_find(tl, mac);
	if (tm)
		tm->ip = ip;
}

void
timeline_map_ip6(struct timeline *tl, const struct in6_addr *ip, const uint8_t mac[6])
{
	if (!tl || IN6_IS_ADDR_UNSPECIFIED(ip))
		return;
	if (IN6_IS_ADDR_V4MAPPED(ip)) { /* an IPv4 client of a dual-stack listener */
		timeline_map_ip(tl, unmapped(ip), mac);
		return;
	}
	map_key(tl, ip, mac);
	struct tl_machine *tm = machine_find(tl, mac);
	if (tm && !IN6_IS_ADDR_LINKLOCAL(ip)) {
		tm->v6 = true;
		tm->ip6 = *ip;
	}
}

bool
timeline_knows(const struct timeline *tl, const uint8_t mac[6])
{
	return tl && machine_find(tl, mac) != NULL;
}

static bool
lookup_key(const struct timeline *tl, const struct in6_addr *key, uint8_t mac[6])
{
	for (size_t i = 0; tl && i < tl->n_ips; i++) {
		if (memcmp(&tl->ips[i].ip, key, sizeof(*key)) == 0) {
			memcpy(mac, tl->ips[i].mac, 6);
			return true;
		}
	}
	return false;
}

bool
timeline_lookup_ip(const struct timeline *tl, struct in_addr ip, uint8_t mac[6])
{
	struct in6_addr key = mapped(ip);
	return lookup_key(tl, &key, mac);
}

bool
timeline_server_ip(const struct timeline *tl, const uint8_t mac[6], struct in_addr *ip)
{
	const struct tl_machine *tm = tl ? machine_find(tl, mac) : NULL;
	if (!tm || !tm->server_ip.s_addr)
		return false;
	*ip = tm->server_ip;
	return true;
}

bool
timeline_is_bios(const struct timeline *tl, const uint8_t mac[6], bool *bios)
{
	const struct tl_machine *tm = tl ? machine_find(tl, mac) : NULL;
	if (!tm || (tm->kind != FIRMWARE_BIOS_PXE && !tm->arch_set))
		return false;
	*bios = tm->kind == FIRMWARE_BIOS_PXE || tm->arch == ARCH_X86_BIOS;
	return true;
}

int
timeline_arch(const struct timeline *tl, const uint8_t mac[6])
{
	const struct tl_machine *tm = tl ? machine_find(tl, mac) : NULL;
	return tm && tm->arch_set ? tm->arch : -1;
}

void
timeline_expect(struct timeline *tl, const uint8_t mac[6], const char *profile,
                const char *const *finals, size_t n_finals)
{
	if (!tl)
		return;
	/* Only machines DHCP saw have a timeline (a script fetch alone adds none). */
	struct tl_machine *tm = machine_find(tl, mac);
	if (!tm)
		return;
	snprintf(tm->profile, sizeof(tm->profile), "%s", profile ? profile : "");
	tm->n_finals = 0;
	for (size_t i = 0; i < n_finals && i < TL_MAX_FINALS; i++) {
		const char *f = finals[i];
		while (*f == '/')
			f++;
		snprintf(tm->finals[tm->n_finals++], sizeof(tm->finals[0]), "%s", f);
	}
}

bool
timeline_up(struct timeline *tl, const uint8_t mac[6])
{
	struct tl_machine *tm = tl ? machine_find(tl, mac) : NULL;
	if (!tm)
		return false;
	uint64_t t = now(tl);
	char m[18];
	if (!tm->up)
		log_info("boot", "%s up: its OS reported in, %llu.%03llu s after its first DHCP%s",
		         mac_format(mac, m), (unsigned long long)(span(tm->first_ms, t) / 1000),
		         (unsigned long long)(span(tm->first_ms, t) % 1000),
		         tm->handed_off ? "" : " (no hand-off was seen: booted from elsewhere?)");
	tm->up = true;
	tm->up_ms = t;
	tm->last_ms = t;
	return true;
}

static bool
is_final(const struct tl_machine *tm, const char *path)
{
	while (*path == '/')
		path++;
	for (size_t i = 0; i < tm->n_finals; i++)
		if (strcmp(tm->finals[i], path) == 0)
			return true;
	return false;
}

/* Its address for the status pages (IPv6 once it asked over DHCPv6); buf kept if none. */
static void
machine_ip_text(const struct tl_machine *tm, char *buf, size_t len)
{
	if (tm->v6 && !IN6_IS_ADDR_UNSPECIFIED(&tm->ip6))
		inet_ntop(AF_INET6, &tm->ip6, buf, (socklen_t)len);
	else if (tm->ip.s_addr)
		inet_ntop(AF_INET, &tm->ip, buf, (socklen_t)len);
}

static const char *
machine_family(const struct tl_machine *tm)
{
	return tm->v6 ? "ipv6" : "ipv4";
}

static void
log_summary(const struct tl_machine *tm, const char *last)
{
	char mac[18], ip[INET6_ADDRSTRLEN] = "?";
	machine_ip_text(tm, ip, sizeof(ip));
	const char *an = tm->arch_set ? arch_name(tm->arch) : NULL;
	uint64_t ms = span(tm->first_ms, tm->handoff_ms);
	log_info("boot", "%s %s handed off to the OS: firmware %s%s%s, profile %s, %llu.%03llu s, "
	                 "%u files, %llu bytes, last %s",
	         mac_format(tm->mac, mac), ip, firmware_kind_name(tm->kind), an ? " " : "",
	         an ? an : "", tm->profile[0] ? tm->profile : "(none)",
	         (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000), tm->files,
	         (unsigned long long)tm->bytes, last);
}

void
timeline_file(struct timeline *tl, const struct sockaddr *client, const char *proto,
              const char *path, uint64_t bytes, uint64_t usec, bool complete)
{
	uint8_t mac[6];
	struct in6_addr key;
	if (!tl || !client || !path)
		return;
	if (client->sa_family == AF_INET)
		key = mapped(((const struct sockaddr_in *)(const void *)client)->sin_addr);
	else if (client->sa_family == AF_INET6)
		key = ((const struct sockaddr_in6 *)(const void *)client)->sin6_addr; /* v4-mapped too */
	else
		return;
	/* Someone looking at the status pages is not a step of a boot. */
	while (*path == '/')
		path++;
	if (strcmp(path, "status") == 0 || strcmp(path, "status.json") == 0 ||
	    strcmp(path, "status.txt") == 0 || strcmp(path, "metrics") == 0)
		return;
	if (!lookup_key(tl, &key, mac))
		return; /* not a machine we saw boot: a browser, curl, a benchmark */
	uint64_t t = now(tl);
	struct tl_machine *tm = machine_find(tl, mac);
	if (!tm)
		return; /* evicted since: not recreated by a file transfer */
	struct tl_event *e = event_add(tm, TL_EV_FILE, t);
	snprintf(e->proto, sizeof(e->proto), "%s", proto ? proto : "?");
	snprintf(e->what, sizeof(e->what), "%s", path);
	e->bytes = bytes;
	e->usec = usec;
	e->complete = complete;
	tm->bytes += bytes;
	if (complete)
		tm->files++;
	if (complete && !tm->handed_off && is_final(tm, path)) {
		tm->handed_off = true;
		tm->handoff_ms = t;
		log_summary(tm, path);
	}
}

/* ---- status documents ---------------------------------------------------- */

/* Machines in first-seen order. */
static int
by_seq(const void *a, const void *b)
{
	const struct tl_machine *const *x = a, *const *y = b;
	return (*x)->seq < (*y)->seq ? -1 : (*x)->seq > (*y)->seq;
}

static const struct tl_machine **
sorted_machines(const struct timeline *tl)
{
	const struct tl_machine **v = calloc(tl->n_machines + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < tl->n_machines; i++)
		v[i] = &tl->machines[i];
	qsort(v, tl->n_machines, sizeof(*v), by_seq);
	return v;
}

/* A machine's state: its last file cut short and nothing since means it is
 * stuck there; handed off means its OS has everything it asked for. */
static enum timeline_state
machine_state(const struct tl_machine *tm)
{
	if (tm->up)
		return TIMELINE_UP;
	if (tm->handed_off)
		return TIMELINE_HANDED_OFF;
	if (tm->n_ev) {
		const struct tl_event *e = &tm->ev[(tm->n_ev - 1) % TL_MAX_EVENTS];
		if (e->type == TL_EV_FILE && !e->complete)
			return TIMELINE_FAILED;
	}
	return TIMELINE_BOOTING;
}

static uint64_t
elapsed_ms(const struct tl_machine *tm, uint64_t t)
{
	return span(tm->first_ms, tm->handed_off ? tm->handoff_ms : t);
}

struct ranked {
	const struct tl_machine *tm;
	enum timeline_state state;
	uint64_t elapsed;
};

/* Failed first, then booting, then handed off; the slowest first in each. */
static int
by_attention(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->state != y->state)
		return x->state < y->state ? -1 : 1;
	if (x->elapsed != y->elapsed)
		return x->elapsed > y->elapsed ? -1 : 1;
	return x->tm->seq < y->tm->seq ? -1 : x->tm->seq > y->tm->seq;
}

/* The machines in the order an operator reads them (the pages and the table). */
static const struct tl_machine **
machines_by_attention(const struct timeline *tl)
{
	struct ranked *r = calloc(tl->n_machines + 1, sizeof(*r));
	const struct tl_machine **v = calloc(tl->n_machines + 1, sizeof(*v));
	uint64_t t = now(tl);
	if (!r || !v) {
		free(r);
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < tl->n_machines; i++)
		r[i] = (struct ranked){ &tl->machines[i], machine_state(&tl->machines[i]),
			                    elapsed_ms(&tl->machines[i], t) };
	qsort(r, tl->n_machines, sizeof(*r), by_attention);
	for (size_t i = 0; i < tl->n_machines; i++)
		v[i] = r[i].tm;
	free(r);
	return v;
}

const char *
timeline_state_name(enum timeline_state s)
{
	static const char *const names[] = { "failed", "booting", "handed-off", "up" };
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

void
timeline_summarize(const struct timeline *tl, struct timeline_summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	uint64_t t = now(tl);
	for (size_t i = 0; i < tl->n_machines; i++) {
		const struct tl_machine *tm = &tl->machines[i];
		enum timeline_state st = machine_state(tm);
		sum->machines++;
		sum->by_state[st]++;
		if (st == TIMELINE_BOOTING) {
			const struct tl_event *e = tm->n_ev ? &tm->ev[(tm->n_ev - 1) % TL_MAX_EVENTS] : NULL;
			if (!e || e->type == TL_EV_DHCP)
				sum->booting_at_dhcp++;
			else if (strcmp(e->proto, "tftp") == 0)
				sum->booting_at_tftp++;
			else
				sum->booting_at_http++;
		}
		uint64_t ms = elapsed_ms(tm, t);
		if ((st == TIMELINE_HANDED_OFF || (st == TIMELINE_UP && tm->handed_off)) &&
		    ms > sum->slowest_handoff_ms)
			sum->slowest_handoff_ms = ms;
	}
}

static void
iso_time(uint64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	char b[32];
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", b, (unsigned)(ms % 1000));
}

static size_t
first_event(const struct tl_machine *tm)
{
	return tm->n_ev > TL_MAX_EVENTS ? tm->n_ev - TL_MAX_EVENTS : 0;
}

/* "3 machines: 1 handed off, 1 booting (1 at DHCP, 0 at TFTP, 0 at HTTP),
 * 1 failed; slowest hand-off 12.3 s": the top line of the pages. */
static void
summary_line(const struct timeline *tl, char *buf, size_t len)
{
	struct timeline_summary sum;
	timeline_summarize(tl, &sum);
	snprintf(buf, len, "%zu machine%s: %zu up, %zu handed off, %zu booting (%zu at DHCP, %zu at "
	                   "TFTP, %zu at HTTP), %zu failed; slowest hand-off %llu.%llu s",
	         sum.machines, sum.machines == 1 ? "" : "s", sum.by_state[TIMELINE_UP],
	         sum.by_state[TIMELINE_HANDED_OFF],
	         sum.by_state[TIMELINE_BOOTING], sum.booting_at_dhcp, sum.booting_at_tftp,
	         sum.booting_at_http, sum.by_state[TIMELINE_FAILED],
	         (unsigned long long)(sum.slowest_handoff_ms / 1000),
	         (unsigned long long)(sum.slowest_handoff_ms % 1000 / 100));
}

int
timeline_json(const struct timeline *tl, char **out, size_t *len)
{
	struct strbuf sb;
	const struct tl_machine **v = sorted_machines(tl);
	if (!v)
		return -ENOMEM;
	uint64_t t = now(tl);
	struct timeline_summary sum;
	timeline_summarize(tl, &sum);
	strbuf_init(&sb);
	strbuf_printf(&sb, "{\"summary\":{\"machines\":%zu,\"up\":%zu,\"handed_off\":%zu,"
	                   "\"booting\":%zu,\"failed\":%zu,\"booting_at\":{\"dhcp\":%zu,\"tftp\":%zu,"
	                   "\"http\":%zu},\"slowest_handoff_ms\":%llu},\"machines\":[",
	              sum.machines, sum.by_state[TIMELINE_UP], sum.by_state[TIMELINE_HANDED_OFF],
	              sum.by_state[TIMELINE_BOOTING],
	              sum.by_state[TIMELINE_FAILED], sum.booting_at_dhcp, sum.booting_at_tftp,
	              sum.booting_at_http, (unsigned long long)sum.slowest_handoff_ms);
	for (size_t i = 0; i < tl->n_machines; i++) {
		const struct tl_machine *tm = v[i];
		char mac[18], ip[INET6_ADDRSTRLEN] = "", started[40];
		machine_ip_text(tm, ip, sizeof(ip));
		iso_time(tm->first_ms, started, sizeof(started));
		const char *an = tm->arch_set ? arch_name(tm->arch) : NULL;
		uint64_t end = tm->handed_off ? tm->handoff_ms : tm->last_ms;
		strbuf_printf(&sb, "%s{\"mac\":\"%s\",\"ip\":\"%s\",\"family\":\"%s\",\"firmware\":\"%s\",",
		              i ? "," : "", mac_format(tm->mac, mac), ip, machine_family(tm),
		              firmware_kind_name(tm->kind));
		if (tm->arch_set)
			strbuf_printf(&sb, "\"arch\":%u,\"arch_name\":\"%s\",", tm->arch, an ? an : "");
		else
			strbuf_puts(&sb, "\"arch\":null,\"arch_name\":null,");
		strbuf_puts(&sb, "\"profile\":\"");
		strbuf_json(&sb, tm->profile);
		strbuf_printf(&sb, "\",\"state\":\"%s\",\"started\":\"%s\",\"elapsed_ms\":%llu,"
		                   "\"idle_ms\":%llu,\"files\":%u,\"bytes\":%llu,\"events\":[",
		              timeline_state_name(machine_state(tm)), started,
		              (unsigned long long)span(tm->first_ms, end),
		              (unsigned long long)span(tm->last_ms, t), tm->files,
		              (unsigned long long)tm->bytes);
		for (size_t k = first_event(tm); k < tm->n_ev; k++) {
			const struct tl_event *e = &tm->ev[k % TL_MAX_EVENTS];
			strbuf_printf(&sb, "%s{\"t_ms\":%llu,\"type\":\"%s\",", k > first_event(tm) ? "," : "",
			              (unsigned long long)span(tm->first_ms, e->at_ms), e->proto);
			if (e->type == TL_EV_DHCP) {
				strbuf_puts(&sb, "\"offer\":\"");
				strbuf_json(&sb, e->what);
				strbuf_puts(&sb, "\"}");
			} else {
				strbuf_puts(&sb, "\"path\":\"");
				strbuf_json(&sb, e->what);
				strbuf_printf(&sb, "\",\"bytes\":%llu,\"duration_ms\":%llu,\"complete\":%s}",
				              (unsigned long long)e->bytes, (unsigned long long)(e->usec / 1000),
				              e->complete ? "true" : "false");
			}
		}
		strbuf_puts(&sb, "]}");
	}
	strbuf_puts(&sb, "]}\n");
	free(v);
	return strbuf_finish(&sb, out, len);
}

static void
human_bytes(uint64_t b, char *buf, size_t len)
{
	if (b >= 10ULL << 20)
		snprintf(buf, len, "%.1f MiB", (double)b / (1 << 20));
	else if (b >= 10ULL << 10)
		snprintf(buf, len, "%.1f KiB", (double)b / (1 << 10));
	else
		snprintf(buf, len, "%llu B", (unsigned long long)b);
}

/* One machine's card on the status page: its header, then its events. */
static void
html_machine(struct strbuf *sb, const struct tl_machine *tm)
{
	enum timeline_state st = machine_state(tm);
	char mac[18], ip[INET6_ADDRSTRLEN] = "-", started[40], bytes[32];
	machine_ip_text(tm, ip, sizeof(ip));
	iso_time(tm->first_ms, started, sizeof(started));
	human_bytes(tm->bytes, bytes, sizeof(bytes));
	const char *an = tm->arch_set ? arch_name(tm->arch) : NULL;
	uint64_t end = tm->handed_off ? tm->handoff_ms : tm->last_ms;
	uint64_t ms = span(tm->first_ms, end);
	strbuf_printf(sb, "<div class=\"m\"><div class=\"hd\"><span class=\"mac\">%s</span>"
	                   "<span class=\"st %s\">%s</span>",
	              mac_format(tm->mac, mac),
	              st == TIMELINE_HANDED_OFF || st == TIMELINE_UP ? "ok"
	              : st == TIMELINE_FAILED                        ? "bad"
	                                                             : "run",
	              st == TIMELINE_UP           ? "up: its OS reported in"
	              : st == TIMELINE_HANDED_OFF ? "handed off to the OS"
	              : st == TIMELINE_FAILED     ? "failed"
	                                          : "booting");
	strbuf_printf(sb, "<span class=\"kv\">%s <b>%s</b></span><span class=\"kv\">firmware "
	                   "<b>%s%s%s</b></span><span class=\"kv\">profile <b>",
	              tm->v6 ? "IPv6" : "IPv4", ip, firmware_kind_name(tm->kind), an ? " " : "",
	              an ? an : "");
	strbuf_html(sb, tm->profile[0] ? tm->profile : "-");
	strbuf_printf(sb, "</b></span><span class=\"kv\"><b>%llu.%llu s</b>, <b>%u</b> files, "
	                   "<b>%s</b></span><span class=\"kv\">since %s</span></div>\n<table>\n",
	              (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000 / 100),
	              tm->files, bytes, started);
	if (first_event(tm))
		strbuf_printf(sb, "<tr><td class=\"t\"></td><td colspan=\"3\">(%zu earlier events "
		                   "not shown)</td></tr>\n", first_event(tm));
	for (size_t k = first_event(tm); k < tm->n_ev; k++) {
		const struct tl_event *e = &tm->ev[k % TL_MAX_EVENTS];
		uint64_t off = span(tm->first_ms, e->at_ms);
		strbuf_printf(sb, "<tr><td class=\"t\">+%llu.%llus</td><td class=\"k\">%s</td><td class=\"p\">",
		              (unsigned long long)(off / 1000), (unsigned long long)(off % 1000 / 100),
		              e->type == TL_EV_DHCP ? "DHCP" : e->proto);
		if (e->type == TL_EV_DHCP)
			strbuf_puts(sb, "answer to ");
		strbuf_html(sb, e->what);
		strbuf_puts(sb, "</td><td>");
		if (e->type == TL_EV_FILE) {
			human_bytes(e->bytes, bytes, sizeof(bytes));
			strbuf_printf(sb, "%s in %llu.%03llu s", bytes,
			              (unsigned long long)(e->usec / 1000000),
			              (unsigned long long)(e->usec / 1000 % 1000));
			if (!e->complete)
				strbuf_puts(sb, " <span class=\"bad\">incomplete</span>");
		}
		strbuf_puts(sb, "</td></tr>\n");
	}
	strbuf_puts(sb, "</table></div>\n");
}

int
timeline_html(const struct timeline *tl, char **out, size_t *len)
{
	struct strbuf sb;
	const struct tl_machine **v = machines_by_attention(tl);
	if (!v)
		return -ENOMEM;
	strbuf_init(&sb);
	strbuf_puts(&sb,
	            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	            "<meta http-equiv=\"refresh\" content=\"5\">\n<title>netbootd status</title>\n"
	            "<style>\n"
	            "body{font:15px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430;background:#f6f7f9}\n"
	            "h1{font-size:22px;margin:0 0 4px}p.sub{color:#5b6573;margin:0 0 18px}\n"
	            ".m{background:#fff;border:1px solid #d8dde4;border-radius:8px;padding:12px 16px;margin:0 0 14px}\n"
	            ".hd{display:flex;gap:18px;align-items:baseline;flex-wrap:wrap}\n"
	            ".mac{font:600 17px ui-monospace,monospace}\n"
	            ".st{padding:2px 10px;border-radius:10px;font-weight:600;font-size:13px}\n"
	            ".ok{background:#d7f5dd;color:#14622a}.run{background:#fff1c7;color:#7a5200}\n"
	            ".kv{color:#5b6573}.kv b{color:#1d2430}\n"
	            "table{border-collapse:collapse;margin-top:8px;width:100%}\n"
	            "td{padding:3px 10px 3px 0;border-top:1px solid #eef0f3;font-size:14px}\n"
	            "td.t{font:13px ui-monospace,monospace;color:#5b6573;width:70px;text-align:right}\n"
	            "td.p{font:13px ui-monospace,monospace;width:55%;word-break:break-all}\n"
	            "td.k{width:60px;text-transform:uppercase}\n"
	            ".bad{color:#a1261b;font-weight:600}\n"
	            "</style></head><body>\n<h1>netbootd: boot timelines</h1>\n");
	char line[256];
	summary_line(tl, line, sizeof(line));
	strbuf_printf(&sb, "<p class=\"sub\"><b>%s</b>. Failed and slowest first; this page "
	                   "refreshes every 5 s; the same data is at "
	                   "<a href=\"/status.json\">/status.json</a>.</p>\n", line);
	if (tl->n_machines == 0)
		strbuf_puts(&sb, "<p>No machine has asked to boot yet.</p>\n");
	for (size_t i = 0; i < tl->n_machines; i++)
		html_machine(&sb, v[i]);
	strbuf_puts(&sb, "</body></html>\n");
	free(v);
	return strbuf_finish(&sb, out, len);
}

/* A profile name or path for a terminal: printable ASCII only, so a hostile
 * name cannot move the cursor or change colours there. */
static void
text_safe(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	for (; *src && o + 1 < len; src++)
		dst[o++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[o] = '\0';
}

int
timeline_text(const struct timeline *tl, char **out, size_t *len)
{
	struct strbuf sb;
	const struct tl_machine **v = machines_by_attention(tl);
	if (!v)
		return -ENOMEM;
	strbuf_init(&sb);
	char line[256];
	summary_line(tl, line, sizeof(line));
	strbuf_printf(&sb, "%s\n", line);
	strbuf_printf(&sb, "%-17s  %-15s  %-13s  %-16s  %-11s  %8s  %5s  %9s  %s\n", "MAC", "IP",
	              "FIRMWARE", "PROFILE", "STATE", "ELAPSED", "FILES", "BYTES", "LAST");
	for (size_t i = 0; i < tl->n_machines; i++) {
		const struct tl_machine *tm = v[i];
		char mac[18], ip[INET6_ADDRSTRLEN] = "-", bytes[32], profile[20], last[128] = "-";
		machine_ip_text(tm, ip, sizeof(ip));
		human_bytes(tm->bytes, bytes, sizeof(bytes));
		text_safe(profile, sizeof(profile), tm->profile[0] ? tm->profile : "-");
		if (tm->n_ev) {
			const struct tl_event *e = &tm->ev[(tm->n_ev - 1) % TL_MAX_EVENTS];
			char what[80];
			text_safe(what, sizeof(what), e->what);
			snprintf(last, sizeof(last), "%s %s%s", e->type == TL_EV_DHCP ? "DHCP" : e->proto, what,
			         e->type == TL_EV_FILE && !e->complete ? " (incomplete)" : "");
		}
		uint64_t ms = span(tm->first_ms, tm->handed_off ? tm->handoff_ms : tm->last_ms);
		char elapsed[24];
		snprintf(elapsed, sizeof(elapsed), "%llu.%llus", (unsigned long long)(ms / 1000),
		         (unsigned long long)(ms % 1000 / 100));
		strbuf_printf(&sb, "%-17s  %-15s  %-13s  %-16s  %-11s  %8s  %5u  %9s  %s\n",
		              mac_format(tm->mac, mac), ip, firmware_kind_name(tm->kind), profile,
		              timeline_state_name(machine_state(tm)), elapsed, tm->files, bytes, last);
	}
	if (tl->n_machines == 0)
		strbuf_puts(&sb, "(no machine has asked to boot yet)\n");
	free(v);
	return strbuf_finish(&sb, out, len);
}
