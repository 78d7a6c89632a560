/* The server's memory of (node, nonce) pairs, so a captured request cannot
 * be replayed (docs/control-protocol.md: "seen in the last 120 s").
 *
 * Two generations of a fixed-size open-addressing set of 16-byte digests:
 * lookups consult both, inserts go to the current one, and every
 * COORD_AUTH_REPLAY_WINDOW_S the older is dropped. A pair is thus remembered
 * for 120..240 s, which with the +-60 s timestamp window covers every
 * replay. Memory is fixed at init; when the current generation is full the
 * check fails with -ENOBUFS (the server answers 503) rather than forget.
 * Digests are keyed with a random per-cache key (no hash flooding). */
#ifndef ROAM_COORD_REPLAY_H
#define ROAM_COORD_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"

struct coord_replay_slot {
	uint8_t digest[16]; /* all zero = empty */
};

struct coord_replay {
	struct coord_replay_slot *gen[2]; /* [cur] and the older one */
	size_t slots;                     /* per generation, a power of two */
	size_t limit;                     /* max entries per generation (3/4 of slots) */
	size_t count[2];
	int cur;
	int64_t gen_started;              /* unix seconds the current generation began */
	uint8_t key[32];
};

/* capacity: entries remembered per window, rounded up. -ENOMEM, -EINVAL. */
int coord_replay_init(struct coord_replay *r, size_t capacity, int64_t now);
void coord_replay_free(struct coord_replay *r); /* accepts a zeroed struct */

/* Seconds (>= 0) until the current generation turns: a full cache has room
 * again then (a 503's Retry-After). */
int64_t coord_replay_turns_in(const struct coord_replay *r, int64_t now);

/* 0 and remembered if new; -EALREADY if seen; -ENOBUFS if full. */
int coord_replay_check_and_add(struct coord_replay *r, const uint8_t node_pub[COORD_KEY_LEN],
			       const uint8_t nonce[COORD_AUTH_NONCE_LEN], int64_t now);

#endif
