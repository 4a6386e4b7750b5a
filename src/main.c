/*
 * netbootd: flags and config, bind every listener, drop privileges, run
 * the event loop until SIGTERM/SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "api/decision_client.h"
#include "boot/bootonce.h"
#include "boot/files.h"
#include "boot/generated.h"
#include "boot/grubcache.h"
#include "boot/imagefiles.h"
#include "boot/mkgrub.h"
#include "boot/timeline.h"
#include "cli/status.h"
#include "daemon.h"
#include "dhcp/dhcp_server.h"
#include "dhcp6/dhcp6_server.h"
#include "http/http_server.h"
#include "model/bootconf.h"
#include "model/config.h"
#include "reload.h"
#include "tftp/tftp_server.h"
#include "util/log.h"
#include "util/sandbox.h"
#include "util/sdnotify.h"

/* Debian's packages put the boot loaders here; each can be overridden. */
static const char *const default_ipxe_dir = "/usr/lib/ipxe";
static const char *const default_pxelinux_dir = "/usr/lib/PXELINUX";
static const char *const default_syslinux_dir = "/usr/lib/syslinux";
static const char *const default_grub_dir = "/usr/lib/grub";

static void
add_loader_dirs(struct netbootd *nb)
{
	const struct config *cfg = nb->boot.cfg;
	char path[4096];
	const char *dirs[5];
	size_t n = 0;

	dirs[n++] = cfg->ipxe_dir ? cfg->ipxe_dir : default_ipxe_dir;
	dirs[n++] = cfg->pxelinux_dir ? cfg->pxelinux_dir : default_pxelinux_dir;
	const char *sys = cfg->syslinux_dir ? cfg->syslinux_dir : default_syslinux_dir;
	dirs[n++] = sys;
	snprintf(path, sizeof(path), "%s/modules/bios", sys);
	dirs[n++] = path;
	dirs[n++] = cfg->grub_dir ? cfg->grub_dir : default_grub_dir;
	for (size_t i = 0; i < n; i++) {
		int r = files_add_loader_dir(nb->boot.files, dirs[i]);
		if (r < 0)
			log_debug("main", "boot loader directory %s: %s", dirs[i], strerror(-r));
	}
}

/*
 * Quick mode needs no --root: an empty directory, removed at once, so the
 * resolver has a root that holds nothing (only aliases and loaders resolve).
 */
static int
private_empty_root(void)
{
	char dir[] = "/tmp/netbootd-root-XXXXXX";
	if (!mkdtemp(dir)) {
		fprintf(stderr, "netbootd: cannot make an empty root: %s\n", strerror(errno));
		return -1;
	}
	/* Searchable after the privilege drop, or every lookup is EACCES, not ENOENT. */
	(void)chmod(dir, 0755);
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int saved = errno;
	(void)rmdir(dir);
	if (fd < 0)
		fprintf(stderr, "netbootd: %s: %s\n", dir, strerror(saved));
	return fd;
}

/* Serve name as the first readable candidate; say at debug level why none was. */
static bool
alias_first_readable(struct netbootd *nb, const char *name, const char *const *candidates,
                     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (access(candidates[i], R_OK) == 0 &&
		    files_add_alias(nb->boot.files, name, candidates[i]) == 0) {
			log_debug("main", "%s is %s", name, candidates[i]);
			return true;
		}
	}
	log_debug("main", "%s: none of its %zu places is readable (%s%s)", name, n,
	          n ? candidates[0] : "", n > 1 ? ", ..." : "");
	return false;
}

/*
 * imgboot.efi (x86_64) and imgbootaa64.efi (ARM64): the option, else the one
 * built beside this binary, else the installed one. Returns whether found.
 */
static bool
add_imgboot_alias(struct netbootd *nb, const char *name, const char *option)
{
	char path[4096 + 64], installed[4096 + 64], tree[64], usr[64], exe[4096];
	const char *candidates[5];
	size_t n = 0;

	if (option) {
		candidates[n++] = option;
	} else {
		ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (len > 0) {
			exe[len] = '\0';
			char *slash = strrchr(exe, '/');
			if (slash) {
				*slash = '\0';
				/* Built here (efi/imgboot), or installed (sbin/../lib/netbootd). */
				snprintf(path, sizeof(path), "%s/efi/imgboot/%s", exe, name);
				candidates[n++] = path;
				snprintf(installed, sizeof(installed), "%s/../lib/netbootd/%s", exe, name);
				candidates[n++] = installed;
			}
		}
		snprintf(tree, sizeof(tree), "efi/imgboot/%s", name); /* running from the source tree */
		candidates[n++] = tree;
		snprintf(usr, sizeof(usr), "/usr/lib/netbootd/%s", name);
		candidates[n++] = usr;
	}
	return alias_first_readable(nb, name, candidates, n);
}

/*
 * Secure Boot's chain, from Debian's signed packages: shim (signed by the
 * UEFI CA, so firmware with Microsoft's keys runs it) fetches grubx64.efi
 * from the same TFTP server, Debian's signed network GRUB, which shim
 * verifies and which verifies the kernel. Served under the names shim asks
 * for; files of those names beneath the root win.
 */
static void
add_signed_loader_aliases(struct netbootd *nb)
{
	const char *shim = nb->boot.cfg->shim_efi ? nb->boot.cfg->shim_efi : "/usr/lib/shim/shimx64.efi.signed";
	const char *grub = nb->boot.cfg->signed_grub_efi
	                       ? nb->boot.cfg->signed_grub_efi
	                       : "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed";
	alias_first_readable(nb, "shimx64.efi", &shim, 1);
	alias_first_readable(nb, "grubx64.efi", &grub, 1);
}

/*
 * ARM64 UEFI PXE: Debian ships no iPXE for arm64, so the chain is the same
 * signed shim + network GRUB as Secure Boot's, which reads grub/grub.cfg
 * (generated.c) and boots the profile's kernel. On an arm64 server they come
 * from shim-signed and grub-efi-arm64-signed; on any other, from the
 * installer's netboot package (debian-installer-12-netboot-arm64, arch all),
 * where bootnetaa64.efi is that shim and grubaa64.efi that GRUB. Without
 * shim, GRUB alone (it boots where Secure Boot is off); without either,
 * ARM64 machines get no offer and the log says what to install.
 */
#define DI_ARM64 "/usr/lib/debian-installer/images/12/arm64/text/debian-installer/arm64/"
static void
add_arm64_loader_aliases(struct netbootd *nb)
{
	static const char *const shims[] = { "/usr/lib/shim/shimaa64.efi.signed",
		                             DI_ARM64 "bootnetaa64.efi" };
	static const char *const grubs[] = { "/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed",
		                             DI_ARM64 "grubaa64.efi" };
	struct config *cfg = nb->boot.cfg;
	const char *shim_set = cfg->arm64_shim_efi, *grub_set = cfg->arm64_grub_efi;
	bool shim = shim_set ? alias_first_readable(nb, "shimaa64.efi", &shim_set, 1)
	                     : alias_first_readable(nb, "shimaa64.efi", shims, 2);
	bool grub = grub_set ? alias_first_readable(nb, "grubaa64.efi", &grub_set, 1)
	                     : alias_first_readable(nb, "grubaa64.efi", grubs, 2);
	cfg->arm64_loader = grub ? (shim ? "shimaa64.efi" : "grubaa64.efi") : NULL;
}

/*
 * ARM64's own network GRUB (grubcache.c), built where the arm64-efi modules
 * are. In proxy mode it is the one that works (Debian's signed GRUB asks
 * the LAN's DHCP server for its files), so it comes first; in server mode
 * the signed chain does (it boots with Secure Boot on), this one when that
 * is missing.
 */
static int
add_arm64_own_grub(struct netbootd *nb)
{
	struct config *cfg = nb->boot.cfg;
	int r = grubcache_arm64_setup(&nb->boot,
	                              cfg->arm64_grub_dir ? cfg->arm64_grub_dir : "/usr/lib/grub/arm64-efi",
	                              cfg->arm64_grub_dir != NULL);
	if (r < 0)
		return -1;
	if (r > 0 && (cfg->dhcp_mode != DHCP_MODE_SERVER || !cfg->arm64_loader))
		cfg->arm64_loader = GRUBCACHE_ARM64_IMAGE;
	return 0;
}

static void
on_stop_signal(evutil_socket_t sig, short events, void *arg)
{
	struct netbootd *nb = arg;
	(void)events;
	log_info("main", "%s: shutting down", strsignal((int)sig));
	sdnotify("STOPPING=1");
	event_base_loopbreak(nb->base);
}

static void
on_hup(evutil_socket_t sig, short events, void *arg)
{
	struct netbootd *nb = arg;
	(void)sig;
	(void)events;
	log_info("main", "SIGHUP: reloading the configuration");
	(void)daemon_reload(nb);
}

/*
 * The sandbox moves to / before serving: a reload must find the config file
 * by the name it had at start, so a relative --config becomes absolute now.
 */
static int
absolute_config_path(struct config *cfg)
{
	if (!cfg->config_file || cfg->config_file[0] == '/')
		return 0;
	char *abs = realpath(cfg->config_file, NULL);
	if (!abs) {
		fprintf(stderr, "netbootd: --config %s: %s\n", cfg->config_file, strerror(errno));
		return -1;
	}
	free(cfg->config_file);
	cfg->config_file = abs;
	return 0;
}

/*
 * The loop, with two priorities (daemon.h): datagrams first, and a look
 * for new ones every DAEMON_BULK_SLICE_USEC while HTTP callbacks run.
 */
static struct event_base *
new_event_base(void)
{
	struct event_config *ec = event_config_new();
	if (!ec)
		return NULL;
	struct timeval slice = { .tv_sec = 0, .tv_usec = DAEMON_BULK_SLICE_USEC };
	struct event_base *base = NULL;
	if (event_config_set_max_dispatch_interval(ec, &slice, -1, EVENT_PRIORITY_BULK) == 0)
		base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (base && event_base_priority_init(base, EVENT_PRIORITIES) < 0) {
		event_base_free(base);
		base = NULL;
	}
	return base;
}

/* --root, or a private empty root in quick mode without one. */
static int
open_root(struct netbootd *nb)
{
	const struct config *cfg = nb->boot.cfg;
	if (!cfg->root)
		return (nb->boot.rootfd = private_empty_root()) < 0 ? -1 : 0;
	nb->boot.rootfd = open(cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (nb->boot.rootfd < 0) {
		fprintf(stderr, "netbootd: --root %s: %s\n", cfg->root, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * What the servers serve, built before any socket: the loop, the files
 * resolver with its loader directories and aliases, the images' files, the
 * GRUB builds and the generated documents.
 */
static int
prepare_boot(struct netbootd *nb)
{
	const struct config *cfg = nb->boot.cfg;
	nb->base = new_event_base();
	nb->boot.files = files_new(nb->boot.rootfd);
	nb->boot.timeline = timeline_new();
	if (!nb->base || !nb->boot.files || !nb->boot.timeline) {
		log_error("main", "out of memory at start-up");
		return -1;
	}
	add_loader_dirs(nb);
	add_imgboot_alias(nb, "imgboot.efi", nb->boot.cfg->imgboot_efi);
	nb->boot.cfg->imgboot_arm64 =
		add_imgboot_alias(nb, "imgbootaa64.efi", nb->boot.cfg->imgboot_efi_arm64);
	add_signed_loader_aliases(nb);
	add_arm64_loader_aliases(nb);
	if (add_arm64_own_grub(nb) < 0)
		return -1;
	if (generated_quick_setup(&nb->boot) < 0 || imagefiles_setup(nb->boot.files, cfg->boot) < 0 ||
	    grubcache_setup(&nb->boot) < 0 ||
	    grubcache_net_setup(&nb->boot, cfg->grub_dir ? cfg->grub_dir : default_grub_dir) < 0)
		return -1;
	generated_register(&nb->boot);
	return 0;
}

/* --check-config: every referenced file and loader present? 0 when so. */
static int
check_only(struct netbootd *nb)
{
	const char *what = nb->boot.cfg->config_file ? nb->boot.cfg->config_file : "command line";
	if (generated_check(&nb->boot) != 0) {
		fprintf(stderr, "netbootd: %s: configuration has errors\n", what);
		return 1;
	}
	printf("%s: configuration OK\n", what);
	return 0;
}

/* Whether any [host] says boot-once. */
static bool
any_boot_once(const struct bootconf *bc)
{
	for (size_t i = 0; i < bootconf_host_count(bc); i++)
		if (bootconf_host_at(bc, i)->boot_once)
			return true;
	return false;
}

/*
 * The boot-once records, opened before the privilege drop (the directory
 * may need making) and owned by the run user, who rewrites the file.
 */
static int
open_bootonce(struct netbootd *nb)
{
	const struct config *cfg = nb->boot.cfg;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct passwd *pw = geteuid() == 0 && cfg->user ? getpwnam(cfg->user) : NULL;
	if (pw) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	char err[256];
	nb->boot.bootonce = bootonce_open(cfg->boot_once_file, uid, gid, err, sizeof(err));
	if (!nb->boot.bootonce) {
		log_error("main", "boot-once-file %s: %s", cfg->boot_once_file, err);
		return -1;
	}
	(void)bootonce_prune(nb->boot.bootonce, cfg->boot);
	if (!cfg->boot_once_file && any_boot_once(cfg->boot))
		log_warn("main", "[host] boot-once without boot-once-file: which machines booted is "
		                 "kept in memory only, and a restart network-boots them again");
	else if (cfg->boot_once_file)
		log_info("main", "boot-once: %zu machine%s booted already (%s)",
		         bootonce_count(nb->boot.bootonce),
		         bootonce_count(nb->boot.bootonce) == 1 ? "" : "s", cfg->boot_once_file);
	return 0;
}

/* Bind every enabled server (still privileged), then drop to --user. */
static int
start_servers(struct netbootd *nb)
{
	struct config *cfg = nb->boot.cfg;
	/* Everything created from here on (lease journal, cache) belongs to the run user. */
	if (!cfg->user && !(cfg->user = strdup(sandbox_default_user())))
		return -1;
	if (open_bootonce(nb) < 0 || decision_client_start(nb) < 0)
		return -1;
	if (cfg->tftp.enabled && tftp_server_start(nb, &nb->tftp) < 0)
		return -1;
	if ((cfg->http.enabled || cfg->https.enabled) && http_server_start(nb, &nb->http) < 0)
		return -1;
	if (cfg->dhcp_mode != DHCP_MODE_OFF && dhcp_server_start(nb, &nb->dhcp) < 0)
		return -1;
	if (cfg->dhcp6_mode != DHCP_MODE_OFF && dhcp6_server_start(nb, &nb->dhcp6) < 0)
		return -1;
	/*
	 * Port 67 again when an --interface is deleted and re-created needs
	 * CAP_NET_BIND_SERVICE; nothing else survives the drop.
	 */
	bool rebind = cfg->dhcp_mode != DHCP_MODE_OFF && cfg->interfaces.count > 0 &&
	              (cfg->dhcp_port < 1024 || cfg->pxe_port < 1024);
	return sandbox_drop_privileges(cfg->user, rebind);
}

static int
install_signals(struct netbootd *nb, struct event *sigs[3])
{
	sigs[0] = evsignal_new(nb->base, SIGTERM, on_stop_signal, nb);
	sigs[1] = evsignal_new(nb->base, SIGINT, on_stop_signal, nb);
	sigs[2] = evsignal_new(nb->base, SIGHUP, on_hup, nb);
	for (int i = 0; i < 3; i++) {
		if (!sigs[i] || event_add(sigs[i], NULL) < 0) {
			log_error("main", "cannot install signal handlers");
			return -1;
		}
	}
	return 0;
}

static void
log_ready(const struct config *cfg)
{
	static const char *const mode[] = { [DHCP_MODE_OFF] = "off", [DHCP_MODE_PROXY] = "proxy",
		                                [DHCP_MODE_SERVER] = "server" };
	log_info("main", "netbootd %s ready: root %s, tftp %s, http %s%s%s, dhcp %s%s%s",
	         NETBOOTD_VERSION, cfg->root ? cfg->root : "(none)",
	         cfg->tftp.enabled ? cfg->tftp.text : "off", cfg->http.enabled ? cfg->http.text : "off",
	         cfg->https.enabled ? ", https " : "", cfg->https.enabled ? cfg->https.text : "",
	         mode[cfg->dhcp_mode], cfg->dhcp6_mode != DHCP_MODE_OFF ? ", dhcp6 " : "",
	         cfg->dhcp6_mode != DHCP_MODE_OFF ? mode[cfg->dhcp6_mode] : "");
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct netbootd nb = { .boot = { .cfg = &cfg, .rootfd = -1 }, .argc = argc, .argv = argv,
	                       .hosts_watch_fd = -1 };
	struct event *sigs[3] = { NULL, NULL, NULL };
	int status = 1;

	log_detect_journal();
	if (argc > 1 && strcmp(argv[1], "mkgrub") == 0)
		return mkgrub_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "inspect") == 0)
		return imagefiles_inspect_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return status_main(argc - 1, argv + 1);

	config_init(&cfg);
	int r = config_parse_args(&cfg, argc, argv);
	if (r != 0) {
		config_free(&cfg);
		return r > 0 ? 0 : 2;
	}
	if (absolute_config_path(&cfg) < 0)
		goto out;
	if (cfg.config_file && config_load_file(&cfg, cfg.config_file) != 0) {
		fprintf(stderr, "netbootd: %s: configuration has errors\n", cfg.config_file);
		goto out;
	}
	if (!cfg.config_file && cfg.hosts_dir && config_load_hosts_dir(&cfg) != 0) {
		fprintf(stderr, "netbootd: %s: hosts-dir has errors\n", cfg.hosts_dir);
		goto out;
	}
	if (config_validate(&cfg) != 0 || open_root(&nb) < 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	if (prepare_boot(&nb) < 0)
		goto out;
	if (cfg.check_config) {
		status = check_only(&nb);
		goto out;
	}
	/* Missing files or loaders are not fatal at run time, but say so now, not at boot. */
	int problems = generated_check(&nb.boot);
	if (problems)
		log_warn("main", "%d missing file%s or boot loader%s (listed above; see --check-config)",
		         problems, problems == 1 ? "" : "s", problems == 1 ? "" : "s");
	if (start_servers(&nb) < 0 || install_signals(&nb, sigs) < 0 || reload_watch_hosts_dir(&nb) < 0)
		goto out;
	(void)sdnotify_open(); /* before the sandbox: no AF_UNIX socket after it */
	if (sandbox_enter(!cfg.no_seccomp) < 0)
		goto out;
	log_ready(&cfg);
	/* Type=notify: systemd starts what is ordered after us only now. */
	sdnotify("READY=1\nSTATUS=serving");
	if (event_base_dispatch(nb.base) < 0) {
		log_error("main", "event loop failed");
		goto out;
	}
	status = 0;
out:
	for (int i = 0; i < 3; i++)
		if (sigs[i])
			event_free(sigs[i]);
	reload_unwatch(&nb);
	decision_client_free(&nb);
	dhcp_server_free(nb.dhcp);
	dhcp6_server_free(nb.dhcp6);
	http_server_free(nb.http);
	tftp_server_free(nb.tftp);
	timeline_free(nb.boot.timeline);
	bootonce_free(nb.boot.bootonce);
	files_free(nb.boot.files);
	if (nb.base)
		event_base_free(nb.base);
	if (nb.boot.rootfd >= 0)
		close(nb.boot.rootfd);
	config_free(&cfg);
	return status;
}
