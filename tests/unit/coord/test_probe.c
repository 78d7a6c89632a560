/* lib/coord/probe.c and ratelimit.c: path probe keys and messages against
 * frozen known answers (computed independently with Python's cryptography
 * and hashlib, see the comment at the vectors), round trips, every
 * malformed, forged, reflected, replayed, stale and late case, and the token
 * buckets with a fake clock. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "coord/probe.h"
#include "coord/ratelimit.h"
#include "coord/udp.h"
#include "coord/wire.h"
#include "crypto/crypto.h"

#define SEC UINT64_C(1000000000)

/* a = 01 02 .. 20, b = 21 22 .. 40 (private keys); txid a0 .. ab;
 * ts = 1765000000123456789 (PING), +1000 (PONG), +2000 (CALLME). Generated
 * by an independent script (X25519 from pyca/cryptography, HMAC-BLAKE2s and
 * BLAKE2s-128 from hashlib), then frozen. */
static const char kat_pub_a[] = "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c";
static const char kat_pub_b[] = "5869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67b";
static const char kat_key_ab[] = "33dbc7313aaaf727e220a1258a8d8a6e7ce63e7342ff4d84f170a9081b2f0ff4";
static const char kat_key_ba[] = "a297346e7750db19dffbf5fa07b2bed7941df53bd11f5b5b650949b78a5eb51f";
static const char kat_ping[] =
	"8500000007a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7ca0a1a2a3a4a5a6a7a8a9aaab"
	"154dec13268a7e18000000000000000000000000000000000000000067e2b6e819dbc7c92e646f4e8f8ce1f2";
static const char kat_pong[] =
	"860000005869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67ba0a1a2a3a4a5a6a7a8a9aaab"
	"fd50ec13268a7e180400419cc6336407000000000000000000000000c9199eff2123081f0b03d44c78ca9e50";
static const char kat_callme[] =
	"8700000007a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7ca0a1a2a3a4a5a6a7a8a9aaab"
	"e554ec13268a7e180200000004006cca0a01000b00000000000000000000000006006cca20010db800000000000000"
	"0000000001975ece85816399553155d46638603196";
static const uint64_t kat_ts = UINT64_C(1765000000123456789);

static struct coord_probe_keys ka, kb; /* a's view of (a, b), b's view */
static uint8_t txid[COORD_PROBE_TXID_LEN];

static struct sockaddr_any addr(const char *text)
{
	struct sockaddr_any a;

	memset(&a, 0, sizeof(a));
	if (sockaddr_any_parse(text, &a) < 0)
		abort();
	return a;
}

static void kat_setup(void)
{
	uint8_t a[32], b[32], pub_a[32], pub_b[32];

	for (int i = 0; i < 32; i++) {
		a[i] = (uint8_t)(1 + i);
		b[i] = (uint8_t)(33 + i);
	}
	for (int i = 0; i < COORD_PROBE_TXID_LEN; i++)
		txid[i] = (uint8_t)(0xa0 + i);
	CHECK_EQ(x25519_public(pub_a, a), 0);
	CHECK_EQ(x25519_public(pub_b, b), 0);
	CHECK_EQ(coord_probe_keys_derive(&ka, a, pub_b), 0);
	CHECK_EQ(coord_probe_keys_derive(&kb, b, pub_a), 0);
	crypto_wipe(a, sizeof(a));
	crypto_wipe(b, sizeof(b));
}

static void test_kat(void)
{
	uint8_t want[COORD_CALLME_MAX], got[COORD_CALLME_MAX];
	struct sockaddr_any eps[2] = { addr("10.1.0.11:51820"), addr("[2001:db8::1]:51820") };
	struct sockaddr_any seen = addr("198.51.100.7:40001");
	size_t len = 0;

	CHECK_EQ(check_hex(want, 32, kat_pub_a), 0);
	CHECK_MEM(ka.self_pub, want, 32);
	CHECK_MEM(kb.peer_pub, want, 32);
	CHECK_EQ(check_hex(want, 32, kat_pub_b), 0);
	CHECK_MEM(kb.self_pub, want, 32);
	CHECK_EQ(check_hex(want, 32, kat_key_ab), 0);
	CHECK_MEM(ka.tx, want, 32);
	CHECK_MEM(kb.rx, want, 32);
	CHECK_EQ(check_hex(want, 32, kat_key_ba), 0);
	CHECK_MEM(kb.tx, want, 32);
	CHECK_MEM(ka.rx, want, 32);
	/* the two directions differ */
	CHECK(memcmp(ka.tx, ka.rx, 32) != 0);

	coord_probe_ping_build(got, &ka, txid, kat_ts);
	CHECK_EQ(check_hex(want, 92, kat_ping), 0);
	CHECK_MEM(got, want, 92);
	CHECK_EQ(coord_probe_pong_build(got, &kb, txid, kat_ts + 1000, &seen), 0);
	CHECK_EQ(check_hex(want, 92, kat_pong), 0);
	CHECK_MEM(got, want, 92);
	CHECK_EQ(coord_probe_callme_build(got, &len, &ka, txid, kat_ts + 2000, eps, 2), 0);
	CHECK_EQ(len, 116);
	CHECK_EQ(COORD_CALLME_LEN(2), 116);
	CHECK_EQ(check_hex(want, 116, kat_callme), 0);
	CHECK_MEM(got, want, 116);
}

static void test_keys(void)
{
	uint8_t p1[32], p2[32], pub1[32], pub2[32], zero[32] = { 0 };
	struct coord_probe_keys k1, k2, k3;

	crypto_random(p1, 32);
	x25519_public(pub1, p1);
	crypto_random(p2, 32);
	x25519_public(pub2, p2);
	CHECK_EQ(coord_probe_keys_derive(&k1, p1, pub2), 0);
	CHECK_EQ(coord_probe_keys_derive(&k2, p2, pub1), 0);
	CHECK_MEM(k1.tx, k2.rx, 32);
	CHECK_MEM(k1.rx, k2.tx, 32);
	CHECK(memcmp(k1.tx, k1.rx, 32) != 0);
	/* our own key: both directions would be one key */
	memset(&k3, 0x55, sizeof(k3));
	CHECK_EQ(coord_probe_keys_derive(&k3, p1, pub1), -EINVAL);
	/* a low-order point */
	CHECK_EQ(coord_probe_keys_derive(&k3, p1, zero), -EKEYREJECTED);
	CHECK(k3.tx[0] == 0x55 && k3.rx[31] == 0x55); /* untouched on failure */
	/* not the control key of the same pair (domain separation) */
	coord_probe_keys_wipe(&k1);
	CHECK(crypto_is_zero(&k1, sizeof(k1)));
	coord_probe_keys_wipe(NULL);
	coord_probe_keys_wipe(&k2);
}

static void test_round_trip(void)
{
	uint8_t buf[COORD_CALLME_MAX];
	struct coord_probe_ping ping;
	struct coord_probe_pong pong;
	struct coord_probe_callme cm;
	struct sockaddr_any eps[COORD_CALLME_ENDPOINTS_MAX], mapped = addr("[::ffff:192.0.2.1]:9");
	const uint8_t *pub;
	uint8_t type;
	size_t len;

	coord_probe_ping_build(buf, &ka, txid, 42);
	CHECK_EQ(coord_probe_peek(buf, 92, &type, &pub), 0);
	CHECK_EQ(type, COORD_MSG_PROBE_PING);
	CHECK(pub == buf + 4);
	CHECK_EQ(coord_probe_ping_verify(buf, 92, &kb, &ping), 0);
	CHECK_MEM(ping.txid, txid, sizeof(txid));
	CHECK_EQ(ping.timestamp_ns, 42);

	/* an IPv4-mapped address comes back as plain IPv4 */
	CHECK_EQ(coord_probe_pong_build(buf, &kb, txid, 43, &mapped), 0);
	CHECK_EQ(coord_probe_pong_verify(buf, 92, &ka, &pong), 0);
	CHECK_EQ(pong.observed.sa.sa_family, AF_INET);
	CHECK(sockaddr_any_equal(&pong.observed, &(struct sockaddr_any){ .in4 = { .sin_family = AF_INET,
		.sin_port = htons(9), .sin_addr = { htonl(0xc0000201) } }, .len = sizeof(struct sockaddr_in) }));
	CHECK_EQ(pong.timestamp_ns, 43);

	for (int i = 0; i < COORD_CALLME_ENDPOINTS_MAX; i++) {
		char text[64];
		snprintf(text, sizeof(text), i % 2 ? "[fd00::%d]:%d" : "10.0.0.%d:%d", i + 1, 1000 + i);
		eps[i] = addr(text);
	}
	CHECK_EQ(coord_probe_callme_build(buf, &len, &ka, txid, 44, eps, COORD_CALLME_ENDPOINTS_MAX), 0);
	CHECK_EQ(len, COORD_CALLME_MAX);
	CHECK_EQ(coord_probe_peek(buf, len, &type, &pub), 0);
	CHECK_EQ(type, COORD_MSG_PROBE_CALLME);
	CHECK_EQ(coord_probe_callme_verify(buf, len, &kb, &cm), 0);
	CHECK_EQ(cm.count, COORD_CALLME_ENDPOINTS_MAX);
	for (int i = 0; i < COORD_CALLME_ENDPOINTS_MAX; i++)
		CHECK(sockaddr_any_equal(&cm.endpoints[i], &eps[i]));
	/* bounds and families on the way out */
	CHECK_EQ(coord_probe_callme_build(buf, &len, &ka, txid, 44, eps, 0), -EINVAL);
	CHECK_EQ(coord_probe_callme_build(buf, &len, &ka, txid, 44, eps, COORD_CALLME_ENDPOINTS_MAX + 1), -EINVAL);
	memset(&eps[1], 0, sizeof(eps[1]));
	CHECK_EQ(coord_probe_callme_build(buf, &len, &ka, txid, 44, eps, 2), -EAFNOSUPPORT);
	CHECK_EQ(coord_probe_pong_build(buf, &kb, txid, 43, &eps[1]), -EAFNOSUPPORT);
}

/* Verify any probe message with the receiver's keys, by its type. */
static int verify_any(const uint8_t *buf, size_t len, const struct coord_probe_keys *k)
{
	struct coord_probe_ping ping;
	struct coord_probe_pong pong;
	struct coord_probe_callme cm;

	switch (len ? buf[0] : 0) {
	case COORD_MSG_PROBE_PING:
		return coord_probe_ping_verify(buf, len, k, &ping);
	case COORD_MSG_PROBE_PONG:
		return coord_probe_pong_verify(buf, len, k, &pong);
	case COORD_MSG_PROBE_CALLME:
		return coord_probe_callme_verify(buf, len, k, &cm);
	default:
		return coord_probe_ping_verify(buf, len, k, &ping);
	}
}

/* Every length but the right one, every single-bit flip, the sender's own
 * keys (a reflected message) and a third node's keys: all rejected. */
static void test_reject_one(const uint8_t *msg, size_t len, const struct coord_probe_keys *rx,
			    const struct coord_probe_keys *sender)
{
	uint8_t buf[COORD_CALLME_MAX + 32];
	const uint8_t *pub;
	uint8_t type;
	int bad = 0;

	CHECK_EQ(verify_any(msg, len, rx), 0);
	for (size_t n = 0; n <= sizeof(buf); n++) {
		if (n == len)
			continue;
		memset(buf, 0, sizeof(buf));
		memcpy(buf, msg, n < len ? n : len);
		if (coord_probe_peek(buf, n, &type, &pub) != -EBADMSG || verify_any(buf, n, rx) != -EBADMSG)
			bad++;
	}
	CHECK_EQ(bad, 0);
	for (size_t i = 0; i < len * 8; i++) {
		memcpy(buf, msg, len);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (verify_any(buf, len, rx) == 0)
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(verify_any(msg, len, sender), -EKEYREJECTED); /* reflected back at its sender */
}

static void test_reject(void)
{
	uint8_t ping[92], pong[92], cm[COORD_CALLME_MAX], p3[32], pub3[32];
	struct sockaddr_any seen = addr("[2001:db8::7]:5"), eps[1] = { addr("192.0.2.9:1") };
	struct coord_probe_keys k3a, ka3;
	size_t cmlen;

	coord_probe_ping_build(ping, &ka, txid, kat_ts);
	CHECK_EQ(coord_probe_pong_build(pong, &kb, txid, kat_ts, &seen), 0);
	CHECK_EQ(coord_probe_callme_build(cm, &cmlen, &ka, txid, kat_ts, eps, 1), 0);
	test_reject_one(ping, sizeof(ping), &kb, &ka);
	test_reject_one(pong, sizeof(pong), &ka, &kb);
	test_reject_one(cm, cmlen, &kb, &ka);
	/* a PING re-typed as a PONG (same size) */
	ping[0] = COORD_MSG_PROBE_PONG;
	CHECK_EQ(verify_any(ping, 92, &kb), -EKEYREJECTED);
	ping[0] = COORD_MSG_PROBE_PING;
	/* a third node c, which shares keys with a but not b: its PING, with
	 * a's public key put in, fails at b; and a's keys for c differ */
	crypto_random(p3, 32);
	x25519_public(pub3, p3);
	CHECK_EQ(coord_probe_keys_derive(&k3a, p3, ka.self_pub), 0);
	CHECK_EQ(coord_probe_keys_derive(&ka3, (const uint8_t[32]){ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 }, pub3), 0);
	CHECK(memcmp(ka3.tx, ka.tx, 32) != 0);
	coord_probe_ping_build(ping, &k3a, txid, kat_ts);
	CHECK_EQ(verify_any(ping, 92, &kb), -EKEYREJECTED);
	memcpy(ping + 4, ka.self_pub, 32);
	CHECK_EQ(verify_any(ping, 92, &kb), -EKEYREJECTED);
	CHECK_EQ(verify_any(ping, 92, &ka3), -EKEYREJECTED);
	coord_probe_keys_wipe(&k3a);
	coord_probe_keys_wipe(&ka3);
}

/* Fields that must be zero or valid, under a correct mac: still rejected. */
static void test_strict_fields(void)
{
	uint8_t buf[COORD_CALLME_MAX];
	struct sockaddr_any seen = addr("198.51.100.7:40001"), eps[1] = { addr("192.0.2.9:1") };
	static const size_t ping_bad[] = { 1, 3, 56, 75 };
	static const size_t pong_bad[] = { 2, 57, 64, 75 }; /* reserved, endpoint reserved, IPv4 tail */
	size_t len;

	for (size_t i = 0; i < sizeof(ping_bad) / sizeof(ping_bad[0]); i++) {
		coord_probe_ping_build(buf, &ka, txid, 1);
		buf[ping_bad[i]] = 1;
		blake2s_mac(buf + 76, ka.tx, 32, buf, 76);
		CHECK_EQ(verify_any(buf, 92, &kb), -EBADMSG);
	}
	for (size_t i = 0; i < sizeof(pong_bad) / sizeof(pong_bad[0]); i++) {
		CHECK_EQ(coord_probe_pong_build(buf, &kb, txid, 1, &seen), 0);
		buf[pong_bad[i]] = 1;
		blake2s_mac(buf + 76, kb.tx, 32, buf, 76);
		CHECK_EQ(verify_any(buf, 92, &ka), -EBADMSG);
	}
	for (uint8_t fam = 0; fam < 8; fam++) {
		if (fam == 4 || fam == 6)
			continue;
		CHECK_EQ(coord_probe_pong_build(buf, &kb, txid, 1, &seen), 0);
		buf[56] = fam;
		blake2s_mac(buf + 76, kb.tx, 32, buf, 76);
		CHECK_EQ(verify_any(buf, 92, &ka), -EBADMSG);
	}
	/* IPv4-mapped IPv6: family 4 is the one spelling of an IPv4 address */
	CHECK_EQ(coord_probe_pong_build(buf, &kb, txid, 1, &seen), 0);
	memcpy(buf + 60, (const uint8_t[16]){ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7 }, 16);
	buf[56] = 6;
	blake2s_mac(buf + 76, kb.tx, 32, buf, 76);
	CHECK_EQ(verify_any(buf, 92, &ka), -EBADMSG);
	buf[70] = 0;
	blake2s_mac(buf + 76, kb.tx, 32, buf, 76);
	CHECK_EQ(verify_any(buf, 92, &ka), 0); /* ::198.51.100.7 is not mapped */
	/* CALLME: reserved2, an endpoint's family; count 0 and 17 by length */
	CHECK_EQ(coord_probe_callme_build(buf, &len, &ka, txid, 1, eps, 1), 0);
	buf[58] = 1;
	blake2s_mac(buf + len - 16, ka.tx, 32, buf, len - 16);
	CHECK_EQ(verify_any(buf, len, &kb), -EBADMSG);
	CHECK_EQ(coord_probe_callme_build(buf, &len, &ka, txid, 1, eps, 1), 0);
	buf[60] = 5;
	blake2s_mac(buf + len - 16, ka.tx, 32, buf, len - 16);
	CHECK_EQ(verify_any(buf, len, &kb), -EBADMSG);
	memset(buf, 0, sizeof(buf));
	buf[0] = COORD_MSG_PROBE_CALLME;
	CHECK_EQ(verify_any(buf, COORD_CALLME_LEN(0), &kb), -EBADMSG);
	buf[56] = COORD_CALLME_ENDPOINTS_MAX + 1;
	CHECK_EQ(verify_any(buf, COORD_CALLME_LEN(COORD_CALLME_ENDPOINTS_MAX + 1), &kb), -EBADMSG);
}

/* The 20-byte endpoint shared with BINDING_ACK: one encoding per endpoint,
 * and BINDING_ACK (udp.c) now decodes through the same strict code. */
static void test_wire_endpoint(void)
{
	struct sockaddr_any v4 = addr("192.0.2.1:7"), v6 = addr("[2001:db8::2]:65535"), got;
	struct coord_wire_endpoint w;
	uint8_t raw[20], ack[sizeof(struct coord_msg_binding_ack)], k[32] = { 9 };
	uint64_t ts;

	CHECK_EQ(coord_wire_endpoint_put(&w, &v4), 0);
	memcpy(raw, &w, 20);
	CHECK_EQ(raw[0], 4);
	CHECK_EQ(raw[2], 7);
	CHECK_EQ(coord_wire_endpoint_get(raw, &got), 0);
	CHECK(sockaddr_any_equal(&got, &v4));
	CHECK_EQ(coord_wire_endpoint_put(&w, &v6), 0);
	memcpy(raw, &w, 20);
	CHECK_EQ(le16_get(raw + 2), 65535);
	CHECK_EQ(coord_wire_endpoint_get(raw, &got), 0);
	CHECK(sockaddr_any_equal(&got, &v6));
	raw[1] = 1; /* reserved */
	CHECK_EQ(coord_wire_endpoint_get(raw, &got), -EBADMSG);
	/* BINDING_ACK: a mapped address under a good mac is refused */
	CHECK_EQ(coord_binding_ack_build(ack, k, 7, 1, &v4), 0);
	CHECK_EQ(coord_binding_ack_parse(ack, sizeof(ack), k, 7, &ts, &got), 0);
	CHECK(sockaddr_any_equal(&got, &v4));
	ack[16] = 6;
	memcpy(ack + 20, (const uint8_t[16]){ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 }, 16);
	blake2s_mac(ack + 36, k, 32, ack, 36);
	CHECK_EQ(coord_binding_ack_parse(ack, sizeof(ack), k, 7, &ts, &got), -EBADMSG);
}

static void make_txid(uint8_t t[COORD_PROBE_TXID_LEN], unsigned n)
{
	memset(t, 0, COORD_PROBE_TXID_LEN);
	memcpy(t, &n, sizeof(n));
}

static void test_window(void)
{
	struct coord_probe_window w;
	uint8_t t[COORD_PROBE_TXID_LEN];
	const uint64_t now = 1000 * SEC;
	unsigned n;
	int bad = 0;

	memset(&w, 0, sizeof(w));
	make_txid(t, 1);
	CHECK_EQ(coord_probe_window_check_and_add(&w, now, t, now), 0);
	CHECK_EQ(coord_probe_window_check_and_add(&w, now, t, now), -EALREADY);   /* replayed */
	make_txid(t, 2);
	CHECK_EQ(coord_probe_window_check_and_add(&w, now - 3 * SEC, t, now), 0); /* reordered, within 5 s */
	CHECK_EQ(coord_probe_window_check_and_add(&w, now - 3 * SEC, t, now), -EALREADY);
	make_txid(t, 3);
	CHECK_EQ(coord_probe_window_check_and_add(&w, now - 6 * SEC, t, now), -ESTALE);
	CHECK_EQ(coord_probe_window_check_and_add(&w, now + 121 * SEC, t, now), -ETIME);
	CHECK_EQ(coord_probe_window_check_and_add(&w, now - 121 * SEC, t, now), -ETIME);
	CHECK_EQ(coord_probe_window_check_and_add(&w, now + 120 * SEC, t, now), 0);  /* at the edge of skew */
	/* moving the newest on makes the old ones stale */
	make_txid(t, 1);
	CHECK_EQ(coord_probe_window_check_and_add(&w, now, t, now + 120 * SEC), -ESTALE);

	/* Soundness under a flood: many PINGs with one timestamp fill the window;
	 * none accepted once is ever accepted again, whatever fell out. */
	memset(&w, 0, sizeof(w));
	for (n = 0; n < 4 * COORD_PROBE_WINDOW; n++) {
		make_txid(t, 100 + n);
		CHECK_EQ(coord_probe_window_check_and_add(&w, now + (n / 8) * SEC / 10, t, now), 0);
	}
	CHECK(w.count <= COORD_PROBE_WINDOW);
	for (n = 0; n < 4 * COORD_PROBE_WINDOW; n++) {
		make_txid(t, 100 + n);
		if (coord_probe_window_check_and_add(&w, now + (n / 8) * SEC / 10, t, now) == 0)
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* a fresh one still gets in */
	make_txid(t, 99999);
	CHECK_EQ(coord_probe_window_check_and_add(&w, now + 2 * SEC, t, now), 0);

	/* randomised: arbitrary timestamps around now, replays of everything */
	{
		static uint64_t ts[2000];
		memset(&w, 0, sizeof(w));
		for (n = 0; n < 2000; n++) {
			uint32_t r;
			crypto_random(&r, sizeof(r));
			ts[n] = now + (uint64_t)(r % 8000) * SEC / 1000;
			make_txid(t, n);
			if (coord_probe_window_check_and_add(&w, ts[n], t, now) != 0)
				ts[n] = 0; /* refused: may be sent again, nothing to check */
			for (unsigned j = 0; j < n; j += 97) {
				if (!ts[j])
					continue;
				make_txid(t, j);
				if (coord_probe_window_check_and_add(&w, ts[j], t, now) == 0)
					bad++;
			}
		}
		CHECK_EQ(bad, 0);
	}
}

static void test_pending(void)
{
	struct coord_probe_pending p;
	uint8_t t[COORD_PROBE_TXID_LEN];
	uint64_t tag = 0, sent = 0;

	memset(&p, 0, sizeof(p));
	make_txid(t, 1);
	coord_probe_pending_add(&p, t, 7, 10 * SEC);
	make_txid(t, 2);
	CHECK_EQ(coord_probe_pending_take(&p, t, 10 * SEC, &tag, &sent), -ENOENT); /* never sent */
	make_txid(t, 1);
	CHECK_EQ(coord_probe_pending_take(&p, t, 11 * SEC, &tag, &sent), 0);
	CHECK_EQ(tag, 7);
	CHECK_EQ(sent, 10 * SEC);
	CHECK_EQ(coord_probe_pending_take(&p, t, 11 * SEC, &tag, &sent), -ENOENT); /* answered already */
	/* too late */
	coord_probe_pending_add(&p, t, 8, 20 * SEC);
	CHECK_EQ(coord_probe_pending_take(&p, t, 25 * SEC + 1, &tag, &sent), -ETIMEDOUT);
	CHECK_EQ(coord_probe_pending_take(&p, t, 25 * SEC + 1, &tag, &sent), -ENOENT);
	/* full: the oldest goes */
	for (unsigned i = 0; i <= COORD_PROBE_PENDING_MAX; i++) {
		make_txid(t, 100 + i);
		coord_probe_pending_add(&p, t, i, 30 * SEC + i);
	}
	make_txid(t, 100);
	CHECK_EQ(coord_probe_pending_take(&p, t, 31 * SEC, &tag, &sent), -ENOENT);
	for (unsigned i = 1; i <= COORD_PROBE_PENDING_MAX; i++) {
		make_txid(t, 100 + i);
		CHECK_EQ(coord_probe_pending_take(&p, t, 31 * SEC, &tag, &sent), 0);
		CHECK_EQ(tag, i);
	}
}

static void test_ratelimit(void)
{
	struct coord_ratelimit rl;
	struct sockaddr_any a = addr("192.0.2.1:1000"), a2 = addr("192.0.2.1:2000"), b = addr("192.0.2.2:1000");
	struct sockaddr_any v6 = addr("[2001:db8:1:2::1]:1"), v6b = addr("[2001:db8:1:2::99]:7");
	struct sockaddr_any none;
	uint64_t t = 5 * SEC;
	int ok = 0, r = 0;

	memset(&none, 0, sizeof(none));
	CHECK_EQ(coord_ratelimit_init(&rl, 64, 0, 1, 1, 1, t), -EINVAL);
	CHECK_EQ(coord_ratelimit_init(&rl, 64, 10, 20, 1000, 1000, t), 0);
	/* a burst of 20, then the rate (one per 100 ms) */
	for (int i = 0; i < 30; i++)
		ok += coord_ratelimit_allow(&rl, &a, t) == 0;
	CHECK_EQ(ok, 20);
	CHECK_EQ(coord_ratelimit_allow(&rl, &a2, t), -EBUSY); /* another port, the same source */
	CHECK_EQ(coord_ratelimit_allow(&rl, &b, t), 0);       /* another source is not affected */
	CHECK_EQ(coord_ratelimit_allow(&rl, &a, t + SEC / 10 - 1), -EBUSY);
	CHECK_EQ(coord_ratelimit_allow(&rl, &a, t + SEC / 10), 0);
	CHECK_EQ(coord_ratelimit_allow(&rl, &a, t + SEC / 10), -EBUSY);
	/* a clock that goes back gives nothing */
	CHECK_EQ(coord_ratelimit_allow(&rl, &a, t), -EBUSY);
	/* an IPv6 /64 is one source */
	ok = 0;
	for (int i = 0; i < 20; i++)
		ok += coord_ratelimit_allow(&rl, &v6, t) == 0;
	CHECK_EQ(ok, 20);
	CHECK_EQ(coord_ratelimit_allow(&rl, &v6b, t), -EBUSY);
	CHECK_EQ(coord_ratelimit_allow(&rl, &none, t), -EAFNOSUPPORT);
	/* long after: full again, but never more than the burst */
	ok = 0;
	for (int i = 0; i < 30; i++)
		ok += coord_ratelimit_allow(&rl, &a, t + 3600 * SEC) == 0;
	CHECK_EQ(ok, 20);
	coord_ratelimit_free(&rl);
	coord_ratelimit_free(&rl); /* a zeroed struct */

	/* global: 100 sources of 5 each against a global burst of 50 */
	CHECK_EQ(coord_ratelimit_init(&rl, 256, 10, 5, 10, 50, t), 0);
	ok = 0;
	for (unsigned i = 0; i < 100; i++) {
		struct sockaddr_any s = a;
		s.in4.sin_addr.s_addr = htonl(0x0a000000 + i);
		for (int j = 0; j < 5; j++) {
			r = coord_ratelimit_allow(&rl, &s, t);
			ok += r == 0;
		}
	}
	CHECK_EQ(ok, 50);
	CHECK_EQ(r, -EAGAIN);
	coord_ratelimit_free(&rl);

	/* a table of 16 slots: more recent sources than slots are refused, and
	 * get in once the others' buckets have refilled */
	CHECK_EQ(coord_ratelimit_init(&rl, 1, 1, 2, 1000, 1000, t), 0);
	CHECK_EQ(rl.slots, 16);
	for (unsigned i = 0; i < 64 && r != -ENOBUFS; i++) {
		struct sockaddr_any s = a;
		s.in4.sin_addr.s_addr = htonl(0x0a000000 + i);
		r = coord_ratelimit_allow(&rl, &s, t);
		CHECK(r == 0 || (r == -ENOBUFS && i >= 8));
	}
	CHECK_EQ(r, -ENOBUFS);
	a.in4.sin_addr.s_addr = htonl(0x0b000000);
	CHECK_EQ(coord_ratelimit_allow(&rl, &a, t + 3 * SEC), 0);
	coord_ratelimit_free(&rl);
}

int main(void)
{
	if (crypto_init() < 0)
		return 1;
	kat_setup();
	test_kat();
	test_keys();
	test_round_trip();
	test_reject();
	test_strict_fields();
	test_wire_endpoint();
	test_window();
	test_pending();
	test_ratelimit();
	coord_probe_keys_wipe(&ka);
	coord_probe_keys_wipe(&kb);
	return check_report("test_probe");
}
