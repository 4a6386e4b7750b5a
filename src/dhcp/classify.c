#include "dhcp/classify.h"

#include <string.h>

#include "util/log.h"

static bool
has_prefix(const uint8_t *val, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(val, prefix, n) == 0;
}

int
dhcp_vendor_class_arch(const uint8_t *val, size_t len, uint16_t *arch)
{
	static const char key[] = ":Arch:";
	const size_t klen = sizeof(key) - 1;
	/* memmem is bounded by len: no NUL assumed in wire data. */
	const uint8_t *p = memmem(val, len, key, klen);
	if (!p)
		return -1;
	p += klen;
	size_t rem = len - (size_t)(p - val);
	/* PXE 2.1 §2.2.3: exactly five decimal digits. */
	if (rem < 5)
		return -1;
	unsigned v = 0;
	for (size_t i = 0; i < 5; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (rem > 5 && p[5] != ':')
		return -1;
	if (v > 0xffff)
		return -1;
	*arch = (uint16_t)v;
	return 0;
}

bool
dhcp_user_class_is_ipxe(const uint8_t *val, size_t len)
{
	/* iPXE sends the bare string "iPXE", not RFC 3004's length-prefixed list. */
	if (len == 4 && memcmp(val, "iPXE", 4) == 0)
		return true;
	/* RFC 3004 §4: a list of (len, data) entries. */
	size_t i = 0;
	while (i < len) {
		size_t n = val[i];
		if (n == 0 || n > len - i - 1)
			return false;
		if (n == 4 && memcmp(val + i + 1, "iPXE", 4) == 0)
			return true;
		i += 1 + n;
	}
	return false;
}

enum boot_vendor
dhcp_classify(const struct dhcp_msg *msg, struct machine *m)
{
	enum boot_vendor vendor = BOOT_VENDOR_NONE;
	const struct dhcp_opt *o;

	struct in_addr keep_server = m->server_ip;
	memset(m, 0, sizeof(*m));
	m->server_ip = keep_server;
	memcpy(m->mac, msg->chaddr, 6);
	m->relay = msg->giaddr;
	if (msg->ciaddr.s_addr)
		m->client_ip = msg->ciaddr;
	else
		(void)dhcp_opt_addr(msg, DHCP_OPT_REQUESTED_IP, &m->client_ip);

	o = &msg->opt[DHCP_OPT_VENDOR_CLASS];
	if (o->present) {
		if (has_prefix(o->val, o->len, "PXEClient"))
			vendor = BOOT_VENDOR_PXE;
		else if (has_prefix(o->val, o->len, "HTTPClient"))
			vendor = BOOT_VENDOR_HTTP;
		uint16_t arch;
		if (vendor != BOOT_VENDOR_NONE && dhcp_vendor_class_arch(o->val, o->len, &arch) == 0) {
			m->arch = arch;
			m->arch_set = true;
		}
	}
	/* Option 93 wins over option 60's copy: it is the structured one. */
	uint16_t arch93;
	if (dhcp_opt_u16(msg, DHCP_OPT_CLIENT_ARCH, &arch93) == 0) {
		m->arch = arch93;
		m->arch_set = true;
	}
	o = &msg->opt[DHCP_OPT_CLIENT_UUID];
	if (o->present && o->len == 17 && o->val[0] == 0) {
		memcpy(m->uuid, o->val + 1, 16);
		m->uuid_set = true;
	}
	o = &msg->opt[DHCP_OPT_USER_CLASS];
	if (o->present) {
		log_escape(m->user_class, sizeof(m->user_class), o->val, o->len);
		if (dhcp_user_class_is_ipxe(o->val, o->len))
			m->ipxe = true;
	}
	if (msg->opt[DHCP_OPT_IPXE_ENCAP].present)
		m->ipxe = true;

	if (m->ipxe)
		m->kind = FIRMWARE_IPXE;
	else if (vendor == BOOT_VENDOR_HTTP)
		m->kind = FIRMWARE_UEFI_HTTP;
	else if (vendor == BOOT_VENDOR_PXE)
		m->kind = (!m->arch_set || m->arch == ARCH_X86_BIOS) ? FIRMWARE_BIOS_PXE
		                                                     : FIRMWARE_UEFI_PXE;
	else
		m->kind = FIRMWARE_UNKNOWN;
	return vendor;
}
