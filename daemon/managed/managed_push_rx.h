/* The node's receiving side of the push channel (lib/coord/push.h), without
 * I/O or clock: the push key, the stream held, the line splitter the
 * stream's bytes go through (lines span datagrams), the PUSH_ACK
 * timestamps, and when an acknowledgement is owed. managed_push.c drives
 * it from the agent's loop; the unit test (test_managed_push_rx) from a
 * fake one. */
#ifndef ROAM_DAEMON_MANAGED_PUSH_RX_H
#define ROAM_DAEMON_MANAGED_PUSH_RX_H

#include <stdbool.h>
#include <stdint.h>

#include "coord/push.h"
#include "util/linebuf.h"

struct managed_push_rx {
	uint8_t k[COORD_KEY_LEN];   /* the control key K: PUSH_ACKs are mac'ed with it */
	uint8_t key[COORD_KEY_LEN]; /* coord_push_key(K), derived once per membership: PUSH_DATA */
	uint32_t node_id;
	struct coord_push_rx rx;
	struct linebuf lines;   /* the stream's partial line; capped as the HTTPS stream's */
	uint64_t last_ts;       /* the newest PUSH_ACK timestamp sent: no stream opened after it is real */
	bool ack_due;           /* bytes (new or a duplicate) taken since the last PUSH_ACK: one per batch */
	bool ack_now;           /* a gap at a new offset: acknowledge without waiting for the batch's end */
	uint64_t gap_acked;     /* the offset a gap was last acknowledged at at once (one per hole) */
};

/* What one datagram did (bits). */
enum {
	MANAGED_PUSH_IN_TAKEN = 1,     /* ours, in order (even if empty or a duplicate) */
	MANAGED_PUSH_IN_NEW = 2,       /* a new stream began (the splitter was reset) */
	MANAGED_PUSH_IN_END = 4,       /* the stream ended here */
	MANAGED_PUSH_IN_TOO_BIG = 8,   /* ... and what is owed does not fit: the HTTPS stream */
	MANAGED_PUSH_IN_GAP = 16,      /* beyond a gap: dropped, acknowledged at once */
	MANAGED_PUSH_IN_BROKEN = 32,   /* a line over the cap: the stream is useless */
	MANAGED_PUSH_IN_KEPT = 64,     /* taken, flagged KEPT: the server had our KEEP from the bound endpoint */
};

void managed_push_rx_init(struct managed_push_rx *p, const uint8_t k[COORD_KEY_LEN], uint32_t node_id);
void managed_push_rx_free(struct managed_push_rx *p);
/* Forgets the stream held (the next OPEN starts from nothing). */
void managed_push_rx_forget(struct managed_push_rx *p);
/* A PUSH_ACK into out: flags, the stream and offset held, view (may be
 * ""), the timestamp max(last + 1, wall_ns). Clears what was owed. */
int managed_push_rx_ack(struct managed_push_rx *p, uint8_t flags, const char *view, uint64_t wall_ns,
			uint8_t out[sizeof(struct coord_msg_push_ack)]);
/* A datagram from the server: the stream's new complete lines go to cb.
 * MANAGED_PUSH_IN_* bits, or -EBADMSG / -EKEYREJECTED (not ours). */
int managed_push_rx_input(struct managed_push_rx *p, const uint8_t *buf, size_t len, linebuf_line_cb cb, void *ctx);

#endif
