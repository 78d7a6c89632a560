/* The store's change notifications in the event loop (cluster/watch.h).
 * Reading is non-blocking (libpq buffers notifications); the one blocking
 * step, re-connecting after PostgreSQL went away, happens on a 1 s timer,
 * never on every wake-up of a dead socket. */
#include "server/cluster/watch.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto/crypto.h"

#include "server/cluster/cluster_internal.h"
#include "server/server.h"
#include "util/log.h"

#define CLUSTER_RETRY_S 1

static void on_readable(evutil_socket_t fd, short what, void *arg);

/* (Re-)arms the read event on the store's current socket: 0, or -1 when the
 * connection is down (the retry timer tries again). */
static int watch_arm(struct server *s)
{
	struct cluster_watch *w = s->cluster;
	int fd = store_watch_fd(s->store);

	if (w->read_ev && fd == w->fd)
		return 0;
	if (w->read_ev) {
		event_free(w->read_ev);
		w->read_ev = NULL;
	}
	if (fd < 0)
		return -1;
	w->read_ev = event_new(s->base, fd, EV_READ | EV_PERSIST, on_readable, s);
	if (!w->read_ev || event_add(w->read_ev, NULL) < 0)
		return -1;
	w->fd = fd;
	return 0;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct cluster_watch *w = s->cluster;
	int64_t v, pv;

	(void)fd;
	(void)what;
	server_sync_admin_changes(s); /* reloads and pushes when another connection committed */
	cluster_presence_pull(s);
	cluster_servers_refresh(s); /* another server may have listed itself */
	if (store_watch_fd(s->store) == w->fd && store_data_version(s->store, &v) == 0 &&
	    store_presence_version(s->store, &pv) == 0) {
		/* A commit during the reload or the pull: libpq read its
		 * notification with their results, so the socket stays quiet
		 * although the versions moved. Look again at the next turn
		 * (not in a loop here: other events first). */
		if (v != s->data_version || pv != w->presence_version)
			event_active(w->read_ev, EV_READ, 0);
		return;
	}
	if (store_watch_fd(s->store) != w->fd || store_data_version(s->store, &v) < 0) {
		/* lost: stop listening to a dead socket; the timer reconnects */
		log_warn("the store's connection: %s; retrying every %d s", store_error(s->store), CLUSTER_RETRY_S);
		event_free(w->read_ev);
		w->read_ev = NULL;
	}
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct cluster_watch *w = s->cluster;

	(void)fd;
	(void)what;
	if (++w->ticks % CLUSTER_DEAD_TICKS == 0)
		cluster_dead_sweep(s);
	if (w->ticks % COORD_SERVERS_PING_S == 0 && cluster_pings_streams(s))
		stream_ping_all(s);
	if (w->ticks % CLUSTER_EXPIRE_TICKS == 0) {
		cluster_presence_expire(s);
		cluster_servers_check(s);
	}
	if (w->read_ev)
		return;
	server_sync_admin_changes(s); /* re-connects (the version moves: we reload) */
	cluster_presence_pull(s);
	if (watch_arm(s) == 0)
		log_info("the store's connection is back: listening for changes again");
}

int cluster_watch_open(struct server *s)
{
	struct timeval retry = { CLUSTER_RETRY_S, 0 };
	struct cluster_watch *w;

	if (!s->store || store_watch_fd(s->store) < 0)
		return 0; /* SQLite, or a relay-only server */
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	s->cluster = w;
	w->fd = -1;
	{
		uint8_t rnd[CLUSTER_TAG_LEN / 2];
		crypto_random(rnd, sizeof(rnd));
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(w->tag + 2 * i, 3, "%02x", rnd[i]);
	}
	/* Our session carries our tag: the others see we are alive (dead.c). */
	if (store_session_name(s->store, w->tag) < 0)
		log_warn("naming this server's session in the store: %s", store_error(s->store));
	w->retry_ev = event_new(s->base, -1, EV_PERSIST, on_retry, s);
	if (!w->retry_ev || event_add(w->retry_ev, &retry) < 0 || watch_arm(s) < 0)
		return -EIO;
	w->presence_version = -1; /* the first pull reads every other server's nodes */
	cluster_presence_pull(s);
	cluster_servers_check(s);
	return 0;
}

bool cluster_pings_streams(const struct server *s) { return s->cluster && s->cluster->servers_count >= 2; }

void cluster_watch_close(struct server *s)
{
	struct cluster_watch *w = s->cluster;

	if (!w)
		return;
	if (w->read_ev)
		event_free(w->read_ev);
	if (w->retry_ev)
		event_free(w->retry_ev);
	free(w->servers_line);
	free(w);
	s->cluster = NULL;
}
