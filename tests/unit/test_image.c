/*
 * src/image/: the ISO 9660 reader over images built byte by byte here (plain,
 * Rock Ridge with a continuation area, Joliet, El Torito, and damaged ones),
 * boot config parsing, the direct command line per distribution, and the
 * planner's choice of method direct.
 */
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

#include "boot/planner.h"
#include "image/inspect.h"
#include "image/iso9660.h"
#include "model/bootconf.h"
#include "model/config.h"

/* ---- an ISO in memory ------------------------------------------------------------- */

#define SECTORS 40
#define S(n) ((size_t)(n) * ISO_SECTOR)

struct mem {
	uint8_t buf[S(SECTORS)];
	size_t size;
	unsigned reads;
};

static int
mem_read(void *ctx, uint64_t off, void *out, size_t len)
{
	struct mem *m = ctx;
	m->reads++;
	if (off > m->size || len > m->size - off)
		return -EIO;
	memcpy(out, m->buf + off, len);
	return 0;
}

static void
le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * (3 - i)));
}

/* A directory record at p: returns its length. su (may be NULL) is appended. */
static size_t
rec(uint8_t *p, uint32_t lba, uint32_t size, uint8_t flags, const void *id, uint8_t idlen,
    const void *su, uint8_t sulen)
{
	size_t len = 33u + idlen + ((idlen & 1) ? 0 : 1) + sulen;
	memset(p, 0, len);
	p[0] = (uint8_t)len;
	le32(p + 2, lba);
	be32(p + 6, lba);
	le32(p + 10, size);
	be32(p + 14, size);
	p[25] = flags;
	p[28] = 1;
	p[32] = idlen;
	memcpy(p + 33, id, idlen);
	if (su)
		memcpy(p + 33 + idlen + ((idlen & 1) ? 0 : 1), su, sulen);
	return len;
}

static void
vd(struct mem *m, unsigned sector, uint8_t type, uint32_t root_lba)
{
	uint8_t *p = m->buf + S(sector);
	p[0] = type;
	memcpy(p + 1, "CD001", 5);
	p[6] = 1;
	if (type == 1 || type == 2) {
		memset(p + 40, ' ', 32);
		memcpy(p + 40, "TESTVOL", 7);
		le32(p + 80, SECTORS);
		p[128] = 0x00;
		p[129] = 0x08; /* 2048, little-endian half */
		rec(p + 156, root_lba, ISO_SECTOR, 0x02, "\0", 1, NULL, 0);
	}
	if (type == 2) { /* Joliet level 3 */
		p[88] = '%';
		p[89] = '/';
		p[90] = 'E';
	}
}

/*
 * Layout: 16 PVD, 17 terminator (or more descriptors), 20 root, 21 LIVE dir,
 * 30 kernel data ("KERNEL"), 31 squashfs data.
 */
static void
plain_iso(struct mem *m)
{
	memset(m, 0, sizeof(*m));
	m->size = S(SECTORS);
	vd(m, 16, 1, 20);
	vd(m, 17, 255, 0);
	uint8_t *root = m->buf + S(20);
	size_t o = rec(root, 20, ISO_SECTOR, 0x02, "\0", 1, NULL, 0);
	o += rec(root + o, 20, ISO_SECTOR, 0x02, "\1", 1, NULL, 0);
	o += rec(root + o, 21, ISO_SECTOR, 0x02, "LIVE", 4, NULL, 0);
	uint8_t *live = m->buf + S(21);
	o = rec(live, 21, ISO_SECTOR, 0x02, "\0", 1, NULL, 0);
	o += rec(live + o, 20, ISO_SECTOR, 0x02, "\1", 1, NULL, 0);
	o += rec(live + o, 30, 6, 0, "VMLINUZ.;1", 10, NULL, 0);
	o += rec(live + o, 31, 100, 0, "FILESYST.SQU;1", 14, NULL, 0);
	memcpy(m->buf + S(30), "KERNEL", 6);
}

/* plain_iso, and the record of live/VMLINUZ (the third in its directory) to damage. */
static uint8_t *
kernel_record(struct mem *m)
{
	plain_iso(m);
	uint8_t *live = m->buf + S(21);
	size_t o = live[0];
	o += live[o];
	return live + o;
}

static void
open_ok(struct mem *m, struct image_reader *rd, struct iso_volume *v)
{
	*rd = (struct image_reader){ mem_read, m, m->size };
	assert_int_equal(iso_open(rd, v), 0);
}

static void
test_plain_names(void **state)
{
	(void)state;
	static struct mem m;
	struct image_reader rd;
	struct iso_volume v;
	struct iso_entry e;
	plain_iso(&m);
	open_ok(&m, &rd, &v);
	assert_int_equal(v.names, ISO_NAMES_PLAIN);
	assert_string_equal(v.volume_id, "TESTVOL");
	/* ";1" and the empty extension's '.' dropped, case ignored. */
	assert_int_equal(iso_lookup(&v, "live/vmlinuz", &e), 0);
	assert_int_equal(e.offset, S(30));
	assert_int_equal(e.size, 6);
	assert_false(e.dir);
	assert_int_equal(iso_lookup(&v, "/LIVE/VMLINUZ", &e), 0);
	assert_int_equal(iso_lookup(&v, "live/filesyst.squ", &e), 0);
	char buf[16];
	assert_int_equal(iso_lookup(&v, "live/vmlinuz", &e), 0);
	assert_int_equal(iso_read_file(&v, &e, buf, sizeof(buf)), 6);
	assert_string_equal(buf, "KERNEL");
	assert_int_equal(iso_read_file(&v, &e, buf, 6), -EFBIG); /* no room for the NUL */
	assert_int_equal(iso_lookup(&v, "live", &e), 0);
	assert_true(e.dir);
	assert_int_equal(iso_lookup(&v, "", &e), -EISDIR);
	assert_int_equal(iso_lookup(&v, "live/nothing", &e), -ENOENT);
	assert_int_equal(iso_lookup(&v, "live/vmlinuz/x", &e), -ENOTDIR);
	assert_int_equal(iso_lookup(&v, "live/../live/vmlinuz", &e), -ENOENT);
	assert_int_equal(iso_lookup(&v, "./live/vmlinuz", &e), -ENOENT);
}

static int
count_cb(void *ctx, const struct iso_entry *e)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

static void
test_list_skips_dot_entries(void **state)
{
	(void)state;
	static struct mem m;
	struct image_reader rd;
	struct iso_volume v;
	int n = 0;
	plain_iso(&m);
	open_ok(&m, &rd, &v);
	assert_int_equal(iso_list(&v, "live", count_cb, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(iso_list(&v, "live/vmlinuz", count_cb, &n), -ENOTDIR);
}

/* SUSP "SP" on the root's "." record, then NM entries on the files. */
static void
rock_ridge_iso(struct mem *m, bool continuation)
{
	plain_iso(m);
	static const uint8_t sp[7] = { 'S', 'P', 7, 1, 0xbe, 0xef, 0 };
	uint8_t *root = m->buf + S(20);
	memset(root, 0, ISO_SECTOR);
	size_t o = rec(root, 20, ISO_SECTOR, 0x02, "\0", 1, sp, sizeof(sp));
	o += rec(root + o, 20, ISO_SECTOR, 0x02, "\1", 1, NULL, 0);
	uint8_t nm_live[] = { 'N', 'M', 9, 1, 0, 'l', 'i', 'v', 'e' };
	o += rec(root + o, 21, ISO_SECTOR, 0x02, "LIVE", 4, nm_live, sizeof(nm_live));
	uint8_t *live = m->buf + S(21);
	memset(live, 0, ISO_SECTOR);
	o = rec(live, 21, ISO_SECTOR, 0x02, "\0", 1, NULL, 0);
	o += rec(live + o, 20, ISO_SECTOR, 0x02, "\1", 1, NULL, 0);
	uint8_t nm_k[] = { 'N', 'M', 25, 1, 0, 'v', 'm', 'l', 'i', 'n', 'u', 'z', '-', '6', '.',
		           '1', '.', '0', '-', '9', '-', 'a', 'm', 'd', '6' };
	o += rec(live + o, 30, 6, 0, "VMLINUZ_.;1", 11, nm_k, sizeof(nm_k));
	if (!continuation) {
		uint8_t nm_s[] = { 'N', 'M', 29, 1, 0, 'f', 'i', 'l', 'e', 's', 'y', 's', 't', 'e',
			           'm', '.', 's', 'q', 'u', 'a', 's', 'h', 'f', 's' };
		nm_s[2] = (uint8_t)sizeof(nm_s);
		rec(live + o, 31, 100, 0, "FILESYST.SQU;1", 14, nm_s, sizeof(nm_s));
		return;
	}
	/* "filesystem." in the record (CONTINUE flag), "squashfs" in a CE area at sector 25. */
	uint8_t su[16 + 28] = { 'N', 'M', 16, 1, 1, 'f', 'i', 'l', 'e', 's', 'y', 's', 't', 'e', 'm', '.' };
	uint8_t *ce = su + 16;
	ce[0] = 'C';
	ce[1] = 'E';
	ce[2] = 28;
	ce[3] = 1;
	le32(ce + 4, 25);
	be32(ce + 8, 25);
	le32(ce + 12, 64);
	be32(ce + 16, 64);
	le32(ce + 20, 13);
	be32(ce + 24, 13);
	rec(live + o, 31, 100, 0, "FILESYST.SQU;1", 14, su, 16 + 28);
	uint8_t area[13] = { 'N', 'M', 13, 1, 0, 's', 'q', 'u', 'a', 's', 'h', 'f', 's' };
	memcpy(m->buf + S(25) + 64, area, sizeof(area));
}

static void
test_rock_ridge_names(void **state)
{
	(void)state;
	static struct mem m;
	struct image_reader rd;
	struct iso_volume v;
	struct iso_entry e;
	for (int ce = 0; ce <= 1; ce++) {
		rock_ridge_iso(&m, ce);
		open_ok(&m, &rd, &v);
		assert_int_equal(v.names, ISO_NAMES_ROCK_RIDGE);
		assert_int_equal(iso_lookup(&v, "live/vmlinuz-6.1.0-9-amd6", &e), 0);
		assert_int_equal(e.offset, S(30));
		assert_int_equal(iso_lookup(&v, "live/filesystem.squashfs", &e), 0);
		assert_int_equal(e.size, 100);
		/* Rock Ridge names are POSIX names: exact case. */
		assert_int_equal(iso_lookup(&v, "LIVE/filesystem.squashfs", &e), -ENOENT);
		assert_int_equal(iso_lookup(&v, "live/VMLINUZ_", &e), -ENOENT);
	}
	/* A continuation area past the end of the image is damage, not a name. */
	rock_ridge_iso(&m, true);
	le32(m.buf + S(21) + 0, m.buf[S(21)]); /* keep "." as is */
	uint8_t *live = m.buf + S(21);
	size_t o = live[0];
	o += live[o];
	o += live[o]; /* the squashfs record */
	uint8_t *ce = live + o + 33 + 14 + 1 + 16;
	assert_int_equal(ce[0], 'C');
	le32(ce + 4, 100000);
	open_ok(&m, &rd, &v);
	assert_int_equal(iso_lookup(&v, "live/filesystem.squashfs", &e), -EINVAL);
}

static void
test_joliet_names(void **state)
{
	(void)state;
	static struct mem m;
	struct image_reader rd;
	struct iso_volume v;
	struct iso_entry e;
	plain_iso(&m);
	/* A Joliet tree at sector 22 with one UCS-2 name, announced by a SVD at 17. */
	vd(&m, 17, 2, 22);
	vd(&m, 18, 255, 0);
	uint8_t *root = m.buf + S(22);
	size_t o = rec(root, 22, ISO_SECTOR, 0x02, "\0", 1, NULL, 0);
	o += rec(root + o, 22, ISO_SECTOR, 0x02, "\1", 1, NULL, 0);
	static const uint8_t name[] = { 0, 'B', 0, 'o', 0, 'o', 0, 't', 0, 'X', 0xe4, 0x00, 0, ';', 0, '1' };
	rec(root + o, 30, 6, 0, name, sizeof(name), NULL, 0);
	open_ok(&m, &rd, &v);
	assert_int_equal(v.names, ISO_NAMES_JOLIET);
	assert_int_equal(iso_lookup(&v, "bootX\xee\x80\x80", &e), -ENOENT);
	assert_int_equal(iso_lookup(&v, "BootX\xee\x90\x80", &e), 0); /* U+E400 in UTF-8 */
	assert_int_equal(iso_lookup(&v, "bootx\xee\x90\x80", &e), 0);  /* case ignored */
	assert_int_equal(e.offset, S(30));
}

static void
test_eltorito_platforms(void **state)
{
	(void)state;
	static struct mem m;
	struct image_reader rd;
	struct iso_volume v;
	plain_iso(&m);
	uint8_t *br = m.buf + S(17);
	br[0] = 0;
	memcpy(br + 1, "CD001", 5);
	br[6] = 1;
	memcpy(br + 7, "EL TORITO SPECIFICATION", 23);
	le32(br + 0x47, 26);
	vd(&m, 18, 255, 0);
	uint8_t *cat = m.buf + S(26);
	cat[0] = 1;           /* validation entry, platform x86 */
	cat[30] = 0x55;
	cat[31] = 0xaa;
	cat[32] = 0x88;       /* default entry: bootable */
	cat[64] = 0x91;       /* last section header */
	cat[65] = 0xef;       /* UEFI */
	cat[96] = 0x88;
	open_ok(&m, &rd, &v);
	assert_true(v.eltorito && v.eltorito_bios && v.eltorito_efi);
}

static void
test_damaged_images(void **state)
{
	(void)state;
	static struct mem m;
	struct image_reader rd;
	struct iso_volume v;
	struct iso_entry e;

	/* Not an ISO, and one cut short before its descriptors. */
	memset(&m, 0, sizeof(m));
	m.size = S(SECTORS);
	rd = (struct image_reader){ mem_read, &m, m.size };
	assert_int_equal(iso_open(&rd, &v), -EINVAL);
	plain_iso(&m);
	rd.size = S(16) + 100;
	assert_int_equal(iso_open(&rd, &v), -EINVAL);
	/* No terminator and no end of descriptors: stops at the image's end. */
	for (unsigned s = 17; s < SECTORS; s++)
		vd(&m, s, 3, 0);
	rd.size = m.size;
	assert_int_equal(iso_open(&rd, &v), 0);

	/* A record longer than what is left of its sector (records never cross one). */
	plain_iso(&m);
	uint8_t *live = m.buf + S(21);
	size_t o = live[0];
	o += live[o];
	memset(live + o, 0, ISO_SECTOR - o);
	for (int i = 0; o < ISO_SECTOR - 100; i++) {
		char id[16];
		snprintf(id, sizeof(id), "F%05d", i % 100000);
		o += rec(live + o, 30, 6, 0, id, 6, NULL, 0);
	}
	rec(live + o, 30, 6, 0, "VMLINUZ", 7, NULL, 0);
	live[o] = 250;
	open_ok(&m, &rd, &v);
	assert_int_equal(iso_lookup(&v, "live/vmlinuz", &e), -EINVAL);

	/* A name longer than its record. */
	kernel_record(&m)[32] = 200;
	open_ok(&m, &rd, &v);
	assert_int_equal(iso_lookup(&v, "live/vmlinuz", &e), -EINVAL);

	/* A file whose extent lies past the end of the image. */
	le32(kernel_record(&m) + 2, 1000000);
	open_ok(&m, &rd, &v);
	assert_int_equal(iso_lookup(&v, "live/vmlinuz", &e), -EINVAL);

	/* Multi-extent files are refused, not half-served. */
	kernel_record(&m)[25] = 0x80;
	open_ok(&m, &rd, &v);
	assert_int_equal(iso_lookup(&v, "live/vmlinuz", &e), -EFBIG);

	/* A directory that contains itself: the walk is bounded by depth. */
	rec(kernel_record(&m), 21, ISO_SECTOR, 0x02, "LOOP", 4, NULL, 0);
	open_ok(&m, &rd, &v);
	char deep[512] = "live";
	for (int i = 0; i < 60; i++)
		strcat(deep, "/loop");
	assert_int_equal(iso_lookup(&v, deep, &e), -EINVAL);

	/* A directory size beyond any real one. */
	plain_iso(&m);
	le32(m.buf + S(16) + 156 + 10, 0x7fffffff);
	open_ok(&m, &rd, &v);
	assert_int_equal(iso_lookup(&v, "live", &e), -EINVAL);
}

/* ---- boot configs ----------------------------------------------------------------- */

static void
test_parse_boot_configs(void **state)
{
	(void)state;
	struct image_info info;

	memset(&info, 0, sizeof(info));
	assert_int_equal(image_parse_boot_config(
		"source /boot/grub/config.cfg\r\n"
		"menuentry \"Live system (amd64)\" --hotkey=l {\r\n"
		"\tlinux\t/live/vmlinuz-6.1.0-9-amd64 boot=live components quiet splash findiso=${iso_path}\r\n"
		"\tinitrd\t/live/initrd.img-6.1.0-9-amd64\r\n}\r\n"
		"menuentry \"second\" {\n linux /live/other\n}\n", &info), 0);
	assert_string_equal(info.kernel, "live/vmlinuz-6.1.0-9-amd64");
	assert_string_equal(info.cmdline, "boot=live components quiet splash findiso=${iso_path}");
	assert_int_equal(info.n_initrds, 1);
	assert_string_equal(info.initrds[0], "live/initrd.img-6.1.0-9-amd64");

	/* syslinux (archiso): INITRD with commas, APPEND after it, case-insensitive commands. */
	memset(&info, 0, sizeof(info));
	assert_int_equal(image_parse_boot_config(
		"DEFAULT arch\nLABEL arch64\nMENU LABEL Arch\nLINUX /arch/boot/x86_64/vmlinuz-linux\n"
		"INITRD /arch/boot/intel-ucode.img,/arch/boot/x86_64/initramfs-linux.img\n"
		"APPEND archisobasedir=arch archisosearchuuid=2023\nLABEL other\nLINUX /x\n", &info), 0);
	assert_string_equal(info.kernel, "arch/boot/x86_64/vmlinuz-linux");
	assert_int_equal(info.n_initrds, 2);
	assert_string_equal(info.initrds[1], "arch/boot/x86_64/initramfs-linux.img");
	assert_string_equal(info.cmdline, "archisobasedir=arch archisosearchuuid=2023");

	/* isolinux with initrd= on the append line; a GRUB device prefix. */
	memset(&info, 0, sizeof(info));
	assert_int_equal(image_parse_boot_config(
		"label live\n  kernel /live/vmlinuz\n  append initrd=/live/initrd.img boot=live\n", &info), 0);
	assert_int_equal(info.n_initrds, 1);
	assert_string_equal(info.initrds[0], "live/initrd.img");
	memset(&info, 0, sizeof(info));
	assert_int_equal(image_parse_boot_config("linuxefi ($root)/images/pxeboot/vmlinuz a=b\n"
	                                         "initrdefi ($root)/images/pxeboot/initrd.img\n", &info), 0);
	assert_string_equal(info.kernel, "images/pxeboot/vmlinuz");
	assert_string_equal(info.initrds[0], "images/pxeboot/initrd.img");

	/* Nothing to boot, an empty file, and more initrds than we keep. */
	memset(&info, 0, sizeof(info));
	assert_int_equal(image_parse_boot_config("set timeout=5\ninitrd /x\n", &info), -ENOENT);
	assert_int_equal(image_parse_boot_config("", &info), -ENOENT);
	assert_int_equal(image_parse_boot_config("linux /k\ninitrd /a /b /c /d /e /f\n", &info), 0);
	assert_int_equal(info.n_initrds, IMAGE_MAX_INITRDS);
}

/* ---- the direct command line ------------------------------------------------------ */

static void
test_direct_cmdlines(void **state)
{
	(void)state;
	static const struct {
		enum image_kind kind;
		const char *root_file;
		const char *own;
		const char *want;
	} cases[] = {
		{ IMAGE_KIND_DEBIAN_LIVE, "live/filesystem.squashfs",
		  "boot=live components quiet splash findiso=${iso_path} initrd=/live/initrd.img",
		  "boot=live components quiet splash fetch=http://S/image/p/live/filesystem.squashfs" },
		{ IMAGE_KIND_CASPER, "", "file=/cdrom/preseed/ubuntu.seed boot=casper iso-scan/filename=${iso} ---",
		  "file=/cdrom/preseed/ubuntu.seed boot=casper --- ip=dhcp netboot=url url=http://S/x.iso" },
		{ IMAGE_KIND_DRACUT_LIVE, "LiveOS/squashfs.img",
		  "root=live:CDLABEL=Fedora-39 rd.live.image rd.live.check quiet",
		  "quiet root=live:http://S/image/p/LiveOS/squashfs.img rd.live.image ip=dhcp" },
		{ IMAGE_KIND_ARCHISO, "arch/x86_64/airootfs.sfs", "archisosearchuuid=2023 cow_spacesize=1G",
		  "cow_spacesize=1G archisobasedir=arch archiso_http_srv=http://S/image/p/ ip=dhcp" },
		{ IMAGE_KIND_DEBIAN_INSTALLER, "", "vga=788 --- quiet BOOT_IMAGE=/install.amd/vmlinuz",
		  "vga=788 --- quiet" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct image_info info;
		char out[512];
		memset(&info, 0, sizeof(info));
		info.kind = cases[i].kind;
		snprintf(info.root_file, sizeof(info.root_file), "%s", cases[i].root_file);
		snprintf(info.cmdline, sizeof(info.cmdline), "%s", cases[i].own);
		assert_int_equal(image_direct_cmdline(&info, "http://S/image/p", "http://S/x.iso", out,
		                                      sizeof(out)), 0);
		assert_string_equal(out, cases[i].want);
		/* Too small for the result: refused, never cut. */
		assert_int_equal(image_direct_cmdline(&info, "http://S/image/p", "http://S/x.iso", out,
		                                      strlen(cases[i].want)), -ENOSPC);
	}
}

/* ---- the planner ------------------------------------------------------------------- */

static void
load(struct config *cfg, const char *text)
{
	char path[] = "/tmp/netbootd-img-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	config_init(cfg);
	assert_int_equal(config_load_file(cfg, path), 0);
	unlink(path);
}

static void
test_planner_direct(void **state)
{
	(void)state;
	struct config cfg;
	load(&cfg, "[profile live]\nimage = live.iso\n"
	           "[profile forced]\nimage = live.iso\nmethod = memdisk\n"
	           "[profile want]\nimage = other.iso\nmethod = direct\n");
	struct image_info info;
	memset(&info, 0, sizeof(info));
	info.kind = IMAGE_KIND_DEBIAN_LIVE;
	strcpy(info.kernel, "live/vmlinuz");
	strcpy(info.initrds[0], "live/initrd.img");
	info.n_initrds = 1;
	strcpy(info.root_file, "live/filesystem.squashfs");
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(bootconf_set_profile_inspected(cfg.boot, i, &info,
		                                                "image/live/live/filesystem.squashfs"), 0);
	const struct boot_profile *live = bootconf_profile(cfg.boot, "live");
	const struct boot_profile *forced = bootconf_profile(cfg.boot, "forced");
	const struct boot_profile *want = bootconf_profile(cfg.boot, "want");
	char why[160];
	static const enum image_client clients[] = { IMAGE_CLIENT_BIOS, IMAGE_CLIENT_UEFI,
		                                     IMAGE_CLIENT_UEFI_HTTP };
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(planner_image_method(&cfg, live, clients[i], 1 << 20, why, sizeof(why)),
		                 BOOT_METHOD_DIRECT);
		assert_non_null(strstr(why, "method direct (auto: Debian live (live-boot)"));
	}
	/* A forced method stays forced. */
	assert_int_equal(planner_image_method(&cfg, forced, IMAGE_CLIENT_BIOS, 1 << 20, why,
	                                      sizeof(why)), BOOT_METHOD_MEMDISK);
	/* direct on an image nobody recognised: auto, saying why. */
	assert_int_equal(planner_image_method(&cfg, want, IMAGE_CLIENT_UEFI, 1 << 20, why, sizeof(why)),
	                 BOOT_METHOD_IMGBOOT);
	assert_non_null(strstr(why, "direct needs an image netbootd recognises"));
	/* UEFI HTTP boot of a direct image: iPXE, which runs the script. */
	char name[128];
	uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 1 };
	struct config cfg2;
	load(&cfg2, "[default]\nprofile = live\n[profile live]\nimage = live.iso\n");
	assert_int_equal(bootconf_set_profile_inspected(cfg2.boot, 0, &info,
	                                                "image/live/live/filesystem.squashfs"), 0);
	assert_int_equal(planner_http_boot_file(&cfg2, mac, -1, 1 << 20, name, sizeof(name), why,
	                                        sizeof(why)), 0);
	assert_string_equal(name, "snponly.efi");
	/* The hand-off is the root the OS fetched. */
	const char *finals[4];
	assert_int_equal(planner_final_files(&cfg2, bootconf_profile(cfg2.boot, "live"), finals, 4), 1);
	assert_string_equal(finals[0], "image/live/live/filesystem.squashfs");
	config_free(&cfg);
	config_free(&cfg2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_names),
		cmocka_unit_test(test_list_skips_dot_entries),
		cmocka_unit_test(test_rock_ridge_names),
		cmocka_unit_test(test_joliet_names),
		cmocka_unit_test(test_eltorito_platforms),
		cmocka_unit_test(test_damaged_images),
		cmocka_unit_test(test_parse_boot_configs),
		cmocka_unit_test(test_direct_cmdlines),
		cmocka_unit_test(test_planner_direct),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
