/*
 * Big-endian (network order) 16- and 32-bit fields at any alignment, for the wire
 * parsers and builders (TFTP, DHCPv6). Bytes, not casts: the fields of a
 * datagram are rarely aligned.
 */
#ifndef NETBOOTD_WIRE_BE_H
#define NETBOOTD_WIRE_BE_H

#include <stdint.h>

static inline uint16_t
be16_get(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void
be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
be32_put(uint8_t *p, uint32_t v)
{
	be16_put(p, (uint16_t)(v >> 16));
	be16_put(p + 2, (uint16_t)v);
}

#endif
