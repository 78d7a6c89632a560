/* Peers on demand in one roam-loadtest worker (lt_od.c): who holds whom,
 * per server instance (an epoch: a restarted server forgot every pair).
 * Pure; the asks themselves are lt_ask.c's. */
#ifndef ROAM_LOADTEST_LT_OD_H
#define ROAM_LOADTEST_LT_OD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LT_OD_MAX 1024 /* pairs a node holds, as the server's cap (DIR_OD_MAX) */

enum { LT_OD_ASKED = 1,  /* it asked for the peer (else: learned from a pushed line) */
       LT_OD_REASK = 2,  /* asked in an older epoch: to ask again, not held */
       LT_OD_PENDING = 4 /* the peer is asking for it: its line is due, not held yet */ };

struct lt_od_edge {
	uint32_t peer;  /* worker index */
	uint32_t epoch; /* the server instance that made the pair */
	uint8_t flags;
};

struct lt_od_node {
	struct lt_od_edge *e; /* oldest first */
	uint16_t count, cap;
};

struct lt_od {
	struct lt_od_node *node; /* by worker index */
	size_t count;
	uint32_t epoch; /* bumped when the server restarts */
	/* node id -> worker index */
	uint32_t *id_key, *id_idx;
	size_t id_cap, ids;
};

int lt_od_init(struct lt_od *od, size_t count);
void lt_od_free(struct lt_od *od);
/* a holds b from now on (asked: a asked for it). 1: new (or held again
 * after a restart), 0: held already, -EINVAL, -ENOMEM. Beyond LT_OD_MAX
 * a's oldest is forgotten. */
int lt_od_add(struct lt_od *od, size_t a, size_t b, bool asked);
bool lt_od_holds(const struct lt_od *od, size_t a, size_t b); /* in this epoch */
/* b is asking for a: a's next pushed line from b is b's ask, not a line
 * from before (a group that became big). 0, -EINVAL, -ENOMEM. */
int lt_od_expect(struct lt_od *od, size_t a, size_t b);
/* a got a pushed peer line from b: true (and a now holds b) if b's ask was
 * expected there. */
bool lt_od_learn(struct lt_od *od, size_t a, size_t b);
/* The server's pair: either end knows it, both get the other's changes. */
bool lt_od_pair(const struct lt_od *od, size_t a, size_t b);
/* Members (worker indexes) other than x holding a pair with x, and current
 * (NULL: all). */
size_t lt_od_holders(const struct lt_od *od, size_t x, const uint32_t *members, size_t count,
		     bool (*current)(size_t idx, void *ctx), void *ctx);
static inline void lt_od_restart(struct lt_od *od) { od->epoch++; }
/* a holds a view of the restarted server: its pairs of older epochs are
 * gone there; those it asked for are to be asked again (returned: how
 * many), those it learned are dropped (their askers ask again). */
size_t lt_od_back(struct lt_od *od, size_t a);
/* One peer a is to ask again (then no longer listed): false if none. */
bool lt_od_reask_take(struct lt_od *od, size_t a, size_t *target);
/* target back on a's list to ask again (it could not be asked now). */
int lt_od_reask_put(struct lt_od *od, size_t a, size_t target);

/* Node ids of this worker's nodes, for the pushed lines (0 or -EINVAL,
 * -ENOSPC); find: false if not one of them. */
int lt_od_id_set(struct lt_od *od, uint32_t id, size_t idx);
bool lt_od_id_find(const struct lt_od *od, uint32_t id, size_t *idx);

#endif
