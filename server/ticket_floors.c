/* Ticket floors kept in the store (relays.h): the floors a ticket still
 * alive may be under (removed, expired and regrouped nodes, the last
 * TICKET_LIFETIME_S), so that a relay-only server that (re)connects after
 * the control server restarted still hears of them. Without this, a relay
 * that was away (or restarted) while a node was removed would take the
 * removed node's ticket for up to its 10 minutes.
 *
 * They live in the meta table under "ticket_floors" as "node:serial:at"
 * words (at: unix seconds): floors are rare (admin actions, expiries) and
 * few are alive at once, so the whole list is written again, once per
 * loop turn whatever the number of floors it brought (a mass expiry);
 * no schema step. */
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/ticket.h"
#include "server/relays.h"
#include "server/server.h"
#include "util/log.h"

#define FLOORS_KEY "ticket_floors"
#define FLOOR_TEXT_MAX 48 /* "4294967295:18446744073709551615:-9223372036854775808 " */
#define FLOORS_TEXT_MAX (RELAYS_FLOORS_MAX * FLOOR_TEXT_MAX + 1)

static const struct relay_floor *ring_at(const struct srv_relays *t, size_t i)
{
	return &t->floors[(t->floors_next + RELAYS_FLOORS_MAX - t->floors_count + i) % RELAYS_FLOORS_MAX];
}

static int floors_save(struct server *s)
{
	const struct srv_relays *t = s->relays;
	int64_t now = server_wall_now();
	size_t len = 0;
	int r;
	char *text = malloc(FLOORS_TEXT_MAX);

	if (!text)
		return -ENOMEM;
	text[0] = '\0';
	size_t kept = 0;
	for (size_t i = 0; i < t->floors_count; i++) {
		const struct relay_floor *f = ring_at(t, i);
		if (now - f->at > TICKET_LIFETIME_S)
			continue;
		kept++;
		int n = snprintf(text + len, FLOORS_TEXT_MAX - len, "%s%" PRIu32 ":%" PRIu64 ":%" PRId64, len ? " " : "",
				 f->node_id, f->serial, f->at);
		if (n < 0 || (size_t)n >= FLOORS_TEXT_MAX - len)
			break; /* cannot happen: the ring holds RELAYS_FLOORS_MAX */
		len += (size_t)n;
	}
	r = store_meta_set(s->store, FLOORS_KEY, text);
	free(text);
	if (r == 0)
		log_debug("ticket floors: %zu alive, kept in the store", kept);
	return r;
}

static void on_save(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	(void)fd;
	(void)what;
	if (!s->relays || !s->relays->floors_save_queued)
		return; /* closed meanwhile (relays_floors_flush wrote them) */
	s->relays->floors_save_queued = false;
	if (floors_save(s) < 0)
		log_warn("ticket floors: cannot keep them in the store (lost if the server restarts)");
}

int relays_floors_save(struct server *s)
{
	const struct timeval now = { 0, 0 };
	if (s->relays->floors_save_queued)
		return 0;
	if (event_base_once(s->base, -1, EV_TIMEOUT, on_save, s, &now) < 0)
		return floors_save(s);
	s->relays->floors_save_queued = true;
	return 0;
}

void relays_floors_flush(struct server *s)
{
	if (s->relays && s->relays->floors_save_queued) {
		s->relays->floors_save_queued = false;
		floors_save(s);
	}
}

int relays_floors_load(struct server *s)
{
	struct srv_relays *t = s->relays;
	int64_t now = server_wall_now();
	size_t loaded = 0;
	char *text = malloc(FLOORS_TEXT_MAX), *p, *save = NULL;
	int r;

	if (!text)
		return -ENOMEM;
	if ((r = store_meta_get(s->store, FLOORS_KEY, text, FLOORS_TEXT_MAX)) < 0) {
		free(text);
		return r == -ENOENT ? 0 : r;
	}
	for (p = strtok_r(text, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
		struct relay_floor f;
		if (sscanf(p, "%" SCNu32 ":%" SCNu64 ":%" SCNd64, &f.node_id, &f.serial, &f.at) != 3 ||
		    now - f.at > TICKET_LIFETIME_S)
			continue;
		t->floors[t->floors_next] = f;
		t->floors_next = (t->floors_next + 1) % RELAYS_FLOORS_MAX;
		if (t->floors_count < RELAYS_FLOORS_MAX)
			t->floors_count++;
		loaded++;
	}
	free(text);
	if (loaded)
		log_info("%zu ticket floors from before the restart, for the relays", loaded);
	return 0;
}
