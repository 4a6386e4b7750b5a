/*
 * A strict reader for one flat JSON object (RFC 8259), the shape of a
 * decision API answer: {"key": "string", "key": ["s", "s"], "key": 1,
 * "key": true|false|null}. Nested objects, arrays of anything but strings,
 * duplicate keys, and more than the limits below are errors. Strings are
 * unescaped into UTF-8; \u0000 is refused (names and URLs never hold it).
 * Numbers are kept as their text and not checked further (none is used).
 * Pure: no I/O, no allocation.
 */
#ifndef NETBOOTD_WIRE_JSON_H
#define NETBOOTD_WIRE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_FLAT_MAX_KEYS 16
#define JSON_FLAT_MAX_ITEMS 8   /* strings in one array */
#define JSON_FLAT_MAX_TEXT 8192 /* every key and string, unescaped, NUL-terminated */

enum json_kind {
	JSON_STRING,
	JSON_STRINGS, /* an array of strings */
	JSON_NUMBER,  /* kept as its text */
	JSON_TRUE,
	JSON_FALSE,
	JSON_NULL,
};

struct json_member {
	const char *key;
	enum json_kind kind;
	const char *str;                        /* JSON_STRING, JSON_NUMBER */
	const char *items[JSON_FLAT_MAX_ITEMS]; /* JSON_STRINGS */
	size_t n_items;
};

struct json_flat {
	struct json_member members[JSON_FLAT_MAX_KEYS];
	size_t n;
	char text[JSON_FLAT_MAX_TEXT]; /* the strings point in here */
	size_t used;
};

/*
 * Parse text[0..len) into out. Returns 0, or -EINVAL (not a flat object as
 * above) / -E2BIG (past a limit), with where and why in err.
 */
int json_flat_parse(const char *text, size_t len, struct json_flat *out, char *err, size_t errlen);

/* The member named key, or NULL. */
const struct json_member *json_flat_get(const struct json_flat *j, const char *key);

#endif
