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
struct dhcp6_server;
struct decision_client;

/*
 * The loop's two priorities. A DHCP or TFTP packet is answered before the
 * next HTTP body chunk: under a boot storm a thousand sendfile()s in one
 * loop turn held lock-step TFTP to one block per turn (bench/storm.sh:
 * TFTP p99 7.7 s against dnsmasq's 1.1 s), and DHCP answers past the
 * firmware's first retransmit. HTTP runs at EVENT_PRIORITY_BULK, and the
 * loop looks for datagrams again every DAEMON_BULK_SLICE_USEC of it.
 */
enum {
	EVENT_PRIORITY_DATAGRAM = 0, /* DHCP, TFTP: small, latency-bound, lock-step */
	EVENT_PRIORITY_BULK = 1,     /* HTTP(S), signals, everything else */
	EVENT_PRIORITIES = 2,
};
#define DAEMON_BULK_SLICE_USEC 2000

struct netbootd {
	struct event_base *base;
	struct boot_context boot;   /* settings, root, files, timeline: what boot/ sees */
	struct tftp_server *tftp;
	struct http_server *http;
	struct dhcp_server *dhcp;
	struct dhcp6_server *dhcp6; /* --dhcp6 proxy|server; NULL: off */
	struct decision_client *decide; /* decision-api; NULL: none */
	/* The command line, kept for a reload to read again (the file is cfg->config_file). */
	int argc;
	char **argv;
	unsigned reloads;           /* applied since start */
	int hosts_watch_fd;         /* inotify on hosts-dir; -1: none */
	struct event *hosts_watch;  /* its reads */
	struct event *hosts_settle; /* a reload once the directory has been quiet a moment */
};

#endif
