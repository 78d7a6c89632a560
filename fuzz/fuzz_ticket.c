/* Fuzzes relay tickets (lib/coord/ticket.c), what a relay-only server reads
 * from RELAY_BIND and Roam-Ticket: a ticket either parses (and then builds
 * back, signed with the same fixed key, to a ticket that parses to the
 * same fields; when the input also verifies, to the very same bytes:
 * Ed25519 is deterministic) or is refused with -EPROTO; verify never
 * accepts what parse refuses. The corpus is signed with the fixed key
 * (seed of 32 bytes 0x5a).
 *
 * The same bytes also go through relay_bind_parse/verify (RELAY_BIND, a
 * relay's UDP input): a parse that succeeds must point inside the input.
 *
 * Input: the ticket (or a RELAY_BIND). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "coord/ticket.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pub[TICKET_PUB_LEN], sec[TICKET_SECRET_LEN];
	static bool keyed;
	uint8_t out[TICKET_LEN_MAX];
	struct ticket t, back, v;

	if (!keyed) {
		uint8_t seed[crypto_sign_SEEDBYTES];
		memset(seed, 0x5a, sizeof(seed));
		if (sodium_init() < 0 || crypto_sign_seed_keypair(pub, sec, seed) != 0)
			abort();
		keyed = true;
	}
	const uint8_t *tk;
	size_t tk_len;
	uint32_t id;
	uint64_t ts;
	if (relay_bind_parse(data, size, &id, &ts, &tk, &tk_len) == 0 &&
	    (tk != data + RELAY_BIND_HDR_LEN || tk_len + RELAY_BIND_HDR_LEN + 16 != size ||
	     relay_bind_verify(data, size, pub) == 1))
		abort();
	int rp = ticket_parse(data, size, &t);
	int rv = ticket_verify(data, size, pub, 0, &v);
	if (rp < 0) {
		if (rp != -EPROTO || rv != rp)
			abort();
		return 0;
	}
	if (rv != 0 && rv != -EBADMSG && rv != -ETIMEDOUT)
		abort();
	int n = ticket_build(&t, sec, out, sizeof(out));
	if (n != (int)size || ticket_parse(out, (size_t)n, &back) != 0 || memcmp(&back, &t, sizeof(t)) != 0)
		abort();
	if (rv == 0 && memcmp(out, data, size) != 0)
		abort();
	if (ticket_share_group(&t, &t) != (t.group_count > 0))
		abort();
	return 0;
}
