/* A dead server's nodes go offline within seconds (issue 14). Each server
 * names its connection to PostgreSQL after its presence tag (watch.c), so
 * PostgreSQL itself knows which servers are alive: a killed server's
 * session ends when its socket closes, a vanished host's within about 5 s
 * (the session's short keepalives, store_pg.c). Every CLUSTER_DEAD_TICKS
 * each server asks which tags in the presence table have no session any
 * more; a tag missing CLUSTER_DEAD_SWEEPS sweeps in a row (a re-connect to
 * the database is not a death) is dead, and its nodes that did not fail
 * over are taken offline here and rewritten in the presence table as held
 * by nobody (""), which every other server then applies as any presence
 * change. Several servers may do it at once: the rewrite is the same. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/cluster/cluster_internal.h"
#include "server/cluster/watch.h"
#include "server/server.h"
#include "util/log.h"

static struct cluster_suspect *suspect_find(struct cluster_watch *w, const char *tag)
{
	for (size_t i = 0; i < w->suspects_count; i++)
		if (!strcmp(w->suspects[i].tag, tag))
			return &w->suspects[i];
	return NULL;
}

static int suspect_seen(void *ctx, const char *tag)
{
	struct cluster_watch *w = ctx;
	struct cluster_suspect *sp = suspect_find(w, tag);

	if (strlen(tag) > CLUSTER_TAG_LEN)
		return 0; /* not a roam-server's tag */
	if (!sp) {
		if (w->suspects_count == CLUSTER_SUSPECTS_MAX)
			return 0; /* the others wait for a free slot */
		sp = &w->suspects[w->suspects_count++];
		memset(sp, 0, sizeof(*sp));
		memcpy(sp->tag, tag, strlen(tag) + 1);
	}
	sp->misses++;
	sp->seen = true;
	return 0;
}

/* One node the dead server held: offline, unless it came here meanwhile. */
static int orphan_offline(void *ctx, uint32_t node_id)
{
	struct server *s = ctx;
	struct dir_node *n = dir_node_get(&s->dir, node_id);
	const char *json;

	if (!n)
		return 0;
	if (cluster_node_local(n)) {
		cluster_presence_publish(s, n); /* ours now: the row says so */
		return 0;
	}
	if (n->online || n->public_ep.len) {
		dir_set_offline(&s->dir, n, true);
		log_info("node %u (%s): its server is gone: offline", n->rec.id, n->rec.name);
		server_push_peer(s, n);
	}
	if (!(json = dir_peer_json(&s->dir, n)))
		return -ENOMEM;
	if (store_presence_put(s->store, n->rec.id, "", json, server_wall_now()) < 0 ||
	    store_node_presence(s->store, n->rec.id, false, n->last_seen) < 0)
		log_warn("node %u (%s): storing that its server is gone: %s", n->rec.id, n->rec.name,
			 store_error(s->store));
	return 0;
}

void cluster_dead_sweep(struct server *s)
{
	struct cluster_watch *w = s->cluster;
	size_t kept = 0;

	if (!w)
		return;
	for (size_t i = 0; i < w->suspects_count; i++)
		w->suspects[i].seen = false;
	if (store_presence_orphans(s->store, suspect_seen, w) < 0) {
		log_warn("asking which servers are alive: %s", store_error(s->store));
		return;
	}
	for (size_t i = 0; i < w->suspects_count; i++) {
		struct cluster_suspect *sp = &w->suspects[i];
		if (!sp->seen)
			continue; /* alive again, or its nodes all taken over */
		if (sp->misses == CLUSTER_DEAD_SWEEPS) {
			log_info("server %s has no session in the store any more: its nodes go offline", sp->tag);
			if (store_presence_held(s->store, sp->tag, orphan_offline, s) < 0)
				log_warn("the nodes of server %s: %s", sp->tag, store_error(s->store));
			sp->misses = 0; /* what is left (a node we do not know) is tried again later */
		}
		w->suspects[kept++] = *sp;
	}
	w->suspects_count = kept;
}
