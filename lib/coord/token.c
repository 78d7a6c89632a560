#include "coord/token.h"

#include <errno.h>
#include <string.h>

#include "coord/auth.h"
#include "crypto/crypto.h"

int coord_token_encode(const struct coord_token *t, char *buf, size_t size)
{
	uint8_t raw[COORD_TOKEN_RAW_LEN];
	const size_t plen = sizeof(COORD_TOKEN_PREFIX) - 1;
	int r;

	if (size < COORD_TOKEN_STRLEN + 1)
		return -ENOSPC;
	raw[0] = 1;
	memcpy(raw + 1, t->tls_pin, COORD_TLS_PIN_LEN);
	memcpy(raw + 33, t->server_pub, COORD_KEY_LEN);
	memcpy(raw + 65, t->preauth_key, COORD_PREAUTH_KEY_LEN);
	memcpy(buf, COORD_TOKEN_PREFIX, plen);
	r = coord_b64_encode(buf + plen, size - plen, raw, sizeof(raw), 1);
	crypto_wipe(raw, sizeof(raw));
	return r;
}

int coord_token_decode(const char *text, struct coord_token *out)
{
	uint8_t raw[COORD_TOKEN_RAW_LEN];
	const size_t plen = sizeof(COORD_TOKEN_PREFIX) - 1;
	int r = -EINVAL;

	if (!text || strlen(text) != COORD_TOKEN_STRLEN || strncmp(text, COORD_TOKEN_PREFIX, plen) != 0)
		return -EINVAL;
	if (coord_b64_decode(raw, sizeof(raw), text + plen, COORD_TOKEN_STRLEN - plen, 1) < 0)
		goto out;
	if (raw[0] != 1) {
		r = -EPROTONOSUPPORT;
		goto out;
	}
	memcpy(out->tls_pin, raw + 1, COORD_TLS_PIN_LEN);
	memcpy(out->server_pub, raw + 33, COORD_KEY_LEN);
	memcpy(out->preauth_key, raw + 65, COORD_PREAUTH_KEY_LEN);
	r = 0;
out:
	crypto_wipe(raw, sizeof(raw));
	return r;
}
