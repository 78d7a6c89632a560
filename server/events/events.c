/* The event log (events.h). */
#include "server/events/events.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "server/server.h"
#include "util/log.h"
#include "util/log_limit.h"

const char *const events_kinds[12] = {
	EV_JOIN, EV_APPROVE, EV_LOGIN, EV_LOGOUT, EV_ENDPOINT, EV_ONLINE,
	EV_OFFLINE, EV_PATH, EV_RELAY, EV_ADMIN, EV_AUTH_FAILED, EV_REFUSED,
};

static int kind_index(const char *kind)
{
	for (size_t i = 0; i < sizeof(events_kinds) / sizeof(events_kinds[0]); i++)
		if (strcmp(events_kinds[i], kind) == 0)
			return (int)i;
	return -1;
}

bool events_kind_valid(const char *kind) { return kind && kind_index(kind) >= 0; }

static void events_prune(struct server *s)
{
	int64_t before = server_wall_now() - (int64_t)s->events.retention_days * 86400;
	size_t removed = 0;

	if (store_events_prune(s->store, before, &removed) < 0)
		log_warn("pruning the event log: %s", store_error(s->store));
	else if (removed)
		log_info("event log: %zu event(s) older than %u days removed", removed, s->events.retention_days);
}

static void prune_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	events_prune(arg);
}

int events_open(struct server *s, unsigned retention_days)
{
	struct timeval tv = { EVENTS_PRUNE_INTERVAL_S, 0 };

	s->events.retention_days = retention_days ? retention_days : EVENTS_RETENTION_DAYS_DEFAULT;
	if (!s->store)
		return 0;
	events_prune(s);
	if (!(s->events.prune_ev = event_new(s->base, -1, EV_PERSIST, prune_tick, s)) ||
	    event_add(s->events.prune_ev, &tv) < 0)
		return -ENOMEM;
	return 0;
}

void events_close(struct server *s)
{
	while (s->events.followers)
		events_unfollow(s, s->events.followers);
	if (s->events.prune_ev)
		event_free(s->events.prune_ev);
	s->events.prune_ev = NULL;
}

static void event_record(struct server *s, struct store_event *ev)
{
	int k = kind_index(ev->kind);
	int64_t now = server_wall_now();

	if (!s->store)
		return;
	if (now != s->events.window) {
		s->events.window = now;
		s->events.in_window = 0;
	}
	if (s->events.in_window >= EVENTS_PER_SECOND_MAX) {
		s->events.dropped++;
		return;
	}
	s->events.in_window++;
	ev->at = now;
	if (store_event_add(s->store, ev) < 0) {
		log_limited(LOG_WARN, "event log: %s", store_error(s->store));
		s->events.dropped++;
		return;
	}
	s->events.stored++;
	if (k >= 0)
		s->events.by_kind[k]++;
	for (struct events_follower *f = s->events.followers, *next; f; f = next) {
		next = f->next; /* a follower may leave from its callback */
		f->cb(f->ctx, ev);
	}
}

static void event_vrecord(struct server *s, const char *kind, uint32_t node_id, const char *node, const char *actor,
			  const char *fmt, va_list ap)
{
	struct store_event ev = { .node_id = node_id };

	snprintf(ev.kind, sizeof(ev.kind), "%s", kind);
	snprintf(ev.node, sizeof(ev.node), "%s", node ? node : "");
	snprintf(ev.actor, sizeof(ev.actor), "%s", actor ? actor : "");
	vsnprintf(ev.detail, sizeof(ev.detail), fmt, ap);
	event_record(s, &ev);
}

void server_event(struct server *s, const char *kind, const struct dir_node *n, const char *actor, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	event_vrecord(s, kind, n ? n->rec.id : 0, n ? n->rec.name : NULL, actor, fmt, ap);
	va_end(ap);
}

void server_event_named(struct server *s, const char *kind, const char *node, const char *actor, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	event_vrecord(s, kind, 0, node, actor, fmt, ap);
	va_end(ap);
}

int events_follow(struct server *s, struct events_follower *f)
{
	if (s->events.followers_count >= EVENTS_FOLLOWERS_MAX)
		return -EMFILE;
	f->prev = NULL;
	f->next = s->events.followers;
	if (f->next)
		f->next->prev = f;
	s->events.followers = f;
	s->events.followers_count++;
	return 0;
}

void events_unfollow(struct server *s, struct events_follower *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else if (s->events.followers == f)
		s->events.followers = f->next;
	else
		return; /* not following */
	if (f->next)
		f->next->prev = f->prev;
	f->prev = f->next = NULL;
	s->events.followers_count--;
}

cJSON *events_to_json(const struct store_event *ev)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddNumberToObject(o, "id", (double)ev->id) || !cJSON_AddNumberToObject(o, "time", (double)ev->at) ||
	    !cJSON_AddStringToObject(o, "kind", ev->kind) || !cJSON_AddStringToObject(o, "node", ev->node) ||
	    !cJSON_AddStringToObject(o, "actor", ev->actor) || !cJSON_AddStringToObject(o, "detail", ev->detail)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
