/* The planner's config sections: [default], [profile], [host], [arch]; errors name file:line. */
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

#include "model/bootconf.h"
#include "model/config.h"
#include "model/machine.h"

static char conf_path[64];
static char err_text[8192];

/* Load text as a config file; stderr is captured into err_text. Returns the error count. */
static int
load(struct config *cfg, const char *text)
{
	snprintf(conf_path, sizeof(conf_path), "/tmp/netbootd-bc-XXXXXX");
	int fd = mkstemp(conf_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	char errpath[] = "/tmp/netbootd-bc-err-XXXXXX";
	int efd = mkstemp(errpath);
	assert_true(efd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(efd, 2);
	config_init(cfg);
	int r = config_load_file(cfg, conf_path);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(efd, 0, SEEK_SET);
	ssize_t n = read(efd, err_text, sizeof(err_text) - 1);
	err_text[n > 0 ? n : 0] = '\0';
	close(efd);
	unlink(errpath);
	unlink(conf_path);
	return r;
}

/* err_text holds "<path>:<line>: " followed by needle. */
static void
assert_error_at(int line, const char *needle)
{
	char want[128];
	snprintf(want, sizeof(want), "%s:%d: ", conf_path, line);
	const char *at = strstr(err_text, want);
	if (!at || !strstr(at, needle))
		fail_msg("want '%s...%s' in:\n%s", want, needle, err_text);
}

static const char full[] =
	"[server]\n"
	"memdisk-max-mb = 64\n"
	"[default]\n"
	"profile = menu\n"
	"[profile linux]\n"
	"kernel = vmlinuz\n"
	"initrd = initrd.img\n"
	"initrd = extra.img\n"
	"cmdline = console=ttyS0 quiet\n"
	"title = Debian Linux\n"
	"[profile rescue]\n"
	"image = rescue.iso\n"
	"method = memdisk\n"
	"[profile shell]\n"
	"efi = shell.efi\n"
	"[profile far]\n"
	"chain = http://boot.example/boot.ipxe\n"
	"[profile menu]\n"
	"menu = linux, rescue shell\n"
	"menu-default = rescue\n"
	"menu-timeout = 3\n"
	"[profile old]\n"
	"kernel = vmlinuz\n"
	"method = pxelinux\n"
	"pxelinux = pxelinux.0\n"
	"[host 52:54:00:00:00:01]\n"
	"profile = linux\n"
	"hostname = node1\n"
	"address = 198.18.0.50\n"
	"[host 52-54-00-00-00-02]\n"
	"profile = old\n"
	"[arch arm64-uefi]\n"
	"loader = arm64/ipxe.efi\n"
	"[arch 28]\n"
	"loader = http://boot.example/riscv.efi\n";

static void
test_full_config(void **state)
{
	(void)state;
	struct config cfg;
	assert_int_equal(load(&cfg, full), 0);
	assert_int_equal(cfg.memdisk_max_mb, 64);
	const struct boot_profile *p = bootconf_profile(cfg.boot, "linux");
	assert_non_null(p);
	assert_int_equal(p->kind, PROFILE_KERNEL);
	assert_string_equal(p->kernel, "vmlinuz");
	assert_int_equal(p->n_initrds, 2);
	assert_string_equal(p->initrds[1], "extra.img");
	assert_string_equal(p->cmdline, "console=ttyS0 quiet");
	assert_string_equal(p->title, "Debian Linux");

	p = bootconf_profile(cfg.boot, "rescue");
	assert_int_equal(p->kind, PROFILE_IMAGE);
	assert_int_equal(p->method, BOOT_METHOD_MEMDISK);
	assert_int_equal(bootconf_profile(cfg.boot, "shell")->kind, PROFILE_EFI);
	assert_int_equal(bootconf_profile(cfg.boot, "far")->kind, PROFILE_CHAIN);

	p = bootconf_profile(cfg.boot, "menu");
	assert_int_equal(p->kind, PROFILE_MENU);
	assert_int_equal(p->n_menu, 3);
	assert_string_equal(p->menu[2], "shell");
	assert_string_equal(p->menu_default, "rescue");
	assert_int_equal(p->menu_timeout, 3);

	uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 1 };
	const struct boot_host *h = bootconf_host(cfg.boot, mac);
	assert_non_null(h);
	assert_string_equal(h->hostname, "node1");
	assert_true(h->address_set);
	assert_int_equal(ntohl(h->address.s_addr), 0xC6120032);
	assert_string_equal(bootconf_profile_for(cfg.boot, mac)->name, "linux");
	mac[5] = 2; /* written with dashes */
	assert_string_equal(bootconf_profile_for(cfg.boot, mac)->name, "old");
	mac[5] = 3; /* unknown host: [default] */
	assert_string_equal(bootconf_profile_for(cfg.boot, mac)->name, "menu");

	assert_string_equal(bootconf_arch_loader(cfg.boot, ARCH_ARM64_UEFI), "arm64/ipxe.efi");
	assert_string_equal(bootconf_arch_loader(cfg.boot, 28), "http://boot.example/riscv.efi");
	assert_null(bootconf_arch_loader(cfg.boot, ARCH_X64_UEFI));
	config_free(&cfg);
}

static void
test_no_default(void **state)
{
	(void)state;
	struct config cfg;
	assert_int_equal(load(&cfg, "[profile a]\nkernel = k\n"), 0);
	uint8_t mac[6] = { 1, 2, 3, 4, 5, 6 };
	assert_null(bootconf_profile_for(cfg.boot, mac));
	config_free(&cfg);
}

static void
test_ebc_falls_back_to_x64(void **state)
{
	(void)state;
	struct config cfg;
	assert_int_equal(load(&cfg, "[arch x64-uefi]\nloader = ipxe.efi\n"), 0);
	assert_string_equal(bootconf_arch_loader(cfg.boot, ARCH_EBC), "ipxe.efi");
	config_free(&cfg);
}

struct bad_case {
	const char *text;
	int line;
	const char *needle;
};

static const struct bad_case bad_cases[] = {
	{ "[profile a]\nkernel = k\nbogus = 1\n", 3, "unknown key 'bogus'" },
	{ "[profile a b]\nkernel = k\n", 2, "not a valid profile name" },
	{ "[profile a]\nkernel = k\nmethod = floppy\n", 3, "method: 'floppy'" },
	{ "[profile a]\nchain = ftp://x/y\n", 2, "chain: 'ftp://x/y'" },
	{ "[profile a]\nkernel = my kernel\n", 2, "kernel: 'my kernel'" },
	{ "[profile a]\nkernel = k\nmenu-timeout = -1\n", 3, "menu-timeout" },
	{ "[profile a]\nkernel = k\nmenu-timeout = 99999\n", 3, "menu-timeout" },
	{ "[profile a]\nmenu = b,,$x\n", 2, "is not a profile name" },
	{ "[profile a]\nkernel = k\ntitle = ${evil}\n", 3, "title" },
	{ "[host 52:54:00:00:00]\nprofile = a\n", 2, "is not a MAC address" },
	{ "[host 52:54:00:00:00:01]\naddress = 10.0.0\n", 2, "address: '10.0.0'" },
	{ "[host 52:54:00:00:00:01]\nhostname = a_b\n", 2, "hostname" },
	{ "[host 52:54:00:00:00:01]\nrole = x\n", 2, "unknown key 'role'" },
	{ "[arch mips]\nloader = x\n", 2, "'mips' is not an architecture" },
	{ "[arch 70000]\nloader = x\n", 2, "is not an architecture" },
	{ "[arch arm64-uefi]\nfile = x\n", 2, "unknown key 'file'" },
	{ "[arch arm64-uefi]\nprofile = a b\n", 2, "profile: 'a b' is not a profile name" },
	{ "[default]\nkernel = x\n", 2, "unknown key 'kernel'" },
	{ "[nonsense]\nx = 1\n", 2, "unknown section" },
	{ "[hosts 52:54:00:00:00:01]\nx = 1\n", 2, "unknown section" },
	/*
	 * Cross references are checked once the whole file is read; a profile's
	 * line is that of its first key (inih reports keys, not section headers).
	 */
	{ "[default]\nprofile = nope\n", 2, "[default]: profile: no profile 'nope'" },
	{ "[profile a]\nkernel = k\n[arch arm64-uefi]\nloader = x.efi\nprofile = arm\n", 5,
	  "[arch arm64-uefi]: profile: no profile 'arm'" },
	{ "[profile a]\nkernel = k\n[host 52:54:00:00:00:01]\nhostname = h\nprofile = b\n", 5,
	  "no profile 'b'" },
	{ "[profile a]\nkernel = k\nimage = i.iso\n", 2, "exactly one of" },
	{ "[profile a]\ncmdline = x\n", 2, "exactly one of" },
	{ "[profile a]\nefi = x.efi\ncmdline = quiet\n", 2, "cmdline needs kernel or image" },
	/* pxelinux and grub boot an image's own kernel through that loader; ipxe names no image method. */
	{ "[profile a]\nimage = x.iso\nmethod = ipxe\n", 2, "does not boot an image" },
	{ "[profile a]\nkernel = k\nmethod = memdisk\n", 2, "needs image" },
	{ "[profile a]\nefi = e.efi\nmethod = grub\n", 2, "needs kernel" },
	{ "[profile a]\nimage = x.iso\ngrub = g.efi\n", 2, "grub is for method grub or grub-memdisk" },
	{ "[profile m]\nmenu = x\n", 2, "menu: no profile 'x'" },
	{ "[profile a]\nkernel = k\n[profile m]\nmenu = a\nmenu-default = b\n", 4,
	  "menu-default: 'b' is not in the menu" },
	{ "[profile a]\nkernel = k\n[profile m]\nmenu = a\n[profile n]\nmenu = m\n", 6,
	  "'m' is a menu itself" },
};

static void
test_bad_configs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct config cfg;
		int r = load(&cfg, bad_cases[i].text);
		if (r == 0)
			fail_msg("case %zu accepted:\n%s", i, bad_cases[i].text);
		assert_error_at(bad_cases[i].line, bad_cases[i].needle);
		config_free(&cfg);
	}
}

static void
test_quick_profiles(void **state)
{
	(void)state;
	struct config cfg;
	assert_int_equal(load(&cfg, "[default]\nprofile = a\n[profile a]\nkernel = k\n"), 0);
	const char *initrds[] = { "quick/initrd0" };
	assert_int_equal(bootconf_add_quick_kernel(cfg.boot, "quick/linux", initrds, 1, "quiet"), 0);
	uint8_t mac[6] = { 1, 2, 3, 4, 5, 6 };
	/* The command line's quick mode wins over [default]. */
	const struct boot_profile *p = bootconf_profile_for(cfg.boot, mac);
	assert_string_equal(p->name, "quick");
	assert_int_equal(p->kind, PROFILE_KERNEL);
	assert_string_equal(p->cmdline, "quiet");
	assert_int_equal(bootconf_add_quick_image(cfg.boot, "x.iso", NULL), -EEXIST);
	config_free(&cfg);

	config_init(&cfg);
	assert_int_equal(bootconf_add_quick_image(cfg.boot, "quick/image.iso", "ipxe"), -EINVAL);
	assert_int_equal(bootconf_add_quick_image(cfg.boot, "quick/image.iso", "sanboot"), 0);
	p = bootconf_profile_for(cfg.boot, mac);
	assert_int_equal(p->kind, PROFILE_IMAGE);
	assert_int_equal(p->method, BOOT_METHOD_SANBOOT);
	config_free(&cfg);
}

static void
test_method_names(void **state)
{
	(void)state;
	for (int m = 0; m < BOOT_METHOD_COUNT; m++)
		assert_int_equal(boot_method_parse(boot_method_name((enum boot_method)m)), m);
	assert_int_equal(boot_method_parse("AUTO"), -1);
	assert_true(boot_method_is_image(BOOT_METHOD_SANBOOT));
	assert_false(boot_method_is_image(BOOT_METHOD_PXELINUX));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_no_default),
		cmocka_unit_test(test_ebc_falls_back_to_x64),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_quick_profiles),
		cmocka_unit_test(test_method_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
