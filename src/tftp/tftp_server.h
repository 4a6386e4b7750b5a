/* The TFTP server: listener(s), sessions, and their event loop callbacks. */
#ifndef NETBOOTD_TFTP_SERVER_H
#define NETBOOTD_TFTP_SERVER_H

struct netbootd;
struct tftp_server;

/*
 * Bind the listener(s) described by nb->cfg and register them with
 * nb->base. Called before privileges are dropped. Returns 0, or -errno after
 * logging a one-line reason.
 */
int tftp_server_start(struct netbootd *nb, struct tftp_server **out);

/* Close every socket and session; safe on NULL. */
void tftp_server_free(struct tftp_server *srv);

#endif
