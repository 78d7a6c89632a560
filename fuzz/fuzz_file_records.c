/* Fuzzes the encrypted file decryptor (lib/files) as a recipient meets it:
 * a whole file from the server's cache, header then records, for bob from
 * alice. Each input is tried as it came and with its header's keys and MAC
 * fixed up (so the sealed key and the stream are reached), and also as a
 * saved resume state. Whatever decrypts to the end must hash to what its
 * metadata record says and fill exactly the size its header gives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "files/files.h"
#include "files/stream_internal.h"
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_file_keys.h"

static struct files_keypair alice, bob;
static uint8_t real_header[FILES_HEADER_LEN];
static uint8_t out[FILES_CHUNK_MAX];

static void keys_once(void)
{
	struct files_meta m;
	struct files_enc e;

	if (!fuzz_file_keys(&alice, &bob))
		return;
	memset(&m, 0, sizeof(m));
	strcpy(m.name, "f");
	m.size = 5000;
	if (files_enc_init(&e, real_header, &alice, bob.pub, &m, 1024) < 0)
		abort();
	files_enc_wipe(&e);
}

static void check_stream(const uint8_t *buf, size_t len)
{
	crypto_generichash_state hs;
	uint8_t hash[FILES_HASH_LEN];
	struct files_header h;
	struct files_dec d;
	uint64_t total = 0, off, got = 0;
	size_t rl, n;
	int parsed = files_header_parse(buf, len < FILES_HEADER_LEN ? len : FILES_HEADER_LEN, &h) == 0;

	if (files_dec_init(&d, buf, len < FILES_HEADER_LEN ? len : FILES_HEADER_LEN, &bob, alice.pub) < 0)
		return;
	if (!parsed || files_encrypted_size(h.chunk_size, h.total_size, &total) < 0)
		abort(); /* what verifies, parses */
	crypto_generichash_init(&hs, NULL, 0, FILES_HASH_LEN);
	for (uint32_t i = 0; i <= h.chunk_count; i++) {
		if (files_record_span(&h, i, &off, &rl) < 0 || rl > sizeof(out) + FILES_ABYTES || off + rl > len ||
		    files_dec_record(&d, buf + off, rl, out, &n) < 0)
			break;
		if ((i == 0 && n != 0) || (i > 0 && n != rl - FILES_ABYTES))
			abort();
		crypto_generichash_update(&hs, out, n);
		got += n;
	}
	crypto_generichash_final(&hs, hash, sizeof(hash));
	if (files_dec_done(&d) &&
	    (!files_dec_meta(&d) || got != h.total_size || memcmp(hash, files_dec_meta(&d)->hash, FILES_HASH_LEN) != 0))
		abort();
	files_dec_wipe(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[4u << 20];
	struct files_dec d;

	keys_once();
	check_stream(data, size);
	/* a saved state is MACed: none made by the fuzzer restores */
	if (files_dec_restore(&d, real_header, sizeof(real_header), &bob, alice.pub, data, size) == 0)
		abort();
	if (size < FILES_HEADER_LEN || size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	memcpy(buf + FH_SENDER, alice.pub, FILES_KEY_LEN);
	memcpy(buf + FH_RECIPIENT, bob.pub, FILES_KEY_LEN);
	if (files_header_mac(buf + FH_MAC, buf, alice.sec, bob.pub) < 0)
		abort();
	check_stream(buf, size);
	return 0;
}
