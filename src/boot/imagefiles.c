#include "boot/imagefiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/planner.h"
#include "boot/scripts.h"
#include "util/log.h"

/* ---- reading an image file ------------------------------------------------------- */

/* ctx points at the file descriptor. */
static int
fd_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const int *fd = ctx;
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(*fd, (uint8_t *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* shorter than it said */
		got += (size_t)n;
	}
	return 0;
}

int
imagefiles_inspect_fd(int fd, uint64_t size, struct image_info *info)
{
	struct image_reader rd = { fd_read, &fd, size };
	return image_inspect(&rd, info);
}

/* ---- start-up ---------------------------------------------------------------------- */

/* The served name whose transfer means the OS took over (the timeline's hand-off). */
static void
direct_final(const struct boot_profile *p, const struct image_info *info, char *buf, size_t len)
{
	if (info->root_file[0])
		snprintf(buf, len, "%s%s/%s", SCRIPTS_IMAGE_PREFIX, p->name, info->root_file);
	else if (info->kind == IMAGE_KIND_CASPER)
		snprintf(buf, len, "%s", p->image); /* casper fetches the whole ISO */
	else
		snprintf(buf, len, "%s%s/%s", SCRIPTS_IMAGE_PREFIX, p->name,
		         info->initrds[info->n_initrds - 1]);
}

int
imagefiles_setup(struct files *files, struct bootconf *bc)
{
	for (size_t i = 0; i < bootconf_profile_count(bc); i++) {
		const struct boot_profile *p = bootconf_profile_at(bc, i);
		struct file_source src;
		struct image_info info;
		char final[IMAGE_PATH_MAX * 2];

		if (p->kind != PROFILE_IMAGE || bootconf_is_url(p->image))
			continue;
		int r = files_open(files, p->image, strlen(p->image), NULL, &src);
		if (r == 0 && src.fd < 0)
			r = -EINVAL; /* a generated name is no image */
		if (r == 0)
			r = imagefiles_inspect_fd(src.fd, src.size, &info);
		file_source_release(&src);
		if (r < 0) {
			log_warn("image", "profile %s: cannot inspect %s: %s", p->name, p->image,
			         strerror(-r));
			if (p->method == BOOT_METHOD_PXELINUX || p->method == BOOT_METHOD_GRUB)
				return -1;
			continue;
		}
		if (!image_direct_ok(&info)) {
			log_info("image", "profile %s: %s is a %s; method direct cannot boot it (%s)",
			         p->name, p->image, image_kind_name(info.kind), info.why);
			if (p->method == BOOT_METHOD_DIRECT)
				log_warn("image", "profile %s: method direct refused, using auto", p->name);
			if (p->method == BOOT_METHOD_PXELINUX || p->method == BOOT_METHOD_GRUB) {
				/* No whole-image fallback exists through these loaders. */
				log_error("image", "profile %s: method %s on an image boots the image's own "
				                   "kernel and initrd, and %s has none netbootd can use",
				          p->name, boot_method_name(p->method), p->image);
				return -1;
			}
			continue;
		}
		direct_final(p, &info, final, sizeof(final));
		if (bootconf_set_profile_inspected(bc, i, &info, final) < 0)
			return -1;
		log_info("image", "profile %s: %s is %s: kernel %s, initrd %s%s%s (from %s); method "
		                  "direct needs about %llu MiB of RAM on the machine",
		         p->name, p->image, image_kind_name(info.kind), info.kernel, info.initrds[0],
		         info.root_file[0] ? ", root " : "", info.root_file,
		         info.config[0] ? info.config : "the layout",
		         (unsigned long long)image_direct_ram_mib(&info));
		if (!planner_direct_ok(bootconf_profile_at(bc, i)))
			log_warn("image", "profile %s: method %s boots the image's own loader, but %s "
			                  "then looks for its medium and does not find it over the "
			                  "network; method direct (or auto) would boot it",
			         p->name, boot_method_name(p->method), image_kind_name(info.kind));
	}
	return 0;
}

/* ---- serving files inside an image ------------------------------------------------- */

int
imagefiles_open(struct files *files, const struct bootconf *bc, const char *relpath,
                struct file_source *src)
{
	size_t pl = strlen(SCRIPTS_IMAGE_PREFIX);
	if (strncmp(relpath, SCRIPTS_IMAGE_PREFIX, pl) != 0)
		return -ENOENT;
	const char *name = relpath + pl;
	const char *slash = strchr(name, '/');
	if (!slash || slash == name || (size_t)(slash - name) > BOOTCONF_NAME_MAX)
		return -ENOENT;
	char pname[BOOTCONF_NAME_MAX + 1];
	memcpy(pname, name, (size_t)(slash - name));
	pname[slash - name] = '\0';
	const struct boot_profile *p = bootconf_profile(bc, pname);
	if (!p || p->kind != PROFILE_IMAGE || !p->inspected)
		return -ENOENT;

	/*
	 * relpath is src->path (files_open's generator call): src stays
	 * untouched unless this succeeds, so a miss falls through to the root
	 * under the name that was asked for.
	 */
	const char *inner = slash + 1;
	struct file_source img;
	int r = files_open(files, p->image, strlen(p->image), NULL, &img);
	if (r < 0)
		return r;
	if (img.fd < 0) {
		file_source_release(&img);
		return -ENOENT;
	}
	struct image_reader rd = { fd_read, &img.fd, img.size };
	struct iso_volume v;
	struct iso_entry e;
	r = iso_open(&rd, &v);
	if (r == 0)
		r = iso_lookup(&v, inner, &e);
	if (r == 0 && e.dir)
		r = -EISDIR;
	if (r < 0) {
		file_source_release(&img);
		return r == -EINVAL ? -EIO : r;
	}
	/* Byte ranges of one file: distinct ETags per inner file, the image's mtime. */
	img.inode ^= e.offset * 0x9e3779b97f4a7c15ull;
	img.offset = e.offset;
	img.size = e.size;
	snprintf(img.path, sizeof(img.path), "%s", relpath);
	*src = img;
	return 0;
}

/* ---- netbootd inspect --------------------------------------------------------------- */

static const char *
yes_no(bool b)
{
	return b ? "yes" : "no";
}

void
imagefiles_report(FILE *out, const char *name, const struct image_info *info)
{
	bool live = info->kind != IMAGE_KIND_UNKNOWN && info->kind != IMAGE_KIND_DISK;
	bool direct = image_direct_ok(info);
	bool uefi_boot = info->eltorito_efi || info->gpt;
	bool bios_boot = info->eltorito_bios || info->mbr;

	fprintf(out, "image:      %s (%llu MiB)\n", name, (unsigned long long)(info->size >> 20));
	fprintf(out, "type:       %s\n", image_kind_name(info->kind));
	if (info->iso)
		fprintf(out, "volume:     %s\n", info->volume_id);
	fprintf(out, "boots as:   BIOS %s (El Torito %s, MBR %s), UEFI %s (El Torito %s, GPT %s)\n",
	        yes_no(bios_boot), yes_no(info->eltorito_bios), yes_no(info->mbr), yes_no(uefi_boot),
	        yes_no(info->eltorito_efi), yes_no(info->gpt));
	if (info->kernel[0]) {
		fprintf(out, "kernel:     %s\n", info->kernel);
		for (size_t i = 0; i < info->n_initrds; i++)
			fprintf(out, "initrd:     %s\n", info->initrds[i]);
		fprintf(out, "cmdline:    %s\n", info->cmdline);
		fprintf(out, "from:       %s\n", info->config[0] ? info->config : "the layout");
	}
	if (info->root_file[0])
		fprintf(out, "root:       %s (%llu MiB)\n", info->root_file,
		        (unsigned long long)(info->root_bytes >> 20));
	if (direct) {
		char cmd[IMAGE_CMDLINE_MAX + 512];
		if (image_direct_cmdline(info, "http://SERVER/image/PROFILE", "http://SERVER/IMAGE", cmd,
		                         sizeof(cmd)) == 0)
			fprintf(out, "direct cmdline: %s\n", cmd);
	}
	fprintf(out, "\nmethods:\n");
	if (direct)
		fprintf(out, "  direct            works on BIOS, UEFI PXE and UEFI HTTP boot (through iPXE): "
		             "its kernel and initrd out of the image, %s; the target needs about %llu MiB "
		             "of RAM for it  [auto picks this]\n",
		        info->root_file[0] ? "the root fetched over HTTP into RAM"
		        : info->kind == IMAGE_KIND_CASPER ? "the whole ISO fetched over HTTP into RAM"
		                                          : "nothing else fetched",
		        (unsigned long long)image_direct_ram_mib(info));
	else
		fprintf(out, "  direct            no: %s\n", info->why);
	const char *after = live ? "then the OS looks for its medium and does not find it (BIOS "
	                           "INT 13h only)"
	                         : "an OS that needs the disk after its kernel starts will not find it";
	fprintf(out, "  memdisk (BIOS)    %s: the image's boot loader starts; %s\n",
	        bios_boot ? "boots" : "no BIOS boot entry", after);
	fprintf(out, "  sanboot (BIOS)    %s: the same, over HTTP with Range; %s\n",
	        bios_boot ? "boots" : "no BIOS boot entry", after);
	fprintf(out, "  imgboot, firmware-ramdisk (UEFI)  %s: the image becomes a RAM disk "
	             "(ACPI NFIT); Linux sees it as /dev/pmem0 only if its initramfs loads nfit and "
	             "nd_pmem (Debian's and Ubuntu's do not)\n",
	        uefi_boot ? "boots" : "no UEFI boot entry");
	fprintf(out, "  grub-memdisk (UEFI)  %s\n",
	        info->config[0] && strstr(info->config, "grub")
	                ? "GRUB image: its grub.cfg runs from memory; the OS then needs its medium too"
	                : "no: not a GRUB-based image");
}

int
imagefiles_inspect_main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("Usage: netbootd inspect IMAGE\n"
		       "Say what a disk image is (ISO 9660 live or installer layout, or a raw disk),\n"
		       "the kernel, initrd and command line its own boot config uses, and which\n"
		       "boot methods work for it on each firmware, with the reason.\n");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "netbootd inspect: usage: netbootd inspect IMAGE\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "netbootd inspect: %s: %s\n", argv[1], strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "netbootd inspect: %s: not a file\n", argv[1]);
		close(fd);
		return 1;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);
		size = end > 0 ? (uint64_t)end : 0;
	}
	struct image_info info;
	int r = imagefiles_inspect_fd(fd, size, &info);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "netbootd inspect: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	imagefiles_report(stdout, argv[1], &info);
	return 0;
}
