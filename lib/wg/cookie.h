/* MAC1/MAC2 and cookie replies (WireGuard paper 5.4.4 and 5.4.7): the DoS
 * defence that makes a responder under load demand proof of address
 * ownership before spending a Diffie-Hellman on an initiation. */
#ifndef ROAM_WG_COOKIE_H
#define ROAM_WG_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/messages.h"
#include "wg/noise.h"

/* Responder side, one per device. */
struct cookie_checker {
	uint8_t mac1_key[WG_HASH_LEN];   /* HASH(LABEL_MAC1 || our public key) */
	uint8_t cookie_key[WG_HASH_LEN]; /* HASH(LABEL_COOKIE || our public key) */
	uint8_t secret[WG_HASH_LEN];     /* R_m, rotated every two minutes */
	uint64_t secret_birth;           /* monotonic ns; 0 = never made */
};

/* Initiator side, one per peer. */
struct cookie_maker {
	uint8_t mac1_key[WG_HASH_LEN];
	uint8_t cookie_key[WG_HASH_LEN];
	uint8_t cookie[WG_COOKIE_LEN];
	uint64_t cookie_birth; /* monotonic ns of the latest cookie; 0 = none */
	uint8_t last_mac1_sent[WG_MAC_LEN];
	bool have_sent_mac1;
};

enum cookie_mac_state {
	COOKIE_MAC_INVALID,
	COOKIE_MAC_VALID_MAC1,      /* mac1 good, mac2 missing or stale */
	COOKIE_MAC_VALID_MAC1_MAC2, /* both good: the sender owns its address */
};

void cookie_checker_init(struct cookie_checker *c, const uint8_t our_public[WG_KEY_LEN]);
void cookie_maker_init(struct cookie_maker *m, const uint8_t their_public[WG_KEY_LEN]);

/* Fills the trailing wg_msg_macs of a handshake message of len bytes. */
void cookie_add_macs(struct cookie_maker *m, void *msg, size_t len, uint64_t now_ns);

/* src is the sender's address bytes (IP and port) the cookie binds to. */
enum cookie_mac_state cookie_validate(struct cookie_checker *c, const void *msg, size_t len,
				      const void *src, size_t src_len, bool check_mac2, uint64_t now_ns,
				      noise_random_fn rng, void *rng_ctx);

void cookie_create_reply(struct cookie_checker *c, struct wg_msg_cookie *reply, const void *msg, size_t len,
			 uint32_t receiver_index, const void *src, size_t src_len, uint64_t now_ns,
			 noise_random_fn rng, void *rng_ctx);

int cookie_consume_reply(struct cookie_maker *m, const struct wg_msg_cookie *reply, uint64_t now_ns);

#endif
