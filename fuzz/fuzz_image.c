/*
 * libFuzzer harness for src/image/: the input is a whole disk image read
 * through the reader callback (inspection, lookups of the paths the
 * inspector and the servers use, the direct command line), and the same
 * bytes as a boot config text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/inspect.h"
#include "image/iso9660.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t n;
};

static int
mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct mem *m = ctx;
	if (off > m->n || len > m->n - off)
		return -5; /* -EIO */
	memcpy(buf, m->p + off, len);
	return 0;
}

static int
list_cb(void *ctx, const struct iso_entry *e)
{
	(void)ctx;
	if (strlen(e->name) > ISO_NAME_MAX)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m = { data, size };
	struct image_reader rd = { mem_read, &m, size };
	struct image_info info;
	char out[IMAGE_CMDLINE_MAX + 256];

	if (image_inspect(&rd, &info) == 0) {
		if (image_direct_ok(&info) &&
		    image_direct_cmdline(&info, "http://198.18.0.1/image/p", "http://198.18.0.1/i.iso",
		                         out, sizeof(out)) == 0 &&
		    strlen(out) >= sizeof(out))
			abort();
	}
	struct iso_volume v;
	if (iso_open(&rd, &v) == 0) {
		static const char *const paths[] = { "live/filesystem.squashfs", "boot/grub/grub.cfg",
			                             "LIVE", "casper", "a/b/c/d/e/f/g" };
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			struct iso_entry e;
			if (iso_lookup(&v, paths[i], &e) == 0 && !e.dir) {
				/* A file found is inside the image, always. */
				if (e.offset > size || e.size > size - e.offset)
					abort();
				char buf[256];
				(void)iso_read_file(&v, &e, buf, sizeof(buf));
			}
		}
		(void)iso_list(&v, "", list_cb, NULL);
		(void)iso_list(&v, "live", list_cb, NULL);
	}
	/* The same bytes as a boot config. */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&info, 0, sizeof(info));
	if (image_parse_boot_config(text, &info) == 0 && info.n_initrds > IMAGE_MAX_INITRDS)
		abort();
	free(text);
	return 0;
}
