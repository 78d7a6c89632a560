#include "server/reply_auth.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"

/* The key the proofs are made with: K, or in test builds with
 * ROAM_TEST_SERVER_FORGE_PROOF=all (or =lines: stream lines only) another
 * one, as a proxy forging answers would (t_relay_intercept: the node must
 * refuse them). */
static const uint8_t *proof_key(const struct reply_auth *ra, uint8_t forged[COORD_KEY_LEN], bool line)
{
#ifdef ROAM_TEST_HOOKS
	const char *forge = getenv("ROAM_TEST_SERVER_FORGE_PROOF");
	if (forge && (strcmp(forge, "all") == 0 || (line && strcmp(forge, "lines") == 0))) {
		memcpy(forged, ra->k, COORD_KEY_LEN);
		forged[0] ^= 1;
		return forged;
	}
#else
	(void)forged;
	(void)line;
#endif
	return ra->k;
}

int reply_auth_value(char *buf, size_t size, const struct reply_auth *ra, int status, const char *body,
		     size_t body_len)
{
	uint8_t forged[COORD_KEY_LEN];

	return coord_reply_auth_build(buf, size, proof_key(ra, forged, false), ra->nonce, status, body, body_len);
}

void reply_auth_header_line(char *buf, size_t size, const struct reply_auth *ra, int status, const char *body,
			    size_t body_len)
{
	char value[COORD_SERVER_AUTH_MAX];

	if (size)
		buf[0] = '\0';
	if (!ra || !ra->on || reply_auth_value(value, sizeof(value), ra, status, body, body_len) < 0)
		return;
	if ((size_t)snprintf(buf, size, "%s: %s\r\n", COORD_SERVER_AUTH_HEADER, value) >= size && size)
		buf[0] = '\0';
}

int reply_auth_line(struct reply_auth *ra, char *buf, size_t size, const char *line, size_t line_len)
{
	uint8_t forged[COORD_KEY_LEN];

	return coord_line_mac_build(buf, size, proof_key(ra, forged, true), ra->nonce, ra->seq++, line, line_len);
}
