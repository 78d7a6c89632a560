/* The fixed key pairs the fuzz_file_* targets and their corpora use
 * (tests/unit/files/test_files.c --corpus writes the seeds with the same):
 * alice (secret 0x11...) sends or publishes, bob (0x22...) receives. */
#ifndef ROAM_FUZZ_FILE_KEYS_H
#define ROAM_FUZZ_FILE_KEYS_H

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "files/files.h"

/* Returns 1 the first time (keys just made), 0 after. */
static inline int fuzz_file_keys(struct files_keypair *alice, struct files_keypair *bob)
{
	uint8_t sec[FILES_KEY_LEN];

	if (bob->pub[0] || bob->pub[1])
		return 0;
	if (crypto_init() < 0)
		abort();
	memset(sec, 0x11, sizeof(sec));
	if (files_keypair_from_secret(alice, sec) < 0)
		abort();
	memset(sec, 0x22, sizeof(sec));
	if (files_keypair_from_secret(bob, sec) < 0)
		abort();
	return 1;
}

#endif
