/*
 * What the daemon gives up once its sockets are bound (docs/security.md):
 * root (to a dedicated user, keeping at most CAP_NET_BIND_SERVICE), the
 * working directory, a permissive umask, and every system call it does not
 * make while serving (a seccomp allow-list).
 */
#ifndef NETBOOTD_UTIL_SANDBOX_H
#define NETBOOTD_UTIL_SANDBOX_H

#include <stdbool.h>

/* The system user the packages create for netbootd, and the fallback. */
#define SANDBOX_USER "netbootd"
#define SANDBOX_FALLBACK_USER "nobody"

/*
 * The user to run as when --user is not given: SANDBOX_USER when it exists,
 * else SANDBOX_FALLBACK_USER (with a warning: other daemons share it).
 */
const char *sandbox_default_user(void);

/*
 * setgroups/setgid/setuid to user, checked so there is no way back, and
 * no-new-privs. keep_bind_service: keep CAP_NET_BIND_SERVICE alone (to
 * bind port 67 again when an interface is re-created) and nothing else.
 * Started without root (systemd's User= with AmbientCapabilities): every
 * capability is dropped instead, but CAP_NET_BIND_SERVICE when asked, and
 * no-new-privs. Returns 0 or -1 (logged).
 */
int sandbox_drop_privileges(const char *user, bool keep_bind_service);

/*
 * chdir("/"), umask 027, and (with_seccomp) the system call allow-list: a
 * call outside it is logged with its number and name and kills the daemon
 * with SIGSYS. Returns 0 or -1 (logged).
 */
int sandbox_enter(bool with_seccomp);

#endif
