/*
 * The boot planner: policy only, no I/O. Given what the firmware said about
 * itself and the config, it says what to send. Servers ask; they never decide.
 */
#ifndef NETBOOTD_BOOT_PLANNER_H
#define NETBOOTD_BOOT_PLANNER_H

#include <stdbool.h>

#include "boot/machine.h"
#include "config.h"

struct boot_answer {
	bool answer;            /* false: send nothing (reason says why) */
	char bootfile[512];     /* TFTP file name, or a URL (UEFI HTTP boot, iPXE) */
	char vendor_class[16];  /* option 60 to echo: "PXEClient" or "HTTPClient" */
	char reason[192];       /* for the one log line per boot client */
};

/*
 * What a machine asking DHCP (port 67 or 4011) gets as its boot file.
 * m->server_ip must be our address on the arrival interface (URLs use it).
 * Returns 0; out->answer says whether to reply at all.
 */
int planner_dhcp_answer(const struct config *cfg, const struct machine *m, struct boot_answer *out);

#endif
