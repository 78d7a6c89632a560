/* The push channel in roam-server: push_chan.c's streams as the third kind
 * of struct srv_stream (beside the TLS stream and the poll session), its
 * datagrams on the server's UDP socket, its one timer on the main loop. A
 * node on it holds no descriptor here: its stream is a struct srv_stream,
 * a struct push_stream and what is queued for it. */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <time.h>

#include "server/pushchan/push_chan.h"
#include "server/server.h"
#include "util/log.h"
#include "util/log_limit.h"

static uint64_t push_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Corked around a run: the datagrams of many streams leave with sendmmsg;
 * inside a receive batch (a PUSH_ACK's answer) the batch's cork holds. */
static int push_srv_udp_send(void *ctx, const struct sockaddr_any *to, const uint8_t *buf, size_t len)
{
	struct server *s = ctx;

	if (!to->len)
		return -ENOTCONN;
	return udp_sendq_send(&s->udp, &s->relay_tx, to, buf, len);
}

static int push_srv_stream_open(void *ctx, struct dir_node *n, struct push_stream *ps, const char *view)
{
	struct server *s = ctx;
	struct srv_stream *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->push = ps;
	ps->owner = st;
	stream_attach(s, n, st); /* closes a TLS stream, poll session or older push stream */
	stream_start(s, n, view);
	return 0;
}

static void push_srv_over(void *ctx, struct push_stream *ps)
{
	struct srv_stream *st = ps->owner;

	(void)ctx;
	log_limited(LOG_DEBUG, "push stream of node %u: %s", ps->node->rec.id,
		    ps->tx.dead ? "no acknowledgement, closed" : "ended");
	stream_close(st);
}

static void push_srv_arm(void *ctx, uint64_t due_ns)
{
	struct server *s = ctx;
	uint64_t now = push_mono_ns(), wait = due_ns > now ? due_ns - now : 0;
	struct timeval tv = { (time_t)(wait / 1000000000u), (suseconds_t)(wait % 1000000000u / 1000) };

	evtimer_add(s->push_ev, &tv);
}

static void push_srv_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	udp_sendq_cork(&s->relay_tx);
	push_chan_run(&s->push, push_mono_ns());
	udp_sendq_uncork(&s->udp, &s->relay_tx); /* a datagram the socket refused is resent on the timer */
}

/* The queue cap; a test build takes ROAM_SERVER_TEST_PUSH_QUEUE_MAX (bytes),
 * so that a lab test sees TOO_BIG with a small view. */
static size_t push_srv_queue_max(void)
{
#ifdef ROAM_TEST_HOOKS
	const char *v = getenv("ROAM_SERVER_TEST_PUSH_QUEUE_MAX");
	if (v && atoi(v) > 0 && atoi(v) < COORD_PUSH_QUEUE_MAX)
		return (size_t)atoi(v);
#endif
	return COORD_PUSH_QUEUE_MAX;
}

int push_srv_open(struct server *s)
{
	static const struct push_stream_ops ops = { push_srv_udp_send, push_srv_stream_open, push_srv_over,
						    push_srv_arm };

	push_chan_init(&s->push, &ops, s, &s->stats);
	s->push.queue_max = push_srv_queue_max();
	/* Sends and resends go out before the loop's other work (server.h). */
	if (!(s->push_ev = evtimer_new(s->base, push_srv_tick, s)) || event_priority_set(s->push_ev, SERVER_PRIO_UDP) < 0)
		return -ENOMEM;
	return 0;
}

void push_srv_close(struct server *s)
{
	if (s->push_ev)
		event_free(s->push_ev);
	s->push_ev = NULL;
	push_chan_free(&s->push);
}

/* relay.c checked it: mac, freshness, n's bound endpoint. */
void push_srv_ack(void *ctx, struct dir_node *n, const struct coord_push_ack *a)
{
	struct server *s = ctx;
	struct push_stream *cur = n->stream && n->stream->push ? n->stream->push : NULL;

	if (s->ro || !s->push_ev) /* a relay-only server holds no streams */
		return;
	if (s->stopping && (a->flags & COORD_PUSH_ACK_OPEN))
		return; /* no new stream on a server that said goodbye: the node comes back when told */
	push_chan_input(&s->push, n, cur, a, push_mono_ns());
}

int push_srv_send(struct srv_stream *st, const char *line, size_t len)
{
	return push_stream_queue(&st->srv->push, st->push, line, len, push_mono_ns());
}

void push_srv_stream_free(struct srv_stream *st)
{
	push_stream_free(&st->srv->push, st->push);
	st->push = NULL;
}
