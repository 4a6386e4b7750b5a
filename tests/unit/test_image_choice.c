/* timeline_is_bios: which branch of an image script a machine takes, from the
 * firmware DHCP saw (so `method = auto` can name it in the log). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/timeline.h"
#include "model/machine.h"

static void
dhcp(struct timeline *tl, uint8_t host, enum firmware_kind kind, int arch)
{
	struct machine m = { .mac = { 0x52, 0x54, 0, 0, 0, host }, .kind = kind };
	m.arch_set = arch >= 0;
	m.arch = arch >= 0 ? (uint16_t)arch : 0;
	timeline_dhcp(tl, &m, "x");
}

static void
test_is_bios(void **state)
{
	(void)state;
	struct timeline *tl = timeline_new();
	assert_non_null(tl);
	const uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 1 };
	bool bios = true;

	assert_false(timeline_is_bios(tl, mac, &bios)); /* never seen */
	/* SeaBIOS with an iPXE ROM: iPXE is the firmware, arch 0. */
	dhcp(tl, 1, FIRMWARE_IPXE, 0);
	assert_true(timeline_is_bios(tl, mac, &bios));
	assert_true(bios);
	/* OVMF PXE, then the snponly.efi iPXE it chained: UEFI throughout. */
	dhcp(tl, 2, FIRMWARE_UEFI_PXE, 7);
	dhcp(tl, 2, FIRMWARE_IPXE, 7);
	const uint8_t mac2[6] = { 0x52, 0x54, 0, 0, 0, 2 };
	assert_true(timeline_is_bios(tl, mac2, &bios));
	assert_false(bios);
	/* A BIOS PXE ROM without option 93 is still BIOS. */
	dhcp(tl, 3, FIRMWARE_BIOS_PXE, -1);
	const uint8_t mac3[6] = { 0x52, 0x54, 0, 0, 0, 3 };
	assert_true(timeline_is_bios(tl, mac3, &bios));
	assert_true(bios);
	/* iPXE without option 93: unknown, the caller logs both branches. */
	dhcp(tl, 4, FIRMWARE_IPXE, -1);
	const uint8_t mac4[6] = { 0x52, 0x54, 0, 0, 0, 4 };
	assert_false(timeline_is_bios(tl, mac4, &bios));
	timeline_free(tl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_bios),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
