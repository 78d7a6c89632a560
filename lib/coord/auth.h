/* Proof of possession for every HTTPS request (docs/control-protocol.md,
 * "Identities and keys", "HTTPS requests").
 *
 * Both sides derive the control key K from an X25519 exchange between the
 * node key and the server's control key; K is never sent. Each request
 * carries a Roam-Auth header whose mac binds method, target, time, a nonce
 * and the body to K. The server checks freshness, the mac (constant time)
 * and, with struct coord_replay (replay.h), that the nonce is new.
 *
 * Errors: -EINVAL malformed header or arguments, -ENOSPC buffer too small,
 * -ETIME timestamp outside COORD_AUTH_MAX_SKEW_S, -EKEYREJECTED bad mac or
 * a low-order public key. Out-parameters are written only on success. */
#ifndef ROAM_COORD_AUTH_H
#define ROAM_COORD_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"

#define COORD_AUTH_HEADER "Roam-Auth"
/* "node=<44>; ts=<20>; nonce=<22>; mac=<22>" and a NUL, with room to spare */
#define COORD_AUTH_HEADER_MAX 160

/* K = BLAKE2s-256(key = X25519(my_priv, their_pub), msg = "roam-control-v1").
 * The node calls it with (node_priv, server_pub), the server with
 * (server_priv, node_pub); both get the same K. -EKEYREJECTED if their_pub
 * is a low-order point. The shared secret is wiped. */
int coord_control_key(uint8_t k_out[COORD_KEY_LEN], const uint8_t my_priv[COORD_KEY_LEN],
		      const uint8_t their_pub[COORD_KEY_LEN]);

/* A parsed Roam-Auth header. */
struct coord_auth {
	uint8_t node_pub[COORD_KEY_LEN];
	int64_t ts;                              /* unix seconds */
	uint8_t nonce[COORD_AUTH_NONCE_LEN];
	uint8_t mac[COORD_MAC_LEN];
};

/* mac = BLAKE2s-128(K, METHOD "\n" TARGET "\n" ts "\n" nonce "\n" hex(BLAKE2s-256(body)))
 * with ts in decimal and nonce as its base64url text, exactly as in the
 * header. target is the request target as sent ("/v1/register"). */
void coord_auth_mac(uint8_t mac_out[COORD_MAC_LEN], const uint8_t k[COORD_KEY_LEN], const char *method,
		    const char *target, int64_t ts, const uint8_t nonce[COORD_AUTH_NONCE_LEN], const void *body,
		    size_t body_len);

/* Node side: the header value (without "Roam-Auth: ") for one request, into
 * buf (COORD_AUTH_HEADER_MAX is enough). nonce must be fresh random bytes. */
int coord_auth_build(char *buf, size_t size, const uint8_t k[COORD_KEY_LEN], const uint8_t node_pub[COORD_KEY_LEN],
		     const char *method, const char *target, int64_t now, const uint8_t nonce[COORD_AUTH_NONCE_LEN],
		     const void *body, size_t body_len);

/* Server side, step 1: parse the header value (the four fields, in that
 * order, "; " separated; nothing else). Tells the server which node's K to
 * use. */
int coord_auth_parse(const char *value, struct coord_auth *out);

/* Server side, step 2: freshness, then the mac in constant time. The replay
 * check (coord_replay_check_and_add) comes after this succeeds, so forged
 * requests cannot fill the replay cache. */
int coord_auth_verify(const struct coord_auth *a, const uint8_t k[COORD_KEY_LEN], const char *method,
		      const char *target, const void *body, size_t body_len, int64_t now);

/* base64 helpers over libsodium, for the protocol's fields. Decoders demand
 * the exact decoded length and the canonical encoding (-EINVAL otherwise). */
#define COORD_KEY_B64_LEN 44 /* standard, padded, 32 bytes */
int coord_b64_encode(char *buf, size_t size, const uint8_t *bin, size_t len, int url);
int coord_b64_decode(uint8_t *bin, size_t len, const char *text, size_t text_len, int url);

/* Through a TLS-intercepting proxy (docs/control-protocol.md): the node
 * cannot trust the TLS key, so it asks (COORD_WANT_SERVER_AUTH_HEADER: 1)
 * and the server proves each reply with K, bound to the request's nonce:
 *   reply: BLAKE2s-128(K, "roam-reply-v1\n" nonce "\n" status "\n" hex(BLAKE2s-256(body)))
 *   line:  BLAKE2s-128(K, "roam-line-v1\n" nonce "\n" seq "\n" line)
 * with nonce as its base64url text, status and seq in decimal, the line
 * without its newline. Replies carry "Roam-Server-Auth: mac=<base64url>";
 * after each stream line comes {"type":"mac","mac":"<base64url>"}. */
#define COORD_WANT_SERVER_AUTH_HEADER "Roam-Want-Server-Auth"
#define COORD_SERVER_AUTH_HEADER "Roam-Server-Auth"
#define COORD_SERVER_AUTH_MAX 32 /* "mac=" 22 characters and a NUL */
#define COORD_MAC_LINE_MAX 48    /* the mac line, its newline and a NUL */

void coord_reply_mac(uint8_t mac_out[COORD_MAC_LEN], const uint8_t k[COORD_KEY_LEN],
		     const uint8_t nonce[COORD_AUTH_NONCE_LEN], int status, const void *body, size_t body_len);
void coord_line_mac(uint8_t mac_out[COORD_MAC_LEN], const uint8_t k[COORD_KEY_LEN],
		    const uint8_t nonce[COORD_AUTH_NONCE_LEN], uint64_t seq, const void *line, size_t line_len);
/* Server side: the header value ("mac=..."), the mac line ('{"type":"mac",...}' and "\n"). */
int coord_reply_auth_build(char *buf, size_t size, const uint8_t k[COORD_KEY_LEN],
			   const uint8_t nonce[COORD_AUTH_NONCE_LEN], int status, const void *body, size_t body_len);
int coord_line_mac_build(char *buf, size_t size, const uint8_t k[COORD_KEY_LEN],
			 const uint8_t nonce[COORD_AUTH_NONCE_LEN], uint64_t seq, const void *line, size_t line_len);
/* Node side: 0 when value (the header, NULL: absent) / mac_line (without its
 * newline) holds the right mac; -EINVAL malformed or absent, -EKEYREJECTED
 * wrong. Exact forms only: the server writes nothing else. */
int coord_reply_auth_verify(const char *value, const uint8_t k[COORD_KEY_LEN],
			    const uint8_t nonce[COORD_AUTH_NONCE_LEN], int status, const void *body, size_t body_len);
int coord_line_mac_verify(const char *mac_line, size_t mac_line_len, const uint8_t k[COORD_KEY_LEN],
			  const uint8_t nonce[COORD_AUTH_NONCE_LEN], uint64_t seq, const void *line, size_t line_len);

#endif
