/* GET /v1/stream: a chunked reply that stays open; one JSON line per chunk
 * (the poll session, stream_poll.c, and the push stream over UDP,
 * server/pushchan/, are the other kinds of struct srv_stream).
 * libevent keeps reading the connection while we write (close detection),
 * and calls the close callback when the node goes away; the request is then
 * ours to free (evhttp_send_reply_end on a request without connection).
 * Nothing reads what the node sends meanwhile: it is bounded by a read
 * watermark and discarded, so a node cannot make us buffer it. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/json.h"
#include "crypto/crypto.h"
#include "server/cluster/watch.h"
#include "server/files/cache.h"
#include "server/server.h"
#include "util/log.h"
#include "util/log_limit.h"

/* Whatever the node sent: thrown away. Draining below the read watermark
 * lets the bufferevent read again (and see the node's EOF). */
static void stream_drain_input(evutil_socket_t fd, short what, void *arg)
{
	struct srv_stream *st = arg;
	size_t len = evbuffer_get_length(st->input);

	(void)fd;
	(void)what;
	if (!len)
		return;
	evbuffer_drain(st->input, len);
	st->input_discarded += len;
	st->srv->stats.stream_input_discarded += len;
	log_limited(LOG_WARN, "stream of node %u: discarded %llu bytes the node sent", st->node ? st->node->rec.id : 0,
		    (unsigned long long)st->input_discarded);
}

/* Called as bytes arrive: defer the drain (a buffer must not be changed
 * from its own callback). */
static void stream_input_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct srv_stream *st = arg;

	(void)buf;
	if (info->n_added)
		event_active(st->drain_ev, EV_TIMEOUT, 0);
}

/* Before the connection (and its input buffer) can go away. */
static void stream_input_detach(struct srv_stream *st)
{
	if (st->input_cb)
		evbuffer_remove_cb_entry(st->input, st->input_cb);
	st->input_cb = NULL;
}

static void stream_free(struct srv_stream *st)
{
	if (st->drain_ev)
		event_free(st->drain_ev);
	crypto_wipe(&st->reply_auth, sizeof(st->reply_auth));
	free(st);
}

static void stream_unlink(struct srv_stream *st)
{
	struct server *s = st->srv;

	if (st->prev)
		st->prev->next = st->next;
	else
		s->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	s->streams_count--;
	if (st->node && st->node->stream == st)
		st->node->stream = NULL;
}

/* The node closed the connection (or it failed): libevent detached the
 * request from the connection before calling us. */
static void stream_conn_closed(struct evhttp_connection *conn, void *arg)
{
	struct srv_stream *st = arg;

	(void)conn;
	log_limited(LOG_DEBUG, "stream of node %u closed by peer", st->node ? st->node->rec.id : 0);
	stream_unlink(st);
	stream_input_detach(st);
	evhttp_send_reply_end(st->req); /* no connection: just frees the request */
	stream_free(st);
}

void stream_close(struct srv_stream *st)
{
	struct evhttp_connection *conn;

	stream_unlink(st);
	if (st->poll || st->push) {
		if (st->poll)
			stream_poll_free(st);
		else
			push_srv_stream_free(st);
		stream_free(st);
		return;
	}
	conn = evhttp_request_get_connection(st->req);
	if (conn) {
		evhttp_connection_set_closecb(conn, NULL, NULL);
		stream_input_detach(st);
	}
	http_stream_end(st->req); /* the connection ends with the stream: never kept idle */
	stream_free(st);
}

/* Each line, then its mac line (the node behind a TLS-intercepting proxy
 * drops the stream at the first line without one). */
static int stream_send_proved(struct srv_stream *st, const char *text, size_t len)
{
	char mac[COORD_MAC_LINE_MAX];

	while (len) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;

		if (reply_auth_line(&st->reply_auth, mac, sizeof(mac), text, n) < 0 ||
		    evbuffer_add(st->srv->scratch, text, n) < 0 || evbuffer_add(st->srv->scratch, "\n", 1) < 0 ||
		    evbuffer_add(st->srv->scratch, mac, strlen(mac)) < 0) {
			evbuffer_drain(st->srv->scratch, evbuffer_get_length(st->srv->scratch));
			return -ENOMEM;
		}
		text += nl ? n + 1 : n;
		len -= nl ? n + 1 : n;
	}
	evhttp_send_reply_chunk(st->req, st->srv->scratch);
	return 0;
}

int stream_send(struct srv_stream *st, const char *line, size_t len)
{
	struct evhttp_connection *conn;
	struct bufferevent *bev;

	if (st->poll)
		return stream_poll_queue(st, line, len);
	if (st->push)
		return push_srv_send(st, line, len);
	conn = evhttp_request_get_connection(st->req);
	bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	/* A node that does not read must not make us buffer without bound. */
	if (!bev || evbuffer_get_length(bufferevent_get_output(bev)) > SERVER_STREAM_OUTPUT_MAX) {
		log_limited(LOG_WARN, "stream of node %u: not reading, closing it", st->node ? st->node->rec.id : 0);
		stream_close(st);
		return -EPIPE;
	}
	if (st->reply_auth.on)
		return stream_send_proved(st, line, len);
	if (evbuffer_add(st->srv->scratch, line, len) < 0)
		return -ENOMEM;
	evhttp_send_reply_chunk(st->req, st->srv->scratch);
	return 0;
}

/* One stream per node: a reconnect (or a poll session) replaces a
 * half-dead old one. */
void stream_attach(struct server *s, struct dir_node *n, struct srv_stream *st)
{
	if (n->stream)
		stream_close(n->stream);
	st->srv = s;
	st->node = n;
	st->next = s->streams;
	if (s->streams)
		s->streams->prev = st;
	s->streams = st;
	s->streams_count++;
	n->stream = st;
}

/* GET /v1/stream?view=VERSION: the view version the node holds (a delta);
 * any other query is a poll (?poll=1...). The version is copied out: the
 * parsed query goes before the view is sent. */
static bool stream_query(struct evhttp_request *req, char *version, size_t size)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req)), *v;
	struct evkeyvalq kv;
	bool poll;

	version[0] = '\0';
	if (!q)
		return false;
	if (strncmp(q, "view=", 5) != 0)
		return true;
	if (evhttp_parse_query_str(q, &kv) < 0)
		return false; /* malformed: a plain stream, the full view */
	poll = evhttp_find_header(&kv, "poll") != NULL;
	if ((v = evhttp_find_header(&kv, "view")) && strlen(v) < size)
		strcpy(version, v);
	evhttp_clear_headers(&kv);
	return poll;
}

int stream_open(struct server *s, struct dir_node *n, struct evhttp_request *req, const struct reply_auth *ra)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	struct timeval write_timeout = { SERVER_HTTP_TIMEOUT_S, 0 };
	char version[COORD_VIEW_VERSION_MAX + 1];
	struct srv_stream *st;

	if (!bev)
		return -ENOTCONN;
	if (stream_query(req, version, sizeof(version)))
		return stream_poll_request(s, n, req, ra); /* ?poll=1 */
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->input = bufferevent_get_input(bev);
	st->drain_ev = event_new(s->base, -1, 0, stream_drain_input, st);
	st->input_cb = st->drain_ev ? evbuffer_add_cb(st->input, stream_input_added, st) : NULL;
	if (!st->input_cb) {
		stream_free(st);
		return -ENOMEM;
	}
	st->req = req;
	if (ra && ra->on)
		st->reply_auth = *ra;
	stream_attach(s, n, st);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/x-ndjson");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	evhttp_connection_set_closecb(conn, stream_conn_closed, st);
	/* The node only listens: no read timeout; pings keep writes flowing. */
	bufferevent_set_timeouts(bev, NULL, &write_timeout);
	bufferevent_setwatermark(bev, EV_READ, 0, SERVER_STREAM_INPUT_MAX);
	if (evbuffer_get_length(st->input))
		event_active(st->drain_ev, EV_TIMEOUT, 0);
	return stream_start(s, n, version);
}

int stream_start(struct server *s, struct dir_node *n, const char *version)
{
	relays_send_map(s, n); /* before the view: its ticket is for these relays */
	cluster_servers_send(s, n); /* where to go if we die (several servers) */
	int r = version[0] ? server_send_view_since(s, n, version) : server_send_view(s, n);
	fcache_stream_opened(s, n); /* files waiting: the node asks the cache now */
	return r;
}

/* Its datagrams have nowhere to go: the node opens another once bound. */
void stream_push_close_node(struct dir_node *n)
{
	if (n->stream && n->stream->push)
		stream_close(n->stream);
}

void stream_goodbye_all(struct server *s)
{
	uint64_t window_ms = (uint64_t)s->streams_count * SERVER_READMIT_US / 1000;
	struct srv_stream *st = s->streams, *next;

	if (window_ms < 1000)
		window_ms = 1000;
	if (window_ms > COORD_GOODBYE_MAX_MS)
		window_ms = COORD_GOODBYE_MAX_MS;
	for (; st; st = next) {
		uint32_t rnd;
		char *line;
		next = st->next; /* stream_send may close st */
		crypto_random(&rnd, sizeof(rnd));
		if ((line = coord_line_goodbye((uint32_t)(rnd % window_ms)))) {
			stream_send(st, line, strlen(line));
			free(line);
		}
	}
}

void stream_ping_all(struct server *s)
{
	struct srv_stream *st = s->streams, *next;

	for (; st; st = next) {
		next = st->next; /* stream_send may close st */
		/* A held poll ends after its wait: that is its ping; a push
		 * stream's is the answer to the node's KEEP. */
		if (!st->poll && !st->push)
			stream_send(st, COORD_LINE_PING, strlen(COORD_LINE_PING));
	}
}
