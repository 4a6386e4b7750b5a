/*
 * boot-once: the machines whose OS has reported in (GET /api/v1/booted) and
 * that are configured `boot-once = yes`. Such a machine's next network boot
 * goes to its local disk, until the record is reset (DELETE
 * /api/v1/booted/MAC from a status-allow network, or boot-once turned off
 * for it in the config). The records outlive a restart when boot-once-file
 * is set: one "MAC UNIXTIME" line each, rewritten whole (tmp, fsync,
 * rename) on every change, beneath a directory opened once at start.
 */
#ifndef NETBOOTD_BOOT_BOOTONCE_H
#define NETBOOTD_BOOT_BOOTONCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct bootconf;
struct bootonce;

#define BOOTONCE_MAX 65536 /* records; a host line past it is refused, not a crash */

/*
 * The store. path NULL: in memory only (lost at restart). Otherwise its
 * directory is created (0750, owned by owner:group) if missing and opened
 * now, before the privilege drop, and the file read if it exists. NULL on
 * failure, with the reason in err.
 */
struct bootonce *bootonce_open(const char *path, uid_t owner, gid_t group, char *err, size_t errlen);
void bootonce_free(struct bootonce *bo);

struct boot_context;

/* Whether this machine boots from its local disk now: its [host] says
 * boot-once and it has booted (and not been reset). */
bool bootonce_local_disk(const struct boot_context *boot, const uint8_t mac[6]);

/*
 * The booted OS of mac reported in: up in the timeline, and recorded when
 * its [host] says boot-once (*recorded). 0, -ENOENT when netbootd knows
 * nothing of the machine (no timeline, no [host]), or -errno from the write.
 */
int bootonce_report_booted(struct boot_context *boot, const uint8_t mac[6], time_t now,
                           bool *recorded);

/* Whether mac has booted once (and not been reset). NULL store: never. */
bool bootonce_done(const struct bootonce *bo, const uint8_t mac[6]);
/* When it booted (0 if not). */
time_t bootonce_when(const struct bootonce *bo, const uint8_t mac[6]);

/* Record mac as booted at when, to disk first. 0 or -errno (nothing kept then). */
int bootonce_mark(struct bootonce *bo, const uint8_t mac[6], time_t when);
/* Forget mac. 0, -ENOENT when it had no record, or -errno from the write. */
int bootonce_reset(struct bootonce *bo, const uint8_t mac[6]);

/*
 * Drop the records of machines the configuration no longer marks boot-once
 * (at start and on every reload), so turning boot-once off and on again
 * resets a machine. Returns how many were dropped.
 */
size_t bootonce_prune(struct bootonce *bo, const struct bootconf *bc);

/*
 * Pure: read "MAC UNIXTIME" lines (# comments and blank lines skipped) into
 * bo. Returns the number of lines that were not records (logged with name).
 */
size_t bootonce_load_text(struct bootonce *bo, const char *text, size_t len, const char *name);
/* Pure: the file's text for bo, malloc'd. 0 or -ENOMEM. */
int bootonce_format(const struct bootonce *bo, char **out, size_t *len);
/* An empty store in memory, for tests and the fuzzer. */
struct bootonce *bootonce_new(void);
size_t bootonce_count(const struct bootonce *bo);

#endif
