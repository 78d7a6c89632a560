/* The members of a big group ask for each other (issue 14, "peers on
 * demand"): with more members than the server's --group-view-max, they are
 * not in each other's views. Once a member holds its view, it asks for
 * --ask random members of its own worker (GET /v1/peer?address=, signed as
 * its other requests, on a connection of its own: a slot after the nodes),
 * each ask jittered over a few seconds; a 503 or 429 holds this worker's
 * asks for the Retry-After, as registrations do. Who holds whom is lt_od.c's;
 * a move of a member is then expected at the peers holding it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bench/coord_sim.h"
#include "coord/auth.h"
#include "coord/json.h"
#include "coord/peer_query.h"
#include "loadtest/lt.h"
#include "loadtest/lt_od.h"
#include "util/heap.h"

#define LT_ASK_SPREAD_MS 3000u               /* each ask within this of the view, or of the one before */
#define LT_ASK_TIMEOUT_NS (10 * 1000000000ull) /* no answer: an error */
#define LT_ASK_LATER_NS (1000000000ull)        /* asker or target without a view: asked again then */
/* After a restart, a connection that fails (the old server gone, the new
 * one not up yet) is asked again, not counted, for this long. */
#define LT_ASK_RESTART_GRACE_NS (30 * 1000000000ull)

struct lt_ask_slot {
	bool busy, answered;
	bool killed; /* in flight when the server was killed: its end is no error */
	size_t asker, target;
	uint32_t asker_gen, target_gen; /* lt_gen at the start: a 404 after a reconnect is no error */
	uint64_t sent_ns, until_ns;
	char auth[COORD_AUTH_HEADER_MAX];
};

static struct {
	bool on;                 /* the big group is big: members ask, moves go to the holders */
	size_t ask;              /* --ask */
	struct lt_od od;
	uint32_t *members;       /* the big group's members in this worker (indexes) */
	size_t nmembers;
	uint8_t *left;           /* per node: asks still to make */
	struct heap_node *due;   /* per node: its next ask */
	struct heap heap;
	struct lt_ask_slot slot[LT_ASK_SLOTS];
	size_t first;            /* g_sim.nodes index of slot 0 */
	uint64_t after_ns;       /* a 503/429's Retry-After: no ask starts before */
	bool restarted;
	uint64_t restart_ns;     /* when (monotonic) */
	uint64_t learned, held;
} g_ask;

bool lt_ask_member(const struct sim_node *n)
{
	return g_ask.on && (size_t)n->idx < g_ask.od.count && n->group == 0;
}

static size_t node_of(const struct heap_node *h)
{
	return (size_t)(h - g_ask.due);
}

/* Its next ask in [at, at + spread). */
static void schedule(size_t i, uint64_t at, uint32_t spread_ms)
{
	heap_update(&g_ask.heap, &g_ask.due[i], at + (uint64_t)lt_rnd(spread_ms + 1) * 1000000u);
}

void lt_ask_registered(struct sim_node *n)
{
	if (lt_ask_member(n))
		lt_od_id_set(&g_ask.od, n->id, (size_t)n->idx);
}

/* The server was killed: every pair of the old one is gone. */
static void restart_seen(void)
{
	if (g_ask.restarted)
		return;
	g_ask.restarted = true;
	g_ask.restart_ns = sim_mono_ns();
	lt_od_restart(&g_ask.od);
	for (size_t k = 0; k < LT_ASK_SLOTS; k++)
		g_ask.slot[k].killed = g_ask.slot[k].busy;
}

void lt_ask_view(struct sim_node *n, bool first, bool back)
{
	size_t i = (size_t)n->idx, left;

	if (!lt_ask_member(n) || !g_ask.ask)
		return;
	left = g_ask.left[i];
	if (first)
		left = g_ask.ask < g_ask.nmembers ? g_ask.ask : g_ask.nmembers - 1;
	if (back) {
		/* The restarted server forgot its pairs: the peers it asked for, again. */
		restart_seen();
		left += lt_od_back(&g_ask.od, i);
	}
	g_ask.left[i] = (uint8_t)(left > 255 ? 255 : left);
	if (g_ask.left[i])
		schedule(i, sim_mono_ns(), LT_ASK_SPREAD_MS);
}

/* A member of this worker it does not hold, other than itself (bounded
 * tries; false: none found). One it held before a restart first. */
static bool pick_target(size_t i, size_t *target)
{
	if (lt_od_reask_take(&g_ask.od, i, target))
		return true;
	for (int t = 0; t < 32; t++) {
		size_t m = g_ask.members[lt_rnd((uint32_t)g_ask.nmembers)];
		if (m != i && !lt_od_holds(&g_ask.od, i, m)) {
			*target = m;
			return true;
		}
	}
	return false;
}

static struct lt_ask_slot *slot_of(struct sim_http *h)
{
	return &g_ask.slot[(size_t)((struct sim_node *)h->user)->idx - g_ask.first];
}

static void ask_ready(struct sim_http *h)
{
	struct lt_ask_slot *s = slot_of(h);
	struct coord_peer_query q = { .family = AF_INET6 };
	char path[COORD_PEER_TARGET_MAX + 1];

	memcpy(q.addr, g_sim.nodes[s->target].ipv6, sizeof(g_sim.nodes[s->target].ipv6));
	s->sent_ns = sim_mono_ns();
	if (coord_peer_query_format(&q, path, sizeof(path)) < 0 ||
	    sim_request_signed(h, &g_sim.nodes[s->asker], "GET", path, NULL, 0, s->auth) < 0)
		sim_http_close(h, "ask request");
	else
		sim_node_rearm(h->user);
}

struct ask_answer {
	uint32_t id;
	bool match;
};

static int answer_peer(void *ctx, const struct coord_peer *peer, bool full_view)
{
	struct ask_answer *a = ctx;

	a->match = !full_view && peer->node_id == a->id;
	return 0;
}

static const struct coord_stream_handler answer_handler = { .peer = answer_peer };

/* The ask failed for a reason that is not the server's: the asker or the
 * target reconnected or lost its view meanwhile. */
static bool ask_moot(const struct lt_ask_slot *s)
{
	const struct sim_node *a = &g_sim.nodes[s->asker], *t = &g_sim.nodes[s->target];

	return a->lt_gen != s->asker_gen || t->lt_gen != s->target_gen || !a->has_view || !t->has_view;
}

/* s's ask made again later, for the same peer first. */
static void ask_again(const struct lt_ask_slot *s, uint64_t at)
{
	lt_od_reask_put(&g_ask.od, s->asker, s->target);
	if (g_ask.left[s->asker] < 255)
		g_ask.left[s->asker]++;
	schedule(s->asker, at, LT_ASK_SPREAD_MS);
}

static void ask_response(struct sim_http *h, int status, const char *body, size_t len)
{
	struct lt_ask_slot *s = slot_of(h);
	struct ask_answer a = { .id = g_sim.nodes[s->target].id };

	s->answered = true;
	if (s->killed) {
		/* The old server's answer, sent as it was being killed: the pair is gone with it. */
		ask_again(s, sim_mono_ns() + LT_ASK_LATER_NS);
	} else if (status == 200 && coord_stream_line_parse(body, len, &answer_handler, &a) == 0 && a.match) {
		lt_hist_add(&g_lt.op[LT_OP_WHOIS], sim_mono_ns() - s->sent_ns);
		if (lt_od_add(&g_ask.od, s->asker, s->target, true) == 1)
			g_ask.held++;
	} else if (status == 503 || status == 429) {
		/* Busy or limited: no ask of this worker before it said (jittered), this one again after. */
		uint64_t at = lt_retry_at(h->retry_after_s);
		h->retry_after_s = 0;
		if (at > g_ask.after_ns)
			g_ask.after_ns = at;
		g_lt.err[LT_ERR_WHOIS_BUSY]++;
		ask_again(s, at);
	} else if (status == 404 && !ask_moot(s)) {
		g_lt.err[LT_ERR_WHOIS_404]++;
		fprintf(stderr, "roam-loadtest: GET /v1/peer: %s asked for %s: 404 %.*s\n", g_sim.nodes[s->asker].name,
			g_sim.nodes[s->target].name, (int)len, body);
	} else if (status != 404) {
		g_lt.err[LT_ERR_WHOIS]++;
		fprintf(stderr, "roam-loadtest: GET /v1/peer: %s asked for %s: %d %.*s\n", g_sim.nodes[s->asker].name,
			g_sim.nodes[s->target].name, status, (int)(len > 200 ? 200 : len), body);
	}
	sim_http_close(h, "ask done");
}

static void ask_closed(struct sim_http *h, const char *why)
{
	struct lt_ask_slot *s = slot_of(h);

	if (s->busy && !s->answered && (s->killed || (g_ask.restarted && sim_mono_ns() - g_ask.restart_ns <
									      LT_ASK_RESTART_GRACE_NS))) {
		ask_again(s, sim_mono_ns() + LT_ASK_LATER_NS); /* the server restarting: not its answer */
	} else if (s->busy && !s->answered && !ask_moot(s)) {
		g_lt.err[LT_ERR_WHOIS]++;
		fprintf(stderr, "roam-loadtest: GET /v1/peer: %s: no answer (%s)\n", g_sim.nodes[s->asker].name, why);
	}
	s->busy = false;
}

static const struct sim_http_ops ask_ops = {
	.ready = ask_ready,
	.response = ask_response,
	.closed = ask_closed,
};

int lt_ask_init(const struct lt_opts *o, size_t count, size_t first_slot)
{
	memset(&g_ask, 0, sizeof(g_ask));
	g_ask.first = first_slot;
	g_ask.ask = o->ask;
	g_ask.on = o->big_group && o->group_view_max && o->big_group > o->group_view_max;
	for (size_t i = 0; i < LT_ASK_SLOTS; i++) {
		struct sim_node *s = &g_sim.nodes[first_slot + i];
		s->idx = (int)(first_slot + i);
		lt_slot_reset(s, &ask_ops);
	}
	if (!g_ask.on)
		return 0;
	if (lt_od_init(&g_ask.od, count) < 0 || heap_init(&g_ask.heap) < 0 ||
	    !(g_ask.members = calloc(count, sizeof(*g_ask.members))) || !(g_ask.left = calloc(count, 1)) ||
	    !(g_ask.due = calloc(count, sizeof(*g_ask.due))))
		return -ENOMEM;
	for (size_t i = 0; i < count; i++)
		if (sim_group_of(g_sim.name_base + i, o->group_size) == 0)
			g_ask.members[g_ask.nmembers++] = (uint32_t)i;
	return heap_reserve(&g_ask.heap, count);
}

enum ask_start { ASK_STARTED, ASK_LATER, ASK_NONE /* no member left to ask */ };

/* One ask of node i on a free slot. */
static enum ask_start ask_start(size_t i, struct lt_ask_slot *s, bool (*current)(const struct sim_node *n))
{
	size_t target;
	struct sim_node *slot = &g_sim.nodes[g_ask.first + (size_t)(s - g_ask.slot)];

	if (!current(&g_sim.nodes[i]))
		return ASK_LATER;
	if (!pick_target(i, &target))
		return ASK_NONE;
	if (!current(&g_sim.nodes[target]) || !g_sim.nodes[target].id) {
		lt_od_reask_put(&g_ask.od, i, target); /* a peer it held before: kept for later */
		return ASK_LATER;
	}
	memset(s, 0, sizeof(*s));
	s->asker = i;
	s->target = target;
	s->asker_gen = g_sim.nodes[i].lt_gen;
	s->target_gen = g_sim.nodes[target].lt_gen;
	s->until_ns = sim_mono_ns() + LT_ASK_TIMEOUT_NS;
	/* The target hears of the asker at once: expected before the answer. */
	lt_od_expect(&g_ask.od, target, i);
	if (lt_slot_connect(slot, &ask_ops) < 0) {
		g_lt.err[LT_ERR_WHOIS]++;
		return ASK_STARTED; /* counted; not retried */
	}
	s->busy = true;
	return ASK_STARTED;
}

void lt_ask_tick(uint64_t now, uint64_t restart_ns, bool (*current)(const struct sim_node *n))
{
	struct heap_node *h;

	if (!g_ask.on)
		return;
	if (restart_ns && now >= restart_ns)
		restart_seen();
	for (size_t k = 0; k < LT_ASK_SLOTS; k++) {
		struct lt_ask_slot *s = &g_ask.slot[k];
		if (s->busy && now > s->until_ns)
			sim_http_close(&g_sim.nodes[g_ask.first + k].http, "ask timed out");
	}
	if (now < g_ask.after_ns)
		return;
	for (size_t k = 0; k < LT_ASK_SLOTS && (h = heap_peek(&g_ask.heap)) && h->key <= now; k++) {
		size_t i = node_of(h);
		if (g_ask.slot[k].busy)
			continue;
		heap_pop(&g_ask.heap);
		switch (ask_start(i, &g_ask.slot[k], current)) {
		case ASK_LATER:
			schedule(i, now + LT_ASK_LATER_NS, LT_ASK_SPREAD_MS);
			continue;
		case ASK_NONE:
			g_ask.left[i] = 1; /* it holds every member it found: done */
			break;
		default:
			break;
		}
		if (--g_ask.left[i])
			schedule(i, now, LT_ASK_SPREAD_MS);
	}
}

/* The asked node learns its asker from the peer line the server pushes it. */
void lt_ask_peer_line(struct sim_node *n, const char *line, size_t len)
{
	static const char field[] = "\"node_id\":";
	const char *p;
	size_t from;

	if (!lt_ask_member(n) || !(p = memmem(line, len, field, sizeof(field) - 1)))
		return;
	if (lt_od_id_find(&g_ask.od, (uint32_t)strtoul(p + sizeof(field) - 1, NULL, 10), &from) &&
	    lt_od_learn(&g_ask.od, (size_t)n->idx, from))
		g_ask.learned++;
}

bool lt_ask_pair(const struct sim_node *a, const struct sim_node *b)
{
	return lt_ask_member(a) && lt_ask_member(b) && lt_od_pair(&g_ask.od, (size_t)a->idx, (size_t)b->idx);
}

struct holder_ctx {
	bool (*current)(const struct sim_node *n);
};

static bool holder_current(size_t idx, void *ctx)
{
	return ((struct holder_ctx *)ctx)->current(&g_sim.nodes[idx]);
}

size_t lt_ask_holders(const struct sim_node *n, bool (*current)(const struct sim_node *n))
{
	struct holder_ctx c = { current };

	if (!lt_ask_member(n))
		return 0;
	return lt_od_holders(&g_ask.od, (size_t)n->idx, g_ask.members, g_ask.nmembers, holder_current, &c);
}

bool lt_ask_idle(void)
{
	for (size_t k = 0; k < LT_ASK_SLOTS; k++)
		if (g_ask.slot[k].busy)
			return false;
	return true;
}

void lt_ask_report(void)
{
	g_lt.od_big = g_ask.on;
	g_lt.od_held = g_ask.held;
	g_lt.od_learned = g_ask.learned;
}
