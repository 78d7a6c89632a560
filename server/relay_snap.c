/* relay_snap.h: building and patching the relay thread's snapshot. */
#include "server/relay_snap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/directory.h"

void rsnap_free(struct rsnap *sn)
{
	if (!sn)
		return;
	free(sn->nodes);
	free(sn->groups);
	free(sn->ep_tab);
	free(sn);
}

struct rsnap_node *rsnap_by_id(const struct rsnap *sn, uint32_t id)
{
	size_t lo = 0, hi = sn->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sn->nodes[mid].id == id)
			return &sn->nodes[mid];
		if (sn->nodes[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct rsnap_node *rsnap_by_ep(const struct rsnap *sn, const struct directory *d, const struct sockaddr_any *ep)
{
	for (size_t i = dir_endpoint_hash(d, ep) & sn->ep_mask; sn->ep_tab[i]; i = (i + 1) & sn->ep_mask) {
		struct rsnap_node *n = &sn->nodes[sn->ep_tab[i] - 1];
		if (sockaddr_any_equal(&n->ep, ep))
			return n;
	}
	return NULL;
}

/* Bound nodes, and nodes reached only over a relay link (no UDP endpoint):
 * without the latter, every datagram from UDP to a node on a TLS link would
 * count as doubtful and most would be dropped (7-25 Mbit/s instead of
 * ~900 through t_relay_matrix). */
static bool rsnap_usable(const struct dir_node *n)
{
	return n->online && (n->public_ep.len || dir_node_linked(n)) && n->rec.approved && n->k_ok;
}

/* The rate-limit state of the node in the snapshot before (the thread may
 * still be adding to it: a few bytes may be lost, never the window). */
static void rsnap_carry(struct rsnap_node *to, const struct rsnap *old)
{
	const struct rsnap_node *o = old ? rsnap_by_id(old, to->id) : NULL;

	atomic_init(&to->rate_window, o ? atomic_load_explicit(&o->rate_window, memory_order_relaxed) : 0);
	atomic_init(&to->rate_used, o ? atomic_load_explicit(&o->rate_used, memory_order_relaxed) : 0);
}

/* The first empty slot on ep's probe path. */
static size_t ep_free_slot(const struct rsnap *sn, const struct directory *d, const struct sockaddr_any *ep)
{
	size_t i = dir_endpoint_hash(d, ep) & sn->ep_mask;

	while (sn->ep_tab[i])
		i = (i + 1) & sn->ep_mask;
	return i;
}

int rsnap_build(const struct directory *d, uint64_t rate_bytes_s, const struct rsnap *old, struct rsnap **out)
{
	size_t count = 0, groups = 0, cap = 16;
	struct rsnap *sn = calloc(1, sizeof(*sn));

	for (size_t i = 0; i < d->by_id_cap; i++)
		if (d->by_id[i] && rsnap_usable(d->by_id[i])) {
			count++;
			groups += d->by_id[i]->rec.groups_count;
		}
	while (cap < count * 2)
		cap *= 2;
	if (!sn || !(sn->nodes = calloc(count ? count : 1, sizeof(*sn->nodes))) ||
	    !(sn->groups = calloc(groups ? groups : 1, sizeof(*sn->groups))) ||
	    !(sn->ep_tab = calloc(cap, sizeof(*sn->ep_tab)))) {
		rsnap_free(sn);
		return -ENOMEM;
	}
	sn->ep_mask = cap - 1;
	sn->rate_bytes_s = rate_bytes_s;
	groups = 0;
	for (size_t i = 0; i < d->by_id_cap; i++) { /* by_id is indexed by id: ascending */
		const struct dir_node *n = d->by_id[i];
		struct rsnap_node *e;
		if (!n || !rsnap_usable(n))
			continue;
		e = &sn->nodes[sn->count];
		e->id = n->rec.id;
		e->linked = dir_node_linked(n);
		e->active_until = n->rec.expires_at ? n->rec.expires_at : INT64_MAX;
		e->ep = n->public_ep;
		e->groups_off = (uint32_t)groups;
		e->groups_count = (uint32_t)n->rec.groups_count;
		memcpy(sn->groups + groups, n->rec.groups, n->rec.groups_count * sizeof(*sn->groups));
		groups += n->rec.groups_count;
		rsnap_carry(e, old);
		sn->count++;
		if (!e->ep.len)
			continue; /* a link only: found by id, never as a sender */
		sn->ep_tab[ep_free_slot(sn, d, &e->ep)] = (uint32_t)sn->count;
	}
	*out = sn;
	return 0;
}

/* The slot of ep_tab holding node index idx (0-based), found from ep. */
static size_t ep_slot(const struct rsnap *sn, const struct directory *d, const struct sockaddr_any *ep, uint32_t idx)
{
	size_t i = dir_endpoint_hash(d, ep) & sn->ep_mask;

	while (sn->ep_tab[i] && sn->ep_tab[i] != idx + 1)
		i = (i + 1) & sn->ep_mask;
	return i;
}

/* Linear probing's deletion: the slot emptied, and the entries after it
 * that would no longer be found moved back (Knuth's algorithm R). */
static void ep_delete(struct rsnap *sn, const struct directory *d, size_t i)
{
	size_t j = i;

	sn->ep_tab[i] = 0;
	for (;;) {
		size_t home;
		j = (j + 1) & sn->ep_mask;
		if (!sn->ep_tab[j])
			return;
		home = dir_endpoint_hash(d, &sn->nodes[sn->ep_tab[j] - 1].ep) & sn->ep_mask;
		/* j's entry stays if its home lies cyclically in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		sn->ep_tab[i] = sn->ep_tab[j];
		sn->ep_tab[j] = 0;
		i = j;
	}
}

/* A copy of old with the directory's few changed nodes (dir.relay_dirty)
 * patched in: no walk of every node. -EAGAIN when a full build is needed
 * (too many changes, a node that enters or leaves the snapshot, new groups:
 * the arrays would change shape). */
int rsnap_patch(const struct directory *d, uint64_t rate_bytes_s, const struct rsnap *old, struct rsnap **out)
{
	struct rsnap *sn;
	size_t groups;

	if (!old || d->relay_full || old->rate_bytes_s != rate_bytes_s)
		return -EAGAIN;
	for (size_t i = 0; i < d->relay_dirty_count; i++) {
		const struct dir_node *n = dir_node_get(d, d->relay_dirty[i]);
		const struct rsnap_node *e = rsnap_by_id(old, d->relay_dirty[i]);
		bool usable = n && rsnap_usable(n);
		if (usable != (e != NULL))
			return -EAGAIN;
		if (e && (e->groups_count != n->rec.groups_count ||
			  memcmp(old->groups + e->groups_off, n->rec.groups, e->groups_count * sizeof(*old->groups))))
			return -EAGAIN;
	}
	groups = old->count ? old->nodes[old->count - 1].groups_off + old->nodes[old->count - 1].groups_count : 0;
	if (!(sn = calloc(1, sizeof(*sn))) || !(sn->nodes = malloc((old->count ? old->count : 1) * sizeof(*sn->nodes))) ||
	    !(sn->groups = malloc((groups ? groups : 1) * sizeof(*sn->groups))) ||
	    !(sn->ep_tab = malloc((old->ep_mask + 1) * sizeof(*sn->ep_tab)))) {
		rsnap_free(sn);
		return -ENOMEM;
	}
	/* The rate-limit atomics come along as they are now (the thread may
	 * add a few bytes to the old ones meanwhile: lost, never the window). */
	memcpy(sn->nodes, old->nodes, old->count * sizeof(*sn->nodes));
	memcpy(sn->groups, old->groups, groups * sizeof(*sn->groups));
	memcpy(sn->ep_tab, old->ep_tab, (old->ep_mask + 1) * sizeof(*sn->ep_tab));
	sn->count = old->count;
	sn->ep_mask = old->ep_mask;
	sn->rate_bytes_s = old->rate_bytes_s;
	for (size_t i = 0; i < d->relay_dirty_count; i++) {
		const struct dir_node *n = dir_node_get(d, d->relay_dirty[i]);
		struct rsnap_node *e = n ? rsnap_by_id(sn, n->rec.id) : NULL;
		uint32_t idx;
		if (!e)
			continue; /* not usable before or now */
		idx = (uint32_t)(e - sn->nodes);
		e->linked = dir_node_linked(n);
		e->active_until = n->rec.expires_at ? n->rec.expires_at : INT64_MAX;
		if (e->ep.len == n->public_ep.len && (!e->ep.len || sockaddr_any_equal(&e->ep, &n->public_ep)))
			continue;
		if (e->ep.len)
			ep_delete(sn, d, ep_slot(sn, d, &e->ep, idx));
		e->ep = n->public_ep;
		if (e->ep.len)
			sn->ep_tab[ep_free_slot(sn, d, &e->ep)] = idx + 1;
	}
	*out = sn;
	return 0;
}

