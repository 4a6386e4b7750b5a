/*
 * One log line per boot client and answer. Boot clients repeat themselves:
 * DHCP DISCOVER then REQUEST, the same again on port 4011, DHCPv6 SOLICIT
 * then REQUEST, and a retry every few seconds while a reply is lost. The
 * operator wants one line per client and answer, so the first line for a
 * (MAC, answer) pair is logged at info and its repeats within
 * ANSWERLOG_REPEAT_SECONDS at debug. A fixed table indexed by MAC: a
 * collision only costs an extra info line, and the wire can never grow it.
 */
#ifndef NETBOOTD_UTIL_ANSWERLOG_H
#define NETBOOTD_UTIL_ANSWERLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define ANSWERLOG_SLOTS 256
#define ANSWERLOG_REPEAT_SECONDS 60

struct answerlog_slot {
	uint8_t mac[6];
	uint32_t answer_hash;
	time_t at;
};

struct answerlog {
	struct answerlog_slot slots[ANSWERLOG_SLOTS];
};

/* True the first time this client (of this firmware kind) gets this answer. */
bool answerlog_is_new(struct answerlog *al, const uint8_t mac[6], int kind, const char *answer,
                      time_t now);

#endif
