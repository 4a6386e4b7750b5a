#include "boot/decision.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bootconf.h"
#include "model/machine.h"
#include "util/log.h"
#include "wire/json.h"

enum entry_state {
	ENTRY_PENDING,   /* asked, no answer yet */
	ENTRY_DECIDED,   /* a profile */
	ENTRY_CONFIG,    /* 404, a failure or an unusable answer: the config decides */
};

struct entry {
	uint8_t mac[6];
	enum entry_state state;
	uint64_t until_ms;        /* fresh until (pending: asked at) */
	char named[BOOTCONF_NAME_MAX + 1]; /* {"profile": NAME}: a profile of the config */
	struct bootconf *own;     /* {"kernel"...} or {"image"...}: a profile of its own */
};

struct decisions {
	struct entry *e;
	size_t n;
	unsigned ttl_s;
	decisions_ask_fn ask;
	void *ask_ctx;
	decisions_clock_fn clock;
	void *clock_ctx;
	bool down;                /* the last ask failed: log the outage once */
};

struct decisions *
decisions_new(decisions_ask_fn ask, void *ask_ctx, decisions_clock_fn clock, void *clock_ctx)
{
	struct decisions *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->e = calloc(DECISIONS_MAX, sizeof(*d->e));
	if (!d->e) {
		free(d);
		return NULL;
	}
	d->ttl_s = 60;
	d->ask = ask;
	d->ask_ctx = ask_ctx;
	d->clock = clock;
	d->clock_ctx = clock_ctx;
	return d;
}

void
decisions_free(struct decisions *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		bootconf_free(d->e[i].own);
	free(d->e);
	free(d);
}

void
decisions_set_ttl(struct decisions *d, unsigned seconds)
{
	d->ttl_s = seconds;
}

size_t
decisions_count(const struct decisions *d)
{
	return d ? d->n : 0;
}

static struct entry *
find(const struct decisions *d, const uint8_t mac[6])
{
	for (size_t i = 0; d && i < d->n; i++)
		if (memcmp(d->e[i].mac, mac, 6) == 0)
			return &d->e[i];
	return NULL;
}

/* A new entry for mac; when full, the one that went stale first makes room. */
static struct entry *
add(struct decisions *d, const uint8_t mac[6])
{
	struct entry *e;
	if (d->n < DECISIONS_MAX) {
		e = &d->e[d->n++];
	} else {
		e = &d->e[0];
		for (size_t i = 1; i < d->n; i++)
			if (d->e[i].until_ms < e->until_ms)
				e = &d->e[i];
		bootconf_free(e->own);
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->mac, mac, 6);
	return e;
}

bool
decisions_pending(const struct decisions *d, const uint8_t mac[6])
{
	const struct entry *e = find(d, mac);
	return e && e->state == ENTRY_PENDING;
}

/* Ask about mac unless an answer is fresh or on its way; its entry after that. */
static struct entry *
ask_if_stale(struct decisions *d, const uint8_t mac[6], int arch)
{
	uint64_t now = d->clock(d->clock_ctx);
	struct entry *e = find(d, mac);
	if (e && (e->state == ENTRY_PENDING || now < e->until_ms))
		return e;
	if (!e)
		e = add(d, mac);
	bootconf_free(e->own);
	e->own = NULL;
	e->named[0] = '\0';
	e->state = ENTRY_PENDING;
	e->until_ms = now;
	d->ask(d->ask_ctx, mac, arch);
	/* The ask may have answered already (a refused connect): look again. */
	return find(d, mac);
}

void
decisions_prefetch(struct decisions *d, const uint8_t mac[6], int arch)
{
	if (d)
		(void)ask_if_stale(d, mac, arch);
}

const struct boot_profile *
decisions_profile(void *ctx, const struct bootconf *bc, const uint8_t mac[6])
{
	struct entry *e = ask_if_stale(ctx, mac, -1);
	if (!e || e->state != ENTRY_DECIDED) /* asking, or the config decides */
		return NULL;
	if (e->own)
		return bootconf_profile_at(e->own, 0);
	return bootconf_profile(bc, e->named);
}

/* {"kernel"...} or {"image"...}: a profile of its own, checked as a config file's. */
static int
own_profile(struct entry *e, const struct json_flat *j, char *why, size_t whylen)
{
	char name[32], section[48];
	snprintf(name, sizeof(name), "api-%02x%02x%02x%02x%02x%02x", e->mac[0], e->mac[1],
	         e->mac[2], e->mac[3], e->mac[4], e->mac[5]);
	snprintf(section, sizeof(section), "profile %s", name);
	struct bootconf *bc = bootconf_new();
	if (!bc)
		return -ENOMEM;
	static const char *const keys[] = { "kernel", "initrd", "cmdline", "image", "method" };
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const struct json_member *m = json_flat_get(j, keys[k]);
		if (!m)
			continue;
		bool list = m->kind == JSON_STRINGS && strcmp(keys[k], "initrd") == 0;
		if (m->kind != JSON_STRING && !list) {
			snprintf(why, whylen, "\"%s\": not a string%s", keys[k],
			         strcmp(keys[k], "initrd") == 0 ? " or an array of strings" : "");
			goto bad;
		}
		for (size_t i = 0; i < (list ? m->n_items : 1); i++) {
			char err[256];
			if (bootconf_ini_entry(bc, section, keys[k], list ? m->items[i] : m->str, err,
			                       sizeof(err)) < 0) {
				snprintf(why, whylen, "\"%s\": %s", keys[k], err);
				goto bad;
			}
		}
	}
	if (bootconf_finish(bc, "decision", NULL, NULL) < 0 || bootconf_profile_count(bc) != 1) {
		snprintf(why, whylen, "give \"profile\", or \"kernel\" (with \"initrd\", \"cmdline\"), "
		                      "or \"image\" (with \"method\")");
		goto bad;
	}
	e->own = bc;
	return 0;
bad:
	bootconf_free(bc);
	return -EINVAL;
}

/* A 200's body: what it decides, into e. 0, or -EINVAL with why. */
static int
decide(struct entry *e, const char *body, size_t len, char *why, size_t whylen)
{
	static struct json_flat j; /* 8 KiB of text: not on the stack; the loop is single-threaded */
	char err[128];
	if (json_flat_parse(body, len, &j, err, sizeof(err)) < 0) {
		snprintf(why, whylen, "not a flat JSON object (%s)", err);
		return -EINVAL;
	}
	const struct json_member *msg = json_flat_get(&j, "message");
	if (msg && msg->kind == JSON_STRING) {
		char safe[200], m[18];
		log_escape(safe, sizeof(safe), msg->str, strlen(msg->str));
		log_info("decision", "%s: the API says: %s", mac_format(e->mac, m), safe);
	}
	const struct json_member *p = json_flat_get(&j, "profile");
	if (p) {
		if (p->kind != JSON_STRING || strlen(p->str) > BOOTCONF_NAME_MAX) {
			snprintf(why, whylen, "\"profile\": not a profile name");
			return -EINVAL;
		}
		snprintf(e->named, sizeof(e->named), "%s", p->str);
		return 0;
	}
	return own_profile(e, &j, why, whylen);
}

int
decisions_answer(struct decisions *d, const uint8_t mac[6], int status, const char *body,
                 size_t len)
{
	struct entry *e = find(d, mac);
	char m[18], why[320] = "";
	if (!e || e->state != ENTRY_PENDING)
		return 1; /* evicted meanwhile: nothing waits for it */
	uint64_t now = d->clock(d->clock_ctx);
	mac_format(mac, m);
	int r = 1;
	if (status == 200) {
		r = decide(e, body, len, why, sizeof(why));
		if (r < 0)
			log_warn("decision", "%s: the API's answer cannot be used: %s: the config decides",
			         m, why);
	} else if (status == 404) {
		log_info("decision", "%s: the API has no decision (404): the config decides", m);
	} else if (!d->down) {
		if (status < 0)
			log_warn("decision", "%s: the API does not answer (%s): the config decides until "
			                     "it does", m, strerror(-status));
		else
			log_warn("decision", "%s: the API answered %d: the config decides until it "
			                     "answers", m, status);
	}
	d->down = status != 200 && status != 404;
	bool usable = status == 200 && r == 0;
	e->state = usable ? ENTRY_DECIDED : ENTRY_CONFIG;
	e->until_ms = now + (d->down ? DECISIONS_RETRY_MS : (uint64_t)d->ttl_s * 1000);
	if (usable)
		log_info("decision", "%s: the API decides: %s", m,
		         e->own ? bootconf_profile_at(e->own, 0)->name : e->named);
	return usable ? 0 : r < 0 ? r : 1;
}
