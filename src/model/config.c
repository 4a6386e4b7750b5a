#include "model/config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bootconf.h"

enum opt_type {
	OPT_STRING,
	OPT_STRLIST,
	OPT_LISTEN,
	OPT_UINT,
	OPT_FLAG,
	OPT_DHCP_MODE,
	OPT_IPV4,
	OPT_POOL,
	OPT_IPV6,
	OPT_POOL6,
	OPT_LOG_LEVEL,
	OPT_NETLIST,
};

struct config_option {
	const char *name;
	enum opt_type type;
	size_t offset;
	unsigned min, max;   /* OPT_UINT */
	const char *arg;     /* shown in --help */
	const char *help;
	/*
	 * A reload (SIGHUP) applies it to the running daemon. The others are
	 * bound into sockets, the sandbox or start-up builds, and keep their
	 * running value until a restart (the reload says so).
	 */
	bool live;
};

#define F(field) offsetof(struct config, field)
#define LIVE true     /* a reload applies it */
#define RESTART false /* a reload leaves it until the next start */

/*
 * Every setting, once. The order is the order of --help. Keys of the
 * [server] section are these names without the leading dashes.
 */
static const struct config_option options[] = {
	{ "root", OPT_STRING, F(root), 0, 0, "DIR", "serve files from beneath DIR (required unless quick mode)", RESTART },
	{ "tftp", OPT_LISTEN, F(tftp), 0, 0, "ADDR:PORT|off", "TFTP listener (default 0.0.0.0:69)", RESTART },
	{ "http", OPT_LISTEN, F(http), 0, 0, "ADDR:PORT|off", "HTTP listener (default 0.0.0.0:80)", RESTART },
	{ "https", OPT_LISTEN, F(https), 0, 0, "ADDR:PORT", "HTTPS listener (needs --tls-cert and --tls-key)", RESTART },
	{ "tls-cert", OPT_STRING, F(tls_cert), 0, 0, "PEM", "certificate chain for HTTPS", RESTART },
	{ "tls-key", OPT_STRING, F(tls_key), 0, 0, "PEM", "private key for HTTPS", RESTART },
	{ "http-boot-https", OPT_FLAG, F(http_boot_https), 0, 0, NULL, "offer UEFI HTTP boot clients https:// URLs (needs --https; the firmware needs the CA)", LIVE },
	{ "dhcp", OPT_DHCP_MODE, F(dhcp_mode), 0, 0, "proxy|server|off", "DHCP role (default proxy)", RESTART },
	{ "interface", OPT_STRLIST, F(interfaces), 0, 0, "IFACE", "answer DHCP on IFACE (repeatable; default all)", RESTART },
	{ "dhcp-port", OPT_UINT, F(dhcp_port), 1, 65535, "N", "DHCP server port (default 67)", RESTART },
	{ "pxe-port", OPT_UINT, F(pxe_port), 1, 65535, "N", "PXE boot server port (default 4011)", RESTART },
	{ "pool", OPT_POOL, F(pool_first), 0, 0, "FIRST-LAST", "addresses to lease in server mode", RESTART },
	{ "lease-file", OPT_STRING, F(lease_file), 0, 0, "FILE", "where leases are kept (server mode)", RESTART },
	{ "server-addr", OPT_IPV4, F(server_addr), 0, 0, "ADDR", "address clients reach this server at", RESTART },
	{ "dhcp6", OPT_DHCP_MODE, F(dhcp6_mode), 0, 0, "proxy|server|off", "DHCPv6 role for network boot (default off)", RESTART },
	{ "pool6", OPT_POOL6, F(pool6_first), 0, 0, "FIRST-LAST", "IPv6 addresses to lease in DHCPv6 server mode (one /96)", RESTART },
	{ "lease-file6", OPT_STRING, F(lease_file6), 0, 0, "FILE", "where DHCPv6 leases are kept (DHCPv6 server mode)", RESTART },
	{ "server-addr6", OPT_IPV6, F(server_addr6), 0, 0, "ADDR", "IPv6 address clients reach this server at (default: the arrival interface's global address)", RESTART },
	{ "image", OPT_STRING, F(image), 0, 0, "FILE", "quick mode: boot this disk image (ISO or raw disk)", RESTART },
	{ "method", OPT_STRING, F(method), 0, 0, "METHOD", "image boot method: auto|direct|pxelinux|grub|imgboot|firmware-ramdisk|memdisk|sanboot|grub-memdisk", RESTART },
	{ "kernel", OPT_STRING, F(kernel), 0, 0, "FILE", "quick mode: boot this Linux kernel", RESTART },
	{ "initrd", OPT_STRLIST, F(initrds), 0, 0, "FILE", "initrd for --kernel (repeatable)", RESTART },
	{ "cmdline", OPT_STRING, F(cmdline), 0, 0, "STRING", "kernel command line for --kernel", RESTART },
	{ "config", OPT_STRING, F(config_file), 0, 0, "FILE", "read settings from an INI file", RESTART },
	{ "check-config", OPT_FLAG, F(check_config), 0, 0, NULL, "validate the configuration and exit 0 or 1", RESTART },
	{ "user", OPT_STRING, F(user), 0, 0, "NAME", "drop privileges to NAME after binding (default netbootd, else nobody)", RESTART },
	{ "no-seccomp", OPT_FLAG, F(no_seccomp), 0, 0, NULL, "run without the system call allow-list (for debugging; see docs/security.md)", RESTART },
	{ "log-level", OPT_LOG_LEVEL, F(log_level), 0, 0, "LEVEL", "error|warn|info|debug (default info)", LIVE },

	{ "tftp-max-blksize", OPT_UINT, F(tftp_max_blksize), 0, 65464, "N", "cap on TFTP blksize (default: path MTU)", LIVE },
	{ "tftp-max-windowsize", OPT_UINT, F(tftp_max_windowsize), 1, 65535, "N", "cap on TFTP windowsize (default 64)", LIVE },
	{ "tftp-max-transfers", OPT_UINT, F(tftp_max_transfers), 1, 1000000, "N", "concurrent TFTP transfers (default 2000)", RESTART },
	{ "tftp-max-per-client", OPT_UINT, F(tftp_max_per_client), 1, 1000000, "N", "concurrent TFTP transfers per client address (default 32)", LIVE },
	{ "tftp-timeout", OPT_UINT, F(tftp_timeout), 1, 255, "SECONDS", "first TFTP retransmit timeout (default 1)", LIVE },
	{ "tftp-retries", OPT_UINT, F(tftp_retries), 1, 100, "N", "TFTP retransmits before giving up (default 6)", LIVE },
	{ "tftp-rate", OPT_UINT, F(tftp_rate), 0, 100000, "N", "new TFTP requests a second per client address, bursts of twice that (default 50; 0: no limit; loopback never limited)", LIVE },

	{ "http-max-connections", OPT_UINT, F(http_max_connections), 1, 1000000, "N", "concurrent HTTP connections (default 4096; when full, the oldest idle one is closed)", LIVE },
	{ "status-allow", OPT_NETLIST, F(status_allow), 0, 0, "NETS", "networks that may read /status, /status.json and /metrics (ADDR/BITS, comma-separated, repeatable; default: everyone)", LIVE },
	{ "http-max-per-client", OPT_UINT, F(http_max_per_client), 1, 1000000, "N", "concurrent HTTP connections per client address (default 64; loopback not limited)", LIVE },
	{ "http-idle-timeout", OPT_UINT, F(http_idle_timeout), 1, 86400, "SECONDS", "idle/slow HTTP client timeout (default 30)", LIVE },
	{ "http-max-header-bytes", OPT_UINT, F(http_max_header_bytes), 256, 1048576, "N", "request header size limit (default 8192)", LIVE },
	{ "http-max-headers", OPT_UINT, F(http_max_headers), 1, 1000, "N", "request header count limit (default 64)", LIVE },

	{ "netmask", OPT_IPV4, F(netmask), 0, 0, "ADDR", "subnet mask handed out in server mode", LIVE },
	{ "router", OPT_IPV4, F(router), 0, 0, "ADDR", "default gateway handed out in server mode", LIVE },
	{ "dns", OPT_STRLIST, F(dns), 0, 0, "ADDR", "DNS server handed out in server mode (repeatable)", LIVE },
	{ "dhcp-lease-rate", OPT_UINT, F(dhcp_lease_rate), 0, 1000000, "N", "server mode: new clients a second per relay or interface, bursts of ten seconds' worth (default 100; 0: no limit)", LIVE },
	{ "dhcp-known-only", OPT_FLAG, F(dhcp_known_only), 0, 0, NULL, "answer only machines with a [host MAC] section (server and proxy mode)", LIVE },
	{ "lease-time", OPT_UINT, F(lease_time), 60, 31536000, "SECONDS", "lease time in server mode (default 3600)", LIVE },
	{ "domain", OPT_STRING, F(domain), 0, 0, "NAME", "domain name handed out in server mode", LIVE },

	{ "ipxe-dir", OPT_STRING, F(ipxe_dir), 0, 0, "DIR", "iPXE binaries (default /usr/lib/ipxe)", RESTART },
	{ "syslinux-dir", OPT_STRING, F(syslinux_dir), 0, 0, "DIR", "syslinux modules and memdisk (default /usr/lib/syslinux)", RESTART },
	{ "pxelinux-dir", OPT_STRING, F(pxelinux_dir), 0, 0, "DIR", "pxelinux.0 (default /usr/lib/PXELINUX)", RESTART },
	{ "grub-dir", OPT_STRING, F(grub_dir), 0, 0, "DIR", "GRUB modules (default /usr/lib/grub)", RESTART },
	{ "imgboot-efi", OPT_STRING, F(imgboot_efi), 0, 0, "FILE", "imgboot.efi to serve", RESTART },
	{ "imgboot-efi-arm64", OPT_STRING, F(imgboot_efi_arm64), 0, 0, "FILE", "imgbootaa64.efi (imgboot for ARM64) to serve", RESTART },
	{ "shim-efi", OPT_STRING, F(shim_efi), 0, 0, "FILE", "Secure Boot: the signed shim served as shimx64.efi (default /usr/lib/shim/shimx64.efi.signed)", RESTART },
	{ "signed-grub-efi", OPT_STRING, F(signed_grub_efi), 0, 0, "FILE", "Secure Boot: the signed network GRUB served as grubx64.efi (default /usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed)", RESTART },
	{ "arm64-shim-efi", OPT_STRING, F(arm64_shim_efi), 0, 0, "FILE", "ARM64 UEFI PXE: the signed shim served as shimaa64.efi (default: Debian's, see netbootd.conf(5))", RESTART },
	{ "arm64-grub-efi", OPT_STRING, F(arm64_grub_efi), 0, 0, "FILE", "ARM64 UEFI PXE: the signed network GRUB served as grubaa64.efi (default: Debian's, see netbootd.conf(5))", RESTART },
	{ "arm64-grub-dir", OPT_STRING, F(arm64_grub_dir), 0, 0, "DIR", "ARM64 UEFI PXE: GRUB's arm64-efi modules, for a network GRUB with netbootd's address (default /usr/lib/grub/arm64-efi)", RESTART },
	{ "decision-api", OPT_STRING, F(decision_api), 0, 0, "URL", "ask http://ADDR:PORT[/PREFIX]/v1/boot/MAC what a machine boots before the config (docs/fleet.md)", RESTART },
	{ "decision-api-ttl", OPT_UINT, F(decision_api_ttl), 0, 86400, "SECONDS", "keep a decision API answer this long (default 60)", LIVE },
	{ "decision-api-timeout", OPT_UINT, F(decision_api_timeout), 1, 60, "SECONDS", "wait this long for the decision API, then the config decides (default 2)", RESTART },
	{ "hosts-dir", OPT_STRING, F(hosts_dir), 0, 0, "DIR", "one file per machine: every DIR/*.conf holds [host MAC] sections; a change there reloads (absolute path)", RESTART },
	{ "boot-once-file", OPT_STRING, F(boot_once_file), 0, 0, "FILE", "where the machines that booted once are kept ([host] boot-once; default: in memory only)", RESTART },
	{ "cache-dir", OPT_STRING, F(cache_dir), 0, 0, "DIR", "where start-up builds (grub-memdisk binaries, GRUB network images) are kept (default /var/cache/netbootd)", RESTART },
	{ "memdisk-max-mb", OPT_UINT, F(memdisk_max_mb), 1, 1048576, "MIB", "largest image sent via memdisk (default 1024)", LIVE },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))
_Static_assert(N_OPTIONS <= 128, "set_by_cli holds 128 bits");

void
config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	(void)listen_spec_parse("0.0.0.0:69", &cfg->tftp);
	(void)listen_spec_parse("0.0.0.0:80", &cfg->http);
	cfg->dhcp_mode = DHCP_MODE_PROXY;
	cfg->dhcp_port = 67;
	cfg->pxe_port = 4011;
	cfg->dhcp_lease_rate = 100;
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->tftp_max_windowsize = 64;
	cfg->tftp_max_transfers = 2000;
	cfg->tftp_max_per_client = 32;
	cfg->tftp_timeout = 1;
	cfg->tftp_retries = 6;
	cfg->tftp_rate = 50;
	cfg->http_max_per_client = 64;
	cfg->http_max_connections = 4096;
	cfg->http_idle_timeout = 30;
	cfg->http_max_header_bytes = 8192;
	cfg->http_max_headers = 64;
	cfg->lease_time = 3600;
	cfg->memdisk_max_mb = 1024;
	cfg->decision_api_ttl = 60;
	cfg->decision_api_timeout = 2;
	cfg->boot = bootconf_new();
}

static void
str_list_clear(struct str_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	l->count = 0;
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		void *p = (char *)cfg + options[i].offset;
		if (options[i].type == OPT_STRING) {
			free(*(char **)p);
			*(char **)p = NULL;
		} else if (options[i].type == OPT_STRLIST) {
			str_list_clear(p);
		}
	}
	bootconf_free(cfg->boot);
	cfg->boot = NULL;
}

int
listen_spec_parse(const char *text, struct listen_spec *out)
{
	memset(out, 0, sizeof(*out));
	if (strcmp(text, "off") == 0)
		return 0;
	if (strlen(text) >= sizeof(out->text))
		return -EINVAL;

	char host[64];
	const char *port;
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (!end || end[1] != ':' || (size_t)(end - text - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		port = end + 2;
	} else {
		const char *colon = strrchr(text, ':');
		if (!colon || (size_t)(colon - text) >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
		port = colon + 1;
	}
	char *endp;
	errno = 0;
	unsigned long p = strtoul(port, &endp, 10);
	if (errno || *port == '\0' || *endp != '\0' || p > 65535)
		return -EINVAL;

	struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		out->addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		out->addrlen = sizeof(*sin6);
	} else {
		return -EINVAL;
	}
	out->enabled = true;
	snprintf(out->text, sizeof(out->text), "%s", text);
	return 0;
}

/* ---- one setter per option type (set_option dispatches) ----------------- */

static int
set_strlist(struct str_list *l, const struct config_option *o, const char *value, bool append,
            char *err, size_t errlen)
{
	if (!append)
		str_list_clear(l);
	if (value[0] == '\0') {
		snprintf(err, errlen, "%s: empty value", o->name);
		return -1;
	}
	if (l->count >= CONFIG_MAX_LIST) {
		snprintf(err, errlen, "%s: more than %d values", o->name, CONFIG_MAX_LIST);
		return -1;
	}
	if (!(l->items[l->count] = strdup(value)))
		return -1;
	l->count++;
	return 0;
}

static int
set_uint(unsigned *out, const struct config_option *o, const char *value, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(value, &end, 10);
	if (errno || value[0] == '\0' || value[0] == '-' || *end != '\0' || v < o->min || v > o->max) {
		snprintf(err, errlen, "%s: '%s' is not a number from %u to %u", o->name, value, o->min,
		         o->max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* A bare flag on the command line is "yes". */
static int
set_flag(bool *out, const struct config_option *o, const char *value, char *err, size_t errlen)
{
	static const char *const yes[] = { "", "yes", "true", "1" }, *const no[] = { "no", "false", "0" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(value, yes[i]) == 0) {
			*out = true;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (strcmp(value, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	snprintf(err, errlen, "%s: '%s' is not yes or no", o->name, value);
	return -1;
}

static int
set_dhcp_mode(enum dhcp_mode *mode, const struct config_option *o, const char *value, char *err,
              size_t errlen)
{
	if (strcmp(value, "proxy") == 0)
		*mode = DHCP_MODE_PROXY;
	else if (strcmp(value, "server") == 0)
		*mode = DHCP_MODE_SERVER;
	else if (strcmp(value, "off") == 0)
		*mode = DHCP_MODE_OFF;
	else {
		snprintf(err, errlen, "%s: '%s' is not proxy, server or off", o->name, value);
		return -1;
	}
	return 0;
}

/* The "was it given" flag beside an IPv4 setting, or NULL. */
static bool *
ipv4_set_flag(struct config *cfg, const struct config_option *o)
{
	if (o->offset == F(server_addr))
		return &cfg->server_addr_set;
	if (o->offset == F(netmask))
		return &cfg->netmask_set;
	if (o->offset == F(router))
		return &cfg->router_set;
	return NULL;
}

static int
set_ipv4(struct config *cfg, const struct config_option *o, const char *value, char *err,
         size_t errlen)
{
	struct in_addr a;
	if (inet_pton(AF_INET, value, &a) != 1) {
		snprintf(err, errlen, "%s: '%s' is not an IPv4 address", o->name, value);
		return -1;
	}
	*(struct in_addr *)((char *)cfg + o->offset) = a;
	bool *given = ipv4_set_flag(cfg, o);
	if (given)
		*given = true;
	return 0;
}

/* "FIRST-LAST" of one address family into a and b (in_addr or in6_addr). */
static bool
parse_range(int af, const char *value, void *a, void *b)
{
	char first[INET6_ADDRSTRLEN], last[INET6_ADDRSTRLEN];
	const char *dash = strchr(value, '-');
	if (!dash || (size_t)(dash - value) >= sizeof(first) || strlen(dash + 1) >= sizeof(last))
		return false;
	memcpy(first, value, (size_t)(dash - value));
	first[dash - value] = '\0';
	snprintf(last, sizeof(last), "%s", dash + 1);
	return inet_pton(af, first, a) == 1 && inet_pton(af, last, b) == 1;
}

static int
set_pool(struct config *cfg, const struct config_option *o, const char *value, char *err,
         size_t errlen)
{
	struct in_addr a, b;
	if (parse_range(AF_INET, value, &a, &b) && ntohl(a.s_addr) <= ntohl(b.s_addr)) {
		cfg->pool_first = a;
		cfg->pool_last = b;
		cfg->pool_set = true;
		return 0;
	}
	snprintf(err, errlen, "%s: '%s' is not FIRST-LAST (IPv4, first <= last)", o->name, value);
	return -1;
}

/* IPv6 FIRST-LAST within one /96: the lease store keys addresses by their last 32 bits. */
static int
set_pool6(struct config *cfg, const struct config_option *o, const char *value, char *err,
          size_t errlen)
{
	struct in6_addr a, b;
	if (parse_range(AF_INET6, value, &a, &b) && memcmp(a.s6_addr, b.s6_addr, 12) == 0 &&
	    memcmp(&a, &b, sizeof(a)) <= 0) {
		cfg->pool6_first = a;
		cfg->pool6_last = b;
		cfg->pool6_set = true;
		return 0;
	}
	snprintf(err, errlen, "%s: '%s' is not FIRST-LAST (IPv6, first <= last, within one /96)",
	         o->name, value);
	return -1;
}

static int
set_netlist(struct net_list *l, const struct config_option *o, const char *value, bool append,
            char *err, size_t errlen)
{
	char bad[80];
	if (!append)
		l->count = 0;
	size_t before = l->count;
	int r = net_list_add(l, value, bad, sizeof(bad));
	if (r == -ENOSPC) {
		snprintf(err, errlen, "%s: more than %d networks", o->name, NETLIST_MAX);
		return -1;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s: '%s' is not a network (ADDR or ADDR/BITS)", o->name, bad);
		return -1;
	}
	if (l->count == before) {
		snprintf(err, errlen, "%s: empty value", o->name);
		return -1;
	}
	return 0;
}

static int
set_option(struct config *cfg, const struct config_option *o, const char *value,
           bool append, char *err, size_t errlen)
{
	void *p = (char *)cfg + o->offset;

	switch (o->type) {
	case OPT_STRING:
		if (value[0] == '\0') {
			snprintf(err, errlen, "%s: empty value", o->name);
			return -1;
		}
		free(*(char **)p);
		*(char **)p = strdup(value);
		return *(char **)p ? 0 : -1;
	case OPT_STRLIST:
		return set_strlist(p, o, value, append, err, errlen);
	case OPT_LISTEN:
		if (listen_spec_parse(value, p) < 0) {
			snprintf(err, errlen, "%s: '%s' is not ADDR:PORT or off", o->name, value);
			return -1;
		}
		return 0;
	case OPT_UINT:
		return set_uint(p, o, value, err, errlen);
	case OPT_FLAG:
		return set_flag(p, o, value, err, errlen);
	case OPT_DHCP_MODE:
		return set_dhcp_mode(p, o, value, err, errlen);
	case OPT_IPV4:
		return set_ipv4(cfg, o, value, err, errlen);
	case OPT_POOL:
		return set_pool(cfg, o, value, err, errlen);
	case OPT_IPV6: /* server-addr6, the one IPv6 setting */
		if (inet_pton(AF_INET6, value, p) != 1) {
			snprintf(err, errlen, "%s: '%s' is not an IPv6 address", o->name, value);
			return -1;
		}
		cfg->server_addr6_set = true;
		return 0;
	case OPT_POOL6:
		return set_pool6(cfg, o, value, err, errlen);
	case OPT_LOG_LEVEL:
		if (log_level_parse(value, &cfg->log_level) < 0) {
			snprintf(err, errlen, "%s: '%s' is not error, warn, info or debug", o->name, value);
			return -1;
		}
		return 0;
	case OPT_NETLIST:
		return set_netlist(p, o, value, append, err, errlen);
	}
	return -1;
}

static const struct config_option *
option_find(const char *name, size_t *index)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		if (strcmp(options[i].name, name) == 0) {
			if (index)
				*index = i;
			return &options[i];
		}
	}
	return NULL;
}

int
config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	const struct config_option *o = option_find(key, NULL);
	if (!o) {
		snprintf(err, errlen, "unknown setting '%s'", key);
		return -1;
	}
	return set_option(cfg, o, value, true, err, errlen);
}

void
config_usage(FILE *out)
{
	fprintf(out,
	        "Usage: netbootd [OPTION]...\n"
	        "       netbootd --image disk.iso\n"
	        "       netbootd mkgrub --image FILE -o grub.efi\n"
	        "       netbootd inspect IMAGE\n"
	        "       netbootd status [--server URL] [--json]\n"
	        "Boot machines over the network: proxy/full DHCP, TFTP and HTTP(S) in one daemon.\n\n");
	for (size_t i = 0; i < N_OPTIONS; i++) {
		char left[64];
		snprintf(left, sizeof(left), "--%s%s%s", options[i].name,
		         options[i].arg ? " " : "", options[i].arg ? options[i].arg : "");
		fprintf(out, "  %-34s %s\n", left, options[i].help);
	}
	fprintf(out, "  %-34s %s\n  %-34s %s\n", "-h, --help", "show this help and exit",
	        "-V, --version", "show the version and exit");
	fprintf(out, "\nEvery option is also a key of the [server] section of the config file;\n"
	             "see netbootd(8) and netbootd.conf(5).\n");
}

int
config_parse_args(struct config *cfg, int argc, char **argv)
{
	struct option longopts[N_OPTIONS + 3];
	for (size_t i = 0; i < N_OPTIONS; i++) {
		longopts[i] = (struct option){
			.name = options[i].name,
			.has_arg = options[i].type == OPT_FLAG ? no_argument : required_argument,
			.flag = NULL,
			.val = 1000 + (int)i,
		};
	}
	longopts[N_OPTIONS] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[N_OPTIONS + 1] = (struct option){ "version", no_argument, NULL, 'V' };
	longopts[N_OPTIONS + 2] = (struct option){ 0 };

	bool list_reset[N_OPTIONS];
	memset(list_reset, 0, sizeof(list_reset));
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
		if (c == 'h') {
			config_usage(stdout);
			return 1;
		}
		if (c == 'V') {
			printf("netbootd %s\n", NETBOOTD_VERSION);
			return 1;
		}
		if (c == ':') {
			fprintf(stderr, "netbootd: option '%s' needs a value (see --help)\n", argv[optind - 1]);
			return -1;
		}
		if (c == '?' || c < 1000) {
			fprintf(stderr, "netbootd: unknown option '%s' (see --help)\n", argv[optind - 1]);
			return -1;
		}
		size_t i = (size_t)(c - 1000);
		char err[256];
		/* A list given on the command line replaces the file's list. */
		if (set_option(cfg, &options[i], optarg ? optarg : "", list_reset[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "netbootd: --%s\n", err);
			return -1;
		}
		list_reset[i] = true;
		cfg->set_by_cli[i / 64] |= 1ULL << (i % 64);
	}
	if (optind < argc) {
		fprintf(stderr, "netbootd: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -1;
	}
	log_set_level(cfg->log_level);
	return 0;
}

/*
 * A problem in the settings: at start-up a compiler-style line on stderr
 * ("file:line: message"), during a reload an error in the log, where the
 * operator who sent SIGHUP looks (the journal).
 */
static void __attribute__((format(printf, 2, 3)))
config_error(const struct config *cfg, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cfg->errors_to_log)
		log_error("config", "%s", msg);
	else
		fprintf(stderr, "%s\n", msg);
}

struct ini_ctx {
	struct config *cfg;
	const char *path;
	bool hosts_only;     /* a hosts-dir file: [host MAC] sections only */
	FILE *fp;
	int line;
	int errors;
	bool file_list_reset[N_OPTIONS];
};

/* fgets that counts lines, so handler errors can name file:line. */
static char *
config_line_reader(char *buf, int size, void *stream)
{
	struct ini_ctx *ctx = stream;
	char *r = fgets(buf, size, ctx->fp);
	if (r)
		ctx->line++;
	return r;
}

static int
config_entry_handler(void *user, const char *section, const char *key, const char *value)
{
	struct ini_ctx *ctx = user;
	char err[512] = "";

	if (ctx->hosts_only && strncmp(section, "host ", 5) != 0) {
		config_error(ctx->cfg, "%s:%d: [%s]: a hosts-dir file holds [host MAC] sections only",
		             ctx->path, ctx->line, section);
		ctx->errors++;
		return 1;
	}
	if (strcmp(section, "server") == 0) {
		size_t i;
		const struct config_option *o = option_find(key, &i);
		if (!o || strcmp(key, "check-config") == 0) {
			config_error(ctx->cfg, "%s:%d: [server]: unknown key '%s'", ctx->path, ctx->line, key);
			ctx->errors++;
			return 1;
		}
		if (strcmp(key, "config") == 0) {
			config_error(ctx->cfg, "%s:%d: [server]: 'config' cannot be set inside a config file",
			             ctx->path, ctx->line);
			ctx->errors++;
			return 1;
		}
		if (ctx->cfg->set_by_cli[i / 64] & (1ULL << (i % 64)))
			return 1; /* the command line wins */
		if (set_option(ctx->cfg, o, value, ctx->file_list_reset[i], err, sizeof(err)) < 0) {
			config_error(ctx->cfg, "%s:%d: [server]: %s", ctx->path, ctx->line, err);
			ctx->errors++;
		}
		ctx->file_list_reset[i] = true;
		return 1;
	}
	bootconf_note_line(ctx->cfg->boot, ctx->line);
	if (bootconf_ini_entry(ctx->cfg->boot, section, key, value, err, sizeof(err)) < 0) {
		config_error(ctx->cfg, "%s:%d: [%s]: %s", ctx->path, ctx->line, section, err);
		ctx->errors++;
	}
	return 1;
}

static void
print_problem(void *ctx, const char *path, int line, const char *msg)
{
	config_error(ctx, "%s:%d: %s", path, line, msg);
}

/* One INI file through handler; the number of errors (each reported). */
static int
parse_ini_file(struct config *cfg, const char *path, bool hosts_only)
{
	struct ini_ctx ctx = { .cfg = cfg, .path = path, .hosts_only = hosts_only };
	ctx.fp = fopen(path, "r");
	if (!ctx.fp) {
		config_error(cfg, "%s: cannot open %s: %s", path,
		             hosts_only ? "hosts-dir file" : "config file", strerror(errno));
		return 1;
	}
	int r = ini_parse_stream((ini_reader)config_line_reader, &ctx, config_entry_handler, &ctx);
	fclose(ctx.fp);
	if (r > 0) {
		/* inih reports only syntax errors this way; ours were printed already. */
		config_error(cfg, "%s:%d: syntax error (expected [section] or key = value)", path, r);
		ctx.errors++;
	} else if (r < 0) {
		config_error(cfg, "%s: cannot read %s", path, hosts_only ? "hosts-dir file" : "config file");
		ctx.errors++;
	}
	return ctx.errors;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A hosts-dir file: NAME.conf, not hidden (editors' temp files are). */
static bool
hosts_file_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

/* Every hosts-dir file, in name order; the number of errors. */
static int
parse_hosts_dir(struct config *cfg)
{
	DIR *d = opendir(cfg->hosts_dir);
	if (!d) {
		config_error(cfg, "%s: cannot read hosts-dir: %s", cfg->hosts_dir, strerror(errno));
		return 1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	int errors = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!hosts_file_name(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **grown = cap <= CONFIG_MAX_HOSTS_FILES ? realloc(names, cap * sizeof(*names)) : NULL;
			if (!grown) {
				config_error(cfg, "%s: more than %d files", cfg->hosts_dir, CONFIG_MAX_HOSTS_FILES);
				errors++;
				break;
			}
			names = grown;
		}
		if (asprintf(&names[n], "%s/%s", cfg->hosts_dir, e->d_name) < 0)
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		if (bootconf_note_file(cfg->boot, names[i]) < 0)
			errors++;
		else
			errors += parse_ini_file(cfg, names[i], true);
		free(names[i]);
	}
	free(names);
	(void)bootconf_note_file(cfg->boot, NULL);
	return errors;
}

int
config_load_file(struct config *cfg, const char *path)
{
	int errors = parse_ini_file(cfg, path, false);
	if (cfg->hosts_dir && cfg->hosts_dir[0] == '/')
		errors += parse_hosts_dir(cfg);
	if (bootconf_finish(cfg->boot, path, print_problem, cfg) < 0)
		errors++;
	log_set_level(cfg->log_level);
	return errors;
}

int
config_load_hosts_dir(struct config *cfg)
{
	int errors = cfg->hosts_dir && cfg->hosts_dir[0] == '/' ? parse_hosts_dir(cfg) : 0;
	if (bootconf_finish(cfg->boot, "command line", print_problem, cfg) < 0)
		errors++;
	return errors;
}

int
config_validate(const struct config *cfg)
{
	int problems = 0;
#define PROBLEM(...) do { config_error(cfg, "netbootd: " __VA_ARGS__); problems++; } while (0)
	if (cfg->https.enabled && (!cfg->tls_cert || !cfg->tls_key))
		PROBLEM("--https needs --tls-cert and --tls-key");
	if (!cfg->https.enabled && (cfg->tls_cert || cfg->tls_key))
		PROBLEM("--tls-cert/--tls-key given without --https");
	if (cfg->http_boot_https && !cfg->https.enabled)
		PROBLEM("--http-boot-https needs --https");
	if (cfg->dhcp_mode == DHCP_MODE_SERVER && !cfg->pool_set)
		PROBLEM("--dhcp server needs --pool FIRST-LAST");
	if (cfg->dhcp_mode == DHCP_MODE_SERVER && !cfg->lease_file)
		PROBLEM("--dhcp server needs --lease-file FILE");
	if (cfg->dhcp6_mode == DHCP_MODE_SERVER && !cfg->pool6_set)
		PROBLEM("--dhcp6 server needs --pool6 FIRST-LAST");
	if (cfg->dhcp6_mode == DHCP_MODE_SERVER && !cfg->lease_file6)
		PROBLEM("--dhcp6 server needs --lease-file6 FILE");
	if (cfg->dhcp6_mode != DHCP_MODE_OFF &&
	    !(cfg->tftp.enabled && cfg->tftp.addr.ss_family == AF_INET6) &&
	    !(cfg->http.enabled && cfg->http.addr.ss_family == AF_INET6))
		PROBLEM("--dhcp6 needs a TFTP or HTTP listener on IPv6 (e.g. --tftp [::]:69 --http [::]:80, "
		        "which serve IPv4 too)");
	if (cfg->dhcp6_mode == DHCP_MODE_SERVER && cfg->lease_file && cfg->lease_file6 &&
	    strcmp(cfg->lease_file, cfg->lease_file6) == 0)
		PROBLEM("--lease-file and --lease-file6 must be two files");
	if (cfg->image && cfg->kernel)
		PROBLEM("--image and --kernel are two quick modes: give one");
	if (!cfg->kernel && (cfg->initrds.count || cfg->cmdline))
		PROBLEM("--initrd/--cmdline need --kernel");
	if (!cfg->root && !cfg->image && !cfg->kernel)
		PROBLEM("--root DIR is required (or a quick mode: --image, --kernel)");
	if (cfg->dhcp_port == cfg->pxe_port)
		PROBLEM("--dhcp-port and --pxe-port must differ");
	if (cfg->hosts_dir && cfg->hosts_dir[0] != '/')
		PROBLEM("--hosts-dir %s: give an absolute path (a reload reads it again from /)",
		        cfg->hosts_dir);
#undef PROBLEM
	return problems;
}

/* ---- reload ----------------------------------------------------------------- */

static bool
same_string(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool
same_str_list(const struct str_list *a, const struct str_list *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++) {
		if (strcmp(a->items[i], b->items[i]) != 0)
			return false;
	}
	return true;
}

static bool
same_net_list(const struct net_list *a, const struct net_list *b)
{
	return a->count == b->count && memcmp(a->items, b->items, a->count * sizeof(a->items[0])) == 0;
}

/* Does option o hold the same value in a and b? */
static bool
option_same(struct config *a, struct config *b, const struct config_option *o)
{
	const void *pa = (const char *)a + o->offset, *pb = (const char *)b + o->offset;
	switch (o->type) {
	case OPT_STRING:
		return same_string(*(char *const *)pa, *(char *const *)pb);
	case OPT_STRLIST:
		return same_str_list(pa, pb);
	case OPT_LISTEN: {
		const struct listen_spec *la = pa, *lb = pb;
		return la->enabled == lb->enabled && strcmp(la->text, lb->text) == 0;
	}
	case OPT_UINT:
		return *(const unsigned *)pa == *(const unsigned *)pb;
	case OPT_FLAG:
		return *(const bool *)pa == *(const bool *)pb;
	case OPT_DHCP_MODE:
		return *(const enum dhcp_mode *)pa == *(const enum dhcp_mode *)pb;
	case OPT_IPV6:
		return a->server_addr6_set == b->server_addr6_set &&
		       memcmp(pa, pb, sizeof(struct in6_addr)) == 0;
	case OPT_POOL6:
		return a->pool6_set == b->pool6_set &&
		       memcmp(&a->pool6_first, &b->pool6_first, sizeof(struct in6_addr)) == 0 &&
		       memcmp(&a->pool6_last, &b->pool6_last, sizeof(struct in6_addr)) == 0;
	case OPT_LOG_LEVEL:
		return a->log_level == b->log_level;
	case OPT_IPV4:
		return *ipv4_set_flag(a, o) == *ipv4_set_flag(b, o) &&
		       ((const struct in_addr *)pa)->s_addr == ((const struct in_addr *)pb)->s_addr;
	case OPT_POOL:
		return a->pool_set == b->pool_set && a->pool_first.s_addr == b->pool_first.s_addr &&
		       a->pool_last.s_addr == b->pool_last.s_addr;
	case OPT_NETLIST:
		return same_net_list(pa, pb);
	}
	return false;
}

static void
swap_bytes(void *a, void *b, size_t n)
{
	unsigned char tmp[sizeof(struct net_list)];
	_Static_assert(sizeof(struct net_list) >= sizeof(struct str_list), "swap buffer");
	memcpy(tmp, a, n);
	memcpy(a, b, n);
	memcpy(b, tmp, n);
}

/* Exchange option o's value (and what it owns) between a and b; live types only. */
static void
option_swap(struct config *a, struct config *b, const struct config_option *o)
{
	static const size_t size[] = {
		[OPT_STRING] = sizeof(char *),       [OPT_STRLIST] = sizeof(struct str_list),
		[OPT_UINT] = sizeof(unsigned),       [OPT_FLAG] = sizeof(bool),
		[OPT_IPV4] = sizeof(struct in_addr), [OPT_LOG_LEVEL] = sizeof(enum log_level),
		[OPT_NETLIST] = sizeof(struct net_list),
	};
	swap_bytes((char *)a + o->offset, (char *)b + o->offset, size[o->type]);
	if (o->type == OPT_IPV4)
		swap_bytes(ipv4_set_flag(a, o), ipv4_set_flag(b, o), sizeof(bool));
}

int
config_take_live(struct config *cfg, struct config *fresh, config_restart_fn restart, void *ctx)
{
	int changed = 0;
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct config_option *o = &options[i];
		if (option_same(cfg, fresh, o))
			continue;
		if (o->live) {
			option_swap(cfg, fresh, o);
			changed++;
		} else if (restart) {
			restart(ctx, o->name);
		}
	}
	struct bootconf *old = cfg->boot;
	cfg->boot = fresh->boot;
	fresh->boot = old;
	return changed;
}

bool
config_status_allowed(const struct config *cfg, const struct sockaddr *client)
{
	if (cfg->status_allow.count == 0)
		return true;
	return client && net_list_contains(&cfg->status_allow, client);
}
