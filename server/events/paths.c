/* Path reports of the nodes (paths.h). */
#include "server/events/paths.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

static const struct node_path *old_entry(const struct node_paths *old, uint32_t peer_id)
{
	for (size_t i = 0; old && i < old->count; i++)
		if (old->e[i].peer_id == peer_id)
			return &old->e[i];
	return NULL;
}

static int paths_grow(struct server_paths *p, uint32_t id)
{
	size_t cap = p->cap ? p->cap : 64;
	struct node_paths **by_id;

	while (cap <= id)
		cap *= 2;
	if (cap == p->cap)
		return 0;
	if (!(by_id = realloc(p->by_id, cap * sizeof(*by_id))))
		return -ENOMEM;
	memset(by_id + p->cap, 0, (cap - p->cap) * sizeof(*by_id));
	p->by_id = by_id;
	p->cap = cap;
	return 0;
}

/* A relay's name as the console shows it. */
static void relay_name(const struct server *s, uint8_t relay, char *out, size_t size)
{
	/* by_id has STORE_RELAYS_MAX + 1 slots, at least a uint8_t's range */
	_Static_assert(STORE_RELAYS_MAX >= UINT8_MAX, "every relay index has a slot");
	const struct srv_relay *rl = s->relays && relay ? s->relays->by_id[relay] : NULL;

	if (!relay)
		snprintf(out, size, "relay 0 (this server)");
	else if (rl)
		snprintf(out, size, "%s", rl->rec.name);
	else
		snprintf(out, size, "relay %u", relay);
}

static void path_text(struct server *s, const struct node_path *e, char *out, size_t size)
{
	const char *kind = coord_path_kind_name((enum coord_path_kind)e->path);
	char relay[COORD_NAME_MAX + 32];

	relay_name(s, e->relay, relay, sizeof(relay));
	if (e->transport == COORD_TRANSPORT_UNKNOWN || e->transport == COORD_TRANSPORT_DIRECT)
		snprintf(out, size, "%s", kind);
	else
		snprintf(out, size, "%s (%s via %s)", kind, coord_path_transport_name((enum coord_path_transport)e->transport),
			 relay);
}

/* A new pair, or one whose kind, transport or relay changed: an event. */
static void path_event(struct server *s, const struct dir_node *n, const struct dir_node *peer,
		       const struct node_path *e, const struct node_path *was)
{
	char now_text[160], was_text[160];

	path_text(s, e, now_text, sizeof(now_text));
	if (!was) {
		server_event(s, EV_PATH, n, NULL, "to %s: %s", peer->rec.name, now_text);
		return;
	}
	if (was->path == e->path && was->transport == e->transport && was->relay == e->relay)
		return;
	path_text(s, was, was_text, sizeof(was_text));
	server_event(s, EV_PATH, n, NULL, "to %s: %s (was %s)", peer->rec.name, now_text, was_text);
}

int server_paths_report(struct server *s, const struct dir_node *n, const struct coord_paths_report *r, int64_t now)
{
	struct server_paths *p = &s->paths;
	struct node_paths *next, *old;
	uint32_t id = n->rec.id;

	if (paths_grow(p, id) < 0 || !(next = calloc(1, sizeof(*next))))
		return -ENOMEM;
	old = p->by_id[id];
	next->at = now;
	for (size_t i = 0; i < r->count; i++) {
		const struct dir_node *peer = dir_node_by_key(&s->dir, r->e[i].peer);
		const struct node_path *was;
		struct node_path *e;
		/* only peers it may see: a report names no one else */
		if (!peer || peer == n || !dir_share_group(n, peer))
			continue;
		e = &next->e[next->count++];
		e->peer_id = peer->rec.id;
		e->path = r->e[i].path;
		e->rtt_ms = r->e[i].rtt_ms;
		e->transport = r->e[i].transport;
		e->relay = r->e[i].relay;
		was = old_entry(old, e->peer_id);
		if (e->transport != COORD_TRANSPORT_UNKNOWN)
			e->since = now - (int64_t)r->e[i].active_s;
		else
			e->since = was && was->path == e->path ? was->since : now;
		path_event(s, n, peer, e, was);
	}
	free(old);
	p->by_id[id] = next;
	return 0;
}

void server_paths_forget(struct server *s, uint32_t node_id)
{
	if (node_id < s->paths.cap) {
		free(s->paths.by_id[node_id]);
		s->paths.by_id[node_id] = NULL;
	}
}

void server_paths_free(struct server *s)
{
	for (size_t i = 0; i < s->paths.cap; i++)
		free(s->paths.by_id[i]);
	free(s->paths.by_id);
	s->paths.by_id = NULL;
	s->paths.cap = 0;
}

static void add_transport(struct server *s, cJSON *pair, const struct node_path *e)
{
	char relay[COORD_NAME_MAX + 32];

	cJSON_AddStringToObject(pair, "transport", coord_path_transport_name((enum coord_path_transport)e->transport));
	relay_name(s, e->relay, relay, sizeof(relay));
	if (e->path == COORD_PATH_RELAYED)
		cJSON_AddStringToObject(pair, "relay", relay);
	else
		cJSON_AddNullToObject(pair, "relay");
}

void server_paths_json(struct server *s, cJSON *o)
{
	cJSON *list = cJSON_AddArrayToObject(o, "pairs");
	size_t total = 0;

	for (size_t id = 0; list && id < s->paths.cap; id++) {
		const struct node_paths *np = s->paths.by_id[id];
		const struct dir_node *n = dir_node_get(&s->dir, (uint32_t)id);
		for (size_t i = 0; np && n && i < np->count; i++) {
			const struct dir_node *peer = dir_node_get(&s->dir, np->e[i].peer_id);
			cJSON *pair;
			if (!peer || total++ >= PATHS_PAIRS_SHOWN_MAX || !(pair = cJSON_CreateObject()))
				continue;
			cJSON_AddItemToArray(list, pair);
			cJSON_AddStringToObject(pair, "node", n->rec.name);
			cJSON_AddStringToObject(pair, "peer", peer->rec.name);
			cJSON_AddStringToObject(pair, "path", coord_path_kind_name((enum coord_path_kind)np->e[i].path));
			add_transport(s, pair, &np->e[i]);
			cJSON_AddNumberToObject(pair, "rtt_ms", np->e[i].rtt_ms);
			cJSON_AddNumberToObject(pair, "since", (double)np->e[i].since);
			cJSON_AddNumberToObject(pair, "reported_at", (double)np->at);
		}
	}
	cJSON_AddNumberToObject(o, "pairs_total", (double)total);
}

/* As the lower id reports the pair; as the higher one does if the lower
 * sent no report naming it. */
static bool counted_by_peer(const struct server_paths *p, uint32_t id, uint32_t peer_id)
{
	const struct node_paths *other = peer_id < p->cap ? p->by_id[peer_id] : NULL;

	return peer_id < id && old_entry(other, id) != NULL;
}

void server_paths_count(const struct server *s, size_t *direct, size_t *relayed)
{
	const struct server_paths *p = &s->paths;

	*direct = *relayed = 0;
	for (size_t id = 0; id < p->cap; id++)
		for (size_t i = 0; p->by_id[id] && i < p->by_id[id]->count; i++) {
			const struct node_path *e = &p->by_id[id]->e[i];
			if (counted_by_peer(p, (uint32_t)id, e->peer_id))
				continue;
			*direct += e->path == COORD_PATH_DIRECT;
			*relayed += e->path == COORD_PATH_RELAYED;
		}
}
