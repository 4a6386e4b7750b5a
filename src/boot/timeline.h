/*
 * Per-machine boot timeline, keyed by MAC, with client IPs mapped back to
 * the MAC. DHCP reports offers (and which IP a MAC has or asked for); TFTP
 * and HTTP report each file; the timeline works out the rest.
 *
 * A boot ends with the hand-off to the OS: the completed transfer of one of
 * the files the generator named as the chain's last (timeline_expect). Then
 * one summary line per machine is logged. /status and /status.json show it.
 */
#ifndef NETBOOTD_BOOT_TIMELINE_H
#define NETBOOTD_BOOT_TIMELINE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "model/machine.h"

struct timeline;

struct timeline *timeline_new(void);
void timeline_free(struct timeline *tl);

/* A DHCP answer went out to m (m->client_ip, when known, is remembered). */
void timeline_dhcp(struct timeline *tl, const struct machine *m, const char *offered);

/* The client at ip is the machine with this MAC (lease, option 50, ciaddr). */
void timeline_map_ip(struct timeline *tl, struct in_addr ip, const uint8_t mac[6]);
/* The same for an IPv6 address (DHCPv6 lease, or the source of its requests). */
void timeline_map_ip6(struct timeline *tl, const struct in6_addr *ip, const uint8_t mac[6]);

/* A file transfer ended (complete or not). proto is "tftp", "http" or "https". */
void timeline_file(struct timeline *tl, const struct sockaddr *client, const char *proto,
                   const char *path, uint64_t bytes, uint64_t usec, bool complete);

/* MAC for a client address, if known. Returns true and fills mac. */
/* Whether DHCP has seen this machine (only such machines have a timeline). */
bool timeline_knows(const struct timeline *tl, const uint8_t mac[6]);
bool timeline_lookup_ip(const struct timeline *tl, struct in_addr ip, uint8_t mac[6]);

/* Our address as this machine last saw it in DHCP (for URLs). */
bool timeline_server_ip(const struct timeline *tl, const uint8_t mac[6], struct in_addr *ip);

/* Whether the machine's own firmware (not the iPXE it chained, unless iPXE
 * is its ROM) is BIOS, if DHCP saw it: kind bios-pxe or arch 0. */
bool timeline_is_bios(const struct timeline *tl, const uint8_t mac[6], bool *bios);
/* The option 93 architecture DHCP saw from mac, or -1 when none is known. */
int timeline_arch(const struct timeline *tl, const uint8_t mac[6]);

/*
 * The generator served this machine a boot document for profile: when one
 * of finals (served names) completes, the machine has been handed to its OS.
 */
void timeline_expect(struct timeline *tl, const uint8_t mac[6], const char *profile,
                     const char *const *finals, size_t n_finals);

/* The status documents (malloc'd into *out). Return 0 or -ENOMEM. */
/* Where a machine is: in the order the pages list them (failed first). */
enum timeline_state {
	TIMELINE_FAILED,       /* its last file was cut short, nothing since */
	TIMELINE_BOOTING,
	TIMELINE_HANDED_OFF,   /* its OS got every file it fetches last */
	TIMELINE_UP,           /* its OS reported in (GET /api/v1/booted) */
	TIMELINE_STATE_COUNT,
};

const char *timeline_state_name(enum timeline_state s); /* "failed", "booting", "handed-off", "up" */

/*
 * The booted OS reported in: the machine is up (until its next boot).
 * False when the timeline has no such machine (DHCP never saw it).
 */
bool timeline_up(struct timeline *tl, const uint8_t mac[6]);

/* A fleet at a glance: the top of /status, /status.txt and /status.json,
 * and the machine gauges of /metrics. */
struct timeline_summary {
	size_t machines;
	size_t by_state[TIMELINE_STATE_COUNT];
	size_t booting_at_dhcp, booting_at_tftp, booting_at_http; /* their last step */
	uint64_t slowest_handoff_ms;
};

void timeline_summarize(const struct timeline *tl, struct timeline_summary *sum);

int timeline_json(const struct timeline *tl, char **out, size_t *len);
int timeline_html(const struct timeline *tl, char **out, size_t *len);
/* The machines as a table for a terminal (`netbootd status`): one line
 * each, printable ASCII only. */
int timeline_text(const struct timeline *tl, char **out, size_t *len);

/* Tests: replace the wall clock (milliseconds since the epoch). */
void timeline_set_clock(struct timeline *tl, uint64_t (*now_ms)(void *ctx), void *ctx);

#endif
