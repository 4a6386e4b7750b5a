/*
 * The systemd notification protocol (sd_notify(3)), written by hand: one
 * datagram of "KEY=VALUE" lines to the AF_UNIX socket named in
 * $NOTIFY_SOCKET. READY=1 once every listener is bound (Type=notify),
 * RELOADING=1 and READY=1 around a SIGHUP reload, STOPPING=1 on the way
 * out. Without $NOTIFY_SOCKET (not started by systemd) every call is a
 * no-op.
 */
#ifndef NETBOOTD_UTIL_SDNOTIFY_H
#define NETBOOTD_UTIL_SDNOTIFY_H

/*
 * Open the socket now, while AF_UNIX sockets may still be made (the
 * seccomp filter allows only IP sockets later), and unset $NOTIFY_SOCKET
 * so that no child inherits it. 0, or -errno (logged: the daemon serves
 * anyway, systemd just does not hear that it is ready).
 */
int sdnotify_open(void);

/* Send state (e.g. "READY=1\nSTATUS=serving"); best effort. */
void sdnotify(const char *state);

#endif
