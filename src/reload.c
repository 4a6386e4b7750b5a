/*
 * Live reload. The configuration is read again into a second struct config
 * and prepared there completely (quick profile, image inspection, GRUB
 * binaries) before anything running is touched; only then are the planner's
 * sections and the live [server] keys swapped in, in one step between two
 * events of the single-threaded loop. Nothing in flight points into the old
 * configuration: a TFTP transfer or HTTP response holds its own file
 * descriptor or document, the timeline and leases copy what they keep. So a
 * refused reload changes nothing, and an applied one cuts nothing.
 */
#include "reload.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "api/decision_client.h"
#include "boot/bootonce.h"
#include "boot/generated.h"
#include "boot/grubcache.h"
#include "boot/imagefiles.h"
#include "dhcp/dhcp_server.h"
#include "dhcp6/dhcp6_server.h"
#include "http/http_server.h"
#include "model/bootconf.h"
#include "model/config.h"
#include "tftp/tftp_server.h"
#include "util/log.h"
#include "util/sdnotify.h"

/* Read the command line and the file again, as at start; 0 or the number of problems. */
static int
read_again(struct netbootd *nb, struct config *fresh)
{
	const struct config *cfg = nb->boot.cfg;
	config_init(fresh);
	fresh->errors_to_log = true;
	if (!fresh->boot || config_parse_args(fresh, nb->argc, nb->argv) != 0)
		return 1; /* the same command line parsed at start: only memory fails here */
	int problems;
	if (cfg->config_file) {
		/* The file start-up read, by the absolute name main() gave it (cwd is / now). */
		free(fresh->config_file);
		if (!(fresh->config_file = strdup(cfg->config_file)))
			return 1;
		problems = config_load_file(fresh, fresh->config_file);
	} else {
		problems = config_load_hosts_dir(fresh);
	}
	problems += config_validate(fresh);
	/* What start-up filled in by itself is no change. */
	if (!fresh->user && cfg->user)
		fresh->user = strdup(cfg->user);
	return problems;
}

/*
 * Everything the new profiles need before they serve, done on fresh alone:
 * the quick profile of the command line, image inspection (method direct
 * learns where each image keeps its kernel), the grub-memdisk binaries
 * built at start-up. 0, or -1 after logging why.
 */
static int
prepare_fresh(struct netbootd *nb, struct config *fresh)
{
	if (generated_quick_profile(fresh, fresh->boot) < 0 ||
	    imagefiles_setup(nb->boot.files, fresh->boot) < 0)
		return -1;
	return grubcache_reload(nb->boot.cfg->boot, fresh->boot);
}

static void
say_restart(void *ctx, const char *key)
{
	(void)ctx;
	log_warn("reload", "[server] %s changed: it takes effect when netbootd restarts; "
	                   "the running value stays until then", key);
}

static void
apply(struct netbootd *nb, struct config *fresh)
{
	struct config *cfg = nb->boot.cfg;
	int live = config_take_live(cfg, fresh, say_restart, NULL);
	tftp_server_apply_settings(nb->tftp);
	http_server_apply_settings(nb->http);
	dhcp_server_apply_settings(nb->dhcp);
	dhcp6_server_apply_settings(nb->dhcp6);
	(void)bootonce_prune(nb->boot.bootonce, cfg->boot);
	decision_client_rebind(nb);
	nb->reloads++;
	log_info("reload", "%s applied: %zu profile%s, %zu host%s, %d [server] setting%s changed "
	                   "(reload %u); transfers in flight carry on",
	         cfg->config_file ? cfg->config_file : cfg->hosts_dir, bootconf_profile_count(cfg->boot),
	         bootconf_profile_count(cfg->boot) == 1 ? "" : "s", bootconf_host_count(cfg->boot),
	         bootconf_host_count(cfg->boot) == 1 ? "" : "s", live, live == 1 ? "" : "s",
	         nb->reloads);
}

int
daemon_reload(struct netbootd *nb)
{
	struct config *cfg = nb->boot.cfg;
	int ok = 0;

	sdnotify("RELOADING=1");
	if (nb->http)
		(void)http_server_reload_tls(nb->http);
	const char *what = cfg->config_file ? cfg->config_file : cfg->hosts_dir;
	if (!what) {
		log_info("reload", "no config file (--config): only the TLS certificate is read again");
		sdnotify("READY=1");
		return 0;
	}
	log_info("reload", "reading %s again", what);
	struct config fresh;
	int problems = read_again(nb, &fresh);
	if (problems != 0) {
		log_error("reload", "%s: %d problem%s (above): refused; the previous configuration "
		                    "keeps serving", what, problems, problems == 1 ? "" : "s");
		ok = -1;
	} else if (prepare_fresh(nb, &fresh) < 0) {
		log_error("reload", "%s: refused (above); the previous configuration keeps serving",
		          what);
		ok = -1;
	} else {
		apply(nb, &fresh);
	}
	config_free(&fresh);
	/* Reading the file set the level it names; a refused file must not. */
	log_set_level(cfg->log_level);
	if (ok == 0) {
		int missing = generated_check(&nb->boot);
		if (missing)
			log_warn("reload", "%d missing file%s or boot loader%s (listed above)", missing,
			         missing == 1 ? "" : "s", missing == 1 ? "" : "s");
	}
	sdnotify("READY=1");
	return ok;
}

/* ---- hosts-dir: a change there is a reload ----------------------------------- */

static void
on_hosts_settled(evutil_socket_t fd, short events, void *arg)
{
	struct netbootd *nb = arg;
	(void)fd;
	(void)events;
	log_info("reload", "%s changed", nb->boot.cfg->hosts_dir);
	(void)daemon_reload(nb);
}

static void
on_hosts_changed(evutil_socket_t fd, short events, void *arg)
{
	struct netbootd *nb = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool relevant = false;
	(void)events;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			if (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
				log_warn("reload", "%s was deleted or moved: no longer watched; restart "
				                   "netbootd once it is back", nb->boot.cfg->hosts_dir);
			else if (e->len && e->name[0] != '.')
				relevant = true; /* editors' hidden temp files are not machines */
			p += sizeof(*e) + e->len;
		}
	}
	/* Editors and tools write in bursts: reload once, when it is quiet. */
	struct timeval settle = { .tv_sec = 0, .tv_usec = RELOAD_SETTLE_MS * 1000 };
	if (relevant)
		evtimer_add(nb->hosts_settle, &settle);
}

int
reload_watch_hosts_dir(struct netbootd *nb)
{
	const char *dir = nb->boot.cfg->hosts_dir;
	nb->hosts_watch_fd = -1;
	if (!dir)
		return 0;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0 || inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
	                                             IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
		log_error("main", "hosts-dir %s: cannot watch it: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	nb->hosts_watch_fd = fd;
	nb->hosts_watch = event_new(nb->base, fd, EV_READ | EV_PERSIST, on_hosts_changed, nb);
	nb->hosts_settle = evtimer_new(nb->base, on_hosts_settled, nb);
	if (!nb->hosts_watch || !nb->hosts_settle || event_add(nb->hosts_watch, NULL) < 0) {
		log_error("main", "hosts-dir %s: cannot watch it: out of memory", dir);
		return -1;
	}
	log_info("main", "hosts-dir %s: %zu host%s; a change there reloads", dir,
	         bootconf_host_count(nb->boot.cfg->boot),
	         bootconf_host_count(nb->boot.cfg->boot) == 1 ? "" : "s");
	return 0;
}

void
reload_unwatch(struct netbootd *nb)
{
	if (nb->hosts_watch)
		event_free(nb->hosts_watch);
	if (nb->hosts_settle)
		event_free(nb->hosts_settle);
	if (nb->hosts_watch_fd >= 0)
		close(nb->hosts_watch_fd);
	nb->hosts_watch = nb->hosts_settle = NULL;
	nb->hosts_watch_fd = -1;
}
