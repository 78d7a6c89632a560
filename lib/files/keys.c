/* File key pairs and the pairwise keys derived from them. */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "files/files_internal.h"

void files_keypair_generate(struct files_keypair *kp)
{
	crypto_box_keypair(kp->pub, kp->sec);
}

int files_keypair_from_secret(struct files_keypair *kp, const uint8_t sec[FILES_KEY_LEN])
{
	uint8_t pub[FILES_KEY_LEN];

	if (crypto_scalarmult_base(pub, sec) != 0 || crypto_is_zero(pub, sizeof(pub)))
		return -EINVAL;
	memcpy(kp->pub, pub, sizeof(pub));
	memmove(kp->sec, sec, FILES_KEY_LEN);
	return 0;
}

void files_keypair_wipe(struct files_keypair *kp)
{
	if (kp)
		crypto_wipe(kp, sizeof(*kp));
}

int files_pair_key(uint8_t out[FILES_KEY_LEN], const uint8_t self_sec[FILES_KEY_LEN],
		   const uint8_t peer_pub[FILES_KEY_LEN], const char *label, const uint8_t first[FILES_KEY_LEN],
		   const uint8_t second[FILES_KEY_LEN])
{
	uint8_t shared[crypto_scalarmult_BYTES];
	crypto_generichash_state st;
	int r = -EINVAL;

	/* libsodium refuses an all-zero result (a low-order peer key) */
	if (crypto_scalarmult(shared, self_sec, peer_pub) != 0)
		goto out;
	crypto_generichash_init(&st, shared, sizeof(shared), FILES_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, first, FILES_KEY_LEN);
	crypto_generichash_update(&st, second, FILES_KEY_LEN);
	crypto_generichash_final(&st, out, FILES_KEY_LEN);
	r = 0;
out:
	crypto_wipe(shared, sizeof(shared));
	crypto_wipe(&st, sizeof(st));
	return r;
}
