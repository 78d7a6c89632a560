/* GET /v1/peer: a node asks the server for one peer it shares a group with
 * (docs/control-protocol.md, "Peers on demand"): by overlay address, or by
 * WireGuard public key. The target's query string, pure: the server parses
 * it (fuzz_peer_query), roamd and roam-loadtest format it. */
#ifndef ROAM_COORD_PEER_QUERY_H
#define ROAM_COORD_PEER_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"

#define COORD_PEER_PATH "/v1/peer"
/* "/v1/peer?key=" and 64 hex digits, or "?address=" and an IPv6 text. */
#define COORD_PEER_TARGET_MAX 96

struct coord_peer_query {
	bool by_key;
	uint8_t key[COORD_KEY_LEN]; /* by_key */
	int family;                 /* !by_key: AF_INET or AF_INET6 */
	uint8_t addr[16];           /* !by_key: 4 or 16 bytes in network order */
};

/* target: the request target ("/v1/peer?address=fd00::1" or
 * "/v1/peer?key=<64 lowercase hex>"), exactly one parameter. 0 or -EINVAL. */
int coord_peer_query_parse(const char *target, struct coord_peer_query *out);
/* The request target for q into buf (COORD_PEER_TARGET_MAX + 1): 0, -EINVAL, -ENOSPC. */
int coord_peer_query_format(const struct coord_peer_query *q, char *buf, size_t size);

#endif
