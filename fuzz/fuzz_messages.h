/*
 * Harnesses that feed a handler several messages in a row take them from
 * one input as [2-byte big-endian length][bytes]... (the last one may be
 * short). Each comes back as its own malloc'd copy of exactly its length,
 * so ASan sees a read past the end of a message.
 */
#ifndef NETBOOTD_FUZZ_MESSAGES_H
#define NETBOOTD_FUZZ_MESSAGES_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The next message, or NULL at the end of the input (or out of memory);
 * free() it after use. */
static inline uint8_t *
fuzz_next_message(const uint8_t **data, size_t *size, size_t *len)
{
	if (*size == 0)
		return NULL;
	*len = *size;
	if (*size >= 2) {
		size_t want = ((size_t)(*data)[0] << 8) | (*data)[1];
		*data += 2;
		*size -= 2;
		*len = want < *size ? want : *size;
	}
	uint8_t *msg = malloc(*len ? *len : 1);
	if (msg)
		memcpy(msg, *data, *len);
	*data += *len;
	*size -= *len;
	return msg;
}

#endif
