/* Presence writes gathered into one transaction (server.h). A node going
 * online or offline, and each one's last_seen while online, is written to
 * the store for admin commands and the other servers of a cluster; after a
 * restart 100 000 nodes come back within one BINDING interval, and one
 * commit per node would be 100 000 commits. The rows wait at most
 * PRESENCE_BATCH_MS (PRESENCE_REFRESH_MS when all only move last_seen), or
 * until PRESENCE_BATCH_MAX are gathered, and go in one transaction. What
 * waits is only what the store shows: the server's own view of presence
 * (the directory) changes at once. A crash loses at
 * most the last batch, which the next start clears anyway
 * (store_nodes_offline). */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>

#include "server/server.h"
#include "server/store.h"
#include "util/log.h"
#include "util/log_limit.h"

#define PRESENCE_BATCH_MS 100
/* Rows that only move an online node's last_seen (each node's every
 * SERVER_PRESENCE_STORE_S) wait longer: a commit writes every B-tree page
 * its rows touch to the WAL, and at 30 000 nodes 100 ms batches of such
 * rows were 16 % of the server's steady CPU; over 5 s rows share pages. */
#define PRESENCE_REFRESH_MS 5000
#define PRESENCE_BATCH_MAX 8192

struct presence_batch {
	struct store_presence_row rows[PRESENCE_BATCH_MAX];
	size_t count;
	struct event *ev;
	bool armed, armed_soon; /* armed_soon: for PRESENCE_BATCH_MS */
};

void presence_batch_flush(struct server *s)
{
	struct presence_batch *b = s->presence;

	if (!b || !b->count)
		return;
	if (store_nodes_presence(s->store, b->rows, b->count) < 0)
		log_limited(LOG_WARN, "storing the presence of %zu node(s): %s", b->count, store_error(s->store));
	s->stats.presence_batches++;
	s->stats.presence_rows += b->count;
	b->count = 0;
}

static void batch_due(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	s->presence->armed = s->presence->armed_soon = false;
	presence_batch_flush(s);
}

static int batch_open(struct server *s)
{
	struct presence_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	if (!(b->ev = evtimer_new(s->base, batch_due, s))) {
		free(b);
		return -ENOMEM;
	}
	s->presence = b;
	return 0;
}

int presence_batch_add(struct server *s, uint32_t id, bool online, int64_t last_seen, bool soon)
{
	unsigned ms = soon ? PRESENCE_BATCH_MS : PRESENCE_REFRESH_MS;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct presence_batch *b;
	int r;

	if (!s->base) /* no loop (yet): at once */
		return store_node_presence(s->store, id, online, last_seen);
	if (!s->presence && (r = batch_open(s)) < 0)
		return r;
	b = s->presence;
	b->rows[b->count++] = (struct store_presence_row){ .id = id, .online = online, .last_seen = last_seen };
	if (b->count == PRESENCE_BATCH_MAX) {
		presence_batch_flush(s);
		return 0;
	}
	/* A change of online state goes within PRESENCE_BATCH_MS, and takes
	 * the waiting refreshes along. */
	if ((!b->armed || (soon && !b->armed_soon)) && evtimer_add(b->ev, &tv) == 0) {
		b->armed = true;
		b->armed_soon = soon;
	}
	return 0;
}

void presence_batch_close(struct server *s)
{
	struct presence_batch *b = s->presence;

	if (!b)
		return;
	presence_batch_flush(s);
	event_free(b->ev);
	free(b);
	s->presence = NULL;
}
