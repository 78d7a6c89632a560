/* Relay tickets (lib/coord/ticket.c): a built ticket verifies and parses
 * back to what was signed; every byte flipped, a wrong key, an expired
 * ticket, bad structure (length, version, reserved, group count and
 * order) are refused; the group intersection. */
#include <errno.h>
#include <string.h>

#include "../check.h"
#include "coord/auth.h"
#include "coord/ticket.h"
#include "crypto/crypto.h"

static uint8_t pub[TICKET_PUB_LEN], sec[TICKET_SECRET_LEN];

static struct ticket sample(uint16_t ngroups)
{
	struct ticket t;

	memset(&t, 0, sizeof(t));
	t.serial = 0x0102030405060708ULL;
	t.node_id = 42;
	t.expires = 2000000000ULL;
	memset(t.node_pub, 0xab, sizeof(t.node_pub));
	t.group_count = ngroups;
	for (uint16_t i = 0; i < ngroups; i++)
		t.groups[i] = 3 * i + 1u;
	return t;
}

static void test_roundtrip(void)
{
	uint8_t buf[TICKET_LEN_MAX + 8], pub2[TICKET_PUB_LEN];
	struct ticket t = sample(3), got;
	int n = ticket_build(&t, sec, buf, sizeof(buf));

	CHECK_EQ(n, TICKET_LEN_MIN + 12);
	ticket_public_of(pub2, sec);
	CHECK_MEM(pub2, pub, TICKET_PUB_LEN);
	CHECK_EQ(ticket_verify(buf, (size_t)n, pub, 1000, &got), 0);
	CHECK_EQ(got.serial, t.serial);
	CHECK_EQ(got.node_id, 42);
	CHECK_EQ(got.expires, t.expires);
	CHECK_EQ(got.group_count, 3);
	CHECK_EQ(got.groups[2], 7);
	CHECK_MEM(got.node_pub, t.node_pub, sizeof(t.node_pub));
	/* expired: at and after the instant */
	CHECK_EQ(ticket_verify(buf, (size_t)n, pub, t.expires, &got), -ETIMEDOUT);
	/* every byte matters */
	for (int i = 0; i < n; i++) {
		buf[i] ^= 0x01;
		int r = ticket_verify(buf, (size_t)n, pub, 1000, &got);
		CHECK(r == -EBADMSG || r == -EPROTO);
		buf[i] ^= 0x01;
	}
	/* another key */
	uint8_t pub3[TICKET_PUB_LEN], sec3[TICKET_SECRET_LEN];
	CHECK_EQ(ticket_keypair(pub3, sec3), 0);
	CHECK_EQ(ticket_verify(buf, (size_t)n, pub3, 1000, &got), -EBADMSG);
	/* cut short, one byte more */
	CHECK_EQ(ticket_verify(buf, (size_t)n - 1, pub, 1000, &got), -EPROTO);
	CHECK_EQ(ticket_verify(buf, (size_t)n + 1, pub, 1000, &got), -EPROTO);
	/* no room */
	CHECK_EQ(ticket_build(&t, sec, buf, (size_t)n - 1), -ENOSPC);
}

static void test_structure(void)
{
	uint8_t buf[TICKET_LEN_MAX];
	struct ticket t = sample(TICKET_GROUPS_MAX), got;
	int n = ticket_build(&t, sec, buf, sizeof(buf));

	CHECK_EQ(n, TICKET_LEN_MAX);
	CHECK_EQ(ticket_parse(buf, (size_t)n, &got), 0);
	CHECK_EQ(got.group_count, TICKET_GROUPS_MAX);
	t = sample(0);
	n = ticket_build(&t, sec, buf, sizeof(buf));
	CHECK_EQ(n, TICKET_LEN_MIN);
	CHECK_EQ(ticket_verify(buf, (size_t)n, pub, 1, &got), 0);
	/* unsorted, duplicate, too many groups: not built */
	t = sample(3);
	t.groups[1] = t.groups[0];
	CHECK_EQ(ticket_build(&t, sec, buf, sizeof(buf)), -EINVAL);
	t.groups[1] = 0;
	CHECK_EQ(ticket_build(&t, sec, buf, sizeof(buf)), -EINVAL);
	t = sample(3);
	t.group_count = TICKET_GROUPS_MAX + 1;
	CHECK_EQ(ticket_build(&t, sec, buf, sizeof(buf)), -EINVAL);
	/* and not parsed either: version, reserved, group order, count */
	t = sample(2);
	n = ticket_build(&t, sec, buf, sizeof(buf));
	buf[0] = 2;
	CHECK_EQ(ticket_parse(buf, (size_t)n, &got), -EPROTO);
	buf[0] = TICKET_VERSION;
	buf[2] = 1;
	CHECK_EQ(ticket_parse(buf, (size_t)n, &got), -EPROTO);
	buf[2] = 0;
	uint8_t g0[4];
	memcpy(g0, buf + TICKET_FIXED_LEN, 4);
	memcpy(buf + TICKET_FIXED_LEN, buf + TICKET_FIXED_LEN + 4, 4);
	memcpy(buf + TICKET_FIXED_LEN + 4, g0, 4);
	CHECK_EQ(ticket_parse(buf, (size_t)n, &got), -EPROTO);
	memcpy(buf + TICKET_FIXED_LEN + 4, buf + TICKET_FIXED_LEN, 4);
	memcpy(buf + TICKET_FIXED_LEN, g0, 4);
	CHECK_EQ(ticket_parse(buf, (size_t)n, &got), 0);
	buf[56] = 3;
	CHECK_EQ(ticket_parse(buf, (size_t)n, &got), -EPROTO);
}

static void test_share(void)
{
	struct ticket a = sample(0), b = sample(0);

	CHECK(!ticket_share_group(&a, &b));
	a.group_count = 3;
	a.groups[0] = 1, a.groups[1] = 5, a.groups[2] = 9;
	b.group_count = 2;
	b.groups[0] = 2, b.groups[1] = 6;
	CHECK(!ticket_share_group(&a, &b));
	b.groups[1] = 9;
	CHECK(ticket_share_group(&a, &b));
	CHECK(ticket_share_group(&b, &a));
}

/* The relay join token round trip; K_r/K_nr: both ends agree, labels
 * separate them, and with the control label it is coord_control_key. */
static void test_token_keys(void)
{
	struct relay_token t, back;
	char text[RELAY_TOKEN_STRLEN + 1];
	uint8_t a_priv[32], b_priv[32], a_pub[32], b_pub[32], k1[32], k2[32], k3[32];

	memset(&t, 0, sizeof(t));
	memset(t.tls_pin, 1, sizeof(t.tls_pin));
	memset(t.server_pub, 2, sizeof(t.server_pub));
	memset(t.secret, 3, sizeof(t.secret));
	CHECK_EQ(relay_token_encode(&t, text, sizeof(text)), 0);
	CHECK_EQ(strlen(text), RELAY_TOKEN_STRLEN);
	CHECK_EQ(relay_token_decode(text, &back), 0);
	CHECK_MEM(&back, &t, sizeof(t));
	CHECK_EQ(relay_token_encode(&t, text, sizeof(text) - 1), -ENOSPC);
	text[4] = 'X';
	CHECK_EQ(relay_token_decode(text, &back), -EINVAL);
	CHECK_EQ(relay_token_decode("roam1.abc", &back), -EINVAL);

	crypto_random(a_priv, 32);
	crypto_random(b_priv, 32);
	x25519_clamp(a_priv);
	x25519_clamp(b_priv);
	CHECK_EQ(x25519_public(a_pub, a_priv), 0);
	CHECK_EQ(x25519_public(b_pub, b_priv), 0);
	CHECK_EQ(relay_key_derive(k1, a_priv, b_pub, RELAY_NODE_KEY_LABEL), 0);
	CHECK_EQ(relay_key_derive(k2, b_priv, a_pub, RELAY_NODE_KEY_LABEL), 0);
	CHECK_MEM(k1, k2, 32);
	CHECK_EQ(relay_key_derive(k2, b_priv, a_pub, RELAY_KEY_LABEL), 0);
	CHECK(memcmp(k1, k2, 32) != 0);
	CHECK_EQ(relay_key_derive(k3, a_priv, b_pub, "roam-control-v1"), 0);
	CHECK_EQ(coord_control_key(k2, a_priv, b_pub), 0);
	CHECK_MEM(k2, k3, 32);
	memset(b_pub, 0, 32); /* low order */
	CHECK_EQ(relay_key_derive(k1, a_priv, b_pub, RELAY_KEY_LABEL), -EKEYREJECTED);
}

/* RELAY_BIND: built, parsed, mac checked; a flipped byte, a wrong length
 * field, a short datagram refused. */
static void test_bind(void)
{
	uint8_t tk[TICKET_LEN_MAX], msg[RELAY_BIND_LEN_MAX + 1], k[32], nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct ticket t = sample(2);
	const uint8_t *got;
	size_t got_len;
	uint32_t id;
	uint64_t ts;
	int tl = ticket_build(&t, sec, tk, sizeof(tk));

	memset(k, 0x33, sizeof(k));
	int n = relay_bind_build(msg, sizeof(msg), 42, 123456789, nonce, tk, (size_t)tl, k);
	CHECK_EQ(n, RELAY_BIND_HDR_LEN + tl + 16);
	CHECK_EQ(relay_bind_parse(msg, (size_t)n, &id, &ts, &got, &got_len), 0);
	CHECK_EQ(id, 42);
	CHECK_EQ(ts, 123456789);
	CHECK_EQ(got_len, tl);
	CHECK(got == msg + RELAY_BIND_HDR_LEN);
	CHECK_EQ(relay_bind_verify(msg, (size_t)n, k), 0);
	msg[20] ^= 1;
	CHECK_EQ(relay_bind_verify(msg, (size_t)n, k), -EBADMSG);
	msg[20] ^= 1;
	CHECK_EQ(relay_bind_parse(msg, (size_t)n - 1, &id, &ts, &got, &got_len), -EPROTO);
	msg[2] = 1;
	CHECK_EQ(relay_bind_parse(msg, (size_t)n, &id, &ts, &got, &got_len), -EPROTO);
	msg[2] = 0;
	CHECK_EQ(relay_bind_parse(msg, 8, &id, &ts, &got, &got_len), -EPROTO);
	CHECK_EQ(relay_bind_build(msg, (size_t)n - 1, 42, 1, nonce, tk, (size_t)tl, k), -ENOSPC);
	CHECK_EQ(relay_bind_build(msg, sizeof(msg), 42, 1, nonce, tk, 10, k), -EINVAL);
}

int main(void)
{
	if (ticket_keypair(pub, sec) < 0)
		return 1;
	test_roundtrip();
	test_structure();
	test_share();
	test_token_keys();
	test_bind();
	return check_report("test_ticket");
}
