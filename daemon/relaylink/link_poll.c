/* The long-poll relay link (docs/control-protocol.md, "Relay links"):
 * POST /v1/relay/poll opens a session; a GET at a time brings what the
 * server queued for us as records [seq][len][datagram] (streamed, or as one
 * body when a proxy buffers replies), acknowledging what we have; POSTs
 * carry ours, numbered 1, 2, 3..., at most 2 in flight, each retried with
 * the same body until the server has it (it drops what it already had).
 * A broken GET is sent again with the same ack: the server sends again
 * what we did not acknowledge, and records we already have are dropped. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/relay_link.h"
#include "daemon/http_client.h"
#include "daemon/relaylink/relaylink_internal.h"
#include "util/log.h"

#define POSTS_MAX 2
#define TXQ_MAX (512 * 1024)            /* queued to send, not yet in a POST */
#define STREAM_PROOF_MS 2000            /* no first record this long: a buffering proxy */
#define GET_WAIT_MS 25000
#define GET_TIMEOUT_MS (GET_WAIT_MS + 10000)
#define POST_TIMEOUT_MS 10000
#define FAILURES_MAX 5                  /* in a row: the link has failed */
#define SESSION_MAX 64

enum poll_state { P_SESSION, P_UP, P_FAILED };

struct post {
	struct rl_link *link;
	struct http_request *req;
	uint8_t *body;
	size_t len;
};

/* One downlink GET and the record being read from its body. Two at most:
 * a new GET (with a newer ack) makes the server end the old one, whose
 * tail then arrives beside the new one's first records. */
struct get {
	struct rl_link *link;
	struct http_request *req;
	bool heard;     /* it brought a byte */
	bool superseded; /* a newer GET took over: its end starts nothing */
	uint8_t hdr[RELAY_POLL_REC_HDR_LEN];
	size_t hdr_have;
	uint8_t *rec;   /* RELAY_LINK_DGRAM_MAX */
	size_t rec_want, rec_have;
	uint64_t rec_seq;
};

struct rl_link {
	struct relaylink *rl;
	enum managed_relay_link kind;
	enum poll_state state;
	char session[SESSION_MAX];
	struct http_request *session_req;
	struct get gets[2];
	struct get *cur;          /* the GET that counts; NULL: none */
	bool stream;              /* stream=1 until a proxy proves it buffers */
	unsigned failures;
	uint64_t have;            /* highest seq received, nothing missing before */
	uint64_t acked;           /* the ack the current GET carried */
	size_t unacked_bytes;     /* received since */
	/* uplink */
	uint64_t tx_seq;
	uint8_t *txq;             /* whole records */
	size_t txq_len;
	struct post posts[POSTS_MAX];
	struct ev_timer proof, retry, rotate;
};

static void start_get(struct rl_link *l);
static void pump_posts(struct rl_link *l);

static void fail(struct rl_link *l, int err)
{
	if (l->state == P_FAILED)
		return;
	l->state = P_FAILED;
	relaylink_on_failed(l->rl, l->kind, err);
}

static void session_header(const struct rl_link *l, char *out, size_t cap)
{
	snprintf(out, cap, "Roam-Session: %s", l->session);
}

/* --- downlink ----------------------------------------------------------- */

static void record_done(struct rl_link *l, struct get *g)
{
	uint64_t seq = g->rec_seq;
	if (seq != 0 && seq <= l->have)
		return; /* sent again after a break, or by both GETs: we have it */
	if (seq != 0) {
		l->have = seq; /* the server sends in order; a gap is lost for good */
		l->unacked_bytes += g->rec_want;
	}
	relaylink_on_rx(l->rl, l->kind, g->rec, g->rec_want);
}

/* The server frees what we acknowledge only when a GET says so: well
 * before its caps fill, a new GET carries the ack (and ends the old). */
static bool ack_due(const struct rl_link *l)
{
	return l->stream && (l->have - l->acked >= RELAY_POLL_QUEUE_DGRAMS / 16 ||
			     l->unacked_bytes >= RELAY_POLL_QUEUE_BYTES / 16);
}

static void on_get_data(void *ctx, const uint8_t *d, size_t n)
{
	struct get *g = ctx;
	struct rl_link *l = g->link;
	g->heard = true;
	while (n && l->state == P_UP) {
		if (g->hdr_have < sizeof(g->hdr)) {
			size_t take = sizeof(g->hdr) - g->hdr_have < n ? sizeof(g->hdr) - g->hdr_have : n;
			memcpy(g->hdr + g->hdr_have, d, take);
			g->hdr_have += take;
			d += take;
			n -= take;
			if (g->hdr_have < sizeof(g->hdr))
				return;
			g->rec_seq = 0;
			for (int i = 7; i >= 0; i--)
				g->rec_seq = g->rec_seq << 8 | g->hdr[i];
			g->rec_want = (size_t)g->hdr[8] | (size_t)g->hdr[9] << 8;
			g->rec_have = 0;
			if (!g->rec_want) {
				fail(l, -EPROTO);
				return;
			}
		}
		size_t take = g->rec_want - g->rec_have < n ? g->rec_want - g->rec_have : n;
		memcpy(g->rec + g->rec_have, d, take);
		g->rec_have += take;
		d += take;
		n -= take;
		if (g->rec_have == g->rec_want) {
			record_done(l, g);
			g->hdr_have = 0;
		}
	}
	/* Not from here: libcurl refuses new transfers inside its callbacks. */
	if (l->state == P_UP && g == l->cur && ack_due(l) && !ev_timer_pending(&l->rotate)) {
		struct ev_loop *loop = relaylink_loop(l->rl);
		ev_timer_start(loop, &l->rotate, ev_now(loop));
	}
}

static void on_rotate(struct ev_loop *loop, struct ev_timer *t)
{
	struct rl_link *l = t->data;
	(void)loop;
	if (l->state != P_UP || !l->cur || !ack_due(l))
		return;
	struct get *other = &l->gets[l->cur == &l->gets[0]];
	if (other->req)
		return; /* the last one has not ended yet: the next record asks again */
	l->cur->superseded = true;
	start_get(l);
}

static void on_get_done(void *ctx, int err, long status, const char *body, size_t len)
{
	struct get *g = ctx;
	struct rl_link *l = g->link;
	bool superseded = g->superseded;
	(void)body, (void)len;
	g->req = NULL;
	g->superseded = false;
	g->hdr_have = 0; /* a record cut short is sent again whole: the ack names what we have */
	if (l->state != P_UP || superseded)
		return;
	l->cur = NULL;
	ev_timer_stop(relaylink_loop(l->rl), &l->proof);
	if (status == 404) {
		fail(l, -ENOENT); /* the session is gone: a new link, a new session */
		return;
	}
	if (err == 0 && status == 200) {
		l->failures = 0;
		/* An empty short poll is still the server's word. */
		uint8_t ka[RELAY_KEEPALIVE_LEN];
		relay_keepalive_build(ka);
		relaylink_on_rx(l->rl, l->kind, ka, sizeof(ka));
		start_get(l);
		return;
	}
	log_debug("relay link long-poll: GET failed (%d, HTTP %ld): resuming at %llu", err, status,
		  (unsigned long long)l->have);
	if (++l->failures >= FAILURES_MAX) {
		fail(l, err ? err : -EPROTO);
		return;
	}
	/* Resume at once the first time (a proxy or NAT cut the connection),
	 * then with a pause. */
	if (l->failures == 1)
		start_get(l);
	else
		ev_timer_start(relaylink_loop(l->rl), &l->retry, ev_now(relaylink_loop(l->rl)) + 500 * EV_NSEC_PER_MSEC);
}

/* stream=1 begins with a keepalive record: nothing within 2 s means a
 * proxy holds the reply back until it ends. Short polls from now on. */
static void on_proof(struct ev_loop *loop, struct ev_timer *t)
{
	struct rl_link *l = t->data;
	(void)loop;
	if (!l->cur || l->cur->heard || !l->stream || l->state != P_UP)
		return;
	log_info("relay link long-poll: the reply is not streamed (a buffering proxy?): short polls from now on");
	l->stream = false;
	http_request_cancel(l->cur->req);
	l->cur->req = NULL;
	l->cur->hdr_have = 0;
	l->cur = NULL;
	start_get(l);
}

static void on_retry(struct ev_loop *loop, struct ev_timer *t)
{
	struct rl_link *l = t->data;
	(void)loop;
	if (l->state == P_UP && !l->cur)
		start_get(l);
	pump_posts(l);
}

/* A GET in the free slot becomes the current one. */
static void start_get(struct rl_link *l)
{
	char target[128], url[RL_URL_MAX], sess[SESSION_MAX + 32];
	struct get *g = l->gets[0].req ? &l->gets[1] : &l->gets[0];
	if (g->req) {
		fail(l, -EBUSY); /* cannot happen: callers check */
		return;
	}
	snprintf(target, sizeof(target), "/v1/relay/poll?ack=%llu&stream=%d&wait=%d", (unsigned long long)l->have,
		 l->stream ? 1 : 0, GET_WAIT_MS);
	relaylink_url(l->rl, target, url, sizeof(url));
	session_header(l, sess, sizeof(sess));
	const char *headers[] = { sess, NULL };
	struct http_request_opts o = {
		.method = "GET",
		.url = url,
		.headers = headers,
		.pinned_pubkey = relaylink_pin(l->rl),
		.timeout_ms = GET_TIMEOUT_MS,
		.proxy = relaylink_proxy(l->rl),
		.on_data = on_get_data,
		.on_done = on_get_done,
		.ctx = g,
		.reuse_connection = true,
	};
	g->heard = false;
	g->superseded = false;
	g->hdr_have = 0;
	if (http_request_start(relaylink_http(l->rl), &o, &g->req) < 0) {
		fail(l, -ENOMEM);
		return;
	}
	l->cur = g;
	l->acked = l->have;
	l->unacked_bytes = 0;
	if (l->stream) {
		struct ev_loop *loop = relaylink_loop(l->rl);
		ev_timer_start(loop, &l->proof, ev_now(loop) + STREAM_PROOF_MS * EV_NSEC_PER_MSEC);
	}
}

/* --- uplink ------------------------------------------------------------- */

static void on_post_done(void *ctx, int err, long status, const char *body, size_t len);

static int post_start(struct rl_link *l, struct post *p)
{
	char url[RL_URL_MAX], sess[SESSION_MAX + 32];
	relaylink_url(l->rl, "/v1/relay/poll/send", url, sizeof(url));
	session_header(l, sess, sizeof(sess));
	const char *headers[] = { sess, "Content-Type: application/octet-stream", "Expect:", NULL };
	struct http_request_opts o = {
		.method = "POST",
		.url = url,
		.headers = headers,
		.body = (const char *)p->body,
		.body_len = p->len,
		.pinned_pubkey = relaylink_pin(l->rl),
		.timeout_ms = POST_TIMEOUT_MS,
		.proxy = relaylink_proxy(l->rl),
		.on_done = on_post_done,
		.ctx = p,
		.reuse_connection = true,
	};
	return http_request_start(relaylink_http(l->rl), &o, &p->req);
}

static void on_post_done(void *ctx, int err, long status, const char *body, size_t len)
{
	struct post *p = ctx;
	struct rl_link *l = p->link;
	(void)body, (void)len;
	p->req = NULL;
	if (l->state != P_UP)
		return;
	if (status == 404) {
		fail(l, -ENOENT);
		return;
	}
	if (err == 0 && (status == 204 || status == 200 || status == 400)) {
		/* 400: the server refused the batch whole (our bug): not again. */
		free(p->body);
		p->body = NULL;
		l->failures = 0;
		pump_posts(l);
		return;
	}
	log_debug("relay link long-poll: POST failed (%d, HTTP %ld): again", err, status);
	if (++l->failures >= FAILURES_MAX) {
		fail(l, err ? err : -EPROTO);
		return;
	}
	/* The same body again: the server drops what it already had. */
	if (post_start(l, p) < 0)
		fail(l, -ENOMEM);
}

/* Starts POSTs while a slot is free and records wait: up to
 * RELAY_POLL_BATCH_MAX bytes of whole records each. */
static void pump_posts(struct rl_link *l)
{
	for (size_t i = 0; i < POSTS_MAX && l->state == P_UP && l->txq_len; i++) {
		struct post *p = &l->posts[i];
		if (p->req || p->body)
			continue;
		size_t n = 0;
		while (n < l->txq_len) {
			size_t rec = RELAY_POLL_REC_HDR_LEN + ((size_t)l->txq[n + 8] | (size_t)l->txq[n + 9] << 8);
			if (n + rec > RELAY_POLL_BATCH_MAX)
				break;
			n += rec;
		}
		if (!(p->body = malloc(n))) {
			fail(l, -ENOMEM);
			return;
		}
		memcpy(p->body, l->txq, n);
		p->len = n;
		memmove(l->txq, l->txq + n, l->txq_len - n);
		l->txq_len -= n;
		if (post_start(l, p) < 0) {
			fail(l, -ENOMEM);
			return;
		}
	}
}

static int poll_send(struct rl_link *l, const uint8_t *d, size_t len)
{
	if (l->state != P_UP)
		return -ENOTCONN;
	size_t rec = relay_poll_record_len(len);
	if (l->txq_len + rec > TXQ_MAX)
		return -ENOBUFS; /* counted by relaylink.c */ /* the newest goes: the tunnels' congestion control copes */
	if (!relay_poll_record_write(l->txq + l->txq_len, TXQ_MAX - l->txq_len, l->tx_seq + 1, d, len))
		return -EMSGSIZE;
	l->tx_seq++;
	l->txq_len += rec;
	return 0;
}

static void poll_flush(struct rl_link *l)
{
	pump_posts(l);
}

/* --- the session -------------------------------------------------------- */

static void on_session_done(void *ctx, int err, long status, const char *body, size_t len)
{
	struct rl_link *l = ctx;
	l->session_req = NULL;
	if (err < 0 || status != 200) {
		log_info("relay link long-poll: no session (%s, HTTP %ld)", err ? strerror(-err) : "refused", status);
		fail(l, err ? err : status == 401 || status == 403 ? -EACCES : -EPROTO);
		return;
	}
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "session");
	if (!cJSON_IsString(s) || !s->valuestring[0] || strlen(s->valuestring) >= sizeof(l->session) ||
	    strspn(s->valuestring, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
		    strlen(s->valuestring)) {
		cJSON_Delete(root);
		fail(l, -EPROTO);
		return;
	}
	snprintf(l->session, sizeof(l->session), "%s", s->valuestring);
	cJSON_Delete(root);
	l->state = P_UP;
	start_get(l);
	relaylink_on_up(l->rl, l->kind);
}

static void poll_close(struct rl_link *l)
{
	if (!l)
		return;
	struct ev_loop *loop = relaylink_loop(l->rl);
	http_request_cancel(l->session_req);
	for (size_t i = 0; i < 2; i++) {
		http_request_cancel(l->gets[i].req);
		free(l->gets[i].rec);
	}
	for (size_t i = 0; i < POSTS_MAX; i++) {
		http_request_cancel(l->posts[i].req);
		free(l->posts[i].body);
	}
	ev_timer_stop(loop, &l->proof);
	ev_timer_stop(loop, &l->retry);
	ev_timer_stop(loop, &l->rotate);
	free(l->txq);
	free(l);
}

static int poll_open(struct relaylink *rl, enum managed_relay_link kind, struct rl_link **out)
{
	char url[RL_URL_MAX], auth[512];
	struct rl_link *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->rl = rl;
	l->kind = kind;
	l->stream = true;
	for (size_t i = 0; i < POSTS_MAX; i++)
		l->posts[i].link = l;
	for (size_t i = 0; i < 2; i++)
		l->gets[i].link = l;
	ev_timer_init(&l->proof, on_proof, l);
	ev_timer_init(&l->retry, on_retry, l);
	ev_timer_init(&l->rotate, on_rotate, l);
	int ret = -ENOMEM;
	if (!(l->gets[0].rec = malloc(RELAY_LINK_DGRAM_MAX)) || !(l->gets[1].rec = malloc(RELAY_LINK_DGRAM_MAX)) ||
	    !(l->txq = malloc(TXQ_MAX)))
		goto fail;
	if ((ret = relaylink_auth(rl, "POST", "/v1/relay/poll", auth, sizeof(auth))) < 0)
		goto fail;
	relaylink_url(rl, "/v1/relay/poll", url, sizeof(url));
	const char *headers[] = { auth, "Expect:", NULL };
	struct http_request_opts o = {
		.method = "POST",
		.url = url,
		.headers = headers,
		.body = "",
		.body_len = 0,
		.pinned_pubkey = relaylink_pin(rl),
		.timeout_ms = POST_TIMEOUT_MS,
		.proxy = relaylink_proxy(rl),
		.on_done = on_session_done,
		.ctx = l,
		.reuse_connection = true,
	};
	if ((ret = http_request_start(relaylink_http(rl), &o, &l->session_req)) < 0)
		goto fail;
	*out = l;
	return 0;
fail:
	poll_close(l);
	return ret;
}

const struct rl_link_class rl_poll_class = {
	.open = poll_open,
	.send = poll_send,
	.flush = poll_flush,
	.close = poll_close,
};
