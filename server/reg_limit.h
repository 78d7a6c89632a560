/* A token bucket per source address for anonymous registrations (the ones
 * that make a node waiting for approval): `burst` at once, then one every
 * `refill_s` seconds. IPv6 sources count per /64 (one host owns at least
 * that much). Fixed memory: REG_LIMIT_SLOTS addresses; when a probe window
 * is full the least recently used entry is replaced (the total cap on
 * waiting nodes still holds for an attacker with many addresses). No I/O,
 * no clock: the caller passes the time. */
#ifndef ROAM_SERVER_REG_LIMIT_H
#define ROAM_SERVER_REG_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "net/addr.h"

#define REG_LIMIT_SLOTS 4096
#define REG_LIMIT_PROBE 8

struct reg_limit_slot {
	uint8_t key[17]; /* family, then the address (IPv6: /64); all zero = empty */
	uint32_t tokens;
	int64_t stamp;   /* unix seconds of the last refill */
};

struct reg_limit {
	uint32_t burst, refill_s;
	uint64_t seed;
	struct reg_limit_slot slots[REG_LIMIT_SLOTS];
};

void reg_limit_init(struct reg_limit *l, uint32_t burst, uint32_t refill_s);
/* May `from` make a waiting node now? (does not spend) */
bool reg_limit_allows(struct reg_limit *l, const struct sockaddr_any *from, int64_t now);
/* One was made: spend a token. */
void reg_limit_spend(struct reg_limit *l, const struct sockaddr_any *from, int64_t now);

#endif
