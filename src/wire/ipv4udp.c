/* IPv4 + UDP headers around a payload (wire/ipv4udp.h says what for). */
#include "wire/ipv4udp.h"

#include <errno.h>
#include <string.h>

/* The ones' complement sum of 16-bit big-endian words, unfolded. */
static uint32_t
sum_words(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t
inet_checksum(const void *data, size_t len, uint32_t partial)
{
	uint32_t sum = sum_words(partial, data, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
put16(uint8_t *p, uint16_t host)
{
	p[0] = (uint8_t)(host >> 8);
	p[1] = (uint8_t)host;
}

int
ipv4udp_build(uint8_t *out, size_t outlen, struct in_addr src, uint16_t sport,
              struct in_addr dst, uint16_t dport, const uint8_t *payload, size_t len)
{
	if (len > 65535 - IPV4UDP_HEADERS || outlen < IPV4UDP_HEADERS + len)
		return -EMSGSIZE;
	uint8_t *ip = out, *udp = out + 20;
	memset(out, 0, IPV4UDP_HEADERS);
	ip[0] = 0x45;                    /* version 4, 5 words of header */
	put16(ip + 2, (uint16_t)(IPV4UDP_HEADERS + len));
	ip[8] = 64;                      /* TTL */
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	put16(ip + 10, inet_checksum(ip, 20, 0));

	memcpy(udp, &sport, 2);
	memcpy(udp + 2, &dport, 2);
	put16(udp + 4, (uint16_t)(8 + len));
	memcpy(udp + 8, payload, len);
	/* RFC 768: the checksum covers a pseudo-header of addresses, protocol
	 * and UDP length, then the UDP header and data. */
	uint8_t pseudo[12];
	memcpy(pseudo, &src, 4);
	memcpy(pseudo + 4, &dst, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	put16(pseudo + 10, (uint16_t)(8 + len));
	uint16_t c = inet_checksum(udp, 8 + len, sum_words(0, pseudo, sizeof(pseudo)));
	put16(udp + 6, c == 0 ? 0xffff : c);
	return (int)(IPV4UDP_HEADERS + len);
}
