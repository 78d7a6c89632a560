#include "coord/token.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "coord/auth.h"
#include "crypto/crypto.h"

/* version 1 | tls_pin | server_pub | secret, base64url after the prefix. */
static_assert(COORD_TOKEN_RAW_LEN == 1 + COORD_TLS_PIN_LEN + COORD_KEY_LEN + COORD_PINNED_SECRET_LEN, "token layout");

int coord_pinned_token_encode(const char *prefix, const uint8_t tls_pin[COORD_TLS_PIN_LEN],
			      const uint8_t server_pub[COORD_KEY_LEN], const uint8_t secret[COORD_PINNED_SECRET_LEN],
			      char *buf, size_t size)
{
	uint8_t raw[COORD_TOKEN_RAW_LEN];
	const size_t plen = strlen(prefix);
	int r;

	if (size < plen + COORD_TOKEN_B64_LEN + 1)
		return -ENOSPC;
	raw[0] = 1;
	memcpy(raw + 1, tls_pin, COORD_TLS_PIN_LEN);
	memcpy(raw + 1 + COORD_TLS_PIN_LEN, server_pub, COORD_KEY_LEN);
	memcpy(raw + 1 + COORD_TLS_PIN_LEN + COORD_KEY_LEN, secret, COORD_PINNED_SECRET_LEN);
	memcpy(buf, prefix, plen);
	r = coord_b64_encode(buf + plen, size - plen, raw, sizeof(raw), 1);
	crypto_wipe(raw, sizeof(raw));
	return r;
}

int coord_pinned_token_decode(const char *prefix, const char *text, uint8_t tls_pin[COORD_TLS_PIN_LEN],
			      uint8_t server_pub[COORD_KEY_LEN], uint8_t secret[COORD_PINNED_SECRET_LEN])
{
	uint8_t raw[COORD_TOKEN_RAW_LEN];
	const size_t plen = strlen(prefix);
	int r = -EINVAL;

	if (!text || strlen(text) != plen + COORD_TOKEN_B64_LEN || strncmp(text, prefix, plen) != 0)
		return -EINVAL;
	if (coord_b64_decode(raw, sizeof(raw), text + plen, COORD_TOKEN_B64_LEN, 1) < 0)
		goto out;
	if (raw[0] != 1) {
		r = -EPROTONOSUPPORT;
		goto out;
	}
	memcpy(tls_pin, raw + 1, COORD_TLS_PIN_LEN);
	memcpy(server_pub, raw + 1 + COORD_TLS_PIN_LEN, COORD_KEY_LEN);
	memcpy(secret, raw + 1 + COORD_TLS_PIN_LEN + COORD_KEY_LEN, COORD_PINNED_SECRET_LEN);
	r = 0;
out:
	crypto_wipe(raw, sizeof(raw));
	return r;
}

int coord_token_encode(const struct coord_token *t, char *buf, size_t size)
{
	return coord_pinned_token_encode(COORD_TOKEN_PREFIX, t->tls_pin, t->server_pub, t->preauth_key, buf, size);
}

int coord_token_decode(const char *text, struct coord_token *out)
{
	return coord_pinned_token_decode(COORD_TOKEN_PREFIX, text, out->tls_pin, out->server_pub, out->preauth_key);
}
