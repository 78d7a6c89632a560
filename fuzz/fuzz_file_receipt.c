/* Fuzzes the delivery receipt (lib/files/receipt.c) as alice, the sender,
 * meets it from the server: the clear fields, then the MAC for the file id
 * it names and the plaintext hash alice holds. A receipt that verifies is
 * exactly what bob would build. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "files/files.h"
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_file_keys.h"

static struct files_keypair alice, bob;
static uint8_t hash[FILES_HASH_LEN];

static void keys_once(void)
{
	if (fuzz_file_keys(&alice, &bob))
		crypto_generichash(hash, sizeof(hash), NULL, 0, NULL, 0); /* the corpus' empty file */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t id[FILES_ID_LEN], s[FILES_KEY_LEN], r[FILES_KEY_LEN], again[FILES_RECEIPT_LEN];

	keys_once();
	if (files_receipt_peek(data, size, id, s, r) < 0) {
		if (files_receipt_verify(data, size, &alice, bob.pub, id, hash) == 0)
			abort();
		return 0;
	}
	if (size != FILES_RECEIPT_LEN)
		abort();
	if (files_receipt_verify(data, size, &alice, bob.pub, id, hash) == 0 &&
	    (files_receipt_build(again, &bob, alice.pub, id, hash) < 0 || memcmp(again, data, size) != 0))
		abort();
	/* a receipt never verifies for the other direction */
	if (files_receipt_verify(data, size, &bob, alice.pub, id, hash) == 0)
		abort();
	return 0;
}
