/* The push channel: the node's stream over its UDP socket (the formats and
 * limits in messages.h; docs/control-protocol.md, "Push channel"). No I/O
 * and no clock here: the codec, the server's sending side (struct
 * coord_push_tx: what is queued, sent, acknowledged, and when to send it
 * again) and the node's receiving side (struct coord_push_rx: which stream,
 * which bytes are new). Both are driven by the caller's clock, so the
 * tests run them on a fake one. */
#ifndef ROAM_COORD_PUSH_H
#define ROAM_COORD_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"

/* The key PUSH_DATA is sealed with, from the control key K. */
void coord_push_key(uint8_t out[COORD_KEY_LEN], const uint8_t k[COORD_KEY_LEN]);

struct coord_push_ack {
	uint8_t flags;
	uint32_t node_id;
	uint64_t timestamp_ns, stream_id, offset;
	char view[COORD_PUSH_VIEW_LEN]; /* NUL-terminated */
};

/* -EINVAL: a view version too long for the field. */
int coord_push_ack_build(uint8_t out[sizeof(struct coord_msg_push_ack)], const uint8_t k[COORD_KEY_LEN],
			 const struct coord_push_ack *a);
/* The node id of a datagram that looks like a PUSH_ACK: 0 or -EBADMSG. */
int coord_push_ack_peek(const uint8_t *buf, size_t len, uint32_t *node_id);
/* 0, -EBADMSG (size, type, a view not NUL-terminated or not printable),
 * -EKEYREJECTED (mac). */
int coord_push_ack_parse(const uint8_t *buf, size_t len, const uint8_t k[COORD_KEY_LEN], struct coord_push_ack *out);

struct coord_push_data {
	uint8_t flags;
	uint32_t node_id;
	uint64_t stream_id, opened_ts, offset;
	const uint8_t *data; /* into the caller's plaintext buffer */
	size_t len;
};

/* Seals d (d->len <= COORD_PUSH_CHUNK_MAX) into out (COORD_PUSH_DATA_MAX
 * bytes); returns the datagram's length or -EINVAL. */
int coord_push_data_build(uint8_t *out, const uint8_t push_key[COORD_KEY_LEN], const struct coord_push_data *d);
/* Opens a PUSH_DATA for node_id into plain (COORD_PUSH_CHUNK_MAX bytes);
 * out->data points into plain. 0, -EBADMSG (size, type, not ours),
 * -EKEYREJECTED (not sealed with our key). */
int coord_push_data_parse(const uint8_t *buf, size_t len, const uint8_t push_key[COORD_KEY_LEN], uint32_t node_id,
			  uint8_t plain[COORD_PUSH_CHUNK_MAX], struct coord_push_data *out);

/* The server's side of one stream. Bytes [acked, acked + len) are held in
 * buf; [acked, sent) went out and wait for an acknowledgement. */
struct coord_push_tx {
	uint64_t stream_id, opened_ts;
	uint64_t acked, sent;
	uint8_t *buf;
	size_t len, cap;
	uint64_t rto_ns, due_ns; /* due_ns: send [acked, sent) again then (0: nothing out) */
	unsigned retries;
	bool ended;    /* coord_push_tx_end: nothing more is queued */
	bool too_big;  /* with ended: TOO_BIG goes with the END */
	bool end_sent; /* the END flag went out (again after a go-back) */
	bool dead;     /* COORD_PUSH_RETRIES retransmissions unanswered */
};

void coord_push_tx_init(struct coord_push_tx *t, uint64_t stream_id, uint64_t opened_ts);
void coord_push_tx_free(struct coord_push_tx *t);
/* Queues bytes. -ENOBUFS: over COORD_PUSH_QUEUE_MAX (the caller ends the
 * stream with coord_push_tx_end(t, true)); -ENOMEM; -EPIPE after the end. */
int coord_push_tx_queue(struct coord_push_tx *t, const void *data, size_t len);
/* Nothing more is queued; the node is told the stream ends (too_big: it
 * is owed more than fits). */
void coord_push_tx_end(struct coord_push_tx *t, bool too_big);
/* The node holds offset bytes: 1 if that acknowledged something new, 0 if
 * not, -EINVAL for an offset never sent. */
int coord_push_tx_ack(struct coord_push_tx *t, uint64_t offset, uint64_t now_ns);
/* The next chunk to send at now_ns (new bytes within the window, or all
 * unacknowledged ones again when the timer is due): true and *out filled
 * (data points into t->buf, valid until the next call that changes t);
 * false: nothing to send now. Call until false. */
bool coord_push_tx_next(struct coord_push_tx *t, uint64_t now_ns, struct coord_push_data *out);
/* When coord_push_tx_next has something again without new input (0:
 * never); true in *dead when retransmissions went unanswered
 * COORD_PUSH_RETRIES times (the caller drops the stream). */
uint64_t coord_push_tx_deadline(const struct coord_push_tx *t, bool *dead);
/* An empty PUSH_DATA at the current offset (the answer to a KEEP). */
void coord_push_tx_empty(const struct coord_push_tx *t, struct coord_push_data *out);
/* Everything queued was acknowledged (an ended stream: it can go). */
bool coord_push_tx_idle(const struct coord_push_tx *t);

/* The node's side: the stream it holds and its bytes received in order. */
struct coord_push_rx {
	uint64_t stream_id, opened_ts, offset;
	bool ended, too_big;
};

enum coord_push_rx_verdict {
	COORD_PUSH_RX_DROP,   /* old, duplicate, beyond a gap, or a stream not newer than ours */
	COORD_PUSH_RX_BYTES,  /* data[skip .. len) are new bytes of our stream, in order */
	COORD_PUSH_RX_NEW,    /* a newer stream: the caller resets its line parser, then as BYTES */
};

/* newest_open_ts: the newest timestamp_ns the node sent in a PUSH_ACK (a
 * stream opened after it cannot be real). */
enum coord_push_rx_verdict coord_push_rx_accept(struct coord_push_rx *r, const struct coord_push_data *d,
						uint64_t newest_open_ts, size_t *skip);

/* A node's wait for the answer to its OPEN or KEEP (the fallback to the
 * HTTPS stream decided on the caller's clock): it asks again after 1 s,
 * doubling with jitter up to COORD_PUSH_ASK_MAX_S, and gives up after
 * COORD_PUSH_FALLBACK_S, or COORD_PUSH_BUSY_FALLBACK_S once the channel
 * has worked (messages.h says why). */
struct coord_push_wait {
	uint64_t since_ns; /* asking since (0: not waiting) */
	uint64_t next_ns;  /* ask again then */
	uint64_t step_ns;  /* the interval before next_ns, doubling */
	bool worked;       /* an answer came since the start or the last coord_push_wait_reset */
};

enum coord_push_wait_act {
	COORD_PUSH_WAIT_NONE,     /* nothing to do yet */
	COORD_PUSH_WAIT_ASK,      /* send the OPEN or KEEP (and its BINDING) again */
	COORD_PUSH_WAIT_FALLBACK, /* the HTTPS stream (the wait is over) */
};

/* A question went out at now_ns: the wait starts unless it runs already. */
void coord_push_wait_start(struct coord_push_wait *w, uint64_t now_ns);
/* No answer wanted any more (the stream went, another begins): no wait;
 * whether the channel has worked is kept. */
void coord_push_wait_cancel(struct coord_push_wait *w);
/* An authenticated answer: no wait, and the channel has worked. */
void coord_push_wait_answered(struct coord_push_wait *w);
/* The network changed: not worked yet (a wait running goes on, with the
 * shorter bound: UDP may not get through from here). */
void coord_push_wait_reset(struct coord_push_wait *w);
/* What to do at now_ns; rnd: a random number for the jitter. */
enum coord_push_wait_act coord_push_wait_tick(struct coord_push_wait *w, uint64_t now_ns, uint32_t rnd);
/* When coord_push_wait_tick has something to do (0: not waiting). */
uint64_t coord_push_wait_due(const struct coord_push_wait *w);

#endif
