#include "coord/replay.h"

#include <blake2.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int coord_replay_init(struct coord_replay *r, size_t capacity, int64_t now)
{
	size_t slots = 16;

	memset(r, 0, sizeof(*r));
	if (capacity == 0 || capacity > (SIZE_MAX / 64))
		return -EINVAL;
	while (slots / 4 * 3 < capacity)
		slots <<= 1;
	r->gen[0] = calloc(slots, sizeof(struct coord_replay_slot));
	r->gen[1] = calloc(slots, sizeof(struct coord_replay_slot));
	if (!r->gen[0] || !r->gen[1]) {
		coord_replay_free(r);
		return -ENOMEM;
	}
	r->slots = slots;
	r->limit = slots / 4 * 3;
	r->gen_started = now;
	crypto_random(r->key, sizeof(r->key));
	return 0;
}

void coord_replay_free(struct coord_replay *r)
{
	free(r->gen[0]);
	free(r->gen[1]);
	crypto_wipe(r->key, sizeof(r->key));
	memset(r, 0, sizeof(*r));
}

int64_t coord_replay_turns_in(const struct coord_replay *r, int64_t now)
{
	int64_t left = r->gen_started + COORD_AUTH_REPLAY_WINDOW_S - now;

	return left < 0 ? 0 : left > COORD_AUTH_REPLAY_WINDOW_S ? COORD_AUTH_REPLAY_WINDOW_S : left;
}

static void replay_rotate(struct coord_replay *r, int64_t now)
{
	int64_t age = now - r->gen_started;

	if (age < COORD_AUTH_REPLAY_WINDOW_S)
		return;
	/* Idle for two windows or more: both generations are stale. */
	if (age >= 2 * COORD_AUTH_REPLAY_WINDOW_S) {
		memset(r->gen[r->cur], 0, r->slots * sizeof(struct coord_replay_slot));
		r->count[r->cur] = 0;
	}
	r->cur ^= 1;
	memset(r->gen[r->cur], 0, r->slots * sizeof(struct coord_replay_slot));
	r->count[r->cur] = 0;
	r->gen_started = now;
}

/* Position of digest in gen, or of the empty slot where it would go. */
static size_t replay_probe(const struct coord_replay *r, const struct coord_replay_slot *gen,
			   const uint8_t digest[16], int *found)
{
	uint64_t h;
	size_t i;
	static const uint8_t zero[16];

	memcpy(&h, digest, sizeof(h));
	i = (size_t)h & (r->slots - 1);
	/* Terminates: a generation never holds more than 3/4 of its slots. */
	for (;;) {
		if (memcmp(gen[i].digest, digest, 16) == 0) {
			*found = 1;
			return i;
		}
		if (memcmp(gen[i].digest, zero, 16) == 0) {
			*found = 0;
			return i;
		}
		i = (i + 1) & (r->slots - 1);
	}
}

int coord_replay_check_and_add(struct coord_replay *r, const uint8_t node_pub[COORD_KEY_LEN],
			       const uint8_t nonce[COORD_AUTH_NONCE_LEN], int64_t now)
{
	uint8_t in[COORD_KEY_LEN + COORD_AUTH_NONCE_LEN], digest[16];
	int found;
	size_t pos;

	replay_rotate(r, now);
	memcpy(in, node_pub, COORD_KEY_LEN);
	memcpy(in + COORD_KEY_LEN, nonce, COORD_AUTH_NONCE_LEN);
	blake2s(digest, in, r->key, sizeof(digest), sizeof(in), sizeof(r->key));
	digest[0] |= 1; /* never all zero: that marks an empty slot */

	replay_probe(r, r->gen[r->cur ^ 1], digest, &found);
	if (found)
		return -EALREADY;
	pos = replay_probe(r, r->gen[r->cur], digest, &found);
	if (found)
		return -EALREADY;
	if (r->count[r->cur] >= r->limit)
		return -ENOBUFS;
	memcpy(r->gen[r->cur][pos].digest, digest, 16);
	r->count[r->cur]++;
	return 0;
}
