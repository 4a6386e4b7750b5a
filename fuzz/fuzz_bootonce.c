/*
 * libFuzzer harness for the boot-once file reader: any bytes (a file cut
 * short by a crash, or edited by hand) load without crashing, and what
 * loads writes back to text that loads to the same records.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "boot/bootonce.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_level(LOG_LEVEL_ERROR);
	struct bootonce *bo = bootonce_new();
	struct bootonce *again = bootonce_new();
	if (!bo || !again)
		goto out;
	(void)bootonce_load_text(bo, (const char *)data, size, "fuzz");
	char *text;
	size_t len;
	if (bootonce_format(bo, &text, &len) != 0)
		goto out;
	if (bootonce_load_text(again, text, len, "again") != 0 ||
	    bootonce_count(again) != bootonce_count(bo))
		__builtin_trap();
	free(text);
out:
	bootonce_free(bo);
	bootonce_free(again);
	return 0;
}
