/* Peers from the server's stream, with their candidates (public and
 * private endpoints), handed to the data plane, whose path manager
 * (daemon/paths/) probes them and picks each peer's path. A
 * peer's AllowedIPs are exactly its two overlay addresses: a node outside
 * our groups is never added, so its packets find no peer at either end.
 * The table here is managed mode's own (the agent process holds no engine). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/managed/managed.h"
#include "util/log.h"

/* Keeps NAT mappings towards a peer open while we are behind a NAT. */
#define NAT_KEEPALIVE_S 25
#define TABLE_MIN_BUCKETS 64

struct managed_peer {
	struct coord_peer info;
	uint32_t view_gen;
	bool on_demand; /* from GET /v1/peer, not our view: full views keep it */
	bool reask_due; /* to ask for again (a new stream: the server forgot) */
	struct managed_peer *next;
};

int managed_peers_init(struct managed_peer_table *t)
{
	memset(t, 0, sizeof(*t));
	t->buckets = calloc(TABLE_MIN_BUCKETS, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->nbuckets = TABLE_MIN_BUCKETS;
	return 0;
}

static size_t bucket_of(const struct managed_peer_table *t, const uint8_t key[COORD_KEY_LEN])
{
	uint64_t h;
	memcpy(&h, key, sizeof(h)); /* public keys are uniformly random */
	return (size_t)(h & (t->nbuckets - 1));
}

static struct managed_peer **find_slot(struct managed_peer_table *t, const uint8_t key[COORD_KEY_LEN])
{
	struct managed_peer **slot = &t->buckets[bucket_of(t, key)];
	while (*slot && memcmp((*slot)->info.public_key, key, COORD_KEY_LEN) != 0)
		slot = &(*slot)->next;
	return slot;
}

/* Doubles the bucket array when the table gets full; a failed grow only
 * makes chains longer. */
static void maybe_grow(struct managed_peer_table *t)
{
	if (t->count < t->nbuckets)
		return;
	size_t n = t->nbuckets * 2;
	struct managed_peer **b = calloc(n, sizeof(*b));
	if (!b)
		return;
	struct managed_peer **old = t->buckets;
	size_t old_n = t->nbuckets;
	t->buckets = b;
	t->nbuckets = n;
	for (size_t i = 0; i < old_n; i++) {
		while (old[i]) {
			struct managed_peer *p = old[i];
			old[i] = p->next;
			size_t j = bucket_of(t, p->info.public_key);
			p->next = b[j];
			b[j] = p;
		}
	}
	free(old);
}

void managed_peers_free(struct managed_peer_table *t)
{
	for (size_t i = 0; t->buckets && i < t->nbuckets; i++) {
		while (t->buckets[i]) {
			struct managed_peer *p = t->buckets[i];
			t->buckets[i] = p->next;
			free(p);
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

/* Tells the data plane about mp: its candidates, for the path manager
 * there to probe and choose from. */
static void push_peer(struct managed *m, struct managed_peer *mp)
{
	const struct coord_peer *p = &mp->info;
	struct managed_peer_info info = { .node_id = p->node_id, .online = p->online, .nat = p->nat,
					  .last_seen = p->last_seen, .ipv6 = p->ipv6, .ipv4 = p->ipv4,
					  .public_endpoint = p->public_endpoint, .mapped_endpoint = p->mapped_endpoint,
					  .mapping = p->mapping };
	memcpy(info.public_key, p->public_key, COORD_KEY_LEN);
	snprintf(info.name, sizeof(info.name), "%s", p->name);
	info.ipv6.cidr = 128;
	info.ipv4.cidr = 32;
	for (size_t i = 0; i < p->private_count && i < COORD_PRIVATE_MAX; i++)
		info.private_endpoints[info.private_count++] = p->private_endpoints[i];
	info.keepalive_s = m->st.nat == MANAGED_NAT_PUBLIC ? 0 : NAT_KEEPALIVE_S;
	info.relay_count = (uint8_t)managed_relays_for_peer(m, &p->relay_rtt, info.relays);
	info.has_file_key = p->has_file_key;
	memcpy(info.file_key, p->file_key, COORD_KEY_LEN);
	info.on_demand = mp->on_demand;
	m->host->peer_set(m->host_ctx, &info);
}

/* A peer given on demand becomes one unless our view holds it already,
 * and stays one whatever lists it later: the server's views list the pairs
 * it remembers, and it forgets them when it restarts. */
static int apply_peer(struct managed *m, const struct coord_peer *p, bool full_view, bool on_demand)
{
	struct managed_peer **slot = find_slot(&m->peers, p->public_key);
	struct managed_peer *mp = *slot;
	if (memcmp(p->public_key, m->public_key, COORD_KEY_LEN) == 0)
		return 0; /* ourselves: never a peer */
	if (!mp) {
		if (!(mp = calloc(1, sizeof(*mp))))
			return -ENOMEM;
		mp->on_demand = on_demand;
		mp->view_gen = m->peers.view_gen - 1; /* not in the view held */
		*slot = mp;
		m->peers.count++;
		maybe_grow(&m->peers);
	}
	mp->info = *p;
	if (full_view)
		mp->view_gen = m->peers.view_gen;
	if (on_demand)
		mp->reask_due = false; /* just answered */
	push_peer(m, mp);
	return 0;
}

int managed_apply_peer(struct managed *m, const struct coord_peer *p, bool full_view)
{
	return apply_peer(m, p, full_view, false);
}

int managed_apply_peer_on_demand(struct managed *m, const struct coord_peer *p)
{
	return apply_peer(m, p, false, true);
}

bool managed_peer_is_on_demand(struct managed *m, const uint8_t public_key[COORD_KEY_LEN])
{
	const struct managed_peer *mp = *find_slot(&m->peers, public_key);
	return mp && mp->on_demand;
}

bool managed_peer_held(struct managed *m, const uint8_t public_key[COORD_KEY_LEN])
{
	return *find_slot(&m->peers, public_key) != NULL;
}

bool managed_peer_held_at(struct managed *m, int family, const uint8_t *addr)
{
	struct managed_peer_table *t = &m->peers;
	size_t n = family == AF_INET6 ? 16 : 4;
	for (size_t i = 0; i < t->nbuckets; i++)
		for (const struct managed_peer *p = t->buckets[i]; p; p = p->next) {
			const struct ip_prefix *a = family == AF_INET6 ? &p->info.ipv6 : &p->info.ipv4;
			if (a->family == family && memcmp(a->addr, addr, n) == 0)
				return true;
		}
	return false;
}

void managed_peer_mark_on_demand(struct managed *m, const uint8_t public_key[COORD_KEY_LEN])
{
	struct managed_peer *mp = *find_slot(&m->peers, public_key);
	if (!mp || mp->on_demand)
		return;
	mp->on_demand = true;
	log_info("peer %s asked for us on demand", mp->info.name);
	push_peer(m, mp);
}

size_t managed_peers_reask_mark(struct managed *m)
{
	struct managed_peer_table *t = &m->peers;
	size_t n = 0;
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct managed_peer *p = t->buckets[i]; p; p = p->next)
			if ((p->reask_due = p->on_demand))
				n++;
	return n;
}

bool managed_peers_reask_next(struct managed *m, uint8_t public_key[COORD_KEY_LEN])
{
	struct managed_peer_table *t = &m->peers;
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct managed_peer *p = t->buckets[i]; p; p = p->next)
			if (p->reask_due) {
				p->reask_due = false;
				memcpy(public_key, p->info.public_key, COORD_KEY_LEN);
				return true;
			}
	return false;
}

/* A peer the data plane held before this agent started: known by its
 * info, and kept only if the next full view still lists it. */
void managed_adopt_peer(struct managed *m, const struct managed_peer_info *info)
{
	struct managed_peer **slot = find_slot(&m->peers, info->public_key);
	if (*slot)
		return;
	struct managed_peer *mp = calloc(1, sizeof(*mp));
	if (!mp)
		return;
	memcpy(mp->info.public_key, info->public_key, COORD_KEY_LEN);
	snprintf(mp->info.name, sizeof(mp->info.name), "%s", info->name);
	mp->info.node_id = info->node_id;
	mp->info.ipv6 = info->ipv6;
	mp->info.ipv4 = info->ipv4;
	mp->info.online = info->online;
	mp->info.nat = info->nat;
	mp->info.last_seen = info->last_seen;
	mp->info.public_endpoint = info->public_endpoint;
	mp->info.mapped_endpoint = info->mapped_endpoint;
	mp->info.mapping = info->mapping;
	for (size_t i = 0; i < info->private_count && i < COORD_PRIVATE_MAX; i++)
		mp->info.private_endpoints[mp->info.private_count++] = info->private_endpoints[i];
	mp->view_gen = m->peers.view_gen - 1; /* not in any view yet */
	mp->on_demand = info->on_demand; /* asked for again after the first stream */
	*slot = mp;
	m->peers.count++;
	maybe_grow(&m->peers);
}

static void unlink_peer(struct managed *m, struct managed_peer **slot)
{
	struct managed_peer *mp = *slot;
	log_info("peer %s left our groups", mp->info.name);
	m->host->peer_remove(m->host_ctx, mp->info.public_key);
	*slot = mp->next;
	m->peers.count--;
	free(mp);
}

void managed_remove_peer(struct managed *m, const uint8_t public_key[COORD_KEY_LEN])
{
	struct managed_peer **slot = find_slot(&m->peers, public_key);
	if (*slot)
		unlink_peer(m, slot);
}

void managed_remove_all_peers(struct managed *m)
{
	struct managed_peer_table *t = &m->peers;
	managed_ondemand_stop(m, true); /* no answer may add a peer after this */
	for (size_t i = 0; i < t->nbuckets; i++) {
		while (t->buckets[i]) {
			struct managed_peer *p = t->buckets[i];
			t->buckets[i] = p->next;
			free(p);
		}
	}
	t->count = 0;
	/* We hold no view any more: the next stream must not ask for only
	 * what changed since the one we held (roam down, then roam up, got an
	 * empty delta and no peers at all). */
	m->ctl.view[0] = '\0';
	/* Also whatever the data plane holds that we never told it of (a
	 * restarted agent starts with an empty table). */
	m->host->peers_clear(m->host_ctx);
}

void managed_view_begin(struct managed *m)
{
	m->peers.view_gen++;
}

/* The full view replaces what we held: a peer the server no longer lists
 * (removed, or moved out of our groups while our stream was down) goes. */
void managed_view_end(struct managed *m)
{
	struct managed_peer_table *t = &m->peers;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct managed_peer **slot = &t->buckets[i];
		while (*slot) {
			if ((*slot)->view_gen != t->view_gen && !(*slot)->on_demand)
				unlink_peer(m, slot);
			else
				slot = &(*slot)->next;
		}
	}
}

void managed_peers_foreach(struct managed *m, void (*fn)(struct managed *m, const struct coord_peer *p))
{
	struct managed_peer_table *t = &m->peers;
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct managed_peer *p = t->buckets[i]; p; p = p->next)
			fn(m, &p->info);
}

void managed_repath_all(struct managed *m)
{
	struct managed_peer_table *t = &m->peers;
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct managed_peer *p = t->buckets[i]; p; p = p->next)
			push_peer(m, p);
}
