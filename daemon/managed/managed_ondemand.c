/* Peers on demand, the agent's side (docs/architecture.md, "Peers on
 * demand"): the members of a big group are not in each other's views. The
 * data plane asks for a peer (PS_PEER_ASK: an overlay address a packet
 * went to, or the key of an unknown initiator); we ask the server,
 * GET /v1/peer?address= or ?key=, with the same authenticated request as
 * every other (managed_request: Roam-Auth, the server's reply mac, proxy,
 * pin). Its 200 is one stream line, the peer, applied like a pushed one
 * and marked on demand; the data plane then gets its answer. The server
 * keeps the pairs in memory only, so after each new stream we ask again
 * for every peer we hold on demand, a few per tick; a 404 then drops it. */
#include <errno.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>

#include "coord/peer_query.h"
#include "daemon/managed/managed.h"
#include "util/log.h"

#define ONDEMAND_TIMEOUT_MS 10000
#define ONDEMAND_BODY_MAX (64 * 1024) /* one peer line */
#define REASK_FIRST_MS 500            /* after the new stream's first line */
#define REASK_TICK_MS 250             /* then MANAGED_ONDEMAND_REASK_BATCH per tick */
#define KEY_WAIT_MS 1000              /* an unknown initiator's line may be on its way */

static void answer(struct managed *m, const struct ondemand_query *q, enum ondemand_result r)
{
	if (m->host->peer_answer)
		m->host->peer_answer(m->host_ctx, q, r);
}

/* The request target, as lib/coord/peer_query.h formats it. */
static int query_target(const struct ondemand_query *q, char *out, size_t cap)
{
	struct coord_peer_query cq = { .by_key = q->kind == ONDEMAND_KEY, .family = q->family };
	if (cq.by_key)
		memcpy(cq.key, q->bytes, COORD_KEY_LEN);
	else
		memcpy(cq.addr, q->bytes, q->family == AF_INET6 ? 16 : 4);
	return coord_peer_query_format(&cq, out, cap);
}

/* The reply's peer: exactly one "peer" line. */
struct reply_peer {
	struct coord_peer p;
	int lines;
};

static int on_reply_peer(void *ctx, const struct coord_peer *peer, bool full_view)
{
	struct reply_peer *r = ctx;
	if (full_view || r->lines++)
		return -EBADMSG;
	r->p = *peer;
	return 0;
}

static bool peer_answers(const struct coord_peer *p, const struct ondemand_query *q)
{
	if (q->kind == ONDEMAND_KEY)
		return memcmp(p->public_key, q->bytes, COORD_KEY_LEN) == 0;
	const struct ip_prefix *a = q->family == AF_INET6 ? &p->ipv6 : &p->ipv4;
	return a->family == q->family && memcmp(a->addr, q->bytes, q->family == AF_INET6 ? 16 : 4) == 0;
}

/* 200: the peer as one stream line (coord_stream_line_parse), which must
 * be the one asked for; FOUND once applied. */
static enum ondemand_result take_reply(struct managed *m, const struct ondemand_query *q, const char *body,
				       size_t len)
{
	static const struct coord_stream_handler h = { .peer = on_reply_peer };
	struct reply_peer r = { .lines = 0 };
	if (coord_stream_line_parse(body, len, &h, &r) < 0 || r.lines != 1 || !peer_answers(&r.p, q) ||
	    memcmp(r.p.public_key, m->public_key, COORD_KEY_LEN) == 0) {
		log_warn("the server's answer to GET /v1/peer is not the peer asked for: ignored");
		return ONDEMAND_FAILED;
	}
	if (managed_apply_peer_on_demand(m, &r.p) < 0)
		return ONDEMAND_FAILED;
	log_info("peer %s added on demand", r.p.name);
	return ONDEMAND_FOUND;
}

static void on_peer_done(void *ctx, int err, long status, const char *body, size_t len)
{
	struct managed_ondemand_req *req = ctx;
	struct managed *m = req->m;
	struct ondemand_query q = req->q;
	bool reask = req->reask;
	enum ondemand_result r = ONDEMAND_FAILED;
	req->used = false;
	req->req = NULL;
	if (!err && status == 200)
		r = take_reply(m, &q, body, len);
	else if (!err && status == 404)
		r = ONDEMAND_NOT_FOUND;
	else
		log_debug("GET /v1/peer: %s (HTTP %ld)", err ? managed_transport_error(m, err) : "refused", status);
	if (!reask) {
		answer(m, &q, r);
		return;
	}
	/* Asked again after a new stream: gone from our groups meanwhile. */
	if (r == ONDEMAND_NOT_FOUND && managed_peer_is_on_demand(m, q.bytes))
		managed_remove_peer(m, q.bytes);
}

static struct managed_ondemand_req *free_req(struct managed *m)
{
	for (size_t i = 0; i < MANAGED_ONDEMAND_REQS; i++)
		if (!m->od.r[i].used)
			return &m->od.r[i];
	return NULL;
}

static int send_req(struct managed *m, struct managed_ondemand_req *req)
{
	char target[COORD_PEER_TARGET_MAX + 1];
	int ret;
	if (m->st.state != MANAGED_CONNECTED)
		return -ENOTCONN;
	if ((ret = query_target(&req->q, target, sizeof(target))) < 0)
		return ret;
	struct http_request_opts o = {
		.method = "GET",
		.timeout_ms = ONDEMAND_TIMEOUT_MS,
		.body_max = ONDEMAND_BODY_MAX,
		.on_done = on_peer_done,
		.ctx = req,
	};
	req->start_at = 0;
	return managed_request(m, &o, target, &req->req);
}

/* A question in a free slot: sent now, or (start_at) when it is due. */
static int start(struct managed *m, const struct ondemand_query *q, bool reask, uint64_t start_at)
{
	struct managed_ondemand_req *req = free_req(m);
	int ret;
	if (m->st.state != MANAGED_CONNECTED)
		return -ENOTCONN;
	if (!req)
		return -EBUSY;
	req->m = m;
	req->q = *q;
	req->reask = reask;
	req->start_at = start_at;
	req->req = NULL;
	if (start_at) {
		if (!ev_timer_pending(&m->od.wait_timer) || ev_timer_deadline(&m->od.wait_timer) > start_at)
			ev_timer_start(m->loop, &m->od.wait_timer, start_at);
	} else if ((ret = send_req(m, req)) < 0) {
		return ret;
	}
	req->used = true;
	return 0;
}

static void on_wait_due(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	uint64_t now = ev_now(loop), next = UINT64_MAX;
	for (size_t i = 0; i < MANAGED_ONDEMAND_REQS; i++) {
		struct managed_ondemand_req *req = &m->od.r[i];
		if (!req->used || !req->start_at)
			continue;
		if (req->start_at > now) {
			next = req->start_at < next ? req->start_at : next;
			continue;
		}
		/* The server pushed the initiator's line meanwhile (the usual case). */
		if (managed_peer_held(m, req->q.bytes)) {
			req->used = false;
			answer(m, &req->q, ONDEMAND_FOUND);
		} else if (send_req(m, req) < 0) {
			req->used = false;
			answer(m, &req->q, ONDEMAND_FAILED);
		}
	}
	if (next != UINT64_MAX)
		ev_timer_start(loop, t, next);
}

void managed_ondemand_ask(struct managed *m, const struct ondemand_query *q)
{
	bool by_key = q->kind == ONDEMAND_KEY;
	/* Held already: its line came while the question was on its way. */
	if (by_key ? managed_peer_held(m, q->bytes) : managed_peer_held_at(m, q->family, q->bytes)) {
		answer(m, q, ONDEMAND_FOUND);
		return;
	}
	/* An initiation from an unknown key is most often a peer of our
	 * groups whose line the server is pushing to us right now: a moment
	 * before asking saves the request (the initiation waits REKEY_TIMEOUT
	 * in the engine). A packet to an address is asked for at once. */
	uint64_t at = by_key ? ev_now(m->loop) + KEY_WAIT_MS * EV_NSEC_PER_MSEC : 0;
	int ret = start(m, q, false, at);
	if (ret < 0) {
		log_debug("cannot ask the server for a peer: %s", strerror(-ret));
		answer(m, q, ONDEMAND_FAILED);
	}
}

void managed_ondemand_idle(struct managed *m, const uint8_t public_key[COORD_KEY_LEN])
{
	if (managed_peer_is_on_demand(m, public_key))
		managed_remove_peer(m, public_key);
}

static void on_reask_tick(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	uint8_t key[COORD_KEY_LEN];
	if (m->st.state != MANAGED_CONNECTED)
		return; /* the next stream marks them again */
	for (int i = 0; i < MANAGED_ONDEMAND_REASK_BATCH; i++) {
		if (!free_req(m))
			break; /* busy: the rest on the next tick */
		if (!managed_peers_reask_next(m, key)) {
			return;
		}
		struct ondemand_query q;
		ondemand_query_key(&q, key);
		if (start(m, &q, true, 0) < 0)
			log_debug("cannot ask the server again for an on-demand peer");
	}
	ev_timer_start(loop, t, ev_now(loop) + REASK_TICK_MS * EV_NSEC_PER_MSEC);
}

void managed_ondemand_stream_new(struct managed *m)
{
	size_t n = managed_peers_reask_mark(m);
	if (!n)
		return;
	log_info("asking the server again for %zu peer(s) held on demand", n);
	ev_timer_start(m->loop, &m->od.reask_timer, ev_now(m->loop) + REASK_FIRST_MS * EV_NSEC_PER_MSEC);
}

void managed_ondemand_init(struct managed *m)
{
	memset(&m->od, 0, sizeof(m->od));
	ev_timer_init(&m->od.reask_timer, on_reask_tick, m);
	ev_timer_init(&m->od.wait_timer, on_wait_due, m);
}

void managed_ondemand_stop(struct managed *m, bool answer_failed)
{
	ev_timer_stop(m->loop, &m->od.reask_timer);
	ev_timer_stop(m->loop, &m->od.wait_timer);
	for (size_t i = 0; i < MANAGED_ONDEMAND_REQS; i++) {
		struct managed_ondemand_req *req = &m->od.r[i];
		if (!req->used)
			continue;
		http_request_cancel(req->req);
		req->used = false;
		req->req = NULL;
		if (answer_failed && !req->reask)
			answer(m, &req->q, ONDEMAND_FAILED);
	}
}
