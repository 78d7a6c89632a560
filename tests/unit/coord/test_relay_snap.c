/* The relay thread's snapshot (server/relay_snap.c): a patched copy of the
 * last one agrees with a full build of the directory, through random
 * moves, takeovers, nodes going offline and back, links and expiries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "crypto/crypto.h"
#include "server/directory.h"
#include "server/relay_snap.h"
#include "server/store.h"

#define NODES 3000
#define ROUNDS 400

static const uint8_t net6[16] = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a };

/* crowded: from few addresses and ports (takeovers happen) */
static void random_ep(struct sockaddr_any *ep, bool crowded)
{
	char text[64];
	uint32_t r;

	crypto_random(&r, sizeof(r));
	if (crowded)
		snprintf(text, sizeof(text), "10.0.%u.%u:%u", (r >> 8) % 4, r % 200 + 1, 4000 + (r >> 16) % 4);
	else
		snprintf(text, sizeof(text), "10.%u.%u.%u:%u", 1 + (r >> 24) % 200, (r >> 8) % 256, r % 250 + 1,
			 1024 + (r >> 16) % 60000);
	CHECK_EQ(sockaddr_any_parse(text, ep), 0);
}

static bool same(const struct rsnap *a, const struct rsnap *b, const struct directory *d)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < b->count; i++) {
		const struct rsnap_node *x = &b->nodes[i], *y = rsnap_by_id(a, x->id);
		if (!y || y->linked != x->linked || y->active_until != x->active_until || y->ep.len != x->ep.len ||
		    (x->ep.len && !sockaddr_any_equal(&x->ep, &y->ep)) || y->groups_count != x->groups_count ||
		    memcmp(a->groups + y->groups_off, b->groups + x->groups_off, x->groups_count * sizeof(uint32_t)))
			return false;
		if (x->ep.len && rsnap_by_ep(a, d, &x->ep) != y)
			return false;
	}
	return true;
}

int main(void)
{
	static const struct store_group groups[] = { { .id = 1, .name = "a" }, { .id = 2, .name = "b" } };
	struct directory d;
	struct rsnap *snap = NULL, *patched, *full;
	struct dir_node *n;
	uint8_t priv[32];
	unsigned patches = 0, builds = 0;

	if (crypto_init() < 0)
		return 1;
	crypto_random(priv, 32);
	x25519_clamp(priv);
	CHECK_EQ(dir_init(&d, priv, net6), 0);
	for (uint32_t id = 1; id <= NODES; id++) {
		struct store_node rec = { .id = id, .approved = true, .groups_count = 1 + id % 2 };
		struct sockaddr_any ep;
		bool changed;
		snprintf(rec.name, sizeof(rec.name), "n%u", id);
		crypto_random(rec.public_key, sizeof(rec.public_key));
		rec.groups[0] = 1;
		rec.groups[1] = 2;
		CHECK_EQ(store_node_addresses(id, net6, rec.ipv6, rec.ipv4), 0);
		CHECK_EQ(dir_node_set(&d, &rec, &n, &changed), 0);
		random_ep(&ep, true);
		if (id % 7) { /* most bound (a takeover may unbind another) */
			CHECK_EQ(dir_set_public(&d, n, &ep), 0);
			n->online = true;
		}
	}
	CHECK_EQ(dir_groups_set(&d, groups, 2), 0);
	CHECK_EQ(rsnap_build(&d, 0, NULL, &snap), 0);
	dir_relay_dirty_clear(&d);
	for (int round = 0; round < ROUNDS; round++) {
		uint32_t r, ops;
		crypto_random(&ops, sizeof(ops));
		ops = 1 + ops % (round % 50 == 0 ? 600 : 4); /* now and then more than the list holds */
		for (uint32_t i = 0; i < ops; i++) {
			struct sockaddr_any ep;
			crypto_random(&r, sizeof(r));
			n = dir_node_get(&d, 1 + r % NODES);
			switch ((r >> 16) % 60) {
			case 0: /* goes offline */
				dir_set_offline(&d, n, true);
				break;
			case 1: { /* its expiry changes (a record change) */
				struct store_node rec = n->rec;
				struct dir_node *same_n;
				bool changed;
				rec.expires_at = rec.expires_at ? 0 : 4000000000;
				CHECK_EQ(dir_node_set(&d, &rec, &same_n, &changed), 0);
				break;
			}
			default: /* moves (or binds again, now and then taking another's endpoint) */
				random_ep(&ep, (r >> 8) % 30 == 0);
				CHECK_EQ(dir_set_public(&d, n, &ep), 0);
				if (!n->online)
					dir_relay_touch(&d, n->rec.id);
				n->online = true;
				break;
			}
		}
		CHECK_EQ(rsnap_build(&d, 0, snap, &full), 0);
		if (rsnap_patch(&d, 0, snap, &patched) == 0) {
			patches++;
			CHECK(same(patched, full, &d));
			rsnap_free(full);
			full = patched;
		} else {
			builds++;
		}
		rsnap_free(snap);
		snap = full;
		dir_relay_dirty_clear(&d);
	}
	printf("%u patched, %u built\n", patches, builds);
	CHECK(patches > ROUNDS / 4 && builds > 0);
	/* nothing changed: a patch is the same snapshot */
	CHECK_EQ(rsnap_patch(&d, 0, snap, &patched), 0);
	CHECK(same(patched, snap, &d));
	rsnap_free(patched);
	/* a new rate limit is a build */
	CHECK(rsnap_patch(&d, 1000, snap, &patched) < 0);
	rsnap_free(snap);
	dir_free(&d);
	return check_report("test_relay_snap");
}
