/*
 * A growable text buffer for the documents netbootd generates (iPXE scripts,
 * pxelinux/GRUB configs, status pages). Allocation failure is sticky: the
 * buffer remembers it and strbuf_finish() reports it once.
 */
#ifndef NETBOOTD_BOOT_STRBUF_H
#define NETBOOTD_BOOT_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *data;
	size_t len;
	size_t cap;
	bool failed;
};

void strbuf_init(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_append(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
/* HTML text/attribute escaping (&<>"'). */
void strbuf_html(struct strbuf *sb, const char *s);
/* JSON string contents (no quotes added): ", \, and control bytes escaped. */
void strbuf_json(struct strbuf *sb, const char *s);
/* Returns 0 with the bytes handed over (caller frees *out), or -ENOMEM. */
int strbuf_finish(struct strbuf *sb, char **out, size_t *len);

#endif
