/* Path probes between two nodes (docs/control-protocol.md, "Path probes"):
 * PING, PONG and CALLME, their keys, and the per-peer state that makes them
 * replay-proof. Pure functions: no sockets, no clock (the caller passes
 * wall-clock and monotonic times in), no allocation.
 *
 * Receiving, in this order (cheap checks before expensive ones, and nothing
 * remembered from a message whose mac has not verified):
 *   1. coord_probe_peek(): type and exact length, the sender's public key;
 *      the caller finds the peer (and its keys) by that key, or drops it;
 *   2. coord_probe_*_verify(): mac (constant time) and fields;
 *   3. PING/CALLME: coord_probe_window_check_and_add(); PONG:
 *      coord_probe_pending_take().
 * Rate limiting (lib/coord/ratelimit.h) goes before step 2.
 *
 * Errors: -EBADMSG malformed (type, length, reserved bytes, family, count),
 * -EKEYREJECTED bad mac or a key that is not this peer's, -EINVAL bad
 * arguments, -ETIME timestamp outside the skew window, -ESTALE older than
 * what the window still remembers, -EALREADY replayed, -ENOENT a PONG that
 * answers nothing outstanding, -ETIMEDOUT a PONG too late. Out-parameters
 * are written only on success. */
#ifndef ROAM_COORD_PROBE_H
#define ROAM_COORD_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"
#include "net/addr.h"

/* The probe keys of one pair, as seen from our side: tx signs what we send,
 * rx verifies what the peer sends. Wipe with coord_probe_keys_wipe(). */
struct coord_probe_keys {
	uint8_t self_pub[COORD_KEY_LEN];
	uint8_t peer_pub[COORD_KEY_LEN];
	uint8_t tx[COORD_KEY_LEN];
	uint8_t rx[COORD_KEY_LEN];
};

/* shared = X25519(self_priv, peer_pub)
 * prk    = HMAC-BLAKE2s(key = "roam-probe-v1", shared || lower_pub || higher_pub)
 * key(S->R) = HMAC-BLAKE2s(key = prk, "roam-probe-v1 " || S_pub || R_pub || 0x01)
 * (HKDF-Extract and one block of HKDF-Expand, RFC 5869, over HMAC-BLAKE2s;
 * the public keys ordered bytewise in the extract, as sender then receiver
 * in the expand). -EKEYREJECTED for a low-order peer key, -EINVAL when
 * peer_pub is our own key (both directions would be one key). */
int coord_probe_keys_derive(struct coord_probe_keys *out, const uint8_t self_priv[COORD_KEY_LEN],
			    const uint8_t peer_pub[COORD_KEY_LEN]);
void coord_probe_keys_wipe(struct coord_probe_keys *k);

/* Step 1: the type (COORD_MSG_PROBE_*) if buf has the exact length for it,
 * and a pointer into buf at the sender's public key; -EBADMSG otherwise. */
int coord_probe_peek(const uint8_t *buf, size_t len, uint8_t *type_out, const uint8_t **sender_pub_out);

struct coord_probe_ping {
	uint8_t txid[COORD_PROBE_TXID_LEN];
	uint64_t timestamp_ns;
};

struct coord_probe_pong {
	uint8_t txid[COORD_PROBE_TXID_LEN];
	uint64_t timestamp_ns;
	struct sockaddr_any observed; /* normalised, AF_INET or AF_INET6 */
};

struct coord_probe_callme {
	uint8_t txid[COORD_PROBE_TXID_LEN];
	uint64_t timestamp_ns;
	size_t count;
	struct sockaddr_any endpoints[COORD_CALLME_ENDPOINTS_MAX];
};

/* Build into out (sizeof the message struct; COORD_CALLME_MAX for CALLME,
 * whose length goes to *len_out). Endpoints must be AF_INET or AF_INET6
 * (-EAFNOSUPPORT); a CALLME carries 1..COORD_CALLME_ENDPOINTS_MAX (-EINVAL). */
void coord_probe_ping_build(uint8_t out[sizeof(struct coord_msg_probe_ping)], const struct coord_probe_keys *k,
			    const uint8_t txid[COORD_PROBE_TXID_LEN], uint64_t timestamp_ns);
int coord_probe_pong_build(uint8_t out[sizeof(struct coord_msg_probe_pong)], const struct coord_probe_keys *k,
			   const uint8_t txid[COORD_PROBE_TXID_LEN], uint64_t timestamp_ns,
			   const struct sockaddr_any *observed);
int coord_probe_callme_build(uint8_t out[COORD_CALLME_MAX], size_t *len_out, const struct coord_probe_keys *k,
			     const uint8_t txid[COORD_PROBE_TXID_LEN], uint64_t timestamp_ns,
			     const struct sockaddr_any *endpoints, size_t count);

/* Step 2, with the keys of the peer whose public key peek gave. */
int coord_probe_ping_verify(const uint8_t *buf, size_t len, const struct coord_probe_keys *k,
			    struct coord_probe_ping *out);
int coord_probe_pong_verify(const uint8_t *buf, size_t len, const struct coord_probe_keys *k,
			    struct coord_probe_pong *out);
int coord_probe_callme_verify(const uint8_t *buf, size_t len, const struct coord_probe_keys *k,
			      struct coord_probe_callme *out);

/* Replay window for what a peer sends us unasked (PING, CALLME), one per
 * peer, zero-initialised. Accepts a message iff |ts - now| is within
 * COORD_PROBE_MAX_SKEW_NS, ts is above the floor (the newest accepted ts
 * minus COORD_PROBE_REORDER_NS, and every ts the window has forgotten), and
 * its txid is not among the ones remembered. Sound with a fixed size: when
 * the window is full the oldest entry leaves and the floor rises to its ts,
 * so nothing it held can come back. */
struct coord_probe_window {
	uint64_t newest_ns;
	uint64_t forgot_ns; /* highest ts evicted or pruned */
	unsigned count;
	struct {
		uint64_t ts_ns;
		uint8_t txid[COORD_PROBE_TXID_LEN];
	} e[COORD_PROBE_WINDOW];
};
int coord_probe_window_check_and_add(struct coord_probe_window *w, uint64_t ts_ns,
				     const uint8_t txid[COORD_PROBE_TXID_LEN], uint64_t now_wall_ns);

/* Our PINGs to one peer still waiting for a PONG, zero-initialised. tag is
 * the caller's (the path the PING went out on). Adding to a full table drops
 * the oldest (they are our own; a remote party cannot fill it). A PING sent
 * to many addresses at once may share one txid: the first PONG takes it. */
struct coord_probe_pending {
	struct {
		uint8_t txid[COORD_PROBE_TXID_LEN];
		uint64_t sent_ns; /* monotonic */
		uint64_t tag;
		bool used;
	} e[COORD_PROBE_PENDING_MAX];
};
void coord_probe_pending_add(struct coord_probe_pending *p, const uint8_t txid[COORD_PROBE_TXID_LEN], uint64_t tag,
			     uint64_t now_ns);
/* Removes the entry (answered once, never again) and gives its tag and
 * send time; -ENOENT if unknown or answered, -ETIMEDOUT (also removed) if
 * older than COORD_PROBE_PONG_TIMEOUT_NS. */
int coord_probe_pending_take(struct coord_probe_pending *p, const uint8_t txid[COORD_PROBE_TXID_LEN],
			     uint64_t now_ns, uint64_t *tag_out, uint64_t *sent_ns_out);

#endif
