/*
 * libFuzzer harness for the decision API's JSON reader: any bytes from the
 * network are parsed without crashing or reading out of bounds, and every
 * string it returns is NUL-terminated inside its text buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct json_flat *j, const char *s)
{
	if (s < j->text || s >= j->text + j->used || strlen(s) >= (size_t)(j->text + j->used - s))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct json_flat j;
	char err[128];
	if (json_flat_parse((const char *)data, size, &j, err, sizeof(err)) != 0)
		return 0;
	for (size_t i = 0; i < j.n; i++) {
		const struct json_member *m = &j.members[i];
		check(&j, m->key);
		if (m->kind == JSON_STRING || m->kind == JSON_NUMBER)
			check(&j, m->str);
		for (size_t k = 0; k < m->n_items; k++)
			check(&j, m->items[k]);
		if (json_flat_get(&j, m->key) != m)
			__builtin_trap(); /* keys are unique */
	}
	return 0;
}
