/* One worker of roam-loadtest: its nodes held alive across faults (a closed
 * connection is retried with jittered, doubling backoff, as roamd does), the
 * operations and faults at their rates, the final check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench/coord_sim.h"
#include "crypto/crypto.h"
#include "loadtest/lt.h"

#define LT_MOVE_TIMEOUT_NS (10 * 1000000000ull)
#define LT_RELAY_TIMEOUT_NS (5 * 1000000000ull)
#define LT_BACKOFF_MIN_MS 250u
#define LT_BACKOFF_MAX_MS 5000u
#define LT_PROBE_SLOTS 16u
#define LT_CONNECT_TOTAL 256u /* TLS registrations in flight, all workers (sim_may_start) */
#define LT_CONNECT_MIN 16u
#define LT_JITTER_MAX_MS 5000u /* after a worker-wide Retry-After: spread over at most this */
#define LT_RELAY_PENDING 64u
#define LT_RESTART_BEFORE_NS (2 * 1000000000ull) /* a move begun this long before the restart: LT_OP_MOVE_RESTART */

struct lt_stats g_lt;

static const struct lt_opts *g_o;
static size_t g_count;
static uint64_t g_restart_ns; /* monotonic time of the restart; 0: none */
static bool g_restart_felt;   /* a node lost its view after it */
static size_t g_back;         /* nodes that got a view after it */
static uint64_t g_move_t0;
static bool g_move_restart; /* begun around the restart (LT_OP_MOVE_RESTART) */
static size_t g_move_group;
static const struct sim_node *g_mover; /* the node whose move is measured */
static struct {
	uint32_t seq;
	uint64_t sent_ns;
} g_relay[LT_RELAY_PENDING];
static uint32_t g_relay_seq;

uint32_t lt_rnd(uint32_t bound)
{
	uint32_t r;

	crypto_random(&r, sizeof(r));
	return bound ? r % bound : 0;
}

static void schedule_retry(struct sim_node *n)
{
	uint64_t now = sim_mono_ns();

	n->backoff_ms = n->backoff_ms ? n->backoff_ms * 2 : LT_BACKOFF_MIN_MS;
	if (n->backoff_ms > LT_BACKOFF_MAX_MS)
		n->backoff_ms = LT_BACKOFF_MAX_MS;
	/* Full jitter: a restart must not bring every node back at once. */
	n->retry_ns = now + (uint64_t)(1 + lt_rnd(n->backoff_ms)) * 1000000u;
	if (n->http.retry_after_s) {
		/* The server said when (a 503 or 429 of a busy or limited
		 * server): not sooner, spread over another half of it. */
		uint32_t ms = n->http.retry_after_s * 1000u;
		n->retry_ns = now + (uint64_t)(ms + lt_rnd(ms / 2 + 1)) * 1000000u;
		n->http.retry_after_s = 0;
	}
	if (n->goodbye_ms) {
		/* The server said when (spread over its nodes): then. */
		n->retry_ns = now + (uint64_t)(n->goodbye_ms - 1) * 1000000u;
		n->goodbye_ms = 0;
		n->backoff_ms = 0;
		g_lt.goodbyes++;
	}
	if (!n->down_ns)
		n->down_ns = now;
}

/* A peer expected to see the move measured: of the mover's group, or for
 * a big group's member, holding it on demand. */
static bool move_expects(const struct sim_node *n)
{
	if (g_mover && lt_ask_member(g_mover))
		return lt_ask_pair(n, g_mover);
	return n->group == g_move_group;
}

static void on_closed(struct sim_node *n, bool had_view)
{
	if ((size_t)n->idx >= g_count)
		return;
	n->lt_gen++;
	if (!had_view)
		g_lt.err[LT_ERR_CONNECT]++;
	else if (g_restart_ns && sim_mono_ns() > g_restart_ns)
		g_restart_felt = true;
	if (g_sim.move && n->seen_move != g_sim.move && move_expects(n) && n->id != g_sim.move_node_id && had_view &&
	    g_sim.move_expected) {
		/* It cannot see the move now; it gets the endpoint in its next view. */
		if (--g_sim.move_expected == g_sim.move_seen && !g_sim.move_done_ns)
			g_sim.move_done_ns = sim_mono_ns();
	}
	schedule_retry(n);
}

static void on_view(struct sim_node *n)
{
	uint64_t now = sim_mono_ns();
	enum lt_op op = LT_OP_RECONNECT;
	bool first, back = false;

	n->backoff_ms = 0;
	if (n->lt_flags & LT_FL_ADMIT)
		op = LT_OP_ADMIT;
	else if (n->lt_flags & LT_FL_LOGGED_OUT)
		op = LT_OP_REJOIN;
	if (n->down_ns)
		lt_hist_add(&g_lt.op[op], now - n->down_ns);
	n->down_ns = 0;
	first = op == LT_OP_ADMIT;
	n->lt_flags &= (uint8_t) ~(LT_FL_ADMIT | LT_FL_LOGGED_OUT);
	/* Every node back with a view from the new server: a node on the push
	 * channel does not see the old one go, it learns at its next KEEP. */
	if (g_restart_ns && now > g_restart_ns && !(n->lt_flags & LT_FL_BACK)) {
		n->lt_flags |= LT_FL_BACK;
		g_back++;
		back = true;
	}
	lt_ask_view(n, first, back);
	if (g_restart_felt && !g_lt.admit_after_restart_ns && g_sim.ready == g_count && g_back == g_count)
		g_lt.admit_after_restart_ns = now - g_restart_ns;
}

uint64_t lt_retry_at(unsigned retry_after_s)
{
	uint32_t ms = retry_after_s * 1000u;

	return sim_mono_ns() + (uint64_t)(ms + lt_rnd(ms / 2 < LT_JITTER_MAX_MS ? ms / 2 + 1 : LT_JITTER_MAX_MS)) * 1000000u;
}

static void on_registered(struct sim_node *n, uint32_t old_id, int status)
{
	if (status == 200 || status == 202) {
		if (old_id && old_id != n->id)
			g_lt.err[LT_ERR_ID_CHANGED]++;
		lt_ask_registered(n);
		return;
	}
	n->id = old_id;
	g_lt.err[LT_ERR_REGISTER]++;
	if ((status == 503 || status == 429) && n->http.retry_after_s) {
		/* The server is busy or limited: no registration of this
		 * worker starts until it said (jittered), not just this one;
		 * each would only cost it a handshake to refuse. */
		uint64_t at = lt_retry_at(n->http.retry_after_s);
		if (at > g_sim.start_after_ns)
			g_sim.start_after_ns = at;
	}
	n->lt_flags |= LT_FL_CLOSE; /* closed and retried from the loop, not inside the parser */
}

static void on_relay(struct sim_node *n, uint32_t from, const uint8_t *payload, size_t len)
{
	unsigned seq;

	(void)n;
	(void)from;
	if (len < 3 || sscanf((const char *)payload, "lt%u", &seq) != 1)
		return;
	for (size_t i = 0; i < LT_RELAY_PENDING; i++) {
		if (g_relay[i].sent_ns && g_relay[i].seq == seq) {
			lt_hist_add(&g_lt.op[LT_OP_RELAY], sim_mono_ns() - g_relay[i].sent_ns);
			g_relay[i].sent_ns = 0;
		}
	}
}

static void nodes_tick(uint64_t now);

/* During the setup: nodes whose first attempt failed try again. */
static void setup_tick(void)
{
	nodes_tick(sim_mono_ns());
}

static void on_keep_answered(struct sim_node *n, uint64_t wait_ns)
{
	(void)n;
	lt_hist_add(&g_lt.op[LT_OP_KEEP], wait_ns);
}

static const struct sim_hooks lt_hooks = {
	.tick = setup_tick,
	.keep_answered = on_keep_answered,
	.closed = on_closed,
	.view = on_view,
	.registered = on_registered,
	.relay = on_relay,
	.peer_line = lt_ask_peer_line,
};

/* It holds a view the server it talks to knows of: after a restart, one
 * the new server gave (until then a node on the push channel is not bound
 * there and hears nothing: a move or a relayed datagram cannot reach it). */
static bool lt_node_current(const struct sim_node *n)
{
	return n->has_view && (!g_restart_ns || sim_mono_ns() < g_restart_ns || (n->lt_flags & LT_FL_BACK));
}

/* A node a fault may hit: it holds its view, is not reading slowly, does
 * not carry the relayed traffic, is not the node whose move is measured
 * (dropped, it would come back from yet another port). */
bool lt_node_free(const struct sim_node *n)
{
	return n->has_view && !n->stall_until_ns && !n->keep_udp && !(g_move_t0 && n->id == g_sim.move_node_id);
}

/* A random free node of this worker (bounded tries). */
struct sim_node *lt_pick(void)
{
	for (int i = 0; i < 32; i++) {
		struct sim_node *n = &g_sim.nodes[lt_rnd((uint32_t)g_count)];
		if (lt_node_free(n))
			return n;
	}
	return NULL;
}

/* Peers of n's group in this worker that can see a move now (the big
 * group's members are spread over the worker: a scan, a few a second);
 * of a big group (peers on demand): those holding n. */
static size_t move_peers(const struct sim_node *n)
{
	size_t c = 0;

	if (lt_ask_member(n))
		return lt_ask_holders(n, lt_node_current);
	for (size_t i = 0; i < g_count; i++)
		if (&g_sim.nodes[i] != n && g_sim.nodes[i].group == n->group && lt_node_current(&g_sim.nodes[i]))
			c++;
	return c;
}

static void move_begin(struct sim_node *n)
{
	g_move_group = n->group;
	g_mover = n;
	g_move_t0 = sim_mono_ns();
	/* Until this worker's nodes are all back on the new server: its peers
	 * may wait for their view, the move with them. */
	g_move_restart = g_restart_ns && g_move_t0 + LT_RESTART_BEFORE_NS >= g_restart_ns && !g_lt.admit_after_restart_ns;
	if (sim_move_start(n, move_peers(n)) < 0) {
		g_sim.move_expected = 0;
		g_move_t0 = 0;
	}
}

/* Returns true while a move is still being measured. */
static bool move_check(void)
{
	uint64_t now = sim_mono_ns();

	if (!g_move_t0)
		return false;
	if (!g_sim.move_expected || g_sim.move_done_ns) {
		if (g_sim.move_expected)
			lt_hist_add(&g_lt.op[g_move_restart	     ? LT_OP_MOVE_RESTART
					     : lt_ask_member(g_mover) ? LT_OP_MOVE_BIG
								      : LT_OP_MOVE],
				    g_sim.move_done_ns - g_move_t0);
	} else if (now - g_move_t0 > LT_MOVE_TIMEOUT_NS && g_restart_ns && g_move_t0 <= g_restart_ns &&
		   now >= g_restart_ns) {
		/* The server was killed under it: peers on the push channel see
		 * the endpoint in the view they get back (not measured). */
	} else if (now - g_move_t0 > LT_MOVE_TIMEOUT_NS) {
		g_lt.err[LT_ERR_MOVE_TIMEOUT]++;
		fprintf(stderr, "roam-loadtest: move %u of %s%s: %zu of %zu peers saw it\n", g_sim.move, g_mover->name,
			lt_ask_member(g_mover) ? " (big group: the peers holding it)" : "", g_sim.move_seen,
			g_sim.move_expected);
	} else {
		return true;
	}
	g_move_t0 = 0;
	return false;
}

static void relay_send(void)
{
	struct sim_node *a = &g_sim.nodes[0], *b = &g_sim.nodes[1];
	uint64_t now = sim_mono_ns();
	size_t slot = g_relay_seq % LT_RELAY_PENDING;
	char text[32];

	if (g_count < 2 || a->udp_fd < 0 || b->udp_fd < 0 || !lt_node_current(a) || !lt_node_current(b))
		return;
	if (g_relay[slot].sent_ns)
		g_lt.err[LT_ERR_RELAY_LOST]++;
	g_relay[slot].seq = ++g_relay_seq;
	g_relay[slot].sent_ns = now;
	snprintf(text, sizeof(text), "lt%u", g_relay_seq);
	sim_send_relay(a, b->id, text);
}

static void fault(enum lt_fault f)
{
	struct sim_node *n;

	g_lt.faults[f]++;
	switch (f) {
	case LT_F_DROP:
		/* On the push channel: the node forgets its stream and opens another. */
		if ((n = lt_pick()) && n->phase == SIM_PUSH)
			sim_push_drop(n);
		else if (n)
			sim_http_close(&n->http, "dropped by the load test");
		break;
	case LT_F_SLOW:
		/* A reader that stops reading: the server's buffers fill, not ours. */
		if ((n = lt_pick()) && n->http.fd >= 0 && epoll_ctl(g_sim.epfd, EPOLL_CTL_DEL, n->http.fd, NULL) == 0)
			n->stall_until_ns = sim_mono_ns() + (uint64_t)g_o->stall_s * 1000000000ull;
		break;
	default:
		lt_probe_start(f, g_o);
		break;
	}
}

/* Per node, every tick: retries, stalls ending, lost nodes. */
static void nodes_tick(uint64_t now)
{
	uint64_t lost_ns = (uint64_t)g_o->lost_after_s * 1000000000ull;

	for (size_t i = 0; i < g_count; i++) {
		struct sim_node *n = &g_sim.nodes[i];
		if (n->lt_flags & LT_FL_CLOSE) {
			n->lt_flags &= (uint8_t)~LT_FL_CLOSE;
			sim_http_close(&n->http, "register failed");
		}
		if (n->stall_until_ns && now >= n->stall_until_ns) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u64 = (uint64_t)n->idx << 1 };
			n->stall_until_ns = 0;
			if (n->http.state != SIM_CLOSED && n->http.fd >= 0)
				epoll_ctl(g_sim.epfd, EPOLL_CTL_ADD, n->http.fd, &ev);
		}
		if (g_sim.push)
			sim_push_tick(n, now);
		/* Registrations wait for the window (the push channel's
		 * OPEN is a datagram: no need). */
		bool tls = !(g_sim.push && !n->push_fallen && !n->push_tls && n->id && n->udp_fd >= 0 &&
			     !(n->lt_flags & LT_FL_LOGGED_OUT));
		if (n->retry_ns && now >= n->retry_ns && n->http.state == SIM_CLOSED && (!tls || sim_may_start())) {
			int r = 0;
			n->retry_ns = 0;
			n->http.parse = 0;
			n->http.chunked = false;
			n->http.body_left = 0;
			/* Registered and not logged out: the push channel again (no TLS). */
			if (!tls)
				sim_push_reopen(n);
			else if ((r = sim_node_start(n)) < 0) {
				g_lt.err[LT_ERR_CONNECT]++;
				schedule_retry(n);
			}
		}
		/* Not yet admitted: sim_setup's timeout bounds that. */
		if (n->down_ns && now - n->down_ns > lost_ns && !(n->lt_flags & (LT_FL_LOST | LT_FL_ADMIT))) {
			n->lt_flags |= LT_FL_LOST;
			g_lt.lost++;
			g_lt.err[LT_ERR_LOST]++;
		}
	}
	lt_ask_tick(now, g_restart_ns, lt_node_current);
	for (size_t i = 0; i < LT_RELAY_PENDING; i++) {
		if (g_relay[i].sent_ns && now - g_relay[i].sent_ns > LT_RELAY_TIMEOUT_NS) {
			g_relay[i].sent_ns = 0;
			g_lt.err[LT_ERR_RELAY_LOST]++;
		}
	}
}

/* Rates are for the whole run: each of procs workers does its share. */
static void rates_tick(double dt, double acc[LT_OP_COUNT + 8])
{
	const double share = 1.0 / (double)g_o->procs;
	const double rate[] = { g_o->drop_rate, g_o->stall_rate, g_o->slow_rate, g_o->malformed_rate, g_o->replay_rate,
				g_o->skew_rate, g_o->rejoin_rate };

	for (int f = LT_F_DROP; f <= LT_F_LOGOUT; f++) {
		for (acc[f] += rate[f] * share * dt; acc[f] >= 1.0; acc[f] -= 1.0)
			fault((enum lt_fault)f);
	}
	for (acc[8] += g_o->relay_rate * share * dt; acc[8] >= 1.0; acc[8] -= 1.0)
		relay_send();
	if (!move_check()) {
		struct sim_node *n;
		acc[9] += g_o->move_rate * share * dt;
		/* After a restart, only a node back on the new server moves (one
		 * not back yet is not bound there: its move waits for its KEEP). */
		if (acc[9] >= 1.0 && (n = lt_pick()) && lt_node_current(n)) {
			acc[9] -= 1.0;
			move_begin(n);
		}
		if (acc[9] > 2.0)
			acc[9] = 2.0; /* one move at a time: a slow one does not pile up more */
	}
}

static bool stalls_left(void)
{
	for (size_t i = 0; i < g_count; i++)
		if (g_sim.nodes[i].stall_until_ns)
			return true;
	return false;
}

/* One move per group of this worker, measured: the first member holding
 * its view (of a big group: the first that peers hold on demand). */
static void final_moves(void)
{
	size_t groups = g_o->nodes / g_o->group_size + 2;
	bool *moved = calloc(groups, sizeof(*moved));

	for (size_t i = 0; moved && i < g_count; i++) {
		struct sim_node *n = &g_sim.nodes[i];
		if (n->group >= groups || moved[n->group] || !lt_node_current(n) ||
		    (lt_ask_member(n) && !lt_ask_holders(n, lt_node_current)))
			continue;
		moved[n->group] = true;
		move_begin(n);
		while (move_check()) {
			sim_poll(10);
			nodes_tick(sim_mono_ns());
		}
	}
	free(moved);
}

/* After the faults: every node back, then one move per group reaching
 * every peer (each node's stream is live and carries changes). */
static void final_check(void)
{
	uint64_t end = sim_mono_ns() + (uint64_t)g_o->settle_s * 1000000000ull;

	while (move_check()) { /* the move of the run still measured */
		sim_poll(10);
		nodes_tick(sim_mono_ns());
	}
	while ((g_sim.ready < g_count || stalls_left()) && sim_mono_ns() < end) {
		sim_poll(20);
		lt_probe_tick();
		nodes_tick(sim_mono_ns());
	}
	final_moves();
	for (end = sim_mono_ns() + 5000000000ull; (!lt_probe_idle() || !lt_ask_idle()) && sim_mono_ns() < end;) {
		sim_poll(20);
		lt_probe_tick();
		lt_ask_tick(sim_mono_ns(), g_restart_ns, lt_node_current);
	}
	lt_ask_report();
	g_lt.with_view_end = g_sim.ready;
	g_lt.views_full = g_sim.views_full;
	g_lt.views_delta = g_sim.views_delta;
	for (size_t i = 0; i < g_count; i++) {
		const struct sim_node *n = &g_sim.nodes[i];
		g_lt.push_udp += n->has_view && n->phase == SIM_PUSH;
		g_lt.push_tcp += n->has_view && n->phase != SIM_PUSH;
	}
	g_lt.push_ends = g_sim.push_ends;
	g_lt.push_too_big = g_sim.push_too_big;
	g_lt.err[LT_ERR_PUSH_FALLBACK] = g_sim.push_fallbacks;
	for (size_t i = 0; i < g_count; i++) {
		if (!g_sim.nodes[i].has_view && !(g_sim.nodes[i].lt_flags & LT_FL_LOST)) {
			g_lt.lost++;
			g_lt.err[LT_ERR_LOST]++;
		}
	}
}

/* Set up: tell the parent (ready_fd), keep the streams alive until it says
 * go on go_fd with the restart's monotonic time (0: none). */
static int wait_go(int ready_fd, int go_fd, uint64_t *restart_ns)
{
	size_t got = 0;

	if (write(ready_fd, "R", 1) != 1)
		return -EPIPE;
	while (got < sizeof(*restart_ns)) {
		ssize_t r = read(go_fd, (char *)restart_ns + got, sizeof(*restart_ns) - got);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return r == 0 ? -EPIPE : -errno;
		if (r > 0)
			got += (size_t)r;
		sim_poll(10);
		nodes_tick(sim_mono_ns());
	}
	return 0;
}

int lt_run(const struct lt_opts *o, size_t base, size_t count, int ready_fd, int go_fd)
{
	struct coord_token *tokens = NULL;
	double acc[LT_OP_COUNT + 8] = { 0 };
	size_t ntokens = 0;
	uint64_t t0, end, last;
	int r;

	g_o = o;
	g_count = count;
	g_sim.name_base = base;
	if ((r = sim_load_tokens(o->tokens_file, &tokens, &ntokens)) < 0) {
		fprintf(stderr, "roam-loadtest: %s: %s\n", o->tokens_file, strerror(-r));
		return 1;
	}
	memcpy(g_sim.pin, tokens[0].tls_pin, 32);
	sim_raise_fd_limit(count + LT_PROBE_SLOTS + LT_ASK_SLOTS);
	if (!(g_sim.nodes = calloc(count + LT_PROBE_SLOTS + LT_ASK_SLOTS, sizeof(*g_sim.nodes)))) {
		free(tokens);
		return 1;
	}
	g_sim.count = count;
	g_sim.hooks = &lt_hooks;
	g_sim.full_views = o->full_views;
	g_sim.big_group = o->big_group;
	g_sim.total = o->nodes;
	/* Registrations in flight over all workers: about LT_CONNECT_TOTAL,
	 * more than that would only queue at the server (issue 14). */
	g_sim.connect_window = LT_CONNECT_TOTAL / (o->procs ? o->procs : 1);
	if (g_sim.connect_window < LT_CONNECT_MIN)
		g_sim.connect_window = LT_CONNECT_MIN;
	g_sim.push = !o->push_tcp;
	g_sim.keep_s = o->keep_s;
	/* A loopback server: nodes from 127.1.0.1, .2, ... (LT_NODES_PER_SOURCE
	 * each): one address would run out of ephemeral ports near 28 000. */
	if (g_sim.server.sa.sa_family == AF_INET && (ntohl(g_sim.server.in4.sin_addr.s_addr) >> 24) == 127) {
		g_sim.src_base.s_addr = htonl(0x7f010001);
		g_sim.src_per = LT_NODES_PER_SOURCE;
	}
	lt_probe_init(count, LT_PROBE_SLOTS);
	if (lt_ask_init(o, count, count + LT_PROBE_SLOTS) < 0) {
		fprintf(stderr, "roam-loadtest: out of memory\n");
		return 1;
	}
	t0 = sim_mono_ns();
	for (size_t i = 0; i < count; i++) {
		g_sim.nodes[i].lt_flags = LT_FL_ADMIT;
		g_sim.nodes[i].down_ns = t0;
	}
	/* The first two nodes keep their UDP sockets: the relayed traffic. */
	g_sim.nodes[0].keep_udp = g_sim.nodes[count > 1].keep_udp = true;
	g_lt.nodes = count;
	if ((r = sim_setup(count, o->group_size, tokens, ntokens, o->setup_timeout_s)) < 0) {
		fprintf(stderr, "roam-loadtest: setup: %s\n", strerror(-r));
		g_lt.with_view_end = g_sim.ready;
		g_lt.lost = count - g_sim.ready;
		return 1;
	}
	g_lt.setup_ns = sim_mono_ns() - t0;
	if ((r = wait_go(ready_fd, go_fd, &g_restart_ns)) < 0) {
		fprintf(stderr, "roam-loadtest: worker: the parent is gone: %s\n", strerror(-r));
		return 1;
	}
	end = sim_mono_ns() + (uint64_t)o->duration_s * 1000000000ull;
	for (last = sim_mono_ns(); last < end;) {
		uint64_t now;
		sim_poll(10);
		now = sim_mono_ns();
		lt_probe_tick();
		nodes_tick(now);
		rates_tick((double)(now - last) / 1e9, acc);
		last = now;
	}
	final_check();
	return 0;
}
