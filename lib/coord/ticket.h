/* Relay tickets (docs/control-protocol.md, "Several relays"): the control
 * server's signed statement "node N, with key K, is in groups G until T",
 * which a relay-only server checks without a database. No I/O here.
 *
 *   version u8 (1) | reserved[3] = 0 | serial le64 | node_id le32 |
 *   expires le64 (unix s) | node_pub[32] | group_count le16 |
 *   group_ids le32 * count (strictly ascending, <= 64) | sig[64]
 *
 * sig: Ed25519 (libsodium crypto_sign) over everything before it, with the
 * control server's ticket key. */
#ifndef ROAM_COORD_TICKET_H
#define ROAM_COORD_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TICKET_VERSION 1
#define TICKET_GROUPS_MAX 64
#define TICKET_PUB_LEN 32    /* Ed25519 public key */
#define TICKET_SECRET_LEN 64 /* libsodium's Ed25519 secret key (seed | public) */
#define TICKET_SIG_LEN 64
#define TICKET_NODE_PUB_LEN 32
#define TICKET_FIXED_LEN (1 + 3 + 8 + 4 + 8 + TICKET_NODE_PUB_LEN + 2)
#define TICKET_LEN_MIN (TICKET_FIXED_LEN + TICKET_SIG_LEN)
#define TICKET_LEN_MAX (TICKET_LEN_MIN + 4 * TICKET_GROUPS_MAX)
#define TICKET_LIFETIME_S 600 /* a ticket is valid this long */
#define TICKET_REISSUE_S 300  /* the control server sends a new one this often */

struct ticket {
	uint64_t serial;
	uint32_t node_id;
	uint64_t expires;
	uint8_t node_pub[TICKET_NODE_PUB_LEN];
	uint16_t group_count;
	uint32_t groups[TICKET_GROUPS_MAX]; /* strictly ascending */
};

#define TICKET_SEED_LEN 32 /* what a key file keeps: the pair is derived from it */

/* A new ticket key pair; -EIO if libsodium cannot start. */
int ticket_keypair(uint8_t pub[TICKET_PUB_LEN], uint8_t sec[TICKET_SECRET_LEN]);
int ticket_keypair_from_seed(uint8_t pub[TICKET_PUB_LEN], uint8_t sec[TICKET_SECRET_LEN],
			     const uint8_t seed[TICKET_SEED_LEN]);
/* The public half of a secret key (its last 32 bytes, as libsodium keeps it). */
void ticket_public_of(uint8_t pub[TICKET_PUB_LEN], const uint8_t sec[TICKET_SECRET_LEN]);

/* Encodes and signs t into out: its length, or -EINVAL (more than
 * TICKET_GROUPS_MAX groups, or not strictly ascending), -ENOSPC. */
int ticket_build(const struct ticket *t, const uint8_t sec[TICKET_SECRET_LEN], uint8_t *out, size_t cap);

/* Structure only (no signature check): -EPROTO for a wrong length, version,
 * reserved bytes, group count or order. */
int ticket_parse(const uint8_t *in, size_t len, struct ticket *out);

/* ticket_parse, then the signature with pub (-EBADMSG) and the expiry
 * against now (unix s; -ETIMEDOUT when expires <= now). out is filled only
 * when the ticket is valid. */
int ticket_verify(const uint8_t *in, size_t len, const uint8_t pub[TICKET_PUB_LEN], uint64_t now,
		  struct ticket *out);

/* Whether two tickets' group lists share an id (both sorted: a merge). */
bool ticket_share_group(const struct ticket *a, const struct ticket *b);

/* RELAY_BIND (0x8D), node -> relay-only server over UDP: type |
 * reserved[3] | node_id le32 | timestamp_ns le64 | nonce[8] | ticket_len
 * le16 | ticket | mac[16], mac = BLAKE2s-128(K_nr, all before it). The
 * relay answers a BINDING_ACK made with K_nr. */
#define RELAY_BIND_HDR_LEN 26
#define RELAY_BIND_LEN_MAX (RELAY_BIND_HDR_LEN + TICKET_LEN_MAX + 16)
/* Its length, or -ENOSPC / -EINVAL (ticket length out of range). */
int relay_bind_build(uint8_t *out, size_t cap, uint32_t node_id, uint64_t ts_ns, const uint8_t nonce[8],
		     const uint8_t *ticket, size_t ticket_len, const uint8_t k[32]);
/* Structure only: node id, timestamp and the ticket inside buf; -EPROTO. */
int relay_bind_parse(const uint8_t *buf, size_t len, uint32_t *node_id, uint64_t *ts_ns, const uint8_t **ticket,
		     size_t *ticket_len);
/* The mac with K_nr (constant time): 0 or -EBADMSG. */
int relay_bind_verify(const uint8_t *buf, size_t len, const uint8_t k[32]);

/* A relay's join token, printed by `roam-server relays add`:
 * "roamrelay1." + base64url(version 1 | tls_pin[32] | server_pub[32] |
 * secret[16]): the control server's TLS pin and control key, and the
 * relay's secret (the control server keeps only its BLAKE2s-256 hash). */
#define RELAY_TOKEN_PREFIX "roamrelay1."
#define RELAY_TOKEN_RAW_LEN 81
#define RELAY_TOKEN_STRLEN (sizeof(RELAY_TOKEN_PREFIX) - 1 + 108) /* without NUL */
#define RELAY_SECRET_LEN 16
struct relay_token {
	uint8_t tls_pin[32];
	uint8_t server_pub[32];
	uint8_t secret[RELAY_SECRET_LEN];
};
int relay_token_encode(const struct relay_token *t, char *buf, size_t size); /* -ENOSPC */
int relay_token_decode(const char *text, struct relay_token *out);          /* -EINVAL, -EPROTONOSUPPORT */

/* K_r (relay -> control server, label "roam-relay-v1") and K_nr (node ->
 * relay, "roam-relay-node-v1"): BLAKE2s-256(key = X25519(my_priv,
 * their_pub), msg = label), as coord_control_key with another label.
 * -EKEYREJECTED for a low-order key. */
#define RELAY_KEY_LABEL "roam-relay-v1"
#define RELAY_NODE_KEY_LABEL "roam-relay-node-v1"
int relay_key_derive(uint8_t k_out[32], const uint8_t my_priv[32], const uint8_t their_pub[32], const char *label);

#endif
