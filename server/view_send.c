/* A reconnecting node's view as a delta (server/view.h): the peers pushed
 * since the version it holds, the removals since that concern it, then the
 * version it holds now. All in one chunk: a group of 10 000 where two
 * changed costs two lines, not 10 000 peer objects. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"
#include "util/log.h"

struct delta_ctx {
	struct server *srv;
	struct dir_node *node;
	uint64_t since;
	int64_t now;
	char *text; /* the lines, one after the other */
	size_t len, cap;
	size_t visible, changed;
};

static int delta_add(struct delta_ctx *c, char *line)
{
	size_t l;

	if (!line)
		return -ENOMEM;
	l = strlen(line);
	if (c->len + l + 1 > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4096;
		char *p;
		while (cap < c->len + l + 1)
			cap *= 2;
		if (!(p = realloc(c->text, cap))) {
			free(line);
			return -ENOMEM;
		}
		c->text = p;
		c->cap = cap;
	}
	memcpy(c->text + c->len, line, l + 1);
	c->len += l;
	c->changed++;
	free(line);
	return 0;
}

static int delta_peer(void *arg, struct dir_node *peer)
{
	struct delta_ctx *c = arg;
	const char *json;

	c->visible++;
	/* Expired or unapproved (no push says so): gone from its view. */
	if (!dir_node_active(peer, c->now))
		return delta_add(c, coord_line_peer_removed(peer->rec.public_key));
	if (peer->view_seq <= c->since)
		return 0;
	if (!(json = dir_peer_json(&c->srv->dir, peer)))
		return -ENOMEM;
	if (view_peer_hash(json) != peer->view_hash)
		peer->view_hash = 0; /* as in a full view (push.c) */
	return delta_add(c, coord_line_peer(json));
}

static bool groups_meet(const struct dir_node *n, const struct view_removal *e)
{
	size_t i = 0, j = 0;

	while (i < n->rec.groups_count && j < e->groups_count) {
		if (n->rec.groups[i] == e->groups[j])
			return true;
		if (n->rec.groups[i] < e->groups[j])
			i++;
		else
			j++;
	}
	return false;
}

static void delta_removal(void *arg, const struct view_removal *e)
{
	struct delta_ctx *c = arg;
	struct dir_node *x = dir_node_by_key(&c->srv->dir, e->public_key);

	/* Still visible and active: its peer line (pushed after) says how. */
	if (x == c->node || (x && dir_node_active(x, c->now) && dir_share_group(c->node, x)))
		return;
	/* Only to nodes that could see it: no word of other groups' nodes. */
	if (groups_meet(c->node, e) && delta_add(c, coord_line_peer_removed(e->public_key)) < 0)
		log_warn("view delta of node %u: out of memory", c->node->rec.id);
}

int server_send_view_version(struct server *s, struct dir_node *n)
{
	char version[COORD_VIEW_VERSION_MAX + 1], *line;
	int r;

	view_format(&s->view, s->view.seq, version, sizeof(version));
	if (!n->stream || !(line = coord_line_view(version)))
		return n->stream ? -ENOMEM : -EPIPE;
	r = stream_send(n->stream, line, strlen(line));
	free(line);
	return r;
}

int server_send_view_since(struct server *s, struct dir_node *n, const char *version)
{
	struct delta_ctx c = { .srv = s, .node = n, .now = server_wall_now() };
	struct srv_stream *st = n->stream;
	int r;

	if (!view_parse_since(&s->view, version, &c.since) || c.since < n->view_reset_seq) {
		log_debug("node %u: version %s: not one a delta can start from (reset %llu)", n->rec.id, version,
			  (unsigned long long)n->view_reset_seq);
		return server_send_view(s, n);
	}
	if ((r = dir_foreach_visible(&s->dir, n, delta_peer, &c)) < 0)
		goto out;
	view_foreach_removal(&s->view, c.since, delta_removal, &c);
	/* Most of it changed: the full view is as cheap and simpler. */
	if (c.visible > 64 && c.changed * 2 > c.visible) {
		log_debug("node %u: %zu of %zu peers changed: the whole view", n->rec.id, c.changed, c.visible);
		free(c.text);
		return server_send_view(s, n);
	}
	server_push_self(s, n);
	if (!n->stream || n->stream != st) {
		r = -EPIPE;
		goto out;
	}
	if (c.len && (r = stream_send(n->stream, c.text, c.len)) < 0)
		goto out;
	if ((r = server_send_view_version(s, n)) == 0)
		server_ticket_send(s, n);
	s->view.deltas++;
	s->view.delta_lines += c.changed;
out:
	free(c.text);
	return r;
}
