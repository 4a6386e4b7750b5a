#include "boot/mkgrub.h"

#include <errno.h>
#include <getopt.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/*
 * Modules for reading an ISO 9660 or partitioned disk from memory and
 * booting Linux from its grub.cfg with a serial console. GRUB 2.06 cannot
 * chainload an EFI binary out of its own memdisk ("not a valid root
 * device"), so images that need chainloader are out of reach: documented.
 */
static const char *const mkgrub_modules[] = {
	"memdisk", "iso9660", "fat", "ext2", "part_gpt", "part_msdos", "normal", "configfile",
	"linux", "echo", "test", "search", "search_fs_file", "search_fs_uuid", "search_label",
	"serial", "terminal", "efi_gop", "all_video", "regexp", "ls", "cat", "gzio", "halt",
	"reboot", "sleep",
};

size_t
mkgrub_early_config(char *buf, size_t len)
{
	/* A grub-mkrescue ISO keeps its config in /boot/grub; raw disks put it in
	 * a partition, often the ESP's /EFI/BOOT or /boot/grub. */
	int n = snprintf(buf, len,
	                 "set mkgrub_cfg=\n"
	                 "for dev in (memdisk) (memdisk,gpt1) (memdisk,gpt2) (memdisk,gpt3) "
	                 "(memdisk,msdos1) (memdisk,msdos2); do\n"
	                 "  for cfg in /boot/grub/grub.cfg /EFI/BOOT/grub.cfg /grub/grub.cfg; do\n"
	                 "    if [ -z \"$mkgrub_cfg\" -a -f \"$dev$cfg\" ]; then\n"
	                 "      set root=$dev\n"
	                 "      regexp --set=1:pfx '^(.*)/grub.cfg$' \"$cfg\"\n"
	                 "      set prefix=$dev$pfx\n"
	                 "      set mkgrub_cfg=$cfg\n"
	                 "    fi\n"
	                 "  done\n"
	                 "done\n"
	                 "if [ -n \"$mkgrub_cfg\" ]; then\n"
	                 "  configfile $root$mkgrub_cfg\n"
	                 "fi\n"
	                 "echo \"netbootd mkgrub: no grub.cfg found inside the image\"\n"
	                 "sleep 5\n"
	                 "exit\n");
	return n > 0 ? (size_t)n : 0;
}

static int
run_and_wait(char *const argv[])
{
	pid_t pid;
	int r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (r != 0) {
		fprintf(stderr, "netbootd mkgrub: cannot run %s: %s%s\n", argv[0], strerror(r),
		        r == ENOENT ? " (install grub-common and grub-efi-amd64-bin)" : "");
		return -1;
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "netbootd mkgrub: %s failed\n", argv[0]);
		return -1;
	}
	return 0;
}

int
mkgrub_build(const char *image, const char *out, const char *module_dir)
{
	struct stat st;
	char cfg_path[] = "/tmp/netbootd-mkgrub-XXXXXX";
	char cfg[2048];
	int ret = -1;

	if (!module_dir)
		module_dir = MKGRUB_DEFAULT_MODULE_DIR;
	if (stat(image, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "netbootd mkgrub: --image %s: %s\n", image,
		        errno ? strerror(errno) : "not a regular file");
		return -1;
	}
	char probe[4096];
	snprintf(probe, sizeof(probe), "%s/memdisk.mod", module_dir);
	if (access(probe, R_OK) < 0) {
		fprintf(stderr, "netbootd mkgrub: no GRUB EFI modules in %s (install grub-efi-amd64-bin)\n",
		        module_dir);
		return -1;
	}

	int fd = mkstemp(cfg_path);
	if (fd < 0) {
		fprintf(stderr, "netbootd mkgrub: temporary file: %s\n", strerror(errno));
		return -1;
	}
	size_t n = mkgrub_early_config(cfg, sizeof(cfg));
	if (n >= sizeof(cfg) || write(fd, cfg, n) != (ssize_t)n) {
		close(fd);
		goto out;
	}
	close(fd);

	char *argv[64];
	size_t a = 0;
	argv[a++] = (char *)(uintptr_t) "grub-mkimage";
	argv[a++] = (char *)(uintptr_t) "-O";
	argv[a++] = (char *)(uintptr_t) "x86_64-efi";
	argv[a++] = (char *)(uintptr_t) "-d";
	argv[a++] = (char *)(uintptr_t)module_dir;
	argv[a++] = (char *)(uintptr_t) "-o";
	argv[a++] = (char *)(uintptr_t)out;
	argv[a++] = (char *)(uintptr_t) "-p";
	argv[a++] = (char *)(uintptr_t) "(memdisk)/boot/grub";
	argv[a++] = (char *)(uintptr_t) "-c";
	argv[a++] = cfg_path;
	argv[a++] = (char *)(uintptr_t) "-m";
	argv[a++] = (char *)(uintptr_t)image;
	for (size_t i = 0; i < sizeof(mkgrub_modules) / sizeof(mkgrub_modules[0]); i++)
		argv[a++] = (char *)(uintptr_t)mkgrub_modules[i];
	argv[a] = NULL;
	ret = run_and_wait(argv);
	if (ret == 0)
		fprintf(stderr, "netbootd mkgrub: wrote %s (%s inside, %lld bytes)\n", out, image,
		        (long long)st.st_size);
out:
	unlink(cfg_path);
	return ret;
}

int
mkgrub_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "grub-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *image = NULL, *out = NULL, *dir = NULL;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "i:o:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			image = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			printf("Usage: netbootd mkgrub --image FILE -o grub.efi [--grub-dir DIR]\n"
			       "Build one GRUB EFI binary with FILE inside as its memdisk. It boots\n"
			       "the grub.cfg found in the image (GRUB-based images only: GRUB cannot\n"
			       "chainload an EFI binary out of its memdisk).\n");
			return 0;
		default:
			fprintf(stderr, "netbootd mkgrub: bad option '%s' (see --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (!image || !out || optind < argc) {
		fprintf(stderr, "netbootd mkgrub: usage: netbootd mkgrub --image FILE -o grub.efi\n");
		return 2;
	}
	return mkgrub_build(image, out, dir) == 0 ? 0 : 1;
}
