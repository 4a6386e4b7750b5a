#include "boot/mkgrub.h"

#include "util/appendf.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
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
 * The memdisk is a small tar: our boot/grub/grub.cfg plus the image as
 * "image". GRUB's normal mode reads $prefix/grub.cfg = (memdisk)/boot/grub/
 * grub.cfg by itself, and that script (full GRUB script: an embedded -c
 * config runs in the rescue parser, which has no `if`) loop-mounts the image
 * and hands over to the image's own grub.cfg.
 *
 * GRUB 2.06 cannot chainload an EFI binary out of its memdisk ("not a
 * valid root device"), so only images that boot through their own grub.cfg
 * (linux/initrd) work: documented in docs/boot-flows.md.
 */
static const char *const mkgrub_modules[] = {
	"memdisk", "tar", "loopback", "iso9660", "fat", "ext2", "part_gpt", "part_msdos",
	"normal", "configfile", "linux", "echo", "test", "search", "search_fs_file",
	"search_fs_uuid", "search_label", "serial", "terminal", "efi_gop", "all_video",
	"regexp", "ls", "cat", "gzio", "halt", "reboot", "sleep",
};

size_t
mkgrub_early_config(char *buf, size_t len)
{
	/* A grub-mkrescue ISO keeps its config in /boot/grub; raw disks put it
	 * in a partition, often the ESP's /EFI/BOOT or /boot/grub. */
	static const char *const devs[] = {
		"(mkgrub)", "(mkgrub,gpt1)", "(mkgrub,gpt2)", "(mkgrub,gpt3)",
		"(mkgrub,msdos1)", "(mkgrub,msdos2)",
	};
	static const char *const dirs[] = { "/boot/grub", "/EFI/BOOT", "/EFI/debian", "/grub" };
	size_t used = 0;

#define EMIT(...) (used = appendf(buf, len, used, __VA_ARGS__))
	EMIT("loopback mkgrub (memdisk)/image\n"
	     "set mkgrub_found=\n");
	for (size_t d = 0; d < sizeof(devs) / sizeof(devs[0]); d++) {
		for (size_t c = 0; c < sizeof(dirs) / sizeof(dirs[0]); c++) {
			EMIT("if [ -z \"$mkgrub_found\" ]; then\n"
			     "  if [ -f %s%s/grub.cfg ]; then\n"
			     "    set root=%s\n"
			     "    set prefix=%s%s\n"
			     "    set mkgrub_found=%s%s/grub.cfg\n"
			     "  fi\n"
			     "fi\n",
			     devs[d], dirs[c], devs[d], devs[d], dirs[c], devs[d], dirs[c]);
		}
	}
	EMIT("if [ -n \"$mkgrub_found\" ]; then\n"
	     "  configfile $mkgrub_found\n"
	     "fi\n"
	     "echo \"netbootd mkgrub: no grub.cfg found inside the image\"\n"
	     "sleep 5\n"
	     "exit\n");
#undef EMIT
	return used;
}

static int
run_and_wait(char *const argv[])
{
	pid_t pid;
	int r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (r != 0) {
		fprintf(stderr, "netbootd mkgrub: cannot run %s: %s%s\n", argv[0], strerror(r),
		        r == ENOENT ? " (install grub-common, grub-efi-amd64-bin and tar)" : "");
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

static int
write_text(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, text, len);
	close(fd);
	return w == (ssize_t)len ? 0 : -1;
}

#define ARG(s) ((char *)(uintptr_t)(s))

/* tmp/tree/{boot/grub/grub.cfg, image -> the image}, packed into tarfile
 * (the link followed: the tar holds the image's bytes). 0 or -1, said. */
static int
memdisk_tar(const char *tmp, const char *abs_image, const char *tarfile)
{
	char path[PATH_MAX + 64], cfg[8192];
	snprintf(path, sizeof(path), "%s/tree/boot/grub", tmp);
	if (fs_mkdir_p(path) < 0) {
		fprintf(stderr, "netbootd mkgrub: cannot make %s\n", path);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/tree/boot/grub/grub.cfg", tmp);
	size_t n = mkgrub_early_config(cfg, sizeof(cfg));
	if (n >= sizeof(cfg) || write_text(path, cfg, n) < 0) {
		fprintf(stderr, "netbootd mkgrub: cannot write %s\n", path);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/tree/image", tmp);
	if (symlink(abs_image, path) < 0) {
		fprintf(stderr, "netbootd mkgrub: %s: %s\n", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/tree", tmp);
	char *tar_argv[] = { ARG("tar"), ARG("--format=gnu"), ARG("-chf"), ARG(tarfile),
		             ARG("-C"), path, ARG("boot"), ARG("image"), NULL };
	return run_and_wait(tar_argv);
}

int
mkgrub_build(const char *image, const char *out, const char *module_dir)
{
	struct stat st;
	char tmp[] = "/tmp/netbootd-mkgrub-XXXXXX";
	char path[PATH_MAX + 64], tarfile[PATH_MAX + 64], abs_image[PATH_MAX];
	int ret = -1;

	if (!module_dir)
		module_dir = MKGRUB_DEFAULT_MODULE_DIR;
	errno = 0;
	if (stat(image, &st) < 0 || !S_ISREG(st.st_mode) || !realpath(image, abs_image)) {
		fprintf(stderr, "netbootd mkgrub: --image %s: %s\n", image,
		        errno ? strerror(errno) : "not a regular file");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/memdisk.mod", module_dir);
	if (access(path, R_OK) < 0) {
		fprintf(stderr, "netbootd mkgrub: no GRUB EFI modules in %s (install grub-efi-amd64-bin)\n",
		        module_dir);
		return -1;
	}
	if (!mkdtemp(tmp)) {
		fprintf(stderr, "netbootd mkgrub: temporary directory: %s\n", strerror(errno));
		return -1;
	}

	snprintf(tarfile, sizeof(tarfile), "%s/memdisk.tar", tmp);
	if (memdisk_tar(tmp, abs_image, tarfile) < 0)
		goto out;

	char *argv[64];
	size_t a = 0;
	argv[a++] = ARG("grub-mkimage");
	argv[a++] = ARG("-O");
	argv[a++] = ARG("x86_64-efi");
	argv[a++] = ARG("-d");
	argv[a++] = ARG(module_dir);
	argv[a++] = ARG("-o");
	argv[a++] = ARG(out);
	argv[a++] = ARG("-p");
	argv[a++] = ARG("(memdisk)/boot/grub");
	argv[a++] = ARG("-m");
	argv[a++] = tarfile;
	for (size_t i = 0; i < sizeof(mkgrub_modules) / sizeof(mkgrub_modules[0]); i++)
		argv[a++] = ARG(mkgrub_modules[i]);
	argv[a] = NULL;
	ret = run_and_wait(argv);
	if (ret == 0)
		fprintf(stderr, "netbootd mkgrub: wrote %s (%s inside, %lld bytes)\n", out, image,
		        (long long)st.st_size);
out:
	snprintf(path, sizeof(path), "%s/tree/boot/grub/grub.cfg", tmp);
	unlink(path);
	snprintf(path, sizeof(path), "%s/tree/image", tmp);
	unlink(path);
	static const char *const dirs[] = { "tree/boot/grub", "tree/boot", "tree" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp, dirs[i]);
		rmdir(path);
	}
	snprintf(path, sizeof(path), "%s/memdisk.tar", tmp);
	unlink(path);
	rmdir(tmp);
	return ret;
}

int
mkgrub_build_net(const char *module_dir, const char *format, const char *prefix,
                 const char *net_module, const char *out)
{
	char kernel[PATH_MAX];
	snprintf(kernel, sizeof(kernel), "%s/kernel.img", module_dir);
	if (access(kernel, R_OK) < 0) {
		fprintf(stderr, "netbootd: no GRUB modules in %s (install %s)\n", module_dir,
		        strcmp(format, "i386-pc-pxe") == 0   ? "grub-pc-bin"
		        : strcmp(format, "arm64-efi") == 0 ? "grub-efi-arm64-bin"
		                                           : "grub-efi-amd64-bin");
		return -1;
	}
	/* What grub-mknetdir runs, with our prefix: the image holds only the
	 * network driver and TFTP; normal.mod and the rest come over TFTP. */
	char *argv[] = { ARG("grub-mkimage"), ARG("-O"), ARG(format), ARG("-d"), ARG(module_dir),
		         ARG("-o"), ARG(out), ARG("-p"), ARG(prefix), ARG("tftp"), ARG(net_module),
		         NULL };
	return run_and_wait(argv);
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
