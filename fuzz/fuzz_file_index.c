/* Fuzzes the PUBLISH index parsers (lib/files/index.c): the input is tried
 * as a sealed index bob opens from alice, and as a decrypted body. A body
 * that walks to its end encodes back to the very same bytes, and sealed
 * again to bob it opens to them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "files/files.h"
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_file_keys.h"

static struct files_keypair alice, bob;
static struct files_index_entry entries[FILES_INDEX_MAX_ENTRIES];
static uint8_t again[FILES_INDEX_BODY_MAX], sealed[FILES_INDEX_BODY_MAX + 1024], body[FILES_INDEX_BODY_MAX];


static void check_body(const uint8_t *data, size_t size)
{
	const uint8_t(*members)[FILES_KEY_LEN] = (const uint8_t(*)[FILES_KEY_LEN])bob.pub;
	struct files_index_iter it;
	size_t n = 0, len, slen, blen;
	uint64_t seq;
	int r;

	if (files_index_iter_init(&it, data, size) < 0)
		return;
	while ((r = files_index_next(&it, &entries[n])) == 1)
		if (++n > FILES_INDEX_MAX_ENTRIES)
			abort();
	if (r < 0)
		return;
	if (files_index_body_len(entries, n, &len) < 0 || len != size || files_index_body_put(again, len, entries, n) < 0 ||
	    memcmp(again, data, size) != 0)
		abort();
	if (files_index_sealed_len(1, size, &slen) < 0 || slen > sizeof(sealed) ||
	    files_index_seal(sealed, slen, &alice, 1, members, 1, data, size) < 0 ||
	    files_index_open(sealed, slen, &bob, alice.pub, &seq, body, sizeof(body), &blen) < 0 || blen != size ||
	    memcmp(body, data, size) != 0 || seq != 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t blen = 0;
	uint64_t seq;

	fuzz_file_keys(&alice, &bob);
	if (files_index_open(data, size, &bob, alice.pub, &seq, body, sizeof(body), &blen) == 0)
		check_body(body, blen);
	check_body(data, size);
	return 0;
}
