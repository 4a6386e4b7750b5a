/*
 * Client classification: what a DHCP request says about the firmware that
 * sent it (RFC 4578 options 93/94/97, option 60, 77, 175). Pure code.
 */
#ifndef NETBOOTD_DHCP_CLASSIFY_H
#define NETBOOTD_DHCP_CLASSIFY_H

#include <stdbool.h>

#include "model/machine.h"
#include "wire/dhcp.h"

enum boot_vendor {
	BOOT_VENDOR_NONE,  /* not a network boot client */
	BOOT_VENDOR_PXE,   /* option 60 starts with "PXEClient" */
	BOOT_VENDOR_HTTP,  /* option 60 starts with "HTTPClient" */
};

/*
 * Fill m (MAC, arch, kind, uuid, user class, ipxe, relay, client_ip from
 * ciaddr or option 50) from msg. server_ip is left alone. Every option is
 * optional and may be malformed: a bad one is ignored, never fatal.
 * Returns what option 60 says the client is.
 */
enum boot_vendor dhcp_classify(const struct dhcp_msg *msg, struct machine *m);

/*
 * Parse the "Arch:NNNNN" field of an option 60 string such as
 * "PXEClient:Arch:00007:UNDI:003016". Returns 0 and fills *arch, or -1.
 */
int dhcp_vendor_class_arch(const uint8_t *val, size_t len, uint16_t *arch);

/* Option 77 names iPXE, raw (what iPXE sends) or as RFC 3004 entries. */
bool dhcp_user_class_is_ipxe(const uint8_t *val, size_t len);

#endif
