#include "server/directory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/ticket.h"
#include "crypto/crypto.h"
#include "server/view.h"

#define DIR_NODES_MAX (254u * 16384u) /* the IPv4 pool */

/* --- id tables: open addressing, linear probing, backward-shift delete --- */

static int idtab_grow(struct dir_idtab *t)
{
	size_t cap = t->mask ? (t->mask + 1) * 2 : 64;
	struct dir_idtab_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; t->slots && i <= t->mask; i++) {
		size_t j;
		if (!t->slots[i].id)
			continue;
		for (j = t->slots[i].hash & (cap - 1); slots[j].id; j = (j + 1) & (cap - 1))
			;
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->mask = cap - 1;
	return 0;
}

static int idtab_insert(struct dir_idtab *t, uint64_t hash, uint32_t id)
{
	size_t i;
	int r;

	if ((t->count + 1) * 2 > t->mask + 1 && (r = idtab_grow(t)) < 0)
		return r;
	for (i = hash & t->mask; t->slots[i].id; i = (i + 1) & t->mask)
		;
	t->slots[i].hash = hash;
	t->slots[i].id = id;
	t->count++;
	return 0;
}

static void idtab_remove(struct dir_idtab *t, uint64_t hash, uint32_t id)
{
	size_t i, j;

	if (!t->slots)
		return;
	for (i = hash & t->mask; t->slots[i].id; i = (i + 1) & t->mask) {
		if (t->slots[i].id == id && t->slots[i].hash == hash)
			break;
	}
	if (!t->slots[i].id)
		return;
	t->slots[i].id = 0;
	t->count--;
	/* Shift later members of the cluster back so probes never stop early. */
	for (j = (i + 1) & t->mask; t->slots[j].id; j = (j + 1) & t->mask) {
		size_t home = t->slots[j].hash & t->mask;
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			t->slots[j].id = 0;
			i = j;
		}
	}
}

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	return h ^ (h >> 33);
}

static uint64_t hash_bytes(uint64_t seed, const uint8_t *p, size_t len)
{
	uint64_t h = seed;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return mix64(h);
}

static uint64_t key_hash(const struct directory *d, const uint8_t pub[COORD_KEY_LEN])
{
	return hash_bytes(d->hash_seed, pub, COORD_KEY_LEN);
}

uint64_t dir_endpoint_hash(const struct directory *d, const struct sockaddr_any *ep)
{
	uint8_t buf[18] = { 0 };
	uint16_t port = sockaddr_any_port(ep);

	if (ep->sa.sa_family == AF_INET)
		memcpy(buf, &ep->in4.sin_addr, 4);
	else
		memcpy(buf, &ep->in6.sin6_addr, 16);
	buf[16] = (uint8_t)port;
	buf[17] = (uint8_t)(port >> 8);
	return hash_bytes(d->hash_seed ^ (uint64_t)ep->sa.sa_family, buf, sizeof(buf));
}

/* --- directory --- */

int dir_init(struct directory *d, const uint8_t server_priv[COORD_KEY_LEN], const uint8_t network6[16])
{
	memset(d, 0, sizeof(*d));
	memcpy(d->server_priv, server_priv, COORD_KEY_LEN);
	memcpy(d->network6, network6, 16);
	crypto_random(&d->hash_seed, sizeof(d->hash_seed));
	d->network6_prefix.family = AF_INET6;
	memcpy(d->network6_prefix.addr, network6, 16);
	d->network6_prefix.cidr = 48;
	d->network4_prefix.family = AF_INET;
	d->network4_prefix.addr[0] = 100;
	d->network4_prefix.addr[1] = 64;
	d->network4_prefix.cidr = 10;
	return 0;
}

static void od_remove(struct dir_node *n, uint32_t id);

static void node_free(struct dir_node *n)
{
	if (!n)
		return;
	free(n->peer_json);
	free(n->od);
	crypto_wipe(n->k, sizeof(n->k));
	free(n);
}

void dir_free(struct directory *d)
{
	for (size_t i = 0; i < d->by_id_cap; i++)
		node_free(d->by_id[i]);
	free(d->by_id);
	free(d->by_key.slots);
	free(d->by_endpoint.slots);
	for (size_t i = 0; i < d->groups_count; i++)
		free(d->groups[i].members);
	free(d->groups);
	free(d->flipped);
	crypto_wipe(d->server_priv, sizeof(d->server_priv));
	memset(d, 0, sizeof(*d));
}

struct dir_node *dir_node_get(const struct directory *d, uint32_t id)
{
	return id < d->by_id_cap ? d->by_id[id] : NULL;
}

struct dir_node *dir_node_by_key(const struct directory *d, const uint8_t pub[COORD_KEY_LEN])
{
	uint64_t h = key_hash(d, pub);
	const struct dir_idtab *t = &d->by_key;

	if (!t->slots)
		return NULL;
	for (size_t i = h & t->mask; t->slots[i].id; i = (i + 1) & t->mask) {
		struct dir_node *n = dir_node_get(d, t->slots[i].id);
		if (t->slots[i].hash == h && n && memcmp(n->rec.public_key, pub, COORD_KEY_LEN) == 0)
			return n;
	}
	return NULL;
}

struct dir_node *dir_node_by_endpoint(const struct directory *d, const struct sockaddr_any *ep)
{
	uint64_t h;
	const struct dir_idtab *t = &d->by_endpoint;

	if (!t->slots || !ep->len)
		return NULL;
	h = dir_endpoint_hash(d, ep);
	for (size_t i = h & t->mask; t->slots[i].id; i = (i + 1) & t->mask) {
		struct dir_node *n = dir_node_get(d, t->slots[i].id);
		if (t->slots[i].hash == h && n && sockaddr_any_equal(&n->public_ep, ep))
			return n;
	}
	return NULL;
}

static int ensure_id_cap(struct directory *d, uint32_t id)
{
	size_t cap = d->by_id_cap ? d->by_id_cap : 64;
	struct dir_node **p;

	if (id < d->by_id_cap)
		return 0;
	if (id >= DIR_NODES_MAX)
		return -ERANGE;
	while (cap <= id)
		cap *= 2;
	p = realloc(d->by_id, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + d->by_id_cap, 0, (cap - d->by_id_cap) * sizeof(*p));
	d->by_id = p;
	d->by_id_cap = cap;
	return 0;
}

int dir_node_set(struct directory *d, const struct store_node *rec, struct dir_node **out, bool *groups_changed)
{
	struct dir_node *n;
	int r;

	dir_relay_touch(d, rec->id);
	if ((r = ensure_id_cap(d, rec->id)) < 0)
		return r;
	n = d->by_id[rec->id];
	if (n && memcmp(n->rec.public_key, rec->public_key, COORD_KEY_LEN) != 0) {
		dir_node_remove(d, rec->id); /* cannot happen with AUTOINCREMENT ids; be safe */
		n = NULL;
	}
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		n->k_ok = (d->key_label ? relay_key_derive(n->k, d->server_priv, rec->public_key, d->key_label)
					: coord_control_key(n->k, d->server_priv, rec->public_key)) == 0;
		if ((r = idtab_insert(&d->by_key, key_hash(d, rec->public_key), rec->id)) < 0) {
			node_free(n);
			return r;
		}
		d->by_id[rec->id] = n;
		d->count++;
		n->last_seen = rec->last_seen;
		*groups_changed = true;
	} else {
		d->records_sum -= dir_record_hash(&n->rec);
		*groups_changed = n->rec.groups_count != rec->groups_count ||
				  memcmp(n->rec.groups, rec->groups, rec->groups_count * sizeof(uint32_t)) != 0;
		if (*groups_changed || strcmp(n->rec.name, rec->name) != 0 || n->rec.approved != rec->approved ||
		    n->rec.expires_at != rec->expires_at)
			d->records_changed = true;
	}
	if (*groups_changed)
		d->records_changed = true;
	n->rec = *rec;
	d->records_sum += dir_record_hash(&n->rec);
	dir_node_touch(n);
	*out = n;
	return 0;
}

void dir_node_remove(struct directory *d, uint32_t id)
{
	struct dir_node *n = dir_node_get(d, id);

	dir_relay_touch(d, id);
	if (!n)
		return;
	if (n->public_ep.len)
		idtab_remove(&d->by_endpoint, dir_endpoint_hash(d, &n->public_ep), id);
	idtab_remove(&d->by_key, key_hash(d, n->rec.public_key), id);
	for (size_t i = 0; i < n->od_count; i++) {
		struct dir_node *p = dir_node_get(d, n->od[i]);
		if (p)
			od_remove(p, id);
	}
	d->records_sum -= dir_record_hash(&n->rec);
	d->by_id[id] = NULL;
	d->records_changed = true;
	d->count--;
	node_free(n);
}

static struct dir_group *group_find(const struct directory *d, uint32_t id);
static void groups_mark_big(struct directory *d);

int dir_groups_set(struct directory *d, const struct store_group *groups, size_t count)
{
	struct dir_group *g = calloc(count ? count : 1, sizeof(*g));

	d->relay_gen++; /* no node's own state: the snapshot holds none of the member lists */
	if (!g)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const struct dir_group *old = group_find(d, groups[i].id);
		g[i].id = groups[i].id;
		g[i].big = old && old->big; /* a flip is told against what it was */
		memcpy(g[i].name, groups[i].name, sizeof(g[i].name));
	}
	for (size_t i = 0; i < d->groups_count; i++)
		free(d->groups[i].members);
	free(d->groups);
	d->groups = g;
	d->groups_count = count;
	return dir_groups_rebuild(d);
}

/* Groups are few (<= STORE_GROUPS_TOTAL_MAX) and sorted by id. */
static struct dir_group *group_find(const struct directory *d, uint32_t id)
{
	size_t lo = 0, hi = d->groups_count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (d->groups[mid].id == id)
			return &d->groups[mid];
		if (d->groups[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *dir_group_name(const struct directory *d, uint32_t id)
{
	const struct dir_group *g = group_find(d, id);

	return g ? g->name : NULL;
}

static int group_append(struct dir_group *g, uint32_t id)
{
	if (g->count == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		uint32_t *m = realloc(g->members, cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		g->members = m;
		g->cap = cap;
	}
	g->members[g->count++] = id;
	return 0;
}

int dir_groups_rebuild(struct directory *d)
{
	d->relay_gen++; /* no node's own state: the snapshot holds none of the member lists */
	for (size_t i = 0; i < d->groups_count; i++)
		d->groups[i].count = 0;
	for (size_t id = 0; id < d->by_id_cap; id++) {
		struct dir_node *n = d->by_id[id];
		for (size_t j = 0; n && j < n->rec.groups_count; j++) {
			struct dir_group *g = group_find(d, n->rec.groups[j]);
			if (!g)
				continue;
			if (group_append(g, (uint32_t)id) < 0)
				return -ENOMEM;
		}
	}
	groups_mark_big(d);
	return 0;
}

int dir_groups_add_new(struct directory *d, const struct dir_node *n)
{
	for (size_t j = 0; j < n->rec.groups_count; j++) {
		struct dir_group *g = group_find(d, n->rec.groups[j]);
		if (!g || (g->count && g->members[g->count - 1] >= n->rec.id))
			return dir_groups_rebuild(d); /* a group unknown here yet, or not the newest id */
	}
	d->relay_gen++; /* no node's own state: the snapshot holds none of the member lists */
	for (size_t j = 0; j < n->rec.groups_count; j++) {
		struct dir_group *g = group_find(d, n->rec.groups[j]);
		if (g && group_append(g, n->rec.id) < 0) /* a group unknown here: as the rebuild */
			return -ENOMEM;
	}
	groups_mark_big(d);
	return 0;
}

/* A group's big flag against its member count; a change is remembered
 * for the program (its members' views change wholesale). */
static void groups_mark_big(struct directory *d)
{
	for (size_t i = 0; i < d->groups_count; i++) {
		struct dir_group *g = &d->groups[i];
		bool big = d->group_view_max && g->count > d->group_view_max;
		if (big == g->big)
			continue;
		g->big = big;
		if (d->flipped_count == d->flipped_cap) {
			size_t cap = d->flipped_cap ? d->flipped_cap * 2 : 8;
			uint32_t *p = realloc(d->flipped, cap * sizeof(*p));
			if (!p)
				continue; /* its members keep their views until their next change */
			d->flipped = p;
			d->flipped_cap = cap;
		}
		d->flipped[d->flipped_count++] = g->id;
	}
}

uint32_t *dir_groups_flipped_take(struct directory *d, size_t *count)
{
	uint32_t *ids = d->flipped;

	*count = d->flipped_count;
	d->flipped = NULL;
	d->flipped_count = d->flipped_cap = 0;
	return ids;
}

const struct dir_group *dir_group_get(const struct directory *d, uint32_t id)
{
	return group_find(d, id);
}

struct dir_node *dir_node_by_address(const struct directory *d, int family, const uint8_t *addr)
{
	struct dir_node *n;
	uint32_t id;

	if (store_node_id_from_address(family, addr, &id) < 0 || !(n = dir_node_get(d, id)))
		return NULL;
	if (family == AF_INET6 ? memcmp(n->rec.ipv6, addr, 16) : memcmp(n->rec.ipv4, addr, 4))
		return NULL;
	return n;
}

uint64_t dir_record_hash(const struct store_node *r)
{
	uint64_t h = VIEW_HASH_INIT;

	h = view_hash(&r->id, sizeof(r->id), h);
	h = view_hash(r->public_key, sizeof(r->public_key), h);
	h = view_hash(r->name, strlen(r->name), h);
	h = view_hash(&r->approved, sizeof(r->approved), h);
	h = view_hash(&r->expires_at, sizeof(r->expires_at), h);
	return view_hash(r->groups, r->groups_count * sizeof(r->groups[0]), h);
}

bool dir_node_active(const struct dir_node *n, int64_t now)
{
	return n->rec.approved && n->k_ok && (!n->rec.expires_at || n->rec.expires_at > now);
}

bool dir_share_group(const struct dir_node *a, const struct dir_node *b)
{
	size_t i = 0, j = 0;

	/* Both lists ascending: a merge walk. */
	while (i < a->rec.groups_count && j < b->rec.groups_count) {
		if (a->rec.groups[i] == b->rec.groups[j])
			return true;
		if (a->rec.groups[i] < b->rec.groups[j])
			i++;
		else
			j++;
	}
	return false;
}

int dir_foreach_visible(struct directory *d, const struct dir_node *n,
			int (*cb)(void *ctx, struct dir_node *peer), void *ctx)
{
	uint32_t gen = ++d->mark_gen;
	int r;

	for (size_t i = 0; i < n->rec.groups_count; i++) {
		const struct dir_group *g = group_find(d, n->rec.groups[i]);
		for (size_t j = 0; g && !g->big && j < g->count; j++) {
			struct dir_node *p = dir_node_get(d, g->members[j]);
			if (!p || p == n || p->mark == gen)
				continue;
			p->mark = gen;
			if ((r = cb(ctx, p)) < 0)
				return r;
		}
	}
	for (size_t i = 0; i < n->od_count; i++) {
		struct dir_node *p = dir_node_get(d, n->od[i]);
		if (!p || p == n || p->mark == gen || !dir_share_group(n, p))
			continue;
		p->mark = gen;
		if ((r = cb(ctx, p)) < 0)
			return r;
	}
	return 0;
}

/* ---- what the relay thread's snapshot must patch ---- */

void dir_relay_touch(struct directory *d, uint32_t id)
{
	d->relay_gen++;
	if (d->relay_full)
		return;
	/* The same node again (a node that moves, its online flag, its link) is
	 * listed once when it is the last one: the common case. */
	if (d->relay_dirty_count && d->relay_dirty[d->relay_dirty_count - 1] == id)
		return;
	if (d->relay_dirty_count == DIR_RELAY_DIRTY_MAX) {
		d->relay_full = true;
		return;
	}
	d->relay_dirty[d->relay_dirty_count++] = id;
}

void dir_relay_touch_all(struct directory *d)
{
	d->relay_gen++;
	d->relay_full = true;
}

void dir_relay_dirty_clear(struct directory *d)
{
	d->relay_dirty_count = 0;
	d->relay_full = false;
}

/* ---- peers on demand ---- */

static int od_find(const struct dir_node *n, uint32_t id)
{
	for (size_t i = 0; i < n->od_count; i++)
		if (n->od[i] == id)
			return (int)i;
	return -1;
}

static void od_remove(struct dir_node *n, uint32_t id)
{
	int i = od_find(n, id);

	if (i < 0)
		return;
	memmove(&n->od[i], &n->od[i + 1], (n->od_count - (size_t)i - 1) * sizeof(*n->od));
	n->od_count--;
	if (!n->od_count) { /* 100 000 nodes that asked for nothing hold nothing */
		free(n->od);
		n->od = NULL;
		n->od_cap = 0;
	}
}

bool dir_od_holds(const struct dir_node *a, uint32_t id)
{
	return od_find(a, id) >= 0;
}

/* id appended to n's list (the newest), its oldest pair dropped at both
 * ends when full. */
static int od_append(struct directory *d, struct dir_node *n, uint32_t id)
{
	int i = od_find(n, id);

	if (i >= 0) { /* held: now the newest */
		memmove(&n->od[i], &n->od[i + 1], (n->od_count - (size_t)i - 1) * sizeof(*n->od));
		n->od[n->od_count - 1] = id;
		return 0;
	}
	if (n->od_count == DIR_OD_MAX) {
		struct dir_node *old = dir_node_get(d, n->od[0]);
		if (old)
			od_remove(old, n->rec.id);
		memmove(&n->od[0], &n->od[1], (n->od_count - 1) * sizeof(*n->od));
		n->od_count--;
	}
	if (n->od_count == n->od_cap) {
		size_t cap = n->od_cap ? (size_t)n->od_cap * 2 : 4;
		uint32_t *p;
		if (cap > DIR_OD_MAX)
			cap = DIR_OD_MAX;
		if (!(p = realloc(n->od, cap * sizeof(*p))))
			return -ENOMEM;
		n->od = p;
		n->od_cap = (uint16_t)cap;
	}
	n->od[n->od_count++] = id;
	return 1;
}

int dir_od_add(struct directory *d, struct dir_node *a, struct dir_node *b)
{
	int ra, rb;

	if (a == b)
		return -EINVAL;
	if ((ra = od_append(d, a, b->rec.id)) < 0)
		return ra;
	if ((rb = od_append(d, b, a->rec.id)) < 0) {
		od_remove(a, b->rec.id);
		return rb;
	}
	return ra || rb;
}

void dir_od_prune(struct directory *d, struct dir_node *n,
		  void (*gone)(void *ctx, struct dir_node *n, struct dir_node *p), void *ctx)
{
	for (size_t i = n->od_count; i-- > 0;) {
		struct dir_node *p = dir_node_get(d, n->od[i]);
		if (p && dir_share_group(n, p))
			continue;
		if (p)
			od_remove(p, n->rec.id);
		od_remove(n, n->od[i]);
		if (p && gone)
			gone(ctx, n, p);
	}
}

static void nat_update(struct dir_node *n)
{
	n->nat = false;
	if (!n->public_ep.len)
		return;
	n->nat = true;
	for (size_t i = 0; i < n->private_count; i++) {
		if (sockaddr_any_equal(&n->private_eps[i], &n->public_ep))
			n->nat = false;
	}
}

int dir_set_public(struct directory *d, struct dir_node *n, const struct sockaddr_any *ep)
{
	struct dir_node *other;
	int r;

	dir_relay_touch(d, n->rec.id);
	if (n->public_ep.len && sockaddr_any_equal(&n->public_ep, ep))
		return 0;
	/* One endpoint, one owner: a NAT may hand an old node's mapping to a new one. */
	other = dir_node_by_endpoint(d, ep);
	if (other && other != n)
		dir_set_offline(d, other, true);
	if (n->public_ep.len)
		idtab_remove(&d->by_endpoint, dir_endpoint_hash(d, &n->public_ep), n->rec.id);
	n->public_ep = *ep;
	if ((r = idtab_insert(&d->by_endpoint, dir_endpoint_hash(d, ep), n->rec.id)) < 0) {
		memset(&n->public_ep, 0, sizeof(n->public_ep));
		return r;
	}
	nat_update(n);
	dir_node_touch(n);
	return 0;
}

void dir_set_private(struct dir_node *n, const struct sockaddr_any *eps, size_t count)
{
	if (count > COORD_PRIVATE_MAX)
		count = COORD_PRIVATE_MAX;
	memcpy(n->private_eps, eps, count * sizeof(*eps));
	n->private_count = count;
	nat_update(n);
	dir_node_touch(n);
}

bool dir_node_linked(const struct dir_node *n)
{
	for (int k = 0; k < DIR_LINK_KINDS; k++)
		if (n->links[k])
			return true;
	return false;
}

void dir_set_offline(struct directory *d, struct dir_node *n, bool forget_endpoint)
{
	dir_relay_touch(d, n->rec.id);
	n->online = dir_node_linked(n);
	if (forget_endpoint && n->public_ep.len) {
		idtab_remove(&d->by_endpoint, dir_endpoint_hash(d, &n->public_ep), n->rec.id);
		memset(&n->public_ep, 0, sizeof(n->public_ep));
		nat_update(n);
	}
	dir_node_touch(n);
}

void dir_node_touch(struct dir_node *n)
{
	free(n->peer_json);
	n->peer_json = NULL;
}

static void prefix_host(struct ip_prefix *p, int family, const uint8_t *addr)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	memcpy(p->addr, addr, family == AF_INET ? 4 : 16);
	p->cidr = family == AF_INET ? 32 : 128;
}

const char *dir_peer_json(struct directory *d, struct dir_node *n)
{
	struct coord_peer p;

	(void)d;
	if (n->peer_json)
		return n->peer_json;
	memset(&p, 0, sizeof(p));
	p.node_id = n->rec.id;
	memcpy(p.name, n->rec.name, sizeof(p.name));
	memcpy(p.public_key, n->rec.public_key, COORD_KEY_LEN);
	prefix_host(&p.ipv6, AF_INET6, n->rec.ipv6);
	prefix_host(&p.ipv4, AF_INET, n->rec.ipv4);
	p.public_endpoint = n->public_ep;
	p.private_count = n->private_count;
	memcpy(p.private_endpoints, n->private_eps, sizeof(p.private_endpoints));
	p.nat = n->nat;
	p.online = n->online;
	p.last_seen = n->last_seen;
	p.mapping = n->mapping;
	p.mapped_endpoint = n->mapped_ep;
	p.relay_rtt = n->relay_rtt;
	p.has_file_key = n->rec.has_file_key;
	memcpy(p.file_key, n->rec.file_key, COORD_KEY_LEN);
	n->peer_json = coord_peer_to_json(&p);
	return n->peer_json;
}

void dir_node_describe(const struct directory *d, const struct dir_node *n, struct coord_node *out)
{
	memset(out, 0, sizeof(*out));
	out->node_id = n->rec.id;
	memcpy(out->name, n->rec.name, sizeof(out->name));
	memcpy(out->public_key, n->rec.public_key, COORD_KEY_LEN);
	prefix_host(&out->ipv6, AF_INET6, n->rec.ipv6);
	prefix_host(&out->ipv4, AF_INET, n->rec.ipv4);
	out->network6 = d->network6_prefix;
	out->network4 = d->network4_prefix;
	for (size_t i = 0; i < n->rec.groups_count; i++) {
		const char *name = dir_group_name(d, n->rec.groups[i]);
		if (name)
			memcpy(out->groups[out->groups_count++], name, COORD_NAME_MAX + 1);
	}
	out->approved = n->rec.approved;
}
