/* Fuzzes roam-server's UDP protocol (server/relay.c) together with the
 * directory state it changes: four registered nodes (three approved, in
 * two groups, one waiting), then a sequence of datagrams from a few source
 * addresses at moving times. Input, per datagram:
 *   [flags][source 0..7][time step, s][len, le16][len bytes]
 * flags & 1: if it is a BINDING of a known node, the harness re-signs it
 *            with that node's K and a fresh timestamp (so the fuzzer gets
 *            past the mac into the takeover and challenge logic);
 * flags & 2: a 56-byte BINDING gets the cookie of the last CHALLENGE sent.
 * Invariants after every datagram: one endpoint per node and one node per
 * endpoint; every datagram sent is an ACK, a CHALLENGE or a RELAY of a
 * well-formed WireGuard message or path probe (exact size) to a bound node.
 * NETCHECKs go to the server's netcheck (server/netcheck.c) as relay_udp.c
 * sends them: its only
 * answer is a NETCHECK_ACK to the source, never bigger than the request,
 * from one of the server's addresses or the kernel's choice, and it
 * touches no node. */
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/probe.h"
#include "coord/udp.h"
#include "crypto/crypto.h"
#include "fuzz/fuzz.h"
#include "coord/netcheck.h"
#include "server/directory.h"
#include "server/netcheck.h"
#include "server/relay.h"
#include "server/server.h"

#define NODES 4

static struct directory g_dir;
static struct relay g_relay;
static struct server_stats g_stats;
static uint8_t g_k[NODES + 1][COORD_KEY_LEN];
static uint8_t g_cookie[COORD_COOKIE_LEN];
static struct server_netcheck g_nc;
static size_t g_request_len;
static const struct sockaddr_any *g_request_from;

static int on_send(void *ctx, const struct sockaddr_any *to, const uint8_t *buf, size_t len)
{
	const uint8_t *payload, *psender;
	size_t plen;
	uint32_t id;
	uint8_t ptype;

	(void)ctx;
	if (!to->len)
		abort();
	switch (coord_msg_type(buf, len)) {
	case COORD_MSG_BINDING_ACK:
		if (len != sizeof(struct coord_msg_binding_ack))
			abort();
		break;
	case COORD_MSG_CHALLENGE:
		if (len != sizeof(struct coord_msg_challenge))
			abort();
		memcpy(g_cookie, buf + offsetof(struct coord_msg_challenge, cookie), COORD_COOKIE_LEN);
		break;
	case COORD_MSG_RELAY:
		if (coord_relay_parse(buf, len, &id, &payload, &plen) < 0 ||
		    (coord_wg_message_check(payload, plen) != COORD_WG_OK &&
		     coord_probe_peek(payload, plen, &ptype, &psender) < 0) ||
		    !dir_node_by_endpoint(&g_dir, to))
			abort();
		break;
	default:
		abort();
	}
	return 0;
}

static int on_netcheck_send(void *ctx, const struct sockaddr_any *from, const struct sockaddr_any *to,
			    const uint8_t *buf, size_t len)
{
	struct coord_netcheck_ack ack;
	bool ours = false;

	(void)ctx;
	for (size_t i = 0; from && i < g_nc.count; i++)
		ours |= sockaddr_any_equal(from, &g_nc.addrs[i]);
	if ((from && !ours) || len > g_request_len || !sockaddr_any_equal(to, g_request_from) ||
	    coord_netcheck_ack_parse(buf, len, &ack) < 0)
		abort();
	return 0;
}

static void on_bound(void *ctx, struct dir_node *n, bool moved)
{
	(void)ctx;
	(void)moved;
	if (!n->online || !n->public_ep.len)
		abort();
}

static void on_evicted(void *ctx, struct dir_node *n)
{
	(void)ctx;
	if (n->public_ep.len || n->online)
		abort();
}

/* A PUSH_ACK passes relay.c's checks only from the node's bound endpoint. */
static void on_push_ack(void *ctx, struct dir_node *n, const struct coord_push_ack *a)
{
	(void)ctx;
	(void)a;
	if (!n->online || !n->public_ep.len)
		abort();
}

static void setup(void)
{
	static const struct relay_ops ops = { on_send, on_bound, on_evicted, NULL, on_push_ack };
	static const uint8_t net6[16] = { 0xfd, 7 };
	struct store_group groups[2] = { { .id = 1, .name = "g1" }, { .id = 2, .name = "g2" } };
	uint8_t srv_priv[32], srv_pub[32], priv[32];

	memset(srv_priv, 0x42, sizeof(srv_priv));
	x25519_clamp(srv_priv);
	x25519_public(srv_pub, srv_priv);
	dir_init(&g_dir, srv_priv, net6);
	for (uint32_t id = 1; id <= NODES; id++) {
		struct store_node rec = { .id = id, .approved = id != NODES, .groups_count = 1 };
		struct dir_node *n;
		bool changed;
		memset(priv, (int)id, sizeof(priv));
		x25519_clamp(priv);
		x25519_public(rec.public_key, priv);
		coord_control_key(g_k[id], priv, srv_pub);
		rec.groups[0] = id == 3 ? 2 : 1;
		dir_node_set(&g_dir, &rec, &n, &changed);
	}
	dir_groups_set(&g_dir, groups, 2);
	relay_init(&g_relay, &g_dir, &g_stats, &ops, NULL);
	static const struct server_netcheck_ops nc_ops = { on_netcheck_send };
	struct sockaddr_any ours[3];
	sockaddr_any_parse("203.0.113.1:8443", &ours[0]);
	sockaddr_any_parse("203.0.113.2:8443", &ours[1]);
	sockaddr_any_parse("[2001:db8::1]:8443", &ours[2]);
	if (server_netcheck_init(&g_nc, ours, 3, &nc_ops, NULL, 0) < 0)
		abort();
	memset(g_relay.cookie_secret, 0x17, sizeof(g_relay.cookie_secret)); /* reproducible */
}

static void source(uint8_t sel, struct sockaddr_any *a)
{
	static const char *const src[8] = {
		"198.51.100.11:4000", "198.51.100.11:4001", "198.51.100.12:4000", "203.0.113.9:51820",
		"[2001:db8::1]:4000", "[2001:db8::1]:4001", "[::ffff:198.51.100.11]:4000", "10.0.0.1:1",
	};
	sockaddr_any_parse(src[sel & 7], a);
}

/* Make a BINDING of a known node pass its mac (and carry the last cookie). */
static void resign(uint8_t *buf, size_t len, uint8_t flags, uint64_t now_ns)
{
	uint32_t id;
	uint64_t ts = now_ns - (uint64_t)buf[16] * 1000u;

	if (coord_binding_peek(buf, len, &id) < 0 || id == 0 || id > NODES)
		return;
	for (int i = 0; i < 8; i++)
		buf[8 + i] = (uint8_t)(ts >> (8 * i));
	if ((flags & 2) && len == sizeof(struct coord_msg_binding_cookie))
		memcpy(buf + offsetof(struct coord_msg_binding_cookie, cookie), g_cookie, COORD_COOKIE_LEN);
	blake2s_mac(buf + len - COORD_MAC_LEN, g_k[id], COORD_KEY_LEN, buf, len - COORD_MAC_LEN);
}

static void check_invariants(void)
{
	for (uint32_t id = 1; id <= NODES; id++) {
		struct dir_node *n = dir_node_get(&g_dir, id);
		if (n->public_ep.len && dir_node_by_endpoint(&g_dir, &n->public_ep) != n)
			abort();
		if (id == NODES && n->online)
			abort(); /* waiting for approval: never bound */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	uint8_t buf[2048];
	uint64_t now_ns = UINT64_C(1700000000) * 1000000000u;
	size_t i = 0;

	if (!ready) {
		if (crypto_init() < 0)
			abort();
		setup();
		ready = true;
	}
	/* Each input starts from no presence. */
	for (uint32_t id = 1; id <= NODES; id++) {
		struct dir_node *n = dir_node_get(&g_dir, id);
		dir_set_offline(&g_dir, n, true);
		n->last_binding_ts = 0;
	}
	while (i + 5 <= size) {
		uint8_t flags = data[i], sel = data[i + 1], step = data[i + 2];
		size_t len = (size_t)data[i + 3] | (size_t)data[i + 4] << 8;
		struct sockaddr_any from;
		i += 5;
		if (len > size - i)
			len = size - i;
		if (len > sizeof(buf))
			len = sizeof(buf);
		memcpy(buf, data + i, len);
		i += len;
		now_ns += (uint64_t)step * 1000000000u; /* up to 255 s: buckets and freshness move */
		if (flags & 1)
			resign(buf, len, flags, now_ns);
		source(sel, &from);
		if (coord_msg_type(buf, len) == COORD_MSG_NETCHECK) {
			g_request_len = len;
			g_request_from = &from;
			server_netcheck_input(&g_nc, buf, len, &from, now_ns);
		} else {
			relay_input(&g_relay, buf, len, &from, now_ns);
		}
		check_invariants();
	}
	return 0;
}
