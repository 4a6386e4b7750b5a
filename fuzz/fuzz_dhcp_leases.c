/*
 * libFuzzer harness for the lease journal reader: any bytes (a corrupt or
 * truncated file after a crash) are read without crashing, and what loads
 * is consistent: one address per MAC.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>

#include "store/leases.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in_addr first, last, ip;
	log_set_level(LOG_LEVEL_ERROR);
	inet_pton(AF_INET, "198.18.0.10", &first);
	inet_pton(AF_INET, "198.18.0.40", &last);
	struct lease_store *ls = leases_new(first, last);
	if (!ls)
		return 0;
	(void)leases_load_text(ls, (const char *)data, size, "fuzz", 1800000000);
	/* Every MAC found maps to an address whose owner is that MAC. */
	for (uint32_t h = 0x0a; h <= 0x28; h++) {
		uint8_t mac[6];
		struct in_addr a = { .s_addr = htonl(0xc6120000u | h) };
		if (leases_owner(ls, a, 1800000000, mac) == LEASE_BOUND) {
			if (leases_find_mac(ls, mac, 1800000000, &ip, NULL) != 0 || ip.s_addr != a.s_addr)
				__builtin_trap();
		}
	}
	leases_free(ls);
	return 0;
}
