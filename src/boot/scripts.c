#include "boot/scripts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/planner.h"
#include "boot/strbuf.h"
#include "image/inspect.h"

#define RETRY_SECONDS 5

const char *
scripts_basename(const char *ref)
{
	const char *slash = strrchr(ref, '/');
	return slash ? slash + 1 : ref;
}

static void
put_url(struct strbuf *sb, const struct script_env *env, const char *ref)
{
	if (bootconf_is_url(ref)) {
		strbuf_puts(sb, ref);
		return;
	}
	while (*ref == '/')
		ref++;
	strbuf_printf(sb, "%s/%s", env->base, ref);
}

/*
 * What a loader boots for a profile: a kernel profile's kernel, initrds and
 * command line, or for an image booted by method direct the image's own,
 * as served names inside it (image/PROFILE/PATH), with the command line
 * that makes its initramfs fetch its root from us (image_direct_cmdline)
 * and the profile's cmdline after it.
 */
struct boot_files {
	const char *kernel;
	const char *initrds[BOOTCONF_MAX_INITRDS];
	size_t n_initrds;
	const char *cmdline; /* may be NULL */
	char kbuf[IMAGE_PATH_MAX + 96];
	char ibuf[IMAGE_MAX_INITRDS][IMAGE_PATH_MAX + 96];
	char cbuf[IMAGE_CMDLINE_MAX + 2048 + 2];
};

/* Returns 0, -ENOENT (nothing a loader can boot), or -ENOSPC (command line too long). */
static int
boot_files_of(const struct script_env *env, const struct boot_profile *p, struct boot_files *bf)
{
	memset(bf, 0, sizeof(*bf));
	if (p->kind == PROFILE_KERNEL) {
		bf->kernel = p->kernel;
		for (size_t i = 0; i < p->n_initrds; i++)
			bf->initrds[i] = p->initrds[i];
		bf->n_initrds = p->n_initrds;
		bf->cmdline = p->cmdline;
		return 0;
	}
	if (!planner_direct_ok(p))
		return -ENOENT;
	const struct image_info *info = p->inspected;
	char files_url[512], iso_url[512];
	snprintf(files_url, sizeof(files_url), "%s/%s%s", env->base, SCRIPTS_IMAGE_PREFIX, p->name);
	if (bootconf_is_url(p->image))
		snprintf(iso_url, sizeof(iso_url), "%s", p->image);
	else
		snprintf(iso_url, sizeof(iso_url), "%s/%s", env->base, p->image);
	if (image_direct_cmdline(info, files_url, iso_url, bf->cbuf, IMAGE_CMDLINE_MAX + 1024) < 0)
		return -ENOSPC;
	if (p->cmdline && *p->cmdline) {
		size_t n = strlen(bf->cbuf);
		snprintf(bf->cbuf + n, sizeof(bf->cbuf) - n, "%s%s", n ? " " : "", p->cmdline);
	}
	bf->cmdline = bf->cbuf;
	snprintf(bf->kbuf, sizeof(bf->kbuf), "%s%s/%s", SCRIPTS_IMAGE_PREFIX, p->name, info->kernel);
	bf->kernel = bf->kbuf;
	for (size_t i = 0; i < info->n_initrds && i < BOOTCONF_MAX_INITRDS; i++) {
		snprintf(bf->ibuf[i], sizeof(bf->ibuf[i]), "%s%s/%s", SCRIPTS_IMAGE_PREFIX, p->name,
		         info->initrds[i]);
		bf->initrds[bf->n_initrds++] = bf->ibuf[i];
	}
	return 0;
}

/* ---- iPXE -------------------------------------------------------------- */

static void
ipxe_kernel(struct strbuf *sb, const struct script_env *env, const char *name,
            const struct boot_files *bf)
{
	strbuf_puts(sb, "kernel ");
	put_url(sb, env, bf->kernel);
	/*
	 * Linux's EFI stub loads initrds named on its command line; iPXE on
	 * UEFI only hands over those (Debian's 2019 build panics without).
	 * BIOS kernels ignore the argument.
	 */
	for (size_t i = 0; i < bf->n_initrds; i++)
		strbuf_printf(sb, " initrd=%s", scripts_basename(bf->initrds[i]));
	if (bf->cmdline && *bf->cmdline)
		strbuf_printf(sb, " %s", bf->cmdline);
	strbuf_printf(sb, " || goto p_%s_fail\n", name);
	for (size_t i = 0; i < bf->n_initrds; i++) {
		strbuf_puts(sb, "initrd ");
		put_url(sb, env, bf->initrds[i]);
		strbuf_printf(sb, " || goto p_%s_fail\n", name);
	}
	strbuf_printf(sb, "boot || goto p_%s_fail\n", name);
}

static void
ipxe_image_method(struct strbuf *sb, const struct script_env *env, const struct boot_profile *p,
                  enum boot_method m)
{
	bool iso = strcmp(planner_image_ext(p->image), ".iso") == 0;
	struct boot_files bf;
	switch (m) {
	case BOOT_METHOD_DIRECT:
		if (boot_files_of(env, p, &bf) == 0)
			ipxe_kernel(sb, env, p->name, &bf);
		else
			strbuf_printf(sb, "echo netbootd: the command line for %s is too long\n"
			                  "goto p_%s_fail\n", p->name, p->name);
		break;
	case BOOT_METHOD_MEMDISK:
		/* syslinux's memdisk; `raw` keeps it off the BIOS's protected-mode path. */
		strbuf_printf(sb, "kernel %s/memdisk%s raw || goto p_%s_fail\n", env->base,
		              iso ? " iso" : "", p->name);
		strbuf_puts(sb, "initrd ");
		put_url(sb, env, p->image);
		strbuf_printf(sb, " || goto p_%s_fail\nboot || goto p_%s_fail\n", p->name, p->name);
		break;
	case BOOT_METHOD_SANBOOT:
		/* Needs HEAD and Range from the server (ours has both). */
		strbuf_puts(sb, "sanboot ");
		put_url(sb, env, p->image);
		strbuf_printf(sb, " || goto p_%s_fail\n", p->name);
		break;
	case BOOT_METHOD_GRUB_MEMDISK:
		/* The image is inside this GRUB binary (netbootd mkgrub). */
		strbuf_puts(sb, "chain ");
		put_url(sb, env, p->grub);
		strbuf_printf(sb, " || goto p_%s_fail\n", p->name);
		break;
	case BOOT_METHOD_IMGBOOT:
	default:
		/* imgboot.efi finds the image among iPXE's initrds by this name. */
		strbuf_puts(sb, "initrd ");
		put_url(sb, env, p->image);
		strbuf_printf(sb, " || goto p_%s_fail\n", p->name);
		strbuf_printf(sb, "chain %s/imgboot.efi %s || goto p_%s_fail\n", env->base,
		              scripts_basename(p->image), p->name);
		break;
	}
}

static void
ipxe_image(struct strbuf *sb, const struct script_env *env, const struct boot_profile *p)
{
	char why_bios[160], why_efi[160];
	uint64_t size = 0;
	if (env->image_size && !bootconf_is_url(p->image))
		size = env->image_size(env->size_ctx, p->image);
	enum boot_method bios = planner_image_method(env->cfg, p, IMAGE_CLIENT_BIOS, size, why_bios,
	                                             sizeof(why_bios));
	enum boot_method efi = planner_image_method(env->cfg, p, IMAGE_CLIENT_UEFI, size, why_efi,
	                                            sizeof(why_efi));
	strbuf_printf(sb, "# BIOS: %s\n# UEFI: %s\n", why_bios, why_efi);
	strbuf_printf(sb, "iseq ${platform} efi && goto p_%s_efi ||\n", p->name);
	strbuf_printf(sb, "echo netbootd: image %s via %s\n", scripts_basename(p->image),
	              boot_method_name(bios));
	ipxe_image_method(sb, env, p, bios);
	strbuf_printf(sb, "goto p_%s_fail\n:p_%s_efi\n", p->name, p->name);
	strbuf_printf(sb, "echo netbootd: image %s via %s\n", scripts_basename(p->image),
	              boot_method_name(efi));
	ipxe_image_method(sb, env, p, efi);
}

static void
ipxe_profile(struct strbuf *sb, const struct script_env *env, const struct boot_profile *p)
{
	strbuf_printf(sb, "\n:p_%s\necho netbootd: profile %s\n", p->name, p->name);
	switch (p->kind) {
	case PROFILE_KERNEL: {
		struct boot_files bf;
		(void)boot_files_of(env, p, &bf);
		ipxe_kernel(sb, env, p->name, &bf);
		break;
	}
	case PROFILE_EFI:
		strbuf_puts(sb, "chain ");
		put_url(sb, env, p->efi);
		strbuf_printf(sb, " || goto p_%s_fail\n", p->name);
		break;
	case PROFILE_CHAIN:
		strbuf_printf(sb, "chain %s || goto p_%s_fail\n", p->chain, p->name);
		break;
	case PROFILE_IMAGE:
		ipxe_image(sb, env, p);
		break;
	default:
		strbuf_printf(sb, "echo netbootd: profile %s has nothing to boot\nexit 1\n", p->name);
		return;
	}
	strbuf_printf(sb, ":p_%s_fail\necho netbootd: profile %s failed, retrying in %d s\n",
	              p->name, p->name, RETRY_SECONDS);
	/* `|| goto` keeps a build without the sleep command retrying at once. */
	strbuf_printf(sb, "sleep %d ||\ngoto p_%s\n", RETRY_SECONDS, p->name);
}

int
scripts_ipxe(const struct script_env *env, const struct boot_profile *p, char **out, size_t *len)
{
	struct strbuf sb;
	strbuf_init(&sb);
	if (env->local_disk) {
		/* BIOS: the first hard disk (exit would try the next boot device too,
		 * after a delay); UEFI: back to the boot manager's next option. */
		strbuf_printf(&sb, "#!ipxe\n# netbootd: %s, boot-once: booted already\n"
		                   "echo netbootd: %s has booted once: starting its local disk\n"
		                   "iseq ${platform} pcbios && sanboot --no-describe --drive 0x80 ||\n"
		                   "exit\n", env->mac, env->mac);
		return strbuf_finish(&sb, out, len);
	}
	strbuf_printf(&sb, "#!ipxe\n# netbootd: %s, profile %s\n", env->mac, p ? p->name : "(none)");
	if (!p) {
		strbuf_printf(&sb, "echo netbootd: no profile for %s: add [host %s] profile = NAME "
		                   "or [default] profile = NAME\n",
		              env->mac, env->mac);
		strbuf_puts(&sb, "sleep 10 ||\nexit 1\n");
		return strbuf_finish(&sb, out, len);
	}
	strbuf_printf(&sb, "goto p_%s\n", p->name);
	if (p->kind == PROFILE_MENU) {
		const char *def = p->menu_default ? p->menu_default : p->menu[0];
		strbuf_printf(&sb, "\n:p_%s\nmenu ", p->name);
		/* Titles are checked for '$' at load time: no expansion surprises. */
		strbuf_puts(&sb, p->title ? p->title : p->name);
		strbuf_printf(&sb, " (netbootd, %s)\n", env->mac);
		for (size_t i = 0; i < p->n_menu; i++) {
			const struct boot_profile *q = bootconf_profile(env->cfg->boot, p->menu[i]);
			strbuf_printf(&sb, "item p_%s %s\n", p->menu[i], q && q->title ? q->title : p->menu[i]);
		}
		strbuf_printf(&sb, "choose");
		if (p->menu_timeout)
			strbuf_printf(&sb, " --timeout %u", p->menu_timeout * 1000);
		/* A cancelled menu (Esc) boots the default too rather than stopping. */
		strbuf_printf(&sb, " --default p_%s target || goto p_%s\ngoto ${target}\n", def, def);
		for (size_t i = 0; i < p->n_menu; i++) {
			const struct boot_profile *q = bootconf_profile(env->cfg->boot, p->menu[i]);
			if (q && q->kind != PROFILE_MENU)
				ipxe_profile(&sb, env, q);
		}
	} else {
		ipxe_profile(&sb, env, p);
	}
	return strbuf_finish(&sb, out, len);
}

/* ---- pxelinux ------------------------------------------------------------ */

int
scripts_pxelinux(const struct script_env *env, const struct boot_profile *p, char **out,
                 size_t *len)
{
	struct boot_files bf;
	if (env->local_disk) {
		struct strbuf lb;
		strbuf_init(&lb);
		strbuf_printf(&lb, "# netbootd: %s, boot-once: booted already\nDEFAULT local\n"
		                   "LABEL local\n  LOCALBOOT 0\n", env->mac);
		return strbuf_finish(&lb, out, len);
	}
	if (!p || boot_files_of(env, p, &bf) < 0)
		return -ENOENT;
	/* pxelinux.0 speaks TFTP only; lpxelinux.0 also fetches http:// URLs. */
	bool http = !p->pxelinux || strstr(p->pxelinux, "lpxelinux") != NULL;
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_printf(&sb, "# netbootd: %s, profile %s\nDEFAULT %s\nPROMPT 0\nTIMEOUT 1\n\nLABEL %s\n",
	              env->mac, p->name, p->name, p->name);
	strbuf_puts(&sb, "  KERNEL ");
	if (http)
		put_url(&sb, env, bf.kernel);
	else
		strbuf_puts(&sb, bf.kernel);
	strbuf_puts(&sb, "\n");
	if (bf.n_initrds) {
		strbuf_puts(&sb, "  INITRD ");
		for (size_t i = 0; i < bf.n_initrds; i++) {
			if (i)
				strbuf_puts(&sb, ",");
			if (http)
				put_url(&sb, env, bf.initrds[i]);
			else
				strbuf_puts(&sb, bf.initrds[i]);
		}
		strbuf_puts(&sb, "\n");
	}
	if (bf.cmdline)
		strbuf_printf(&sb, "  APPEND %s\n", bf.cmdline);
	return strbuf_finish(&sb, out, len);
}

/* ---- GRUB ------------------------------------------------------------------ */

/* http://host[:port]/path -> (http,host)/path; a served name stays a TFTP path. */
static void
grub_path(struct strbuf *sb, const char *ref)
{
	if (bootconf_is_url(ref)) {
		const char *host = strstr(ref, "://") + 3;
		size_t hl = strcspn(host, ":/");
		const char *path = strchr(host, '/');
		strbuf_puts(sb, "(http,");
		strbuf_append(sb, host, hl);
		strbuf_puts(sb, ")");
		strbuf_puts(sb, path ? path : "/");
		return;
	}
	while (*ref == '/')
		ref++;
	strbuf_printf(sb, "/%s", ref);
}

int
scripts_grub(const struct script_env *env, const struct boot_profile *p, char **out, size_t *len)
{
	struct boot_files bf;
	if (env->local_disk) {
		struct strbuf lb;
		strbuf_init(&lb);
		strbuf_printf(&lb, "# netbootd: %s, boot-once: booted already: back to the firmware, "
		                   "which starts the next boot option\nexit\n", env->mac);
		return strbuf_finish(&lb, out, len);
	}
	if (!p || boot_files_of(env, p, &bf) < 0)
		return -ENOENT;
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_printf(&sb, "# netbootd: %s, profile %s\nset timeout=0\nset default=0\n", env->mac,
	              p->name);
	strbuf_printf(&sb, "menuentry '%s' {\n\techo 'netbootd: profile %s'\n\tlinux ", p->name,
	              p->name);
	grub_path(&sb, bf.kernel);
	if (bf.cmdline)
		strbuf_printf(&sb, " %s", bf.cmdline);
	strbuf_puts(&sb, "\n");
	if (bf.n_initrds) {
		strbuf_puts(&sb, "\tinitrd");
		for (size_t i = 0; i < bf.n_initrds; i++) {
			strbuf_puts(&sb, " ");
			grub_path(&sb, bf.initrds[i]);
		}
		strbuf_puts(&sb, "\n");
	}
	strbuf_puts(&sb, "}\n");
	return strbuf_finish(&sb, out, len);
}

/* ---- imgboot ----------------------------------------------------------------- */

int
scripts_imgboot(const struct script_env *env, const struct boot_profile *p, char **out,
                size_t *len)
{
	if (!p || p->kind != PROFILE_IMAGE || env->local_disk)
		return -ENOENT;
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_puts(&sb, "url=");
	put_url(&sb, env, p->image);
	strbuf_printf(&sb, "\ntype=%s\n",
	              strcmp(planner_image_ext(p->image), ".iso") == 0 ? "iso" : "disk");
	return strbuf_finish(&sb, out, len);
}
