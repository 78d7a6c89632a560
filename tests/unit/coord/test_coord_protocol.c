/* lib/coord: control key, Roam-Auth (good, forged, replayed, stale, wrong
 * server key), join tokens, UDP messages at exact lengths, JSON limits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "coord/auth.h"
#include "coord/json.h"
#include "coord/replay.h"
#include "coord/token.h"
#include "coord/udp.h"
#include "crypto/crypto.h"

static void keypair(uint8_t priv[32], uint8_t pub[32])
{
	crypto_random(priv, 32);
	x25519_clamp(priv);
	x25519_public(pub, priv);
}

static void test_auth(void)
{
	uint8_t node_priv[32], node_pub[32], srv_priv[32], srv_pub[32], other_priv[32], other_pub[32];
	uint8_t k_node[32], k_srv[32], k_wrong[32], nonce[16];
	char hdr[COORD_AUTH_HEADER_MAX];
	const char *body = "{\"name\":\"a\"}";
	struct coord_auth a;
	struct coord_replay rp;
	int64_t now = 1700000000;

	keypair(node_priv, node_pub);
	keypair(srv_priv, srv_pub);
	keypair(other_priv, other_pub);
	CHECK_EQ(coord_control_key(k_node, node_priv, srv_pub), 0);
	CHECK_EQ(coord_control_key(k_srv, srv_priv, node_pub), 0);
	CHECK_MEM(k_node, k_srv, 32);
	crypto_random(nonce, sizeof(nonce));
	CHECK_EQ(coord_auth_build(hdr, sizeof(hdr), k_node, node_pub, "POST", "/v1/register", now, nonce, body,
				  strlen(body)), 0);
	CHECK_EQ(coord_auth_parse(hdr, &a), 0);
	CHECK_MEM(a.node_pub, node_pub, 32);
	CHECK_EQ(a.ts, now);
	/* good */
	CHECK_EQ(coord_auth_verify(&a, k_srv, "POST", "/v1/register", body, strlen(body), now + 30), 0);
	/* stale or from the future */
	CHECK_EQ(coord_auth_verify(&a, k_srv, "POST", "/v1/register", body, strlen(body), now + 61), -ETIME);
	CHECK_EQ(coord_auth_verify(&a, k_srv, "POST", "/v1/register", body, strlen(body), now - 61), -ETIME);
	/* forged: another body, target, method, or a flipped mac bit */
	CHECK_EQ(coord_auth_verify(&a, k_srv, "POST", "/v1/register", "{}", 2, now), -EKEYREJECTED);
	CHECK_EQ(coord_auth_verify(&a, k_srv, "POST", "/v1/logout", body, strlen(body), now), -EKEYREJECTED);
	CHECK_EQ(coord_auth_verify(&a, k_srv, "GET", "/v1/register", body, strlen(body), now), -EKEYREJECTED);
	a.mac[3] ^= 1;
	CHECK_EQ(coord_auth_verify(&a, k_srv, "POST", "/v1/register", body, strlen(body), now), -EKEYREJECTED);
	a.mac[3] ^= 1;
	/* a node that pinned the wrong server key computes another K */
	CHECK_EQ(coord_control_key(k_wrong, node_priv, other_pub), 0);
	CHECK_EQ(coord_auth_build(hdr, sizeof(hdr), k_wrong, node_pub, "POST", "/v1/register", now, nonce, body,
				  strlen(body)), 0);
	CHECK_EQ(coord_auth_parse(hdr, &a), 0);
	CHECK_EQ(coord_auth_verify(&a, k_srv, "POST", "/v1/register", body, strlen(body), now), -EKEYREJECTED);
	/* replay: the same (node, nonce) twice, also in the next window */
	CHECK_EQ(coord_replay_init(&rp, 4, now), 0);
	CHECK_EQ(coord_replay_turns_in(&rp, now), COORD_AUTH_REPLAY_WINDOW_S);
	CHECK_EQ(coord_replay_turns_in(&rp, now + 100), COORD_AUTH_REPLAY_WINDOW_S - 100);
	CHECK_EQ(coord_replay_turns_in(&rp, now + 1000), 0);
	CHECK_EQ(coord_replay_turns_in(&rp, now - 50), COORD_AUTH_REPLAY_WINDOW_S); /* clock stepped back */
	CHECK_EQ(coord_replay_check_and_add(&rp, node_pub, nonce, now), 0);
	CHECK_EQ(coord_replay_check_and_add(&rp, node_pub, nonce, now + 1), -EALREADY);
	CHECK_EQ(coord_replay_check_and_add(&rp, node_pub, nonce, now + 125), -EALREADY);
	CHECK_EQ(coord_replay_check_and_add(&rp, other_pub, nonce, now + 125), 0);
	/* bounded: full -> -ENOBUFS, never forgetting early */
	for (int i = 0; i < 64; i++) {
		uint8_t n2[16];
		crypto_random(n2, sizeof(n2));
		if (coord_replay_check_and_add(&rp, node_pub, n2, now + 126) == -ENOBUFS)
			break;
		CHECK(i < 16);
	}
	coord_replay_free(&rp);
	/* malformed headers */
	static const char *const bad[] = {
		"", "node=", "node=AAAA; ts=1; nonce=AAAAAAAAAAAAAAAAAAAAAA; mac=AAAAAAAAAAAAAAAAAAAAAA",
		"ts=1; node=x", "node=gqhTJ7PPCxwrHfKPWFZgf+Hj04w6zKm2Pek4FaogekM=; ts=-1; nonce=AAAAAAAAAAAAAAAAAAAAAA; mac=AAAAAAAAAAAAAAAAAAAAAA",
		"node=gqhTJ7PPCxwrHfKPWFZgf+Hj04w6zKm2Pek4FaogekM=; ts=1; nonce=AAAAAAAAAAAAAAAAAAAAAA; mac=AAAAAAAAAAAAAAAAAAAAAA; ",
		"node=gqhTJ7PPCxwrHfKPWFZgf+Hj04w6zKm2Pek4FaogekM=; ts=1; nonce=AAAAAAAAAAAAAAAAAAAAAA; mac=AAAAAAAAAAAAAAAAAAAAAB",
		"node=gqhTJ7PPCxwrHfKPWFZgf+Hj04w6zKm2Pek4FaogekM=;ts=1; nonce=AAAAAAAAAAAAAAAAAAAAAA; mac=AAAAAAAAAAAAAAAAAAAAAA",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(coord_auth_parse(bad[i], &a), -EINVAL);
	CHECK_EQ(coord_auth_parse("node=gqhTJ7PPCxwrHfKPWFZgf+Hj04w6zKm2Pek4FaogekM=; ts=1; nonce=AAAAAAAAAAAAAAAAAAAAAA; mac=AAAAAAAAAAAAAAAAAAAAAA", &a), 0);
}

static void test_token(void)
{
	struct coord_token t, u;
	char text[COORD_TOKEN_STRLEN + 1], bad[COORD_TOKEN_STRLEN + 2];

	crypto_random(&t, sizeof(t));
	CHECK_EQ(coord_token_encode(&t, text, sizeof(text)), 0);
	CHECK_EQ(strlen(text), COORD_TOKEN_STRLEN);
	CHECK_EQ(coord_token_decode(text, &u), 0);
	CHECK_MEM(&t, &u, sizeof(t));
	CHECK_EQ(coord_token_encode(&t, text, sizeof(text) - 1), -ENOSPC);
	memcpy(bad, text, sizeof(text));
	bad[0] = 'R';
	CHECK_EQ(coord_token_decode(bad, &u), -EINVAL); /* prefix */
	memcpy(bad, text, sizeof(text));
	bad[20] = '+';
	CHECK_EQ(coord_token_decode(bad, &u), -EINVAL); /* alphabet */
	memcpy(bad, text, sizeof(text));
	bad[COORD_TOKEN_STRLEN - 1] = '\0';
	CHECK_EQ(coord_token_decode(bad, &u), -EINVAL); /* short */
	snprintf(bad, sizeof(bad), "%s\n", text);
	CHECK_EQ(coord_token_decode(bad, &u), -EINVAL); /* trailing newline */
	CHECK_EQ(coord_token_decode("roam1.", &u), -EINVAL);
	CHECK_EQ(coord_token_decode(NULL, &u), -EINVAL);
	memcpy(bad, text, sizeof(text));
	bad[6] = 'B'; /* version byte 1 -> another value */
	CHECK(coord_token_decode(bad, &u) == -EPROTONOSUPPORT || coord_token_decode(bad, &u) == -EINVAL);
}

static void test_udp(void)
{
	uint8_t k[32], k2[32], nonce[8] = { 1 }, msg[sizeof(struct coord_msg_binding) + 1];
	uint8_t ack[sizeof(struct coord_msg_binding_ack) + 1], relay[8 + 64] = { 0 };
	struct sockaddr_any ep, seen;
	const uint8_t *payload, *cookie;
	size_t plen;
	uint64_t ts;
	uint32_t id;

	crypto_random(k, 32);
	crypto_random(k2, 32);
	coord_binding_build(msg, k, 7, 123456789, nonce);
	CHECK_EQ(coord_msg_type(msg, 40), COORD_MSG_BINDING);
	CHECK_EQ(coord_binding_peek(msg, 40, &id), 0);
	CHECK_EQ(id, 7);
	CHECK_EQ(coord_binding_peek(msg, 39, &id), -EBADMSG);
	CHECK_EQ(coord_binding_peek(msg, 41, &id), -EBADMSG);
	CHECK_EQ(coord_binding_verify(msg, 40, k, &ts, &cookie), 0);
	CHECK_EQ(ts, 123456789);
	CHECK(cookie == NULL);
	CHECK_EQ(coord_binding_verify(msg, 40, k2, &ts, &cookie), -EKEYREJECTED);
	msg[12] ^= 1; /* timestamp tampered */
	CHECK_EQ(coord_binding_verify(msg, 40, k, &ts, &cookie), -EKEYREJECTED);

	CHECK_EQ(sockaddr_any_parse("198.51.100.7:40001", &ep), 0);
	CHECK_EQ(coord_binding_ack_build(ack, k, 7, 99, &ep), 0);
	CHECK_EQ(coord_binding_ack_parse(ack, 52, k, 7, &ts, &seen), 0);
	CHECK(sockaddr_any_equal(&ep, &seen));
	CHECK_EQ(ts, 99);
	CHECK_EQ(coord_binding_ack_parse(ack, 51, k, 7, &ts, &seen), -EBADMSG);
	CHECK_EQ(coord_binding_ack_parse(ack, 53, k, 7, &ts, &seen), -EBADMSG);
	CHECK_EQ(coord_binding_ack_parse(ack, 52, k, 8, &ts, &seen), -ESRCH);
	CHECK_EQ(coord_binding_ack_parse(ack, 52, k2, 7, &ts, &seen), -EKEYREJECTED);
	CHECK_EQ(sockaddr_any_parse("[2001:db8::5]:51820", &ep), 0);
	CHECK_EQ(coord_binding_ack_build(ack, k, 7, 100, &ep), 0);
	CHECK_EQ(coord_binding_ack_parse(ack, 52, k, 7, &ts, &seen), 0);
	CHECK(sockaddr_any_equal(&ep, &seen));

	coord_relay_header_write(relay, 42);
	CHECK_EQ(coord_relay_parse(relay, 8 + 32, &id, &payload, &plen), 0);
	CHECK_EQ(id, 42);
	CHECK_EQ(plen, 32);
	CHECK(payload == relay + 8);
	CHECK_EQ(coord_relay_parse(relay, 8 + 31, &id, &payload, &plen), -EBADMSG);
	CHECK_EQ(coord_relay_parse(relay, 8, &id, &payload, &plen), -EBADMSG);
	CHECK_EQ(coord_relay_parse(relay, COORD_RELAY_MAX + 1, &id, &payload, &plen), -EBADMSG);
	relay[0] = 4; /* a WireGuard data message is not ours */
	CHECK_EQ(coord_msg_type(relay, 40), 0);
	CHECK_EQ(coord_relay_parse(relay, 40, &id, &payload, &plen), -EBADMSG);
	CHECK_EQ(coord_msg_type(relay, 0), 0);
}

/* CHALLENGE and the BINDING that answers it: the cookie binds address,
 * port, node and time bucket; the challenge is only usable by its node. */
static void test_challenge(void)
{
	uint8_t k[32], k2[32], secret[32], nonce[8] = { 2 }, c1[16], c2[16], got[16];
	uint8_t ch[sizeof(struct coord_msg_challenge)], bc[sizeof(struct coord_msg_binding_cookie)];
	const uint8_t *cookie;
	struct sockaddr_any a, b;
	uint64_t ts;
	uint32_t id;

	crypto_random(k, 32);
	crypto_random(k2, 32);
	crypto_random(secret, 32);
	CHECK_EQ(sockaddr_any_parse("198.51.100.7:40001", &a), 0);
	CHECK_EQ(sockaddr_any_parse("198.51.100.7:40002", &b), 0);
	CHECK_EQ(coord_cookie_make(c1, secret, &a, 7, 100), 0);
	CHECK_EQ(coord_cookie_make(c2, secret, &a, 7, 100), 0);
	CHECK_MEM(c1, c2, 16);
	CHECK_EQ(coord_cookie_make(c2, secret, &b, 7, 100), 0); /* other port */
	CHECK(memcmp(c1, c2, 16) != 0);
	CHECK_EQ(coord_cookie_make(c2, secret, &a, 8, 100), 0); /* other node */
	CHECK(memcmp(c1, c2, 16) != 0);
	CHECK_EQ(coord_cookie_make(c2, secret, &a, 7, 101), 0); /* other bucket */
	CHECK(memcmp(c1, c2, 16) != 0);

	coord_challenge_build(ch, k, 7, 555, c1);
	CHECK_EQ(coord_msg_type(ch, sizeof(ch)), COORD_MSG_CHALLENGE);
	CHECK_EQ(coord_challenge_parse(ch, sizeof(ch), k, 7, &ts, got), 0);
	CHECK_EQ(ts, 555);
	CHECK_MEM(got, c1, 16);
	CHECK_EQ(coord_challenge_parse(ch, sizeof(ch), k2, 7, &ts, got), -EKEYREJECTED);
	CHECK_EQ(coord_challenge_parse(ch, sizeof(ch), k, 8, &ts, got), -ESRCH);
	CHECK_EQ(coord_challenge_parse(ch, sizeof(ch) - 1, k, 7, &ts, got), -EBADMSG);

	coord_binding_cookie_build(bc, k, 7, 556, nonce, c1);
	CHECK_EQ(coord_binding_peek(bc, sizeof(bc), &id), 0);
	CHECK_EQ(id, 7);
	CHECK_EQ(coord_binding_verify(bc, sizeof(bc), k, &ts, &cookie), 0);
	CHECK_EQ(ts, 556);
	CHECK(cookie == bc + 24);
	CHECK_MEM(cookie, c1, 16);
	bc[30] ^= 1; /* the cookie is under the mac */
	CHECK_EQ(coord_binding_verify(bc, sizeof(bc), k, &ts, &cookie), -EKEYREJECTED);
	CHECK_EQ(coord_binding_peek(bc, sizeof(bc) - 1, &id), -EBADMSG);
}

/* The relay's WireGuard filter: exact sizes per type, zero reserved bytes. */
static void test_wg_check(void)
{
	static const struct { uint8_t type, reserved; size_t len; int want; } cases[] = {
		{ 1, 0, 148, COORD_WG_OK },       { 1, 0, 147, COORD_WG_BAD_SIZE }, { 1, 0, 164, COORD_WG_BAD_SIZE },
		{ 2, 0, 92, COORD_WG_OK },        { 2, 0, 148, COORD_WG_BAD_SIZE }, { 3, 0, 64, COORD_WG_OK },
		{ 3, 0, 80, COORD_WG_BAD_SIZE },  { 4, 0, 32, COORD_WG_OK },        { 4, 0, 48, COORD_WG_OK },
		{ 4, 0, 1440, COORD_WG_OK },      { 4, 0, 31, COORD_WG_BAD_SIZE },  { 4, 0, 16, COORD_WG_BAD_SIZE },
		/* a full packet at MTU 1420: padding stops at the MTU */
		{ 4, 0, 1452, COORD_WG_OK },
		{ 0, 0, 32, COORD_WG_BAD_TYPE },  { 5, 0, 32, COORD_WG_BAD_TYPE },  { 0x83, 0, 148, COORD_WG_BAD_TYPE },
		{ 4, 1, 32, COORD_WG_BAD_TYPE },  { 1, 9, 148, COORD_WG_BAD_TYPE }, { 'h', 'e', 32, COORD_WG_BAD_TYPE },
	};
	static uint8_t msg[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(msg, 0, sizeof(msg));
		msg[0] = cases[i].type;
		msg[2] = cases[i].reserved;
		CHECK_EQ(coord_wg_message_check(msg, cases[i].len), cases[i].want);
	}
	CHECK_EQ(coord_wg_message_check(msg, 3), COORD_WG_BAD_TYPE);
}

/* COORD_STREAM_LINE_MAX rests on a bound for one peer object: the largest
 * one the protocol allows fits in COORD_PEER_JSON_MAX. */
static void test_peer_json_max(void)
{
	struct coord_peer p;
	char *s;

	memset(&p, 0, sizeof(p));
	p.node_id = UINT32_MAX;
	memset(p.name, 'n', COORD_NAME_MAX);
	memset(p.public_key, 0xff, sizeof(p.public_key));
	CHECK_EQ(ip_prefix_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", &p.ipv6), 0);
	CHECK_EQ(ip_prefix_parse("255.255.255.255/32", &p.ipv4), 0);
	CHECK_EQ(sockaddr_any_parse("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535", &p.public_endpoint), 0);
	p.private_count = COORD_PRIVATE_MAX;
	for (size_t i = 0; i < COORD_PRIVATE_MAX; i++)
		p.private_endpoints[i] = p.public_endpoint;
	p.nat = p.online = false; /* "false" is the longer word */
	p.last_seen = 999999999999999;
	p.mapping = COORD_MAPPING_PER_DEST; /* the longest name */
	p.mapped_endpoint = p.public_endpoint;
	p.has_file_key = true;
	s = coord_peer_to_json(&p);
	CHECK(s != NULL);
	CHECK(s && strlen(s) <= COORD_PEER_JSON_MAX);
	free(s);
	CHECK(COORD_STREAM_LINE_MAX >= (size_t)COORD_PEERS_MAX * COORD_PEER_JSON_MAX);
}

static void test_json(void)
{
	struct coord_register_req r;
	struct coord_endpoints_req e;
	struct coord_node n;
	static const char *const bad_register[] = {
		"", "[]", "{}", "{\"name\":\"\"}", "{\"name\":\"-x\"}", "{\"name\":\"a b\"}", "{\"name\":7}",
		"{\"name\":\"a\",\"port\":70000}", "{\"name\":\"a\",\"port\":1.5}", "{\"name\":\"a\",\"preauth_key\":\"xx\"}",
		"{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "{\"name\":\"a\"",
		"{\"name\":\"a\",\"file_key\":\"xx\"}", "{\"name\":\"a\",\"file_key\":7}",
	};
	char *s;

	for (size_t i = 0; i < sizeof(bad_register) / sizeof(bad_register[0]); i++)
		CHECK_EQ(coord_register_req_parse(bad_register[i], strlen(bad_register[i]), &r), -EINVAL);
	CHECK_EQ(coord_register_req_parse("{\"name\":\"lap-top.1\",\"preauth_key\":null,\"port\":51820}", 52, &r), 0);
	CHECK_EQ(r.port, 51820);
	CHECK(!r.has_preauth_key);
	CHECK(!r.has_file_key);
	/* the file public key: round trip */
	memset(r.file_key, 0xab, sizeof(r.file_key));
	r.has_file_key = true;
	s = coord_register_req_to_json(&r);
	struct coord_register_req r2;
	CHECK(s && coord_register_req_parse(s, strlen(s), &r2) == 0 && r2.has_file_key &&
	      memcmp(r2.file_key, r.file_key, sizeof(r.file_key)) == 0);
	free(s);
	CHECK_EQ(coord_endpoints_req_parse("{\"private\":[\"10.1.0.11:51820\",\"[fd00::5]:51820\"]}", 50, &e), 0);
	CHECK_EQ(e.count, 2);
	CHECK_EQ(coord_endpoints_req_parse("{\"private\":[\"host:1\"]}", 22, &e), -EINVAL);
	s = coord_endpoints_req_to_json(&e);
	CHECK(s && strstr(s, "[fd00::5]:51820"));
	free(s);
	{
		const char *nine = "{\"private\":[\"1.1.1.1:1\",\"1.1.1.1:1\",\"1.1.1.1:1\",\"1.1.1.1:1\",\"1.1.1.1:1\","
				   "\"1.1.1.1:1\",\"1.1.1.1:1\",\"1.1.1.1:1\",\"1.1.1.1:1\"]}";
		CHECK_EQ(coord_endpoints_req_parse(nine, strlen(nine), &e), -EINVAL); /* over COORD_PRIVATE_MAX */
	}
	const char *node = "{\"node_id\":7,\"name\":\"laptop\",\"public_key\":\"gqhTJ7PPCxwrHfKPWFZgf+Hj04w6zKm2Pek4FaogekM=\","
			   "\"ipv6\":\"fd12:3456:789a::7\",\"ipv4\":\"100.64.0.7\",\"network6\":\"fd12:3456:789a::/48\","
			   "\"network4\":\"100.64.0.0/10\",\"groups\":[\"g1\"],\"approved\":true}";
	CHECK_EQ(coord_node_parse(node, strlen(node), &n), 0);
	CHECK_EQ(n.node_id, 7);
	CHECK_EQ(n.groups_count, 1);
	CHECK_EQ(n.network6.cidr, 48);
	s = coord_node_to_json(&n);
	CHECK(s && strcmp(s, node) == 0);
	free(s);
}

int main(void)
{
	if (crypto_init() < 0)
		return 1;
	test_auth();
	test_token();
	test_udp();
	test_challenge();
	test_wg_check();
	test_peer_json_max();
	test_json();
	return check_report("test_coord_protocol");
}
