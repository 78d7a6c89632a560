/* Cryptokey routing table (WireGuard paper 2): longest-prefix match from an
 * inner IP address to the peer allowed to use it, in both directions. A
 * path-compressed binary trie per address family. */
#ifndef ROAM_WG_ALLOWEDIPS_H
#define ROAM_WG_ALLOWEDIPS_H

#include <stdint.h>

struct wg_peer;
struct aip_node;

struct allowedips {
	struct aip_node *root4;
	struct aip_node *root6;
	unsigned count;
};

void allowedips_init(struct allowedips *t);
void allowedips_free(struct allowedips *t);
/* family AF_INET (4-byte addr, cidr <= 32) or AF_INET6 (16 bytes, <= 128).
 * Re-inserting a prefix moves it to the new peer. -EINVAL, -ENOMEM. */
int allowedips_insert(struct allowedips *t, int family, const uint8_t *addr, uint8_t cidr, struct wg_peer *peer);
struct wg_peer *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *addr);
void allowedips_remove_peer(struct allowedips *t, const struct wg_peer *peer);
/* Calls fn for each prefix owned by peer; stops early if fn returns non-zero. */
int allowedips_walk_peer(const struct allowedips *t, const struct wg_peer *peer,
			 int (*fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr), void *ctx);

#endif
