/* The relay thread's view of the directory (server/relay_thread.c): an
 * immutable snapshot the main loop builds and the thread reads, the nodes
 * with a live UDP binding or a relay link, by id and by endpoint. No I/O,
 * no threads here: rsnap_build walks the directory, rsnap_patch copies the
 * last snapshot with the few nodes that changed since (dir.relay_dirty),
 * and test_relay_snap checks that both agree. */
#ifndef ROAM_SERVER_RELAY_SNAP_H
#define ROAM_SERVER_RELAY_SNAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"

struct directory;

struct rsnap_node {
	uint32_t id;
	bool linked;            /* a relay link is open: the main loop delivers */
	int64_t active_until;   /* expires_at, INT64_MAX when it does not expire */
	struct sockaddr_any ep; /* its bound endpoint */
	uint32_t groups_off, groups_count;
	_Atomic int64_t rate_window; /* the thread's rate-limit state */
	_Atomic uint64_t rate_used;
};

struct rsnap {
	size_t count;
	struct rsnap_node *nodes; /* ascending id */
	uint32_t *groups;
	uint32_t *ep_tab; /* index + 1; 0: empty */
	size_t ep_mask;
	uint64_t rate_bytes_s;
	struct rsnap *retired_next;
	uint64_t retired_seq;
	bool retired_busy;
};

/* From every node of d (old: the rate-limit state carried over). */
int rsnap_build(const struct directory *d, uint64_t rate_bytes_s, const struct rsnap *old, struct rsnap **out);
/* A copy of old with d's dirty nodes patched in; -EAGAIN: build instead
 * (too many changes, a node entering or leaving, new groups, a new rate). */
int rsnap_patch(const struct directory *d, uint64_t rate_bytes_s, const struct rsnap *old, struct rsnap **out);
void rsnap_free(struct rsnap *sn);
struct rsnap_node *rsnap_by_id(const struct rsnap *sn, uint32_t id);
struct rsnap_node *rsnap_by_ep(const struct rsnap *sn, const struct directory *d, const struct sockaddr_any *ep);

#endif
