/* Live updates for the console: GET /api/v1/stream, server-sent events.
 * Every event of the log (server/events/) goes to every stream as
 * "id: N / event: KIND / data: {json}"; every SSE_LOAD_S an "event: load"
 * (admin_load_json: the overview's live numbers) also keeps idle streams
 * (and proxies) open. Capped in number and in what each may
 * leave unread. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/admin/admin.h"
#include "server/server.h"
#include "util/log.h"
#include "util/log_limit.h"

#define SSE_LOAD_S 5

struct admin_sse {
	struct admin_http *ah;
	struct evhttp_request *rq;
	struct admin_sse *prev, *next;
};

static void sse_unlink(struct admin_sse *c)
{
	struct admin_http *ah = c->ah;

	if (c->prev)
		c->prev->next = c->next;
	else
		ah->sse = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ah->sse_count--;
}

static void sse_closed(struct evhttp_connection *conn, void *arg)
{
	struct admin_sse *c = arg;

	(void)conn;
	sse_unlink(c);
	evhttp_send_reply_end(c->rq); /* no connection: frees the request */
	free(c);
}

static void sse_end(struct admin_sse *c)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(c->rq);

	sse_unlink(c);
	if (conn)
		evhttp_connection_set_closecb(conn, NULL, NULL);
	http_stream_end(c->rq);
	free(c);
}

static void sse_send(struct admin_sse *c, const char *text, size_t len)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(c->rq);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	struct evbuffer *buf;

	if (!bev || evbuffer_get_length(bufferevent_get_output(bev)) > ADMIN_SSE_OUTPUT_MAX) {
		log_limited(LOG_WARN, "console: a live-update stream is not reading; closing it");
		sse_end(c);
		return;
	}
	if (!(buf = evbuffer_new()))
		return;
	evbuffer_add(buf, text, len);
	evhttp_send_reply_chunk(c->rq, buf);
	evbuffer_free(buf);
}

static void sse_broadcast(struct admin_http *ah, const char *text, size_t len)
{
	for (struct admin_sse *c = ah->sse, *next; c; c = next) {
		next = c->next; /* sse_send may end c */
		sse_send(c, text, len);
	}
}

void admin_sse_event(void *ctx, const struct store_event *ev)
{
	struct admin_http *ah = ctx;
	cJSON *o;
	char *json, *text;
	size_t size;

	if (!ah->sse || !(o = events_to_json(ev)))
		return;
	json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	size = json ? strlen(json) + 64 : 0;
	if (json && (text = malloc(size))) {
		/* kinds are ours (events.h): no newline can split the frame;
		 * JSON text has none either */
		int n = snprintf(text, size, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)ev->id, ev->kind, json);
		if (n > 0 && (size_t)n < size)
			sse_broadcast(ah, text, (size_t)n);
		free(text);
	}
	cJSON_free(json);
}

static void sse_ping(evutil_socket_t fd, short what, void *arg)
{
	struct admin_http *ah = arg;
	cJSON *o = admin_load_json(ah, (int64_t)time(NULL));
	char *json = o ? cJSON_PrintUnformatted(o) : NULL, *text = NULL;
	size_t size = json ? strlen(json) + 32 : 0;
	int n;

	(void)fd;
	(void)what;
	cJSON_Delete(o);
	if (json && (text = malloc(size)) && (n = snprintf(text, size, "event: load\ndata: %s\n\n", json)) > 0 &&
	    (size_t)n < size)
		sse_broadcast(ah, text, (size_t)n);
	else
		sse_broadcast(ah, ": ping\n\n", 8);
	free(text);
	cJSON_free(json);
}

void admin_sse_open(struct admin_req *r)
{
	struct admin_http *ah = r->ah;
	struct evhttp_connection *conn = evhttp_request_get_connection(r->rq);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->rq);
	struct timeval write_timeout = { ADMIN_TIMEOUT_S, 0 }, ping = { SSE_LOAD_S, 0 };
	struct admin_sse *c;

	if (ah->sse_count >= ADMIN_SSE_MAX) {
		admin_reply_error(r, 503, "too many live-update streams open");
		return;
	}
	if (!bev || !(c = calloc(1, sizeof(*c)))) {
		admin_reply_error(r, 500, "out of memory");
		return;
	}
	if (!ah->sse_ping_ev && (ah->sse_ping_ev = event_new(r->srv->base, -1, EV_PERSIST, sse_ping, ah)))
		event_add(ah->sse_ping_ev, &ping);
	c->ah = ah;
	c->rq = r->rq;
	c->next = ah->sse;
	if (ah->sse)
		ah->sse->prev = c;
	ah->sse = c;
	ah->sse_count++;
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_send_reply_start(r->rq, HTTP_OK, "OK");
	evhttp_connection_set_closecb(conn, sse_closed, c);
	/* The browser only listens: no read timeout; pings keep writes going. */
	bufferevent_set_timeouts(bev, NULL, &write_timeout);
	bufferevent_setwatermark(bev, EV_READ, 0, ADMIN_HEADERS_MAX);
	sse_send(c, "retry: 2000\n\n", 13);
}

void admin_sse_close_all(struct admin_http *ah)
{
	while (ah->sse)
		sse_end(ah->sse);
	if (ah->sse_ping_ev)
		event_free(ah->sse_ping_ev);
	ah->sse_ping_ev = NULL;
}
