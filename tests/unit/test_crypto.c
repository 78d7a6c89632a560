/* Known-answer tests for the primitives, from their RFCs, plus a
 * cross-check of the two ChaCha20-Poly1305 implementations we use. */
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "crypto/crypto.h"
#include "wg/noise.h"

static void test_blake2s(void)
{
	/* RFC 7693 appendix B: BLAKE2s-256("abc"). */
	uint8_t out[32], want[32];
	check_hex(want, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	blake2s_hash2(out, "ab", 2, "c", 1);
	CHECK_MEM(out, want, 32);
}

static void test_x25519(void)
{
	/* RFC 7748 section 6.1. */
	uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32], shared[32], want[32], out[32];
	check_hex(a_priv, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	check_hex(a_pub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	check_hex(b_priv, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	check_hex(b_pub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	check_hex(shared, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	CHECK_EQ(x25519_public(out, a_priv), 0);
	CHECK_MEM(out, a_pub, 32);
	CHECK_EQ(x25519_public(out, b_priv), 0);
	CHECK_MEM(out, b_pub, 32);
	CHECK_EQ(x25519_shared(out, a_priv, b_pub), 0);
	CHECK_MEM(out, shared, 32);
	CHECK_EQ(x25519_shared(out, b_priv, a_pub), 0);
	CHECK_MEM(out, shared, 32);
	/* A low-order point must be refused (all-zero shared secret). */
	memset(want, 0, sizeof(want));
	CHECK(x25519_shared(out, a_priv, want) < 0);
}

static void test_aead_rfc8439(void)
{
	/* RFC 8439 appendix A.5: its nonce starts with 32 zero bits, exactly
	 * WireGuard's layout, with counter 0x0807060504030201. */
	static const char *pt_hex =
		"496e7465726e65742d4472616674732061726520647261667420646f63756d656e74732076616c6964"
		"20666f722061206d6178696d756d206f6620736978206d6f6e74687320616e64206d61792062652075"
		"7064617465642c207265706c616365642c206f72206f62736f6c65746564206279206f746865722064"
		"6f63756d656e747320617420616e792074696d652e20497420697320696e617070726f707269617465"
		"20746f2075736520496e7465726e65742d447261667473206173207265666572656e6365206d617465"
		"7269616c206f7220746f2063697465207468656d206f74686572207468616e206173202fe2809c776f"
		"726b20696e2070726f67726573732e2fe2809d";
	static const char *ct_hex =
		"64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea0"
		"9ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad"
		"176e008d33bd60f982b1ff37c8559797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f615"
		"7b53c867e4b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7"
		"f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a0bb2316053fa76991955ebd631"
		"59434ecebb4e466dae5a1073a6727627097a1049e617d91d361094fa68f0ff77987130305beaba2eda"
		"04df997b714d6c6f2c29a6ad5cb4022b02709b";
	uint8_t key[32], ad[12], pt[265], ct[265 + 16], out[265 + 16];
	check_hex(key, 32, "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
	check_hex(ad, 12, "f33388860000000000004e91");
	CHECK_EQ(check_hex(pt, sizeof(pt), pt_hex), 0);
	CHECK_EQ(check_hex(ct, 265, ct_hex), 0);
	check_hex(ct + 265, 16, "eead9d67890cbb22392336fea1851f38");
	uint64_t counter = 0x0807060504030201ULL;

	aead_seal(out, key, counter, pt, sizeof(pt), ad, sizeof(ad));
	CHECK_MEM(out, ct, sizeof(ct));
	CHECK_EQ(aead_open(out, key, counter, ct, sizeof(ct), ad, sizeof(ad)), 0);
	CHECK_MEM(out, pt, sizeof(pt));
	ct[7] ^= 1;
	CHECK(aead_open(out, key, counter, ct, sizeof(ct), ad, sizeof(ad)) < 0);
}

/* OpenSSL (data path) and libsodium (handshake) must agree bit for bit. */
static void test_aead_ctx_matches_oneshot(void)
{
	uint8_t key[32], buf[1500 + 16], ref[1500 + 16];
	struct aead_ctx enc = { 0 }, dec = { 0 };
	crypto_random(key, sizeof(key));
	CHECK_EQ(aead_ctx_init(&enc, key, 1), 0);
	CHECK_EQ(aead_ctx_init(&dec, key, 0), 0);
	static const size_t lens[] = { 0, 1, 15, 16, 17, 64, 1420, 1500 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];
		uint64_t counter = 1000 + i;
		crypto_random(buf, len);
		aead_seal(ref, key, counter, buf, len, NULL, 0);
		CHECK_EQ(aead_ctx_seal(&enc, counter, buf, len, buf), 0); /* in place */
		CHECK_MEM(buf, ref, len + 16);
		CHECK_EQ(aead_ctx_open(&dec, counter, buf, len + 16, buf), 0);
		CHECK_EQ(aead_ctx_open(&dec, counter + 1, ref, len + 16, buf), -EBADMSG);
	}
	aead_ctx_free(&enc);
	aead_ctx_free(&dec);
	aead_ctx_free(&enc); /* idempotent */
}

static void test_xaead(void)
{
	uint8_t key[32], nonce[24], out[16 + 16], back[16];
	const uint8_t cookie[16] = "0123456789abcdef";
	crypto_random(key, sizeof(key));
	crypto_random(nonce, sizeof(nonce));
	xaead_seal(out, key, nonce, cookie, 16, "mac1mac1mac1mac1", 16);
	CHECK_EQ(xaead_open(back, key, nonce, out, sizeof(out), "mac1mac1mac1mac1", 16), 0);
	CHECK_MEM(back, cookie, 16);
	CHECK(xaead_open(back, key, nonce, out, sizeof(out), "mac1mac1mac1mac2", 16) < 0);
}

static void test_hmac_kdf(void)
{
	/* HMAC's structure: with a key longer than a block it must equal HMAC
	 * with BLAKE2s(key), and KDF outputs must differ and be deterministic. */
	uint8_t long_key[100], hashed[32], a[32], b[32], k1[32], k2[32], k3[32], j1[32];
	memset(long_key, 0x42, sizeof(long_key));
	blake2s_hash2(hashed, long_key, sizeof(long_key), NULL, 0);
	hmac_blake2s(a, long_key, sizeof(long_key), "msg", 3);
	hmac_blake2s(b, hashed, sizeof(hashed), "msg", 3);
	CHECK_MEM(a, b, 32);
	noise_kdf(k1, k2, k3, a, "in", 2);
	noise_kdf(j1, NULL, NULL, a, "in", 2);
	CHECK_MEM(k1, j1, 32);
	CHECK(memcmp(k1, k2, 32) != 0 && memcmp(k2, k3, 32) != 0);
}

/* The written-out handshake constants match their definition. */
static void test_noise_constants(void)
{
	uint8_t ck[32], h[32];
	blake2s_hash2(ck, WG_CONSTRUCTION, strlen(WG_CONSTRUCTION), NULL, 0);
	blake2s_hash2(h, ck, 32, WG_IDENTIFIER, strlen(WG_IDENTIFIER));
	CHECK_MEM(ck, noise_initial_chaining_key, 32);
	CHECK_MEM(h, noise_initial_hash, 32);
}

int main(void)
{
	if (crypto_init() < 0)
		return 1;
	test_blake2s();
	test_x25519();
	test_aead_rfc8439();
	test_aead_ctx_matches_oneshot();
	test_xaead();
	test_hmac_kdf();
	test_noise_constants();
	return check_report("test_crypto");
}
