/* The rtnetlink link-message parser: what the DHCP server reopens on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "util/linkwatch.h"

struct seen {
	struct link_change changes[8];
	int n;
};

static void
record(void *ctx, const struct link_change *c)
{
	struct seen *s = ctx;
	if (s->n < 8)
		s->changes[s->n++] = *c;
}

/* Append one link message (with an IFLA_IFNAME unless name is NULL) at buf+off. */
static size_t
put_link(uint8_t *buf, size_t off, uint16_t type, int ifindex, unsigned flags, const char *name)
{
	struct nlmsghdr nh = { .nlmsg_type = type };
	struct ifinfomsg ifi = { .ifi_family = 0, .ifi_index = ifindex, .ifi_flags = flags };
	size_t at = off + NLMSG_HDRLEN;
	memcpy(buf + at, &ifi, sizeof(ifi));
	at += NLMSG_ALIGN(sizeof(ifi));
	/* An attribute we do not want first, as the kernel sends many. */
	struct rtattr mtu = { .rta_len = RTA_LENGTH(4), .rta_type = IFLA_MTU };
	uint32_t mtu_v = 1500;
	memcpy(buf + at, &mtu, sizeof(mtu));
	memcpy(buf + at + sizeof(mtu), &mtu_v, 4);
	at += RTA_ALIGN(mtu.rta_len);
	if (name) {
		struct rtattr rta = { .rta_len = (unsigned short)RTA_LENGTH(strlen(name) + 1),
			                  .rta_type = IFLA_IFNAME };
		memcpy(buf + at, &rta, sizeof(rta));
		memcpy(buf + at + sizeof(rta), name, strlen(name) + 1);
		at += RTA_ALIGN(rta.rta_len);
	}
	nh.nlmsg_len = (uint32_t)(at - off);
	memcpy(buf + off, &nh, sizeof(nh));
	return at;
}

static void
test_new_and_deleted(void **state)
{
	(void)state;
	uint8_t buf[1024] = { 0 };
	size_t len = put_link(buf, 0, RTM_DELLINK, 7, 0, "s0");
	len = put_link(buf, len, RTM_NEWLINK, 9, IFF_UP, "s0");
	/* Not a link message: skipped. */
	struct nlmsghdr other = { .nlmsg_len = NLMSG_HDRLEN + 4, .nlmsg_type = RTM_NEWADDR };
	memcpy(buf + len, &other, sizeof(other));
	len += NLMSG_ALIGN(other.nlmsg_len);
	len = put_link(buf, len, RTM_NEWLINK, 3, 0, NULL);

	struct seen s = { .n = 0 };
	assert_int_equal(linkwatch_parse(buf, len, record, &s), 3);
	assert_int_equal(s.n, 3);
	assert_true(s.changes[0].gone);
	assert_int_equal(s.changes[0].ifindex, 7);
	assert_string_equal(s.changes[0].ifname, "s0");
	assert_false(s.changes[1].gone);
	assert_true(s.changes[1].up);
	assert_int_equal(s.changes[1].ifindex, 9);
	assert_string_equal(s.changes[1].ifname, "s0");
	assert_string_equal(s.changes[2].ifname, "");
	assert_false(s.changes[2].up);
}

static void
test_malformed(void **state)
{
	(void)state;
	uint8_t buf[512] = { 0 };
	size_t len = put_link(buf, 0, RTM_NEWLINK, 4, IFF_UP, "eth0");
	struct seen s = { .n = 0 };

	/* Cut short: the header's length runs past the datagram. */
	assert_int_equal(linkwatch_parse(buf, len - 1, record, &s), -1);
	assert_int_equal(s.n, 0);

	/* The first message is fine, the second claims a length below its header. */
	size_t len2 = put_link(buf, 0, RTM_NEWLINK, 4, IFF_UP, "eth0");
	struct nlmsghdr bad = { .nlmsg_len = 3, .nlmsg_type = RTM_NEWLINK };
	memcpy(buf + len2, &bad, sizeof(bad));
	s.n = 0;
	assert_int_equal(linkwatch_parse(buf, len2 + sizeof(bad), record, &s), -1);
	assert_int_equal(s.n, 1);

	/* An attribute longer than its message: the message is dropped. */
	len = put_link(buf, 0, RTM_NEWLINK, 4, IFF_UP, "eth0");
	struct rtattr huge = { .rta_len = 200, .rta_type = IFLA_IFNAME };
	memcpy(buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifinfomsg)), &huge, sizeof(huge));
	s.n = 0;
	assert_int_equal(linkwatch_parse(buf, len, record, &s), 0);

	/* A name that fills IFNAMSIZ with no room for the NUL. */
	len = put_link(buf, 0, RTM_NEWLINK, 4, IFF_UP, "abcdefghijklmnop");
	s.n = 0;
	assert_int_equal(linkwatch_parse(buf, len, record, &s), 0);

	/* Index 0 is no interface. */
	len = put_link(buf, 0, RTM_NEWLINK, 0, IFF_UP, "eth0");
	assert_int_equal(linkwatch_parse(buf, len, record, &s), 0);

	/* Nothing at all. */
	assert_int_equal(linkwatch_parse(buf, 0, record, &s), 0);
}

static void
record_addr(void *ctx, const struct link_addr6 *a)
{
	struct link_addr6 *out = ctx;
	for (int i = 0; i < 4; i++) {
		if (out[i].ifindex == 0) {
			out[i] = *a;
			return;
		}
	}
}

/* An RTM_NEWADDR as the kernel dumps it: ifaddrmsg, IFA_ADDRESS, IFA_FLAGS. */
static size_t
put_addr(uint8_t *buf, size_t off, uint8_t family, int ifindex, uint8_t scope,
         const uint8_t *addr, size_t addrlen, uint32_t flags)
{
	struct nlmsghdr nh = { .nlmsg_type = RTM_NEWADDR };
	struct ifaddrmsg ifa = { .ifa_family = family, .ifa_prefixlen = 64, .ifa_scope = scope,
		                     .ifa_index = (unsigned)ifindex, .ifa_flags = (uint8_t)flags };
	size_t at = off + NLMSG_HDRLEN;
	memcpy(buf + at, &ifa, sizeof(ifa));
	at += NLMSG_ALIGN(sizeof(ifa));
	struct rtattr a = { .rta_len = (unsigned short)RTA_LENGTH(addrlen), .rta_type = IFA_ADDRESS };
	memcpy(buf + at, &a, sizeof(a));
	memcpy(buf + at + sizeof(a), addr, addrlen);
	at += RTA_ALIGN(a.rta_len);
	struct rtattr f = { .rta_len = RTA_LENGTH(4), .rta_type = IFA_FLAGS };
	memcpy(buf + at, &f, sizeof(f));
	memcpy(buf + at + sizeof(f), &flags, 4);
	at += RTA_ALIGN(f.rta_len);
	nh.nlmsg_len = (uint32_t)(at - off);
	memcpy(buf + off, &nh, sizeof(nh));
	return at;
}

static void
test_addr6_dump(void **state)
{
	(void)state;
	uint8_t buf[1024] = { 0 };
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t a4[4] = { 198, 18, 0, 1 };
	size_t len = put_addr(buf, 0, AF_INET6, 3, 0, a6, 16, 0x80 | 0x100);
	len = put_addr(buf, len, AF_INET, 3, 0, a4, 4, 0);          /* IPv4: skipped */
	len = put_addr(buf, len, AF_INET6, 4, 0, a6, 8, 0);         /* short address: skipped */
	struct nlmsghdr done = { .nlmsg_len = NLMSG_HDRLEN + 4, .nlmsg_type = NLMSG_DONE };
	memcpy(buf + len, &done, sizeof(done));
	len += NLMSG_ALIGN(done.nlmsg_len);
	struct link_addr6 got[4] = { 0 };
	bool end = false;
	assert_int_equal(linkwatch_parse_addr6(buf, len, record_addr, got, &end), 1);
	assert_true(end);
	assert_int_equal(got[0].ifindex, 3);
	assert_memory_equal(&got[0].addr, a6, 16);
	assert_int_equal(got[0].flags, 0x180); /* IFA_FLAGS: all 32 bits */
	/* Truncated: malformed. */
	end = false;
	assert_int_equal(linkwatch_parse_addr6(buf, 20, record_addr, got, &end), -1);
}

/* The real kernel: loopback's ::1 is in the dump (host scope). */
static void
test_addr6_query_kernel(void **state)
{
	(void)state;
	int fd = linkwatch_query_open();
	assert_true(fd >= 0);
	struct link_addr6 got[4] = { 0 };
	assert_int_equal(linkwatch_query_addr6(fd, record_addr, got), 0);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr6_dump),
		cmocka_unit_test(test_addr6_query_kernel),
		cmocka_unit_test(test_new_and_deleted),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
