/* snprintf at an offset into a fixed buffer, for building headers and texts. */
#ifndef NETBOOTD_UTIL_APPENDF_H
#define NETBOOTD_UTIL_APPENDF_H

#include <stddef.h>

/*
 * Format at buf+used. Returns the new length as if buf were large enough
 * (like snprintf), so `used >= len` afterwards means the text was cut; buf
 * stays NUL-terminated whenever len > 0.
 */
size_t appendf(char *buf, size_t len, size_t used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
