#include "model/machine.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/metrics.h"

_Static_assert(FIRMWARE_KIND_COUNT <= METRICS_MAX_KINDS, "metrics.boots has a slot per kind");

static const char *const kind_names[FIRMWARE_KIND_COUNT] = {
	[FIRMWARE_UNKNOWN] = "unknown",
	[FIRMWARE_BIOS_PXE] = "bios-pxe",
	[FIRMWARE_UEFI_PXE] = "uefi-pxe",
	[FIRMWARE_UEFI_HTTP] = "uefi-http",
	[FIRMWARE_IPXE] = "ipxe",
};

const char *
firmware_kind_name(enum firmware_kind kind)
{
	return (unsigned)kind < FIRMWARE_KIND_COUNT ? kind_names[kind] : "unknown";
}

int
firmware_kind_parse(const char *name)
{
	for (int i = 0; i < FIRMWARE_KIND_COUNT; i++)
		if (strcmp(name, kind_names[i]) == 0)
			return i;
	return -1;
}

static const struct {
	uint16_t arch;
	const char *name;
} arch_names[] = {
	{ ARCH_X86_BIOS, "x86-bios" },
	{ ARCH_X86_UEFI, "x86-uefi" },
	{ ARCH_X64_UEFI, "x64-uefi" },
	{ ARCH_EBC, "ebc" },
	{ ARCH_ARM32_UEFI, "arm32-uefi" },
	{ ARCH_ARM64_UEFI, "arm64-uefi" },
	{ ARCH_X86_UEFI_HTTP, "x86-uefi-http" },
	{ ARCH_X64_UEFI_HTTP, "x64-uefi-http" },
	{ ARCH_ARM32_UEFI_HTTP, "arm32-uefi-http" },
	{ ARCH_ARM64_UEFI_HTTP, "arm64-uefi-http" },
	{ ARCH_RISCV32_UEFI, "riscv32-uefi" },
	{ ARCH_RISCV32_UEFI_HTTP, "riscv32-uefi-http" },
	{ ARCH_RISCV64_UEFI, "riscv64-uefi" },
	{ ARCH_RISCV64_UEFI_HTTP, "riscv64-uefi-http" },
};

const char *
arch_name(uint16_t arch)
{
	for (size_t i = 0; i < sizeof(arch_names) / sizeof(arch_names[0]); i++)
		if (arch_names[i].arch == arch)
			return arch_names[i].name;
	return NULL;
}

char *
mac_format(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
	         mac[4], mac[5]);
	return buf;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
mac_parse(const char *text, uint8_t mac[6])
{
	size_t i = 0;
	for (int b = 0; b < 6; b++) {
		if (b > 0 && (text[i] == ':' || text[i] == '-'))
			i++;
		int hi = hexval((unsigned char)text[i]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)text[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		mac[b] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return text[i] == '\0' ? 0 : -1;
}

const char *
machine_arch_text(const struct machine *m, char buf[32])
{
	const char *an = m->arch_set ? arch_name(m->arch) : NULL;
	if (m->arch_set)
		snprintf(buf, 32, "%u (%s)", (unsigned)m->arch, an ? an : "unknown");
	else
		snprintf(buf, 32, "none");
	return buf;
}
