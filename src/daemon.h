/*
 * The daemon's shared context: one event loop, the settings, the root, and
 * the pieces every server talks to (file lookup, planner, timeline).
 * Servers get a pointer to it; nothing here does I/O by itself.
 */
#ifndef NETBOOTD_DAEMON_H
#define NETBOOTD_DAEMON_H

#include <event2/event.h>

#include "boot/context.h"
#include "model/config.h"

struct tftp_server;
struct http_server;
struct dhcp_server;

struct netbootd {
	struct event_base *base;
	struct boot_context boot;   /* settings, root, files, timeline: what boot/ sees */
	struct tftp_server *tftp;
	struct http_server *http;
	struct dhcp_server *dhcp;
	/* The command line, kept for a reload to read again (the file is cfg->config_file). */
	int argc;
	char **argv;
	unsigned reloads;           /* applied since start */
};

#endif
