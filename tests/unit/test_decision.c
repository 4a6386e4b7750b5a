/* The decision API's pure parts: the flat JSON reader, the URL, and the
 * cache with its fallbacks, over a fake asker and clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/decision_client.h"
#include "boot/decision.h"
#include "model/bootconf.h"
#include "model/config.h"
#include "wire/json.h"

static void
test_json(void **state)
{
	(void)state;
	static struct json_flat j;
	char err[128];
	const char *ok = " {\"kernel\": \"vmlinuz\", \"initrd\": [\"a\", \"b\\u00e9\"], \"n\": -1.5e3,"
	                 " \"t\": true, \"f\": false, \"z\": null, \"esc\": \"q\\\"\\\\\\/\\n\"} ";
	assert_int_equal(json_flat_parse(ok, strlen(ok), &j, err, sizeof(err)), 0);
	assert_int_equal(j.n, 7);
	assert_string_equal(json_flat_get(&j, "kernel")->str, "vmlinuz");
	const struct json_member *m = json_flat_get(&j, "initrd");
	assert_int_equal(m->kind, JSON_STRINGS);
	assert_int_equal(m->n_items, 2);
	assert_string_equal(m->items[1], "b\xc3\xa9");
	assert_string_equal(json_flat_get(&j, "esc")->str, "q\"\\/\n");
	assert_int_equal(json_flat_get(&j, "z")->kind, JSON_NULL);
	assert_null(json_flat_get(&j, "missing"));
	assert_int_equal(json_flat_parse("{}", 2, &j, err, sizeof(err)), 0);
	assert_int_equal(j.n, 0);

	static const char *const bad[] = {
		"", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":{\"b\":1}}", "{\"a\":[1]}",
		"{\"a\":\"x\",\"a\":\"y\"}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\x01\"}",
		"{\"a\":\"x\"} x", "{\"a\":tru}", "{\"a\":\"\\q\"}", "{\"a\":\"\\u12\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (json_flat_parse(bad[i], strlen(bad[i]), &j, err, sizeof(err)) == 0)
			fail_msg("accepted %s", bad[i]);
	/* Limits: too many keys, too long. */
	char big[4096];
	size_t n = (size_t)snprintf(big, sizeof(big), "{");
	for (int i = 0; i < JSON_FLAT_MAX_KEYS + 1; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"k%d\":1", i ? "," : "", i);
	snprintf(big + n, sizeof(big) - n, "}");
	assert_int_equal(json_flat_parse(big, strlen(big), &j, err, sizeof(err)), -E2BIG);
}

static void
test_url(void **state)
{
	(void)state;
	char host[64], prefix[256];
	unsigned port;
	assert_int_equal(decision_url_parse("http://198.18.0.5:8080/inv/", host, sizeof(host), &port,
	                                    prefix, sizeof(prefix)), 0);
	assert_string_equal(host, "198.18.0.5");
	assert_int_equal(port, 8080);
	assert_string_equal(prefix, "/inv");
	assert_int_equal(decision_url_parse("http://[fd00::5]", host, sizeof(host), &port, prefix,
	                                    sizeof(prefix)), 0);
	assert_string_equal(host, "fd00::5");
	assert_int_equal(port, 80);
	assert_string_equal(prefix, "");
	static const char *const bad[] = { "https://198.18.0.5", "http://inventory.lan/", "http://",
		                               "http://198.18.0.5:0", "http://198.18.0.5:x",
		                               "http://198.18.0.5/a?b", "ftp://198.18.0.5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(decision_url_parse(bad[i], host, sizeof(host), &port, prefix,
		                                    sizeof(prefix)), -EINVAL);
}

static uint64_t fake_ms;
static int asks;
static int last_arch;

static uint64_t
fake_clock(void *ctx)
{
	(void)ctx;
	return fake_ms;
}

static void
fake_ask(void *ctx, const uint8_t mac[6], int arch)
{
	(void)ctx;
	(void)mac;
	asks++;
	last_arch = arch;
}

static void
test_cache(void **state)
{
	(void)state;
	struct config cfg;
	char err[128];
	config_init(&cfg);
	assert_int_equal(bootconf_ini_entry(cfg.boot, "profile shell", "efi", "shell.efi", err, sizeof(err)), 0);
	assert_int_equal(bootconf_finish(cfg.boot, "t", NULL, NULL), 0);
	struct decisions *d = decisions_new(fake_ask, NULL, fake_clock, NULL);
	decisions_set_ttl(d, 10);
	bootconf_set_override(cfg.boot, decisions_profile, d);
	const uint8_t a[6] = { 0x52, 0x54, 0, 0, 0, 1 }, b[6] = { 0x52, 0x54, 0, 0, 0, 2 };

	/* DHCP asks with the arch; the config answers meanwhile. */
	asks = 0;
	decisions_prefetch(d, a, 7);
	assert_int_equal(asks, 1);
	assert_int_equal(last_arch, 7);
	assert_true(decisions_pending(d, a));
	assert_null(bootconf_profile_for(cfg.boot, a));
	assert_int_equal(asks, 1); /* not twice while waiting */
	const char *k = "{\"kernel\":\"vmlinuz\",\"initrd\":[\"i1\",\"i2\"],\"cmdline\":\"x=1\"}";
	assert_int_equal(decisions_answer(d, a, 200, k, strlen(k)), 0);
	const struct boot_profile *p = bootconf_profile_for(cfg.boot, a);
	assert_non_null(p);
	assert_string_equal(p->kernel, "vmlinuz");
	assert_int_equal(p->n_initrds, 2);
	assert_string_equal(p->name, "api-525400000001");
	/* Fresh for the TTL, asked again after it. */
	fake_ms += 9999;
	assert_non_null(bootconf_profile_for(cfg.boot, a));
	assert_int_equal(asks, 1);
	fake_ms += 2;
	(void)bootconf_profile_for(cfg.boot, a);
	assert_int_equal(asks, 2);
	assert_int_equal(last_arch, -1);

	/* A named profile; a profile the config lacks; unusable answers; an outage. */
	decisions_prefetch(d, b, 0);
	const char *named = "{\"profile\":\"shell\"}";
	assert_int_equal(decisions_answer(d, b, 200, named, strlen(named)), 0);
	assert_string_equal(bootconf_profile_for(cfg.boot, b)->name, "shell");
	static const char *const unusable[] = { "{\"kernel\":\"a b\"}", "{\"initrd\":\"x\"}",
		                                    "{\"kernel\":1}", "{\"method\":\"sanboot\"}", "[]",
		                                    "{\"profile\":[\"x\"]}" };
	for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++) {
		fake_ms += 20000;
		(void)bootconf_profile_for(cfg.boot, b);
		assert_int_equal(decisions_answer(d, b, 200, unusable[i], strlen(unusable[i])), -EINVAL);
		assert_null(bootconf_profile_for(cfg.boot, b));
	}
	fake_ms += 20000;
	(void)bootconf_profile_for(cfg.boot, b);
	assert_int_equal(decisions_answer(d, b, 404, "", 0), 1);
	assert_null(bootconf_profile_for(cfg.boot, b));
	fake_ms += 20000;
	int before = asks;
	(void)bootconf_profile_for(cfg.boot, b);
	assert_int_equal(decisions_answer(d, b, -ECONNREFUSED, NULL, 0), 1);
	/* After a failure, asked again sooner than the TTL. */
	fake_ms += DECISIONS_RETRY_MS;
	(void)bootconf_profile_for(cfg.boot, b);
	assert_int_equal(asks, before + 2);
	/* An answer nobody waits for is dropped. */
	const uint8_t c[6] = { 0x52, 0x54, 0, 0, 0, 3 };
	assert_int_equal(decisions_answer(d, c, 200, named, strlen(named)), 1);

	decisions_free(d);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
