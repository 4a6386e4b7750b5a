/* Socket addresses in log lines, and the monotonic clock for limits and transfer figures. */
#ifndef NETBOOTD_UTIL_NETADDR_H
#define NETBOOTD_UTIL_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

/* "198.18.0.5:1234", "[fd00::5]:1234", or "?" for other families. */
void sockaddr_format(const struct sockaddr *sa, char *buf, size_t len);

/* The port of an AF_INET or AF_INET6 address, in network order; 0 for others. */
uint16_t sockaddr_port(const struct sockaddr_storage *ss);

/* Same family and IP address (the port aside). */
bool sockaddr_same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* Same address and port: one UDP endpoint (a TFTP TID). */
bool sockaddr_same_endpoint(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* CLOCK_MONOTONIC in milliseconds (rate limits). */
uint64_t monotonic_ms(void);

/* Microseconds of CLOCK_MONOTONIC since t0 (0 if the clock went backwards). */
uint64_t usec_since(const struct timespec *t0);

#endif
