/*
 * Per-machine boot timeline, keyed by MAC, with client IPs mapped back to
 * the MAC. DHCP reports offers (and which IP a MAC has or asked for); TFTP
 * and HTTP report each file; the timeline works out the rest.
 */
#ifndef NETBOOTD_BOOT_TIMELINE_H
#define NETBOOTD_BOOT_TIMELINE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "boot/machine.h"

struct timeline;

struct timeline *timeline_new(void);
void timeline_free(struct timeline *tl);

/* A DHCP answer went out to m (m->client_ip, when known, is remembered). */
void timeline_dhcp(struct timeline *tl, const struct machine *m, const char *offered);

/* The client at ip is the machine with this MAC (lease, option 50, ciaddr). */
void timeline_map_ip(struct timeline *tl, struct in_addr ip, const uint8_t mac[6]);

/* A file transfer ended (complete or not). proto is "tftp", "http" or "https". */
void timeline_file(struct timeline *tl, const struct sockaddr *client, const char *proto,
                   const char *path, uint64_t bytes, uint64_t usec, bool complete);

/* MAC for a client address, if known. Returns true and fills mac. */
bool timeline_lookup_ip(const struct timeline *tl, struct in_addr ip, uint8_t mac[6]);

#endif
