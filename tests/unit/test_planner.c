/* The planner alone: machine + config -> what to send, for every chain in the table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "boot/planner.h"
#include "model/bootconf.h"
#include "model/config.h"
#include "testconf.h"

static void
load(struct config *cfg, const char *text)
{
	static const char *const http8080[] = { "http", "0.0.0.0:8080", NULL };
	testconf_load(cfg, text, http8080);
}

static const char conf[] =
	"[default]\nprofile = linux\n"
	"[profile linux]\nkernel = vmlinuz\ninitrd = initrd.img\ncmdline = quiet\n"
	"[profile shell]\nefi = shell.efi\n"
	"[profile farshell]\nefi = http://198.18.0.9/shell.efi\n"
	"[profile iso]\nimage = rescue.iso\n"
	"[profile disk]\nimage = disk.img\nmethod = sanboot\n"
	"[profile pxl]\nkernel = vmlinuz\nmethod = pxelinux\n"
	"[profile grubby]\nkernel = vmlinuz\nmethod = grub\n"
	"[profile both]\nmenu = linux iso\n"
	"[host 52:54:00:00:00:02]\nprofile = shell\n"
	"[host 52:54:00:00:00:03]\nprofile = farshell\n"
	"[host 52:54:00:00:00:04]\nprofile = iso\n"
	"[host 52:54:00:00:00:05]\nprofile = pxl\n"
	"[host 52:54:00:00:00:06]\nprofile = grubby\n"
	"[host 52:54:00:00:00:07]\nprofile = disk\n"
	"[host 52:54:00:00:00:08]\nprofile = both\n"
	"[arch arm64-uefi]\nloader = arm64/snp.efi\n"
	"[arch riscv64-uefi-http]\nloader = riscv/ipxe.efi\n";

struct dhcp_case {
	uint8_t host;      /* last MAC byte */
	enum firmware_kind kind;
	int arch;          /* -1: option 93 absent */
	bool answer;
	const char *bootfile;
	const char *vendor;
};

static const struct dhcp_case dhcp_cases[] = {
	/* The chain table. */
	{ 1, FIRMWARE_BIOS_PXE, 0, true, "undionly.kpxe", "PXEClient" },
	{ 1, FIRMWARE_UEFI_PXE, 7, true, "snponly.efi", "PXEClient" },
	{ 1, FIRMWARE_UEFI_PXE, 9, true, "snponly.efi", "PXEClient" },
	{ 1, FIRMWARE_UEFI_HTTP, 16, true, "http://198.18.0.1:8080/boot/52:54:00:00:00:01.efi", "HTTPClient" },
	{ 1, FIRMWARE_IPXE, 0, true, "http://198.18.0.1:8080/boot/52:54:00:00:00:01.ipxe", "PXEClient" },
	{ 1, FIRMWARE_IPXE, 7, true, "http://198.18.0.1:8080/boot/52:54:00:00:00:01.ipxe", "PXEClient" },
	/* iPXE never gets iPXE again, whatever the profile. */
	{ 2, FIRMWARE_IPXE, 7, true, "http://198.18.0.1:8080/boot/52:54:00:00:00:02.ipxe", "PXEClient" },
	{ 4, FIRMWARE_IPXE, 0, true, "http://198.18.0.1:8080/boot/52:54:00:00:00:04.ipxe", "PXEClient" },
	/* UEFI HTTP boot: an EFI URL elsewhere directly; an image as a RAM disk (.iso kept). */
	{ 3, FIRMWARE_UEFI_HTTP, 16, true, "http://198.18.0.9/shell.efi", "HTTPClient" },
	{ 4, FIRMWARE_UEFI_HTTP, 16, true, "http://198.18.0.1:8080/boot/52:54:00:00:00:04.iso", "HTTPClient" },
	/* sanboot forced: the firmware loads iPXE (boot/<mac>.efi), iPXE sanboots. */
	{ 7, FIRMWARE_UEFI_HTTP, 16, true, "http://198.18.0.1:8080/boot/52:54:00:00:00:07.efi", "HTTPClient" },
	/* pxelinux and GRUB chains, from the ROM and from an iPXE ROM alike. */
	{ 5, FIRMWARE_BIOS_PXE, 0, true, "lpxelinux.0", "PXEClient" },
	{ 5, FIRMWARE_IPXE, 0, true, "lpxelinux.0", "PXEClient" },
	{ 6, FIRMWARE_BIOS_PXE, 0, true, "boot/grub/i386-pc/core.0", "PXEClient" },
	{ 6, FIRMWARE_UEFI_PXE, 7, true, "boot/grub/x86_64-efi/core.efi", "PXEClient" },
	{ 6, FIRMWARE_IPXE, 7, true, "boot/grub/x86_64-efi/core.efi", "PXEClient" },
	/* Other arches: the [arch] loader, or nothing. */
	{ 1, FIRMWARE_UEFI_PXE, 11, true, "arm64/snp.efi", "PXEClient" },
	{ 1, FIRMWARE_UEFI_PXE, 10, false, "", "PXEClient" },
	{ 1, FIRMWARE_UEFI_PXE, 27, false, "", "PXEClient" },
	{ 1, FIRMWARE_UEFI_PXE, 65535, false, "", "PXEClient" },
	{ 1, FIRMWARE_UEFI_PXE, -1, false, "", "PXEClient" },
	/* ARM64 HTTP boot: no iPXE for arm64, so an EFI or image profile only. */
	{ 1, FIRMWARE_UEFI_HTTP, 19, false, "", "HTTPClient" },
	{ 2, FIRMWARE_UEFI_HTTP, 19, true, "http://198.18.0.1:8080/boot/52:54:00:00:00:02.efi", "HTTPClient" },
	{ 3, FIRMWARE_UEFI_HTTP, 19, true, "http://198.18.0.9/shell.efi", "HTTPClient" },
	{ 4, FIRMWARE_UEFI_HTTP, 19, true, "http://198.18.0.1:8080/boot/52:54:00:00:00:04.iso", "HTTPClient" },
	{ 1, FIRMWARE_UEFI_HTTP, 28, true, "http://198.18.0.1:8080/riscv/ipxe.efi", "HTTPClient" },
	{ 1, FIRMWARE_UNKNOWN, 0, false, "", "PXEClient" },
	{ 1, (enum firmware_kind)77, 0, false, "", "PXEClient" },
};

static void
test_dhcp_table(void **state)
{
	(void)state;
	struct config cfg;
	load(&cfg, conf);
	for (size_t i = 0; i < sizeof(dhcp_cases) / sizeof(dhcp_cases[0]); i++) {
		const struct dhcp_case *c = &dhcp_cases[i];
		struct machine m = { .mac = { 0x52, 0x54, 0, 0, 0, c->host }, .kind = c->kind };
		m.arch_set = c->arch >= 0;
		m.arch = c->arch >= 0 ? (uint16_t)c->arch : 0;
		inet_pton(AF_INET, "198.18.0.1", &m.server_ip);
		struct boot_answer a;
		assert_int_equal(planner_dhcp_answer(&cfg, &m, &a), 0);
		if (a.answer != c->answer || strcmp(a.bootfile, c->bootfile) != 0 ||
		    strcmp(a.vendor_class, c->vendor) != 0)
			fail_msg("case %zu: got answer=%d '%s' '%s' (%s)", i, a.answer, a.bootfile,
			         a.vendor_class, a.reason);
		assert_true(a.reason[0] != '\0');
	}
	config_free(&cfg);
}

static void
test_no_config_still_chains(void **state)
{
	(void)state;
	struct config cfg;
	config_init(&cfg);
	struct machine m = { .mac = { 2, 0, 0, 0, 0, 1 }, .kind = FIRMWARE_BIOS_PXE, .arch_set = true };
	inet_pton(AF_INET, "127.0.0.1", &m.server_ip);
	struct boot_answer a;
	planner_dhcp_answer(&cfg, &m, &a);
	assert_true(a.answer);
	assert_string_equal(a.bootfile, "undionly.kpxe");
	m.kind = FIRMWARE_IPXE;
	planner_dhcp_answer(&cfg, &m, &a);
	assert_string_equal(a.bootfile, "http://127.0.0.1/boot/02:00:00:00:00:01.ipxe");
	/* --server-addr wins over the arrival address. */
	char err[64];
	assert_int_equal(config_set(&cfg, "server-addr", "198.18.5.5", err, sizeof(err)), 0);
	planner_dhcp_answer(&cfg, &m, &a);
	assert_string_equal(a.bootfile, "http://198.18.5.5/boot/02:00:00:00:00:01.ipxe");
	config_free(&cfg);
}

/*
 * ARM64 UEFI PXE without an [arch] loader: Debian's signed shim (or GRUB
 * alone) when start-up found it (main.c sets cfg.arm64_loader), else no
 * offer, with the package to install in the reason. An [arch] loader wins.
 */
/* ARM64 UEFI HTTP boot of an image with method imgboot: imgbootaa64.efi, when there is one. */
static void
test_arm64_imgboot(void **state)
{
	(void)state;
	struct config cfg;
	load(&cfg, "[default]\nprofile = img\n[profile img]\nimage = arm64.img\nmethod = imgboot\n");
	struct machine m = { .mac = { 2, 0, 0, 0, 0, 1 }, .kind = FIRMWARE_UEFI_HTTP, .arch_set = true,
	                     .arch = ARCH_ARM64_UEFI_HTTP };
	inet_pton(AF_INET, "198.18.0.1", &m.server_ip);
	struct boot_answer a;
	planner_dhcp_answer(&cfg, &m, &a);
	assert_false(a.answer);
	assert_non_null(strstr(a.reason, "no imgbootaa64.efi"));
	cfg.imgboot_arm64 = true;
	planner_dhcp_answer(&cfg, &m, &a);
	assert_true(a.answer);
	assert_string_equal(a.bootfile, "http://198.18.0.1:8080/boot/02:00:00:00:00:01.efi");
	assert_non_null(strstr(a.reason, "imgboot"));
	char name[128], reason[160];
	assert_int_equal(planner_http_boot_file(&cfg, m.mac, ARCH_ARM64_UEFI_HTTP, 0, name,
	                                        sizeof(name), reason, sizeof(reason)), 0);
	assert_string_equal(name, "imgbootaa64.efi");
	/* The same profile on x64: the x86_64 build. */
	assert_int_equal(planner_http_boot_file(&cfg, m.mac, ARCH_X64_UEFI_HTTP, 0, name,
	                                        sizeof(name), reason, sizeof(reason)), 0);
	assert_string_equal(name, "imgboot.efi");
	config_free(&cfg);
}

static void
test_arm64_default_loader(void **state)
{
	(void)state;
	struct config cfg;
	load(&cfg, "[default]\nprofile = linux\n[profile linux]\nkernel = vmlinuz\n");
	struct machine m = { .mac = { 2, 0, 0, 0, 0, 1 }, .kind = FIRMWARE_UEFI_PXE, .arch_set = true,
	                     .arch = ARCH_ARM64_UEFI };
	inet_pton(AF_INET, "198.18.0.1", &m.server_ip);
	struct boot_answer a;
	planner_dhcp_answer(&cfg, &m, &a);
	assert_false(a.answer);
	assert_non_null(strstr(a.reason, "debian-installer-12-netboot-arm64"));
	cfg.arm64_loader = "shimaa64.efi";
	planner_dhcp_answer(&cfg, &m, &a);
	assert_true(a.answer);
	assert_string_equal(a.bootfile, "shimaa64.efi");
	assert_non_null(strstr(a.reason, "profile linux"));
	cfg.arm64_loader = "grubaa64.efi";
	planner_dhcp_answer(&cfg, &m, &a);
	assert_string_equal(a.bootfile, "grubaa64.efi");
	/* Not for x64, and not for ARM64 HTTP boot (arch 19), which has no such chain. */
	m.arch = ARCH_X64_UEFI;
	planner_dhcp_answer(&cfg, &m, &a);
	assert_string_equal(a.bootfile, "snponly.efi");
	m.arch = ARCH_ARM64_UEFI_HTTP;
	m.kind = FIRMWARE_UEFI_HTTP;
	planner_dhcp_answer(&cfg, &m, &a);
	assert_false(a.answer);
	config_free(&cfg);
	load(&cfg, "[arch arm64-uefi]\nloader = arm64/grub.efi\n");
	cfg.arm64_loader = "shimaa64.efi";
	m.kind = FIRMWARE_UEFI_PXE;
	m.arch = ARCH_ARM64_UEFI;
	planner_dhcp_answer(&cfg, &m, &a);
	assert_string_equal(a.bootfile, "arm64/grub.efi");
	config_free(&cfg);
}

/*
 * [arch NAME] profile: what a machine of that architecture boots when no
 * [host] names its profile; [default] for the others. The x64 entry serves
 * EBC (9) too, as its loader does. HTTP boot's file follows the same rule.
 */
static void
test_arch_profile(void **state)
{
	(void)state;
	struct config cfg;
	load(&cfg, "[default]\nprofile = x86\n"
	           "[profile x86]\nkernel = x86/vmlinuz\n"
	           "[profile arm]\nefi = arm/uki.efi\n"
	           "[profile pinned]\nkernel = pinned/vmlinuz\n"
	           "[arch arm64-uefi]\nprofile = arm\n"
	           "[arch arm64-uefi-http]\nprofile = arm\n"
	           "[arch x64-uefi]\nprofile = pinned\n"
	           "[host 52:54:00:00:00:02]\nprofile = x86\n");
	static const uint8_t mac1[6] = { 0x52, 0x54, 0, 0, 0, 1 }, mac2[6] = { 0x52, 0x54, 0, 0, 0, 2 };
	assert_string_equal(bootconf_profile_for_arch(cfg.boot, mac1, ARCH_ARM64_UEFI)->name, "arm");
	assert_string_equal(bootconf_profile_for_arch(cfg.boot, mac2, ARCH_ARM64_UEFI)->name, "x86");
	assert_string_equal(bootconf_profile_for_arch(cfg.boot, mac1, ARCH_X86_BIOS)->name, "x86");
	assert_string_equal(bootconf_profile_for_arch(cfg.boot, mac1, ARCH_EBC)->name, "pinned");
	assert_string_equal(bootconf_profile_for_arch(cfg.boot, mac1, -1)->name, "x86");
	assert_string_equal(bootconf_profile_for(cfg.boot, mac1)->name, "x86");

	/* Through the planner: ARM64 HTTP boot gets the arm profile's EFI file. */
	struct machine m = { .mac = { 0x52, 0x54, 0, 0, 0, 1 }, .kind = FIRMWARE_UEFI_HTTP,
	                     .arch_set = true, .arch = ARCH_ARM64_UEFI_HTTP };
	inet_pton(AF_INET, "198.18.0.1", &m.server_ip);
	struct boot_answer a;
	planner_dhcp_answer(&cfg, &m, &a);
	assert_true(a.answer);
	assert_string_equal(a.bootfile, "http://198.18.0.1:8080/boot/52:54:00:00:00:01.efi");
	assert_non_null(strstr(a.reason, "profile arm"));
	char name[256], why[256];
	assert_int_equal(planner_http_boot_file(&cfg, m.mac, ARCH_ARM64_UEFI_HTTP, 0, name,
	                                        sizeof(name), why, sizeof(why)), 0);
	assert_string_equal(name, "arm/uki.efi");
	/* ...while the same MAC unknown to DHCP falls to [default] (x86: iPXE). */
	assert_int_equal(planner_http_boot_file(&cfg, m.mac, -1, 0, name, sizeof(name), why,
	                                        sizeof(why)), 0);
	assert_string_equal(name, "snponly.efi");
	config_free(&cfg);
}

/*
 * URLs name the port of the listener whatever its family: [::]:8080 (which
 * IPv4 clients reach too) gave "http://ADDR" (port 80) before. An https
 * listener on [::] serves UEFI HTTPS boot; one on a single IPv6 address,
 * which IPv4 clients cannot reach, does not.
 */
static void
test_urls_with_ipv6_listeners(void **state)
{
	(void)state;
	struct config cfg;
	char err[128], base[96];
	config_init(&cfg);
	struct in_addr ip;
	inet_pton(AF_INET, "198.18.0.1", &ip);
	assert_int_equal(config_set(&cfg, "http", "[::]:8080", err, sizeof(err)), 0);
	planner_http_base(&cfg, ip, base, sizeof(base));
	assert_string_equal(base, "http://198.18.0.1:8080");
	assert_int_equal(config_set(&cfg, "http", "[::]:80", err, sizeof(err)), 0);
	planner_http_base(&cfg, ip, base, sizeof(base));
	assert_string_equal(base, "http://198.18.0.1");

	struct machine m = { .mac = { 2, 0, 0, 0, 0, 1 }, .kind = FIRMWARE_UEFI_HTTP, .arch_set = true,
	                     .arch = ARCH_X64_UEFI_HTTP, .server_ip = ip };
	struct boot_answer a;
	assert_int_equal(config_set(&cfg, "http-boot-https", "yes", err, sizeof(err)), 0);
	assert_int_equal(config_set(&cfg, "https", "[::]:8443", err, sizeof(err)), 0);
	planner_dhcp_answer(&cfg, &m, &a);
	assert_string_equal(a.bootfile, "https://198.18.0.1:8443/boot/02:00:00:00:00:01.efi");
	assert_int_equal(config_set(&cfg, "https", "[2001:db8::1]:8443", err, sizeof(err)), 0);
	planner_dhcp_answer(&cfg, &m, &a);
	assert_string_equal(a.bootfile, "http://198.18.0.1/boot/02:00:00:00:00:01.efi");
	config_free(&cfg);
}

static void
test_ipxe_efi_by_config(void **state)
{
	(void)state;
	struct config cfg;
	load(&cfg, "[arch x64-uefi]\nloader = ipxe.efi\n");
	struct machine m = { .mac = { 2, 0, 0, 0, 0, 1 }, .kind = FIRMWARE_UEFI_PXE, .arch_set = true,
	                     .arch = 9 };
	struct boot_answer a;
	planner_dhcp_answer(&cfg, &m, &a);
	assert_string_equal(a.bootfile, "ipxe.efi");
	char name[64], why[256];
	assert_int_equal(planner_http_boot_file(&cfg, m.mac, -1, 0, name, sizeof(name), why, sizeof(why)), 0);
	assert_string_equal(name, "ipxe.efi");
	config_free(&cfg);
}

static void
test_image_methods(void **state)
{
	(void)state;
	struct config cfg;
	load(&cfg, "[server]\nmemdisk-max-mb = 100\n[profile a]\nimage = x.iso\n"
	           "[profile f]\nimage = x.img\nmethod = memdisk\n"
	           "[profile g]\nimage = x.img\nmethod = grub-memdisk\n"
	           "[profile r]\nimage = x.img\nmethod = firmware-ramdisk\n"
	           "[profile gm]\nimage = x.iso\nmethod = grub-memdisk\ngrub = x-grub.efi\n"
	           "[host 02:00:00:00:00:09]\nprofile = gm\n");
	const struct boot_profile *a = bootconf_profile(cfg.boot, "a");
	const struct boot_profile *f = bootconf_profile(cfg.boot, "f");
	const struct boot_profile *g = bootconf_profile(cfg.boot, "g");
	const struct boot_profile *r = bootconf_profile(cfg.boot, "r");
	char why[192];
	uint64_t mib = 1 << 20;

	/* auto: firmware RAM disk for UEFI HTTP, imgboot for other UEFI, memdisk/sanboot for BIOS. */
	assert_int_equal(planner_image_method(&cfg, a, IMAGE_CLIENT_UEFI_HTTP, 0, why, sizeof(why)),
	                 BOOT_METHOD_FIRMWARE_RAMDISK);
	assert_int_equal(planner_image_method(&cfg, a, IMAGE_CLIENT_UEFI, 0, why, sizeof(why)),
	                 BOOT_METHOD_IMGBOOT);
	assert_int_equal(planner_image_method(&cfg, a, IMAGE_CLIENT_BIOS, 100 * mib, why, sizeof(why)),
	                 BOOT_METHOD_MEMDISK);
	assert_non_null(strstr(why, "memdisk-max-mb 100"));
	assert_int_equal(planner_image_method(&cfg, a, IMAGE_CLIENT_BIOS, 100 * mib + 1, why, sizeof(why)),
	                 BOOT_METHOD_SANBOOT);
	assert_non_null(strstr(why, "sanboot"));
	/* Forced methods hold where the firmware can run them, else auto says why. */
	assert_int_equal(planner_image_method(&cfg, f, IMAGE_CLIENT_BIOS, 500 * mib, why, sizeof(why)),
	                 BOOT_METHOD_MEMDISK);
	assert_non_null(strstr(why, "forced"));
	assert_int_equal(planner_image_method(&cfg, f, IMAGE_CLIENT_UEFI, 0, why, sizeof(why)),
	                 BOOT_METHOD_IMGBOOT);
	assert_non_null(strstr(why, "memdisk needs BIOS"));
	assert_int_equal(planner_image_method(&cfg, r, IMAGE_CLIENT_UEFI, 0, why, sizeof(why)),
	                 BOOT_METHOD_IMGBOOT);
	assert_int_equal(planner_image_method(&cfg, r, IMAGE_CLIENT_BIOS, 0, why, sizeof(why)),
	                 BOOT_METHOD_MEMDISK);
	assert_int_equal(planner_image_method(&cfg, g, IMAGE_CLIENT_UEFI, 0, why, sizeof(why)),
	                 BOOT_METHOD_IMGBOOT);
	assert_non_null(strstr(why, "grub-memdisk needs grub = FILE"));
	/* With the mkgrub binary named: UEFI runs it, BIOS cannot. */
	const struct boot_profile *gm = bootconf_profile(cfg.boot, "gm");
	assert_int_equal(planner_image_method(&cfg, gm, IMAGE_CLIENT_UEFI, 0, why, sizeof(why)),
	                 BOOT_METHOD_GRUB_MEMDISK);
	assert_int_equal(planner_image_method(&cfg, gm, IMAGE_CLIENT_UEFI_HTTP, 0, why, sizeof(why)),
	                 BOOT_METHOD_GRUB_MEMDISK);
	assert_int_equal(planner_image_method(&cfg, gm, IMAGE_CLIENT_BIOS, 0, why, sizeof(why)),
	                 BOOT_METHOD_MEMDISK);
	assert_non_null(strstr(why, "grub-memdisk needs UEFI"));
	char name[64];
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 9 };
	assert_int_equal(planner_http_boot_file(&cfg, mac, -1, 0, name, sizeof(name), why, sizeof(why)), 0);
	assert_string_equal(name, "x-grub.efi");
	const char *finals[4];
	assert_int_equal(planner_final_files(&cfg, gm, finals, 4), 2);
	assert_string_equal(finals[1], "x-grub.efi");
	config_free(&cfg);
}

static void
test_http_boot_file(void **state)
{
	(void)state;
	struct config cfg;
	load(&cfg, conf);
	char name[128], why[256];
	uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 1 };
	/* kernel profile: the firmware runs iPXE, which runs the script. */
	assert_int_equal(planner_http_boot_file(&cfg, mac, -1, 0, name, sizeof(name), why, sizeof(why)), 0);
	assert_string_equal(name, "snponly.efi");
	mac[5] = 2;
	assert_int_equal(planner_http_boot_file(&cfg, mac, -1, 0, name, sizeof(name), why, sizeof(why)), 0);
	assert_string_equal(name, "shell.efi");
	mac[5] = 3;
	assert_int_equal(planner_http_boot_file(&cfg, mac, -1, 0, name, sizeof(name), why, sizeof(why)),
	                 -ENOENT);
	mac[5] = 4;
	assert_int_equal(planner_http_boot_file(&cfg, mac, -1, 0, name, sizeof(name), why, sizeof(why)), 0);
	assert_string_equal(name, "rescue.iso");
	config_free(&cfg);
}

static void
test_final_files(void **state)
{
	(void)state;
	struct config cfg;
	load(&cfg, conf);
	const char *names[8];
	size_t n = planner_final_files(&cfg, bootconf_profile(cfg.boot, "linux"), names, 8);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "initrd.img");
	n = planner_final_files(&cfg, bootconf_profile(cfg.boot, "pxl"), names, 8);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "vmlinuz");
	n = planner_final_files(&cfg, bootconf_profile(cfg.boot, "farshell"), names, 8);
	assert_int_equal(n, 0);
	n = planner_final_files(&cfg, bootconf_profile(cfg.boot, "both"), names, 8);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "initrd.img");
	assert_string_equal(names[1], "rescue.iso");
	assert_int_equal(planner_final_files(&cfg, NULL, names, 8), 0);
	config_free(&cfg);
}

/* boot-once, booted: UEFI firmware gets no offer, BIOS PXE iPXE whatever the method,
 * iPXE its script (which boots the disk). */
static void
test_local_disk(void **state)
{
	(void)state;
	struct config cfg;
	load(&cfg, conf);
	static const struct {
		uint8_t host;
		enum firmware_kind kind;
		int arch;
		bool answer;
		const char *bootfile;
	} cases[] = {
		{ 1, FIRMWARE_UEFI_PXE, 7, false, "" },
		{ 1, FIRMWARE_UEFI_HTTP, 16, false, "" },
		{ 5, FIRMWARE_BIOS_PXE, 0, true, "undionly.kpxe" }, /* method pxelinux otherwise */
		{ 6, FIRMWARE_BIOS_PXE, 0, true, "undionly.kpxe" }, /* method grub otherwise */
		{ 1, FIRMWARE_IPXE, 7, true, "http://198.18.0.1:8080/boot/52:54:00:00:00:01.ipxe" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct machine m = { .mac = { 0x52, 0x54, 0, 0, 0, cases[i].host }, .kind = cases[i].kind,
			                 .arch_set = true, .arch = (uint16_t)cases[i].arch, .local_disk = true };
		inet_pton(AF_INET, "198.18.0.1", &m.server_ip);
		struct boot_answer a;
		assert_int_equal(planner_dhcp_answer(&cfg, &m, &a), 0);
		if (a.answer != cases[i].answer || strcmp(a.bootfile, cases[i].bootfile) != 0)
			fail_msg("case %zu: got answer=%d '%s' (%s)", i, a.answer, a.bootfile, a.reason);
		if (cases[i].kind != FIRMWARE_IPXE) /* iPXE's answer is the usual one; its script differs */
			assert_non_null(strstr(a.reason, "boot-once"));
	}
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dhcp_table),
		cmocka_unit_test(test_no_config_still_chains),
		cmocka_unit_test(test_arm64_default_loader),
		cmocka_unit_test(test_arm64_imgboot),
		cmocka_unit_test(test_arch_profile),
		cmocka_unit_test(test_urls_with_ipv6_listeners),
		cmocka_unit_test(test_ipxe_efi_by_config),
		cmocka_unit_test(test_image_methods),
		cmocka_unit_test(test_http_boot_file),
		cmocka_unit_test(test_final_files),
		cmocka_unit_test(test_local_disk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
