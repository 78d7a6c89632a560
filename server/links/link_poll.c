/* The long-poll relay link (docs/control-protocol.md, "Relay links"):
 * POST /v1/relay/poll opens a session (Roam-Auth), then requests carry
 * Roam-Session. Downlink: GET /v1/relay/poll?ack=N&stream=0|1&wait=MS
 * answers records [seq le64][len le16][datagram] with seq > N; the node's
 * ack frees what it has. Uplink: POST /v1/relay/poll/send, a body of
 * records numbered by the node, each forwarded once (relay_seq_window).
 *
 * The downlink queue is one evbuffer of encoded records, in seq order, all
 * unacknowledged; a new GET re-sends all of it (resumption), a streaming
 * GET also gets each new record as it is queued. Caps per session:
 * RELAY_POLL_QUEUE_BYTES / RELAY_POLL_QUEUE_DGRAMS queued (the newest is
 * dropped beyond), one GET at a time (a new one ends the old), and the
 * session dies after the idle timeout without a request. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "crypto/crypto.h"
#include "server/links/links.h"
#include "server/server.h"
#include "util/le.h"

#define POLL_BUCKETS 4096 /* session hash chains (ids are random: no flooding) */
#define POLL_SESSION_B64_LEN 22
#define POLL_STREAM_MAX_WRITE (256 * 1024) /* bytes a write callback of a stream may hand to SSL_write */

struct poll_session {
	struct relay_link link; /* first */
	uint8_t id[RELAY_POLL_SESSION_LEN];
	struct poll_session *hnext;
	/* downlink */
	struct evbuffer *queue;
	size_t queued;         /* records in queue */
	uint64_t next_seq;     /* of the next datagram queued, from 1 */
	struct evhttp_request *get;
	bool get_stream;
	struct event *get_timer;
	struct evbuffer *pending; /* records for the stream, sent as one chunk at the end of the turn */
	struct event *flush_ev;
	/* uplink */
	struct relay_seq_window up;
};

struct poll_table {
	struct poll_session *buckets[POLL_BUCKETS];
};

static struct poll_session *poll_of(struct relay_link *l)
{
	return (struct poll_session *)(void *)l;
}

static size_t poll_bucket(const uint8_t id[RELAY_POLL_SESSION_LEN])
{
	return le32_get(id) % POLL_BUCKETS;
}

static struct poll_session *poll_lookup(struct server *s, struct evhttp_request *req)
{
	const char *text = evhttp_find_header(evhttp_request_get_input_headers(req), "Roam-Session");
	uint8_t id[RELAY_POLL_SESSION_LEN];

	if (!text || strlen(text) != POLL_SESSION_B64_LEN ||
	    coord_b64_decode(id, sizeof(id), text, POLL_SESSION_B64_LEN, 1) < 0)
		return NULL;
	for (struct poll_session *p = s->links.poll->buckets[poll_bucket(id)]; p; p = p->hnext) {
		if (crypto_equal(p->id, id, sizeof(id)))
			return p->link.dead ? NULL : p;
	}
	return NULL;
}

static void poll_reply_status(struct evhttp_request *req, int code, const char *json)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	if (b)
		evbuffer_add_printf(b, "%s\n", json);
	evhttp_send_reply(req, code, NULL, b);
	if (b)
		evbuffer_free(b);
}

/* A stream's new records leave as one chunk per loop turn (or per
 * POLL_CHUNK_MAX), not one per datagram: evhttp writes each chunk as its
 * own evbuffer chains, and bufferevent_openssl each chain as a TLS record
 * and a write(2). The records are in p->queue too: dropped here, they are
 * sent again on the next GET. */
#define POLL_CHUNK_MAX RELAY_POLL_BATCH_MAX
#define POLL_CHUNK_ALLOC (64 * 1024) /* one chain for a turn's records */

static void poll_flush(struct poll_session *p)
{
	size_t n = evbuffer_get_length(p->pending);

	if (n && p->get && p->get_stream)
		evhttp_send_reply_chunk(p->get, p->pending); /* moves the chains */
	evbuffer_drain(p->pending, evbuffer_get_length(p->pending));
}

static void poll_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	poll_flush(arg);
}

static void poll_stage_record(struct poll_session *p, uint64_t seq, const uint8_t *d, size_t len)
{
	uint8_t hdr[RELAY_POLL_REC_HDR_LEN];

	le64_put(hdr, seq);
	le16_put(hdr + 8, (uint16_t)len);
	if (!evbuffer_get_length(p->pending)) {
		evbuffer_expand(p->pending, POLL_CHUNK_ALLOC);
		event_active(p->flush_ev, EV_TIMEOUT, 0);
	}
	if (evbuffer_add(p->pending, hdr, sizeof(hdr)) < 0 || evbuffer_add(p->pending, d, len) < 0)
		return; /* lost, as a full socket would lose it; sent again on the next GET */
	if (evbuffer_get_length(p->pending) >= POLL_CHUNK_MAX)
		poll_flush(p);
}

static void poll_get_closed(struct evhttp_connection *conn, void *arg)
{
	struct poll_session *p = arg;

	(void)conn;
	evbuffer_drain(p->pending, evbuffer_get_length(p->pending));
	/* evhttp detached the request from the connection: ours to free. */
	event_del(p->get_timer);
	evhttp_send_reply_end(p->get);
	p->get = NULL;
}

/* Ends the GET in progress: a stream ends, a waiting one gets an empty body.
 * A stream whose records still wait in its connection's output is dropped
 * with its connection instead: a node that moved to a new GET without
 * reading the old one must not leave a backlog behind for every GET.
 * A stream ends with its connection (http_stream_end): its last chunk may
 * have left a write callback pending that would complete the reply before
 * the terminating chunk is written, and evhttp would keep the connection
 * with writing disabled (the race found on the node streams, issue 14);
 * the node's next GET opens a new one. A waiting GET's reply, and every
 * other reply here, is one evhttp_send_reply on a connection that wrote
 * nothing since the request was read (evhttp disables writing while it
 * reads): no callback of an earlier write can be pending, so it cannot race
 * and keeps the connection alive. */
static void poll_get_end(struct poll_session *p)
{
	struct evhttp_request *req = p->get;
	struct evhttp_connection *conn;
	struct bufferevent *bev;

	if (!req)
		return;
	poll_flush(p);
	p->get = NULL;
	event_del(p->get_timer);
	if ((conn = evhttp_request_get_connection(req)))
		evhttp_connection_set_closecb(conn, NULL, NULL);
	if (!p->get_stream) {
		evhttp_send_reply(req, HTTP_OK, "OK", NULL);
		return;
	}
	bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	if (bev && evbuffer_get_length(bufferevent_get_output(bev)) > RELAY_POLL_BATCH_MAX)
		evhttp_connection_free(conn); /* frees req too */
	else
		http_stream_end(req); /* chunks just written: never kept idle (server/http.c) */
}

static void poll_get_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	poll_get_end(arg);
}

/* The queue's first whole records up to RELAY_POLL_BATCH_MAX bytes. */
static size_t poll_batch_len(struct evbuffer *q)
{
	size_t total = evbuffer_get_length(q), off = 0;
	struct evbuffer_ptr pos;
	uint8_t hdr[RELAY_POLL_REC_HDR_LEN];

	while (off < total) {
		if (evbuffer_ptr_set(q, &pos, off, EVBUFFER_PTR_SET) < 0 ||
		    evbuffer_copyout_from(q, &pos, hdr, sizeof(hdr)) != (ev_ssize_t)sizeof(hdr))
			break;
		size_t rec = RELAY_POLL_REC_HDR_LEN + le16_get(hdr + 8);
		if (off + rec > RELAY_POLL_BATCH_MAX)
			break;
		off += rec;
	}
	return off;
}

/* A stream=0 GET: what is queued now (a batch), then it is over. */
static void poll_get_answer(struct poll_session *p, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();
	size_t n = poll_batch_len(p->queue);

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/octet-stream");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	if (b && n) {
		uint8_t *copy = evbuffer_pullup(p->queue, (ev_ssize_t)n);
		if (copy)
			evbuffer_add(b, copy, n);
	}
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	if (b)
		evbuffer_free(b);
}

static void poll_write_record(struct evhttp_request *req, uint64_t seq, const uint8_t *d, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	uint8_t hdr[RELAY_POLL_REC_HDR_LEN];

	if (!b)
		return;
	le64_put(hdr, seq);
	le16_put(hdr + 8, (uint16_t)len);
	evbuffer_add(b, hdr, sizeof(hdr));
	evbuffer_add(b, d, len);
	evhttp_send_reply_chunk(req, b);
	evbuffer_free(b);
}

static int poll_send(struct relay_link *l, const uint8_t *d, size_t len)
{
	struct poll_session *p = poll_of(l);
	struct server *s = l->srv;
	uint8_t hdr[RELAY_POLL_REC_HDR_LEN];

	if (l->dead)
		return -EPIPE;
	if (len == 0 || len > RELAY_LINK_DGRAM_MAX)
		return -EMSGSIZE;
	if (p->queued >= RELAY_POLL_QUEUE_DGRAMS ||
	    evbuffer_get_length(p->queue) + sizeof(hdr) + len > RELAY_POLL_QUEUE_BYTES) {
		s->links.st.poll_queue_full++;
		return -ENOBUFS;
	}
	le64_put(hdr, p->next_seq);
	le16_put(hdr + 8, (uint16_t)len);
	if (evbuffer_add(p->queue, hdr, sizeof(hdr)) < 0 || evbuffer_add(p->queue, d, len) < 0)
		return -ENOMEM;
	p->queued++;
	if (p->get && p->get_stream) {
		poll_stage_record(p, p->next_seq, d, len);
	} else if (p->get) {
		struct evhttp_request *req = p->get;
		struct evhttp_connection *conn = evhttp_request_get_connection(req);
		p->get = NULL;
		event_del(p->get_timer);
		if (conn)
			evhttp_connection_set_closecb(conn, NULL, NULL);
		poll_get_answer(p, req);
	}
	p->next_seq++;
	return 0;
}

static void poll_keepalive(struct relay_link *l)
{
	struct poll_session *p = poll_of(l);
	uint8_t k[RELAY_KEEPALIVE_LEN];

	if (!p->get || !p->get_stream)
		return;
	relay_keepalive_build(k);
	poll_write_record(p->get, 0, k, sizeof(k));
}

static void poll_destroy(struct relay_link *l)
{
	struct poll_session *p = poll_of(l);
	struct poll_session **pp = &l->srv->links.poll->buckets[poll_bucket(p->id)];

	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	poll_get_end(p);
	if (p->get_timer)
		event_free(p->get_timer);
	if (p->flush_ev)
		event_free(p->flush_ev);
	if (p->pending)
		evbuffer_free(p->pending);
	if (p->queue)
		evbuffer_free(p->queue);
	crypto_wipe(p->id, sizeof(p->id));
	free(p);
}

static const struct relay_link_ops poll_ops = { poll_send, poll_keepalive, poll_destroy };

int link_poll_open(struct server *s, struct dir_node *n, char *json, size_t size)
{
	struct poll_session *p = calloc(1, sizeof(*p));
	char id[POLL_SESSION_B64_LEN + 4];

	if (!p)
		return -ENOMEM;
	p->queue = evbuffer_new();
	p->pending = evbuffer_new();
	p->get_timer = evtimer_new(s->base, poll_get_timeout, p);
	p->flush_ev = event_new(s->base, -1, 0, poll_flush_cb, p);
	if (!p->queue || !p->pending || !p->get_timer || !p->flush_ev) {
		if (p->queue)
			evbuffer_free(p->queue);
		if (p->pending)
			evbuffer_free(p->pending);
		if (p->get_timer)
			event_free(p->get_timer);
		if (p->flush_ev)
			event_free(p->flush_ev);
		free(p);
		return -ENOMEM;
	}
	crypto_random(p->id, sizeof(p->id));
	p->next_seq = 1;
	coord_b64_encode(id, sizeof(id), p->id, sizeof(p->id), 1);
	snprintf(json, size, "{\"session\":\"%s\",\"keepalive_s\":%d,\"batch_max\":%d,\"wait_max_ms\":%d}", id,
		 RELAY_LINK_KEEPALIVE_S, RELAY_POLL_BATCH_MAX, RELAY_POLL_WAIT_MAX_MS);
	crypto_wipe(id, sizeof(id));
	size_t b = poll_bucket(p->id);
	p->hnext = s->links.poll->buckets[b];
	s->links.poll->buckets[b] = p;
	links_attach(s, &p->link, n, DIR_LINK_POLL, &poll_ops); /* replaces (and drops) the old session */
	return 0;
}

/* ack, stream and wait from the query (a send takes only ack: stream and
 * wait NULL); -EINVAL for anything else. */
static int poll_query(struct evhttp_request *req, uint64_t *ack, bool *stream, unsigned *wait_ms)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq kv = { 0 };
	struct evkeyval *e;
	int r = 0;

	*ack = 0;
	if (stream)
		*stream = false;
	if (wait_ms)
		*wait_ms = RELAY_POLL_WAIT_MAX_MS;
	if (!q)
		return 0;
	if (evhttp_parse_query_str(q, &kv) < 0)
		return -EINVAL;
	for (e = kv.tqh_first; e && !r; e = e->next.tqe_next) {
		char *end;
		unsigned long long v;
		if (e->value[0] < '0' || e->value[0] > '9') {
			r = -EINVAL;
			break;
		}
		errno = 0;
		v = strtoull(e->value, &end, 10);
		if (errno || *end)
			r = -EINVAL;
		else if (strcmp(e->key, "ack") == 0)
			*ack = v;
		else if (stream && strcmp(e->key, "stream") == 0 && v <= 1)
			*stream = v == 1;
		else if (wait_ms && strcmp(e->key, "wait") == 0)
			*wait_ms = v < RELAY_POLL_WAIT_MAX_MS ? (unsigned)v : RELAY_POLL_WAIT_MAX_MS;
		else
			r = -EINVAL;
	}
	evhttp_clear_headers(&kv);
	return r;
}

/* Frees the records the node has (seq <= ack). */
static void poll_ack(struct poll_session *p, uint64_t ack)
{
	uint8_t hdr[RELAY_POLL_REC_HDR_LEN];

	while (p->queued && evbuffer_copyout(p->queue, hdr, sizeof(hdr)) == (ev_ssize_t)sizeof(hdr) &&
	       le64_get(hdr) <= ack) {
		evbuffer_drain(p->queue, sizeof(hdr) + le16_get(hdr + 8));
		p->queued--;
	}
}

void link_poll_get(struct server *s, struct evhttp_request *req)
{
	struct poll_session *p = poll_lookup(s, req);
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	unsigned wait_ms;
	uint64_t ack;
	bool stream;

	if (!p) {
		s->links.st.poll_no_session++;
		poll_reply_status(req, 404, "{\"error\":\"unknown or expired relay session\"}");
		return;
	}
	if (poll_query(req, &ack, &stream, &wait_ms) < 0 || ack >= p->next_seq) {
		poll_reply_status(req, 400, "{\"error\":\"malformed relay poll query\"}");
		return;
	}
	http_conn_authenticated(s, req);
	p->link.last_rx = links_now();
	poll_ack(p, ack);
	poll_get_end(p); /* one GET at a time */
	if (!stream && p->queued) {
		poll_get_answer(p, req);
		return;
	}
	struct timeval tv = { wait_ms / 1000, (wait_ms % 1000) * 1000 };
	p->get = req;
	p->get_stream = stream;
	if (conn)
		evhttp_connection_set_closecb(conn, poll_get_closed, p);
	evtimer_add(p->get_timer, &tv);
	if (!stream)
		return;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/octet-stream");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	if (bev) /* default: 16 KiB a write callback */
		bufferevent_set_max_single_write(bev, POLL_STREAM_MAX_WRITE);
	/* A keepalive first, at once: a node that does not see it soon is
	 * behind a proxy that buffers responses, and asks for stream=0. */
	poll_keepalive(&p->link);
	/* Everything unacknowledged, again: the node drops what it has. */
	size_t n = evbuffer_get_length(p->queue);
	uint8_t *all = n ? evbuffer_pullup(p->queue, -1) : NULL;
	struct evbuffer *b = all ? evbuffer_new() : NULL;
	if (b && evbuffer_add(b, all, n) == 0)
		evhttp_send_reply_chunk(req, b);
	if (b)
		evbuffer_free(b);
}

static int poll_up_record(void *ctx, uint64_t seq, uint8_t *d, size_t len)
{
	struct poll_session *p = ctx;

	if (p->link.dead)
		return -EPIPE;
	if (!relay_seq_accept(&p->up, seq)) {
		p->link.srv->links.st.poll_dup++;
		return 0;
	}
	links_input(&p->link, d, len);
	return 0;
}

void link_poll_send(struct server *s, struct evhttp_request *req)
{
	struct poll_session *p = poll_lookup(s, req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	uint8_t *body;
	uint64_t ack;

	if (!p) {
		s->links.st.poll_no_session++;
		poll_reply_status(req, 404, "{\"error\":\"unknown or expired relay session\"}");
		return;
	}
	/* ?ack=N: a node holding a streaming GET open acknowledges here
	 * rather than with a new GET (an empty body is then fine). */
	if (poll_query(req, &ack, NULL, NULL) < 0 || ack >= p->next_seq) {
		poll_reply_status(req, 400, "{\"error\":\"malformed relay poll query\"}");
		return;
	}
	http_conn_authenticated(s, req);
	p->link.last_rx = links_now();
	/* Bounded by evhttp_set_max_body_size (COORD_BODY_MAX = RELAY_POLL_BATCH_MAX). */
	body = n ? evbuffer_pullup(in, -1) : NULL;
	if (n > RELAY_POLL_BATCH_MAX || (n && !body) || relay_poll_parse(body, n, poll_up_record, p) == -EPROTO) {
		s->links.st.poll_bad_batch++;
		poll_reply_status(req, 400, "{\"error\":\"malformed relay batch\"}");
		return;
	}
	poll_ack(p, ack);
	evhttp_send_reply(req, 204, "No Content", NULL);
}

int link_poll_init(struct server *s)
{
	s->links.poll = calloc(1, sizeof(*s->links.poll));
	return s->links.poll ? 0 : -ENOMEM;
}

void link_poll_free(struct server *s)
{
	free(s->links.poll);
	s->links.poll = NULL;
}
