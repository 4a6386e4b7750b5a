#include "wire/json.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct reader {
	const char *p, *end, *start;
	struct json_flat *out;
	char *err;
	size_t errlen;
};

static int
fail(struct reader *r, int code, const char *why)
{
	snprintf(r->err, r->errlen, "byte %zu: %s", (size_t)(r->p - r->start), why);
	return code;
}

static void
skip_ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int
put_byte(struct reader *r, char c)
{
	if (r->out->used >= sizeof(r->out->text))
		return fail(r, -E2BIG, "strings longer than the limit");
	r->out->text[r->out->used++] = c;
	return 0;
}

/* UTF-8 for one code point; surrogates are refused (a pair is not needed for names). */
static int
put_code_point(struct reader *r, unsigned cp)
{
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
		return fail(r, -EINVAL, "\\u0000 or a surrogate in a string");
	uint8_t b[3];
	size_t n;
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | (cp >> 6));
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else {
		b[0] = (uint8_t)(0xe0 | (cp >> 12));
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	}
	for (size_t i = 0; i < n; i++)
		if (put_byte(r, (char)b[i]) < 0)
			return -E2BIG;
	return 0;
}

static int
hex4(struct reader *r, unsigned *cp)
{
	if (r->end - r->p < 4)
		return fail(r, -EINVAL, "short \\u escape");
	*cp = 0;
	for (int i = 0; i < 4; i++) {
		char c = *r->p++;
		unsigned v = c >= '0' && c <= '9' ? (unsigned)(c - '0')
		             : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
		             : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
		                                    : 16;
		if (v == 16)
			return fail(r, -EINVAL, "bad \\u escape");
		*cp = *cp * 16 + v;
	}
	return 0;
}

static int
escape(struct reader *r)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	if (r->p >= r->end)
		return fail(r, -EINVAL, "unterminated string");
	char c = *r->p++;
	const char *k = c ? strchr(from, c) : NULL;
	if (k)
		return put_byte(r, to[k - from]);
	unsigned cp;
	if (c != 'u' || hex4(r, &cp) < 0)
		return c == 'u' ? -EINVAL : fail(r, -EINVAL, "bad escape");
	return put_code_point(r, cp);
}

/* A string, unescaped into out->text; *s points at it. */
static int
string(struct reader *r, const char **s)
{
	if (r->p >= r->end || *r->p != '"')
		return fail(r, -EINVAL, "expected a string");
	r->p++;
	*s = r->out->text + r->out->used;
	for (;;) {
		if (r->p >= r->end)
			return fail(r, -EINVAL, "unterminated string");
		unsigned char c = (unsigned char)*r->p++;
		int e = 0;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(r, -EINVAL, "control character in a string");
		e = c == '\\' ? escape(r) : put_byte(r, (char)c);
		if (e < 0)
			return e;
	}
	return put_byte(r, '\0');
}

static int
number(struct reader *r, const char **s)
{
	const char *b = r->p;
	if (r->p < r->end && *r->p == '-')
		r->p++;
	size_t digits = 0;
	while (r->p < r->end && ((*r->p >= '0' && *r->p <= '9') || *r->p == '.' || *r->p == 'e' ||
	                         *r->p == 'E' || *r->p == '+' || *r->p == '-')) {
		r->p++;
		digits++;
	}
	if (!digits)
		return fail(r, -EINVAL, "expected a value");
	*s = r->out->text + r->out->used;
	for (const char *q = b; q < r->p; q++)
		if (put_byte(r, *q) < 0)
			return -E2BIG;
	return put_byte(r, '\0');
}

static int
literal(struct reader *r, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return fail(r, -EINVAL, "expected a value");
	r->p += n;
	return 0;
}

static int
strings(struct reader *r, struct json_member *m)
{
	r->p++; /* [ */
	skip_ws(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		return 0;
	}
	for (;;) {
		if (m->n_items == JSON_FLAT_MAX_ITEMS)
			return fail(r, -E2BIG, "too many strings in an array");
		skip_ws(r);
		int e = string(r, &m->items[m->n_items]);
		if (e < 0)
			return e;
		m->n_items++;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == ']') {
			r->p++;
			return 0;
		}
		return fail(r, -EINVAL, "expected , or ] in an array of strings");
	}
}

static int
value(struct reader *r, struct json_member *m)
{
	skip_ws(r);
	if (r->p >= r->end)
		return fail(r, -EINVAL, "expected a value");
	switch (*r->p) {
	case '"':
		m->kind = JSON_STRING;
		return string(r, &m->str);
	case '[':
		m->kind = JSON_STRINGS;
		return strings(r, m);
	case 't':
		m->kind = JSON_TRUE;
		return literal(r, "true");
	case 'f':
		m->kind = JSON_FALSE;
		return literal(r, "false");
	case 'n':
		m->kind = JSON_NULL;
		return literal(r, "null");
	case '{':
		return fail(r, -EINVAL, "nested objects are not read");
	default:
		m->kind = JSON_NUMBER;
		return number(r, &m->str);
	}
}

static int
member(struct reader *r)
{
	struct json_flat *j = r->out;
	if (j->n == JSON_FLAT_MAX_KEYS)
		return fail(r, -E2BIG, "too many keys");
	struct json_member *m = &j->members[j->n];
	memset(m, 0, sizeof(*m));
	skip_ws(r);
	int e = string(r, &m->key);
	if (e < 0)
		return e;
	if (json_flat_get(j, m->key))
		return fail(r, -EINVAL, "a key given twice");
	skip_ws(r);
	if (r->p >= r->end || *r->p != ':')
		return fail(r, -EINVAL, "expected :");
	r->p++;
	if ((e = value(r, m)) < 0)
		return e;
	j->n++;
	return 0;
}

int
json_flat_parse(const char *text, size_t len, struct json_flat *out, char *err, size_t errlen)
{
	struct reader r = { text, text + len, text, out, err, errlen };
	out->n = 0;
	out->used = 0;
	skip_ws(&r);
	if (r.p >= r.end || *r.p != '{')
		return fail(&r, -EINVAL, "expected an object");
	r.p++;
	skip_ws(&r);
	if (r.p < r.end && *r.p == '}') {
		r.p++;
	} else {
		for (;;) {
			int e = member(&r);
			if (e < 0)
				return e;
			skip_ws(&r);
			if (r.p < r.end && *r.p == ',') {
				r.p++;
				continue;
			}
			if (r.p < r.end && *r.p == '}') {
				r.p++;
				break;
			}
			return fail(&r, -EINVAL, "expected , or }");
		}
	}
	skip_ws(&r);
	if (r.p != r.end)
		return fail(&r, -EINVAL, "bytes after the object");
	return 0;
}

const struct json_member *
json_flat_get(const struct json_flat *j, const char *key)
{
	for (size_t i = 0; i < j->n; i++)
		if (strcmp(j->members[i].key, key) == 0)
			return &j->members[i];
	return NULL;
}
