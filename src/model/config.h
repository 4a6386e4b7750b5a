/*
 * netbootd's settings: one table serves the command line and the [server]
 * section of the INI file, so every flag has a config key of the same name
 * and flags given on the command line win over the file.
 *
 * Sections other than [server] ([profile NAME], [host MAC], [arch NAME],
 * [default]) belong to the boot planner and are handed to bootconf.
 */
#ifndef NETBOOTD_MODEL_CONFIG_H
#define NETBOOTD_MODEL_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "util/log.h"
#include "util/netlist.h"

#define CONFIG_MAX_LIST 16

struct bootconf;

/* "ADDR:PORT", "[V6ADDR]:PORT" or "off". */
struct listen_spec {
	bool enabled;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[64]; /* as given, for log lines */
};

enum dhcp_mode {
	DHCP_MODE_OFF,
	DHCP_MODE_PROXY,
	DHCP_MODE_SERVER,
};

struct str_list {
	char *items[CONFIG_MAX_LIST];
	size_t count;
};

struct config {
	char *root;
	struct listen_spec tftp;
	struct listen_spec http;
	struct listen_spec https;
	char *tls_cert;
	char *tls_key;
	enum dhcp_mode dhcp_mode;
	struct str_list interfaces;
	unsigned dhcp_port;
	unsigned pxe_port;
	bool pool_set;
	struct in_addr pool_first;
	struct in_addr pool_last;
	char *lease_file;
	bool server_addr_set;
	struct in_addr server_addr;
	/* DHCPv6 (RFC 8415 + RFC 5970 boot options): off unless asked for. */
	enum dhcp_mode dhcp6_mode;
	bool pool6_set;
	struct in6_addr pool6_first;
	struct in6_addr pool6_last;
	char *lease_file6;
	bool server_addr6_set;
	struct in6_addr server_addr6;
	char *image;
	char *method; /* boot method for --image: auto, memdisk, sanboot, ... */
	char *kernel;
	struct str_list initrds;
	char *cmdline;
	char *config_file;
	bool check_config;
	char *user;
	bool no_seccomp;            /* run without the seccomp allow-list */
	unsigned dhcp_lease_rate;   /* new clients a second per relay/interface; 0 = no limit */
	bool dhcp_known_only;       /* answer only [host] MACs */
	enum log_level log_level;

	/* TFTP */
	unsigned tftp_max_blksize;    /* 0: path MTU minus headers */
	unsigned tftp_max_windowsize;
	unsigned tftp_max_transfers;
	unsigned tftp_max_per_client;
	unsigned tftp_timeout;        /* seconds before the first retransmit */
	unsigned tftp_retries;
	unsigned tftp_rate;
	unsigned http_max_per_client;
	struct net_list status_allow; /* empty: everyone may read the status pages */           /* new requests a second per source (0: no limit) */

	/* HTTP */
	unsigned http_max_connections;
	unsigned http_idle_timeout;   /* seconds */
	unsigned http_max_header_bytes;
	unsigned http_max_headers;

	/* DHCP (server mode) */
	bool netmask_set;
	struct in_addr netmask;
	bool router_set;
	struct in_addr router;
	struct str_list dns;
	unsigned lease_time;          /* seconds */
	char *domain;

	/* Boot loaders, found at Debian's paths unless overridden. */
	char *ipxe_dir;
	char *syslinux_dir;
	char *pxelinux_dir;
	char *grub_dir;
	char *imgboot_efi;
	char *imgboot_efi_arm64; /* imgbootaa64.efi, for ARM64 UEFI HTTP boot */
	/* Found at start-up, not an option: imgbootaa64.efi is served. */
	bool imgboot_arm64;
	char *shim_efi;          /* Secure Boot chain: served as shimx64.efi */
	char *signed_grub_efi;   /* ... which fetches this as grubx64.efi */
	char *arm64_shim_efi;    /* ARM64 UEFI PXE: served as shimaa64.efi */
	char *arm64_grub_efi;    /* ... and the signed network GRUB as grubaa64.efi */
	char *arm64_grub_dir;    /* arm64-efi GRUB modules: our own network GRUB for ARM64 */
	/* Found at start-up, not an option: what ARM64 UEFI PXE gets without an
	 * [arch arm64-uefi] loader (GRUBCACHE_ARM64_IMAGE, "shimaa64.efi",
	 * "grubaa64.efi" or NULL). */
	const char *arm64_loader;
	unsigned memdisk_max_mb;
	bool http_boot_https;    /* UEFI HTTP boot offers get https:// URLs */
	char *cache_dir;         /* start-up builds (grub-memdisk); NULL: /var/cache/netbootd */
	char *boot_once_file;    /* [host] boot-once records; NULL: in memory only */
	char *hosts_dir;         /* one file per machine ([host MAC] sections); NULL: none */
	char *decision_api;      /* http://ADDR:PORT[/PREFIX]: asked before the config; NULL: none */
	unsigned decision_api_ttl;     /* seconds an answer is kept */
	unsigned decision_api_timeout; /* seconds to wait for one */

	/* Profiles, hosts, arches: owned by the planner's config. */
	struct bootconf *boot;

	/* A reload: problems go to the log (the journal), not only to stderr. */
	bool errors_to_log;

	/* Which table entries the command line set (the file must not override). */
	uint64_t set_by_cli[2];
};

/* Fill in defaults. */
void config_init(struct config *cfg);
void config_free(struct config *cfg);

/*
 * Parse argv into cfg. Returns 0 to go on, 1 when --help or --version was
 * handled (exit 0), or -1 after printing a one-line reason to stderr.
 */
int config_parse_args(struct config *cfg, int argc, char **argv);

/*
 * Read the INI file at path into cfg, skipping [server] keys the command
 * line already set. Every error is printed as "path:line: message".
 * Returns 0 or the number of errors.
 */
int config_load_file(struct config *cfg, const char *path);

#define CONFIG_MAX_HOSTS_FILES 65536

/*
 * hosts-dir (also read by config_load_file): every DIR/NAME.conf in name
 * order, each holding [host MAC] sections only, a machine in one file
 * only; errors as "file:line: message". For a daemon run without a config
 * file. Returns 0 or the number of errors.
 */
int config_load_hosts_dir(struct config *cfg);

/*
 * Cross-field checks after everything is loaded (e.g. --https needs
 * --tls-cert, --dhcp server needs --pool). Prints each problem; returns 0
 * or the number of problems.
 */
int config_validate(const struct config *cfg);

/* Set one [server] key (also used by tests). Returns 0 or -1 with err set. */
int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errlen);

/* Parse "ADDR:PORT" / "[ADDR]:PORT" / "off". Returns 0 or -EINVAL. */
int listen_spec_parse(const char *text, struct listen_spec *out);

void config_usage(FILE *out);

/* Told the name of each [server] key whose new value waits for a restart. */
typedef void (*config_restart_fn)(void *ctx, const char *key);

/*
 * A reload: fresh is the configuration read again (command line, then the
 * file, validated). Move into cfg what a running daemon can change: the
 * planner's sections ([default], [profile], [host], [arch]) and the [server]
 * keys marked live (limits, timeouts, DHCP options, log level); tell
 * restart of every other key whose value differs, which keeps its running
 * value. fresh is left with cfg's old values, for config_free. Returns how
 * many live [server] keys changed.
 */
int config_take_live(struct config *cfg, struct config *fresh, config_restart_fn restart, void *ctx);

/*
 * Whether a client may read the status pages (/status, /status.json,
 * /metrics): status-allow unset means everyone.
 */
bool config_status_allowed(const struct config *cfg, const struct sockaddr *client);

#endif
