#include "daemon/managed/managed_push_rx.h"

#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"

void managed_push_rx_init(struct managed_push_rx *p, const uint8_t k[COORD_KEY_LEN], uint32_t node_id)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->k, k, sizeof(p->k));
	coord_push_key(p->key, k);
	p->node_id = node_id;
	linebuf_init(&p->lines, COORD_STREAM_LINE_MAX);
}

void managed_push_rx_free(struct managed_push_rx *p)
{
	linebuf_free(&p->lines);
	crypto_wipe(p->key, sizeof(p->key));
	crypto_wipe(p->k, sizeof(p->k));
}

void managed_push_rx_forget(struct managed_push_rx *p)
{
	/* opened_ts stays: a replay of the stream we dropped is still refused. */
	uint64_t opened = p->rx.opened_ts;
	memset(&p->rx, 0, sizeof(p->rx));
	p->rx.opened_ts = opened;
	linebuf_free(&p->lines);
	linebuf_init(&p->lines, COORD_STREAM_LINE_MAX);
	p->ack_due = p->ack_now = false;
}

int managed_push_rx_ack(struct managed_push_rx *p, uint8_t flags, const char *view, uint64_t wall_ns,
			uint8_t out[sizeof(struct coord_msg_push_ack)])
{
	struct coord_push_ack a = {
		.flags = flags,
		.node_id = p->node_id,
		.timestamp_ns = wall_ns > p->last_ts ? wall_ns : p->last_ts + 1,
		.stream_id = p->rx.stream_id,
		.offset = p->rx.offset,
	};
	if (strlen(view) >= sizeof(a.view))
		return -EINVAL;
	strcpy(a.view, view);
	int ret = coord_push_ack_build(out, p->k, &a);
	if (ret < 0)
		return ret;
	p->last_ts = a.timestamp_ns;
	p->ack_due = p->ack_now = false;
	return 0;
}

int managed_push_rx_input(struct managed_push_rx *p, const uint8_t *buf, size_t len, linebuf_line_cb cb, void *ctx)
{
	uint8_t plain[COORD_PUSH_CHUNK_MAX];
	struct coord_push_data d;
	size_t skip;
	int ret = coord_push_data_parse(buf, len, p->key, p->node_id, plain, &d);
	if (ret < 0)
		return ret;
	bool gap = d.stream_id == p->rx.stream_id && d.offset > p->rx.offset;
	enum coord_push_rx_verdict v = coord_push_rx_accept(&p->rx, &d, p->last_ts, &skip);
	ret = 0;
	if (v == COORD_PUSH_RX_DROP) {
		if (gap && p->rx.offset != p->gap_acked) {
			/* The server resends on its timer: tell it at once where we stand. */
			p->gap_acked = p->rx.offset;
			p->ack_now = true;
			ret = MANAGED_PUSH_IN_GAP;
		}
		crypto_wipe(plain, sizeof(plain));
		return ret;
	}
	ret = MANAGED_PUSH_IN_TAKEN | (d.flags & COORD_PUSH_DATA_KEPT ? MANAGED_PUSH_IN_KEPT : 0);
	/* An empty one (the answer to a KEEP) acknowledges nothing: no ack
	 * back, or every node would send one more datagram per BINDING. */
	if (d.len || (d.flags & COORD_PUSH_DATA_END))
		p->ack_due = true;
	if (v == COORD_PUSH_RX_NEW) {
		linebuf_free(&p->lines);
		linebuf_init(&p->lines, COORD_STREAM_LINE_MAX);
		p->gap_acked = 0;
		ret |= MANAGED_PUSH_IN_NEW;
	}
	if (skip < d.len && linebuf_feed(&p->lines, d.data + skip, d.len - skip, cb, ctx) < 0)
		ret |= MANAGED_PUSH_IN_BROKEN;
	if (p->rx.ended && (d.flags & COORD_PUSH_DATA_END))
		ret |= MANAGED_PUSH_IN_END | (p->rx.too_big ? MANAGED_PUSH_IN_TOO_BIG : 0);
	crypto_wipe(plain, sizeof(plain));
	return ret;
}
