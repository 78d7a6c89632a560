/* roam-server's event log: what happened, to which node, by whom. Stored
 * (store_event_*), pruned after the retention, handed to followers (the
 * admin socket's `events --follow`, the console's server-sent events) as
 * it happens. Main loop only. */
#ifndef ROAM_SERVER_EVENTS_H
#define ROAM_SERVER_EVENTS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/store.h"

struct server;
struct dir_node;
struct cJSON;

/* The kinds (docs/admin-api.md, "Events"). */
#define EV_JOIN "join"               /* a node registered (new, or again) */
#define EV_APPROVE "approve"         /* an admin approved a node */
#define EV_LOGIN "login"             /* an admin logged in to the console */
#define EV_LOGOUT "logout"
#define EV_ENDPOINT "endpoint"       /* a node's public endpoint moved */
#define EV_ONLINE "online"
#define EV_OFFLINE "offline"
#define EV_PATH "path"               /* a node reported a path change */
#define EV_RELAY "relay"             /* a relay link (TCP/WebSocket/long-poll) opened or closed */
#define EV_ADMIN "admin"             /* an admin change: who did what */
#define EV_AUTH_FAILED "auth_failed" /* a failed node authentication or admin login */
#define EV_REFUSED "refused"         /* a refused request (rate limits, CSRF, ...) */

#define EVENTS_RETENTION_DAYS_DEFAULT 30
#define EVENTS_PRUNE_INTERVAL_S 3600
/* A flood of failures must not fill the disk: at most this many events a
 * second are stored; the rest are counted (events_dropped). */
#define EVENTS_PER_SECOND_MAX 200
#define EVENTS_FOLLOWERS_MAX 64

struct events_follower {
	void (*cb)(void *ctx, const struct store_event *ev);
	void *ctx;
	struct events_follower *prev, *next;
};

struct server_events {
	struct event *prune_ev;
	unsigned retention_days;
	int64_t window;           /* this second ... */
	unsigned in_window;       /* ... and the events stored in it */
	uint64_t stored, dropped; /* for the metrics */
	uint64_t by_kind[12];     /* in the order of events_kinds[] */
	struct events_follower *followers;
	size_t followers_count;
};

extern const char *const events_kinds[12];

int events_open(struct server *s, unsigned retention_days); /* 0: the default */
void events_close(struct server *s);

/* Records an event; n (may be NULL) names the node, actor (may be NULL)
 * who acted. */
void server_event(struct server *s, const char *kind, const struct dir_node *n, const char *actor, const char *fmt,
		  ...) __attribute__((format(printf, 5, 6)));
/* The same with a node known only by name (an admin change). */
void server_event_named(struct server *s, const char *kind, const char *node, const char *actor, const char *fmt,
			...) __attribute__((format(printf, 5, 6)));

/* -EMFILE beyond EVENTS_FOLLOWERS_MAX. */
int events_follow(struct server *s, struct events_follower *f);
void events_unfollow(struct server *s, struct events_follower *f);

/* {"id", "time", "kind", "node", "actor", "detail"}; NULL if out of memory. */
struct cJSON *events_to_json(const struct store_event *ev);
bool events_kind_valid(const char *kind);

#endif
