/* The boot timeline: MAC-keyed events, IP mapping, hand-off, status documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "boot/timeline.h"

static uint64_t fake_now = 1700000000000ULL;

static uint64_t
clock_fn(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static struct sockaddr_in
addr(const char *ip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(1234) };
	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

static struct timeline *
new_tl(void)
{
	struct timeline *tl = timeline_new();
	assert_non_null(tl);
	timeline_set_clock(tl, clock_fn, NULL);
	return tl;
}

static char *
json(struct timeline *tl)
{
	char *out;
	size_t len;
	assert_int_equal(timeline_json(tl, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

static char *
html(struct timeline *tl)
{
	char *out;
	size_t len;
	assert_int_equal(timeline_html(tl, &out, &len), 0);
	return out;
}

/* Run fn with stderr captured; returns what it printed (static buffer). */
static char captured[8192];
static void
capture_begin(int *saved, int *fd)
{
	char path[] = "/tmp/netbootd-tl-XXXXXX";
	*fd = mkstemp(path);
	unlink(path);
	fflush(stderr);
	*saved = dup(2);
	dup2(*fd, 2);
}
static void
capture_end(int saved, int fd)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	ssize_t n = read(fd, captured, sizeof(captured) - 1);
	captured[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* /status.json with no machine: an empty list, and a summary of zeros. */
#define EMPTY_STATUS                                                                              \
	"{\"summary\":{\"machines\":0,\"up\":0,\"handed_off\":0,\"booting\":0,\"failed\":0,"          \
	"\"booting_at\":{\"dhcp\":0,\"tftp\":0,\"http\":0},\"slowest_handoff_ms\":0},"                  \
	"\"machines\":[]}\n"

static const uint8_t mac1[6] = { 0x52, 0x54, 0, 0, 0, 1 };
static const uint8_t mac2[6] = { 0x52, 0x54, 0, 0, 0, 2 };

/*
 * Over IPv6: the DHCPv6 lease maps the machine's address; a file fetched
 * from it (or from a v4-mapped address of an IPv4 lease) is its event; the
 * status says family ipv6 and the IPv6 address.
 */
static void
test_ipv6_boot(void **state)
{
	(void)state;
	struct timeline *tl = new_tl();
	struct machine m = { .kind = FIRMWARE_UEFI_PXE, .arch_set = true, .arch = 7, .v6 = true };
	memcpy(m.mac, mac1, 6);
	timeline_dhcp(tl, &m, "tftp://[2001:db8::1]/snponly.efi");
	struct in6_addr a6;
	inet_pton(AF_INET6, "2001:db8::100", &a6);
	timeline_map_ip6(tl, &a6, mac1);
	struct sockaddr_in6 c6 = { .sin6_family = AF_INET6, .sin6_addr = a6 };
	fake_now += 100;
	timeline_file(tl, (struct sockaddr *)&c6, "tftp", "snponly.efi", 1000, 100, true);
	/* A v4-mapped client of a dual-stack listener is the IPv4 machine. */
	struct in_addr ip;
	inet_pton(AF_INET, "198.18.0.51", &ip);
	timeline_map_ip(tl, ip, mac2);
	struct sockaddr_in6 m4 = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET6, "::ffff:198.18.0.51", &m4.sin6_addr);
	struct machine m2 = { .kind = FIRMWARE_BIOS_PXE };
	memcpy(m2.mac, mac2, 6);
	timeline_dhcp(tl, &m2, "undionly.kpxe");
	timeline_file(tl, (struct sockaddr *)&m4, "tftp", "undionly.kpxe", 1000, 100, true);
	char *j = json(tl);
	assert_non_null(strstr(j, "\"mac\":\"52:54:00:00:00:01\",\"ip\":\"2001:db8::100\","
	                          "\"family\":\"ipv6\""));
	assert_non_null(strstr(j, "\"path\":\"snponly.efi\""));
	assert_non_null(strstr(j, "\"ip\":\"198.18.0.51\",\"family\":\"ipv4\""));
	assert_non_null(strstr(j, "\"path\":\"undionly.kpxe\""));
	free(j);
	timeline_free(tl);
}

static void
test_full_boot(void **state)
{
	(void)state;
	struct timeline *tl = new_tl();
	struct machine m = { .kind = FIRMWARE_BIOS_PXE, .arch_set = true, .arch = 0 };
	memcpy(m.mac, mac1, 6);
	inet_pton(AF_INET, "198.18.0.1", &m.server_ip);
	timeline_dhcp(tl, &m, "undionly.kpxe");

	/* proxyDHCP: the IP comes from option 50 of a REQUEST. */
	struct in_addr ip;
	inet_pton(AF_INET, "198.18.0.50", &ip);
	timeline_map_ip(tl, ip, mac1);
	uint8_t got[6];
	assert_true(timeline_lookup_ip(tl, ip, got));
	assert_memory_equal(got, mac1, 6);
	struct in_addr sip;
	assert_true(timeline_server_ip(tl, mac1, &sip));
	assert_false(timeline_server_ip(tl, mac2, &sip));

	struct sockaddr_in c = addr("198.18.0.50");
	fake_now += 1500;
	timeline_file(tl, (struct sockaddr *)&c, "tftp", "undionly.kpxe", 70000, 300000, true);
	/* iPXE asks again: the firmware seen first stays the machine's firmware. */
	m.kind = FIRMWARE_IPXE;
	fake_now += 500;
	timeline_dhcp(tl, &m, "http://198.18.0.1/boot/52:54:00:00:00:01.ipxe");
	const char *finals[] = { "quick/initrd0" };
	timeline_expect(tl, mac1, "quick", finals, 1);
	fake_now += 100;
	timeline_file(tl, (struct sockaddr *)&c, "http", "boot/52:54:00:00:00:01.ipxe", 400, 1000, true);
	timeline_file(tl, (struct sockaddr *)&c, "http", "status.json", 400, 1000, true);
	fake_now += 2000;
	timeline_file(tl, (struct sockaddr *)&c, "http", "quick/linux", 5000000, 900000, true);

	char *j = json(tl);
	assert_non_null(strstr(j, "\"state\":\"booting\""));
	free(j);

	int saved, fd;
	capture_begin(&saved, &fd);
	fake_now += 1000;
	timeline_file(tl, (struct sockaddr *)&c, "http", "/quick/initrd0", 2000000, 500000, true);
	capture_end(saved, fd);
	assert_non_null(strstr(captured, "52:54:00:00:00:01 198.18.0.50 handed off to the OS: "
	                                 "firmware bios-pxe x86-bios, profile quick, 5.100 s, 4 files, "
	                                 "7070400 bytes, last quick/initrd0"));

	j = json(tl);
	assert_non_null(strstr(j, "\"mac\":\"52:54:00:00:00:01\",\"ip\":\"198.18.0.50\","
	                          "\"family\":\"ipv4\",\"firmware\":\"bios-pxe\",\"arch\":0,\"arch_name\":\"x86-bios\","
	                          "\"profile\":\"quick\",\"state\":\"handed-off\""));
	assert_non_null(strstr(j, "\"elapsed_ms\":5100,"));
	assert_non_null(strstr(j, "{\"t_ms\":0,\"type\":\"dhcp\",\"offer\":\"bios-pxe x86-bios: undionly.kpxe\"}"));
	assert_non_null(strstr(j, "{\"t_ms\":1500,\"type\":\"tftp\",\"path\":\"undionly.kpxe\","
	                          "\"bytes\":70000,\"duration_ms\":300,\"complete\":true}"));
	assert_null(strstr(j, "status.json"));
	free(j);
	char *h = html(tl);
	assert_non_null(strstr(h, "handed off to the OS"));
	assert_non_null(strstr(h, "52:54:00:00:00:01"));
	assert_non_null(strstr(h, "undionly.kpxe"));
	free(h);

	/* Only one summary: later files are kept but do not log again. */
	capture_begin(&saved, &fd);
	timeline_file(tl, (struct sockaddr *)&c, "http", "quick/initrd0", 2000000, 500000, true);
	capture_end(saved, fd);
	assert_null(strstr(captured, "handed off"));

	/* The next DHCP of a machine that reached its OS starts a new boot. */
	m.kind = FIRMWARE_BIOS_PXE;
	fake_now += 60000;
	timeline_dhcp(tl, &m, "undionly.kpxe");
	j = json(tl);
	assert_non_null(strstr(j, "\"state\":\"booting\""));
	assert_null(strstr(j, "quick/linux"));
	free(j);
	timeline_free(tl);
}

static void
test_unknown_clients_ignored(void **state)
{
	(void)state;
	struct timeline *tl = new_tl();
	struct sockaddr_in c = addr("198.18.0.77");
	timeline_file(tl, (struct sockaddr *)&c, "http", "x", 1, 1, true);
	struct sockaddr_in6 c6 = { .sin6_family = AF_INET6 };
	timeline_file(tl, (struct sockaddr *)&c6, "http", "x", 1, 1, true);
	timeline_file(tl, NULL, "http", "x", 1, 1, true);
	timeline_file(NULL, (struct sockaddr *)&c, "http", "x", 1, 1, true);
	timeline_dhcp(NULL, NULL, NULL);
	char *j = json(tl);
	assert_string_equal(j, EMPTY_STATUS);
	free(j);
	char *h = html(tl);
	assert_non_null(strstr(h, "No machine has asked to boot yet"));
	free(h);
	timeline_free(tl);
}

/*
 * Anyone can fetch boot/<any-mac>.ipxe: that alone must not add a machine
 * or claim an address (docs/security.md); only DHCP creates timelines.
 */
static void
test_only_dhcp_creates_machines(void **state)
{
	(void)state;
	struct timeline *tl = new_tl();
	const char *finals[] = { "quick/initrd0" };
	timeline_expect(tl, mac1, "quick", finals, 1);
	assert_false(timeline_knows(tl, mac1));
	struct in_addr ip;
	inet_pton(AF_INET, "198.18.0.66", &ip);
	timeline_map_ip(tl, ip, mac1); /* mapped, but it has no machine to attach to */
	struct sockaddr_in c = addr("198.18.0.66");
	timeline_file(tl, (struct sockaddr *)&c, "http", "quick/initrd0", 1, 1, true);
	char *j = json(tl);
	assert_string_equal(j, EMPTY_STATUS);
	free(j);
	struct machine m = { .kind = FIRMWARE_IPXE };
	memcpy(m.mac, mac1, 6);
	timeline_dhcp(tl, &m, "script");
	assert_true(timeline_knows(tl, mac1));
	timeline_free(tl);
}

static void
test_hostile_names_escaped(void **state)
{
	(void)state;
	struct timeline *tl = new_tl();
	struct machine m = { .kind = FIRMWARE_BIOS_PXE };
	memcpy(m.mac, mac2, 6);
	timeline_dhcp(tl, &m, "<i>");
	struct in_addr ip;
	inet_pton(AF_INET, "198.18.0.5", &ip);
	timeline_map_ip(tl, ip, mac2);
	struct sockaddr_in c = addr("198.18.0.5");
	const char *finals[] = { "<b>\"x\"" };
	timeline_expect(tl, mac2, "p</td>", finals, 1);
	timeline_file(tl, (struct sockaddr *)&c, "tftp", "<script>alert(1)</script>\"\\\x01", 1, 1, false);
	char *h = html(tl);
	assert_null(strstr(h, "<script>"));
	assert_non_null(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;"));
	assert_non_null(strstr(h, "p&lt;/td&gt;"));
	assert_non_null(strstr(h, "incomplete"));
	free(h);
	char *j = json(tl);
	assert_non_null(strstr(j, "\"path\":\"<script>alert(1)</script>\\\"\\\\\\u0001\""));
	assert_non_null(strstr(j, "\"complete\":false"));
	free(j);
	/* The terminal table (netbootd status): no control byte reaches the terminal. */
	char *t;
	size_t tlen;
	assert_int_equal(timeline_text(tl, &t, &tlen), 0);
	for (size_t i = 0; i < tlen; i++)
		assert_true(t[i] == '\n' || (t[i] >= 0x20 && t[i] < 0x7f));
	assert_non_null(strstr(t, "52:54:00:00:00:02"));
	assert_non_null(strstr(t, "bios-pxe"));
	assert_non_null(strstr(t, "tftp <script>alert(1)</script>\"\\? (incomplete)"));
	free(t);
	timeline_free(tl);
}

static void
test_bounded(void **state)
{
	(void)state;
	struct timeline *tl = new_tl();
	/* Many machines and many IPs: the oldest make room, nothing grows without bound. */
	for (unsigned i = 0; i < 3000; i++) {
		uint8_t mac[6] = { 2, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i };
		struct machine m = { .kind = FIRMWARE_UEFI_PXE, .arch_set = true, .arch = 7 };
		memcpy(m.mac, mac, 6);
		m.client_ip.s_addr = htonl(0xC6120000u + i + 1);
		fake_now += 10;
		timeline_dhcp(tl, &m, "snponly.efi");
	}
	for (unsigned i = 0; i < 5000; i++) {
		struct in_addr ip = { htonl(0xC6130000u + i) };
		timeline_map_ip(tl, ip, mac1);
	}
	/* The newest machine is still there. */
	char *j = json(tl);
	assert_non_null(strstr(j, "\"mac\":\"02:00:00:00:0b:b7\""));
	assert_null(strstr(j, "\"mac\":\"02:00:00:00:00:00\""));
	free(j);

	/* One machine, many events: the newest are kept. */
	struct machine m2 = { .kind = FIRMWARE_BIOS_PXE };
	memcpy(m2.mac, mac2, 6);
	timeline_dhcp(tl, &m2, "undionly.kpxe");
	struct in_addr ip = { htonl(0xC6140001u) };
	timeline_map_ip(tl, ip, mac2);
	struct sockaddr_in c = { .sin_family = AF_INET, .sin_addr = ip };
	for (int i = 0; i < 200; i++) {
		char path[32];
		snprintf(path, sizeof(path), "f%d", i);
		timeline_file(tl, (struct sockaddr *)&c, "tftp", path, 1, 1, true);
	}
	char *h = html(tl);
	assert_non_null(strstr(h, "earlier events not shown"));
	assert_non_null(strstr(h, ">f199<"));
	assert_null(strstr(h, ">f100<"));
	free(h);
	timeline_free(tl);
}

static void
test_clock_set_back(void **state)
{
	(void)state;
	struct timeline *tl = new_tl();
	struct machine m = { .kind = FIRMWARE_BIOS_PXE, .arch_set = true };
	memcpy(m.mac, mac2, 6);
	m.client_ip.s_addr = htonl(0xC6120009);
	timeline_dhcp(tl, &m, "undionly.kpxe");
	fake_now -= 3600 * 1000; /* NTP stepped the clock back an hour */
	struct sockaddr_in c = addr("198.18.0.9");
	timeline_file(tl, (struct sockaddr *)&c, "tftp", "undionly.kpxe", 10, 10, true);
	timeline_dhcp(tl, &m, "undionly.kpxe");
	char *j = json(tl);
	/* No wrapped-around durations, and still the same boot. */
	assert_non_null(strstr(j, "\"elapsed_ms\":0,"));
	assert_null(strstr(j, "18446744"));
	assert_non_null(strstr(j, "undionly.kpxe\",\"bytes\":10"));
	free(j);
	timeline_free(tl);
}

/* A fleet at a glance: the summary, and the failed and slowest first. */
static void
test_summary_and_attention_order(void **state)
{
	(void)state;
	struct timeline *tl = new_tl();
	static const char *const ips[] = { "198.18.0.61", "198.18.0.62", "198.18.0.63", "198.18.0.64" };
	uint8_t macs[4][6];
	for (int i = 0; i < 4; i++) {
		uint8_t mac[6] = { 0x52, 0x54, 0, 0, 1, (uint8_t)(i + 1) };
		memcpy(macs[i], mac, 6);
		struct machine m = { .kind = FIRMWARE_BIOS_PXE };
		memcpy(m.mac, mac, 6);
		timeline_dhcp(tl, &m, "undionly.kpxe");
		struct in_addr ip;
		inet_pton(AF_INET, ips[i], &ip);
		timeline_map_ip(tl, ip, mac);
		const char *finals[] = { "vmlinuz" };
		timeline_expect(tl, mac, "p", finals, 1);
		fake_now += 1000;
	}
	struct sockaddr_in c0 = addr(ips[0]), c1 = addr(ips[1]), c2 = addr(ips[2]);
	/* 1: handed off; 2: failed at TFTP; 3: booting, at TFTP; 4: only DHCP so far. */
	timeline_file(tl, (struct sockaddr *)&c0, "http", "vmlinuz", 100, 10, true);
	timeline_file(tl, (struct sockaddr *)&c1, "tftp", "undionly.kpxe", 100, 10, false);
	timeline_file(tl, (struct sockaddr *)&c2, "tftp", "undionly.kpxe", 100, 10, true);
	fake_now += 5000;

	struct timeline_summary sum;
	timeline_summarize(tl, &sum);
	assert_int_equal(sum.machines, 4);
	assert_int_equal(sum.by_state[TIMELINE_HANDED_OFF], 1);
	assert_int_equal(sum.by_state[TIMELINE_FAILED], 1);
	assert_int_equal(sum.by_state[TIMELINE_BOOTING], 2);
	assert_int_equal(sum.booting_at_tftp, 1);
	assert_int_equal(sum.booting_at_dhcp, 1);
	assert_int_equal(sum.booting_at_http, 0);
	assert_int_equal(sum.slowest_handoff_ms, 4000); /* DHCP at t0, its last file at t0 + 4 s */

	char *t;
	size_t len;
	assert_int_equal(timeline_text(tl, &t, &len), 0);
	assert_non_null(strstr(t, "4 machines: 0 up, 1 handed off, 2 booting (1 at DHCP, 1 at TFTP, "
	                          "0 at HTTP), 1 failed; slowest hand-off 4.0 s\n"));
	/* Failed first, then booting slowest first (machine 3 began before 4), then done. */
	const char *order[] = { "52:54:00:00:01:02", "52:54:00:00:01:03", "52:54:00:00:01:04",
		                    "52:54:00:00:01:01" };
	const char *at = t;
	for (int i = 0; i < 4; i++) {
		const char *p = strstr(at, order[i]);
		assert_non_null(p);
		at = p;
	}
	assert_non_null(strstr(t, "failed"));
	free(t);
	char *j = json(tl);
	assert_non_null(strstr(j, "{\"summary\":{\"machines\":4,\"up\":0,\"handed_off\":1,"
	                          "\"booting\":2,\"failed\":1,\"booting_at\":{\"dhcp\":1,\"tftp\":1,"
	                          "\"http\":0},\"slowest_handoff_ms\":4000},\"machines\":["));
	assert_non_null(strstr(j, "\"state\":\"failed\""));
	free(j);
	char *h = html(tl);
	assert_non_null(strstr(h, "<b>4 machines: 0 up, 1 handed off"));
	assert_true(strstr(h, "52:54:00:00:01:02") < strstr(h, "52:54:00:00:01:01"));
	free(h);

	/* Machine 1's OS reports in: up, listed last, its hand-off still the slowest. */
	uint8_t stranger[6] = { 0x52, 0x54, 0, 0, 9, 9 };
	assert_false(timeline_up(tl, stranger)); /* DHCP never saw it: no timeline made */
	assert_true(timeline_up(tl, macs[0]));
	timeline_summarize(tl, &sum);
	assert_int_equal(sum.machines, 4);
	assert_int_equal(sum.by_state[TIMELINE_UP], 1);
	assert_int_equal(sum.by_state[TIMELINE_HANDED_OFF], 0);
	assert_int_equal(sum.slowest_handoff_ms, 4000);
	j = json(tl);
	assert_non_null(strstr(j, "\"up\":1,\"handed_off\":0,"));
	assert_non_null(strstr(j, "\"mac\":\"52:54:00:00:01:01\",\"ip\":\"198.18.0.61\""));
	assert_non_null(strstr(j, "\"state\":\"up\""));
	free(j);
	assert_int_equal(timeline_text(tl, &t, &len), 0);
	assert_true(strstr(t, "52:54:00:00:01:04") < strstr(t, "52:54:00:00:01:01"));
	assert_non_null(strstr(t, "  up  "));
	free(t);
	/* Its next DHCP is a new boot: no longer up. */
	struct machine again = { .kind = FIRMWARE_BIOS_PXE };
	memcpy(again.mac, macs[0], 6);
	timeline_dhcp(tl, &again, "undionly.kpxe");
	timeline_summarize(tl, &sum);
	assert_int_equal(sum.by_state[TIMELINE_UP], 0);
	assert_int_equal(sum.by_state[TIMELINE_BOOTING], 3);
	timeline_free(tl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_boot),
		cmocka_unit_test(test_ipv6_boot),
		cmocka_unit_test(test_unknown_clients_ignored),
		cmocka_unit_test(test_only_dhcp_creates_machines),
		cmocka_unit_test(test_hostile_names_escaped),
		cmocka_unit_test(test_summary_and_attention_order),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_clock_set_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
