/* The relay thread's snapshot at 100 000 nodes (issue 14, steady server
 * CPU): a full build (a walk of every node) against a patch of the few that
 * moved since the last one, side by side, with the ratio.
 *
 *   build/bench/relay_snap_bench [NODES] [MOVES]   (default 100000, 8) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "crypto/crypto.h"
#include "server/directory.h"
#include "server/relay_snap.h"
#include "server/store.h"

static const uint8_t net6[16] = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a };

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void ep_of(uint32_t id, uint32_t gen, struct sockaddr_any *ep)
{
	char text[64];

	snprintf(text, sizeof(text), "10.%u.%u.%u:%u", 1 + gen % 200, (id >> 8) & 255, id & 255, 1024 + (id >> 16));
	sockaddr_any_parse(text, ep);
}

int main(int argc, char **argv)
{
	uint32_t nodes = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 100000;
	uint32_t moves = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 8;
	struct directory d;
	struct rsnap *snap, *next;
	struct dir_node *n;
	uint8_t priv[32];
	double build_ms = 0, patch_ms = 0, t;
	int rounds = 20;

	if (nodes < 2 || nodes > 1000000 || moves < 1 || moves > DIR_RELAY_DIRTY_MAX || crypto_init() < 0) {
		fprintf(stderr, "usage: relay_snap_bench [NODES 2..1000000] [MOVES 1..%d]\n", DIR_RELAY_DIRTY_MAX);
		return 2;
	}
	crypto_random(priv, 32);
	x25519_clamp(priv);
	if (dir_init(&d, priv, net6) < 0)
		return 1;
	for (uint32_t id = 1; id <= nodes; id++) {
		struct store_node rec = { .id = id, .approved = true, .groups_count = 1, .groups = { 1 + id / 100 } };
		struct sockaddr_any ep;
		bool changed;
		crypto_random(rec.public_key, sizeof(rec.public_key));
		store_node_addresses(id, net6, rec.ipv6, rec.ipv4);
		if (dir_node_set(&d, &rec, &n, &changed) < 0)
			return 1;
		ep_of(id, 0, &ep);
		dir_set_public(&d, n, &ep);
		n->online = true;
	}
	if (rsnap_build(&d, 0, NULL, &snap) < 0)
		return 1;
	dir_relay_dirty_clear(&d);
	for (int r = 1; r <= rounds; r++) {
		for (uint32_t i = 0; i < moves; i++) {
			struct sockaddr_any ep;
			uint32_t id = 1 + (uint32_t)(r * 7919u + i * 104729u) % nodes;
			ep_of(id, (uint32_t)r, &ep);
			dir_set_public(&d, dir_node_get(&d, id), &ep);
		}
		t = now_ms();
		if (rsnap_patch(&d, 0, snap, &next) < 0)
			return 1;
		patch_ms += now_ms() - t;
		rsnap_free(next);
		t = now_ms();
		if (rsnap_build(&d, 0, snap, &next) < 0)
			return 1;
		build_ms += now_ms() - t;
		rsnap_free(snap);
		snap = next;
		dir_relay_dirty_clear(&d);
	}
	printf("relay snapshot, %u nodes, %u moved since the last: full build %.2f ms, patch %.2f ms: %.1fx\n", nodes,
	       moves, build_ms / rounds, patch_ms / rounds, build_ms / patch_ms);
	rsnap_free(snap);
	dir_free(&d);
	return 0;
}
