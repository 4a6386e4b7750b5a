/*
 * Live reload (SIGHUP, `systemctl reload netbootd`): read the configuration
 * again and swap it in between two events, so transfers in flight, leases
 * and the timeline carry on untouched.
 */
#ifndef NETBOOTD_RELOAD_H
#define NETBOOTD_RELOAD_H

#include "daemon.h"

/*
 * Re-read the command line and config file. A file with errors is refused,
 * each error logged as file:line, and the running configuration keeps
 * serving. Otherwise profiles, hosts, arches and the live [server] keys
 * take effect for the next request; other changed keys are named as
 * waiting for a restart. The TLS certificate is read again either way.
 * Returns 0 when the new configuration was applied, -1 when refused.
 */
int daemon_reload(struct netbootd *nb);

/*
 * hosts-dir: watch the directory (inotify, opened before the sandbox) and
 * reload once it has been quiet for RELOAD_SETTLE_MS after a file in it was
 * written, moved in or out, or deleted. 0 (also when there is no hosts-dir),
 * or -1 after logging why.
 */
#define RELOAD_SETTLE_MS 300
int reload_watch_hosts_dir(struct netbootd *nb);
void reload_unwatch(struct netbootd *nb);

#endif
