/*
 * The boot configuration, checked once it is all read: each profile has
 * exactly one kind and a method that fits it, menus name existing
 * profiles, hosts and [default] name existing profiles. Findings go to the
 * caller's reporter with their file:line; this layer prints nothing.
 */
#include "model/bootconf_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model/machine.h"

/* Where bootconf_finish's findings go: the caller's reporter, and a count. */
struct finish_report {
	const char *path;
	bootconf_report_fn report;
	void *ctx;
	int errors;
};

static void finish_err(struct finish_report *fr, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
finish_err(struct finish_report *fr, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fr->errors++;
	if (fr->report)
		fr->report(fr->ctx, fr->path ? fr->path : "config", line, msg);
}

#define FINISH_ERR(line, ...) finish_err(fr, line, __VA_ARGS__)

static void
profile_settle_kind(struct boot_profile *p, struct finish_report *fr)
{
	int n = !!p->kernel + !!p->image + !!p->efi + !!p->chain + (p->n_menu > 0);
	if (n != 1) {
		FINISH_ERR(p->line, "[profile %s]: give exactly one of kernel, image, efi, chain, menu",
		           p->name);
		return;
	}
	p->kind = p->kernel ? PROFILE_KERNEL
	        : p->image  ? PROFILE_IMAGE
	        : p->efi    ? PROFILE_EFI
	        : p->chain  ? PROFILE_CHAIN
	                    : PROFILE_MENU;
	if (p->kind != PROFILE_KERNEL && p->n_initrds)
		FINISH_ERR(p->line, "[profile %s]: initrd needs kernel", p->name);
	/* An image's cmdline is added to its own under method direct (e.g. console=ttyS0). */
	if (p->kind != PROFILE_KERNEL && p->kind != PROFILE_IMAGE && p->cmdline)
		FINISH_ERR(p->line, "[profile %s]: cmdline needs kernel or image", p->name);
	bool image = boot_method_is_image(p->method);
	/*
	 * pxelinux and grub on an image: the image's own kernel and initrd
	 * through that loader (method direct's files; imagefiles.c checks at
	 * start-up that the image is one netbootd recognises).
	 */
	bool loader = p->method == BOOT_METHOD_PXELINUX || p->method == BOOT_METHOD_GRUB;
	if (p->kind == PROFILE_IMAGE && !image && !loader && p->method != BOOT_METHOD_AUTO)
		FINISH_ERR(p->line, "[profile %s]: method '%s' does not boot an image (use auto, "
		                    "direct, pxelinux, grub, imgboot, firmware-ramdisk, memdisk, sanboot, "
		                    "grub-memdisk)",
		           p->name, boot_method_name(p->method));
	if (p->kind != PROFILE_IMAGE && image)
		FINISH_ERR(p->line, "[profile %s]: method '%s' needs image", p->name,
		           boot_method_name(p->method));
	if (p->grub && p->method != BOOT_METHOD_GRUB && p->method != BOOT_METHOD_GRUB_MEMDISK)
		FINISH_ERR(p->line, "[profile %s]: grub is for method grub or grub-memdisk", p->name);
	if (loader && p->kind != PROFILE_KERNEL && p->kind != PROFILE_IMAGE)
		FINISH_ERR(p->line, "[profile %s]: method '%s' needs kernel or image", p->name,
		           boot_method_name(p->method));
}

int
bootconf_finish(struct bootconf *bc, const char *path, bootconf_report_fn report, void *ctx)
{
	struct finish_report report_to = { .path = path, .report = report, .ctx = ctx };
	struct finish_report *fr = &report_to;
	if (!bc)
		return 0;
	for (size_t i = 0; i < bc->n_profiles; i++) {
		struct boot_profile *p = bc->profiles[i];
		profile_settle_kind(p, fr);
		for (size_t j = 0; j < p->n_menu; j++) {
			const struct boot_profile *q = bootconf_profile(bc, p->menu[j]);
			if (!q)
				FINISH_ERR(p->line, "[profile %s]: menu: no profile '%s'", p->name,
				           p->menu[j]);
			else if (q->n_menu)
				FINISH_ERR(p->line, "[profile %s]: menu: '%s' is a menu itself", p->name,
				           p->menu[j]);
		}
		if (p->menu_default) {
			bool found = false;
			for (size_t j = 0; j < p->n_menu; j++)
				found |= strcmp(p->menu[j], p->menu_default) == 0;
			if (!found)
				FINISH_ERR(p->line, "[profile %s]: menu-default: '%s' is not in the menu",
				           p->name, p->menu_default);
		}
	}
	for (size_t i = 0; i < bc->n_hosts; i++) {
		const struct boot_host *h = bc->hosts[i];
		char mac[18];
		/* A hosts-dir host is reported at its own file's line. */
		fr->path = h->file ? h->file : path;
		if (h->profile && !bootconf_profile(bc, h->profile))
			FINISH_ERR(h->profile_line, "[host %s]: profile: no profile '%s'",
			           mac_format(h->mac, mac), h->profile);
	}
	fr->path = path;
	for (size_t i = 0; i < bc->n_arches; i++) {
		const struct boot_arch *a = bc->arches[i];
		const char *an = arch_name(a->arch);
		if (a->profile && !bootconf_profile(bc, a->profile))
			FINISH_ERR(a->profile_line, "[arch %s]: profile: no profile '%s'", an ? an : "?",
			           a->profile);
	}
	if (bc->default_profile && !bootconf_profile(bc, bc->default_profile))
		FINISH_ERR(bc->default_line, "[default]: profile: no profile '%s'", bc->default_profile);
	return fr->errors ? -1 : 0;
}
