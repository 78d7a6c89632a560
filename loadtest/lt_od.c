/* Peers on demand in one roam-loadtest worker (issue 14): which members of
 * a big group hold which, as the server's pairs (symmetric: asker and asked
 * get each other's changes). The asker holds the peer from the answer, the
 * asked node from the peer line the server pushes it. Pure: no I/O, no
 * clock; indexes are the worker's node indexes, ids the server's. */
#include "loadtest/lt_od.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int lt_od_init(struct lt_od *od, size_t count)
{
	memset(od, 0, sizeof(*od));
	od->id_cap = 16;
	while (od->id_cap < count * 2)
		od->id_cap *= 2;
	od->node = calloc(count ? count : 1, sizeof(*od->node));
	od->id_key = calloc(od->id_cap, sizeof(*od->id_key));
	od->id_idx = calloc(od->id_cap, sizeof(*od->id_idx));
	if (!od->node || !od->id_key || !od->id_idx) {
		lt_od_free(od);
		return -ENOMEM;
	}
	od->count = count;
	return 0;
}

void lt_od_free(struct lt_od *od)
{
	if (!od)
		return;
	for (size_t i = 0; od->node && i < od->count; i++)
		free(od->node[i].e);
	free(od->node);
	free(od->id_key);
	free(od->id_idx);
	memset(od, 0, sizeof(*od));
}

static struct lt_od_edge *edge_find(const struct lt_od *od, size_t a, size_t b)
{
	const struct lt_od_node *n = &od->node[a];

	for (size_t i = 0; i < n->count; i++)
		if (n->e[i].peer == b)
			return &n->e[i];
	return NULL;
}

static void edge_drop(struct lt_od_node *n, size_t i)
{
	memmove(&n->e[i], &n->e[i + 1], (n->count - i - 1) * sizeof(*n->e));
	n->count--;
}

static bool pair_valid(const struct lt_od *od, size_t a, size_t b)
{
	return a < od->count && b < od->count && a != b;
}

/* a's edge to b, added if new (flags; *r 1), or NULL (*r -EINVAL, -ENOMEM). */
static struct lt_od_edge *edge_get(struct lt_od *od, size_t a, size_t b, uint8_t flags, int *r)
{
	struct lt_od_node *n;
	struct lt_od_edge *e;

	*r = -EINVAL;
	if (!pair_valid(od, a, b))
		return NULL;
	n = &od->node[a];
	*r = 0;
	if ((e = edge_find(od, a, b)))
		return e;
	if (n->count == LT_OD_MAX)
		edge_drop(n, 0); /* the oldest, as the server forgets it */
	if (n->count == n->cap) {
		size_t cap = n->cap ? (size_t)n->cap * 2 : 4;
		struct lt_od_edge *p = realloc(n->e, (cap > LT_OD_MAX ? LT_OD_MAX : cap) * sizeof(*p));
		if (!p) {
			*r = -ENOMEM;
			return NULL;
		}
		n->e = p;
		n->cap = (uint16_t)(cap > LT_OD_MAX ? LT_OD_MAX : cap);
	}
	e = &n->e[n->count++];
	*e = (struct lt_od_edge){ .peer = (uint32_t)b, .epoch = od->epoch, .flags = flags };
	*r = 1;
	return e;
}

int lt_od_add(struct lt_od *od, size_t a, size_t b, bool asked)
{
	struct lt_od_edge *e;
	int r, fresh;

	if (!(e = edge_get(od, a, b, asked ? LT_OD_ASKED : 0, &r)))
		return r;
	fresh = r == 1 || e->epoch != od->epoch || (e->flags & (LT_OD_REASK | LT_OD_PENDING));
	e->epoch = od->epoch;
	e->flags = (uint8_t)((e->flags & LT_OD_ASKED) | (asked ? LT_OD_ASKED : 0));
	return fresh;
}

int lt_od_expect(struct lt_od *od, size_t a, size_t b)
{
	struct lt_od_edge *e;
	int r;

	if (!(e = edge_get(od, a, b, LT_OD_PENDING, &r)))
		return r;
	if (e->epoch != od->epoch || (e->flags & LT_OD_REASK)) {
		/* a pair of the old server: not held until b's line comes */
		e->epoch = od->epoch;
		e->flags = LT_OD_PENDING;
	}
	return 0;
}

bool lt_od_learn(struct lt_od *od, size_t a, size_t b)
{
	struct lt_od_edge *e = a < od->count ? edge_find(od, a, b) : NULL;

	if (!e || !(e->flags & LT_OD_PENDING))
		return false;
	e->flags &= (uint8_t)~LT_OD_PENDING;
	e->epoch = od->epoch;
	return true;
}

bool lt_od_holds(const struct lt_od *od, size_t a, size_t b)
{
	const struct lt_od_edge *e = a < od->count ? edge_find(od, a, b) : NULL;

	return e && e->epoch == od->epoch && !(e->flags & (LT_OD_REASK | LT_OD_PENDING));
}

bool lt_od_pair(const struct lt_od *od, size_t a, size_t b)
{
	return lt_od_holds(od, a, b) || lt_od_holds(od, b, a);
}

size_t lt_od_holders(const struct lt_od *od, size_t x, const uint32_t *members, size_t count,
		     bool (*current)(size_t idx, void *ctx), void *ctx)
{
	size_t c = 0;

	for (size_t i = 0; i < count; i++)
		if (members[i] != x && lt_od_pair(od, x, members[i]) && (!current || current(members[i], ctx)))
			c++;
	return c;
}

size_t lt_od_back(struct lt_od *od, size_t a)
{
	struct lt_od_node *n = &od->node[a];
	size_t reask = 0;

	for (size_t i = n->count; i-- > 0;) {
		struct lt_od_edge *e = &n->e[i];
		if (e->epoch == od->epoch || (e->flags & LT_OD_REASK))
			continue; /* current, or counted already */
		if (e->flags & LT_OD_ASKED) { /* the server forgot it: asked again */
			e->flags |= LT_OD_REASK;
			reask++;
		} else {
			edge_drop(n, i); /* the asker asks again: learned again */
		}
	}
	return reask;
}

bool lt_od_reask_take(struct lt_od *od, size_t a, size_t *target)
{
	struct lt_od_node *n = &od->node[a];

	for (size_t i = 0; i < n->count; i++) {
		if (n->e[i].flags & LT_OD_REASK) {
			*target = n->e[i].peer;
			edge_drop(n, i); /* held again when the answer comes */
			return true;
		}
	}
	return false;
}

int lt_od_reask_put(struct lt_od *od, size_t a, size_t target)
{
	struct lt_od_edge *e;
	int r;

	if (!(e = edge_get(od, a, target, LT_OD_ASKED | LT_OD_REASK, &r)))
		return r;
	if (!lt_od_holds(od, a, target))
		e->flags |= LT_OD_ASKED | LT_OD_REASK;
	return 0;
}

/* ---- node id -> worker index (open addressing; ids are never 0) ---- */

static size_t id_slot(const struct lt_od *od, uint32_t id)
{
	size_t i = (id * 2654435761u) & (od->id_cap - 1);

	while (od->id_key[i] && od->id_key[i] != id)
		i = (i + 1) & (od->id_cap - 1);
	return i;
}

int lt_od_id_set(struct lt_od *od, uint32_t id, size_t idx)
{
	size_t i;

	if (!id || idx >= od->count || !od->id_cap)
		return -EINVAL;
	i = id_slot(od, id);
	if (!od->id_key[i] && od->ids * 2 >= od->id_cap)
		return -ENOSPC; /* more ids than nodes: never, with one per node */
	if (!od->id_key[i])
		od->ids++;
	od->id_key[i] = id;
	od->id_idx[i] = (uint32_t)idx;
	return 0;
}

bool lt_od_id_find(const struct lt_od *od, uint32_t id, size_t *idx)
{
	size_t i;

	if (!id || !od->id_cap)
		return false;
	i = id_slot(od, id);
	if (!od->id_key[i])
		return false;
	*idx = od->id_idx[i];
	return true;
}
