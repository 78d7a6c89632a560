/* Presence shared between servers (cluster/watch.h): a node's endpoints
 * and online state live in the memory of the server holding its binding;
 * that server publishes the node's peer object (the JSON its peers get) to
 * the store, and the others, told by a notification, read the rows that
 * changed (by sequence number) and apply them to their directory, so that
 * a node streaming from one server sees a peer bound to another with its
 * endpoints. The JSON is parsed by the same code as the nodes' (fuzzed). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "coord/json.h"
#include "server/cluster/cluster_internal.h"
#include "server/cluster/watch.h"
#include "server/server.h"
#include "util/log.h"

/* Held here: this server has its stream, binding timer or a relay link. */
bool cluster_node_local(const struct dir_node *n) { return n->stream || n->timer || dir_node_linked(n); }

void cluster_presence_publish(struct server *s, struct dir_node *n)
{
	const char *json;

	if (!s->cluster || !cluster_node_local(n))
		return;
	dir_node_touch(n); /* last_seen moves without a new peer object: render it afresh */
	if (!(json = dir_peer_json(&s->dir, n)))
		return;
	if (store_presence_put(s->store, n->rec.id, s->cluster->tag, json, server_wall_now()) < 0)
		log_warn("node %u (%s): publishing presence: %s", n->rec.id, n->rec.name, store_error(s->store));
}

static int apply_one(void *ctx, uint32_t node_id, const char *peer_json, int64_t seq)
{
	struct server *s = ctx;
	struct dir_node *n = dir_node_get(&s->dir, node_id);
	struct coord_peer *p;

	s->cluster->presence_seq = seq;
	if (!n || cluster_node_local(n))
		return 0; /* unknown yet (the reload brings it), or ours now */
	if (!(p = malloc(sizeof(*p))))
		return -ENOMEM;
	if (coord_peer_parse(peer_json, strlen(peer_json), p) < 0 || p->node_id != node_id) {
		log_warn("node %u: presence from another server does not parse; ignored", node_id);
		free(p);
		return 0;
	}
	if (p->public_endpoint.len)
		dir_set_public(&s->dir, n, &p->public_endpoint);
	else
		dir_set_offline(&s->dir, n, true);
	dir_set_private(n, p->private_endpoints, p->private_count);
	n->online = p->online;
	n->last_seen = p->last_seen;
	n->mapping = p->mapping;
	n->mapped_ep = p->mapped_endpoint;
	n->relay_rtt = p->relay_rtt;
	free(p);
	dir_node_touch(n);
	server_push_peer(s, n);
	return 0;
}

void cluster_presence_expire(struct server *s)
{
	/* The holder republishes an online node at least every binding refresh
	 * + SERVER_PRESENCE_STORE_S; past lifetime + grace beyond that, the
	 * holder is gone (killed): the node is offline until it binds again. */
	int64_t now = server_wall_now(),
		limit = (int64_t)s->cfg.binding_lifetime_s + s->cfg.grace_s + 2 * SERVER_PRESENCE_STORE_S;

	for (size_t id = 0; s->cluster && id < s->dir.by_id_cap; id++) {
		struct dir_node *n = s->dir.by_id[id];
		if (!n || !n->online || cluster_node_local(n) || n->last_seen + limit > now)
			continue;
		dir_set_offline(&s->dir, n, true);
		dir_node_touch(n);
		log_info("node %u (%s): no presence from its server for %" PRId64 " s: offline", n->rec.id, n->rec.name,
			 now - n->last_seen);
		server_push_peer(s, n);
	}
}

void cluster_presence_pull(struct server *s)
{
	struct cluster_watch *w = s->cluster;
	int64_t v;

	if (!w || store_presence_version(s->store, &v) < 0 || v == w->presence_version)
		return;
	w->presence_version = v;
	if (store_presence_since(s->store, w->presence_seq, w->tag, apply_one, s) < 0)
		log_warn("reading the other servers' presence: %s", store_error(s->store));
}
