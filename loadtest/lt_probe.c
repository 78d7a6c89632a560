/* The fault requests of roam-loadtest, each on a connection of its own (a
 * slot after the nodes in g_sim.nodes, with the keys of a live node): a
 * malformed body (400 expected), a replayed Roam-Auth header (the second
 * copy: 401), a skewed clock (401 beyond the server's 60 s, else 204), a
 * logout (204; the node then rejoins), and a stalled connection (TCP up,
 * nothing sent, held --stall seconds). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/coord_sim.h"
#include "coord/auth.h"
#include "crypto/crypto.h"
#include "loadtest/lt.h"

#define LT_PROBE_TIMEOUT_NS (10 * 1000000000ull)
#define LT_SKEW_WINDOW_S 60 /* docs/control-protocol.md: |ts - now| > 60 s is refused */
#define LT_PING_BODY "{\"private\":[]}"

struct lt_probe {
	enum lt_fault kind;
	bool busy;
	int step, expect;
	bool answered;
	int raw_fd;           /* LT_F_STALL: the silent TCP connection */
	uint64_t until_ns;    /* stall end, or the probe's timeout */
	struct sim_node *src; /* the node whose keys sign (logout: the one that leaves) */
	uint32_t src_gen;     /* its lt_gen when picked */
	char auth[COORD_AUTH_HEADER_MAX];
};

static struct lt_probe *g_probe;
static size_t g_first, g_slots;
static int g_skew_s;

static struct lt_probe *probe_of(struct sim_http *h)
{
	return &g_probe[((struct sim_node *)h->user)->idx - (int)g_first];
}

static int probe_send(struct lt_probe *p, struct sim_node *slot, const char *target, const char *body, int64_t skew)
{
	return sim_request_signed(&slot->http, p->src, "POST", target, body, skew, p->auth);
}

static void probe_ready(struct sim_http *h)
{
	struct lt_probe *p = probe_of(h);
	struct sim_node *slot = h->user;
	int r = 0;

	switch (p->kind) {
	case LT_F_MALFORMED:
		p->expect = 400;
		r = probe_send(p, slot, "/v1/endpoints", "{\"private\":[\"not an address", 0);
		break;
	case LT_F_SKEW:
		p->expect = abs(g_skew_s) > LT_SKEW_WINDOW_S ? 401 : 204;
		r = probe_send(p, slot, "/v1/endpoints", LT_PING_BODY, g_skew_s);
		break;
	case LT_F_REPLAY:
		p->expect = 204;
		r = probe_send(p, slot, "/v1/endpoints", LT_PING_BODY, 0);
		break;
	case LT_F_LOGOUT:
		if (p->src->lt_gen != p->src_gen || !p->src->has_view) {
			/* It reconnected meanwhile: a logout racing its own register
			 * and stream is not what a node does. Skipped. */
			r = -EAGAIN;
			break;
		}
		/* Down from now: the stream may end before the 204 arrives (and
		 * the node be back before it, on its own connection). */
		p->expect = 204;
		p->src->lt_flags |= LT_FL_LOGGED_OUT;
		p->src->down_ns = sim_mono_ns();
		r = probe_send(p, slot, "/v1/logout", NULL, 0);
		break;
	default:
		break;
	}
	if (r < 0)
		sim_http_close(h, "probe request");
	else
		sim_node_rearm(slot);
}

static void probe_response(struct sim_http *h, int status, const char *body, size_t len)
{
	struct lt_probe *p = probe_of(h);
	struct sim_node *slot = h->user;

	(void)len;
	p->answered = true;
	if (p->kind == LT_F_LOGOUT && status != 204 && p->src->has_view) {
		p->src->lt_flags &= (uint8_t)~LT_FL_LOGGED_OUT; /* still in: no rejoin to time */
		p->src->down_ns = 0;
	}
	/* Logged out on the push channel: no connection to see end, the node
	 * knows it from the answer (the server dropped its stream). */
	if (p->kind == LT_F_LOGOUT && status == 204 && p->src->phase == SIM_PUSH)
		sim_push_drop(p->src);
	if (status == p->expect) {
		g_lt.probes_ok++;
	} else {
		g_lt.err[LT_ERR_PROBE_UNEXPECTED]++;
		fprintf(stderr, "roam-loadtest: fault %d step %d: %d (expected %d) %s\n", (int)p->kind, p->step, status,
			p->expect, body);
	}
	if (p->kind == LT_F_REPLAY && p->step++ == 0) {
		/* The very same request, header and all: the nonce was seen. */
		p->expect = 401;
		if (sim_http_request(&slot->http, "POST", "/v1/endpoints", g_sim.host, p->auth, LT_PING_BODY,
				     strlen(LT_PING_BODY)) == 0) {
			sim_node_rearm(slot);
			return;
		}
	}
	sim_http_close(h, "probe done");
}

static void probe_closed(struct sim_http *h, const char *why)
{
	struct lt_probe *p = probe_of(h);

	(void)why;
	p->busy = false;
	if (p->kind == LT_F_LOGOUT && !p->answered && p->src && p->src->has_view) {
		p->src->lt_flags &= (uint8_t)~LT_FL_LOGGED_OUT; /* no answer: no rejoin to time */
		p->src->down_ns = 0;
	}
}

static const struct sim_http_ops probe_ops = {
	.ready = probe_ready,
	.response = probe_response,
	.closed = probe_closed,
};

/* A slot: a sim_node after the nodes, a connection of its own (no UDP). */
void lt_slot_reset(struct sim_node *slot, const struct sim_http_ops *ops)
{
	memset(&slot->http, 0, sizeof(slot->http));
	slot->udp_fd = -1;
	slot->http.fd = -1;
	slot->http.state = SIM_CLOSED;
	slot->http.ops = ops;
	slot->http.user = slot;
}

int lt_slot_connect(struct sim_node *slot, const struct sim_http_ops *ops)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u64 = (uint64_t)slot->idx << 1 };
	int r;

	lt_slot_reset(slot, ops);
	if ((r = sim_http_connect(&slot->http, g_sim.ctx, &g_sim.server, g_sim.pin, NULL)) < 0)
		return r;
	if (epoll_ctl(g_sim.epfd, EPOLL_CTL_ADD, slot->http.fd, &ev) < 0) {
		r = -errno;
		sim_http_close(&slot->http, "epoll");
		return r;
	}
	return 0;
}

void lt_probe_init(size_t first_slot, size_t slots)
{
	g_first = first_slot;
	g_slots = slots;
	g_probe = calloc(slots, sizeof(*g_probe));
	for (size_t i = 0; g_probe && i < slots; i++) {
		struct sim_node *s = &g_sim.nodes[first_slot + i];
		s->idx = (int)(first_slot + i);
		lt_slot_reset(s, &probe_ops);
		g_probe[i].raw_fd = -1;
	}
}

static int stall_open(struct lt_probe *p, const struct lt_opts *o)
{
	int fd = socket(g_sim.server.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, &g_sim.server.sa, g_sim.server.len) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -errno;
	}
	p->raw_fd = fd;
	p->until_ns = sim_mono_ns() + (uint64_t)o->stall_s * 1000000000ull;
	return 0;
}

void lt_probe_start(enum lt_fault kind, const struct lt_opts *o)
{
	struct lt_probe *p = NULL;
	struct sim_node *slot;
	size_t i;

	g_skew_s = o->skew_s;
	for (i = 0; g_probe && i < g_slots && !p; i++)
		if (!g_probe[i].busy)
			p = &g_probe[i];
	if (!p)
		return; /* all slots busy: the fault is skipped, not queued */
	slot = &g_sim.nodes[g_first + (size_t)(p - g_probe)];
	memset(p, 0, sizeof(*p));
	p->raw_fd = -1;
	p->kind = kind;
	if (kind == LT_F_STALL) {
		p->busy = stall_open(p, o) == 0;
		return;
	}
	if (!(p->src = lt_pick()))
		return;
	p->src_gen = p->src->lt_gen;
	if (lt_slot_connect(slot, &probe_ops) < 0)
		return;
	p->busy = true;
	p->until_ns = sim_mono_ns() + LT_PROBE_TIMEOUT_NS;
}

/* Stalls that ran their time, probes that got no answer. */
void lt_probe_tick(void)
{
	uint64_t now = sim_mono_ns();

	for (size_t i = 0; g_probe && i < g_slots; i++) {
		struct lt_probe *p = &g_probe[i];
		if (!p->busy || now < p->until_ns)
			continue;
		if (p->raw_fd >= 0) {
			close(p->raw_fd);
			p->raw_fd = -1;
			p->busy = false;
			g_lt.probes_ok++;
			continue;
		}
		g_lt.err[LT_ERR_PROBE_UNEXPECTED]++;
		sim_http_close(&g_sim.nodes[g_first + i].http, "probe timed out");
	}
}

bool lt_probe_idle(void)
{
	for (size_t i = 0; g_probe && i < g_slots; i++)
		if (g_probe[i].busy)
			return false;
	return true;
}
