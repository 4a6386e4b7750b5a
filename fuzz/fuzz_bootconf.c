/*
 * libFuzzer harness over the planner's side of netbootd: a config file
 * ([default], [profile], [host], [arch]) through bootconf, then every
 * profile through the planner and the document generators, then a client
 * name through the generator (boot/<mac>.ipxe, pxelinux.cfg/01-..., status).
 * Input: INI text, a NUL, then the name a client asks for.
 * Every generated document must be text: no NUL, no control byte but \n \t.
 */
#include <fcntl.h>
#include <ini.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/context.h"
#include "boot/files.h"
#include "boot/generated.h"
#include "boot/planner.h"
#include "boot/scripts.h"
#include "boot/timeline.h"
#include "model/bootconf.h"
#include "model/config.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
entry(void *user, const char *section, const char *key, const char *value)
{
	struct config *cfg = user;
	char err[512];
	if (strcmp(section, "server") == 0)
		(void)config_set(cfg, key, value, err, sizeof(err));
	else
		(void)bootconf_ini_entry(cfg->boot, section, key, value, err, sizeof(err));
	return 1;
}

static void
check_text(const char *doc, size_t len)
{
	if (strlen(doc) != len)
		__builtin_trap();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)doc[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			__builtin_trap();
	}
}

typedef int (*doc_fn)(const struct script_env *, const struct boot_profile *, char **, size_t *);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int rootfd = -1;
	/* One timeline for all inputs (11 MB: a new one per input cost 99% of the time).
	 * It stays empty: only DHCP adds machines, and nothing here speaks DHCP. */
	static struct timeline *timeline;
	static const doc_fn docs[] = { scripts_ipxe, scripts_pxelinux, scripts_grub, scripts_imgboot };
	if (rootfd < 0) {
		log_set_level(LOG_LEVEL_ERROR);
		rootfd = open("/", O_PATH | O_DIRECTORY);
		timeline = timeline_new();
		if (!timeline)
			abort();
	}
	if (size > 16384)
		return 0;
	const uint8_t *nul = memchr(data, 0, size);
	size_t conf_len = nul ? (size_t)(nul - data) : size;
	char *text = malloc(conf_len + 1);
	if (!text)
		return 0;
	memcpy(text, data, conf_len);
	text[conf_len] = '\0';

	struct config cfg;
	config_init(&cfg);
	(void)ini_parse_string(text, entry, &cfg);
	free(text);
	/* Config errors are expected by the thousand: not reported. */
	(void)bootconf_finish(cfg.boot, "fuzz", NULL, NULL);

	/* Every profile through every generator and the planner's questions. */
	struct script_env env = { .cfg = &cfg, .base = "http://198.18.0.1", .mac = "52:54:00:00:00:01" };
	for (size_t i = 0; i < bootconf_profile_count(cfg.boot); i++) {
		const struct boot_profile *p = bootconf_profile_at(cfg.boot, i);
		for (size_t k = 0; k < sizeof(docs) / sizeof(docs[0]); k++) {
			char *out = NULL;
			size_t len = 0;
			if (docs[k](&env, p, &out, &len) == 0)
				check_text(out, len);
			free(out);
		}
		const char *finals[8];
		size_t n = planner_final_files(&cfg, p, finals, 8);
		if (n > 8)
			__builtin_trap();
	}
	static const struct { enum firmware_kind kind; uint16_t arch; } clients[] = {
		{ FIRMWARE_BIOS_PXE, 0 }, { FIRMWARE_UEFI_PXE, 7 }, { FIRMWARE_UEFI_PXE, 9 },
		{ FIRMWARE_UEFI_PXE, 11 }, { FIRMWARE_UEFI_HTTP, 16 }, { FIRMWARE_UEFI_HTTP, 19 },
		{ FIRMWARE_UEFI_HTTP, 28 },
		{ FIRMWARE_IPXE, 0 }, { FIRMWARE_IPXE, 7 }, { FIRMWARE_UNKNOWN, 65535 },
	};
	for (size_t h = 0; h < bootconf_host_count(cfg.boot) + 1; h++) {
		const struct boot_host *host = bootconf_host_at(cfg.boot, h);
		for (size_t c = 0; c < sizeof(clients) / sizeof(clients[0]); c++) {
			struct machine m = { .kind = clients[c].kind, .arch_set = true, .arch = clients[c].arch };
			if (host)
				memcpy(m.mac, host->mac, 6);
			struct boot_answer a;
			(void)planner_dhcp_answer(&cfg, &m, &a);
			if (a.answer && a.bootfile[0] == '\0')
				__builtin_trap();
			char name[512], why[256];
			(void)planner_http_boot_file(&cfg, m.mac, m.arch, 0, name, sizeof(name), why,
			                             sizeof(why));
		}
	}

	/* A client's name through the generator (and the resolver around it). */
	if (nul) {
		struct boot_context boot = { .cfg = &cfg, .rootfd = -1 };
		boot.timeline = timeline;
		boot.files = files_new(rootfd);
		if (boot.files) {
			generated_register(&boot);
			struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = { htonl(0xC6120005) } };
			struct file_client fc = { .addr = (struct sockaddr *)&sin, .addrlen = sizeof(sin) };
			const char *name = (const char *)nul + 1;
			size_t nlen = size - conf_len - 1;
			struct file_source src;
			/* Only generated names: the real root here is "/", not for fuzzing. */
			if (generated_open(&boot, "status.json", &fc, &src) == 0) {
				check_text((const char *)src.data, src.size);
				file_source_release(&src);
			}
			char rel[600];
			if (nlen < sizeof(rel)) {
				memcpy(rel, name, nlen);
				rel[nlen] = '\0';
				if (strlen(rel) == nlen && generated_open(&boot, rel, &fc, &src) == 0) {
					if (src.fd < 0)
						check_text((const char *)src.data, src.size);
					file_source_release(&src);
				}
			}
			if (generated_open(&boot, "status", &fc, &src) == 0) {
				check_text((const char *)src.data, src.size);
				file_source_release(&src);
			}
		}
		files_free(boot.files);
	}
	config_free(&cfg);
	return 0;
}
