/* The join token (docs/control-protocol.md, "Join token"):
 * "roam1." + base64url(version 1 | tls_pin[32] | server_pub[32] | preauth_key[16]).
 * An all-zero tls_pin means "verify with the system CAs"; an all-zero
 * preauth_key means "no key: wait for admin approval". */
#ifndef ROAM_COORD_TOKEN_H
#define ROAM_COORD_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"

#define COORD_TOKEN_PREFIX "roam1."
#define COORD_TOKEN_RAW_LEN 81
#define COORD_TOKEN_B64_LEN 108 /* base64url of the 81 raw bytes */
#define COORD_TOKEN_STRLEN (sizeof(COORD_TOKEN_PREFIX) - 1 + COORD_TOKEN_B64_LEN) /* without NUL */
#define COORD_PINNED_SECRET_LEN 16 /* the pre-auth key, or a relay's secret */

struct coord_token {
	uint8_t tls_pin[COORD_TLS_PIN_LEN];
	uint8_t server_pub[COORD_KEY_LEN];
	uint8_t preauth_key[COORD_PREAUTH_KEY_LEN];
};

/* buf needs COORD_TOKEN_STRLEN + 1 bytes; -ENOSPC otherwise. */
int coord_token_encode(const struct coord_token *t, char *buf, size_t size);
/* -EINVAL: wrong prefix, length, alphabet, non-canonical encoding;
 * -EPROTONOSUPPORT: a version other than 1. Surrounding whitespace (a
 * pasted newline) is not accepted: trim first. */
int coord_token_decode(const char *text, struct coord_token *out);

/* The codec both join tokens share (roam1. for nodes, roamrelay1. for
 * relay-only servers: lib/coord/ticket.h): prefix + base64url(version 1 |
 * tls_pin | server_pub | 16-byte secret); errors as above. */
int coord_pinned_token_encode(const char *prefix, const uint8_t tls_pin[COORD_TLS_PIN_LEN],
			      const uint8_t server_pub[COORD_KEY_LEN], const uint8_t secret[COORD_PINNED_SECRET_LEN],
			      char *buf, size_t size);
int coord_pinned_token_decode(const char *prefix, const char *text, uint8_t tls_pin[COORD_TLS_PIN_LEN],
			      uint8_t server_pub[COORD_KEY_LEN], uint8_t secret[COORD_PINNED_SECRET_LEN]);

#endif
