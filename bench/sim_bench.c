/* coord_sim bench: many nodes in one process, non-blocking. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/coord_sim.h"
#include "coord/auth.h"
#include "coord/relay_link.h"
#include "crypto/crypto.h"

#define BENCH_SETUP_TIMEOUT_S 150
#define BENCH_MOVE_TIMEOUT_S 10

int sim_load_tokens(const char *path, struct coord_token **out, size_t *count)
{
	char line[512];
	struct coord_token *t = NULL;
	size_t n = 0, cap = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		if (n == cap) {
			struct coord_token *p;
			cap = cap ? cap * 2 : 16;
			if (!(p = realloc(t, cap * sizeof(*p)))) {
				fclose(f);
				free(t);
				return -ENOMEM;
			}
			t = p;
		}
		if (coord_token_decode(line, &t[n]) < 0) {
			fprintf(stderr, "coord_sim: %s: malformed token\n", path);
			fclose(f);
			free(t);
			return -EINVAL;
		}
		n++;
	}
	fclose(f);
	*out = t;
	*count = n;
	return n ? 0 : -EINVAL;
}

/* Two sockets per node (TLS, UDP). Root may raise the hard limit too. */
void sim_raise_fd_limit(size_t nodes)
{
	rlim_t need = (rlim_t)nodes * 3 + 256;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need;
	if (rl.rlim_max < need)
		rl.rlim_max = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The big group's members spread evenly over [0, total) (one in every
 * total / big, as a line is drawn on a grid), so that each of
 * roam-loadtest's workers, holding a contiguous range, holds its share of
 * them: with all of them in one worker, that worker's setup (the group's
 * fan-out arriving at every member) bounded the whole run's (issue 14).
 * Members before idx: idx * big / total. */
size_t sim_group_of(size_t idx, size_t group_size)
{
	size_t big = g_sim.big_group, total = g_sim.total, before;

	if (!big || !total)
		return idx / group_size;
	before = idx * big / total;
	if ((idx + 1) * big / total > before)
		return 0;
	return 1 + (idx - before) / group_size;
}

bool sim_may_start(void)
{
	return g_sim.in_flight < (g_sim.connect_window ? g_sim.connect_window : SIM_CONNECT_WINDOW) &&
	       (!g_sim.start_after_ns || sim_mono_ns() >= g_sim.start_after_ns);
}

int sim_setup(size_t count, size_t group_size, const struct coord_token *tokens, size_t ntokens, unsigned timeout_s)
{
	uint64_t deadline = sim_mono_ns() + timeout_s * 1000000000ull;
	size_t next = 0;

	for (size_t i = 0; i < count; i++) {
		struct sim_node *n = &g_sim.nodes[i];
		n->idx = (int)i;
		n->udp_fd = -1;
		n->http.fd = -1;
		n->http.state = SIM_CLOSED;
		n->group = sim_group_of(g_sim.name_base + i, group_size);
		n->token = &tokens[n->group % ntokens];
		snprintf(n->name, sizeof(n->name), "sim-%zu", g_sim.name_base + i);
		if (sim_node_keys(n, NULL) < 0)
			return -EINVAL;
	}
	while (g_sim.ready < count) {
		while (next < count && sim_may_start()) {
			int r = sim_node_start(&g_sim.nodes[next++]);
			if (r < 0) {
				fprintf(stderr, "coord_sim: node %zu: %s\n", next - 1, strerror(-r));
				return r;
			}
		}
		sim_poll(100);
		if (g_sim.links)
			sim_link_keepalives();
		if (g_sim.hooks && g_sim.hooks->tick)
			g_sim.hooks->tick();
		if (sim_mono_ns() > deadline) {
			fprintf(stderr, "coord_sim: only %zu of %zu nodes ready after %u s\n", g_sim.ready, count,
				timeout_s);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Node n rebinds from a new port (an address change); the stream lines of
 * its peers count who saw it (sim_node.c), until expected did. */
int sim_move_start(struct sim_node *n, size_t expected)
{
	if (sim_udp_open(n) < 0)
		return -EIO;
	g_sim.move++;
	g_sim.move_node_id = n->id;
	g_sim.move_seen = 0;
	g_sim.move_done_ns = 0;
	g_sim.move_expected = expected;
	sockaddr_any_format(&n->local, g_sim.move_endpoint + 1, sizeof(g_sim.move_endpoint) - 2);
	g_sim.move_endpoint[0] = '"';
	strcat(g_sim.move_endpoint, "\"");
	sim_send_binding(n, NULL);
	sim_push_keep(n); /* a KEEP with each BINDING, as roamd: a server that restarted says so */
	return 0;
}

/* One move: node m rebinds from a new port; wait for every group member. */
static int bench_move(const struct sim_args *a, size_t m, uint64_t *latency_ns)
{
	struct sim_node *n = &g_sim.nodes[m];
	size_t first = n->group * a->group_size, last = first + a->group_size;
	uint64_t t0, deadline;

	if (last > a->nodes)
		last = a->nodes;
	/* Let earlier pushes drain so they do not count against this move. */
	for (int i = 0; i < 5; i++)
		sim_poll(20);
	if (sim_move_start(n, last - first - 1) < 0)
		return -EIO;
	t0 = sim_mono_ns();
	deadline = t0 + BENCH_MOVE_TIMEOUT_S * 1000000000ull;
	while (!g_sim.move_done_ns && g_sim.move_expected && sim_mono_ns() < deadline)
		sim_poll(10);
	if (g_sim.move_expected && !g_sim.move_done_ns) {
		fprintf(stderr, "coord_sim: move %u: %zu of %zu peers saw it\n", g_sim.move, g_sim.move_seen,
			g_sim.move_expected);
		return -ETIMEDOUT;
	}
	*latency_ns = g_sim.move_done_ns ? g_sim.move_done_ns - t0 : 0;
	return 0;
}

int sim_bench_main(const struct sim_args *a)
{
	struct coord_token *tokens = NULL;
	uint64_t *lat = NULL, t0, setup_ns;
	size_t ntokens = 0, done = 0;
	int r;

	if ((r = sim_load_tokens(a->tokens_file, &tokens, &ntokens)) < 0)
		return 1;
	memcpy(g_sim.pin, tokens[0].tls_pin, 32);
	sim_raise_fd_limit(a->nodes);
	g_sim.nodes = calloc(a->nodes, sizeof(*g_sim.nodes));
	lat = calloc(a->moves ? a->moves : 1, sizeof(*lat));
	if (!g_sim.nodes || !lat) {
		free(lat);
		return 1;
	}
	g_sim.count = a->nodes;
	t0 = sim_mono_ns();
	if ((r = sim_setup(a->nodes, a->group_size, tokens, ntokens, BENCH_SETUP_TIMEOUT_S)) < 0) {
		free(lat);
		return 1;
	}
	setup_ns = sim_mono_ns() - t0;
	for (size_t i = 0; i < a->moves; i++) {
		size_t m = (i * 7919 + 13) % a->nodes;
		if (bench_move(a, m, &lat[done]) == 0)
			done++;
	}
	qsort(lat, done, sizeof(*lat), cmp_u64);
	/* One machine-readable line for bench/coord_bench.sh. */
	printf("nodes=%zu group_size=%zu setup_s=%.2f moves=%zu/%zu median_ms=%.2f max_ms=%.2f\n", a->nodes,
	       a->group_size, (double)setup_ns / 1e9, done, a->moves, done ? (double)lat[done / 2] / 1e6 : -1.0,
	       done ? (double)lat[done - 1] / 1e6 : -1.0);
	free(lat);
	free(tokens);
	return done == a->moves ? 0 : 1;
}

/* --- links: idle relay links, for the relay's memory per connected node --- */

void sim_link_open(struct sim_node *n)
{
	char auth[COORD_AUTH_HEADER_MAX];
	uint8_t nonce[COORD_AUTH_NONCE_LEN];

	crypto_random(nonce, sizeof(nonce));
	n->phase = SIM_LINK;
	if (coord_auth_build(auth, sizeof(auth), n->k, n->pub, "GET", "/v1/relay", (int64_t)(sim_now_ns() / 1000000000u),
			     nonce, NULL, 0) < 0 ||
	    sim_http_upgrade(&n->http, "/v1/relay", g_sim.host, auth, "roam-relay/1") < 0) {
		printf("error relay link request\n");
		return;
	}
	sim_node_rearm(n);
}

/* A RELAY_KEEPALIVE frame on every link idle for RELAY_LINK_KEEPALIVE_S,
 * as roamd sends: without it the server closes the link after 60 s. */
void sim_link_keepalives(void)
{
	static uint64_t last_ns;
	uint64_t now = sim_mono_ns();
	uint8_t frame[RELAY_FRAME_HDR_LEN + RELAY_KEEPALIVE_LEN];

	if (now - last_ns < 1000000000u)
		return;
	last_ns = now;
	relay_frame_header(frame, RELAY_KEEPALIVE_LEN);
	relay_keepalive_build(frame + RELAY_FRAME_HDR_LEN);
	for (size_t i = 0; i < g_sim.count; i++) {
		struct sim_node *n = &g_sim.nodes[i];
		if (n->phase != SIM_LINKED || now - n->link_sent_ns < RELAY_LINK_KEEPALIVE_S * 1000000000ull)
			continue;
		n->link_sent_ns = now;
		if (sim_http_write(&n->http, frame, sizeof(frame)) == 0)
			sim_node_rearm(n);
	}
}

/* N nodes register, post their endpoints and open a TLS-stream relay link
 * on the same connection (no control stream: one connection per node, so
 * that 10 000 fit the open-files limit); then they hold the links idle
 * (keepalives only) for --hold seconds. Lines for bench/relay.sh:
 * "linked nodes=N setup_s=S" once all are up, "held open=N" at the end. */
int sim_links_main(const struct sim_args *a)
{
	struct coord_token *tokens = NULL;
	size_t ntokens = 0;
	uint64_t t0, end;
	int r;

	if ((r = sim_load_tokens(a->tokens_file, &tokens, &ntokens)) < 0)
		return 1;
	memcpy(g_sim.pin, tokens[0].tls_pin, 32);
	sim_raise_fd_limit(a->nodes);
	if (!(g_sim.nodes = calloc(a->nodes, sizeof(*g_sim.nodes)))) {
		free(tokens);
		return 1;
	}
	g_sim.count = a->nodes;
	g_sim.links = true;
	t0 = sim_mono_ns();
	if ((r = sim_setup(a->nodes, a->group_size, tokens, ntokens, BENCH_SETUP_TIMEOUT_S)) < 0) {
		free(tokens);
		return 1;
	}
	printf("linked nodes=%zu setup_s=%.2f\n", g_sim.links_open, (double)(sim_mono_ns() - t0) / 1e9);
	fflush(stdout);
	for (end = sim_mono_ns() + a->moves * 1000000000ull; sim_mono_ns() < end;) {
		sim_poll(200);
		sim_link_keepalives();
	}
	printf("held open=%zu\n", g_sim.links_open);
	free(tokens);
	return g_sim.links_open == a->nodes ? 0 : 1;
}
