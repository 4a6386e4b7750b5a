/*
 * libFuzzer harness for the pure TFTP pieces the server feeds with wire
 * bytes: request parsing (then the name through path_normalize, as the
 * server does), ACK/ERROR/DATA/OACK parsing, and a round trip of whatever
 * options were accepted through the OACK builder and parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/safeopen.h"
#include "wire/tftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tftp_request req;
	if (tftp_request_parse(data, size, &req) == 0) {
		/* The strings must lie inside the packet and be terminated there. */
		if (req.filename_len == 0 || (const uint8_t *)req.filename + req.filename_len >= data + size ||
		    req.filename[req.filename_len] != '\0' || strlen(req.mode_text) == 0)
			abort();
		if (req.has_blksize && (req.blksize < TFTP_BLKSIZE_MIN || req.blksize > TFTP_BLKSIZE_MAX))
			abort();
		if (req.has_windowsize && (req.windowsize < 1 || req.windowsize > TFTP_WINDOWSIZE_MAX))
			abort();
		if (req.has_timeout && (req.timeout < 1 || req.timeout > TFTP_TIMEOUT_MAX))
			abort();
		char path[512];
		if (path_normalize(req.filename, req.filename_len, path, sizeof(path)) == 0) {
			/* A normalised name never climbs out or starts at "/". */
			if (path[0] == '/' || strstr(path, "\\") || !strcmp(path, "..") || !strncmp(path, "../", 3) ||
			    strstr(path, "/../") || (strlen(path) >= 3 && !strcmp(path + strlen(path) - 3, "/..")))
				abort();
		}
		struct tftp_oack o = {
			.blksize = req.has_blksize ? req.blksize : 0,
			.has_tsize = req.has_tsize,
			.tsize = req.tsize,
			.timeout = req.has_timeout ? req.timeout : 0,
			.windowsize = req.has_windowsize ? req.windowsize : 0,
		};
		uint8_t out[256];
		int n = tftp_oack_build(out, sizeof(out), &o);
		struct tftp_oack back;
		if (n < 2 || tftp_oack_parse(out, (size_t)n, &back) != 0 || back.blksize != o.blksize ||
		    back.has_tsize != o.has_tsize || back.tsize != o.tsize || back.windowsize != o.windowsize ||
		    back.timeout != o.timeout)
			abort();
	}
	uint16_t block, code;
	const char *msg;
	size_t msg_len;
	const uint8_t *payload;
	size_t plen;
	struct tftp_oack oack;
	(void)tftp_ack_parse(data, size, &block);
	if (tftp_error_parse(data, size, &code, &msg, &msg_len) == 0 && (const uint8_t *)msg + msg_len > data + size)
		abort();
	(void)tftp_data_parse(data, size, &block, &payload, &plen);
	(void)tftp_oack_parse(data, size, &oack);
	return 0;
}
