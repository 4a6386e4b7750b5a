#include "boot/planner.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* The HTTP base URL clients use to reach us: our arrival address + HTTP port. */
static void
http_base(const struct config *cfg, const struct machine *m, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = cfg->server_addr_set ? cfg->server_addr : m->server_ip;
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	unsigned port = 80;
	if (cfg->http.enabled && cfg->http.addr.ss_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)&cfg->http.addr)->sin_port);
	if (port == 80)
		snprintf(buf, len, "http://%s", ip);
	else
		snprintf(buf, len, "http://%s:%u", ip, port);
}

int
planner_dhcp_answer(const struct config *cfg, const struct machine *m, struct boot_answer *out)
{
	char base[96];
	char mac[18];

	memset(out, 0, sizeof(*out));
	http_base(cfg, m, base, sizeof(base));
	mac_format(m->mac, mac);
	snprintf(out->vendor_class, sizeof(out->vendor_class), "PXEClient");

	/* iPXE first: it also says PXEClient, and must never get iPXE again. */
	if (m->kind == FIRMWARE_IPXE) {
		snprintf(out->bootfile, sizeof(out->bootfile), "%s/boot/%s.ipxe", base, mac);
		snprintf(out->reason, sizeof(out->reason), "iPXE gets its script");
		out->answer = true;
		return 0;
	}
	switch (m->kind) {
	case FIRMWARE_BIOS_PXE:
		snprintf(out->bootfile, sizeof(out->bootfile), "undionly.kpxe");
		snprintf(out->reason, sizeof(out->reason), "BIOS PXE chains iPXE");
		out->answer = true;
		break;
	case FIRMWARE_UEFI_PXE:
		if (m->arch == ARCH_X64_UEFI || m->arch == ARCH_EBC) {
			snprintf(out->bootfile, sizeof(out->bootfile), "snponly.efi");
			snprintf(out->reason, sizeof(out->reason), "x64 UEFI PXE chains iPXE");
			out->answer = true;
		} else {
			snprintf(out->reason, sizeof(out->reason),
			         "no loader configured for arch %u", m->arch);
		}
		break;
	case FIRMWARE_UEFI_HTTP:
		snprintf(out->vendor_class, sizeof(out->vendor_class), "HTTPClient");
		if (m->arch == ARCH_X64_UEFI_HTTP) {
			snprintf(out->bootfile, sizeof(out->bootfile), "%s/boot/%s.efi", base, mac);
			snprintf(out->reason, sizeof(out->reason), "UEFI HTTP boot gets a URL");
			out->answer = true;
		} else {
			snprintf(out->reason, sizeof(out->reason),
			         "no loader configured for arch %u", m->arch);
		}
		break;
	default:
		snprintf(out->reason, sizeof(out->reason), "not a boot client");
		break;
	}
	return 0;
}
