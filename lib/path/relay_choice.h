/* Which relay (s4b, "Several relays"): the home relay of a node (lowest
 * round trip, with hysteresis so it does not flap) and the meeting relay
 * of a pair (the least rtt_A + rtt_B), computed by both sides from the same
 * data (their relay_rtt reports) so they agree without talking. Pure
 * functions, no I/O, no clock. Round trips are in microseconds, 0 for
 * "unknown or dead" (never a choice). */
#ifndef ROAM_PATH_RELAY_CHOICE_H
#define ROAM_PATH_RELAY_CHOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAY_CHOICE_MAX 256          /* relay indexes are a u8 (EP_RELAY) */
#define RELAY_HOME_BETTER_PCT 20      /* a new home is this much better ... */
#define RELAY_HOME_BETTER_US 5000     /* ... and by this much ... */
#define RELAY_HOME_ROUNDS 3           /* ... in this many measurements in a row */
#define RELAY_PAIR_CANDIDATES_MAX 3   /* meeting, our home, the peer's home */

/* The relay with the lowest round trip, ties to the lower index; -1 if
 * none is known. */
int relay_best(const uint32_t *rtt_us, size_t n);

/* The meeting relay of a pair: argmin over the relays both know a round
 * trip for of (a[i] + b[i]), ties to the lower index; -1 if they share none. */
int relay_meeting(const uint32_t *a_us, size_t a_n, const uint32_t *b_us, size_t b_n);

struct relay_home {
	int home;         /* -1: none yet */
	int candidate;    /* the better one being watched; -1: none */
	unsigned streak;  /* measurements in a row it was better */
};

void relay_home_init(struct relay_home *h);
/* One measurement round (every relay's latest round trip): returns the
 * home after it. The first known relay becomes home at once, and so does
 * the best one when the home has no round trip (dead); otherwise a relay
 * replaces it only when better by RELAY_HOME_BETTER_PCT % and
 * RELAY_HOME_BETTER_US in RELAY_HOME_ROUNDS rounds in a row. */
int relay_home_update(struct relay_home *h, const uint32_t *rtt_us, size_t n);

/* The relays a pair's relayed paths use: the meeting relay first (the
 * path layer's relay candidate), then each side's home as standby, each
 * once; -1 entries are skipped. Returns how many were written to out. */
size_t relay_pair_candidates(int meeting, int home_self, int home_peer, uint8_t out[RELAY_PAIR_CANDIDATES_MAX]);

/* Relay liveness (RELAY_PING/PONG to a relay in use, over whatever link
 * reaches it). A PING goes every RELAY_LIVE_PING_NS; the relay is dead
 * when the oldest unanswered PING has waited RELAY_LIVE_WAIT_MIN_NS or 4
 * smoothed round trips, whichever is longer (a pong is expected within one
 * round trip: this is at least 1 s of silence past it, without
 * waiting for a second ping). Any pong with a fresh echo makes it alive
 * again. Times in ns on the caller's monotonic clock; no I/O. */
#define RELAY_LIVE_PING_NS UINT64_C(2000000000)
#define RELAY_LIVE_IDLE_PING_NS UINT64_C(10000000000) /* relays not in use */
#define RELAY_LIVE_WAIT_MIN_NS UINT64_C(1000000000)

struct relay_live {
	uint64_t unanswered_at; /* the oldest unanswered PING's send time; 0: none */
	uint64_t next_ping;     /* 0: at once */
	uint64_t srtt_ns;       /* 0: no sample yet */
	uint64_t last_pong;     /* 0: none */
	bool dead;
};

void relay_live_init(struct relay_live *l);
/* Is a PING due at now? */
bool relay_live_ping_due(const struct relay_live *l, uint64_t now);
/* A PING went at now (its echo: now); the next one every ping_every. */
void relay_live_sent(struct relay_live *l, uint64_t now, uint64_t ping_every);
/* A PONG echoing sent arrived at now. Returns true if the relay was dead
 * and is alive again. An echo from the future, or older than the oldest
 * unanswered PING (a duplicate), is ignored. */
bool relay_live_pong(struct relay_live *l, uint64_t sent, uint64_t now);
/* Returns true if the relay became dead at now (once per death). */
bool relay_live_check(struct relay_live *l, uint64_t now);
/* When relay_live_check or a PING is next due. */
uint64_t relay_live_deadline(const struct relay_live *l);
/* The wait after a PING before death (max(1 s, 4 srtt)). */
uint64_t relay_live_wait_ns(const struct relay_live *l);

#endif
