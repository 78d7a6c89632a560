/* Data-path ChaCha20-Poly1305 through OpenSSL's EVP interface. OpenSSL's
 * AVX-512/AVX2 assembly is the fastest implementation packaged by Debian on
 * our machines (bench/crypto_bench prints the comparison with libsodium). */
#include "crypto/crypto.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <string.h>

int aead_ctx_init(struct aead_ctx *a, const uint8_t key[CRYPTO_KEY_LEN], int encrypt)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, NULL, encrypt ? 1 : 0) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return -EIO;
	}
	a->evp = ctx;
	return 0;
}

void aead_ctx_free(struct aead_ctx *a)
{
	if (!a || !a->evp)
		return;
	/* EVP_CIPHER_CTX_free cleanses the key schedule. */
	EVP_CIPHER_CTX_free(a->evp);
	a->evp = NULL;
}

static int aead_ctx_set_nonce(EVP_CIPHER_CTX *ctx, uint64_t counter)
{
	uint8_t nonce[12] = { 0 };
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
	return EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, -1) == 1 ? 0 : -EIO;
}

int aead_ctx_seal(struct aead_ctx *a, uint64_t counter, const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = a->evp;
	int outl = 0, finl = 0;

	if (len > INT_MAX || aead_ctx_set_nonce(ctx, counter) < 0)
		return -EIO;
	if (len && EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1)
		return -EIO;
	if (EVP_CipherFinal_ex(ctx, out + outl, &finl) != 1)
		return -EIO;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, CRYPTO_TAG_LEN, out + len) != 1)
		return -EIO;
	return 0;
}

int aead_ctx_open(struct aead_ctx *a, uint64_t counter, const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = a->evp;
	uint8_t tag[CRYPTO_TAG_LEN];
	int outl = 0, finl = 0;

	if (len < CRYPTO_TAG_LEN || len > INT_MAX)
		return -EBADMSG;
	len -= CRYPTO_TAG_LEN;
	memcpy(tag, in + len, CRYPTO_TAG_LEN); /* in may alias out */
	if (aead_ctx_set_nonce(ctx, counter) < 0)
		return -EIO;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, CRYPTO_TAG_LEN, tag) != 1)
		return -EIO;
	if (len && EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1)
		return -EBADMSG;
	if (EVP_CipherFinal_ex(ctx, out + outl, &finl) != 1)
		return -EBADMSG;
	return 0;
}
