/* The network's control servers, for the nodes' failover (issue 14): each
 * roam-server run with --public-url adds its URL to the store's "servers"
 * meta value (one URL a line), and every node streaming from it gets the
 * list ({"type":"servers"}) when its stream opens and when it changes. A
 * node whose server dies registers with the next one (daemon side,
 * lib/coord/servers.h). The read-modify-write of the meta value can lose
 * an add when two servers start at the same instant: each checks its own
 * URL again every CLUSTER_EXPIRE_TICKS and adds it back, so the list heals
 * within that. A dead server stays listed: a node skips it (it does not
 * answer) and goes on round the list. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "coord/servers.h"
#include "server/cluster/cluster_internal.h"
#include "server/cluster/watch.h"
#include "server/server.h"
#include "util/log.h"

/* COORD_SERVERS_MAX URLs (< COORD_SERVER_URL_MAX each) with their newlines, and the NUL */
#define SERVERS_META_MAX (COORD_SERVERS_MAX * COORD_SERVER_URL_MAX + 1)

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

void cluster_servers_refresh(struct server *s)
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

void cluster_servers_send(struct server *s, struct dir_node *n)
{
	if (s->cluster && s->cluster->servers_line && n->stream)
		stream_send(n->stream, s->cluster->servers_line, strlen(s->cluster->servers_line));
}
