/* Fuzzes the Roam-Auth header parser and the join-token decoder
 * (lib/coord/auth.c, token.c): both take text straight from the network or
 * a user's paste. Accepted input must round-trip. Also the replies' proofs
 * a node behind a TLS-intercepting proxy checks (Roam-Server-Auth, a
 * stream's mac line): there the input is the proxy's. */
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/token.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t k[COORD_KEY_LEN] = { 9 };
	char text[512], again[COORD_AUTH_HEADER_MAX];
	struct coord_auth a;
	struct coord_token t;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (coord_auth_parse(text, &a) == 0) {
		(void)coord_auth_verify(&a, k, "POST", "/v1/register", data, size, a.ts);
		if (coord_auth_build(again, sizeof(again), k, a.node_pub, "GET", "/", a.ts, a.nonce, NULL, 0) < 0)
			abort();
	}
	static const uint8_t nonce[COORD_AUTH_NONCE_LEN] = { 3 };
	(void)coord_reply_auth_verify(text, k, nonce, 200, "", 0);
	(void)coord_line_mac_verify(text, size, k, nonce, 0, "{\"type\":\"ping\"}", 15);
	if (coord_token_decode(text, &t) == 0) {
		char enc[COORD_TOKEN_STRLEN + 1];
		if (coord_token_encode(&t, enc, sizeof(enc)) < 0 || strcmp(enc, text) != 0)
			abort();
	}
	return 0;
}
