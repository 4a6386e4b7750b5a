/*
 * An IPv4 header and a UDP header around a payload, for a socket that does
 * not build them: the DHCP server's Ethernet unicast to a client that has
 * no address yet (RFC 2131 4.1) goes out on an AF_PACKET socket, where the
 * kernel adds only the Ethernet header.
 */
#ifndef NETBOOTD_WIRE_IPV4UDP_H
#define NETBOOTD_WIRE_IPV4UDP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define IPV4UDP_HEADERS (20 + 8)

/* The RFC 1071 Internet checksum of data (odd lengths padded with zero),
 * starting from a partial sum; returns the folded, complemented value in
 * host order. */
uint16_t inet_checksum(const void *data, size_t len, uint32_t partial);

/*
 * Write [IPv4 header | UDP header | payload] into out: TTL 64, no options,
 * DF clear, both checksums (RFC 791, RFC 768 over the pseudo-header; a
 * computed UDP checksum of 0 is sent as 0xffff). Addresses and ports are
 * in network order. Returns the frame length, or -EMSGSIZE when it does
 * not fit outlen or an IPv4 datagram.
 */
int ipv4udp_build(uint8_t *out, size_t outlen, struct in_addr src, uint16_t sport,
                  struct in_addr dst, uint16_t dport, const uint8_t *payload, size_t len);

#endif
