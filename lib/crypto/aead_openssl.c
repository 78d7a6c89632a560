/* Data-path ChaCha20-Poly1305 through OpenSSL's EVP interface. OpenSSL's
 * AVX-512/AVX2 assembly is the fastest implementation packaged by Debian on
 * our machines (bench/crypto_bench prints the comparison with libsodium).
 *
 * The per-packet path is kept short because OpenSSL 3 makes per-call setup
 * expensive: EVP_chacha20_poly1305() fetches the provider implementation
 * implicitly, and EVP_CIPHER_CTX_ctrl() translates to an OSSL_PARAM call
 * through a switch and a parameter-name lookup. So: the cipher is fetched
 * once per process, the key is set once per context, a packet only sets the
 * IV (EVP_CipherInit_ex2 with NULL cipher and key keeps the key schedule),
 * and the tag travels through EVP_CIPHER_CTX_{get,set}_params directly with
 * a one-entry parameter array. */
#include "crypto/crypto.h"

#include <errno.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

static EVP_CIPHER *aead_cipher;
static pthread_once_t aead_cipher_once = PTHREAD_ONCE_INIT;

static void aead_cipher_fetch(void)
{
	/* Never freed: one per process, like OpenSSL's own built-in tables. */
	aead_cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

int aead_ctx_init(struct aead_ctx *a, const uint8_t key[CRYPTO_KEY_LEN], int encrypt)
{
	if (pthread_once(&aead_cipher_once, aead_cipher_fetch) != 0 || !aead_cipher)
		return -EIO;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_CipherInit_ex2(ctx, aead_cipher, key, NULL, encrypt ? 1 : 0, NULL) != 1) {
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
	return EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, -1, NULL) == 1 ? 0 : -EIO;
}

/* get != 0: read the computed tag into tag; else hand the expected tag in. */
static int aead_ctx_tag(EVP_CIPHER_CTX *ctx, uint8_t tag[CRYPTO_TAG_LEN], int get)
{
	OSSL_PARAM params[2] = {
		OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, CRYPTO_TAG_LEN),
		OSSL_PARAM_END,
	};
	int ok = get ? EVP_CIPHER_CTX_get_params(ctx, params) : EVP_CIPHER_CTX_set_params(ctx, params);
	return ok == 1 ? 0 : -EIO;
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
	return aead_ctx_tag(ctx, out + len, 1);
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
	if (aead_ctx_set_nonce(ctx, counter) < 0 || aead_ctx_tag(ctx, tag, 0) < 0)
		return -EIO;
	if (len && EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1)
		return -EBADMSG;
	if (EVP_CipherFinal_ex(ctx, out + outl, &finl) != 1)
		return -EBADMSG;
	return 0;
}
