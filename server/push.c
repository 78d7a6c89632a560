/* From directory changes to stream lines: who must hear what. A node hears
 * only about nodes it shares a group with (closed user groups); an
 * unapproved or expired node neither hears nor is heard of. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/cluster/watch.h"
#include "server/files/cache.h"
#include "server/files/index.h"
#include "server/server.h"
#include "util/log.h"
#include "util/log_limit.h"

#define RELOAD_PAIRS_MAX (1u << 20) /* beyond this, every stream gets a full view */

struct push_ctx {
	struct server *srv;
	const char *line;
	size_t len;
	int64_t now;
};

static int push_to_viewer(void *arg, struct dir_node *viewer)
{
	struct push_ctx *c = arg;

	if (viewer->stream && dir_node_active(viewer, c->now))
		stream_send(viewer->stream, c->line, c->len);
	return 0;
}

void server_push_peer(struct server *s, struct dir_node *n)
{
	cluster_presence_publish(s, n); /* for the other servers (PostgreSQL) */
	if (!view_state_defer(s, n))
		server_push_peer_now(s, n);
}

void server_push_peer_now(struct server *s, struct dir_node *n)
{
	struct push_ctx c = { .srv = s, .now = server_wall_now() };
	char version[COORD_VIEW_VERSION_MAX + 1];
	const char *json;
	char *line;

	if (!dir_node_active(n, c.now) || !(json = dir_peer_json(&s->dir, n)))
		return;
	/* Nothing its viewers do not hold already (a node back after our
	 * restart, as it was): no line, its version stays. */
	uint64_t h = view_peer_hash(json);
	if (h == n->view_hash) {
		s->view.pushes_skipped++;
		return;
	}
	if (s->view.restarted)
		log_debug("restart window: node %u changed: pushed", n->rec.id);
	n->view_hash = h;
	/* Its viewers hold this version once they read the line. */
	n->view_seq = view_next(&s->view);
	view_state_journal(s, n);
	view_format(&s->view, n->view_seq, version, sizeof(version));
	if (!(line = coord_line_peer_at(json, version)))
		return;
	c.line = line;
	c.len = strlen(line);
	dir_foreach_visible(&s->dir, n, push_to_viewer, &c);
	free(line);
}

void server_push_self(struct server *s, struct dir_node *n)
{
	struct coord_node *doc;
	char *line;

	if (!n->stream || !(doc = malloc(sizeof(*doc))))
		return;
	dir_node_describe(&s->dir, n, doc);
	line = coord_line_self(doc, &n->public_ep, n->nat);
	free(doc);
	if (line)
		stream_send(n->stream, line, strlen(line));
	free(line);
}

struct view_ctx {
	struct directory *dir;
	const char **parts;
	size_t count, cap;
	int64_t now;
};

static int view_collect(void *arg, struct dir_node *peer)
{
	struct view_ctx *c = arg;
	const char *json;

	if (!dir_node_active(peer, c->now))
		return 0;
	/* A node accepts no more (COORD_STREAM_LINE_MAX is sized for this). */
	if (c->count == COORD_PEERS_MAX)
		return -E2BIG;
	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		const char **p = realloc(c->parts, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->parts = p;
		c->cap = cap;
	}
	if (!(json = dir_peer_json(c->dir, peer)))
		return -ENOMEM;
	/* This viewer now holds a line the others may not have (a change not
	 * pushed): its next push must go out even if it reads as the last. */
	if (view_peer_hash(json) != peer->view_hash)
		peer->view_hash = 0;
	c->parts[c->count++] = json;
	return 0;
}

int server_send_view(struct server *s, struct dir_node *n)
{
	struct view_ctx c = { .dir = &s->dir, .now = server_wall_now() };
	struct srv_stream *st = n->stream;
	char *line = NULL;
	int r;

	server_push_self(s, n);
	if (!n->stream || n->stream != st)
		return -EPIPE;
	if ((r = dir_foreach_visible(&s->dir, n, view_collect, &c)) == -E2BIG)
		log_err("node %u (%s) sees more than %d peers: its view holds the first %d", n->rec.id, n->rec.name,
			COORD_PEERS_MAX, COORD_PEERS_MAX);
	else if (r < 0)
		goto out;
	line = coord_line_peers(c.parts, c.count);
	r = line ? stream_send(n->stream, line, strlen(line)) : -ENOMEM;
	if (r == 0)
		r = server_send_view_version(s, n); /* -EPIPE if that send closed the stream */
	s->view.full_views++;
	/* A new view (connect, or its record changed: groups): a new ticket. */
	if (r == 0)
		server_ticket_send(s, n);
out:
	free(line);
	free(c.parts);
	return r;
}

/* --- peers on demand (big groups) --- */

void server_groups_flipped(struct server *s, bool tell)
{
	size_t count;
	uint32_t *ids = dir_groups_flipped_take(&s->dir, &count);
	int64_t now = server_wall_now();

	for (size_t i = 0; i < count && tell; i++) {
		const struct dir_group *g = dir_group_get(&s->dir, ids[i]);
		log_info("group %s (%zu members) is %s", g ? g->name : "?", g ? g->count : 0,
			 g && g->big ? "big now: its members learn each other on demand"
				     : "no longer big: its members hold each other again");
		for (size_t j = 0; g && j < g->count; j++) {
			struct dir_node *m = dir_node_get(&s->dir, g->members[j]);
			if (!m)
				continue;
			/* A version it holds describes the other view. */
			m->view_reset_seq = view_next(&s->view);
			if (m->stream && dir_node_active(m, now))
				server_send_view(s, m);
		}
	}
	free(ids);
}

int server_peer_ask(struct server *s, struct dir_node *asker, struct dir_node *peer)
{
	const char *json;
	char *line;
	int r;

	if ((r = dir_od_add(&s->dir, asker, peer)) < 0)
		return r;
	s->stats.peer_asks++;
	/* A new pair: the peer hears of the asker now, so its key is known
	 * there before the asker's handshake initiation arrives. A pair held
	 * already is not pushed again (asking cannot flood another node's
	 * stream); a peer that dropped the asker asks for it by key when the
	 * initiation comes. */
	if (!r || !peer->stream || !(json = dir_peer_json(&s->dir, asker)) || !(line = coord_line_peer(json)))
		return 0;
	stream_send(peer->stream, line, strlen(line));
	free(line);
	return 0;
}

/* A pair parted (no shared group any more): each end hears the other is
 * gone. A full view does not say it: roamd keeps its on-demand peers
 * across full views. */
static void od_gone(void *ctx, struct dir_node *n, struct dir_node *p)
{
	struct dir_node *ends[2] = { n, p }, *other[2] = { p, n };
	char *line;

	(void)ctx;
	for (int i = 0; i < 2; i++) {
		if (!ends[i]->stream || !(line = coord_line_peer_removed(other[i]->rec.public_key)))
			continue;
		stream_send(ends[i]->stream, line, strlen(line));
		free(line);
	}
}

void server_od_prune(struct server *s, struct dir_node *n)
{
	if (n->od_count)
		dir_od_prune(&s->dir, n, od_gone, s);
}

/* --- admin changes: reload from the store and tell who is affected --- */

struct reload_ctx {
	struct server *srv;
	struct store_node *recs;
	size_t count, cap;
	struct store_group *groups;
	size_t groups_count, groups_cap;
};

static int reload_collect_node(void *arg, const struct store_node *n)
{
	struct reload_ctx *c = arg;

	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct store_node *p = realloc(c->recs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->recs = p;
		c->cap = cap;
	}
	c->recs[c->count++] = *n;
	return 0;
}

static int reload_collect_group(void *arg, const struct store_group *g)
{
	struct reload_ctx *c = arg;

	if (c->groups_count == c->groups_cap) {
		size_t cap = c->groups_cap ? c->groups_cap * 2 : 16;
		struct store_group *p;
		if (cap > STORE_GROUPS_TOTAL_MAX)
			return -E2BIG;
		p = realloc(c->groups, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->groups = p;
		c->groups_cap = cap;
	}
	c->groups[c->groups_count++] = *g;
	return 0;
}

static bool record_differs(const struct store_node *a, const struct store_node *b)
{
	return strcmp(a->name, b->name) != 0 || a->approved != b->approved || a->expires_at != b->expires_at ||
	       a->groups_count != b->groups_count ||
	       memcmp(a->groups, b->groups, a->groups_count * sizeof(uint32_t)) != 0;
}

struct change {
	uint32_t id;
	uint8_t public_key[COORD_KEY_LEN];
	bool fresh; /* new here: no older ticket of it to void */
};

struct pair {
	uint32_t viewer;
	uint32_t change; /* index into the changes */
};

struct reload_plan {
	struct change *changes;
	size_t changes_count, changes_cap;
	struct pair *pairs;
	size_t pairs_count, pairs_cap;
	bool overflow; /* too many pairs: every stream gets a full view */
	size_t current;
};

static int grow(void **arr, size_t *cap, size_t count, size_t size)
{
	void *p;
	size_t n = *cap ? *cap * 2 : 64;

	if (count < *cap)
		return 0;
	if (!(p = realloc(*arr, n * size)))
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

static int plan_viewer(void *arg, struct dir_node *viewer)
{
	struct reload_plan *p = arg;

	if (!viewer->stream || p->overflow)
		return 0;
	if (p->pairs_count == RELOAD_PAIRS_MAX) {
		p->overflow = true;
		return 0;
	}
	if (grow((void **)&p->pairs, &p->pairs_cap, p->pairs_count, sizeof(*p->pairs)) < 0)
		return -ENOMEM;
	p->pairs[p->pairs_count++] = (struct pair){ viewer->rec.id, (uint32_t)p->current };
	return 0;
}

/* Remember a changed (or removed) node and who could see it before. */
static int plan_change(struct server *s, struct reload_plan *p, struct dir_node *n)
{
	int r;

	if ((r = grow((void **)&p->changes, &p->changes_cap, p->changes_count, sizeof(*p->changes))) < 0)
		return r;
	/* Viewers that reconnect later may have to hear it is gone; its own
	 * view changes wholesale (a version it holds is void). */
	n->view_reset_seq = view_log_removal(&s->view, n->rec.public_key, n->rec.groups, n->rec.groups_count);
	p->current = p->changes_count;
	p->changes[p->changes_count].id = n->rec.id;
	p->changes[p->changes_count].fresh = false;
	memcpy(p->changes[p->changes_count].public_key, n->rec.public_key, COORD_KEY_LEN);
	p->changes_count++;
	return dir_foreach_visible(&s->dir, n, plan_viewer, p);
}

static int cmp_rec_id(const void *key, const void *elem)
{
	uint32_t id = *(const uint32_t *)key, other = ((const struct store_node *)elem)->id;

	return id < other ? -1 : id > other;
}

static int reload_apply(struct server *s, struct reload_ctx *c, struct reload_plan *p)
{
	struct dir_node *n;
	bool groups_changed;
	int r;

	for (uint32_t id = 0; id < s->dir.by_id_cap; id++) {
		const struct store_node *rec;
		if (!(n = s->dir.by_id[id]))
			continue;
		rec = bsearch(&id, c->recs, c->count, sizeof(*c->recs), cmp_rec_id); /* recs are in id order */
		if (!rec || record_differs(&n->rec, rec)) {
			if ((r = plan_change(s, p, n)) < 0)
				return r;
		}
		if (!rec) {
			log_info("node %u (%s) removed", id, n->rec.name);
			server_node_forget(s, n);
			/* Its published indexes and the copies of its files. */
			if (findex_drop_node(s, id, 0) < 0)
				log_warn("node %u: cannot delete its published indexes", id);
			fcache_forget_node(s, id); /* its offline pushes, sent or waiting */
		}
	}
	for (size_t i = 0; i < c->count; i++) {
		bool is_new;
		int64_t last_seen;
		n = dir_node_get(&s->dir, c->recs[i].id);
		if (n && !record_differs(&n->rec, &c->recs[i]))
			continue;
		is_new = n == NULL; /* a known node that differs was planned above */
		last_seen = n ? n->rec.last_seen : c->recs[i].last_seen;
		if ((r = dir_node_set(&s->dir, &c->recs[i], &n, &groups_changed)) < 0)
			return r;
		n->rec.last_seen = last_seen;
		if (is_new) {
			if ((r = grow((void **)&p->changes, &p->changes_cap, p->changes_count, sizeof(*p->changes))) < 0)
				return r;
			p->changes[p->changes_count].id = n->rec.id;
			p->changes[p->changes_count].fresh = true;
			memcpy(p->changes[p->changes_count++].public_key, n->rec.public_key, COORD_KEY_LEN);
		}
	}
	return dir_groups_set(&s->dir, c->groups, c->groups_count);
}

/* After the change: viewers that lost sight of a node are told, viewers of
 * a changed node get its new line, a changed node gets its whole view. */
static void reload_notify(struct server *s, const struct reload_plan *p, int64_t now)
{
	struct dir_node *v, *x;
	char *line;

	/* Removed, expired, regrouped: their older tickets are void on the
	 * relays (a floor below the ticket a new view brings). Not a node new
	 * here: a registration made through another server (PostgreSQL) would
	 * otherwise get a floor from this server's block of serials, above the
	 * tickets its own server issues from a lower block, and its relays
	 * would refuse them (issue 14, t_cluster_relay). */
	for (size_t i = 0; i < p->changes_count; i++)
		if (!p->changes[i].fresh)
			relays_floor(s, p->changes[i].id);
	if (p->overflow) {
		view_reset_all(&s->view);
		for (struct srv_stream *st = s->streams, *next; st; st = next) {
			next = st->next;
			server_send_view(s, st->node);
		}
		return;
	}
	for (size_t i = 0; i < p->pairs_count; i++) {
		v = dir_node_get(&s->dir, p->pairs[i].viewer);
		x = dir_node_get(&s->dir, p->changes[p->pairs[i].change].id);
		if (!v || !v->stream || !dir_node_active(v, now))
			continue;
		if (x && dir_node_active(x, now) && dir_share_group(v, x))
			continue;
		if ((line = coord_line_peer_removed(p->changes[p->pairs[i].change].public_key))) {
			stream_send(v->stream, line, strlen(line));
			free(line);
		}
	}
	for (size_t i = 0; i < p->changes_count; i++) {
		if (!(x = dir_node_get(&s->dir, p->changes[i].id)))
			continue;
		x->view_hash = 0; /* new viewers (its groups) need the line even if it reads the same */
		server_od_prune(s, x); /* pairs it no longer shares a group with */
		server_push_peer(s, x);
		if (x->stream && dir_node_active(x, now))
			server_send_view(s, x);
		else if (x->stream)
			stream_close(x->stream); /* unapproved or expired: it hears nothing more */
		if (!dir_node_active(x, now))
			links_close_node(s, x); /* and relays nothing more */
	}
}

int server_reload(struct server *s)
{
	struct reload_ctx c = { .srv = s };
	struct reload_plan p = { 0 };
	int r;

	if ((r = store_nodes_foreach(s->store, reload_collect_node, &c)) < 0 ||
	    (r = store_groups_foreach(s->store, reload_collect_group, &c)) < 0)
		goto out;
	if ((r = reload_apply(s, &c, &p)) < 0)
		goto out;
	reload_notify(s, &p, server_wall_now());
	server_groups_flipped(s, true);
out:
	free(c.recs);
	free(c.groups);
	free(p.changes);
	free(p.pairs);
	return r;
}

/* What a node posted to /v1/endpoints, kept (a restarted server has it
 * before the node posts again: one on the push channel does not register
 * again). Written only when it changed. */
void server_endpoints_store(struct server *s, struct dir_node *n, const struct coord_endpoints_req *req)
{
	char *json = s->store ? coord_endpoints_req_to_json(req) : NULL;
	uint64_t h = json ? view_hash(json, strlen(json), VIEW_HASH_INIT) : 0;

	if (json && h != n->endpoints_hash && store_node_set_endpoints(s->store, n->rec.id, json) == 0)
		n->endpoints_hash = h;
	else if (json && h != n->endpoints_hash)
		log_limited(LOG_WARN, "node %u (%s): storing its endpoints: %s", n->rec.id, n->rec.name,
			    store_error(s->store));
	free(json);
}

static int endpoints_load_one(void *ctx, uint32_t id, const char *json)
{
	struct server *s = ctx;
	struct dir_node *n = dir_node_get(&s->dir, id);
	struct coord_endpoints_req req;

	if (!n || !json || coord_endpoints_req_parse(json, strlen(json), &req) < 0)
		return 0; /* gone, or not ours to read: the node posts again */
	dir_set_private(n, req.endpoints, req.count);
	n->mapping = req.mapping;
	n->mapped_ep = req.mapped;
	n->relay_rtt = req.relay_rtt;
	n->endpoints_hash = view_hash(json, strlen(json), VIEW_HASH_INIT);
	return 0;
}

int server_load_all(struct server *s)
{
	struct reload_ctx c = { .srv = s };
	struct dir_node *n;
	bool changed;
	int r;

	if ((r = store_nodes_foreach(s->store, reload_collect_node, &c)) < 0 ||
	    (r = store_groups_foreach(s->store, reload_collect_group, &c)) < 0)
		goto out;
	for (size_t i = 0; i < c.count; i++) {
		if ((r = dir_node_set(&s->dir, &c.recs[i], &n, &changed)) < 0)
			goto out;
	}
	if ((r = dir_groups_set(&s->dir, c.groups, c.groups_count)) < 0)
		goto out;
	server_groups_flipped(s, false); /* nobody holds a view yet */
	r = store_nodes_endpoints_foreach(s->store, endpoints_load_one, s);
out:
	free(c.recs);
	free(c.groups);
	return r;
}
