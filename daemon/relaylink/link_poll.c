/* The long-poll relay link (docs/control-protocol.md, "Relay links"):
 * POST /v1/relay/poll opens a session; one GET at a time brings what the
 * server queued for us as records [seq][len][datagram]; POSTs carry ours,
 * numbered 1, 2, 3..., at most 2 in flight, each retried with the same body
 * until the server has it (it drops what it already had). A broken GET is
 * sent again with the same ack: the server sends again what we did not
 * acknowledge, and records we already have are dropped.
 *
 * Streaming first (stream=1): the GET's chunked reply stays open and its
 * records are delivered as they arrive (parsed incrementally); we
 * acknowledge on the uplink (POST /v1/relay/poll/send?ack=N, every POST
 * carries one, and an empty one goes out when 16 datagrams or 32 KiB wait
 * for it or 20 ms passed with any), so the server's queue (512 KiB) drains
 * while the reply stays open; a new GET when it ends. A proxy that buffers
 * responses holds back the keepalive record the server begins with: none
 * within 2 s -> short polls (stream=0) for the rest of the link's life: the
 * server answers at once with what is queued (a batch of up to 64 KiB,
 * parsed whole by relay_poll_parse) or as soon as something is, which works
 * through HTTP/1.0 and buffering proxies alike. */
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
#define GET_WAIT_MS 25000
#define GET_TIMEOUT_MS (GET_WAIT_MS + 10000)
#define POST_TIMEOUT_MS 10000
#define FAILURES_MAX 5                  /* in a row: the link has failed */
#define SESSION_MAX 64
#define FIRST_RECORD_MS 2000            /* a stream without its keepalive record this long: buffered */
#define ACK_DGRAMS 16                   /* unacknowledged: an ack-only POST */
#define ACK_BYTES (32 * 1024)
#define ACK_DELAY_MS 20

enum poll_state { P_SESSION, P_UP, P_FAILED };

struct post {
	struct rl_link *link;
	struct http_request *req;
	uint8_t *body;
	size_t len;
};

struct rl_link {
	struct relaylink *rl;
	enum managed_relay_link kind;
	enum poll_state state;
	char session[SESSION_MAX];
	struct http_request *session_req, *get_req;
	unsigned failures;
	uint64_t have;            /* highest seq received, nothing missing before */
	uint8_t *body;            /* a GET's reply, RELAY_POLL_BATCH_MAX; a stream's record */
	/* streaming */
	bool short_polls;         /* a buffering proxy: stream=0 from now on */
	bool get_stream;          /* the GET in flight is stream=1 */
	bool got_record;          /* ... and has delivered its first record */
	bool bad_stream;          /* ... and broke the record format */
	uint8_t rhdr[RELAY_POLL_REC_HDR_LEN];
	size_t rhdr_have, rwant, rhave;
	uint64_t acked;           /* the highest ack the server was sent */
	size_t unacked_n, unacked_bytes;
	struct ev_timer first_record, ack_timer;
	/* uplink */
	uint64_t tx_seq;
	uint8_t *txq;             /* whole records */
	size_t txq_len;
	struct post posts[POSTS_MAX];
	struct ev_timer retry;
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

static void ack_note(struct rl_link *l, size_t len)
{
	l->unacked_n++;
	l->unacked_bytes += len;
	if (!l->get_stream)
		return; /* the next short poll carries the ack */
	/* The POST starts from the timer, never from here: we are inside
	 * libcurl's write callback, where it takes no new request. */
	struct ev_loop *loop = relaylink_loop(l->rl);
	if (l->unacked_n >= ACK_DGRAMS || l->unacked_bytes >= ACK_BYTES)
		ev_timer_start(loop, &l->ack_timer, ev_now(loop));
	else if (!ev_timer_pending(&l->ack_timer))
		ev_timer_start(loop, &l->ack_timer, ev_now(loop) + ACK_DELAY_MS * EV_NSEC_PER_MSEC);
}

static int on_record(void *ctx, uint64_t seq, uint8_t *d, size_t len)
{
	struct rl_link *l = ctx;
	if (seq != 0 && seq <= l->have)
		return 0; /* sent again after a break: we have it */
	if (seq != 0) {
		l->have = seq; /* the server sends in order; a gap is lost for good */
		ack_note(l, len);
	}
	relaylink_on_rx(l->rl, l->kind, d, len);
	return 0;
}

/* A stream's bytes: records delivered as each completes. The reader's
 * state starts afresh with every GET (the server begins each reply with a
 * whole record). */
static int stream_feed(struct rl_link *l, const uint8_t *in, size_t n)
{
	while (n) {
		if (l->rhdr_have < sizeof(l->rhdr)) {
			size_t take = sizeof(l->rhdr) - l->rhdr_have < n ? sizeof(l->rhdr) - l->rhdr_have : n;
			memcpy(l->rhdr + l->rhdr_have, in, take);
			l->rhdr_have += take, in += take, n -= take;
			if (l->rhdr_have < sizeof(l->rhdr))
				break;
			l->rwant = (size_t)l->rhdr[8] | (size_t)l->rhdr[9] << 8;
			l->rhave = 0;
			if (l->rwant == 0)
				return -EPROTO;
		}
		size_t take = l->rwant - l->rhave < n ? l->rwant - l->rhave : n;
		memcpy(l->body + l->rhave, in, take);
		l->rhave += take, in += take, n -= take;
		if (l->rhave < l->rwant)
			break;
		uint64_t seq = 0;
		for (int i = 7; i >= 0; i--)
			seq = seq << 8 | l->rhdr[i];
		l->rhdr_have = 0;
		l->got_record = true;
		ev_timer_stop(relaylink_loop(l->rl), &l->first_record);
		on_record(l, seq, l->body, l->rwant);
		if (l->state != P_UP)
			return -ENOTCONN; /* closed from the callback */
	}
	return 0;
}

static int on_stream_data(void *ctx, long status, const uint8_t *d, size_t n)
{
	struct rl_link *l = ctx;
	if (status != 200 || l->state != P_UP)
		return 0; /* an error's body: on_done judges the status */
	if (stream_feed(l, d, n) < 0) {
		l->bad_stream = true;
		return -EPROTO;
	}
	return 0;
}

static void on_get_failed(struct rl_link *l, int err, long status)
{
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

static void on_get_done(void *ctx, int err, long status, const char *body, size_t len)
{
	struct rl_link *l = ctx;
	l->get_req = NULL;
	ev_timer_stop(relaylink_loop(l->rl), &l->first_record);
	if (l->state != P_UP)
		return;
	if (status == 404) {
		fail(l, -ENOENT); /* the session is gone: a new link, a new session */
		return;
	}
	if (l->bad_stream) {
		fail(l, -EPROTO);
		return;
	}
	if (err == 0 && status == 200 && l->get_stream) {
		l->failures = 0;
		start_get(l); /* the stream ended (its wait): the next one */
		return;
	}
	if (err == 0 && status == 200) {
		/* Checked whole before anything is delivered (relay_poll_parse). */
		if (len > RELAY_POLL_BATCH_MAX) {
			fail(l, -EMSGSIZE);
			return;
		}
		memcpy(l->body, body, len);
		if (relay_poll_parse(l->body, len, on_record, l) < 0) {
			fail(l, -EPROTO);
			return;
		}
		l->failures = 0;
		/* An empty reply after the wait is still the server's word. */
		uint8_t ka[RELAY_KEEPALIVE_LEN];
		relay_keepalive_build(ka);
		relaylink_on_rx(l->rl, l->kind, ka, sizeof(ka));
		start_get(l);
		return;
	}
	on_get_failed(l, err, status);
}

static void on_retry(struct ev_loop *loop, struct ev_timer *t)
{
	struct rl_link *l = t->data;
	(void)loop;
	if (l->state == P_UP && !l->get_req)
		start_get(l);
	pump_posts(l);
}

/* No record within FIRST_RECORD_MS of a stream's start, though the server
 * begins each with a keepalive record: something between holds the reply
 * back. Short polls from now on. */
static void on_first_record(struct ev_loop *loop, struct ev_timer *t)
{
	struct rl_link *l = t->data;
	(void)loop;
	if (l->state != P_UP || !l->get_stream || l->got_record)
		return;
	log_info("relay link long-poll: no record %d ms into a streamed reply (a proxy buffers responses?): "
		 "short polls from now on", FIRST_RECORD_MS);
	l->short_polls = true;
	http_request_cancel(l->get_req);
	l->get_req = NULL;
	start_get(l);
}

static void on_ack_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct rl_link *l = t->data;
	(void)loop;
	if (l->state == P_UP)
		pump_posts(l);
}

static void start_get(struct rl_link *l)
{
	char target[128], url[RL_URL_MAX], sess[SESSION_MAX + 32];
	struct ev_loop *loop = relaylink_loop(l->rl);
	l->get_stream = !l->short_polls;
	l->got_record = l->bad_stream = false;
	l->rhdr_have = 0;
	snprintf(target, sizeof(target), "/v1/relay/poll?ack=%llu&stream=%d&wait=%d", (unsigned long long)l->have,
		 l->get_stream, GET_WAIT_MS);
	if (l->have > l->acked)
		l->acked = l->have;
	l->unacked_n = l->unacked_bytes = 0;
	relaylink_url(l->rl, target, url, sizeof(url));
	session_header(l, sess, sizeof(sess));
	const char *headers[] = { sess, NULL };
	struct http_request_opts o = {
		.method = "GET",
		.url = url,
		.headers = headers,
		.pinned_pubkey = relaylink_pin(l->rl),
		.tls_unverified = relaylink_server_auth(l->rl) != NULL, /* WireGuard's frames */
		.timeout_ms = GET_TIMEOUT_MS,
		.proxy = relaylink_proxy(l->rl),
		.on_data = l->get_stream ? on_stream_data : NULL,
		.on_done = on_get_done,
		.ctx = l,
		.reuse_connection = true,
	};
	if (http_request_start(relaylink_http(l->rl), &o, &l->get_req) < 0) {
		fail(l, -ENOMEM);
		return;
	}
	if (l->get_stream)
		ev_timer_start(loop, &l->first_record, ev_now(loop) + FIRST_RECORD_MS * EV_NSEC_PER_MSEC);
}

/* --- uplink ------------------------------------------------------------- */

static void on_post_done(void *ctx, int err, long status, const char *body, size_t len);

static int post_start(struct rl_link *l, struct post *p)
{
	char target[96], url[RL_URL_MAX], sess[SESSION_MAX + 32];
	/* Every POST acknowledges what we have: a stream=1 GET stays open. */
	snprintf(target, sizeof(target), "/v1/relay/poll/send?ack=%llu", (unsigned long long)l->have);
	if (l->have > l->acked)
		l->acked = l->have;
	l->unacked_n = l->unacked_bytes = 0;
	ev_timer_stop(relaylink_loop(l->rl), &l->ack_timer);
	relaylink_url(l->rl, target, url, sizeof(url));
	session_header(l, sess, sizeof(sess));
	const char *headers[] = { sess, "Content-Type: application/octet-stream", "Expect:", NULL };
	struct http_request_opts o = {
		.method = "POST",
		.url = url,
		.headers = headers,
		.body = p->body ? (const char *)p->body : "",
		.body_len = p->len,
		.pinned_pubkey = relaylink_pin(l->rl),
		.tls_unverified = relaylink_server_auth(l->rl) != NULL, /* WireGuard's frames */
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
	if ((err == 0 && (status == 204 || status == 200 || status == 400)) || !p->body) {
		/* 400: the server refused the batch whole (our bug): not again.
		 * A lost ack-only POST is not sent again: the next one says more. */
		free(p->body);
		p->body = NULL;
		p->len = 0;
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

/* On a stream, the server needs our acks on the uplink: enough waiting
 * for one, or the ack timer ran out. */
static bool ack_due(const struct rl_link *l)
{
	if (!l->get_stream || l->have <= l->acked)
		return false;
	return !ev_timer_pending(&l->ack_timer); /* ack_note set it: at once, or in ACK_DELAY_MS */
}

/* Starts POSTs while a slot is free and records wait: up to
 * RELAY_POLL_BATCH_MAX bytes of whole records each; else an empty one
 * when an ack is due. */
static void pump_posts(struct rl_link *l)
{
	if (!l->txq_len && ack_due(l)) {
		for (size_t i = 0; i < POSTS_MAX; i++) {
			struct post *p = &l->posts[i];
			if (p->req || p->body)
				continue;
			p->len = 0;
			if (post_start(l, p) < 0)
				fail(l, -ENOMEM);
			return;
		}
		return;
	}

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
	http_request_cancel(l->get_req);
	for (size_t i = 0; i < POSTS_MAX; i++) {
		http_request_cancel(l->posts[i].req);
		free(l->posts[i].body);
	}
	ev_timer_stop(loop, &l->retry);
	ev_timer_stop(loop, &l->first_record);
	ev_timer_stop(loop, &l->ack_timer);
	free(l->body);
	free(l->txq);
	free(l);
}

static int poll_open(struct relaylink *rl, enum managed_relay_link kind, struct rl_link **out)
{
	char url[RL_URL_MAX], auth[512], extra[RL_HEADERS_MAX];
	struct rl_link *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->rl = rl;
	l->kind = kind;
	for (size_t i = 0; i < POSTS_MAX; i++)
		l->posts[i].link = l;
	ev_timer_init(&l->retry, on_retry, l);
	ev_timer_init(&l->first_record, on_first_record, l);
	ev_timer_init(&l->ack_timer, on_ack_timer, l);
	l->short_polls = relaylink_test_short_polls();
	int ret = -ENOMEM;
	if (!(l->body = malloc(RELAY_POLL_BATCH_MAX)) || !(l->txq = malloc(TXQ_MAX)))
		goto fail;
	if ((ret = relaylink_auth(rl, "POST", "/v1/relay/poll", auth, sizeof(auth))) < 0 ||
	    (ret = relaylink_headers(rl, extra, sizeof(extra))) < 0)
		goto fail;
	relaylink_url(rl, "/v1/relay/poll", url, sizeof(url));
	/* A relay-only server's Roam-Ticket (only here: later requests show
	 * the session). */
	const char *headers[] = { auth, "Expect:", extra[0] ? extra : NULL, NULL };
	struct http_request_opts o = {
		.method = "POST",
		.url = url,
		.headers = headers,
		.body = "",
		.body_len = 0,
		.pinned_pubkey = relaylink_pin(rl),
		.server_auth_key = relaylink_server_auth(rl),
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

static bool poll_short_polls(const struct rl_link *l)
{
	return l->short_polls;
}

const struct rl_link_class rl_poll_class = {
	.open = poll_open,
	.short_polls = poll_short_polls,
	.send = poll_send,
	.flush = poll_flush,
	.close = poll_close,
};
