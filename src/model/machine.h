/*
 * What the DHCP side learned about a machine: the planner's input.
 */
#ifndef NETBOOTD_MODEL_MACHINE_H
#define NETBOOTD_MODEL_MACHINE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

enum firmware_kind {
	FIRMWARE_UNKNOWN,
	FIRMWARE_BIOS_PXE,
	FIRMWARE_UEFI_PXE,
	FIRMWARE_UEFI_HTTP,
	FIRMWARE_IPXE,
	FIRMWARE_KIND_COUNT, /* at most METRICS_MAX_KINDS (util/metrics.h; asserted in machine.c) */
};

/* Option 93 values (IANA "Processor Architecture Types", RFC 4578). */
enum {
	ARCH_X86_BIOS = 0,
	ARCH_X86_UEFI = 6,
	ARCH_X64_UEFI = 7,
	ARCH_EBC = 9, /* what many x64 UEFI ROMs actually send */
	ARCH_ARM32_UEFI = 10,
	ARCH_ARM64_UEFI = 11,
	ARCH_X86_UEFI_HTTP = 15,
	ARCH_X64_UEFI_HTTP = 16,
	ARCH_ARM32_UEFI_HTTP = 18,
	ARCH_ARM64_UEFI_HTTP = 19,
	ARCH_RISCV32_UEFI = 25,
	ARCH_RISCV32_UEFI_HTTP = 26,
	ARCH_RISCV64_UEFI = 27,
	ARCH_RISCV64_UEFI_HTTP = 28,
};

struct machine {
	uint8_t mac[6];
	enum firmware_kind kind;
	bool arch_set;
	uint16_t arch;           /* option 93, or from option 60's "Arch:NNNNN" */
	bool uuid_set;
	uint8_t uuid[16];        /* option 97 (without its type byte) */
	char user_class[64];     /* option 77, printable, e.g. "iPXE" */
	bool ipxe;               /* option 77 "iPXE" or option 175 present */
	struct in_addr relay;    /* giaddr, 0 when direct */
	struct in_addr client_ip;/* the address the client has or asked for, 0 if unknown */
	struct in_addr server_ip;/* our address on the arrival interface */
	bool v6;                 /* asked over DHCPv6: URLs name server_ip6 */
	struct in6_addr server_ip6;
	bool https;              /* the client can do https (UEFI HTTP boot with a CA) */
	bool local_disk;         /* boot-once, booted already: send it to its local disk */
};

const char *firmware_kind_name(enum firmware_kind kind);
/* "bios-pxe", "uefi-pxe", ... -> kind; returns -1 when unknown. */
int firmware_kind_parse(const char *name);
/* e.g. "x64-uefi"; NULL for values we do not know. */
const char *arch_name(uint16_t arch);
/* For log lines: "7 (x64-uefi)", "42 (unknown)" or "none" when it did not say. */
const char *machine_arch_text(const struct machine *m, char buf[32]);
/* "aa:bb:cc:dd:ee:ff" into buf (18 bytes). */
char *mac_format(const uint8_t mac[6], char buf[18]);
/* Accepts aa:bb:.., aa-bb-.., aabbccddeeff; returns 0 or -1. */
int mac_parse(const char *text, uint8_t mac[6]);

#endif
