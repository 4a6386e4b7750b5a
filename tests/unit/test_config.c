/* The settings table: flags, INI [server] keys, precedence and errors. */
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

#include "model/bootconf.h"
#include "model/config.h"

static int
parse(struct config *cfg, const char *const *args)
{
	/* getopt wants char **: give it copies. */
	char *argv[32];
	int argc = 0;
	argv[argc++] = strdup("netbootd");
	for (; *args; args++)
		argv[argc++] = strdup(*args);
	argv[argc] = NULL;
	int r = config_parse_args(cfg, argc, argv);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return r;
}

static char *
write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/netbootd-conf-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
test_defaults(void **state)
{
	(void)state;
	struct config cfg;
	config_init(&cfg);
	assert_true(cfg.tftp.enabled);
	assert_string_equal(cfg.tftp.text, "0.0.0.0:69");
	assert_string_equal(cfg.http.text, "0.0.0.0:80");
	assert_false(cfg.https.enabled);
	assert_int_equal(cfg.dhcp_mode, DHCP_MODE_PROXY);
	assert_int_equal(cfg.dhcp_port, 67);
	assert_int_equal(cfg.pxe_port, 4011);
	config_free(&cfg);
}

static void
test_flags(void **state)
{
	(void)state;
	struct config cfg;
	config_init(&cfg);
	const char *args[] = { "--root", "/srv", "--tftp", "127.0.0.1:6969", "--http", "off",
		               "--dhcp", "server", "--pool", "198.18.0.10-198.18.0.20",
		               "--interface", "eth0", "--interface", "eth1", "--pxe-port", "4012", NULL };
	assert_int_equal(parse(&cfg, args), 0);
	assert_string_equal(cfg.root, "/srv");
	assert_string_equal(cfg.tftp.text, "127.0.0.1:6969");
	assert_false(cfg.http.enabled);
	assert_int_equal(cfg.dhcp_mode, DHCP_MODE_SERVER);
	assert_true(cfg.pool_set);
	assert_int_equal(ntohl(cfg.pool_last.s_addr) - ntohl(cfg.pool_first.s_addr), 10);
	assert_int_equal(cfg.interfaces.count, 2);
	assert_string_equal(cfg.interfaces.items[1], "eth1");
	assert_int_equal(cfg.pxe_port, 4012);
	config_free(&cfg);
}

static void
test_bad_flags(void **state)
{
	(void)state;
	static const char *const bad[][3] = {
		{ "--tftp", "nonsense", NULL },
		{ "--tftp", "1.2.3.4:99999", NULL },
		{ "--dhcp", "maybe", NULL },
		{ "--pool", "198.18.0.20-198.18.0.10", NULL },
		{ "--pxe-port", "0", NULL },
		{ "--pxe-port", "-1", NULL },
		{ "--log-level", "loud", NULL },
		{ "--no-such-flag", NULL, NULL },
		{ "stray", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config cfg;
		config_init(&cfg);
		if (parse(&cfg, bad[i]) != -1)
			fail_msg("case %zu (%s) accepted", i, bad[i][0]);
		config_free(&cfg);
	}
}

static void
test_listen_spec(void **state)
{
	(void)state;
	struct listen_spec l;
	assert_int_equal(listen_spec_parse("[::1]:8080", &l), 0);
	assert_int_equal(l.addr.ss_family, AF_INET6);
	assert_int_equal(listen_spec_parse(":8080", &l), 0); /* any address */
	assert_int_equal(l.addr.ss_family, AF_INET);
	assert_int_equal(listen_spec_parse("off", &l), 0);
	assert_false(l.enabled);
	assert_int_not_equal(listen_spec_parse("127.0.0.1", &l), 0);
	assert_int_not_equal(listen_spec_parse("127.0.0.1:", &l), 0);
	assert_int_not_equal(listen_spec_parse("[::1]8080", &l), 0);
	assert_int_not_equal(listen_spec_parse("host.example:80", &l), 0);
}

static void
test_file_and_precedence(void **state)
{
	(void)state;
	struct config cfg;
	config_init(&cfg);
	const char *args[] = { "--tftp", "127.0.0.1:7000", NULL };
	assert_int_equal(parse(&cfg, args), 0);
	char *path = write_tmp("[server]\n"
	                       "root = /srv/boot\n"
	                       "tftp = 127.0.0.1:8000\n"
	                       "http = 127.0.0.1:8080\n"
	                       "dns = 198.18.0.53\n"
	                       "dns = 198.18.0.54\n");
	assert_int_equal(config_load_file(&cfg, path), 0);
	unlink(path);
	assert_string_equal(cfg.root, "/srv/boot");
	assert_string_equal(cfg.tftp.text, "127.0.0.1:7000"); /* the command line wins */
	assert_string_equal(cfg.http.text, "127.0.0.1:8080");
	assert_int_equal(cfg.dns.count, 2);
	config_free(&cfg);
}

static void
test_file_errors_counted(void **state)
{
	(void)state;
	struct config cfg;
	config_init(&cfg);
	char *path = write_tmp("[server]\n"
	                       "root = /srv\n"
	                       "bogus-key = 1\n"
	                       "tftp = nowhere\n"
	                       "check-config = yes\n"
	                       "config = /etc/other.conf\n");
	assert_int_equal(config_load_file(&cfg, path), 4);
	unlink(path);
	config_free(&cfg);
	assert_int_not_equal(config_load_file(&cfg, "/nonexistent/netbootd.conf"), 0);
}

static void
test_validate(void **state)
{
	(void)state;
	struct config cfg;
	config_init(&cfg);
	const char *ok[] = { "--root", "/srv", NULL };
	assert_int_equal(parse(&cfg, ok), 0);
	assert_int_equal(config_validate(&cfg), 0);
	config_free(&cfg);

	config_init(&cfg);
	const char *bad[] = { "--https", "0.0.0.0:443", "--dhcp", "server", NULL };
	assert_int_equal(parse(&cfg, bad), 0);
	/* no root, https without cert/key, server without pool and lease file */
	assert_int_equal(config_validate(&cfg), 4);
	config_free(&cfg);
}

static struct sockaddr_in
v4(const char *a)
{
	struct sockaddr_in s = { .sin_family = AF_INET };
	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

/* status-allow: networks parsed with host bits cleared, v4-mapped v6 matched as v4, bad ones named. */
static void
test_status_allow(void **state)
{
	(void)state;
	struct config cfg;
	char err[160];
	config_init(&cfg);
	struct sockaddr_in a = v4("198.19.7.7"), b = v4("10.0.0.1");
	assert_true(config_status_allowed(&cfg, (struct sockaddr *)&b)); /* unset: everyone */
	assert_int_equal(config_set(&cfg, "status-allow", "198.18.0.1/15, 127.0.0.1 fd00::/8", err,
	                            sizeof(err)), 0);
	assert_int_equal(cfg.status_allow.count, 3);
	assert_true(config_status_allowed(&cfg, (struct sockaddr *)&a));
	assert_false(config_status_allowed(&cfg, (struct sockaddr *)&b));
	struct sockaddr_in lo = v4("127.0.0.1"), lo2 = v4("127.0.0.2");
	assert_true(config_status_allowed(&cfg, (struct sockaddr *)&lo));
	assert_false(config_status_allowed(&cfg, (struct sockaddr *)&lo2));
	struct sockaddr_in6 m = { .sin6_family = AF_INET6 }, u = { .sin6_family = AF_INET6 },
	                    o = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET6, "::ffff:198.18.3.4", &m.sin6_addr);
	inet_pton(AF_INET6, "fd12::1", &u.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::1", &o.sin6_addr);
	assert_true(config_status_allowed(&cfg, (struct sockaddr *)&m));
	assert_true(config_status_allowed(&cfg, (struct sockaddr *)&u));
	assert_false(config_status_allowed(&cfg, (struct sockaddr *)&o));
	assert_false(config_status_allowed(&cfg, NULL));
	static const char *const bad[] = { "198.18.0.0/33", "fd00::/129", "host.example", "1.2.3.4/",
		                           "1.2.3.4/x", "/8", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(config_set(&cfg, "status-allow", bad[i], err, sizeof(err)), 0);
	assert_int_not_equal(config_set(&cfg, "status-allow", "nope", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "status-allow: 'nope' is not a network (ADDR or ADDR/BITS)"));
	config_free(&cfg);
}

/* Restart keys a reload named, in order, for the test below. */
static char restart_names[256];

static void
note_restart(void *ctx, const char *key)
{
	(void)ctx;
	strncat(restart_names, key, sizeof(restart_names) - strlen(restart_names) - 2);
	strcat(restart_names, " ");
}

static void
test_take_live(void **state)
{
	(void)state;
	struct config cfg, fresh;
	char err[128];
	config_init(&cfg);
	config_init(&fresh);
	assert_int_equal(config_set(&cfg, "root", "/srv/a", err, sizeof(err)), 0);
	assert_int_equal(config_set(&cfg, "tftp-rate", "50", err, sizeof(err)), 0);
	assert_int_equal(config_set(&cfg, "dns", "198.18.0.53", err, sizeof(err)), 0);
	/* fresh: a new root and TFTP address (restart), new limits and DNS (live). */
	assert_int_equal(config_set(&fresh, "root", "/srv/b", err, sizeof(err)), 0);
	assert_int_equal(config_set(&fresh, "tftp", "127.0.0.1:69", err, sizeof(err)), 0);
	assert_int_equal(config_set(&fresh, "tftp-rate", "7", err, sizeof(err)), 0);
	assert_int_equal(config_set(&fresh, "dns", "198.18.0.54", err, sizeof(err)), 0);
	assert_int_equal(config_set(&fresh, "dns", "198.18.0.55", err, sizeof(err)), 0);
	assert_int_equal(config_set(&fresh, "router", "198.18.0.1", err, sizeof(err)), 0);
	struct bootconf *old_boot = cfg.boot, *new_boot = fresh.boot;

	restart_names[0] = '\0';
	assert_int_equal(config_take_live(&cfg, &fresh, note_restart, NULL), 3);
	assert_string_equal(restart_names, "root tftp ");
	assert_string_equal(cfg.root, "/srv/a");
	assert_string_equal(cfg.tftp.text, "0.0.0.0:69");
	assert_int_equal(cfg.tftp_rate, 7);
	assert_int_equal(cfg.dns.count, 2);
	assert_string_equal(cfg.dns.items[1], "198.18.0.55");
	assert_true(cfg.router_set);
	/* fresh holds what cfg had, to be freed: nothing is owned twice. */
	assert_int_equal(fresh.dns.count, 1);
	assert_string_equal(fresh.dns.items[0], "198.18.0.53");
	assert_false(fresh.router_set);
	assert_ptr_equal(cfg.boot, new_boot);
	assert_ptr_equal(fresh.boot, old_boot);

	/* The same file again changes nothing and names nothing. */
	restart_names[0] = '\0';
	assert_int_equal(config_take_live(&cfg, &cfg, note_restart, NULL), 0);
	assert_string_equal(restart_names, "");
	config_free(&fresh);
	config_free(&cfg);
}

/* hosts-dir: one file per machine, [host] only, a machine in one file. */
static void
test_hosts_dir(void **state)
{
	(void)state;
	char dir[] = "/tmp/netbootd-hosts-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	static const struct {
		const char *name, *text;
	} files[] = {
		{ "a.conf", "[host 52:54:00:00:00:0a]\nprofile = linux\nboot-once = yes\n" },
		{ "b.conf", "[host 52:54:00:00:00:0b]\nprofile = linux\n" },
		{ ".b.conf.swp", "not ini at all" }, /* hidden: an editor's */
		{ "notes.txt", "[server]\nroot = /\n" }, /* not NAME.conf */
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(files[i].text, f);
		fclose(f);
	}
	const char *conf = write_tmp("[profile linux]\nkernel = vmlinuz\n");
	char conf_path[64];
	snprintf(conf_path, sizeof(conf_path), "%s", conf);
	struct config cfg;
	char err[128];
	config_init(&cfg);
	assert_int_equal(config_set(&cfg, "hosts-dir", dir, err, sizeof(err)), 0);
	assert_int_equal(config_load_file(&cfg, conf_path), 0);
	assert_int_equal(bootconf_host_count(cfg.boot), 2);
	const uint8_t a[6] = { 0x52, 0x54, 0, 0, 0, 0x0a };
	const struct boot_host *h = bootconf_host(cfg.boot, a);
	assert_non_null(h);
	assert_true(h->boot_once);
	assert_non_null(strstr(h->file, "/a.conf"));
	config_free(&cfg);

	/* The same machine in two files, a section that is not [host], a profile
	 * that does not exist: each an error, the whole load refused. */
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("[host 52:54:00:00:00:0b]\nhostname = twin\n[default]\nprofile = linux\n"
	      "[host 52:54:00:00:00:0c]\nprofile = nope\n", f);
	fclose(f);
	config_init(&cfg);
	assert_int_equal(config_set(&cfg, "hosts-dir", dir, err, sizeof(err)), 0);
	assert_int_equal(config_load_file(&cfg, conf_path), 3);
	config_free(&cfg);

	/* Without a config file; a relative directory is refused. */
	unlink(path);
	config_init(&cfg);
	assert_int_equal(config_set(&cfg, "hosts-dir", dir, err, sizeof(err)), 0);
	assert_int_equal(config_load_hosts_dir(&cfg), 1); /* hosts name profile linux, absent here */
	config_free(&cfg);
	config_init(&cfg);
	assert_int_equal(config_set(&cfg, "hosts-dir", "relative/hosts", err, sizeof(err)), 0);
	assert_int_equal(config_set(&cfg, "root", "/srv", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg), 1);
	config_free(&cfg);

	unlink(conf_path);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		unlink(path);
	}
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_bad_flags),
		cmocka_unit_test(test_listen_spec),
		cmocka_unit_test(test_file_and_precedence),
		cmocka_unit_test(test_file_errors_counted),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_status_allow),
		cmocka_unit_test(test_take_live),
		cmocka_unit_test(test_hosts_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
