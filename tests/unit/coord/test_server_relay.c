/* roam-server's UDP protocol (server/relay.c) against an in-memory
 * directory: BINDING and its return-routability challenge (a spoofed
 * source never takes another node's endpoint; a node that receives there
 * does, with the cookie; a free endpoint moves at once), and the relay's
 * WireGuard filter with its drop reasons; the per-node rate limit and
 * RELAY_BIND of relay-only servers. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "coord/auth.h"
#include "coord/relay_link.h"
#include "coord/ticket.h"
#include "coord/udp.h"
#include "crypto/crypto.h"
#include "server/directory.h"
#include "server/relay.h"
#include "server/server.h"

#define NOW_S UINT64_C(1700000000)
#define NOW_NS (NOW_S * 1000000000u)

struct sent {
	struct sockaddr_any to;
	uint8_t buf[8 + COORD_CALLME_MAX];
	size_t len;
};

static struct sent g_sent[16];
static size_t g_nsent, g_bound, g_moved, g_evicted;

static int rec_send(void *ctx, const struct sockaddr_any *to, const uint8_t *buf, size_t len)
{
	(void)ctx;
	if (g_nsent < 16) {
		g_sent[g_nsent].to = *to;
		g_sent[g_nsent].len = len < sizeof(g_sent[0].buf) ? len : sizeof(g_sent[0].buf);
		memcpy(g_sent[g_nsent].buf, buf, g_sent[g_nsent].len);
	}
	g_nsent++;
	return 0;
}

static void rec_bound(void *ctx, struct dir_node *n, bool moved)
{
	(void)ctx;
	(void)n;
	g_bound++;
	g_moved += moved;
}

static void rec_evicted(void *ctx, struct dir_node *n)
{
	(void)ctx;
	(void)n;
	g_evicted++;
}

struct tnode {
	uint8_t priv[32], pub[32], k[32];
	uint32_t id;
	uint64_t ts;
};

static struct tnode nodes[4]; /* A, B share group 1; C in group 2; D in group 1 */

static void setup(struct directory *d, const uint8_t srv_priv[32], const uint8_t srv_pub[32])
{
	static const uint8_t net6[16] = { 0xfd, 1 };
	static const uint32_t groups_of[4] = { 1, 1, 2, 1 };
	struct store_group groups[2] = { { .id = 1, .name = "g1" }, { .id = 2, .name = "g2" } };

	CHECK_EQ(dir_init(d, srv_priv, net6), 0);
	for (uint32_t i = 0; i < 4; i++) {
		struct store_node rec = { .id = i + 1, .approved = true, .groups_count = 1 };
		struct dir_node *n;
		bool changed;
		crypto_random(nodes[i].priv, 32);
		x25519_clamp(nodes[i].priv);
		x25519_public(nodes[i].pub, nodes[i].priv);
		CHECK_EQ(coord_control_key(nodes[i].k, nodes[i].priv, srv_pub), 0);
		nodes[i].id = i + 1;
		nodes[i].ts = NOW_NS - 1000;
		memcpy(rec.public_key, nodes[i].pub, 32);
		rec.groups[0] = groups_of[i];
		CHECK_EQ(dir_node_set(d, &rec, &n, &changed), 0);
	}
	CHECK_EQ(dir_groups_set(d, groups, 2), 0);
}

static void bind_from(struct relay *r, struct tnode *t, const char *from, const uint8_t *cookie, uint64_t now_ns)
{
	uint8_t msg[sizeof(struct coord_msg_binding_cookie)], nonce[8] = { 0 };
	struct sockaddr_any a;
	size_t len = cookie ? sizeof(struct coord_msg_binding_cookie) : sizeof(struct coord_msg_binding);

	CHECK_EQ(sockaddr_any_parse(from, &a), 0);
	t->ts++;
	if (cookie)
		coord_binding_cookie_build(msg, t->k, t->id, t->ts, nonce, cookie);
	else
		coord_binding_build(msg, t->k, t->id, t->ts, nonce);
	relay_input(r, msg, len, &a, now_ns);
}

static bool at(struct directory *d, struct tnode *t, const char *ep)
{
	struct sockaddr_any a;
	struct dir_node *n = dir_node_get(d, t->id);

	sockaddr_any_parse(ep, &a);
	return n->online && sockaddr_any_equal(&n->public_ep, &a) && dir_node_by_endpoint(d, &a) == n;
}

static void test_takeover(struct relay *r, struct directory *d, struct server_stats *st)
{
	struct tnode *A = &nodes[0], *B = &nodes[1], *C = &nodes[2];
	uint8_t cookie[16], zero[16] = { 0 };
	uint64_t ts;

	/* fresh endpoints move at once: an ACK, no challenge */
	g_nsent = 0;
	bind_from(r, A, "198.51.100.11:4000", NULL, NOW_NS);
	bind_from(r, B, "198.51.100.12:4000", NULL, NOW_NS);
	CHECK_EQ(g_nsent, 2);
	CHECK_EQ(g_sent[0].buf[0], COORD_MSG_BINDING_ACK);
	CHECK(at(d, A, "198.51.100.11:4000"));
	CHECK(at(d, B, "198.51.100.12:4000"));
	CHECK_EQ(g_moved, 2);
	/* C spoofs A's source with a BINDING signed with its own key: the
	 * server challenges the address (A gets it, cannot use it) */
	g_nsent = 0;
	bind_from(r, C, "198.51.100.11:4000", NULL, NOW_NS);
	CHECK_EQ(g_nsent, 1);
	CHECK_EQ(g_sent[0].buf[0], COORD_MSG_CHALLENGE);
	CHECK(sockaddr_any_equal(&g_sent[0].to, &dir_node_get(d, A->id)->public_ep));
	CHECK_EQ(coord_challenge_parse(g_sent[0].buf, g_sent[0].len, A->k, A->id, &ts, cookie), -EKEYREJECTED);
	CHECK_EQ(coord_challenge_parse(g_sent[0].buf, g_sent[0].len, C->k, C->id, &ts, cookie), 0);
	CHECK_EQ(ts, C->ts);
	CHECK(at(d, A, "198.51.100.11:4000"));
	CHECK(!dir_node_get(d, C->id)->online);
	CHECK_EQ(st->challenges, 1);
	/* a guessed cookie, or a real one from another address, is no proof */
	bind_from(r, C, "198.51.100.11:4000", zero, NOW_NS);
	bind_from(r, C, "198.51.100.11:4001", cookie, NOW_NS); /* a free endpoint: C goes there */
	CHECK(at(d, A, "198.51.100.11:4000"));
	CHECK(at(d, C, "198.51.100.11:4001"));
	CHECK_EQ(st->challenges, 2);
	/* a cookie two buckets old is stale (NOW_S is 20 s into its bucket:
	 * 100 s later is two buckets on; the BINDING itself is fresh) */
	C->ts = NOW_NS + 50 * UINT64_C(1000000000);
	bind_from(r, C, "198.51.100.11:4000", cookie, NOW_NS + 100 * UINT64_C(1000000000));
	CHECK(at(d, A, "198.51.100.11:4000"));
	CHECK_EQ(st->challenges, 3);
	/* a node that does receive at the address (a NAT gave it A's old
	 * mapping) answers with the cookie and takes the endpoint over */
	g_nsent = 0;
	bind_from(r, C, "198.51.100.11:4000", NULL, NOW_NS + 1000);
	CHECK_EQ(coord_challenge_parse(g_sent[0].buf, g_sent[0].len, C->k, C->id, &ts, cookie), 0);
	bind_from(r, C, "198.51.100.11:4000", cookie, NOW_NS + 2000);
	CHECK(at(d, C, "198.51.100.11:4000"));
	CHECK(!dir_node_get(d, A->id)->online);
	CHECK_EQ(dir_node_get(d, A->id)->public_ep.len, 0);
	CHECK_EQ(g_evicted, 1);
	CHECK_EQ(st->takeovers, 1);
	/* an offline node's old endpoint is free again */
	bind_from(r, A, "198.51.100.11:4001", NULL, NOW_NS + 3000); /* C's former one: C moved on */
	CHECK(at(d, A, "198.51.100.11:4001"));
	/* a replayed BINDING (same timestamp) moves nothing */
	A->ts--;
	bind_from(r, A, "198.51.100.99:1", NULL, NOW_NS + 4000);
	CHECK(at(d, A, "198.51.100.11:4001"));
}

static void relay_send_from(struct relay *r, const char *from, uint32_t dst, uint8_t type, size_t len)
{
	uint8_t msg[8 + COORD_CALLME_MAX] = { 0 };
	struct sockaddr_any a;

	sockaddr_any_parse(from, &a);
	coord_relay_header_write(msg, dst);
	msg[8] = type;
	if (type == COORD_MSG_PROBE_CALLME) /* its count, so that the length matches */
		msg[8 + offsetof(struct coord_msg_probe_callme_header, count)] =
			(uint8_t)((len - sizeof(struct coord_msg_probe_callme_header) - COORD_MAC_LEN) / 20);
	relay_input(r, msg, 8 + len, &a, NOW_NS + 5000);
}

static void test_relay(struct relay *r, struct server_stats *st)
{
	struct tnode *A = &nodes[0], *B = &nodes[1], *D = &nodes[3];
	uint32_t src;
	const uint8_t *payload;
	size_t plen;

	/* A is at .11:4001, B at .12:4000, C at .11:4000 (group 2) */
	bind_from(r, D, "198.51.100.14:4000", NULL, NOW_NS + 5000);
	g_nsent = 0;
	relay_send_from(r, "198.51.100.11:4001", B->id, 4, 48);  /* transport */
	relay_send_from(r, "198.51.100.11:4001", B->id, 1, 148); /* initiation */
	relay_send_from(r, "198.51.100.12:4000", A->id, 2, 92);  /* response */
	relay_send_from(r, "198.51.100.12:4000", A->id, 3, 64);  /* cookie reply */
	CHECK_EQ(g_nsent, 4);
	CHECK_EQ(st->relayed, 4);
	CHECK_EQ(coord_relay_parse(g_sent[0].buf, g_sent[0].len, &src, &payload, &plen), 0);
	CHECK_EQ(src, A->id); /* the header names the sender now */
	CHECK_EQ(plen, 48);
	/* path probes pass with their exact sizes (the mac is the peer's to check) */
	relay_send_from(r, "198.51.100.11:4001", B->id, COORD_MSG_PROBE_PING, sizeof(struct coord_msg_probe_ping));
	relay_send_from(r, "198.51.100.12:4000", A->id, COORD_MSG_PROBE_PONG, sizeof(struct coord_msg_probe_pong));
	relay_send_from(r, "198.51.100.11:4001", B->id, COORD_MSG_PROBE_CALLME, COORD_CALLME_LEN(2));
	CHECK_EQ(g_nsent, 7);
	CHECK_EQ(st->relayed_probes, 3);
	CHECK_EQ(coord_relay_parse(g_sent[6].buf, g_sent[6].len, &src, &payload, &plen), 0);
	CHECK_EQ(src, A->id);
	CHECK_EQ(plen, COORD_CALLME_LEN(2));
	relay_send_from(r, "198.51.100.11:4001", B->id, COORD_MSG_PROBE_PING, sizeof(struct coord_msg_probe_ping) + 1);
	relay_send_from(r, "198.51.100.11:4001", 3, COORD_MSG_PROBE_CALLME, COORD_CALLME_LEN(1)); /* C: no shared group */
	CHECK_EQ(g_nsent, 7);
	CHECK_EQ(st->relay_drop_not_wg, 1);
	CHECK_EQ(st->relay_drop_dest, 1);
	relay_send_from(r, "198.51.100.11:4001", B->id, 'h', 32);  /* not WireGuard */
	relay_send_from(r, "198.51.100.11:4001", B->id, 9, 64);    /* unknown type */
	relay_send_from(r, "198.51.100.11:4001", B->id, 4, 31);    /* too short for any WireGuard message */
	relay_send_from(r, "198.51.100.11:4001", B->id, 1, 149);   /* initiation too long */
	relay_send_from(r, "198.51.100.11:4001", B->id, 4, 8);     /* too short for a RELAY */
	relay_send_from(r, "198.51.100.77:1", B->id, 4, 32);       /* not a bound node */
	relay_send_from(r, "198.51.100.11:4001", 3, 4, 32);        /* C: no shared group */
	relay_send_from(r, "198.51.100.11:4001", A->id, 4, 32);    /* to itself */
	relay_send_from(r, "198.51.100.11:4001", 99, 4, 32);       /* no such node */
	CHECK_EQ(g_nsent, 7);
	CHECK_EQ(st->relay_drop_not_wg, 3);
	CHECK_EQ(st->relay_drop_bad_size, 1);
	CHECK_EQ(st->relay_drop_malformed, 2);
	CHECK_EQ(st->relay_drop_sender, 1);
	CHECK_EQ(st->relay_drop_dest, 4);
	CHECK_EQ(st->relay_dropped, 11);
	(void)D;
}

static int g_link_rc;
static size_t g_link_sent;
static uint32_t g_link_dst;

/* A relay link stand-in: n's links say whether it has one. */
static int rec_link_send(void *ctx, struct dir_node *n, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	if (!dir_node_linked(n))
		return -ENOTCONN;
	if (g_link_rc == 0) {
		g_link_sent++;
		g_link_dst = n->rec.id;
	}
	return g_link_rc;
}

static size_t relay_msg(uint8_t *msg, uint32_t dst)
{
	memset(msg, 0, 8 + 48);
	coord_relay_header_write(msg, dst);
	msg[8] = 4;
	return 8 + 48;
}

/* Delivery on a node's relay link before its UDP endpoint, a node with only
 * a link is reachable and can send, a full link's queue is counted, and
 * RELAY_PING on the UDP port gets a PONG (bound nodes only, rate-limited). */
static void test_links(struct relay *r, struct directory *d, struct server_stats *st)
{
	static struct relay_link *fake = (struct relay_link *)&g_link_rc; /* never dereferenced */
	struct tnode *A = &nodes[0], *B = &nodes[1];
	struct dir_node *a = dir_node_get(d, A->id), *b = dir_node_get(d, B->id);
	uint8_t msg[8 + 48], ping[12];
	struct sockaddr_any from;
	uint64_t relayed = st->relayed;

	sockaddr_any_parse("198.51.100.11:4001", &from); /* A's binding */
	g_nsent = g_link_sent = 0;
	b->links[DIR_LINK_WS] = fake;
	relay_input(r, msg, relay_msg(msg, B->id), &from, NOW_NS + 6000);
	CHECK_EQ(g_link_sent, 1);
	CHECK_EQ(g_link_dst, B->id);
	CHECK_EQ(g_nsent, 0); /* not also over UDP */
	/* B loses its binding but keeps its link: still online, still reached */
	dir_set_offline(d, b, true);
	CHECK(b->online);
	CHECK(!b->public_ep.len);
	relay_input(r, msg, relay_msg(msg, B->id), &from, NOW_NS + 6000);
	CHECK_EQ(g_link_sent, 2);
	/* B sends on its link: A gets it over UDP, from B */
	CHECK_EQ(relay_forward(r, b, msg, relay_msg(msg, A->id), (int64_t)NOW_S), 0);
	CHECK_EQ(g_nsent, 1);
	CHECK_EQ(g_sent[0].buf[4], B->id);
	CHECK_EQ(st->relayed, relayed + 3);
	/* B's link is full: dropped, counted as too slow */
	g_link_rc = -ENOBUFS;
	relay_input(r, msg, relay_msg(msg, B->id), &from, NOW_NS + 6000);
	CHECK_EQ(st->relay_drop_slow, 1);
	g_link_rc = 0;
	/* the link closes: B (no binding) is unreachable */
	b->links[DIR_LINK_WS] = NULL;
	dir_set_offline(d, b, true);
	CHECK(!b->online);
	uint64_t dest = st->relay_drop_dest;
	relay_input(r, msg, relay_msg(msg, B->id), &from, NOW_NS + 6000);
	CHECK_EQ(st->relay_drop_dest, dest + 1);
	CHECK_EQ(relay_forward(r, b, msg, relay_msg(msg, A->id), (int64_t)NOW_S), -EPERM);
	/* RELAY_PING from A's binding: a PONG with the echo, at most the burst */
	g_nsent = 0;
	for (int i = 0; i < RELAY_PONG_BURST + 5; i++) {
		relay_ping_build(ping, COORD_MSG_RELAY_PING, 77);
		relay_input(r, ping, sizeof(ping), &from, NOW_NS + 7000);
	}
	CHECK_EQ(g_nsent, RELAY_PONG_BURST);
	CHECK_EQ(st->relay_pongs, RELAY_PONG_BURST);
	uint8_t type;
	uint64_t echo;
	CHECK_EQ(relay_ping_parse(g_sent[0].buf, g_sent[0].len, &type, &echo), 0);
	CHECK_EQ(type, COORD_MSG_RELAY_PONG);
	CHECK_EQ(echo, 77);
	CHECK(sockaddr_any_equal(&g_sent[0].to, &from));
	/* a second later the bucket has refilled: one more */
	relay_input(r, ping, sizeof(ping), &from, NOW_NS + 7000 + 1000000000u);
	CHECK_EQ(g_nsent, RELAY_PONG_BURST + 1);
	/* from an address bound to nobody: nothing */
	sockaddr_any_parse("198.51.100.77:1", &from);
	relay_input(r, ping, sizeof(ping), &from, NOW_NS + 9000000000u);
	CHECK_EQ(g_nsent, RELAY_PONG_BURST + 1);
	CHECK_EQ(st->relay_pings_dropped, 5 + 1);
	(void)a;
}

/* --rate-limit: a node's bytes per second; beyond, dropped and counted. */
static void test_rate(struct relay *r, struct server_stats *st)
{
	struct tnode *B = &nodes[1];
	uint64_t relayed = st->relayed;

	r->rate_bytes_s = 100;
	relay_send_from(r, "198.51.100.11:4001", B->id, 4, 48); /* 56 bytes: in */
	relay_send_from(r, "198.51.100.11:4001", B->id, 4, 48); /* 112 > 100: out */
	CHECK_EQ(st->relayed, relayed + 1);
	CHECK_EQ(st->relay_drop_rate, 1);
	r->rate_bytes_s = 0;
	relay_send_from(r, "198.51.100.11:4001", B->id, 4, 48);
	CHECK_EQ(st->relayed, relayed + 2);
}

static uint32_t g_admit_calls;
static int admit_stub(void *ctx, const uint8_t *ticket, size_t len, int64_t now, uint32_t node_id)
{
	(void)ctx;
	(void)now;
	g_admit_calls++;
	/* a "ticket" of our own making: accepted when its first byte names the node */
	return len >= TICKET_LEN_MIN && ticket[0] == (uint8_t)node_id ? 0 : -EACCES;
}

static void relay_bind_from(struct relay *r, struct tnode *t, const char *from, uint8_t ticket_first, bool bad_mac)
{
	uint8_t ticket[TICKET_LEN_MIN] = { ticket_first }, msg[RELAY_BIND_LEN_MAX], nonce[8] = { 0 };
	struct sockaddr_any a;
	int n;

	sockaddr_any_parse(from, &a);
	t->ts++;
	n = relay_bind_build(msg, sizeof(msg), t->id, t->ts, nonce, ticket, sizeof(ticket), t->k);
	CHECK(n > 0);
	if (n <= 0)
		return;
	msg[n - 1] ^= bad_mac;
	relay_input(r, msg, (size_t)n, &a, NOW_NS + 9000);
}

/* RELAY_BIND: refused without an admit hook, with a refused ticket or a bad
 * mac; admitted, it binds like a BINDING (ACK made with the node's key). */
static void test_relay_bind(struct relay *r, struct directory *d, struct server_stats *st)
{
	struct tnode *D = &nodes[3];
	uint64_t bad = st->bindings_bad, ts;
	struct sockaddr_any obs;

	g_nsent = 0;
	relay_bind_from(r, D, "198.51.100.44:4000", (uint8_t)D->id, false);
	CHECK_EQ(st->bindings_bad, bad + 1); /* no hook: the control server */
	r->admit = admit_stub;
	relay_bind_from(r, D, "198.51.100.44:4000", 99, false);
	relay_bind_from(r, D, "198.51.100.44:4000", (uint8_t)D->id, true);
	CHECK_EQ(st->bindings_bad, bad + 3);
	CHECK_EQ(g_nsent, 0);
	relay_bind_from(r, D, "198.51.100.44:4000", (uint8_t)D->id, false);
	CHECK_EQ(g_nsent, 1);
	CHECK(at(d, D, "198.51.100.44:4000"));
	CHECK_EQ(coord_binding_ack_parse(g_sent[0].buf, g_sent[0].len, D->k, D->id, &ts, &obs), 0);
	CHECK_EQ(ts, D->ts);
	CHECK_EQ(g_admit_calls, 3);
	/* garbage: short, wrong type bits */
	uint8_t junk[40] = { COORD_MSG_RELAY_BIND };
	relay_input(r, junk, sizeof(junk), &obs, NOW_NS + 9000);
	CHECK_EQ(st->bindings_bad, bad + 4);
	r->admit = NULL;
}

/* A node's relay_rtt report is in its peer line, and a new report (after
 * the cached line is dropped, as POST /v1/endpoints does) replaces it. */
static void test_peer_relay_rtt(struct directory *d)
{
	struct dir_node *n = dir_node_get(d, nodes[0].id);
	const char *json;

	CHECK(n != NULL);
	if (!n)
		return;
	n->relay_rtt = (struct coord_relay_rtts){ .count = 2, .id = { 0, 3 }, .us = { 12500, 30100 } };
	dir_node_touch(n);
	CHECK((json = dir_peer_json(d, n)) != NULL);
	CHECK(json && strstr(json, "\"relay_rtt\":{\"0\":12.5,\"3\":30.1}") != NULL);
	memset(&n->relay_rtt, 0, sizeof(n->relay_rtt));
	dir_node_touch(n);
	CHECK((json = dir_peer_json(d, n)) != NULL);
	CHECK(json && strstr(json, "relay_rtt") == NULL);
}

int main(void)
{
	static const struct relay_ops ops = { rec_send, rec_bound, rec_evicted, rec_link_send, NULL };
	uint8_t srv_priv[32], srv_pub[32];
	struct server_stats st = { 0 };
	struct directory d;
	struct relay r;

	if (crypto_init() < 0)
		return 1;
	crypto_random(srv_priv, 32);
	x25519_clamp(srv_priv);
	x25519_public(srv_pub, srv_priv);
	setup(&d, srv_priv, srv_pub);
	relay_init(&r, &d, &st, &ops, NULL);
	test_takeover(&r, &d, &st);
	test_relay(&r, &st);
	test_rate(&r, &st);
	test_links(&r, &d, &st);
	test_relay_bind(&r, &d, &st);
	test_peer_relay_rtt(&d);
	relay_wipe(&r);
	dir_free(&d);
	return check_report("test_server_relay");
}
