/* A peer's candidates applied to its path set (candidates.h). */
#include "daemon/paths/candidates.h"

#include <errno.h>
#include <string.h>

static void add_unique(struct paths_candidates *out, const struct endpoint *ep)
{
	if (!ep->len || out->count >= PATH_MAX_PER_PEER)
		return;
	for (unsigned i = 0; i < out->count; i++)
		if (endpoint_equal(&out->ep[i], ep))
			return;
	out->ep[out->count++] = *ep;
}

static void add_address(struct paths_candidates *out, const struct sockaddr_any *a, paths_reachable_fn reachable,
			void *ctx)
{
	struct endpoint ep;
	if (!a->len || (reachable && !reachable(ctx, a)))
		return;
	endpoint_from_sockaddr(&ep, a);
	add_unique(out, &ep);
}

void paths_candidates_from_view(const struct managed_peer_info *info, bool relay_known, paths_reachable_fn reachable,
				void *ctx, struct paths_candidates *out)
{
	struct endpoint ep;
	out->count = 0;
	/* The relays the agent chose for this peer (meeting first); relay 0
	 * needs the server's address (or a relay link), relay-only servers the
	 * addresses the agent gave with the relay map. */
	for (unsigned i = 0; info->online && info->node_id && i < info->relay_count && i < MANAGED_PEER_RELAYS_MAX; i++) {
		if (info->relays[i] == 0 && !relay_known)
			continue;
		endpoint_relay(&ep, info->relays[i], info->node_id);
		add_unique(out, &ep);
	}
	if (info->online && relay_known && info->node_id && info->relay_count == 0) {
		endpoint_relay(&ep, 0, info->node_id);
		add_unique(out, &ep);
	}
	add_address(out, &info->public_endpoint, reachable, ctx);
	add_address(out, &info->mapped_endpoint, reachable, ctx);
	for (unsigned i = 0; i < info->private_count && i < COORD_PRIVATE_MAX; i++)
		add_address(out, &info->private_endpoints[i], reachable, ctx);
}

enum path_transport paths_transport_of(const struct endpoint *ep)
{
	switch (endpoint_transport(ep)) {
	case EP_UDP:
	case EP_UDP_AUX:
		return PATH_TRANSPORT_UDP_DIRECT;
	case EP_RELAY:
		return PATH_TRANSPORT_UDP_RELAY;
	default:
		return PATH_TRANSPORT_COUNT;
	}
}

int paths_path_endpoint(const struct path *p, struct endpoint *out)
{
	return endpoint_from_bytes(out, p->addr.bytes, p->addr.len);
}

const struct path *paths_find_endpoint(const struct path_set *set, const struct endpoint *ep)
{
	enum path_transport t = paths_transport_of(ep);
	if (t == PATH_TRANSPORT_COUNT)
		return NULL;
	return path_find(set, t, ep->bytes, ep->len);
}

static unsigned slot_of(const struct path_set *set, const struct path *p)
{
	return (unsigned)(p - set->paths);
}

/* A dead path that only CALLME or traffic vouched for: what a full set gives up first. */
static int make_room(struct path_set *set, uint8_t origin[PATH_MAX_PER_PEER], uint64_t now)
{
	for (unsigned i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &set->paths[i];
		if (p->in_use && p->state == PATH_DEAD && !(origin[i] & PATHS_FROM_VIEW)) {
			origin[i] = 0;
			return path_remove(set, p->id, now);
		}
	}
	return -ENOSPC;
}

int paths_candidate_add(struct path_set *set, uint8_t origin[PATH_MAX_PER_PEER], const struct endpoint *ep,
			uint8_t why, uint64_t now, uint32_t *id)
{
	enum path_transport t = paths_transport_of(ep);
	const struct path *p;
	uint32_t new_id;
	int ret;
	if (t == PATH_TRANSPORT_COUNT)
		return -EINVAL;
	if ((p = path_find(set, t, ep->bytes, ep->len))) {
		origin[slot_of(set, p)] |= why;
		*id = p->id;
		return -EEXIST;
	}
	ret = path_add(set, t, ep->bytes, ep->len, 0, now, &new_id);
	if (ret == -ENOSPC && make_room(set, origin, now) == 0)
		ret = path_add(set, t, ep->bytes, ep->len, 0, now, &new_id);
	if (ret < 0)
		return ret;
	origin[slot_of(set, path_get(set, new_id))] = why;
	*id = new_id;
	return 0;
}

static bool listed(const struct paths_candidates *c, const struct path *p)
{
	for (unsigned i = 0; i < c->count; i++)
		if (c->ep[i].len == p->addr.len && memcmp(c->ep[i].bytes, p->addr.bytes, p->addr.len) == 0)
			return true;
	return false;
}

unsigned paths_candidates_apply(struct path_set *set, uint8_t origin[PATH_MAX_PER_PEER],
				const struct paths_candidates *c, uint64_t now)
{
	unsigned added = 0;
	/* Removals first: they make room for what the view lists now. */
	for (unsigned i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &set->paths[i];
		if (!p->in_use || !(origin[i] & PATHS_FROM_VIEW) || listed(c, p))
			continue;
		origin[i] &= (uint8_t)~PATHS_FROM_VIEW;
		if (!origin[i])
			path_remove(set, p->id, now);
	}
	for (unsigned i = 0; i < c->count; i++) {
		uint32_t id;
		if (paths_candidate_add(set, origin, &c->ep[i], PATHS_FROM_VIEW, now, &id) == 0)
			added++;
	}
	return added;
}
