/* roam-server's lifecycle and timers: presence (a binding lives lifetime +
 * grace), stream pings every 15 s. Admin changes come over the admin
 * socket (server/admin/sock.h) and are pushed at once: nothing polls. */
#include "server/server.h"

#include <errno.h>
#include <malloc.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "server/admin/admin.h"
#include "server/admin/sock.h"
#include "server/cluster/watch.h"
#include "server/files/cache.h"
#include "server/files/index.h"
#include "server/meta.h"
#include "server/relay_thread.h"
#include "server/relayonly/relayonly.h"
#include "util/log.h"

int64_t server_wall_now(void) { return (int64_t)time(NULL); }

uint64_t server_wall_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One per bound node. A BINDING only moves due_ns: the timer is not
 * re-armed (100 000 nodes bind every 25 s: 4 000 updates a second of
 * libevent's heap of 100 000 timers, ~2 % of a core), it fires at the
 * deadline it was armed for and arms itself again for what is left. */
struct presence_timer {
	struct server *srv;
	uint32_t node_id;
	struct event *ev;
	uint64_t due_ns; /* monotonic: the last BINDING + lifetime + grace */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void presence_arm(struct presence_timer *t, uint64_t in_ns)
{
	struct timeval tv = { (time_t)(in_ns / 1000000000u), (suseconds_t)(in_ns % 1000000000u / 1000u) };

	evtimer_add(t->ev, &tv);
}

/* A vanished node: no BINDING within lifetime + grace. */
static void presence_expired(evutil_socket_t fd, short what, void *arg)
{
	struct presence_timer *t = arg;
	struct dir_node *n = dir_node_get(&t->srv->dir, t->node_id);
	uint64_t now = mono_ns();

	(void)fd;
	(void)what;
	if (!n)
		return;
	if (now < t->due_ns) { /* bound again since it was armed */
		presence_arm(t, t->due_ns - now);
		return;
	}
	stream_push_close_node(n); /* its pushes had only this binding to go to */
	if (!n->online || !n->public_ep.len) {
		server_presence_store(t->srv, n); /* taken offline by another's takeover */
		return;
	}
	dir_set_offline(&t->srv->dir, n, true);
	log_info("node %u (%s): binding expired, %s", n->rec.id, n->rec.name,
		 n->online ? "still online on its relay link" : "offline");
	server_presence_store(t->srv, n);
	server_push_peer(t->srv, n);
	server_push_self(t->srv, n);
}

void server_presence_store(struct server *s, struct dir_node *n)
{
	int64_t now = server_wall_now();

	if (!s->store)
		return; /* a relay-only server keeps no presence */
	if (n->stored_online != n->online)
		server_event(s, n->online ? EV_ONLINE : EV_OFFLINE, n, NULL, "%s",
			     !n->online ? "" : n->public_ep.len ? "binding" : "relay link");
	if (n->stored_online == n->online && (!n->online || now < n->stored_at + SERVER_PRESENCE_STORE_S))
		return;
	/* soon: an online state changed (a refresh of last_seen may wait) */
	if (presence_batch_add(s, n->rec.id, n->online, n->last_seen, n->stored_online != n->online) < 0) {
		log_warn("node %u (%s): storing presence: %s", n->rec.id, n->rec.name, store_error(s->store));
		return;
	}
	n->stored_online = n->online;
	n->stored_at = now;
	cluster_presence_publish(s, n); /* a heartbeat for the other servers (PostgreSQL) */
}

void server_presence_refresh(struct server *s, struct dir_node *n)
{
	struct presence_timer *t = n->timer;
	uint64_t life_ns = (uint64_t)(s->cfg.binding_lifetime_s + s->cfg.grace_s) * 1000000000u;

	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return;
		t->srv = s;
		t->node_id = n->rec.id;
		t->ev = evtimer_new(s->base, presence_expired, t);
		if (!t->ev) {
			free(t);
			return;
		}
		n->timer = t;
	}
	t->due_ns = mono_ns() + life_ns;
	if (!evtimer_pending(t->ev, NULL))
		presence_arm(t, life_ns);
	server_presence_store(s, n);
}

void server_node_forget(struct server *s, struct dir_node *n)
{
	struct presence_timer *t = n->timer;

	if (n->stream)
		stream_close(n->stream);
	links_close_node(s, n);
	if (t) {
		event_free(t->ev);
		free(t);
		n->timer = NULL;
	}
	server_paths_forget(s, n->rec.id);
	dir_node_remove(&s->dir, n->rec.id);
}

static void ping_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	if (!cluster_pings_streams(arg)) /* several servers: every 5 s from there */
		stream_ping_all(arg);
	server_tickets_tick(arg);
	relays_ping_all(arg);
	/* TLS buffers are released between writes (SSL_MODE_RELEASE_BUFFERS)
	 * and a burst of handshakes leaves the heap full of free holes: give
	 * their pages back (glibc; its cost at 18 000 nodes was not measured apart). */
	malloc_trim(0);
}

/* An admin command that found no server running wrote to the store itself
 * (a race with our start); its data_version moved and we reload. Cheap (one
 * pragma), and asked only before a registration: not a poll. */
void server_sync_admin_changes(struct server *s)
{
	int64_t v;
	int r;

	if (!s->store || store_data_version(s->store, &v) < 0 || v == s->data_version)
		return;
	s->data_version = v;
	if ((r = server_reload(s)) < 0 || (r = relays_reload(s)) < 0)
		log_err("reloading the state failed: %s", store_error(s->store));
	else
		log_info("state changed by an admin command: reloaded (%zu nodes)", s->dir.count);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;

	struct timeval flush = { 0, SERVER_GOODBYE_FLUSH_MS * 1000 };

	(void)what;
	if (s->stopping) {
		event_base_loopexit(s->base, NULL); /* a second signal: at once */
		return;
	}
	s->stopping = true;
	log_info("signal %d: shutting down", (int)sig);
	/* Each stream hears when to come back, spread over the time a
	 * readmission takes, and the lines get out before the loop ends. */
	stream_goodbye_all(s);
	event_base_loopexit(s->base, s->streams_count ? &flush : NULL);
}

static int server_timers(struct server *s)
{
	struct timeval ping = { COORD_STREAM_PING_S, 0 };

	s->ping_ev = event_new(s->base, -1, EV_PERSIST, ping_tick, s);
	s->sigint_ev = evsignal_new(s->base, SIGINT, on_signal, s);
	s->sigterm_ev = evsignal_new(s->base, SIGTERM, on_signal, s);
	if (!s->ping_ev || !s->sigint_ev || !s->sigterm_ev)
		return -ENOMEM;
	if (event_add(s->ping_ev, &ping) < 0 ||
	    event_add(s->sigint_ev, NULL) < 0 || event_add(s->sigterm_ev, NULL) < 0)
		return -EIO;
	return 0;
}

static int server_state(struct server *s)
{
	char path[SERVER_PATH_MAX], text[128], err[SERVER_ERROR_MAX];
	struct ip_prefix net6;
	int r;

	if ((r = identity_load(s->cfg.state_dir, &s->id, err)) < 0) {
		log_err("%s", err);
		return r;
	}
	if ((r = identity_path(path, s->cfg.state_dir, "state.db")) < 0)
		return r;
	if ((r = store_open(path, false, &s->store)) < 0) {
		log_err("%s", store_error(NULL));
		return r;
	}
	store_nodes_offline(s->store); /* what a previous run left */
	if (store_meta_get(s->store, "network6", text, sizeof(text)) < 0 || server_meta_network6(text, &net6) < 0) {
		log_err("%s: no valid network6 setting (corrupt state?)", path);
		return -EBADMSG;
	}
	if (!s->cfg.port) {
		if (store_meta_get(s->store, "port", text, sizeof(text)) < 0 || server_meta_port(text, &s->cfg.port) < 0) {
			log_err("%s: no valid port setting (corrupt state?)", path);
			return -EBADMSG;
		}
	}
	if ((r = server_tickets_open(s)) < 0) {
		log_err("%s: no valid ticket_serial setting (corrupt state?)", path);
		return r;
	}
	dir_init(&s->dir, s->id.control_priv, net6.addr);
	s->dir.group_view_max = !s->cfg.group_view_max		 ? SERVER_GROUP_VIEW_MAX
				: s->cfg.group_view_max == SIZE_MAX ? 0
								    : s->cfg.group_view_max;
	if ((r = server_load_all(s)) < 0) {
		log_err("loading nodes: %s", store_error(s->store));
		return r;
	}
	view_state_load(s); /* a failure costs full views, nothing else */
	findex_sweep_removed(s); /* nodes removed while we were down */
	fcache_forget_node(s, 0); /* and their offline pushes */
	if ((r = relays_open(s)) < 0) {
		log_err("loading relays: %s", store_error(s->store));
		return r;
	}
	return store_data_version(s->store, &s->data_version);
}

/* roam-server relay: its key and certificate; no store, nodes come with
 * their tickets (server/relayonly/), their keys are K_nr. */
static int server_state_relay(struct server *s)
{
	char err[SERVER_ERROR_MAX];
	uint8_t net6[16] = { 0 };
	int r;

	if ((r = identity_load_relay(s->cfg.state_dir, &s->id, err)) < 0) {
		log_err("%s", err);
		return r;
	}
	if ((r = dir_init(&s->dir, s->id.control_priv, net6)) < 0)
		return r;
	s->dir.key_label = RELAY_NODE_KEY_LABEL;
	s->ro = s->cfg.relay;
	s->ro->srv = s;
	return 0;
}

/* Every connection is an fd: take all the kernel lets us have (the hard
 * limit; systemd's default soft limit is 1024), and size the caps from it. */
static int server_fd_budget(struct server *s)
{
	struct rlimit rl;
	unsigned budget;
	int r;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t soft = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("cannot raise the open files limit to %llu: %s", (unsigned long long)rl.rlim_cur,
				 strerror(errno));
			rl.rlim_cur = soft;
		}
	}
	budget = rl.rlim_cur > CONN_LIMIT_MAX_CONNS_MAX ? CONN_LIMIT_MAX_CONNS_MAX : (unsigned)rl.rlim_cur;
	s->fd_budget = budget;
	if ((r = conn_limit_config_complete(&s->cfg.conn, budget)) < 0) {
		log_err("connection limits: open files limit %u too low, or bad --max-startups", budget);
		return r;
	}
	if (s->cfg.conn.max_conns > budget - (budget > CONN_LIMIT_FD_RESERVE ? CONN_LIMIT_FD_RESERVE : 0))
		log_warn("--max-connections %u is above what %u open files allow: accept() will back off instead",
			 s->cfg.conn.max_conns, budget);
	return 0;
}

/* Off (one queue, as before them) in a test build with
 * ROAM_SERVER_TEST_NO_PRIO=1: t_push_keep_flood's figure without them. */
static bool server_prio_on(void)
{
#ifdef ROAM_TEST_HOOKS
	const char *v = getenv("ROAM_SERVER_TEST_NO_PRIO");
	return !(v && *v == '1');
#else
	return true;
#endif
}

/* The loop with its priorities (enum server_prio), before any event is
 * created: an event takes the base's default priority when it is made.
 * After SERVER_DISPATCH_MAX callbacks below SERVER_PRIO_UDP the loop
 * looks for new events, else libevent would run the whole active queue of
 * handshakes before it sees that the UDP socket became readable. Not after
 * each one: every look is an epoll_wait, and the relay links' TLS streams
 * (hundreds of reads a second per link) run on this loop too; 8 handshakes
 * (~1 ms each) are still nothing next to the 10 s fallback. */
#define SERVER_DISPATCH_MAX 8
static int server_base_new(struct server *s)
{
	struct event_config *cfg = event_config_new();
	int r = 0;

	if (!cfg)
		return -ENOMEM;
	if (!server_prio_on()) {
		s->base = event_base_new_with_config(cfg);
		event_config_free(cfg);
		return s->base ? 0 : -ENOMEM;
	}
	if (event_config_set_max_dispatch_interval(cfg, NULL, SERVER_DISPATCH_MAX, SERVER_PRIO_DEFAULT) < 0)
		r = -EINVAL;
	else if (!(s->base = event_base_new_with_config(cfg)))
		r = -ENOMEM;
	else if (event_base_priority_init(s->base, SERVER_PRIO_COUNT) < 0)
		r = -EINVAL;
	event_config_free(cfg);
	return r;
}

int server_open(struct server *s, const struct server_config *cfg)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->udp.fd = -1;
	if ((r = server_fd_budget(s)) < 0)
		return r;
	if ((r = view_init(&s->view)) < 0 || (r = s->cfg.relay_only ? server_state_relay(s) : server_state(s)) < 0)
		return r;
	if ((r = server_auth_init(s)) < 0)
		return r;
	if ((r = server_base_new(s)) < 0)
		return r;
	if (!(s->scratch = evbuffer_new()))
		return -ENOMEM;
	if ((r = http_open(s)) < 0 || (r = relay_open(s)) < 0 || (r = push_srv_open(s)) < 0 || (r = links_open(s)) < 0 ||
	    (r = server_timers(s)) < 0 || (r = view_state_start(s)) < 0 || (s->ro && (r = relayonly_loop_open(s)) < 0) ||
	    (!s->ro && ((r = events_open(s, s->cfg.event_retention_days)) < 0 || (r = admin_sock_open(s)) < 0 ||
			     (r = admin_http_open(s)) < 0 || (r = cluster_watch_open(s)) < 0)))
		return r;
	if (s->ro)
		s->relay.admit = relayonly_udp_admit; /* RELAY_BIND */
	s->relay.rate_bytes_s = s->cfg.rate_limit_bytes_s;
	log_info("serving %zu nodes on port %u (HTTPS and UDP), binding lifetime %u s + %u s grace",
		 s->dir.count, s->cfg.port, s->cfg.binding_lifetime_s, s->cfg.grace_s);
	return 0;
}

int server_run(struct server *s)
{
	int r = event_base_dispatch(s->base) < 0 ? -EIO : 0;

	/* Relaying ends with the loop: the stats lines after this count all
	 * the thread forwarded. */
	relay_thread_stop(s);
	return r;
}

void server_close(struct server *s)
{
	view_state_close(s); /* saved while the directory holds every node's version */
	cluster_watch_close(s);
	admin_http_close(s);
	admin_sock_close(s);
	events_close(s);
	while (s->streams)
		stream_close(s->streams);
	push_srv_close(s);
	links_close(s); /* before evhttp_free, which would free their connections */
	relays_close(s);
	relayonly_loop_close(s);
	for (size_t id = 0; s->dir.by_id && id < s->dir.by_id_cap; id++) {
		struct dir_node *n = s->dir.by_id[id];
		struct presence_timer *t = n ? n->timer : NULL;
		if (t) {
			event_free(t->ev);
			free(t);
			n->timer = NULL;
		}
	}
	presence_batch_close(s); /* before the loop goes: the last rows */
	http_close(s);
	relay_close(s);
	if (s->ping_ev)
		event_free(s->ping_ev);
	if (s->sigint_ev)
		event_free(s->sigint_ev);
	if (s->sigterm_ev)
		event_free(s->sigterm_ev);
	if (s->scratch)
		evbuffer_free(s->scratch);
	if (s->base)
		event_base_free(s->base);
	admin_http_free(s); /* its connection count outlives the connections */
	server_paths_free(s);
	dir_free(&s->dir);
	view_free(&s->view);
	server_auth_free(s);
	if (s->store)
		store_nodes_offline(s->store); /* nobody is reachable through us now */
	store_close(s->store);
	identity_wipe(&s->id);
}
