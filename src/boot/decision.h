/*
 * Decisions from an external API (decision-api, in the style of pixiecore's
 * API mode): what a machine boots, asked per MAC, cached for
 * decision-api-ttl seconds, and the config's answer whenever the API has
 * none (404), fails or is slow. This is the policy and the cache; asking
 * (HTTP) is the caller's, through ask, so the boot layer stays without
 * sockets.
 *
 * An answer is one flat JSON object:
 *   {"profile": "NAME"}                               a profile of the config
 *   {"kernel": REF, "initrd": [REF...], "cmdline": S} a kernel to boot
 *   {"image": REF, "method": M}                       an image to boot
 * REFs are names served by netbootd or http(s):// URLs, checked as the
 * config file's are; "message" is logged; other keys are ignored.
 */
#ifndef NETBOOTD_BOOT_DECISION_H
#define NETBOOTD_BOOT_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bootconf;
struct boot_profile;
struct decisions;

/* Start asking about mac (arch: its option 93, -1 unknown); the answer comes
 * back through decisions_answer. */
typedef void (*decisions_ask_fn)(void *ctx, const uint8_t mac[6], int arch);
/* Milliseconds of a monotonic clock (tests give their own). */
typedef uint64_t (*decisions_clock_fn)(void *ctx);

#define DECISIONS_MAX 4096         /* cached machines; the stalest go first */
#define DECISIONS_RETRY_MS 5000    /* after a failure, the config decides this long */

struct decisions *decisions_new(decisions_ask_fn ask, void *ask_ctx, decisions_clock_fn clock,
                                void *clock_ctx);
void decisions_free(struct decisions *d);

/* How long an answer is kept (decision-api-ttl), in seconds. */
void decisions_set_ttl(struct decisions *d, unsigned seconds);

/*
 * The bootconf_override_fn: the decided profile for mac, or NULL (the
 * config decides). With no fresh answer, asks (once; the asking runs
 * until decisions_answer).
 */
const struct boot_profile *decisions_profile(void *d, const struct bootconf *bc,
                                             const uint8_t mac[6]);

/*
 * DHCP saw mac (arch: option 93, -1 unknown): ask now, with its arch, if no
 * answer is fresh, so the answer is there when its iPXE fetches its script.
 */
void decisions_prefetch(struct decisions *d, const uint8_t mac[6], int arch);

/* Whether an answer for mac is being waited for (an iPXE script can wait for it). */
bool decisions_pending(const struct decisions *d, const uint8_t mac[6]);

/*
 * The API answered: status is the HTTP status (200, 404, ...), or a
 * negative errno when there was no answer (refused, timed out). body is
 * the answer's bytes. Logs what it decided; returns 0 when a profile was
 * decided, 1 when the config decides, -EINVAL for an answer it could not
 * use (the config decides, logged).
 */
int decisions_answer(struct decisions *d, const uint8_t mac[6], int status, const char *body,
                     size_t len);

size_t decisions_count(const struct decisions *d);

#endif
