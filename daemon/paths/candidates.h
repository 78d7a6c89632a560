/* A peer's candidates and where each came from, applied to its path set.
 * Pure (no I/O, no clock): unit-tested in tests/unit/daemon/test_paths_candidates.c.
 *
 * A path's address bytes are its struct endpoint's bytes, so a path and an
 * endpoint convert both ways without a table. Every path remembers why we
 * may probe it (origin bits): the server's view, a CALLME the server
 * relayed, or an authenticated message from that address. A path whose
 * last reason goes (the view dropped it) is removed. */
#ifndef ROAM_DAEMON_PATHS_CANDIDATES_H
#define ROAM_DAEMON_PATHS_CANDIDATES_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/managed/managed_host.h"
#include "net/endpoint.h"
#include "path/path.h"

enum paths_origin {
	PATHS_FROM_VIEW = 1,     /* the server's view of the peer (and the relay) */
	PATHS_FROM_CALLME = 2,   /* a CALLME the server relayed */
	PATHS_FROM_OBSERVED = 4, /* the source of an authenticated PONG or WireGuard message */
	PATHS_FROM_IFACE = 8,    /* a direct candidate through one of our interfaces (ifaces.h) */
};

struct paths_candidates {
	unsigned count;
	struct endpoint ep[PATH_MAX_PER_PEER];
};

/* Can we send to a (an underlay route for its family)? */
typedef bool (*paths_reachable_fn)(void *ctx, const struct sockaddr_any *a);

/* The view's candidates of a peer: the relay (while it is online and we
 * know the server's UDP address), its public endpoint, its port-mapped
 * one, its private ones;
 * addresses reachable() refuses are left out; no duplicates. */
void paths_candidates_from_view(const struct managed_peer_info *info, bool relay_known, paths_reachable_fn reachable,
				void *ctx, struct paths_candidates *out);

/* The path transport an endpoint is carried by; PATH_TRANSPORT_COUNT if none. */
enum path_transport paths_transport_of(const struct endpoint *ep);
/* A path's endpoint (its address bytes); -EINVAL if they are not one. */
int paths_path_endpoint(const struct path *p, struct endpoint *out);
const struct path *paths_find_endpoint(const struct path_set *set, const struct endpoint *ep);

/* Add ep with reason why (a PATHS_FROM_* bit), or add the reason to the path
 * that has it already (-EEXIST, *id set). A full set makes room by removing
 * a dead path that is not from the view; -ENOSPC if there is none. */
int paths_candidate_add(struct path_set *set, uint8_t origin[PATH_MAX_PER_PEER], const struct endpoint *ep,
			uint8_t why, uint64_t now, uint32_t *id);
/* The view changed: its candidates are c. Paths the view no longer lists
 * lose PATHS_FROM_VIEW and go if nothing else vouches for them. Returns
 * the number of paths added. */
unsigned paths_candidates_apply(struct path_set *set, uint8_t origin[PATH_MAX_PER_PEER],
				const struct paths_candidates *c, uint64_t now);

#endif
