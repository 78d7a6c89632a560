/* Managed mode: the server's stream (docs/control-protocol.md, "The
 * stream", "Polling the stream"). One long GET /v1/stream whose lines
 * arrive as the server writes them. The server begins every stream at once
 * with the relay map and the view, so a stream without a line
 * FIRST_LINE_S after it was opened (headers or not) goes through something
 * that buffers responses (a proxy that buffers whole replies, an HTTP/1.0
 * one): from then on we poll, GET /v1/stream?poll=1, whose plain replies
 * carry numbered lines, each acknowledged by the next poll, so a reply lost
 * on the way comes again and nothing twice. Streaming is tried again after
 * STREAM_RETRY_MIN_S, doubling to STREAM_RETRY_MAX_S while the path still
 * buffers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/stream_poll.h"
#include "daemon/managed/managed.h"
#include "daemon/test_knob.h"
#include "util/log.h"

/* The server pings every COORD_STREAM_PING_S (and a held poll ends after
 * COORD_POLL_WAIT_MS); silence for two of them and some slack means the
 * connection is dead even if TCP has not noticed (a FIN sent to an address
 * we no longer have never arrives). */
#define STREAM_SILENCE_S (2 * COORD_STREAM_PING_S + 10)
#define FIRST_LINE_S 4
#define STREAM_RETRY_MIN_S 120
#define STREAM_RETRY_MAX_S 1800
#define POLL_TIMEOUT_MS (COORD_POLL_WAIT_MS + 10000)

static void stream_start(struct managed *m);
static void poll_start(struct managed *m);

/* The first wait before the stream is tried again; a test build takes
 * ROAMD_TEST_STREAM_RETRY_S (t_ctl_poll.sh). */
static unsigned stream_retry_min_s(void)
{
	return test_knob_s("ROAMD_TEST_STREAM_RETRY_S", 3600, STREAM_RETRY_MIN_S);
}

static int on_self(void *ctx, const struct coord_node *node, const struct sockaddr_any *public_endpoint, bool nat)
{
	struct managed *m = ctx;
	(void)public_endpoint, (void)nat; /* our BINDING_ACKs tell us first-hand */
	m->st.self = *node;
	return 0;
}

static int on_peers_begin(void *ctx, size_t count)
{
	(void)count;
	managed_view_begin(ctx);
	return 0;
}

static int on_peer(void *ctx, const struct coord_peer *peer, bool full_view)
{
	struct managed *m = ctx;
	bool is_new = !full_view && !managed_peer_held(m, peer->public_key);
	/* One peer we cannot take (out of memory) must not stop the stream. */
	if (managed_apply_peer(m, peer, full_view) < 0) {
		log_warn("cannot add peer %s", peer->name);
		return 0;
	}
	if (is_new) {
		m->ctl.line_new_peer = true;
		memcpy(m->ctl.line_peer, peer->public_key, COORD_KEY_LEN);
	}
	return 0;
}

static int on_peers_end(void *ctx)
{
	managed_view_end(ctx);
	return 0;
}

static int on_peer_removed(void *ctx, const uint8_t public_key[32])
{
	managed_remove_peer(ctx, public_key);
	return 0;
}

static int on_relays(void *ctx, const struct coord_relay_map *map)
{
	return managed_relays_map(ctx, map);
}

static int on_ticket(void *ctx, const uint8_t *t, size_t len, const struct ticket *parsed)
{
	return managed_relays_ticket(ctx, t, len, parsed);
}

/* A file or a receipt waits for us on the server: the file worker fetches it. */
static int on_files(void *ctx)
{
	struct managed *m = ctx;
	if (m->host->files_waiting)
		m->host->files_waiting(m->host_ctx);
	return 0;
}

/* Kept for the failover (managed_register.c), and saved with the
 * membership when it changed: a node restarted while its server is down
 * goes round the list at once instead of waiting for that one. */
static int on_servers(void *ctx, const struct coord_servers *list)
{
	struct managed *m = ctx;
	if (list->count != m->servers.count)
		log_info("the network has %zu server(s)", list->count);
	m->servers = *list;
	managed_push_servers(m);
	if (!m->switching && memcmp(&m->ms.servers, list, sizeof(*list)) != 0) {
		m->ms.servers = *list;
		managed_save(m);
	}
	return 0;
}

/* The view version we now hold: the next stream asks for what changed since. */
static int on_view(void *ctx, const char *version)
{
	struct managed *m = ctx;
	/* A peer line's own "view" field: a change of our view. */
	if (m->ctl.line_new_peer)
		m->ctl.line_new_peer = false;
	else
		m->ctl.settled = true; /* a "view" line */
	snprintf(m->ctl.view, sizeof(m->ctl.view), "%s", version);
	managed_push_view(m);
	return 0;
}

/* The server is going away (a restart) and says when to come back: its
 * nodes spread out instead of all returning at once. */
static int on_goodbye(void *ctx, uint32_t retry_after_ms)
{
	struct managed *m = ctx;
	m->ctl.goodbye_ms = retry_after_ms + 1;
	return 0;
}

static const struct coord_stream_handler stream_handler = {
	.self = on_self,
	.peers_begin = on_peers_begin,
	.peer = on_peer,
	.peers_end = on_peers_end,
	.peer_removed = on_peer_removed,
	.relays = on_relays,
	.ticket = on_ticket,
	.files = on_files,
	.servers = on_servers,
	.view = on_view,
	.goodbye = on_goodbye,
};

static bool connected(const struct managed *m)
{
	return m->st.state == MANAGED_CONNECTED || m->st.state == MANAGED_CONNECTING;
}

/* Several servers (their list has two or more): pinged every
 * COORD_SERVERS_PING_S, so a silence of 2.5 pings is a server gone
 * (lib/coord/servers.h). Polls keep the long wait (a held poll is slower). */
static uint64_t silence_ms(const struct managed *m)
{
	return m->servers.count >= 2 && !m->ctl.polling ? COORD_SERVERS_SILENCE_MS : STREAM_SILENCE_S * 1000;
}

static void watchdog_arm(struct managed *m)
{
	ev_timer_start(m->loop, &m->stream_watchdog, ev_now(m->loop) + silence_ms(m) * (EV_NSEC_PER_SEC / 1000));
}

/* The server's word (a line, or a poll's reply, even an empty one; or a
 * PUSH_DATA on the push channel, managed_push.c). */
void managed_stream_heard(struct managed *m)
{
	if (!m->stream_up) {
		m->stream_up = true;
		backoff_reset(&m->backoff);
		m->st.state = MANAGED_CONNECTED;
		m->st.error[0] = '\0';
		if (!managed_push_on(m))
			log_info("connected to the server's stream%s", m->ctl.polling ? " (polling)" : "");
		/* The server may have restarted, or replaced our stream: it
		 * forgot the peers it gave us on demand. */
		managed_ondemand_stream_new(m);
	}
}

static void heard(struct managed *m)
{
	managed_stream_heard(m);
	watchdog_arm(m);
}

void managed_stream_take_line(struct managed *m, const char *line, size_t len)
{
	m->ctl.line_new_peer = false;
	if (coord_stream_line_parse(line, len, &stream_handler, m) < 0)
		log_warn("ignoring a malformed stream line from the server");
	/* A new peer pushed without a view version once the view is settled:
	 * it asked the server for us (GET /v1/peer), and is held on demand. */
	if (m->ctl.line_new_peer && m->ctl.settled)
		managed_peer_mark_on_demand(m, m->ctl.line_peer);
	m->ctl.line_new_peer = false;
}

static void on_stream_line(void *ctx, const char *line, size_t len)
{
	struct managed *m = ctx;
	if (!m->ctl.got_line) {
		m->ctl.got_line = true;
		ev_timer_stop(m->loop, &m->ctl.first_line);
		ev_timer_stop(m->loop, &m->ctl.stream_retry);
		if (m->st.control_polling)
			log_info("the server's stream gets through again: polling no more");
		m->st.control_polling = 0;
		m->ctl.stream_retry_s = 0;
	}
	heard(m);
	managed_stream_take_line(m, line, len);
}

/* The stream or a poll failed: existing tunnels keep their last view; try
 * to come back. */
static void stream_lost(struct managed *m, int err, long status)
{
	m->stream_up = false;
	ev_timer_stop(m->loop, &m->stream_watchdog);
	ev_timer_stop(m->loop, &m->ctl.first_line);
	if (!connected(m))
		return;
	m->st.state = MANAGED_CONNECTING;
	if (status == 401 || status == 403) {
		/* Are we still a member? Registering again tells at once. */
		managed_register(m);
		return;
	}
	uint64_t wait_ms;
	if (m->ctl.goodbye_ms) { /* the server spread its goodbyes already */
		wait_ms = m->ctl.goodbye_ms - 1;
		m->ctl.goodbye_ms = 0;
		managed_retry_in(m, wait_ms);
	} else {
		wait_ms = managed_retry_later(m, managed_retry_hint(m, status));
	}
	const char *why = err ? managed_transport_error(m, err) : "closed by the server";
	snprintf(m->st.error, sizeof(m->st.error), "lost the server's stream (%s); reconnecting", why);
	log_warn("server stream closed (%s, HTTP %ld); reconnecting in %.1f s", why, status, wait_ms / 1000.0);
}

static void on_stream_done(void *ctx, int err, long status, const char *body, size_t len)
{
	struct managed *m = ctx;
	(void)body, (void)len;
	m->stream_req = NULL;
	if (status == 200 && !err && managed_push_tls_closed(m)) {
		/* The server gave our stream to the push channel (or it ended
		 * while the push channel opens: no answer there falls back). */
		managed_stream_tls_stop(m);
		return;
	}
	stream_lost(m, err, status);
}

/* No line FIRST_LINE_S into a stream: something between holds the reply
 * back. Polls from now on, the stream again later. */
static void on_first_line(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	if (!m->stream_req || m->ctl.polling || m->ctl.got_line)
		return;
	unsigned retry = m->ctl.stream_retry_s ? 2 * m->ctl.stream_retry_s : stream_retry_min_s();
	m->ctl.stream_retry_s = retry < STREAM_RETRY_MAX_S ? retry : STREAM_RETRY_MAX_S;
	log_info("no line %d s into the server's stream (a proxy buffers responses?): polling, the stream again in "
		 "%u s", FIRST_LINE_S, m->ctl.stream_retry_s);
	http_request_cancel(m->stream_req);
	m->stream_req = NULL;
	m->ctl.polling = true;
	m->st.control_polling = 1;
	ev_timer_start(loop, &m->ctl.stream_retry, ev_now(loop) + (uint64_t)m->ctl.stream_retry_s * EV_NSEC_PER_SEC);
	poll_start(m);
}

/* Time to see whether the stream gets through now (the node may have left
 * the proxy's network): the poll in flight gives way to it. */
static void on_stream_retry(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	(void)loop;
	if (!m->ctl.polling)
		return;
	m->ctl.polling = false;
	if (!m->stream_req)
		return; /* waiting to reconnect: that will stream */
	log_info("trying the server's stream again");
	http_request_cancel(m->stream_req);
	m->stream_req = NULL;
	stream_start(m);
}

static void stream_start(struct managed *m)
{
	struct http_request_opts o = { .method = "GET", .on_line = on_stream_line, .on_done = on_stream_done };
	char target[sizeof("/v1/stream?view=") + COORD_VIEW_VERSION_MAX];
	snprintf(target, sizeof(target), "/v1/stream%s%s", m->ctl.view[0] ? "?view=" : "", m->ctl.view);
	if (managed_request(m, &o, target, &m->stream_req) < 0) {
		managed_retry_later(m, 0);
		return;
	}
	m->ctl.got_line = false;
	m->ctl.settled = false; /* until its opening view's "view" line */
	watchdog_arm(m);
	ev_timer_start(m->loop, &m->ctl.first_line, ev_now(m->loop) + FIRST_LINE_S * EV_NSEC_PER_SEC);
}

/* --- polls -------------------------------------------------------------- */

static int on_poll_line(void *ctx, uint64_t seq, const char *line, size_t len)
{
	struct managed *m = ctx;
	if (seq <= m->ctl.have)
		return 0; /* sent again (our ack was lost): we have it */
	m->ctl.have = seq;
	log_debug("stream poll: line %llu of session %s", (unsigned long long)seq, m->ctl.session);
	if (len == strlen(COORD_LINE_RESYNC) - 1 && memcmp(line, COORD_LINE_RESYNC, len) == 0)
		m->ctl.resync = true;
	else if (!m->ctl.resync)
		managed_stream_take_line(m, line, len);
	return 0;
}

static void on_poll_done(void *ctx, int err, long status, const char *body, size_t len)
{
	struct managed *m = ctx;
	struct coord_poll_head head;
	m->stream_req = NULL;
	if (!connected(m))
		return;
	if (err || status != 200) {
		stream_lost(m, err, status);
		return;
	}
	if (coord_poll_reply_parse(body, len, &head, NULL, NULL) < 0) {
		log_warn("a malformed stream poll reply from the server");
		stream_lost(m, -EPROTO, status);
		return;
	}
	/* A new session (ours ended, the server restarted) starts over with
	 * the full state. */
	if (strcmp(head.session, m->ctl.session) != 0) {
		snprintf(m->ctl.session, sizeof(m->ctl.session), "%s", head.session);
		m->ctl.have = 0;
	}
	heard(m);
	m->ctl.resync = false;
	coord_poll_reply_parse(body, len, &head, on_poll_line, m);
	if (m->ctl.resync) {
		log_warn("the server dropped stream lines we had not taken: fetching the full state again");
		m->ctl.session[0] = '\0';
		m->ctl.have = 0;
	}
	if (!m->stream_req && m->ctl.polling && connected(m))
		poll_start(m);
}

static void poll_start(struct managed *m)
{
	char target[160];
	int n = snprintf(target, sizeof(target), "/v1/stream?poll=1&wait=%d", COORD_POLL_WAIT_MS);
	if (m->ctl.session[0])
		snprintf(target + n, sizeof(target) - (size_t)n, "&session=%s&ack=%llu", m->ctl.session,
			 (unsigned long long)m->ctl.have);
	else
		m->ctl.settled = false; /* a new session opens with a view */
	struct http_request_opts o = {
		.method = "GET",
		.timeout_ms = POLL_TIMEOUT_MS,
		.body_max = COORD_POLL_REPLY_MAX,
		.on_done = on_poll_done,
	};
	if (managed_request(m, &o, target, &m->stream_req) < 0) {
		managed_retry_later(m, 0);
		return;
	}
	watchdog_arm(m);
}

/* --- opening and closing ------------------------------------------------ */

void managed_stream_open(struct managed *m)
{
	if (managed_push_on(m))
		return; /* the push channel carries the stream */
	if (m->ctl.polling)
		poll_start(m);
	else
		stream_start(m);
}

/* The HTTPS stream (or poll) only: the push channel goes on. */
void managed_stream_tls_stop(struct managed *m)
{
	http_request_cancel(m->stream_req);
	m->stream_req = NULL;
	ev_timer_stop(m->loop, &m->stream_watchdog);
	ev_timer_stop(m->loop, &m->ctl.first_line);
}

void managed_stream_stop(struct managed *m)
{
	managed_stream_tls_stop(m);
	managed_push_stop(m);
	m->stream_up = false;
}

/* Drops the stream we have (dead, or bound to an old address) and opens a
 * new one; peers keep their last view meanwhile. */
void managed_stream_restart(struct managed *m, bool new_route)
{
	managed_stream_tls_stop(m);
	if (managed_push_on(m))
		return; /* the BINDING that goes with a new route checks the push channel */
	m->stream_up = false;
	if (new_route && m->ctl.polling) {
		log_info("a new route to the server: trying its stream again");
		m->ctl.polling = false;
		m->ctl.stream_retry_s = 0;
		ev_timer_stop(m->loop, &m->ctl.stream_retry);
	}
	if (connected(m)) {
		m->st.state = MANAGED_CONNECTING;
		managed_stream_open(m);
	}
}

static void on_stream_silent(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	(void)loop;
	log_warn("no word from the server for %.1f s: %s", (double)silence_ms(m) / 1000,
		 m->servers.count >= 2 && !m->ctl.polling ? "moving to another server" : "reconnecting the stream");
	if (m->servers.count >= 2 && !m->ctl.polling && managed_fail_over_silent(m))
		return;
	managed_stream_restart(m, false);
}

void managed_stream_init(struct managed *m)
{
	ev_timer_init(&m->stream_watchdog, on_stream_silent, m);
	ev_timer_init(&m->ctl.first_line, on_first_line, m);
	ev_timer_init(&m->ctl.stream_retry, on_stream_retry, m);
	managed_push_init(m);
}
