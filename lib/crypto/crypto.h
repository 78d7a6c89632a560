/* The cryptographic primitives of the WireGuard protocol, all from libraries
 * packaged by Debian (see docs/dependencies.md for why each one):
 *   X25519, XChaCha20-Poly1305, constant-time compare, wipe, RNG: libsodium
 *   BLAKE2s (hash, keyed MAC, and HMAC built on it per RFC 2104): libb2
 *   ChaCha20-Poly1305 on the data path: OpenSSL 3 (fastest here, bench/crypto)
 * Nothing in this module allocates except aead_ctx_init(). */
#ifndef ROAM_CRYPTO_CRYPTO_H
#define ROAM_CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN 32
#define CRYPTO_HASH_LEN 32
#define CRYPTO_MAC_LEN 16
#define CRYPTO_TAG_LEN 16
#define CRYPTO_XNONCE_LEN 24

int crypto_init(void); /* once per process: 0 or -EIO */

/* Keys as text: standard base64 with padding, 44 characters, as wg(8)
 * writes them. Decoding accepts only the one canonical spelling of a key
 * (no stray bits in the last character), so one key has one text. */
#define CRYPTO_KEY_B64_LEN 44
void crypto_key_to_base64(char out[CRYPTO_KEY_B64_LEN + 1], const uint8_t key[32]);
int crypto_key_from_base64(uint8_t key[32], const char *text); /* 0 or -EINVAL */

void crypto_random(void *buf, size_t len);
void crypto_wipe(void *buf, size_t len);
int crypto_equal(const void *a, const void *b, size_t len); /* constant time; 1 if equal */
int crypto_is_zero(const void *buf, size_t len);            /* constant time */

/* X25519 (RFC 7748). x25519_shared() fails with -EINVAL when the result is
 * all zero (a low-order point), as the Noise spec allows and WireGuard does. */
void x25519_clamp(uint8_t key[CRYPTO_KEY_LEN]);
int x25519_public(uint8_t pub[CRYPTO_KEY_LEN], const uint8_t priv[CRYPTO_KEY_LEN]);
int x25519_shared(uint8_t out[CRYPTO_KEY_LEN], const uint8_t priv[CRYPTO_KEY_LEN],
		  const uint8_t pub[CRYPTO_KEY_LEN]);

/* BLAKE2s: HASH(a || b), MAC(key, in) with 16-byte output, HMAC-BLAKE2s. */
void blake2s_hash2(uint8_t out[CRYPTO_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen);
void blake2s_mac(uint8_t out[CRYPTO_MAC_LEN], const uint8_t *key, size_t keylen, const void *in, size_t len);
void hmac_blake2s(uint8_t out[CRYPTO_HASH_LEN], const uint8_t *key, size_t keylen, const void *in, size_t len);

/* Noise KDF_n (WireGuard paper 5.4): derives up to three 32-byte keys from the
 * chaining key and input. Any of out2/out3 may be NULL. */
void noise_kdf(uint8_t out1[CRYPTO_HASH_LEN], uint8_t *out2, uint8_t *out3,
	       const uint8_t chaining_key[CRYPTO_HASH_LEN], const void *in, size_t len);

/* One-shot ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 32 zero bits
 * then the little-endian 64-bit counter. For handshake messages. */
void aead_seal(uint8_t *out, const uint8_t key[CRYPTO_KEY_LEN], uint64_t counter,
	       const void *plain, size_t len, const void *ad, size_t adlen);
int aead_open(uint8_t *out, const uint8_t key[CRYPTO_KEY_LEN], uint64_t counter,
	      const void *sealed, size_t len, const void *ad, size_t adlen); /* -EBADMSG */

/* XChaCha20-Poly1305 for cookie replies. */
void xaead_seal(uint8_t *out, const uint8_t key[CRYPTO_KEY_LEN], const uint8_t nonce[CRYPTO_XNONCE_LEN],
		const void *plain, size_t len, const void *ad, size_t adlen);
int xaead_open(uint8_t *out, const uint8_t key[CRYPTO_KEY_LEN], const uint8_t nonce[CRYPTO_XNONCE_LEN],
	       const void *sealed, size_t len, const void *ad, size_t adlen);

/* A keyed ChaCha20-Poly1305 context for the data path: the key schedule is
 * done once per session key, each packet only sets the nonce. One context
 * per direction; not shared between threads. In-place operation allowed. */
struct aead_ctx {
	void *evp; /* EVP_CIPHER_CTX, opaque here to keep OpenSSL headers out */
};
int aead_ctx_init(struct aead_ctx *a, const uint8_t key[CRYPTO_KEY_LEN], int encrypt); /* -ENOMEM/-EIO */
void aead_ctx_free(struct aead_ctx *a);
int aead_ctx_seal(struct aead_ctx *a, uint64_t counter, const uint8_t *in, size_t len, uint8_t *out);
int aead_ctx_open(struct aead_ctx *a, uint64_t counter, const uint8_t *in, size_t len, uint8_t *out);

#endif
