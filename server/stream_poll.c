/* GET /v1/stream?poll=1&session=S&ack=N&wait=MS: the node stream as plain
 * replies (Content-Length), for paths that buffer responses (HTTP/1.0 and
 * buffering proxies), docs/control-protocol.md "Polling the stream".
 *
 * A poll session is the node's srv_stream with no reply of its own: what
 * stream_send writes is queued as numbered lines until the node
 * acknowledges them (the ack of its next poll), so a reply lost on the way
 * is sent again and nothing twice. A poll is answered at once when lines
 * wait, else held until one is queued or its wait ends (an empty reply:
 * the head alone). Caps per session: SERVER_STREAM_POLL_LINES_MAX lines and
 * SERVER_STREAM_POLL_BYTES_MAX bytes unacknowledged (beyond: the queue is
 * dropped for one "resync" line, and the node starts a new session, which
 * begins with the full state as a new stream does), one poll held (a new
 * one answers the old one first), and no poll for
 * SERVER_STREAM_POLL_IDLE_S ends the session. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/stream_poll.h"
#include "crypto/crypto.h"
#include "server/server.h"
#include "util/le.h"
#include "util/log.h"
#include "util/log_limit.h"

#define ENTRY_HDR 12 /* [seq le64][len le32], then the line with its "\n" */

struct stream_poll {
	char id[COORD_POLL_SESSION_TEXT + 1];
	struct evbuffer *queue; /* unacknowledged lines, in seq order */
	size_t lines;
	uint64_t next_seq; /* of the next line queued, from 1 */
	bool resync;       /* the queue overflowed: nothing more until a new session */
	struct evhttp_request *held;
	struct reply_auth ra; /* the held poll's proof (interception mode) */
	struct event *flush_ev, *wait_ev, *idle_ev;
};

struct poll_query {
	char session[COORD_POLL_SESSION_TEXT + 1]; /* "" for none: a new session */
	uint64_t ack;
	unsigned wait_ms;
};

/* Every reply of a poll is this one evhttp_send_reply, with its whole body:
 * not the end-of-reply race of chunked streams (http_stream_end), since
 * nothing was written on the connection since evhttp read the request (it
 * disables writing while it reads), so no write callback of an earlier
 * write can be pending to complete the reply early; the connection stays
 * alive for the node's next poll. */
static void poll_reply(struct evhttp_request *req, int code, const struct reply_auth *ra, struct evbuffer *b)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	size_t len = b ? evbuffer_get_length(b) : 0;
	const char *body = len ? (const char *)evbuffer_pullup(b, -1) : "";
	char mac[COORD_SERVER_AUTH_MAX];

	evhttp_add_header(h, "Content-Type", code == HTTP_OK ? "application/x-ndjson" : "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (ra && ra->on && body && reply_auth_value(mac, sizeof(mac), ra, code, body, len) == 0)
		evhttp_add_header(h, COORD_SERVER_AUTH_HEADER, mac);
	evhttp_send_reply(req, code, NULL, b);
}

/* The head, then the queued lines: the first whatever its size, more up to
 * COORD_POLL_REPLY_LINES_BYTES. They stay queued until acknowledged. */
static void poll_answer(struct srv_stream *st)
{
	struct stream_poll *p = st->poll;
	struct evhttp_request *req = p->held;
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	size_t total = evbuffer_get_length(p->queue), off = 0, sent = 0;
	const uint8_t *q = total ? evbuffer_pullup(p->queue, -1) : NULL;
	struct evbuffer *b = evbuffer_new();
	char head[128];
	uint64_t first = q ? le64_get(q) : p->next_seq;

	p->held = NULL;
	event_del(p->wait_ev);
	if (conn)
		evhttp_connection_set_closecb(conn, NULL, NULL);
	if (!b || coord_poll_head_build(head, sizeof(head), p->id, first) < 0 || evbuffer_add(b, head, strlen(head)) < 0)
		goto fail;
	while (q && off < total) {
		size_t len = le32_get(q + off + 8);
		if (sent && sent + len > COORD_POLL_REPLY_LINES_BYTES)
			break;
		if (evbuffer_add(b, q + off + ENTRY_HDR, len) < 0)
			goto fail;
		sent += len;
		off += ENTRY_HDR + len;
	}
	poll_reply(req, HTTP_OK, &p->ra, b);
	goto out;
fail:
	poll_reply(req, 500, &p->ra, NULL);
out:
	crypto_wipe(&p->ra, sizeof(p->ra));
	if (b)
		evbuffer_free(b);
	/* The node polls again at once: two missed polls, and it is gone. */
	struct timeval idle = { SERVER_STREAM_POLL_IDLE_S, 0 };
	event_add(p->idle_ev, &idle);
}

/* Lines were queued for a held poll, or its wait is over. */
static void poll_flush(evutil_socket_t fd, short what, void *arg)
{
	struct srv_stream *st = arg;

	(void)fd;
	(void)what;
	if (st->poll->held)
		poll_answer(st);
}

static void poll_idle(evutil_socket_t fd, short what, void *arg)
{
	struct srv_stream *st = arg;

	(void)fd;
	(void)what;
	log_limited(LOG_DEBUG, "stream poll session of node %u: no poll for %d s, ended", st->node->rec.id,
		    SERVER_STREAM_POLL_IDLE_S);
	stream_close(st);
}

/* The node's connection went away with our poll: evhttp detached the
 * request, ours to free. */
static void poll_held_closed(struct evhttp_connection *conn, void *arg)
{
	struct srv_stream *st = arg;
	struct stream_poll *p = st->poll;
	struct timeval idle = { SERVER_STREAM_POLL_IDLE_S, 0 };

	(void)conn;
	event_del(p->wait_ev);
	evhttp_send_reply_end(p->held);
	p->held = NULL;
	crypto_wipe(&p->ra, sizeof(p->ra));
	event_add(p->idle_ev, &idle);
}

/* line: len bytes, with its "\n" or (newline) without. */
static void poll_entry_add(struct stream_poll *p, const char *line, size_t len, bool newline)
{
	uint8_t hdr[ENTRY_HDR];

	le64_put(hdr, p->next_seq);
	le32_put(hdr + 8, (uint32_t)(len + newline));
	/* Room first, so that an entry is queued whole or not at all. */
	if (evbuffer_expand(p->queue, sizeof(hdr) + len + newline) < 0)
		return;
	evbuffer_add(p->queue, hdr, sizeof(hdr));
	evbuffer_add(p->queue, line, len);
	if (newline)
		evbuffer_add(p->queue, "\n", 1);
	p->lines++;
	p->next_seq++;
}

/* The lines cap; a test build takes ROAM_TEST_STREAM_POLL_LINES_MAX
 * (t_ctl_poll.sh: a resync without thousands of changes). */
static size_t poll_lines_max(void)
{
#ifdef ROAM_TEST_HOOKS
	const char *v = getenv("ROAM_TEST_STREAM_POLL_LINES_MAX");
	if (v && atoi(v) > 0)
		return (size_t)atoi(v);
#endif
	return SERVER_STREAM_POLL_LINES_MAX;
}

/* One stream_send: each "\n"-terminated line of text is a line of its own. */
int stream_poll_queue(struct srv_stream *st, const char *text, size_t len)
{
	struct stream_poll *p = st->poll;

	while (len && !p->resync) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) + 1 : len;
		if (n > UINT32_MAX - 1)
			return -EMSGSIZE;
		if (n == 1 && nl) { /* no empty lines on the wire: a node refuses them */
			text++, len--;
			continue;
		}
		if (p->lines && (p->lines >= poll_lines_max() ||
				 evbuffer_get_length(p->queue) + ENTRY_HDR + n > SERVER_STREAM_POLL_BYTES_MAX)) {
			/* A node that does not poll must not make us hold its
			 * lines without bound: it fetches the state anew. */
			log_limited(LOG_WARN, "stream poll session of node %u: %zu lines not acknowledged, resync",
				    st->node->rec.id, p->lines);
			evbuffer_drain(p->queue, evbuffer_get_length(p->queue));
			p->lines = 0;
			p->resync = true;
			poll_entry_add(p, COORD_LINE_RESYNC, strlen(COORD_LINE_RESYNC), false);
			break;
		}
		poll_entry_add(p, text, n, !nl); /* every line ends in "\n" on the wire */
		text += n;
		len -= n;
	}
	if (p->held) /* the lines of this loop turn go together */
		event_active(p->flush_ev, EV_TIMEOUT, 0);
	return 0;
}

/* Frees the lines the node has (seq <= ack). */
static void poll_ack(struct stream_poll *p, uint64_t ack)
{
	uint8_t hdr[ENTRY_HDR];

	while (p->lines && evbuffer_copyout(p->queue, hdr, sizeof(hdr)) == (ev_ssize_t)sizeof(hdr) &&
	       le64_get(hdr) <= ack) {
		evbuffer_drain(p->queue, sizeof(hdr) + le32_get(hdr + 8));
		p->lines--;
	}
}

void stream_poll_free(struct srv_stream *st)
{
	struct stream_poll *p = st->poll;

	if (!p)
		return;
	/* Ended (replaced, logout, removed): the held poll hears that at once,
	 * with nothing more; the next one finds out why. */
	if (p->held) {
		evbuffer_drain(p->queue, evbuffer_get_length(p->queue));
		p->lines = 0;
		poll_answer(st);
	}
	if (p->flush_ev)
		event_free(p->flush_ev);
	if (p->wait_ev)
		event_free(p->wait_ev);
	if (p->idle_ev)
		event_free(p->idle_ev);
	if (p->queue)
		evbuffer_free(p->queue);
	crypto_wipe(p, sizeof(*p));
	free(p);
	st->poll = NULL;
}

/* A new session, n's stream from now on, its queue holding the full state
 * (the relay map, self, the view, a ticket) as a new stream begins. */
static int poll_session_new(struct server *s, struct dir_node *n, struct srv_stream **out)
{
	struct srv_stream *st = calloc(1, sizeof(*st));
	struct stream_poll *p = calloc(1, sizeof(*p));
	uint8_t id[COORD_POLL_SESSION_LEN];

	if (!st || !p) {
		free(st);
		free(p);
		return -ENOMEM;
	}
	st->poll = p;
	p->queue = evbuffer_new();
	p->flush_ev = event_new(s->base, -1, 0, poll_flush, st);
	p->wait_ev = evtimer_new(s->base, poll_flush, st);
	p->idle_ev = evtimer_new(s->base, poll_idle, st);
	if (!p->queue || !p->flush_ev || !p->wait_ev || !p->idle_ev) {
		stream_poll_free(st);
		free(st);
		return -ENOMEM;
	}
	crypto_random(id, sizeof(id));
	coord_b64_encode(p->id, sizeof(p->id), id, sizeof(id), 1);
	p->next_seq = 1;
	stream_attach(s, n, st);
	relays_send_map(s, n); /* before the view: its ticket is for these relays */
	server_send_view(s, n);
	if (n->stream != st)
		return -EPIPE;
	*out = st;
	return 0;
}

static int poll_query_parse(struct evhttp_request *req, struct poll_query *q)
{
	const char *text = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq kv = { 0 };
	bool poll = false;
	int r = 0;

	memset(q, 0, sizeof(*q));
	q->wait_ms = COORD_POLL_WAIT_MS;
	if (!text || evhttp_parse_query_str(text, &kv) < 0)
		return -EINVAL;
	for (struct evkeyval *e = kv.tqh_first; e && !r; e = e->next.tqe_next) {
		char *end;
		unsigned long long v = 0;
		if (strcmp(e->key, "session") == 0) {
			if (strlen(e->value) != COORD_POLL_SESSION_TEXT)
				r = -EINVAL;
			else
				memcpy(q->session, e->value, sizeof(q->session));
			continue;
		}
		errno = 0;
		if (e->value[0] < '0' || e->value[0] > '9' || ((v = strtoull(e->value, &end, 10)), errno || *end))
			r = -EINVAL;
		else if (strcmp(e->key, "poll") == 0 && v == 1)
			poll = true;
		else if (strcmp(e->key, "ack") == 0)
			q->ack = v;
		else if (strcmp(e->key, "wait") == 0)
			q->wait_ms = v < COORD_POLL_WAIT_MS ? (unsigned)v : COORD_POLL_WAIT_MS;
		else
			r = -EINVAL;
	}
	evhttp_clear_headers(&kv);
	return r == 0 && !poll ? -EINVAL : r;
}

int stream_poll_request(struct server *s, struct dir_node *n, struct evhttp_request *req, const struct reply_auth *ra)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct srv_stream *st = n->stream;
	struct poll_query q;
	struct timeval wait;
	int r;

	if (poll_query_parse(req, &q) < 0) {
		struct evbuffer *b = evbuffer_new();
		if (b)
			evbuffer_add_printf(b, "{\"error\":\"malformed stream poll query\"}\n");
		poll_reply(req, 400, ra, b);
		if (b)
			evbuffer_free(b);
		return 0;
	}
	/* Another session (the server restarted, a resync, a stream meanwhile)
	 * or an ack beyond what was sent: a new session, from the full state. */
	if (!st || !st->poll || strcmp(st->poll->id, q.session) != 0 || q.ack >= st->poll->next_seq) {
		if ((r = poll_session_new(s, n, &st)) < 0)
			return r == -EPIPE ? -ENOTCONN : r;
		q.ack = 0;
	}
	struct stream_poll *p = st->poll;
	poll_ack(p, q.ack);
	event_del(p->idle_ev);
	if (p->held)
		poll_answer(st); /* one poll at a time: the older one gets what there is */
	event_del(p->idle_ev);
	p->held = req;
	if (ra && ra->on)
		p->ra = *ra;
	if (p->lines) {
		poll_answer(st);
		return 0;
	}
	if (conn)
		evhttp_connection_set_closecb(conn, poll_held_closed, st);
	wait = (struct timeval){ q.wait_ms / 1000, (q.wait_ms % 1000) * 1000 };
	event_add(p->wait_ev, &wait);
	return 0;
}
