/* push_chan.h: the push streams, their one heap of deadlines, PUSH_ACK in.
 * Queued bytes are not sent at once: the stream is put due now and the
 * next push_chan_run (one timer, at the end of the loop turn) sends what
 * every stream gathered meanwhile, so a view of many short lines or a
 * change fanned out to 10 000 viewers leaves in full chunks. */
#include "server/pushchan/push_chan.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "server/directory.h"
#include "server/server.h"

void push_chan_init(struct push_chan *pc, const struct push_stream_ops *ops, void *ctx, struct server_stats *stats)
{
	memset(pc, 0, sizeof(*pc));
	pc->ops = *ops;
	pc->ctx = ctx;
	pc->stats = stats;
	pc->queue_max = COORD_PUSH_QUEUE_MAX;
	heap_init(&pc->timers);
}

void push_chan_free(struct push_chan *pc)
{
	heap_free(&pc->timers);
}

/* ---- the deadlines (one util/heap for every stream) ---- */

static struct push_stream *push_of(struct heap_node *t)
{
	return (struct push_stream *)(void *)((char *)t - offsetof(struct push_stream, timer));
}

/* Tells the caller's timer when the earliest deadline moved earlier. */
static void push_arm(struct push_chan *pc)
{
	const struct heap_node *top = heap_peek(&pc->timers);

	if (top && (!pc->armed_ns || top->key < pc->armed_ns)) {
		pc->armed_ns = top->key;
		pc->ops.arm(pc->ctx, top->key);
	}
}

/* due_ns 0: no deadline. */
static void push_due(struct push_chan *pc, struct push_stream *ps, uint64_t due_ns)
{
	if (!due_ns) {
		heap_remove(&pc->timers, &ps->timer);
		return;
	}
	if (heap_update(&pc->timers, &ps->timer, due_ns) < 0)
		return; /* no memory: the KEEP of the node brings it back */
	push_arm(pc);
}

/* ---- sending ---- */

static void push_send(struct push_chan *pc, struct push_stream *ps, const struct coord_push_data *d)
{
	uint8_t dg[COORD_PUSH_DATA_MAX];
	struct coord_push_data out = *d;
	int len;

	out.node_id = ps->node->rec.id;
	if (ps->kept) {
		out.flags |= COORD_PUSH_DATA_KEPT;
		ps->kept = false;
	}
	if ((len = coord_push_data_build(dg, ps->key, &out)) < 0)
		return;
	pc->stats->push_data++;
	if (d->len && d->offset < ps->sent_max)
		pc->stats->push_resent++;
	if (d->offset + d->len > ps->sent_max)
		ps->sent_max = d->offset + d->len;
	pc->ops.send(pc->ctx, &ps->node->public_ep, dg, (size_t)len);
}

/* Its next deadline in the heap, or its end: false when ops.over took it
 * (retransmissions unanswered, or ended and everything acknowledged). */
static bool push_settle(struct push_chan *pc, struct push_stream *ps, uint64_t now_ns)
{
	bool dead;
	uint64_t due = coord_push_tx_deadline(&ps->tx, &dead);

	if (dead || (ps->tx.ended && coord_push_tx_idle(&ps->tx) && ps->tx.sent == ps->tx.acked)) {
		pc->stats->push_dead += dead;
		heap_remove(&pc->timers, &ps->timer);
		pc->ops.over(pc->ctx, ps);
		return false;
	}
	/* 1: new bytes fit the window, sent at this turn's run */
	push_due(pc, ps, due == 1 ? now_ns : due);
	return true;
}

void push_chan_run(struct push_chan *pc, uint64_t now_ns)
{
	struct coord_push_data d;
	struct heap_node *top;

	pc->armed_ns = 0;
	while ((top = heap_peek(&pc->timers)) && top->key <= now_ns) {
		struct push_stream *ps = push_of(heap_pop(&pc->timers));
		while (coord_push_tx_next(&ps->tx, now_ns, &d))
			push_send(pc, ps, &d);
		push_settle(pc, ps, now_ns);
	}
	push_arm(pc);
}

int push_stream_queue(struct push_chan *pc, struct push_stream *ps, const void *data, size_t len, uint64_t now_ns)
{
	int r = ps->tx.ended ? -EPIPE : 0;

	/* The cap of this build (a test build may lower it), then the core's. */
	if (!r && len > pc->queue_max - (ps->tx.len < pc->queue_max ? ps->tx.len : pc->queue_max))
		r = -ENOBUFS;
	if (!r)
		r = coord_push_tx_queue(&ps->tx, data, len);
	if (r == -ENOBUFS) { /* owed more than fits: the node takes it over HTTPS */
		pc->stats->push_too_big++;
		coord_push_tx_end(&ps->tx, true);
	}
	if (r == -EPIPE)
		return r;
	push_due(pc, ps, now_ns);
	return r;
}

void push_stream_free(struct push_chan *pc, struct push_stream *ps)
{
	if (!ps)
		return;
	heap_remove(&pc->timers, &ps->timer);
	coord_push_tx_free(&ps->tx);
	crypto_wipe(ps->key, sizeof(ps->key));
	free(ps);
}

/* ---- PUSH_ACK ---- */

/* FNV-1a: which view version a stream began from (a resent OPEN asks the same). */
static uint64_t push_view_hash(const char *view)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *view; view++)
		h = (h ^ (uint8_t)*view) * UINT64_C(1099511628211);
	return h;
}

static void push_open(struct push_chan *pc, struct dir_node *n, const struct coord_push_ack *a)
{
	struct push_stream *ps = calloc(1, sizeof(*ps));
	uint64_t id = 0;

	if (!ps)
		return;
	while (!id || id == a->stream_id) /* never the one the node holds */
		crypto_random(&id, sizeof(id));
	coord_push_tx_init(&ps->tx, id, a->timestamp_ns);
	coord_push_key(ps->key, n->k);
	ps->node = n;
	ps->view_hash = push_view_hash(a->view);
	if (pc->ops.open(pc->ctx, n, ps, a->view) < 0) {
		push_stream_free(pc, ps);
		return;
	}
	pc->stats->push_streams++;
}

/* The node names a stream we do not hold (we restarted, or it ended): an
 * END at its offset, and it opens another. */
static void push_unknown(struct push_chan *pc, struct dir_node *n, const struct coord_push_ack *a)
{
	struct push_stream tmp = { .node = n };
	struct coord_push_data d = {
		.flags = COORD_PUSH_DATA_END, .stream_id = a->stream_id, .offset = a->offset,
	};

	if (!a->stream_id)
		return;
	coord_push_key(tmp.key, n->k);
	push_send(pc, &tmp, &d);
	crypto_wipe(tmp.key, sizeof(tmp.key));
}

void push_chan_input(struct push_chan *pc, struct dir_node *n, struct push_stream *cur, const struct coord_push_ack *a,
		     uint64_t now_ns)
{
	struct coord_push_data d;

	if ((a->flags & COORD_PUSH_ACK_OPEN) && cur && cur->tx.stream_id != a->stream_id && !cur->tx.acked &&
	    !cur->tx.ended && cur->view_hash == push_view_hash(a->view)) {
		/* The node asks again, for the same view, before anything of the
		 * stream we opened for it arrived (lost, or late, or not sent yet
		 * by a busy loop): that one from its start, not another (a new
		 * stream for each resent OPEN would never settle on a lossy or
		 * loaded path, and builds the view again each time: after a
		 * restart of 100 000 nodes, 344 211 streams). Counted as a
		 * resend once sent (not sent yet: it goes at this turn's run as
		 * it is, no retransmission counted against it). */
		if (cur->tx.sent)
			cur->tx.due_ns = now_ns;
		push_due(pc, cur, now_ns);
		return;
	}
	if ((a->flags & COORD_PUSH_ACK_OPEN) && (!cur || cur->tx.stream_id != a->stream_id)) {
		push_open(pc, n, a);
		return;
	}
	if (!cur || cur->tx.stream_id != a->stream_id) {
		push_unknown(pc, n, a);
		return;
	}
	if (coord_push_tx_ack(&cur->tx, a->offset, now_ns) < 0) {
		pc->stats->push_bad++;
		return;
	}
	if (!cur->tx.len) /* all acknowledged: 100 000 idle streams hold no buffer */
		coord_push_tx_free(&cur->tx);
	/* KEEP: an answer flagged KEPT, empty unless bytes go out at this
	 * turn's run (the first of them carries the flag). */
	if ((a->flags & COORD_PUSH_ACK_KEEP) && !cur->tx.dead) {
		bool dead;
		cur->kept = true;
		if (coord_push_tx_deadline(&cur->tx, &dead) != 1) {
			coord_push_tx_empty(&cur->tx, &d);
			if (cur->tx.ended && cur->tx.end_sent)
				d.flags = (uint8_t)(COORD_PUSH_DATA_END | (cur->tx.too_big ? COORD_PUSH_DATA_TOO_BIG : 0));
			push_send(pc, cur, &d);
		}
	}
	push_settle(pc, cur, now_ns);
}
