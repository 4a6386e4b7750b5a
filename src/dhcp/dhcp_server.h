/* The DHCP server: listener(s), sessions, and their event loop callbacks. */
#ifndef NETBOOTD_DHCP_SERVER_H
#define NETBOOTD_DHCP_SERVER_H

struct netbootd;
struct dhcp_server;

/*
 * Bind the listener(s) described by nb->cfg and register them with
 * nb->base. Called before privileges are dropped. Returns 0, or -errno after
 * logging a one-line reason.
 */
int dhcp_server_start(struct netbootd *nb, struct dhcp_server **out);

/* Close every socket and session; safe on NULL. */
void dhcp_server_free(struct dhcp_server *srv);

#endif
