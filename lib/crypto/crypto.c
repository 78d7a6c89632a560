#include "crypto/crypto.h"

#include <blake2.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#define BLAKE2S_BLOCK_LEN 64

int crypto_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

void crypto_key_to_base64(char out[CRYPTO_KEY_B64_LEN + 1], const uint8_t key[CRYPTO_KEY_LEN])
{
	sodium_bin2base64(out, CRYPTO_KEY_B64_LEN + 1, key, CRYPTO_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

int crypto_key_from_base64(uint8_t key[CRYPTO_KEY_LEN], const char *text)
{
	uint8_t tmp[CRYPTO_KEY_LEN];
	char check[CRYPTO_KEY_B64_LEN + 1];
	const char *end = NULL;
	size_t len = 0;
	int r = -EINVAL;

	if (strlen(text) != CRYPTO_KEY_B64_LEN)
		return -EINVAL;
	if (sodium_base642bin(tmp, sizeof(tmp), text, CRYPTO_KEY_B64_LEN, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != sizeof(tmp) || end != text + CRYPTO_KEY_B64_LEN)
		goto out;
	crypto_key_to_base64(check, tmp);
	if (strcmp(check, text) != 0)
		goto out;
	memcpy(key, tmp, sizeof(tmp));
	r = 0;
out:
	crypto_wipe(tmp, sizeof(tmp));
	crypto_wipe(check, sizeof(check));
	return r;
}

void crypto_random(void *buf, size_t len) { randombytes_buf(buf, len); }
void crypto_wipe(void *buf, size_t len) { sodium_memzero(buf, len); }
int crypto_equal(const void *a, const void *b, size_t len) { return sodium_memcmp(a, b, len) == 0; }
int crypto_is_zero(const void *buf, size_t len) { return sodium_is_zero(buf, len); }

void x25519_clamp(uint8_t key[CRYPTO_KEY_LEN])
{
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
}

int x25519_public(uint8_t pub[CRYPTO_KEY_LEN], const uint8_t priv[CRYPTO_KEY_LEN])
{
	return crypto_scalarmult_curve25519_base(pub, priv) == 0 ? 0 : -EINVAL;
}

int x25519_shared(uint8_t out[CRYPTO_KEY_LEN], const uint8_t priv[CRYPTO_KEY_LEN],
		  const uint8_t pub[CRYPTO_KEY_LEN])
{
	/* libsodium returns -1 when the shared point is all zero. */
	return crypto_scalarmult_curve25519(out, priv, pub) == 0 ? 0 : -EINVAL;
}

void blake2s_hash2(uint8_t out[CRYPTO_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen)
{
	blake2s_state s;
	blake2s_init(&s, CRYPTO_HASH_LEN);
	blake2s_update(&s, a, alen);
	if (blen)
		blake2s_update(&s, b, blen);
	blake2s_final(&s, out, CRYPTO_HASH_LEN);
	crypto_wipe(&s, sizeof(s));
}

void blake2s_mac(uint8_t out[CRYPTO_MAC_LEN], const uint8_t *key, size_t keylen, const void *in, size_t len)
{
	blake2s(out, in, key, CRYPTO_MAC_LEN, len, keylen);
}

/* RFC 2104 over BLAKE2s, as the WireGuard paper specifies (not BLAKE2s's
 * own keyed mode). Keys longer than a block are hashed first. */
void hmac_blake2s(uint8_t out[CRYPTO_HASH_LEN], const uint8_t *key, size_t keylen, const void *in, size_t len)
{
	uint8_t block[BLAKE2S_BLOCK_LEN] = { 0 };
	uint8_t inner[CRYPTO_HASH_LEN];
	blake2s_state s;

	if (keylen > BLAKE2S_BLOCK_LEN)
		blake2s(block, key, NULL, CRYPTO_HASH_LEN, keylen, 0);
	else
		memcpy(block, key, keylen);

	for (size_t i = 0; i < sizeof(block); i++)
		block[i] ^= 0x36;
	blake2s_init(&s, CRYPTO_HASH_LEN);
	blake2s_update(&s, block, sizeof(block));
	blake2s_update(&s, in, len);
	blake2s_final(&s, inner, sizeof(inner));

	for (size_t i = 0; i < sizeof(block); i++)
		block[i] ^= 0x36 ^ 0x5c;
	blake2s_init(&s, CRYPTO_HASH_LEN);
	blake2s_update(&s, block, sizeof(block));
	blake2s_update(&s, inner, sizeof(inner));
	blake2s_final(&s, out, CRYPTO_HASH_LEN);

	crypto_wipe(block, sizeof(block));
	crypto_wipe(inner, sizeof(inner));
	crypto_wipe(&s, sizeof(s));
}

void noise_kdf(uint8_t out1[CRYPTO_HASH_LEN], uint8_t *out2, uint8_t *out3,
	       const uint8_t chaining_key[CRYPTO_HASH_LEN], const void *in, size_t len)
{
	uint8_t secret[CRYPTO_HASH_LEN];
	uint8_t buf[CRYPTO_HASH_LEN + 1];

	hmac_blake2s(secret, chaining_key, CRYPTO_HASH_LEN, in, len);
	buf[0] = 1;
	hmac_blake2s(buf, secret, sizeof(secret), buf, 1);
	memcpy(out1, buf, CRYPTO_HASH_LEN);
	if (out2) {
		buf[CRYPTO_HASH_LEN] = 2;
		hmac_blake2s(buf, secret, sizeof(secret), buf, CRYPTO_HASH_LEN + 1);
		memcpy(out2, buf, CRYPTO_HASH_LEN);
	}
	if (out3) {
		buf[CRYPTO_HASH_LEN] = 3;
		hmac_blake2s(buf, secret, sizeof(secret), buf, CRYPTO_HASH_LEN + 1);
		memcpy(out3, buf, CRYPTO_HASH_LEN);
	}
	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(buf, sizeof(buf));
}

static void wg_nonce(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

void aead_seal(uint8_t *out, const uint8_t key[CRYPTO_KEY_LEN], uint64_t counter,
	       const void *plain, size_t len, const void *ad, size_t adlen)
{
	uint8_t nonce[12];
	wg_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, plain, len, ad, adlen, NULL, nonce, key);
}

int aead_open(uint8_t *out, const uint8_t key[CRYPTO_KEY_LEN], uint64_t counter,
	      const void *sealed, size_t len, const void *ad, size_t adlen)
{
	uint8_t nonce[12];
	if (len < CRYPTO_TAG_LEN)
		return -EBADMSG;
	wg_nonce(nonce, counter);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, sealed, len, ad, adlen, nonce, key) != 0)
		return -EBADMSG;
	return 0;
}

void xaead_seal(uint8_t *out, const uint8_t key[CRYPTO_KEY_LEN], const uint8_t nonce[CRYPTO_XNONCE_LEN],
		const void *plain, size_t len, const void *ad, size_t adlen)
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, plain, len, ad, adlen, NULL, nonce, key);
}

int xaead_open(uint8_t *out, const uint8_t key[CRYPTO_KEY_LEN], const uint8_t nonce[CRYPTO_XNONCE_LEN],
	       const void *sealed, size_t len, const void *ad, size_t adlen)
{
	if (len < CRYPTO_TAG_LEN)
		return -EBADMSG;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, sealed, len, ad, adlen, nonce, key) != 0)
		return -EBADMSG;
	return 0;
}
