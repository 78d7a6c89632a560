#include "coord/relay_link.h"

#include <errno.h>
#include <string.h>

#include "util/le.h"

void relay_frame_reader_init(struct relay_frame_reader *r, uint8_t *buf)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
}

/* Copies what the current frame still needs from in; returns bytes taken.
 * Frames are copied even when whole in the input, so on_dgram may write
 * to them while the input stays const. */
static size_t frame_take(struct relay_frame_reader *r, const uint8_t *in, size_t n)
{
	size_t take;

	if (r->want == 0) {
		take = RELAY_FRAME_HDR_LEN - r->hdr_have;
		if (take > n)
			take = n;
		memcpy(r->hdr + r->hdr_have, in, take);
		r->hdr_have += take;
		if (r->hdr_have == RELAY_FRAME_HDR_LEN)
			r->want = le16_get(r->hdr);
		return take;
	}
	take = r->want - r->have;
	if (take > n)
		take = n;
	memcpy(r->buf + r->have, in, take);
	r->have += take;
	return take;
}

ssize_t relay_frame_feed(struct relay_frame_reader *r, const uint8_t *in, size_t n, relay_dgram_fn on_dgram,
			 void *ctx)
{
	size_t off = 0;

	while (off < n) {
		bool in_header = r->want == 0;

		off += frame_take(r, in + off, n - off);
		if (in_header) {
			if (r->hdr_have < RELAY_FRAME_HDR_LEN)
				break;
			if (relay_frame_len(r->hdr) < 0)
				return -EPROTO;
			continue;
		}
		if (r->have < r->want)
			break;
		size_t len = r->want;
		r->want = r->have = r->hdr_have = 0;
		int rc = on_dgram(ctx, r->buf, len);
		if (rc < 0)
			return rc;
	}
	return (ssize_t)n;
}

void relay_frame_header(uint8_t out[RELAY_FRAME_HDR_LEN], size_t len)
{
	le16_put(out, (uint16_t)len);
}

ssize_t relay_frame_len(const uint8_t hdr[RELAY_FRAME_HDR_LEN])
{
	size_t n = le16_get(hdr);

	return n ? (ssize_t)n : -EPROTO;
}

/* One pass over the records: with on_rec NULL it only validates. */
static int poll_walk(uint8_t *body, size_t n, relay_rec_fn on_rec, void *ctx)
{
	size_t off = 0;

	while (off < n) {
		if (n - off < RELAY_POLL_REC_HDR_LEN)
			return -EPROTO;
		uint64_t seq = le64_get(body + off);
		size_t len = le16_get(body + off + 8);
		off += RELAY_POLL_REC_HDR_LEN;
		if (len == 0 || len > n - off)
			return -EPROTO;
		if (on_rec) {
			int rc = on_rec(ctx, seq, body + off, len);
			if (rc < 0)
				return rc;
		}
		off += len;
	}
	return 0;
}

int relay_poll_parse(uint8_t *body, size_t n, relay_rec_fn on_rec, void *ctx)
{
	int rc = poll_walk(body, n, NULL, NULL);

	if (rc < 0)
		return rc;
	return poll_walk(body, n, on_rec, ctx);
}

size_t relay_poll_record_write(uint8_t *out, size_t cap, uint64_t seq, const uint8_t *d, size_t len)
{
	if (len == 0 || len > RELAY_LINK_DGRAM_MAX || cap < RELAY_POLL_REC_HDR_LEN ||
	    len > cap - RELAY_POLL_REC_HDR_LEN)
		return 0;
	le64_put(out, seq);
	le16_put(out + 8, (uint16_t)len);
	memmove(out + RELAY_POLL_REC_HDR_LEN, d, len);
	return RELAY_POLL_REC_HDR_LEN + len;
}

static bool seq_bit(const struct relay_seq_window *w, uint64_t seq)
{
	uint64_t i = seq % RELAY_SEQ_WINDOW;
	return (w->bits[i / 64] >> (i % 64)) & 1;
}

static void seq_set(struct relay_seq_window *w, uint64_t seq, bool on)
{
	uint64_t i = seq % RELAY_SEQ_WINDOW, m = UINT64_C(1) << (i % 64);
	w->bits[i / 64] = on ? w->bits[i / 64] | m : w->bits[i / 64] & ~m;
}

bool relay_seq_accept(struct relay_seq_window *w, uint64_t seq)
{
	if (seq == 0)
		return false;
	if (seq > w->top) {
		/* The slots between the old top and seq now stand for new seqs. */
		if (seq - w->top >= RELAY_SEQ_WINDOW)
			memset(w->bits, 0, sizeof(w->bits));
		else
			for (uint64_t s = w->top + 1; s < seq; s++)
				seq_set(w, s, false);
		w->top = seq;
		seq_set(w, seq, true);
		return true;
	}
	if (w->top - seq >= RELAY_SEQ_WINDOW || seq_bit(w, seq))
		return false;
	seq_set(w, seq, true);
	return true;
}

void relay_keepalive_build(uint8_t out[RELAY_KEEPALIVE_LEN])
{
	memset(out, 0, RELAY_KEEPALIVE_LEN);
	out[0] = COORD_MSG_RELAY_KEEPALIVE;
}

void relay_ping_build(uint8_t out[sizeof(struct relay_msg_ping)], uint8_t type, uint64_t echo)
{
	memset(out, 0, sizeof(struct relay_msg_ping));
	out[0] = type;
	le64_put(out + 4, echo);
}

int relay_ping_parse(const uint8_t *d, size_t len, uint8_t *type, uint64_t *echo)
{
	if (len != sizeof(struct relay_msg_ping) ||
	    (d[0] != COORD_MSG_RELAY_PING && d[0] != COORD_MSG_RELAY_PONG) || d[1] || d[2] || d[3])
		return -EBADMSG;
	*type = d[0];
	*echo = le64_get(d + 4);
	return 0;
}

bool relay_keepalive_is(const uint8_t *d, size_t len)
{
	return len == RELAY_KEEPALIVE_LEN && d[0] == COORD_MSG_RELAY_KEEPALIVE && !d[1] && !d[2] && !d[3];
}
