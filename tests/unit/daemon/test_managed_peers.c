/* Managed mode's peer table (daemon/managed/managed_peers.c) with peers on
 * demand: a full view removes who it does not list but keeps the peers
 * held on demand; a peer given on demand is marked so for the data plane;
 * after a new stream each on-demand peer is asked for again exactly once. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "daemon/managed/managed.h"

static struct managed m; /* large: not on the stack */
static int sets, removes, last_on_demand;
static uint8_t last_removed[COORD_KEY_LEN];

static void peer_set(void *ctx, const struct managed_peer_info *p)
{
	(void)ctx;
	sets++;
	last_on_demand = p->on_demand;
}

static void peer_remove(void *ctx, const uint8_t key[COORD_KEY_LEN])
{
	(void)ctx;
	removes++;
	memcpy(last_removed, key, COORD_KEY_LEN);
}

static const struct managed_host_ops ops = { .peer_set = peer_set, .peer_remove = peer_remove };

static struct coord_peer peer(uint8_t n)
{
	struct coord_peer p;
	memset(&p, 0, sizeof(p));
	memset(p.public_key, n, COORD_KEY_LEN);
	snprintf(p.name, sizeof(p.name), "n%u", n);
	p.ipv6.family = AF_INET6;
	p.ipv6.cidr = 128;
	inet_pton(AF_INET6, "fd00::", p.ipv6.addr);
	p.ipv6.addr[15] = n;
	p.ipv4.family = AF_INET;
	p.ipv4.cidr = 32;
	p.ipv4.addr[0] = 100;
	p.ipv4.addr[1] = 64;
	p.ipv4.addr[3] = n;
	return p;
}

static void test_views_keep_on_demand(void)
{
	struct coord_peer a = peer(1), b = peer(2), c = peer(3);
	memset(&m, 0, sizeof(m));
	m.host = &ops;
	memset(m.public_key, 0xee, COORD_KEY_LEN);
	CHECK_EQ(managed_peers_init(&m.peers), 0);
	managed_view_begin(&m);
	CHECK_EQ(managed_apply_peer(&m, &a, true), 0);
	CHECK_EQ(managed_apply_peer(&m, &b, true), 0);
	managed_view_end(&m);
	CHECK_EQ(last_on_demand, 0);
	/* c comes on demand (GET /v1/peer): marked so for the data plane. */
	CHECK_EQ(managed_apply_peer_on_demand(&m, &c), 0);
	CHECK_EQ(last_on_demand, 1);
	CHECK(managed_peer_is_on_demand(&m, c.public_key));
	CHECK(!managed_peer_is_on_demand(&m, a.public_key));
	CHECK(managed_peer_held_at(&m, AF_INET6, c.ipv6.addr));
	CHECK(managed_peer_held_at(&m, AF_INET, c.ipv4.addr));
	uint8_t nobody[16] = { 0xfd };
	CHECK(!managed_peer_held_at(&m, AF_INET6, nobody));
	/* A pushed change of c keeps it on demand. */
	c.online = true;
	CHECK_EQ(managed_apply_peer(&m, &c, false), 0);
	CHECK_EQ(last_on_demand, 1);
	/* A full view without b and c: b goes, c stays. */
	removes = 0;
	managed_view_begin(&m);
	CHECK_EQ(managed_apply_peer(&m, &a, true), 0);
	managed_view_end(&m);
	CHECK_EQ(removes, 1);
	CHECK(memcmp(last_removed, b.public_key, COORD_KEY_LEN) == 0);
	CHECK(managed_peer_held(&m, c.public_key));
	/* Given on demand, listed in a view later: still on demand (the
	 * server lists the pairs it remembers, and forgets them). */
	managed_view_begin(&m);
	CHECK_EQ(managed_apply_peer(&m, &a, true), 0);
	CHECK_EQ(managed_apply_peer(&m, &c, true), 0);
	managed_view_end(&m);
	CHECK(managed_peer_is_on_demand(&m, c.public_key));
	/* A pushed peer that asked for us: marked by the stream. */
	struct coord_peer d = peer(4);
	CHECK_EQ(managed_apply_peer(&m, &d, false), 0);
	CHECK_EQ(last_on_demand, 0);
	managed_peer_mark_on_demand(&m, d.public_key);
	CHECK_EQ(last_on_demand, 1);
	/* Ourselves never. */
	struct coord_peer self = peer(0xee);
	sets = 0;
	CHECK_EQ(managed_apply_peer_on_demand(&m, &self), 0);
	CHECK_EQ(sets, 0);
	CHECK(!managed_peer_held(&m, self.public_key));
}

static void test_reask_once_each(void)
{
	uint8_t key[COORD_KEY_LEN];
	/* From the table above: c (3) and d (4) on demand, a (1) not. */
	CHECK_EQ(managed_peers_reask_mark(&m), 2);
	int got = 0, seen3 = 0, seen4 = 0;
	while (managed_peers_reask_next(&m, key) && got < 10) {
		got++;
		seen3 += key[0] == 3;
		seen4 += key[0] == 4;
	}
	CHECK_EQ(got, 2);
	CHECK_EQ(seen3, 1);
	CHECK_EQ(seen4, 1);
	/* Answered before its turn: not asked twice. */
	struct coord_peer c = peer(3);
	CHECK_EQ(managed_peers_reask_mark(&m), 2);
	CHECK_EQ(managed_apply_peer_on_demand(&m, &c), 0);
	CHECK(managed_peers_reask_next(&m, key));
	CHECK_EQ(key[0], 4);
	CHECK(!managed_peers_reask_next(&m, key));
	managed_remove_peer(&m, c.public_key);
	CHECK(!managed_peer_held(&m, c.public_key));
	managed_peers_free(&m.peers);
}

int main(void)
{
	test_views_keep_on_demand();
	test_reask_once_each();
	return check_report("test_managed_peers");
}
