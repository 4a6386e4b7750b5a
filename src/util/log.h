/* Logging to stderr with levels. */
#ifndef NETBOOTD_UTIL_LOG_H
#define NETBOOTD_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error", "warn", "info" or "debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *out);

/*
 * Is stderr the systemd journal ($JOURNAL_STREAM names its device and
 * inode)? Then lines carry a syslog priority prefix ("<4>tftp: ...") and
 * no time stamp, so `journalctl -p warning` works. Call once at start.
 */
bool log_detect_journal(void);

/* One line to stderr: "<time> <level> <module>: <message>", or "<N><module>:
 * <message>" to the journal. */
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(mod, ...) log_msg(LOG_LEVEL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...)  log_msg(LOG_LEVEL_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...)  log_msg(LOG_LEVEL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_LEVEL_DEBUG, mod, __VA_ARGS__)

/*
 * Copy bytes that came from the wire into dst as printable text: anything
 * outside 0x20..0x7e (and backslash and quote) becomes \xHH. dst is always
 * NUL-terminated and the result is truncated to fit. Returns dst.
 */
char *log_escape(char *dst, size_t dstlen, const void *src, size_t srclen);

#endif
