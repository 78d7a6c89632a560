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
#define COORD_TOKEN_STRLEN (sizeof(COORD_TOKEN_PREFIX) - 1 + 108) /* without NUL */

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

#endif
