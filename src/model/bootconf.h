/*
 * The planner's part of the config file: [default], [profile NAME],
 * [host MAC] and [arch NAME]. config.c hands every non-[server] entry here.
 * See netbootd.conf(5) for every key.
 *
 * The structures are public and read-only for the planner and the
 * generators; only this module builds them.
 */
#ifndef NETBOOTD_MODEL_BOOTCONF_H
#define NETBOOTD_MODEL_BOOTCONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct image_info;

#define BOOTCONF_MAX_INITRDS 8
#define BOOTCONF_MAX_MENU 16
#define BOOTCONF_NAME_MAX 63
#define BOOTCONF_DEFAULT_MENU_TIMEOUT 10 /* seconds */

/*
 * How a profile reaches the OS. The first group applies to kernel, efi,
 * chain and menu profiles (which loader chain runs the generated config);
 * the second to disk images (profile `image`). `auto` picks per client.
 */
enum boot_method {
	BOOT_METHOD_AUTO,
	BOOT_METHOD_IPXE,             /* iPXE script (kernel/efi/chain/menu) */
	BOOT_METHOD_PXELINUX,         /* (l)pxelinux.0 + pxelinux.cfg/01-<mac> */
	BOOT_METHOD_GRUB,             /* GRUB netboot image + grub.cfg-01-<mac> */
	BOOT_METHOD_IMGBOOT,          /* UEFI: iPXE initrd + imgboot.efi, or imgboot.efi alone */
	BOOT_METHOD_FIRMWARE_RAMDISK, /* UEFI HTTP boot of the .iso/.img URL */
	BOOT_METHOD_MEMDISK,          /* BIOS: syslinux memdisk via iPXE */
	BOOT_METHOD_SANBOOT,          /* iPXE sanboot http://... (HEAD + Range) */
	BOOT_METHOD_GRUB_MEMDISK,     /* UEFI: grub.efi with the image inside */
	BOOT_METHOD_DIRECT,           /* the image's own kernel + initrd, root over HTTP (image/inspect.h) */
	BOOT_METHOD_COUNT,
};

const char *boot_method_name(enum boot_method m);
/* Returns the method or -1. */
int boot_method_parse(const char *name);
/* True for the methods that boot a disk image. */
bool boot_method_is_image(enum boot_method m);

enum profile_kind {
	PROFILE_EMPTY,  /* nothing set yet: an error at bootconf_finish */
	PROFILE_KERNEL, /* kernel + initrd(s) + cmdline */
	PROFILE_IMAGE,  /* image (+ method) */
	PROFILE_EFI,    /* any EFI binary */
	PROFILE_CHAIN,  /* a URL iPXE chains to */
	PROFILE_MENU,   /* a menu of other profiles */
};

const char *profile_kind_name(enum profile_kind k);

/*
 * File references (kernel, initrd, image, efi) are names served by netbootd
 * (beneath --root, a boot loader directory, or a quick-mode alias), or
 * absolute http:// / https:// URLs served by someone else.
 */
struct boot_profile {
	char *name;
	char *title;                /* menu text; default: the name */
	enum profile_kind kind;
	enum boot_method method;
	char *kernel;
	char *initrds[BOOTCONF_MAX_INITRDS];
	size_t n_initrds;
	char *cmdline;
	char *image;
	char *efi;
	char *chain;
	char *menu[BOOTCONF_MAX_MENU];
	size_t n_menu;
	unsigned menu_timeout;      /* seconds */
	char *menu_default;         /* default entry; default: the first */
	char *pxelinux;             /* loader for method pxelinux (default lpxelinux.0) */
	char *grub;                 /* loader for method grub (default per firmware) */
	/*
	 * An image profile whose image was inspected at start-up: what it is and
	 * how its OS finds its root (method direct). NULL for URLs, non-images,
	 * or an image that could not be read.
	 */
	struct image_info *inspected;
	char *direct_final;          /* the file the OS fetches last under direct (hand-off) */
	int line;                   /* where [profile NAME] started */
};

struct boot_host {
	uint8_t mac[6];
	char *profile;
	char *hostname;
	bool address_set;
	struct in_addr address;     /* fixed address in server mode */
	/*
	 * Network-boot once: after the booted OS reports in (/api/v1/booted),
	 * the machine is sent to its local disk until that is reset.
	 */
	bool boot_once;
	const char *file;           /* the hosts-dir file it came from; NULL: the config file */
	int line;
	int profile_line;
};

struct boot_arch {
	uint16_t arch;              /* option 93 value */
	char *loader;               /* file (PXE) or URL/file (HTTP boot) */
	char *profile;              /* machines of this arch without a [host] profile */
	int line;
	int profile_line;
};

struct bootconf;

struct bootconf *bootconf_new(void);
void bootconf_free(struct bootconf *bc);

/* config.c tells us the line of the entry it is about to hand over. */
void bootconf_note_line(struct bootconf *bc, int line);
/*
 * ... and the file, when it is not the config file (NULL): a hosts-dir
 * file. A [host] may be in one file only. Returns 0 or -ENOMEM.
 */
int bootconf_note_file(struct bootconf *bc, const char *path);

/* One INI entry. Returns 0, or -1 with a message in err (config.c adds file:line). */
int bootconf_ini_entry(struct bootconf *bc, const char *section, const char *key,
                       const char *value, char *err, size_t errlen);

/* One problem found by bootconf_finish, at path:line (the config front end prints it). */
typedef void (*bootconf_report_fn)(void *ctx, const char *path, int line, const char *msg);

/*
 * After the whole file: cross-references (profiles named by hosts and menus
 * exist, every profile says what to boot). Each problem goes to report
 * (may be NULL); returns 0 or -1.
 */
int bootconf_finish(struct bootconf *bc, const char *path, bootconf_report_fn report, void *ctx);

/*
 * Quick mode: a profile named "quick" that becomes the default (the command
 * line wins over [default] profile). kernel/initrds/image are served names.
 * Returns 0 or -errno.
 */
int bootconf_add_quick_kernel(struct bootconf *bc, const char *kernel, const char *const *initrds,
                              size_t n_initrds, const char *cmdline);
int bootconf_add_quick_image(struct bootconf *bc, const char *image, const char *method);

/* Lookups; NULL when absent. */
const struct boot_profile *bootconf_profile(const struct bootconf *bc, const char *name);
const struct boot_host *bootconf_host(const struct bootconf *bc, const uint8_t mac[6]);
/* The host's profile, else [default] profile, else NULL (an override first, when set). */
const struct boot_profile *bootconf_profile_for(const struct bootconf *bc, const uint8_t mac[6]);
/* The same with the machine's option 93 (-1: not known yet): between the
 * host's profile and [default] comes its [arch] profile. */
const struct boot_profile *bootconf_profile_for_arch(const struct bootconf *bc,
                                                     const uint8_t mac[6], int arch);

/*
 * Someone who decides before the config does (the decision API): its
 * profile for mac, or NULL to let the config decide. bc is the bootconf
 * asked, for profiles named by the decision.
 */
typedef const struct boot_profile *(*bootconf_override_fn)(void *ctx, const struct bootconf *bc,
                                                          const uint8_t mac[6]);
void bootconf_set_override(struct bootconf *bc, bootconf_override_fn fn, void *ctx);
/* [arch] loader for this option 93 value (9 falls back to 7's), or NULL. */
const char *bootconf_arch_loader(const struct bootconf *bc, uint16_t arch);

size_t bootconf_profile_count(const struct bootconf *bc);
const struct boot_profile *bootconf_profile_at(const struct bootconf *bc, size_t i);
/* Start-up only: profile i's grub = name (a grub-memdisk binary built for it). */
int bootconf_set_profile_grub(struct bootconf *bc, size_t i, const char *name);
/*
 * Start-up only: what inspecting profile i's image found (info is copied),
 * and final, the served name whose transfer means the OS took over under
 * method direct. Returns 0 or -errno.
 */
int bootconf_set_profile_inspected(struct bootconf *bc, size_t i, const struct image_info *info,
                                   const char *final);
size_t bootconf_host_count(const struct bootconf *bc);
const struct boot_host *bootconf_host_at(const struct bootconf *bc, size_t i);
size_t bootconf_arch_count(const struct bootconf *bc);
const struct boot_arch *bootconf_arch_at(const struct bootconf *bc, size_t i);

/* True when a reference is a URL (served elsewhere) rather than a served name. */
bool bootconf_is_url(const char *ref);

#endif
