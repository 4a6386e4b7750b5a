#include "util/answerlog.h"

#include <stddef.h>
#include <string.h>

#define FNV1A_START 2166136261u

static uint32_t
fnv1a(uint32_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

bool
answerlog_is_new(struct answerlog *al, const uint8_t mac[6], int kind, const char *answer,
                 time_t now)
{
	uint32_t h = fnv1a(fnv1a(FNV1A_START, &kind, sizeof(kind)), answer, strlen(answer));
	struct answerlog_slot *slot = &al->slots[fnv1a(FNV1A_START, mac, 6) % ANSWERLOG_SLOTS];
	bool repeat = memcmp(slot->mac, mac, 6) == 0 && slot->answer_hash == h && now >= slot->at &&
	              now - slot->at < ANSWERLOG_REPEAT_SECONDS;
	memcpy(slot->mac, mac, 6);
	slot->answer_hash = h;
	slot->at = now;
	return !repeat;
}
