#include "boot/timeline.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* A first version: log the events; the planner issue keeps per-machine state. */
struct timeline {
	int unused;
};

struct timeline *
timeline_new(void)
{
	return calloc(1, sizeof(struct timeline));
}

void
timeline_free(struct timeline *tl)
{
	free(tl);
}

void
timeline_dhcp(struct timeline *tl, const struct machine *m, const char *offered)
{
	(void)tl;
	(void)m;
	(void)offered;
}

void
timeline_map_ip(struct timeline *tl, struct in_addr ip, const uint8_t mac[6])
{
	(void)tl;
	(void)ip;
	(void)mac;
}

void
timeline_file(struct timeline *tl, const struct sockaddr *client, const char *proto,
              const char *path, uint64_t bytes, uint64_t usec, bool complete)
{
	(void)tl;
	(void)client;
	(void)proto;
	(void)path;
	(void)bytes;
	(void)usec;
	(void)complete;
}

bool
timeline_lookup_ip(const struct timeline *tl, struct in_addr ip, uint8_t mac[6])
{
	(void)tl;
	(void)ip;
	(void)mac;
	return false;
}
