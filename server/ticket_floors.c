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

/* --- the admin CLI on the database while no server runs --- */

/* A node as far as its tickets go: what voids them when it changes. */
struct floor_node {
	uint32_t id;
	int64_t expires_at;
	size_t groups_count;
	uint32_t groups[COORD_GROUPS_MAX];
};

struct floor_nodes {
	struct floor_node *v;
	size_t count, cap;
	uint64_t at_ms; /* when it was taken: before the change */
};

static int floor_nodes_add(void *ctx, const struct store_node *n)
{
	struct floor_nodes *l = ctx;
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct floor_node *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	struct floor_node *f = &l->v[l->count++];
	f->id = n->id;
	f->expires_at = n->expires_at;
	f->groups_count = n->groups_count;
	memcpy(f->groups, n->groups, n->groups_count * sizeof(uint32_t));
	return 0;
}

static int floor_node_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct floor_node *)a)->id, y = ((const struct floor_node *)b)->id;
	return (x > y) - (x < y);
}

int ticket_floors_snapshot(struct store *st, struct floor_nodes **out)
{
	struct floor_nodes *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	l->at_ms = server_wall_now_ns() / 1000000u;
	if ((r = store_nodes_foreach(st, floor_nodes_add, l)) < 0) {
		ticket_floors_snapshot_free(l);
		return r;
	}
	if (l->count)
		qsort(l->v, l->count, sizeof(*l->v), floor_node_cmp);
	*out = l;
	return 0;
}

void ticket_floors_snapshot_free(struct floor_nodes *l)
{
	if (l)
		free(l->v);
	free(l);
}

static const struct floor_node *floor_nodes_find(const struct floor_nodes *l, uint32_t id)
{
	const struct floor_node key = { .id = id };
	return l->count ? bsearch(&key, l->v, l->count, sizeof(*l->v), floor_node_cmp) : NULL;
}

/* Removed, expiry changed (expired) or out of a group (left, or the group
 * deleted): the tickets it holds name what it no longer has. */
static bool floor_node_voided(const struct floor_node *before, const struct floor_node *after)
{
	if (!after || after->expires_at != before->expires_at)
		return true;
	for (size_t i = 0, j = 0; i < before->groups_count; i++) {
		while (j < after->groups_count && after->groups[j] < before->groups[i])
			j++;
		if (j == after->groups_count || after->groups[j] != before->groups[i])
			return true;
	}
	return false;
}

/* Appends "word" to text (len so far) if it fits. */
static void floors_word(char *text, size_t *len, const char *word)
{
	int n = snprintf(text + *len, FLOORS_TEXT_MAX - *len, "%s%s", *len ? " " : "", word);
	if (n > 0 && (size_t)n < FLOORS_TEXT_MAX - *len)
		*len += (size_t)n;
	else
		text[*len] = '\0';
}

/* The stored list with "node:ceiling:now" appended for each voided node;
 * the expired and the oldest beyond RELAYS_FLOORS_MAX are left out. */
static int floors_append(struct store *st, const struct floor_nodes *before, const struct floor_nodes *after,
			 uint64_t ceiling, int64_t now, size_t *added)
{
	char *old = malloc(FLOORS_TEXT_MAX), *text = malloc(FLOORS_TEXT_MAX), *p, *save = NULL;
	const char **words = calloc(RELAYS_FLOORS_MAX, sizeof(*words));
	size_t nw = 0, len = 0, voided = 0, skip, keep;
	int r = -ENOMEM;

	if (!old || !text || !words)
		goto out;
	if ((r = store_meta_get(st, FLOORS_KEY, old, FLOORS_TEXT_MAX)) == -ENOENT)
		old[0] = '\0';
	else if (r < 0)
		goto out;
	for (p = strtok_r(old, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
		int64_t at;
		const char *c = strrchr(p, ':');
		if (c && sscanf(c + 1, "%" SCNd64, &at) == 1 && now - at <= TICKET_LIFETIME_S)
			words[nw++ % RELAYS_FLOORS_MAX] = p;
	}
	for (size_t i = 0; i < before->count; i++)
		voided += floor_node_voided(&before->v[i], floor_nodes_find(after, before->v[i].id));
	/* At most RELAYS_FLOORS_MAX in all, as the server's ring: the newest. */
	skip = voided > RELAYS_FLOORS_MAX ? voided - RELAYS_FLOORS_MAX : 0;
	keep = nw > RELAYS_FLOORS_MAX ? RELAYS_FLOORS_MAX : nw;
	if (keep > RELAYS_FLOORS_MAX - (voided - skip))
		keep = RELAYS_FLOORS_MAX - (voided - skip);
	text[0] = '\0';
	for (size_t k = nw - keep; k < nw; k++)
		floors_word(text, &len, words[k % RELAYS_FLOORS_MAX]);
	for (size_t i = 0, n = 0; i < before->count; i++) {
		const struct floor_node *b = &before->v[i];
		char word[FLOOR_TEXT_MAX + 16];
		if (!floor_node_voided(b, floor_nodes_find(after, b->id)) || n++ < skip)
			continue;
		snprintf(word, sizeof(word), "%" PRIu32 ":%" PRIu64 ":%" PRId64, b->id, ceiling, now);
		floors_word(text, &len, word);
	}
	*added = voided - skip;
	r = voided ? store_meta_set(st, FLOORS_KEY, text) : 0;
out:
	free(old);
	free(text);
	free(words);
	return r;
}

int ticket_floors_offline(struct store *st, const struct floor_nodes *before, int64_t now, size_t *added)
{
	struct floor_nodes *after = NULL;
	char text[32], *end;
	uint64_t ceiling;
	int r;

	*added = 0;
	if (store_shared(st)) {
		/* Serials by time (ticket_serials.h): every ticket issued
		 * before the change is below the moment before it, every one
		 * the servers issue once they heard of it above. */
		ceiling = ticket_serial_of_ms(before->at_ms);
	} else {
		/* No ticket issued yet: none to void. Every ticket issued is
		 * below the stored ceiling, and the next server issues from it up. */
		if ((r = store_meta_get(st, "ticket_serial", text, sizeof(text))) == -ENOENT)
			return 0;
		if (r < 0)
			return r;
		errno = 0;
		ceiling = strtoull(text, &end, 10);
		if (errno || *end || !ceiling)
			return -EBADMSG;
	}
	if ((r = ticket_floors_snapshot(st, &after)) < 0)
		return r;
	r = floors_append(st, before, after, ceiling, now, added);
	ticket_floors_snapshot_free(after);
	return r;
}
