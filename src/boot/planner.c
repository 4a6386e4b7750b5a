#include "boot/planner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot/grubcache.h"
#include "image/inspect.h"
#include "util/netaddr.h"

/* Debian's file names for the loaders the chain table sends. */
#define LOADER_BIOS_IPXE "undionly.kpxe"
#define LOADER_UEFI_IPXE "snponly.efi"
#define LOADER_PXELINUX "lpxelinux.0"
/* GRUB network images: the root's grub-mknetdir layout, or built at start-up (grubcache.c). */
#define LOADER_GRUB_BIOS "boot/grub/i386-pc/core.0"
#define LOADER_GRUB_UEFI "boot/grub/x86_64-efi/core.efi"
#define LOADER_IMGBOOT "imgboot.efi"
#define LOADER_IMGBOOT_ARM64 "imgbootaa64.efi"

/*
 * scheme://address[:port], the port left out when it is the scheme's own.
 * v6: the machine asked over DHCPv6, so the address is IPv6 in brackets
 * (RFC 3986 §3.2.2): server-addr6, else ours on its link.
 */
static void
format_base(const struct config *cfg, struct in_addr server_ip, const struct in6_addr *v6,
            const char *scheme, unsigned default_port, unsigned port, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN + 2];
	if (v6) {
		char a6[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, cfg->server_addr6_set ? &cfg->server_addr6 : v6, a6, sizeof(a6));
		snprintf(ip, sizeof(ip), "[%s]", a6);
	} else {
		struct in_addr a = cfg->server_addr_set ? cfg->server_addr : server_ip;
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
	}
	if (port == default_port)
		snprintf(buf, len, "%s://%s", scheme, ip);
	else
		snprintf(buf, len, "%s://%s:%u", scheme, ip, port);
}

/* The port a listener took, IPv4 or IPv6 ([::]:8080 serves IPv4 clients too). */
static unsigned
listen_port(const struct listen_spec *l, unsigned fallback)
{
	uint16_t port = l->enabled ? sockaddr_port(&l->addr) : 0;
	return port ? ntohs(port) : fallback;
}

/* Whether IPv4 clients reach this listener: an IPv4 address, or IPv6's any. */
static bool
reaches_ipv4(const struct listen_spec *l)
{
	if (!l->enabled)
		return false;
	if (l->addr.ss_family == AF_INET)
		return true;
	return l->addr.ss_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&l->addr)->sin6_addr);
}

void
planner_http_base(const struct config *cfg, struct in_addr server_ip, char *buf, size_t len)
{
	format_base(cfg, server_ip, NULL, "http", 80, listen_port(&cfg->http, 80), buf, len);
}

void
planner_http_base6(const struct config *cfg, const struct in6_addr *server_ip6, char *buf,
                   size_t len)
{
	format_base(cfg, (struct in_addr){ 0 }, server_ip6, "http", 80, listen_port(&cfg->http, 80),
	            buf, len);
}

/* The machine's way to reach us: over IPv6 when it asked over DHCPv6. */
static void
machine_http_base(const struct config *cfg, const struct machine *m, char *buf, size_t len)
{
	if (m->v6)
		planner_http_base6(cfg, &m->server_ip6, buf, len);
	else
		planner_http_base(cfg, m->server_ip, buf, len);
}

/*
 * UEFI HTTP boot clients get https://server[:port] with http-boot-https:
 * the firmware (EDK2 HttpBootDxe + TlsDxe) then verifies us against the CA
 * list it was given (EFI_TLS_CA_CERTIFICATE_VARIABLE, e.g. from OVMF's fw_cfg
 * etc/edk2/https/cacerts). The DHCP request cannot say whether it has one,
 * so this is the administrator's choice, server-wide.
 */
static void
http_boot_base(const struct config *cfg, const struct machine *m, char *buf, size_t len)
{
	bool https = cfg->http_boot_https &&
	             (m->v6 ? cfg->https.enabled && cfg->https.addr.ss_family == AF_INET6
	                    : reaches_ipv4(&cfg->https));
	if (!https)
		machine_http_base(cfg, m, buf, len);
	else
		format_base(cfg, m->server_ip, m->v6 ? &m->server_ip6 : NULL, "https", 443,
		            listen_port(&cfg->https, 443), buf, len);
}

const char *
planner_image_ext(const char *image)
{
	size_t n = strlen(image);
	if (n >= 4 && strcasecmp(image + n - 4, ".iso") == 0)
		return ".iso";
	return ".img";
}

static bool
is_x64_uefi(uint16_t arch)
{
	/* Many x64 UEFI ROMs send 9 (EBC) where they mean 7. */
	return arch == ARCH_X64_UEFI || arch == ARCH_EBC;
}

/* The iPXE build a UEFI x64 client gets: [arch x64-uefi] loader, else snponly.efi. */
static const char *
uefi_ipxe_loader(const struct config *cfg)
{
	const char *l = bootconf_arch_loader(cfg->boot, ARCH_X64_UEFI);
	return l && !bootconf_is_url(l) ? l : LOADER_UEFI_IPXE;
}

/*
 * The image methods each firmware can run, once direct and grub-memdisk are
 * ruled out: a forced method the client can run is kept; otherwise the best
 * one for the client, with why the forced one could not be (why).
 */
static enum boot_method
image_method_for_client(const struct config *cfg, enum boot_method forced, const char *why,
                        enum image_client client, uint64_t image_size, char *reason,
                        size_t reasonlen)
{
	switch (client) {
	case IMAGE_CLIENT_UEFI_HTTP:
		if (forced == BOOT_METHOD_FIRMWARE_RAMDISK || forced == BOOT_METHOD_IMGBOOT ||
		    forced == BOOT_METHOD_SANBOOT) {
			snprintf(reason, reasonlen, "method %s (forced)", boot_method_name(forced));
			return forced;
		}
		if (forced == BOOT_METHOD_MEMDISK)
			why = "memdisk needs BIOS, so auto";
		snprintf(reason, reasonlen, "method firmware-ramdisk (%s: UEFI HTTP boot mounts the "
		                            "image URL as a RAM disk)", why);
		return BOOT_METHOD_FIRMWARE_RAMDISK;
	case IMAGE_CLIENT_UEFI:
		if (forced == BOOT_METHOD_IMGBOOT || forced == BOOT_METHOD_SANBOOT) {
			snprintf(reason, reasonlen, "method %s (forced)", boot_method_name(forced));
			return forced;
		}
		if (forced == BOOT_METHOD_MEMDISK)
			why = "memdisk needs BIOS, so auto";
		else if (forced == BOOT_METHOD_FIRMWARE_RAMDISK)
			why = "firmware-ramdisk needs UEFI HTTP boot, so auto";
		snprintf(reason, reasonlen, "method imgboot (%s: UEFI without HTTP boot)", why);
		return BOOT_METHOD_IMGBOOT;
	case IMAGE_CLIENT_BIOS:
	default:
		if (forced == BOOT_METHOD_MEMDISK || forced == BOOT_METHOD_SANBOOT) {
			snprintf(reason, reasonlen, "method %s (forced)", boot_method_name(forced));
			return forced;
		}
		if (forced == BOOT_METHOD_IMGBOOT || forced == BOOT_METHOD_FIRMWARE_RAMDISK)
			why = "that method needs UEFI, so auto";
		uint64_t max = (uint64_t)cfg->memdisk_max_mb << 20;
		if (image_size <= max) {
			snprintf(reason, reasonlen, "method memdisk (%s: BIOS, image %llu MiB <= "
			                            "memdisk-max-mb %u)", why,
			         (unsigned long long)(image_size >> 20), cfg->memdisk_max_mb);
			return BOOT_METHOD_MEMDISK;
		}
		snprintf(reason, reasonlen, "method sanboot (%s: BIOS, image %llu MiB > "
		                            "memdisk-max-mb %u)", why,
		         (unsigned long long)(image_size >> 20), cfg->memdisk_max_mb);
		return BOOT_METHOD_SANBOOT;
	}
}

enum boot_method
planner_image_method(const struct config *cfg, const struct boot_profile *p,
                     enum image_client client, uint64_t image_size, char *reason,
                     size_t reasonlen)
{
	enum boot_method forced = p->method;
	const char *why = "auto";
	bool direct = planner_direct_ok(p);

	/*
	 * A recognised live or installer image boots best through its own
	 * kernel and initrd with the root fetched over HTTP: it is the only
	 * method after which the OS still finds its medium, on every firmware
	 * (UEFI HTTP boot runs iPXE for it). inspect.h lists the layouts.
	 * pxelinux/grub image profiles are direct through that loader; a client
	 * of theirs that runs iPXE instead gets iPXE's direct script.
	 */
	if (direct && (forced == BOOT_METHOD_PXELINUX || forced == BOOT_METHOD_GRUB)) {
		snprintf(reason, reasonlen, "method direct (the profile's %s loader is not this "
		                            "client's: iPXE runs the image's own kernel and initrd)",
		         boot_method_name(forced));
		return BOOT_METHOD_DIRECT;
	}
	if (forced == BOOT_METHOD_DIRECT && !direct) {
		why = "direct needs an image netbootd recognises (netbootd inspect says why), so auto";
		forced = BOOT_METHOD_AUTO;
	}
	if (forced == BOOT_METHOD_DIRECT || (forced == BOOT_METHOD_AUTO && direct)) {
		snprintf(reason, reasonlen, "method direct (%s: %s, its own kernel and initrd, %s)",
		         forced == BOOT_METHOD_DIRECT ? "forced" : "auto",
		         image_kind_name(p->inspected->kind),
		         p->inspected->root_file[0] ? "root fetched over HTTP"
		         : p->inspected->kind == IMAGE_KIND_CASPER ? "the ISO fetched over HTTP"
		                                                  : "nothing else needed");
		return BOOT_METHOD_DIRECT;
	}
	if (forced == BOOT_METHOD_GRUB_MEMDISK) {
		/*
		 * One GRUB EFI binary with the image inside (`netbootd mkgrub`),
		 * named by the profile's grub key: UEFI only, GRUB-based images only.
		 */
		if (!p->grub) {
			why = "grub-memdisk needs grub = FILE (made by netbootd mkgrub), so auto";
			forced = BOOT_METHOD_AUTO;
		} else if (client == IMAGE_CLIENT_BIOS) {
			why = "grub-memdisk needs UEFI, so auto";
			forced = BOOT_METHOD_AUTO;
		} else {
			snprintf(reason, reasonlen, "method grub-memdisk (forced: %s)", p->grub);
			return BOOT_METHOD_GRUB_MEMDISK;
		}
	}
	return image_method_for_client(cfg, forced, why, client, image_size, reason, reasonlen);
}

/* A served name or URL as the URL a client fetches. */
static void
ref_url(const char *base, const char *ref, char *buf, size_t len)
{
	if (bootconf_is_url(ref)) {
		snprintf(buf, len, "%s", ref);
		return;
	}
	while (*ref == '/')
		ref++;
	snprintf(buf, len, "%s/%s", base, ref);
}

static int answer_file(struct boot_answer *out, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
answer_file(struct boot_answer *out, const char *file, const char *fmt, ...)
{
	va_list ap;
	snprintf(out->bootfile, sizeof(out->bootfile), "%s", file);
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	out->answer = true;
	return 0;
}

/* One DHCP client, as the per-firmware answers below see it. */
struct asker {
	const struct config *cfg;
	const struct machine *m;
	const struct boot_profile *p;  /* its profile, or NULL */
	const char *pname;             /* for reasons: the profile's name or "(none)" */
	const char *arch_loader;       /* an [arch] loader for its option 93, or NULL */
	char base[96];                 /* http://server:port */
	char mac[18];
};

/*
 * DHCPv6 beside another server (--dhcp6 proxy): Debian's iPXE (2019) takes
 * its options from the server that gave its address and has no proxy
 * DHCPv6, so an iPXE started there never learns its script URL (seen in a
 * probe beside dnsmasq: PXEv6, port 4011 and TFTP fine, then iPXE's DHCPv6
 * ended with dnsmasq's reply). Better no offer, and the firmware's next boot
 * option (UEFI HTTP boot of an efi or image profile works), than a chain
 * that is known to stop a minute later.
 */
static bool
ipxe_unreachable(const struct asker *a, struct boot_answer *out)
{
	if (!a->m->v6 || a->cfg->dhcp6_mode != DHCP_MODE_PROXY)
		return false;
	snprintf(out->reason, sizeof(out->reason),
	         "profile %s needs iPXE, which gets no script over DHCPv6 beside another server "
	         "(no proxy DHCPv6 in iPXE): --dhcp6 server, or an efi or image profile",
	         a->pname);
	return true;
}

/* iPXE first: it also says PXEClient, and must never get iPXE again. */
static int
answer_ipxe(const struct asker *a, struct boot_answer *out)
{
	const struct boot_profile *p = a->p;
	if (p && p->method == BOOT_METHOD_PXELINUX)
		return answer_file(out, p->pxelinux ? p->pxelinux : LOADER_PXELINUX,
		                   "iPXE runs pxelinux for profile %s", a->pname);
	if (p && p->method == BOOT_METHOD_GRUB) {
		bool efi = a->m->arch_set && a->m->arch != ARCH_X86_BIOS;
		return answer_file(out, p->grub ? p->grub : efi ? LOADER_GRUB_UEFI : LOADER_GRUB_BIOS,
		                   "iPXE runs GRUB for profile %s", a->pname);
	}
	snprintf(out->bootfile, sizeof(out->bootfile), "%s/boot/%s.ipxe", a->base, a->mac);
	snprintf(out->reason, sizeof(out->reason), "iPXE gets its script (profile %s)", a->pname);
	out->answer = true;
	return 0;
}

static int
answer_bios_pxe(const struct asker *a, struct boot_answer *out)
{
	const struct boot_profile *p = a->p;
	if (a->m->local_disk) /* iPXE's script boots the first disk, whatever the method */
		return answer_file(out, LOADER_BIOS_IPXE, "boot-once: it booted already, so iPXE "
		                   "boots its local disk%s", "");
	if (a->arch_loader)
		return answer_file(out, a->arch_loader, "BIOS PXE gets the [arch] loader%s", "");
	if (p && p->method == BOOT_METHOD_PXELINUX)
		return answer_file(out, p->pxelinux ? p->pxelinux : LOADER_PXELINUX,
		                   "BIOS PXE chains pxelinux for profile %s", a->pname);
	if (p && p->method == BOOT_METHOD_GRUB)
		return answer_file(out, p->grub ? p->grub : LOADER_GRUB_BIOS,
		                   "BIOS PXE chains GRUB for profile %s", a->pname);
	return answer_file(out, LOADER_BIOS_IPXE, "BIOS PXE chains iPXE (profile %s)", a->pname);
}

static int
answer_uefi_pxe(const struct asker *a, struct boot_answer *out)
{
	const struct machine *m = a->m;
	if (a->arch_loader)
		return answer_file(out, a->arch_loader, "UEFI PXE arch %s gets the [arch] loader",
		                   arch_name(m->arch) ? arch_name(m->arch) : "?");
	if (m->arch_set && m->arch == ARCH_ARM64_UEFI) {
		/* No iPXE for arm64 in Debian, so GRUB (main.c chose which): our own,
		 * built with netbootd's address, or Debian's signed one, which (2.06)
		 * fetches from the DHCP ACK's next-server: in proxy mode the LAN's
		 * server, unless it points here (docs/boot-flows.md). */
		const char *l = a->cfg->arm64_loader;
		bool own = l && strcmp(l, GRUBCACHE_ARM64_IMAGE) == 0;
		if (l)
			return answer_file(out, l, "ARM64 UEFI PXE chains %s network GRUB (profile %s)%s",
			                   own ? "netbootd's" : "Debian's signed", a->pname,
			                   !own && a->cfg->dhcp_mode == DHCP_MODE_PROXY
			                       ? "; proxy mode: GRUB asks the LAN's next-server"
			                       : "");
		snprintf(out->reason, sizeof(out->reason),
		         "no loader for ARM64 UEFI PXE: install debian-installer-12-netboot-arm64 or "
		         "set arm64-grub-dir (or add [arch arm64-uefi] loader = FILE)");
		return 0;
	}
	if (!m->arch_set || !is_x64_uefi(m->arch)) {
		snprintf(out->reason, sizeof(out->reason),
		         "no loader configured for arch %u (add [arch %u] loader = FILE)", m->arch, m->arch);
		return 0;
	}
	if (a->p && a->p->method == BOOT_METHOD_GRUB)
		return answer_file(out, a->p->grub ? a->p->grub : LOADER_GRUB_UEFI,
		                   "UEFI PXE chains GRUB for profile %s", a->pname);
	if (ipxe_unreachable(a, out))
		return 0;
	return answer_file(out, uefi_ipxe_loader(a->cfg), "x64 UEFI PXE chains iPXE (profile %s)",
	                   a->pname);
}

/* UEFI HTTP boot with an image profile: a URL the firmware boots itself,
 * when the image's method is one (firmware-ramdisk, a GRUB URL). */
static bool
answer_http_image(const struct asker *a, const char *base, struct boot_answer *out)
{
	const struct boot_profile *p = a->p;
	char why[160];
	enum boot_method meth = planner_image_method(a->cfg, p, IMAGE_CLIENT_UEFI_HTTP, 0, why,
	                                             sizeof(why));
	if (meth == BOOT_METHOD_GRUB_MEMDISK && bootconf_is_url(p->grub)) {
		snprintf(out->bootfile, sizeof(out->bootfile), "%s", p->grub);
	} else if (meth == BOOT_METHOD_FIRMWARE_RAMDISK) {
		/* OVMF picks the RAM disk type from the URL's extension. */
		if (bootconf_is_url(p->image))
			snprintf(out->bootfile, sizeof(out->bootfile), "%s", p->image);
		else
			snprintf(out->bootfile, sizeof(out->bootfile), "%s/boot/%s%s", base, a->mac,
			         planner_image_ext(p->image));
	} else {
		return false;
	}
	snprintf(out->reason, sizeof(out->reason), "UEFI HTTP boot, profile %s: %s", a->pname, why);
	return true;
}

/*
 * ARM64 UEFI HTTP boot: Debian has no iPXE for arm64, so only what the
 * firmware runs by itself: the profile's EFI file (a UKI carries kernel,
 * initrd and command line in one PE) or an image as a RAM disk.
 */
static int
answer_arm64_http(const struct asker *a, const char *base, struct boot_answer *out)
{
	const struct boot_profile *p = a->p;
	if (p && p->kind == PROFILE_EFI) {
		/* Served as boot/MAC.efi, as for x64, so the timeline knows the machine. */
		if (bootconf_is_url(p->efi))
			snprintf(out->bootfile, sizeof(out->bootfile), "%s", p->efi);
		else
			snprintf(out->bootfile, sizeof(out->bootfile), "%s/boot/%s.efi", base, a->mac);
		snprintf(out->reason, sizeof(out->reason),
		         "ARM64 UEFI HTTP boot gets profile %s's EFI file", a->pname);
		out->answer = true;
		return 0;
	}
	if (p && p->kind == PROFILE_IMAGE && answer_http_image(a, base, out)) {
		out->answer = true;
		return 0;
	}
	char why[160];
	if (p && p->kind == PROFILE_IMAGE &&
	    planner_image_method(a->cfg, p, IMAGE_CLIENT_UEFI_HTTP, 0, why, sizeof(why)) ==
	            BOOT_METHOD_IMGBOOT) {
		/* boot/MAC.efi carries imgbootaa64.efi (planner_http_boot_file). */
		if (!a->cfg->imgboot_arm64) {
			snprintf(out->reason, sizeof(out->reason),
			         "profile %s: method imgboot, and no imgbootaa64.efi to serve (build it: "
			         "make deps && make; or imgboot-efi-arm64)", a->pname);
			return 0;
		}
		snprintf(out->bootfile, sizeof(out->bootfile), "%s/boot/%s.efi", base, a->mac);
		snprintf(out->reason, sizeof(out->reason), "ARM64 UEFI HTTP boot, profile %s: %s",
		         a->pname, why);
		out->answer = true;
		return 0;
	}
	snprintf(out->reason, sizeof(out->reason),
	         "ARM64 UEFI HTTP boot runs an efi or image profile only, not profile %s "
	         "(no iPXE for arm64): use UEFI PXE", a->pname);
	return 0;
}

static int
answer_uefi_http(const struct asker *a, struct boot_answer *out)
{
	const struct machine *m = a->m;
	const struct boot_profile *p = a->p;
	char base[96];
	snprintf(out->vendor_class, sizeof(out->vendor_class), "HTTPClient");
	http_boot_base(a->cfg, m, base, sizeof(base));
	if (a->arch_loader) {
		ref_url(base, a->arch_loader, out->bootfile, sizeof(out->bootfile));
		snprintf(out->reason, sizeof(out->reason), "UEFI HTTP boot gets the [arch] loader");
		out->answer = true;
		return 0;
	}
	if (m->arch_set && m->arch == ARCH_ARM64_UEFI_HTTP)
		return answer_arm64_http(a, base, out);
	if (!m->arch_set || m->arch != ARCH_X64_UEFI_HTTP) {
		snprintf(out->reason, sizeof(out->reason),
		         "no loader configured for arch %u (add [arch %u] loader = URL)", m->arch, m->arch);
		return 0;
	}
	out->answer = true;
	if (p && p->kind == PROFILE_EFI && bootconf_is_url(p->efi)) {
		snprintf(out->bootfile, sizeof(out->bootfile), "%s", p->efi);
		snprintf(out->reason, sizeof(out->reason), "UEFI HTTP boot gets profile %s's EFI URL",
		         a->pname);
		return 0;
	}
	if (p && p->kind == PROFILE_IMAGE && answer_http_image(a, base, out))
		return 0;
	char served[256], why[160];
	if (planner_http_boot_file(a->cfg, m->mac, m->arch, 0, served, sizeof(served), why,
	                           sizeof(why)) == 0 &&
	    strcmp(served, uefi_ipxe_loader(a->cfg)) == 0 && ipxe_unreachable(a, out)) {
		out->answer = false;
		return 0;
	}
	snprintf(out->bootfile, sizeof(out->bootfile), "%s/boot/%s.efi", base, a->mac);
	snprintf(out->reason, sizeof(out->reason), "UEFI HTTP boot gets a URL (profile %s)", a->pname);
	return 0;
}

int
planner_dhcp_answer(const struct config *cfg, const struct machine *m, struct boot_answer *out)
{
	struct asker a = { .cfg = cfg, .m = m };
	memset(out, 0, sizeof(*out));
	machine_http_base(cfg, m, a.base, sizeof(a.base));
	mac_format(m->mac, a.mac);
	snprintf(out->vendor_class, sizeof(out->vendor_class), "PXEClient");
	a.p = bootconf_profile_for_arch(cfg->boot, m->mac, m->arch_set ? m->arch : -1);
	a.pname = a.p ? a.p->name : "(none)";
	if (m->arch_set && m->kind != FIRMWARE_IPXE)
		a.arch_loader = bootconf_arch_loader(cfg->boot, m->arch);
	/*
	 * boot-once, booted: UEFI firmware gets no offer and goes on to its next
	 * boot option (the disk); BIOS PXE still chains iPXE, whose script then
	 * boots the first disk (a BIOS ROM without an offer waits a minute).
	 */
	if (m->local_disk && (m->kind == FIRMWARE_UEFI_PXE || m->kind == FIRMWARE_UEFI_HTTP)) {
		snprintf(out->reason, sizeof(out->reason), "boot-once: it booted already, so no offer: "
		                                           "its firmware goes on to the local disk");
		return 0;
	}

	switch (m->kind) {
	case FIRMWARE_IPXE:
		return answer_ipxe(&a, out);
	case FIRMWARE_BIOS_PXE:
		return answer_bios_pxe(&a, out);
	case FIRMWARE_UEFI_PXE:
		return answer_uefi_pxe(&a, out);
	case FIRMWARE_UEFI_HTTP:
		return answer_uefi_http(&a, out);
	default:
		snprintf(out->reason, sizeof(out->reason), "not a boot client");
		return 0;
	}
}

int
planner_http_boot_file(const struct config *cfg, const uint8_t mac[6], int arch,
                       uint64_t image_size, char *name, size_t namelen, char *reason,
                       size_t reasonlen)
{
	const struct boot_profile *p = bootconf_profile_for_arch(cfg->boot, mac, arch);
	const char *file = uefi_ipxe_loader(cfg);
	char why[160];

	if (!p) {
		snprintf(reason, reasonlen, "no profile: iPXE (%s) shows why", file);
	} else if (p->kind == PROFILE_EFI) {
		if (bootconf_is_url(p->efi)) {
			snprintf(reason, reasonlen, "profile %s: the EFI file is a URL elsewhere", p->name);
			return -ENOENT;
		}
		file = p->efi;
		snprintf(reason, reasonlen, "profile %s: EFI file %s", p->name, file);
	} else if (p->kind == PROFILE_IMAGE) {
		enum boot_method meth = planner_image_method(cfg, p, IMAGE_CLIENT_UEFI_HTTP, image_size,
		                                             why, sizeof(why));
		if (meth == BOOT_METHOD_FIRMWARE_RAMDISK) {
			if (bootconf_is_url(p->image)) {
				snprintf(reason, reasonlen, "profile %s: the image is a URL elsewhere",
				         p->name);
				return -ENOENT;
			}
			file = p->image;
		} else if (meth == BOOT_METHOD_IMGBOOT) {
			file = arch == ARCH_ARM64_UEFI_HTTP ? LOADER_IMGBOOT_ARM64 : LOADER_IMGBOOT;
		} else if (meth == BOOT_METHOD_GRUB_MEMDISK) {
			if (bootconf_is_url(p->grub)) {
				snprintf(reason, reasonlen, "profile %s: the GRUB image is a URL elsewhere",
				         p->name);
				return -ENOENT;
			}
			file = p->grub;
		}
		snprintf(reason, reasonlen, "profile %s: %s", p->name, why);
	} else {
		snprintf(reason, reasonlen, "profile %s: iPXE (%s) runs the script", p->name, file);
	}
	snprintf(name, namelen, "%s", file);
	return 0;
}

static size_t
add_final(const char **names, size_t n, size_t max, const char *name)
{
	if (!name || bootconf_is_url(name))
		return n;
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return n;
	if (n < max)
		names[n++] = name;
	return n;
}

bool
planner_direct_ok(const struct boot_profile *p)
{
	return p && p->kind == PROFILE_IMAGE && p->inspected && image_direct_ok(p->inspected) &&
	       (p->method == BOOT_METHOD_AUTO || p->method == BOOT_METHOD_DIRECT ||
	        p->method == BOOT_METHOD_PXELINUX || p->method == BOOT_METHOD_GRUB);
}

size_t
planner_final_files(const struct config *cfg, const struct boot_profile *p, const char **names,
                    size_t max)
{
	size_t n = 0;
	if (!p)
		return 0;
	switch (p->kind) {
	case PROFILE_KERNEL:
		return add_final(names, n, max, p->n_initrds ? p->initrds[p->n_initrds - 1] : p->kernel);
	case PROFILE_EFI:
		return add_final(names, n, max, p->efi);
	case PROFILE_IMAGE:
		/* direct: the root the OS fetches (its initramfs ran), else its initrd. */
		if (planner_direct_ok(p) && p->direct_final)
			return add_final(names, n, max, p->direct_final);
		n = add_final(names, n, max, p->image);
		/* grub-memdisk: the GRUB binary carries the image; it is the last file. */
		if (p->method == BOOT_METHOD_GRUB_MEMDISK)
			n = add_final(names, n, max, p->grub);
		return n;
	case PROFILE_MENU:
		for (size_t i = 0; i < p->n_menu; i++) {
			const struct boot_profile *q = bootconf_profile(cfg->boot, p->menu[i]);
			if (q && q->kind != PROFILE_MENU) {
				const char *sub[4];
				size_t k = planner_final_files(cfg, q, sub, 4);
				for (size_t j = 0; j < k; j++)
					n = add_final(names, n, max, sub[j]);
			}
		}
		return n;
	default:
		return 0;
	}
}
