/* coord_sim flood: what anyone on the internet can send the server without
 * a pre-auth key. --nodes connections each POST /v1/register with a key the
 * server has never seen (a fresh one per request with --new-keys, else one
 * per connection and a fresh nonce per request), all named --name, until
 * --count requests were answered. With --keyed the token's pre-auth key goes
 * along (so --new-keys registers that many approved nodes: a large group for
 * a test). Prints one line of counts per status:
 *   flood sent=N 202=.. 429=.. 503=.. other=.. seconds=S */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "bench/coord_sim.h"
#include "coord/json.h"
#include "crypto/crypto.h"

#define FLOOD_TIMEOUT_NS (120 * UINT64_C(1000000000))

static struct coord_token g_token;
static size_t g_sent, g_answered, g_count, g_status[6]; /* 200 202 429 503 401 other */
static bool g_new_keys;
static const char *g_name;

static void flood_next(struct sim_node *n)
{
	struct coord_register_req req;
	char *body;

	if (g_sent >= g_count)
		return;
	if (g_new_keys)
		sim_node_keys(n, NULL);
	memset(&req, 0, sizeof(req));
	snprintf(req.name, sizeof(req.name), "%s", g_name);
	req.has_preauth_key = !crypto_is_zero(g_token.preauth_key, COORD_PREAUTH_KEY_LEN);
	memcpy(req.preauth_key, g_token.preauth_key, COORD_PREAUTH_KEY_LEN);
	if (!(body = coord_register_req_to_json(&req)))
		return;
	if (sim_request(n, "POST", "/v1/register", body) == 0)
		g_sent++;
	free(body);
}

static void flood_ready(struct sim_http *h) { flood_next(h->user); }

static void flood_response(struct sim_http *h, int status, const char *body, size_t len)
{
	static const int codes[] = { 200, 202, 429, 503, 401 };
	size_t i = 0;

	(void)body;
	(void)len;
	while (i < 5 && codes[i] != status)
		i++;
	g_status[i]++;
	g_answered++;
	flood_next(h->user);
}

static void flood_closed(struct sim_http *h, const char *why)
{
	struct sim_node *n = h->user;

	(void)why;
	/* The server may close after an error: reconnect while work is left. */
	if (g_sent < g_count && sim_http_connect(&n->http, g_sim.ctx, &g_sim.server, g_sim.pin, NULL) == 0) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u64 = (uint64_t)n->idx << 1 };
		epoll_ctl(g_sim.epfd, EPOLL_CTL_ADD, n->http.fd, &ev);
	}
}

static const struct sim_http_ops flood_ops = {
	.ready = flood_ready,
	.response = flood_response,
	.closed = flood_closed,
};

int sim_flood_main(const struct sim_args *a)
{
	uint64_t t0 = sim_mono_ns();

	if (coord_token_decode(a->token, &g_token) < 0)
		return 2;
	if (!a->keyed)
		memset(g_token.preauth_key, 0, sizeof(g_token.preauth_key)); /* anonymous */
	memcpy(g_sim.pin, g_token.tls_pin, 32);
	g_count = a->moves; /* --count */
	g_new_keys = a->new_keys;
	g_name = a->name ? a->name : "flood";
	if (!(g_sim.nodes = calloc(a->nodes, sizeof(*g_sim.nodes))))
		return 1;
	g_sim.count = a->nodes;
	for (size_t i = 0; i < a->nodes; i++) {
		struct sim_node *n = &g_sim.nodes[i];
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u64 = (uint64_t)i << 1 };
		n->idx = (int)i;
		n->udp_fd = -1;
		n->token = &g_token;
		n->phase = SIM_DONE;
		n->http.ops = &flood_ops;
		n->http.user = n;
		if (sim_node_keys(n, NULL) < 0 || sim_http_connect(&n->http, g_sim.ctx, &g_sim.server, g_sim.pin, NULL) < 0 ||
		    epoll_ctl(g_sim.epfd, EPOLL_CTL_ADD, n->http.fd, &ev) < 0)
			return 1;
	}
	while (g_answered < g_count && sim_mono_ns() - t0 < FLOOD_TIMEOUT_NS)
		sim_poll(100);
	printf("flood sent=%zu 200=%zu 202=%zu 429=%zu 503=%zu 401=%zu other=%zu seconds=%.2f\n", g_sent, g_status[0],
	       g_status[1], g_status[2], g_status[3], g_status[4], g_status[5], (double)(sim_mono_ns() - t0) / 1e9);
	return g_answered == g_count ? 0 : 1;
}
