/*
 * The decision API's client: asks GET {decision-api}/v1/boot/MAC?arch=N
 * over HTTP/1.1 (libevent's evhttp, one connection kept open, requests in
 * order), with decision-api-timeout, and hands each answer to the boot
 * layer's cache (boot/decision.h), which decides.
 */
#ifndef NETBOOTD_API_DECISION_CLIENT_H
#define NETBOOTD_API_DECISION_CLIENT_H

#include "daemon.h"

/* No decision-api: 0 and nothing. Else the client and the cache, or -1 (logged). */
int decision_client_start(struct netbootd *nb);
/* After a reload swapped the configuration in: ask before it again. */
void decision_client_rebind(struct netbootd *nb);
void decision_client_free(struct netbootd *nb);

/*
 * "http://ADDR:PORT/PREFIX" (IPv4 or [IPv6] literal; port 80 by default)
 * into host, port and prefix (no trailing '/'). Pure. 0 or -EINVAL.
 */
int decision_url_parse(const char *url, char *host, size_t hostlen, unsigned *port, char *prefix,
                       size_t prefixlen);

#endif
