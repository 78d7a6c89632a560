/* The network's control servers, for the nodes' failover (issue 14): each
 * roam-server run with --public-url adds its URL to the store's "servers"
 * meta value (one URL a line), and every node streaming from it gets the
 * list ({"type":"servers"}) when its stream opens and when it changes. A
 * node whose server dies registers with the next one (daemon side,
 * lib/coord/servers.h). The read-modify-write of the meta value can lose
 * an add when two servers start at the same instant: each checks its own
 * URL again every CLUSTER_EXPIRE_TICKS and adds it back, so the list heals
 * within that.
 *
 * A server gone for good leaves the list: each server also writes its
 * presence tag beside its URL (meta "server_tags", "TAG URL" lines, when it
 * starts or its line is missing), and at each check asks the store whether
 * each listed server's tag still has a session (cluster/dead.c's test of
 * life); a server missing COORD_SERVER_GONE_S in a row (a day: an upgrade
 * or a night's maintenance is not a death) is removed, never this server
 * and never the last one (coord_servers_prune). Its nodes' streams get the
 * shorter list and the nodes save it; a server that comes back adds itself
 * again. A URL with no tag (written by hand, or by a server of a version
 * before) counts as missing. The time missing is each server's own (in
 * memory): a server restarted starts counting again. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/servers.h"
#include "server/cluster/cluster_internal.h"
#include "server/cluster/watch.h"
#include "server/server.h"
#include "util/log.h"

/* COORD_SERVERS_MAX URLs (< COORD_SERVER_URL_MAX each) with their newlines, and the NUL */
#define SERVERS_META_MAX (COORD_SERVERS_MAX * COORD_SERVER_URL_MAX + 1)
/* "TAG URL\n" for each of them */
#define TAGS_META_MAX (COORD_SERVERS_MAX * (CLUSTER_TAG_LEN + 1 + COORD_SERVER_URL_MAX) + 1)

static void servers_parse(const char *text, struct coord_servers *l)
{
	char url[COORD_SERVER_URL_MAX];
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		if (n < sizeof(url)) {
			memcpy(url, p, n);
			url[n] = '\0';
			(void)coord_servers_add(l, url); /* a bad or extra line: skipped */
		}
		p += n + (p[n] == '\n');
	}
}

static int servers_write(struct server *s, const struct coord_servers *l)
{
	char text[SERVERS_META_MAX];
	size_t at = 0;
	for (size_t i = 0; i < l->count; i++) {
		size_t n = strlen(l->url[i]);
		memcpy(text + at, l->url[i], n);
		text[at + n] = '\n';
		at += n + 1;
	}
	text[at] = '\0';
	return store_meta_set(s->store, "servers", text);
}

/* A test build can make a day seconds (t_cluster_prune). */
static int64_t gone_s(void)
{
#ifdef ROAM_TEST_HOOKS
	const char *v = getenv("ROAM_TEST_SERVER_GONE_S");
	if (v && atoi(v) > 0)
		return atoi(v);
#endif
	return COORD_SERVER_GONE_S;
}

/* The tags of l's servers from "server_tags" (tags[i] for l->url[i], ""
 * for none), ours set; *dirty: the value needs writing. */
static int tags_read(struct server *s, const struct coord_servers *l, char tags[][CLUSTER_TAG_LEN + 1], bool *dirty)
{
	char *text = malloc(TAGS_META_MAX);
	int r;

	if (!text)
		return -ENOMEM;
	if ((r = store_meta_get(s->store, "server_tags", text, TAGS_META_MAX)) == -ENOENT)
		text[0] = '\0';
	else if (r < 0)
		goto out;
	r = 0;
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n"), t = strcspn(p, " ");
		for (size_t i = 0; t < n && t <= CLUSTER_TAG_LEN && i < l->count; i++) {
			if (n - t - 1 == strlen(l->url[i]) && memcmp(p + t + 1, l->url[i], n - t - 1) == 0) {
				memcpy(tags[i], p, t);
				tags[i][t] = '\0';
			}
		}
		p += n + (p[n] == '\n');
	}
	for (size_t i = 0; s->cfg.public_url && i < l->count; i++) {
		if (strcmp(l->url[i], s->cfg.public_url) == 0 && strcmp(tags[i], s->cluster->tag) != 0) {
			memcpy(tags[i], s->cluster->tag, sizeof(tags[i]));
			*dirty = true;
		}
	}
out:
	free(text);
	return r;
}

static int tags_write(struct server *s, const struct coord_servers *l, char tags[][CLUSTER_TAG_LEN + 1])
{
	char *text = malloc(TAGS_META_MAX);
	size_t at = 0;
	int r;

	if (!text)
		return -ENOMEM;
	text[0] = '\0';
	for (size_t i = 0; i < l->count; i++)
		if (tags[i][0])
			at += (size_t)snprintf(text + at, TAGS_META_MAX - at, "%s %s\n", tags[i], l->url[i]);
	r = store_meta_set(s->store, "server_tags", text);
	free(text);
	return r;
}

/* Drops from l (and the store) the servers gone for good. */
static void servers_prune(struct server *s, struct coord_servers *l)
{
	struct cluster_watch *w = s->cluster;
	char tags[COORD_SERVERS_MAX][CLUSTER_TAG_LEN + 1] = { { 0 } }, kept_tags[COORD_SERVERS_MAX][CLUSTER_TAG_LEN + 1];
	bool alive[COORD_SERVERS_MAX] = { false }, dirty = false;
	struct coord_servers before = *l;

	if (tags_read(s, l, tags, &dirty) < 0)
		return;
	for (size_t i = 0; i < l->count; i++)
		if (tags[i][0] && store_session_alive(s->store, tags[i], &alive[i]) < 0)
			return; /* the store is away: no verdict */
	if (coord_servers_prune(l, alive, &w->missing, s->cfg.public_url, links_now(), gone_s()) > 0) {
		for (size_t i = 0, k = 0; i < before.count; i++) {
			if (k < l->count && strcmp(before.url[i], l->url[k]) == 0)
				memcpy(kept_tags[k++], tags[i], sizeof(tags[i]));
			else
				log_info("the server %s has had no session in the store for %" PRId64
					 " s: gone, no longer listed for the nodes", before.url[i], gone_s());
		}
		memcpy(tags, kept_tags, sizeof(tags));
		dirty = true;
		if (servers_write(s, l) < 0)
			log_warn("forgetting the servers gone: %s", store_error(s->store));
	}
	if (dirty && tags_write(s, l, tags) < 0)
		log_warn("publishing this server's tag: %s", store_error(s->store));
}

/* check: also publish our tag and drop the servers gone (the 10 s timer
 * and the start, not every notification: a few queries each). */
static void servers_update(struct server *s, bool check)
{
	struct cluster_watch *w = s->cluster;
	char *text = NULL, *line = NULL;
	struct coord_servers *l = NULL;
	int r;

	if (!w)
		return;
	if (!(text = malloc(SERVERS_META_MAX)) || !(l = calloc(1, sizeof(*l))))
		goto out;
	r = store_meta_get(s->store, "servers", text, SERVERS_META_MAX);
	if (r == -ENOENT)
		text[0] = '\0';
	else if (r < 0)
		goto out;
	servers_parse(text, l);
	/* Without --public-url we are not listed, but our nodes still learn
	 * where the others are. */
	bool listed = !s->cfg.public_url;
	for (size_t i = 0; !listed && i < l->count; i++)
		listed = strcmp(l->url[i], s->cfg.public_url) == 0;
	if (!listed && coord_servers_add(l, s->cfg.public_url) == 0 && servers_write(s, l) < 0)
		log_warn("publishing this server's URL: %s", store_error(s->store));
	if (check)
		servers_prune(s, l);
	w->servers_count = l->count;
	if (!l->count)
		goto out; /* nobody listed: no line */
	if (!(line = coord_line_servers(l)))
		goto out;
	if (w->servers_line && strcmp(w->servers_line, line) == 0)
		goto out;
	free(w->servers_line);
	w->servers_line = line;
	line = NULL;
	log_info("the network's servers: %zu", l->count);
	for (struct srv_stream *st = s->streams, *next; st; st = next) {
		next = st->next; /* stream_send may close st */
		stream_send(st, w->servers_line, strlen(w->servers_line));
	}
out:
	free(line);
	free(l);
	free(text);
}

void cluster_servers_refresh(struct server *s) { servers_update(s, false); }

void cluster_servers_check(struct server *s) { servers_update(s, true); }

void cluster_servers_send(struct server *s, struct dir_node *n)
{
	if (s->cluster && s->cluster->servers_line && n->stream)
		stream_send(n->stream, s->cluster->servers_line, strlen(s->cluster->servers_line));
}
