/* The server's side of the push channel (docs/control-protocol.md, "Push
 * channel"): the node's stream carried over its UDP socket as PUSH_DATA
 * datagrams, acknowledged by PUSH_ACKs. No sockets and no clock here: a
 * struct push_chan holds every push stream's retransmission deadline in one
 * min-heap (one timer for the server, never one per node), and its
 * callbacks send datagrams, attach a new stream to its node, close a stream
 * and re-arm the one timer. relay.c checks a PUSH_ACK (mac, freshness,
 * source) before push_chan_input sees it; server/pushchan/push_srv.c wires
 * this to the server (struct srv_stream, the UDP socket, libevent). */
#ifndef ROAM_SERVER_PUSH_CHAN_H
#define ROAM_SERVER_PUSH_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/push.h"
#include "net/addr.h"
#include "util/heap.h"

struct dir_node;
struct server_stats;

/* One node's push stream. */
struct push_stream {
	struct coord_push_tx tx;
	uint8_t key[COORD_KEY_LEN]; /* coord_push_key(n->k), derived once */
	struct dir_node *node;
	uint64_t sent_max;      /* the highest offset sent: below it, a chunk is a resend */
	uint64_t view_hash;     /* of the view version the OPEN asked for */
	bool kept;              /* a KEEP came: the next datagram sent says KEPT */
	struct heap_node timer; /* key: when it is due (queued bytes: now; else its resend) */
	void *owner;            /* the caller's (its struct srv_stream) */
};

struct push_stream_ops {
	int (*send)(void *ctx, const struct sockaddr_any *to, const uint8_t *buf, size_t len);
	/* OPEN: ps is n's new stream; the callee makes it n's (closing the old
	 * one) and queues what a stream begins with (the view since `view`).
	 * <0: ps was not taken (push_chan_input frees it). */
	int (*open)(void *ctx, struct dir_node *n, struct push_stream *ps, const char *view);
	/* ps is over (dead: retransmissions unanswered; or ended and all
	 * acknowledged): the callee closes it (push_stream_free). */
	void (*over)(void *ctx, struct push_stream *ps);
	/* The earliest deadline moved to due_ns (monotonic ns): call
	 * push_chan_run then. */
	void (*arm)(void *ctx, uint64_t due_ns);
};

struct push_chan {
	struct heap timers; /* every stream with a deadline */
	uint64_t armed_ns; /* what ops.arm was last told; 0: nothing */
	size_t queue_max;  /* bytes held per stream (COORD_PUSH_QUEUE_MAX; lower in tests) */
	struct push_stream_ops ops;
	void *ctx;
	struct server_stats *stats; /* push_* counters */
};

void push_chan_init(struct push_chan *pc, const struct push_stream_ops *ops, void *ctx, struct server_stats *stats);
void push_chan_free(struct push_chan *pc); /* the heap; its streams are their owners' */

/* A PUSH_ACK from n that relay.c accepted; cur: n's push stream (NULL: none,
 * or n streams over TLS or polls). All times monotonic ns. */
void push_chan_input(struct push_chan *pc, struct dir_node *n, struct push_stream *cur, const struct coord_push_ack *a,
		     uint64_t now_ns);

/* Stream bytes (whole lines): queued and sent as the window allows. Over the
 * queue cap the stream ends with TOO_BIG (-ENOBUFS); after its end, -EPIPE.
 * ops.over may have run (ps gone) when this returns <0. */
int push_stream_queue(struct push_chan *pc, struct push_stream *ps, const void *data, size_t len, uint64_t now_ns);
void push_stream_free(struct push_chan *pc, struct push_stream *ps); /* NULL ok */
/* The streams whose deadline came: resends, and dead ones closed. */
void push_chan_run(struct push_chan *pc, uint64_t now_ns);

#endif
