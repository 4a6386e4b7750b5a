/* Generated documents: iPXE scripts (kernel, image, menu, retry), pxelinux.cfg, grub.cfg, imgboot. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/scripts.h"
#include "model/bootconf.h"
#include "model/config.h"

static struct config cfg;
static char *doc;
static size_t doc_len;

static const char conf[] =
	"[server]\nmemdisk-max-mb = 10\n"
	"[profile linux]\nkernel = boot/vmlinuz\ninitrd = boot/initrd.img\ninitrd = http://198.18.0.9/fw.cpio\n"
	"cmdline = console=ttyS0 marker=linux\ntitle = Debian Linux\n"
	"[profile small]\nimage = small.iso\n"
	"[profile big]\nimage = big.img\n"
	"[profile san]\nimage = http://198.18.0.9/disk.img\nmethod = sanboot\n"
	"[profile shell]\nefi = shell.efi\n"
	"[profile gm]\nimage = small.iso\nmethod = grub-memdisk\ngrub = small-grub.efi\n"
	"[profile far]\nchain = http://198.18.0.9/next.ipxe\n"
	"[profile m]\nmenu = linux shell\nmenu-default = shell\nmenu-timeout = 4\n"
	"[profile m0]\nmenu = linux\nmenu-timeout = 0\n"
	"[profile old]\nkernel = vmlinuz\ninitrd = a.img\ninitrd = b.img\ncmdline = quiet\nmethod = pxelinux\npxelinux = pxelinux.0\n"
	"[profile new]\nkernel = vmlinuz\nmethod = pxelinux\n";

static uint64_t
fake_size(void *ctx, const char *ref)
{
	(void)ctx;
	return strcmp(ref, "big.img") == 0 ? 11u << 20 : 1u << 20;
}

static const struct script_env env = {
	.cfg = &cfg,
	.base = "http://198.18.0.1:8080",
	.mac = "52:54:00:00:00:01",
	.image_size = fake_size,
};

static int
setup(void **state)
{
	(void)state;
	char path[] = "/tmp/netbootd-sc-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, conf, strlen(conf)) != (ssize_t)strlen(conf))
		return -1;
	close(fd);
	config_init(&cfg);
	int r = config_load_file(&cfg, path);
	unlink(path);
	return r;
}

static int
teardown(void **state)
{
	(void)state;
	config_free(&cfg);
	return 0;
}

static void
gen(int (*fn)(const struct script_env *, const struct boot_profile *, char **, size_t *),
    const char *profile)
{
	free(doc);
	doc = NULL;
	const struct boot_profile *p = profile ? bootconf_profile(cfg.boot, profile) : NULL;
	assert_int_equal(fn(&env, p, &doc, &doc_len), 0);
	assert_int_equal(strlen(doc), doc_len);
}

#define assert_has(needle)                                                              \
	do {                                                                            \
		if (!strstr(doc, needle))                                               \
			fail_msg("missing '%s' in:\n%s", needle, doc);                  \
	} while (0)
#define assert_lacks(needle)                                                            \
	do {                                                                            \
		if (strstr(doc, needle))                                                \
			fail_msg("unexpected '%s' in:\n%s", needle, doc);               \
	} while (0)

static void
test_ipxe_kernel(void **state)
{
	(void)state;
	gen(scripts_ipxe, "linux");
	assert_true(strncmp(doc, "#!ipxe\n", 7) == 0);
	assert_has("\nkernel http://198.18.0.1:8080/boot/vmlinuz initrd=initrd.img initrd=fw.cpio "
	           "console=ttyS0 marker=linux || goto p_linux_fail\n");
	assert_has("\ninitrd http://198.18.0.1:8080/boot/initrd.img || goto p_linux_fail\n");
	assert_has("\ninitrd http://198.18.0.9/fw.cpio || goto p_linux_fail\n");
	assert_has("\nboot || goto p_linux_fail\n");
	/* Retry on failure: back to the profile's label. */
	assert_has("\n:p_linux_fail\n");
	assert_has("\ngoto p_linux\n");
	/* The kernel comes before its initrds. */
	assert_true(strstr(doc, "\nkernel ") < strstr(doc, "\ninitrd "));
}

static void
test_ipxe_no_profile(void **state)
{
	(void)state;
	gen(scripts_ipxe, NULL);
	assert_has("no profile for 52:54:00:00:00:01");
	assert_has("\nexit 1\n");
	assert_lacks("kernel");
}

static void
test_ipxe_images(void **state)
{
	(void)state;
	gen(scripts_ipxe, "small");
	assert_has("iseq ${platform} efi && goto p_small_efi ||\n");
	assert_has("\nkernel http://198.18.0.1:8080/memdisk iso raw || goto p_small_fail\n");
	assert_has("\ninitrd http://198.18.0.1:8080/small.iso || goto p_small_fail\n");
	assert_has("\nchain http://198.18.0.1:8080/imgboot.efi small.iso || goto p_small_fail\n");
	/* Larger than memdisk-max-mb: BIOS sanboots instead, and the script says why. */
	gen(scripts_ipxe, "big");
	assert_has("\nsanboot http://198.18.0.1:8080/big.img || goto p_big_fail\n");
	assert_has("memdisk-max-mb 10");
	assert_lacks("memdisk raw");
	/* grub-memdisk: UEFI chains the mkgrub binary, BIOS falls back to auto (memdisk). */
	gen(scripts_ipxe, "gm");
	assert_has("\n:p_gm_efi\necho netbootd: image small.iso via grub-memdisk\n"
	           "chain http://198.18.0.1:8080/small-grub.efi || goto p_gm_fail\n");
	assert_has("\nkernel http://198.18.0.1:8080/memdisk iso raw || goto p_gm_fail\n");
	gen(scripts_ipxe, "san");
	assert_has("\nsanboot http://198.18.0.9/disk.img || goto p_san_fail\n");
	assert_lacks("imgboot.efi");
}

static void
test_ipxe_efi_chain(void **state)
{
	(void)state;
	gen(scripts_ipxe, "shell");
	assert_has("\nchain http://198.18.0.1:8080/shell.efi || goto p_shell_fail\n");
	gen(scripts_ipxe, "far");
	assert_has("\nchain http://198.18.0.9/next.ipxe || goto p_far_fail\n");
}

static void
test_ipxe_menu(void **state)
{
	(void)state;
	gen(scripts_ipxe, "m");
	assert_has("\nmenu m (netbootd, 52:54:00:00:00:01)\n");
	assert_has("\nitem p_linux Debian Linux\n");
	assert_has("\nitem p_shell shell\n");
	assert_has("\nchoose --timeout 4000 --default p_shell target || goto p_shell\ngoto ${target}\n");
	/* Every entry's body is in the same script. */
	assert_has("\n:p_linux\n");
	assert_has("\n:p_shell\n");
	gen(scripts_ipxe, "m0");
	assert_has("\nchoose --default p_linux target");
	assert_lacks("--timeout");
}

static void
test_pxelinux(void **state)
{
	(void)state;
	const struct boot_profile *p = bootconf_profile(cfg.boot, "old");
	/* pxelinux.0 speaks TFTP only: names, not URLs. */
	gen(scripts_pxelinux, "old");
	assert_has("DEFAULT old\n");
	assert_has("\n  KERNEL vmlinuz\n");
	assert_has("\n  INITRD a.img,b.img\n");
	assert_has("\n  APPEND quiet\n");
	(void)p;
	gen(scripts_pxelinux, "new");
	assert_has("\n  KERNEL http://198.18.0.1:8080/vmlinuz\n");
	assert_lacks("INITRD");
	assert_lacks("APPEND");
	char *out;
	size_t len;
	assert_int_equal(scripts_pxelinux(&env, bootconf_profile(cfg.boot, "shell"), &out, &len), -ENOENT);
	assert_int_equal(scripts_pxelinux(&env, NULL, &out, &len), -ENOENT);
}

static void
test_grub(void **state)
{
	(void)state;
	gen(scripts_grub, "linux");
	assert_has("\tlinux /boot/vmlinuz console=ttyS0 marker=linux\n");
	assert_has("\tinitrd /boot/initrd.img (http,198.18.0.9)/fw.cpio\n");
	assert_has("set timeout=0\n");
}

static void
test_imgboot(void **state)
{
	(void)state;
	gen(scripts_imgboot, "small");
	assert_string_equal(doc, "url=http://198.18.0.1:8080/small.iso\ntype=iso\n");
	gen(scripts_imgboot, "san");
	assert_string_equal(doc, "url=http://198.18.0.9/disk.img\ntype=disk\n");
	char *out;
	size_t len;
	assert_int_equal(scripts_imgboot(&env, bootconf_profile(cfg.boot, "linux"), &out, &len), -ENOENT);
	free(doc);
	doc = NULL;
}

/* boot-once, booted: every document sends the machine to its own disk. */
static void
test_local_disk(void **state)
{
	(void)state;
	struct script_env local = env;
	local.local_disk = true;
	const struct boot_profile *p = bootconf_profile(cfg.boot, "linux");
	char *out;
	size_t len;
	assert_int_equal(scripts_ipxe(&local, p, &out, &len), 0);
	assert_non_null(strstr(out, "iseq ${platform} pcbios && sanboot --no-describe --drive 0x80 ||\nexit\n"));
	assert_null(strstr(out, "kernel"));
	free(out);
	assert_int_equal(scripts_pxelinux(&local, p, &out, &len), 0);
	assert_non_null(strstr(out, "LOCALBOOT 0"));
	assert_null(strstr(out, "KERNEL"));
	free(out);
	assert_int_equal(scripts_grub(&local, p, &out, &len), 0);
	assert_non_null(strstr(out, "\nexit\n"));
	assert_null(strstr(out, "linux "));
	free(out);
	assert_int_equal(scripts_imgboot(&local, bootconf_profile(cfg.boot, "linux"), &out, &len),
	                 -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipxe_kernel),
		cmocka_unit_test(test_ipxe_no_profile),
		cmocka_unit_test(test_ipxe_images),
		cmocka_unit_test(test_ipxe_efi_chain),
		cmocka_unit_test(test_ipxe_menu),
		cmocka_unit_test(test_pxelinux),
		cmocka_unit_test(test_grub),
		cmocka_unit_test(test_imgboot),
		cmocka_unit_test(test_local_disk),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
