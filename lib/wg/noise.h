/* The Noise_IKpsk2 handshake of WireGuard (paper section 5.4), as pure
 * functions over state structs: no I/O, no clocks, no allocation. Callers
 * pass in randomness and timestamps. Every function computes into locals and
 * commits to the handshake state only when the whole step succeeded. */
#ifndef ROAM_WG_NOISE_H
#define ROAM_WG_NOISE_H

#include <stdbool.h>
#include <stdint.h>

#include "wg/messages.h"

typedef void (*noise_random_fn)(void *ctx, void *buf, size_t len);

extern const uint8_t noise_initial_chaining_key[WG_HASH_LEN];
extern const uint8_t noise_initial_hash[WG_HASH_LEN];

struct noise_identity {
	uint8_t private_key[WG_KEY_LEN];
	uint8_t public_key[WG_KEY_LEN];
	bool has_identity;
};

enum noise_handshake_state {
	NOISE_HANDSHAKE_ZEROED = 0,
	NOISE_HANDSHAKE_CREATED_INITIATION,
	NOISE_HANDSHAKE_CONSUMED_INITIATION,
	NOISE_HANDSHAKE_CREATED_RESPONSE,
	NOISE_HANDSHAKE_CONSUMED_RESPONSE,
};

struct noise_handshake {
	enum noise_handshake_state state;
	uint8_t remote_static[WG_KEY_LEN];
	uint8_t precomputed_static_static[WG_KEY_LEN]; /* DH(s_local, S_remote); zero if invalid */
	uint8_t preshared_key[WG_KEY_LEN];
	uint8_t ephemeral_private[WG_KEY_LEN];
	uint8_t remote_ephemeral[WG_KEY_LEN];
	uint8_t hash[WG_HASH_LEN];
	uint8_t chaining_key[WG_HASH_LEN];
	uint8_t latest_timestamp[WG_TIMESTAMP_LEN];
	uint32_t local_index;
	uint32_t remote_index;
	uint64_t last_initiation_consumption; /* monotonic ns, 0 = never */
};

/* What the responder learns from an initiation before it knows the peer. */
struct noise_initiation_partial {
	uint8_t remote_static[WG_KEY_LEN];
	uint8_t remote_ephemeral[WG_KEY_LEN];
	uint8_t hash[WG_HASH_LEN];
	uint8_t chaining_key[WG_HASH_LEN];
	uint32_t sender_index;
};

/* Session keys produced by a completed handshake. */
struct noise_session_keys {
	uint8_t send[WG_KEY_LEN];
	uint8_t recv[WG_KEY_LEN];
	uint32_t local_index;
	uint32_t remote_index;
	bool is_initiator;
};

int noise_identity_set(struct noise_identity *id, const uint8_t private_key[WG_KEY_LEN]);
void noise_identity_clear(struct noise_identity *id);

/* Binds a handshake to a remote static key; keeps psk and last timestamp. */
void noise_handshake_init(struct noise_handshake *hs, const struct noise_identity *id,
			  const uint8_t remote_static[WG_KEY_LEN], const uint8_t psk[WG_KEY_LEN]);
/* Recomputes DH(s, S) after the local identity changed. */
void noise_handshake_rekey_static(struct noise_handshake *hs, const struct noise_identity *id);
/* Forgets the in-flight handshake state (not the timestamp or psk). */
void noise_handshake_clear(struct noise_handshake *hs);

/* Initiator, step 1. Fills everything but the MACs. */
int noise_create_initiation(struct noise_handshake *hs, const struct noise_identity *id,
			    struct wg_msg_initiation *msg, uint32_t local_index,
			    const uint8_t timestamp[WG_TIMESTAMP_LEN], noise_random_fn rng, void *rng_ctx);

/* Responder, step 1a: decrypt the initiator's static key (no peer state used). */
int noise_consume_initiation_static(const struct noise_identity *id, const struct wg_msg_initiation *msg,
				    struct noise_initiation_partial *out);
/* Responder, step 1b: with the peer found, check the timestamp and the flood
 * limit and commit. -EALREADY: replayed timestamp; -EBUSY: too frequent. */
int noise_consume_initiation_finish(struct noise_handshake *hs, const struct noise_identity *id,
				    const struct wg_msg_initiation *msg,
				    const struct noise_initiation_partial *partial, uint64_t now_ns,
				    uint64_t min_interval_ns);

/* Responder, step 2. Fills everything but the MACs. */
int noise_create_response(struct noise_handshake *hs, struct wg_msg_response *msg, uint32_t local_index,
			  noise_random_fn rng, void *rng_ctx);

/* Initiator, step 2. */
int noise_consume_response(struct noise_handshake *hs, const struct noise_identity *id,
			   const struct wg_msg_response *msg);

/* Derive transport keys after CONSUMED_RESPONSE (initiator) or CREATED_RESPONSE
 * (responder); the handshake is cleared afterwards. */
int noise_derive_session(struct noise_handshake *hs, struct noise_session_keys *out);

/* TAI64N of a Unix time in nanoseconds (paper 5.1). */
void noise_tai64n(uint8_t out[WG_TIMESTAMP_LEN], int64_t unix_ns);

#endif
