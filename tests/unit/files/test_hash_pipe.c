/* daemon/files/hash_pipe.c: bytes handed to the hash thread in buffers of
 * every length (none, one byte, a whole MiB, odd sizes; many more than its
 * slots) hash to what one pass over the same bytes gives. */
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "daemon/files/hash_pipe.h"
#include "files/files.h"

static void run(const size_t *lens, size_t n, uint32_t seed)
{
	crypto_generichash_state direct, piped;
	uint8_t want[FILES_HASH_LEN], got[FILES_HASH_LEN];
	struct hash_pipe hp;
	crypto_generichash_init(&direct, NULL, 0, FILES_HASH_LEN);
	crypto_generichash_init(&piped, NULL, 0, FILES_HASH_LEN);
	CHECK_EQ(hash_pipe_start(&hp, &piped), 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t *b = hash_pipe_buffer(&hp);
		CHECK(b != NULL);
		for (size_t k = 0; k < lens[i]; k++) {
			seed = seed * 1103515245u + 12345u;
			b[k] = (uint8_t)(seed >> 16);
		}
		crypto_generichash_update(&direct, b, lens[i]);
		hash_pipe_push(&hp, lens[i]);
	}
	hash_pipe_stop(&hp);
	crypto_generichash_final(&direct, want, sizeof(want));
	crypto_generichash_final(&piped, got, sizeof(got));
	CHECK_MEM(got, want, sizeof(want));
}

int main(void)
{
	static const size_t none[] = { 0 }, mixed[] = { 1, HASH_PIPE_CHUNK, 0, 4095, 65536, HASH_PIPE_CHUNK, 7, 3 };
	size_t many[3 * HASH_PIPE_SLOTS + 1];
	if (sodium_init() < 0)
		return 1;
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		many[i] = (i * 40503u) % HASH_PIPE_CHUNK + 1;
	run(none, 0, 1);
	run(none, 1, 2);
	run(mixed, sizeof(mixed) / sizeof(mixed[0]), 3);
	run(many, sizeof(many) / sizeof(many[0]), 4);
	/* Stopped with nothing handed over: nothing to join twice, no leak. */
	struct hash_pipe hp;
	crypto_generichash_state hs;
	crypto_generichash_init(&hs, NULL, 0, FILES_HASH_LEN);
	CHECK_EQ(hash_pipe_start(&hp, &hs), 0);
	hash_pipe_stop(&hp);
	hash_pipe_stop(&hp);
	return check_report("test_hash_pipe");
}
