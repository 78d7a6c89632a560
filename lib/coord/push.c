#include "coord/push.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coord/wire.h"
#include "crypto/crypto.h"

static const char push_label[] = "roam push data v1";

void coord_push_key(uint8_t out[COORD_KEY_LEN], const uint8_t k[COORD_KEY_LEN])
{
	hmac_blake2s(out, k, COORD_KEY_LEN, push_label, sizeof(push_label) - 1);
}

int coord_push_ack_build(uint8_t out[sizeof(struct coord_msg_push_ack)], const uint8_t k[COORD_KEY_LEN],
			 const struct coord_push_ack *a)
{
	struct coord_msg_push_ack m;
	size_t vlen = strnlen(a->view, sizeof(a->view));

	if (vlen >= sizeof(m.view))
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.type = COORD_MSG_PUSH_ACK;
	m.flags = a->flags;
	le32_put(m.node_id, a->node_id);
	le64_put(m.timestamp_ns, a->timestamp_ns);
	le64_put(m.stream_id, a->stream_id);
	le64_put(m.offset, a->offset);
	memcpy(m.view, a->view, vlen);
	blake2s_mac(m.mac, k, COORD_KEY_LEN, &m, offsetof(struct coord_msg_push_ack, mac));
	memcpy(out, &m, sizeof(m));
	return 0;
}

int coord_push_ack_peek(const uint8_t *buf, size_t len, uint32_t *node_id)
{
	if (len != sizeof(struct coord_msg_push_ack) || buf[0] != COORD_MSG_PUSH_ACK)
		return -EBADMSG;
	*node_id = le32_get(buf + offsetof(struct coord_msg_push_ack, node_id));
	return 0;
}

int coord_push_ack_parse(const uint8_t *buf, size_t len, const uint8_t k[COORD_KEY_LEN], struct coord_push_ack *out)
{
	const char *view = (const char *)buf + offsetof(struct coord_msg_push_ack, view);
	uint8_t mac[COORD_MAC_LEN];
	size_t vlen, i;

	if (len != sizeof(struct coord_msg_push_ack) || buf[0] != COORD_MSG_PUSH_ACK)
		return -EBADMSG;
	blake2s_mac(mac, k, COORD_KEY_LEN, buf, offsetof(struct coord_msg_push_ack, mac));
	if (!crypto_equal(mac, buf + offsetof(struct coord_msg_push_ack, mac), COORD_MAC_LEN))
		return -EKEYREJECTED;
	vlen = strnlen(view, COORD_PUSH_VIEW_LEN);
	if (vlen >= COORD_PUSH_VIEW_LEN)
		return -EBADMSG;
	for (i = 0; i < vlen; i++)
		if (view[i] <= ' ' || view[i] > '~')
			return -EBADMSG;
	for (i = vlen; i < COORD_PUSH_VIEW_LEN; i++) /* NUL-padded: one meaning per datagram */
		if (view[i])
			return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->flags = buf[offsetof(struct coord_msg_push_ack, flags)];
	out->node_id = le32_get(buf + offsetof(struct coord_msg_push_ack, node_id));
	out->timestamp_ns = le64_get(buf + offsetof(struct coord_msg_push_ack, timestamp_ns));
	out->stream_id = le64_get(buf + offsetof(struct coord_msg_push_ack, stream_id));
	out->offset = le64_get(buf + offsetof(struct coord_msg_push_ack, offset));
	memcpy(out->view, view, vlen);
	return 0;
}

int coord_push_data_build(uint8_t *out, const uint8_t push_key[COORD_KEY_LEN], const struct coord_push_data *d)
{
	struct coord_msg_push_data_header h;

	if (d->len > COORD_PUSH_CHUNK_MAX || (d->len && !d->data))
		return -EINVAL;
	memset(&h, 0, sizeof(h));
	h.type = COORD_MSG_PUSH_DATA;
	h.flags = d->flags;
	le32_put(h.node_id, d->node_id);
	le64_put(h.stream_id, d->stream_id);
	le64_put(h.opened_ts, d->opened_ts);
	le64_put(h.offset, d->offset);
	crypto_random(h.nonce, sizeof(h.nonce));
	memcpy(out, &h, sizeof(h));
	xaead_seal(out + sizeof(h), push_key, h.nonce, d->data, d->len, &h, sizeof(h));
	return (int)(sizeof(h) + d->len + COORD_MAC_LEN);
}

int coord_push_data_parse(const uint8_t *buf, size_t len, const uint8_t push_key[COORD_KEY_LEN], uint32_t node_id,
			  uint8_t plain[COORD_PUSH_CHUNK_MAX], struct coord_push_data *out)
{
	const size_t hlen = sizeof(struct coord_msg_push_data_header);
	const uint8_t *nonce = buf + offsetof(struct coord_msg_push_data_header, nonce);
	size_t n;

	if (len < hlen + COORD_MAC_LEN || len > COORD_PUSH_DATA_MAX || buf[0] != COORD_MSG_PUSH_DATA ||
	    le32_get(buf + offsetof(struct coord_msg_push_data_header, node_id)) != node_id)
		return -EBADMSG;
	n = len - hlen - COORD_MAC_LEN;
	if (xaead_open(plain, push_key, nonce, buf + hlen, n + COORD_MAC_LEN, buf, hlen) < 0)
		return -EKEYREJECTED;
	memset(out, 0, sizeof(*out));
	out->flags = buf[offsetof(struct coord_msg_push_data_header, flags)];
	out->node_id = node_id;
	out->stream_id = le64_get(buf + offsetof(struct coord_msg_push_data_header, stream_id));
	out->opened_ts = le64_get(buf + offsetof(struct coord_msg_push_data_header, opened_ts));
	out->offset = le64_get(buf + offsetof(struct coord_msg_push_data_header, offset));
	if (!out->stream_id || out->offset > UINT64_MAX - n)
		return -EBADMSG;
	out->data = plain;
	out->len = n;
	return 0;
}

/* ---- the server's side ---- */

void coord_push_tx_init(struct coord_push_tx *t, uint64_t stream_id, uint64_t opened_ts)
{
	memset(t, 0, sizeof(*t));
	t->stream_id = stream_id;
	t->opened_ts = opened_ts;
	t->rto_ns = COORD_PUSH_RTO_NS;
}

void coord_push_tx_free(struct coord_push_tx *t)
{
	free(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
}

int coord_push_tx_queue(struct coord_push_tx *t, const void *data, size_t len)
{
	if (t->ended)
		return -EPIPE;
	if (!len)
		return 0;
	if (len > COORD_PUSH_QUEUE_MAX - t->len)
		return -ENOBUFS;
	if (t->len + len > t->cap) {
		size_t cap = t->cap ? t->cap : 2048;
		uint8_t *nb;
		while (cap < t->len + len)
			cap *= 2;
		if (!(nb = realloc(t->buf, cap)))
			return -ENOMEM;
		t->buf = nb;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, data, len);
	t->len += len;
	return 0;
}

void coord_push_tx_end(struct coord_push_tx *t, bool too_big)
{
	t->ended = true;
	t->too_big = t->too_big || too_big;
}

int coord_push_tx_ack(struct coord_push_tx *t, uint64_t offset, uint64_t now_ns)
{
	uint64_t done;

	if (offset > t->acked + t->len)
		return -EINVAL;
	if (offset <= t->acked)
		return 0;
	done = offset - t->acked;
	memmove(t->buf, t->buf + done, t->len - done);
	t->len -= done;
	t->acked = offset;
	if (t->sent < offset) /* the node had them from before a go-back */
		t->sent = offset;
	t->retries = 0;
	t->rto_ns = COORD_PUSH_RTO_NS;
	t->due_ns = t->sent > t->acked ? now_ns + t->rto_ns : 0;
	if (!t->len && t->cap > 4096) { /* idle: give the memory back */
		coord_push_tx_free(t);
	}
	return 1;
}

static uint8_t end_flags(const struct coord_push_tx *t)
{
	return (uint8_t)(COORD_PUSH_DATA_END | (t->too_big ? COORD_PUSH_DATA_TOO_BIG : 0));
}

bool coord_push_tx_next(struct coord_push_tx *t, uint64_t now_ns, struct coord_push_data *out)
{
	uint64_t end = t->acked + t->len;

	if (t->due_ns && now_ns >= t->due_ns) { /* nothing came back: go back and send it all again */
		t->due_ns = 0;
		if (t->retries >= COORD_PUSH_RETRIES) {
			t->dead = true;
			return false;
		}
		t->retries++;
		t->rto_ns = t->rto_ns * 2 > COORD_PUSH_RTO_MAX_NS ? COORD_PUSH_RTO_MAX_NS : t->rto_ns * 2;
		t->sent = t->acked;
		t->end_sent = false;
	}
	if (t->dead)
		return false;
	memset(out, 0, sizeof(*out));
	out->stream_id = t->stream_id;
	out->opened_ts = t->opened_ts;
	if (t->sent < end && t->sent - t->acked < COORD_PUSH_INFLIGHT_MAX) {
		uint64_t n = end - t->sent, room = t->acked + COORD_PUSH_INFLIGHT_MAX - t->sent;
		if (n > COORD_PUSH_CHUNK_MAX)
			n = COORD_PUSH_CHUNK_MAX;
		if (n > room)
			n = room;
		out->offset = t->sent;
		out->data = t->buf + (t->sent - t->acked);
		out->len = (size_t)n;
		t->sent += n;
		if (t->ended && t->sent == end) {
			out->flags = end_flags(t);
			t->end_sent = true;
		}
		if (!t->due_ns)
			t->due_ns = now_ns + t->rto_ns;
		return true;
	}
	if (t->ended && !t->end_sent && t->sent == end) { /* an END with nothing before it to carry the flag */
		out->offset = end;
		out->flags = end_flags(t);
		t->end_sent = true;
		return true;
	}
	return false;
}

uint64_t coord_push_tx_deadline(const struct coord_push_tx *t, bool *dead)
{
	*dead = t->dead;
	if (t->dead)
		return 0;
	if (t->sent < t->acked + t->len && t->sent - t->acked < COORD_PUSH_INFLIGHT_MAX)
		return 1; /* new bytes fit the window: now */
	return t->due_ns;
}

void coord_push_tx_empty(const struct coord_push_tx *t, struct coord_push_data *out)
{
	memset(out, 0, sizeof(*out));
	out->stream_id = t->stream_id;
	out->opened_ts = t->opened_ts;
	out->offset = t->sent;
}

bool coord_push_tx_idle(const struct coord_push_tx *t)
{
	return t->len == 0 && (!t->ended || t->end_sent);
}

/* ---- the node's side ---- */

enum coord_push_rx_verdict coord_push_rx_accept(struct coord_push_rx *r, const struct coord_push_data *d,
						uint64_t newest_open_ts, size_t *skip)
{
	enum coord_push_rx_verdict v = COORD_PUSH_RX_BYTES;

	*skip = 0;
	if (d->stream_id != r->stream_id) {
		/* Only a stream opened by a PUSH_ACK of ours newer than the one
		 * that opened the stream we hold, from its first byte. */
		if (d->opened_ts <= r->opened_ts || d->opened_ts > newest_open_ts || d->offset != 0)
			return COORD_PUSH_RX_DROP;
		memset(r, 0, sizeof(*r));
		r->stream_id = d->stream_id;
		r->opened_ts = d->opened_ts;
		v = COORD_PUSH_RX_NEW;
	}
	if (d->offset > r->offset)
		return COORD_PUSH_RX_DROP; /* a gap: wait for the resend */
	if (d->offset + d->len < r->offset) {
		*skip = d->len; /* all old: nothing new, still worth an ack */
		return v;
	}
	*skip = (size_t)(r->offset - d->offset);
	r->offset = d->offset + d->len;
	if (d->flags & COORD_PUSH_DATA_END) {
		r->ended = true;
		r->too_big = (d->flags & COORD_PUSH_DATA_TOO_BIG) != 0;
	}
	return v;
}

#define PUSH_WAIT_FIRST_NS (1000 * UINT64_C(1000000))

static uint64_t push_wait_bound_ns(const struct coord_push_wait *w)
{
	return (uint64_t)(w->worked ? COORD_PUSH_BUSY_FALLBACK_S : COORD_PUSH_FALLBACK_S) * 1000000000u;
}

void coord_push_wait_start(struct coord_push_wait *w, uint64_t now_ns)
{
	if (w->since_ns)
		return;
	w->since_ns = now_ns ? now_ns : 1;
	w->step_ns = PUSH_WAIT_FIRST_NS;
	w->next_ns = now_ns + w->step_ns;
}

void coord_push_wait_cancel(struct coord_push_wait *w)
{
	w->since_ns = w->next_ns = 0;
}

void coord_push_wait_answered(struct coord_push_wait *w)
{
	coord_push_wait_cancel(w);
	w->worked = true;
}

void coord_push_wait_reset(struct coord_push_wait *w)
{
	w->worked = false;
}

enum coord_push_wait_act coord_push_wait_tick(struct coord_push_wait *w, uint64_t now_ns, uint32_t rnd)
{
	if (!w->since_ns)
		return COORD_PUSH_WAIT_NONE;
	if (now_ns - w->since_ns >= push_wait_bound_ns(w)) {
		coord_push_wait_cancel(w);
		return COORD_PUSH_WAIT_FALLBACK;
	}
	if (now_ns < w->next_ns)
		return COORD_PUSH_WAIT_NONE;
	/* Doubling, between 3/4 and 5/4 of the step: nodes that began to
	 * wait at the same moment (a server stalled for all of them) do not
	 * ask again in the same millisecond. */
	if (w->step_ns < (uint64_t)COORD_PUSH_ASK_MAX_S * 1000000000u)
		w->step_ns *= 2;
	if (w->step_ns > (uint64_t)COORD_PUSH_ASK_MAX_S * 1000000000u)
		w->step_ns = (uint64_t)COORD_PUSH_ASK_MAX_S * 1000000000u;
	w->next_ns = now_ns + w->step_ns / 4 * 3 + (uint64_t)rnd % (w->step_ns / 2 + 1);
	return COORD_PUSH_WAIT_ASK;
}

uint64_t coord_push_wait_due(const struct coord_push_wait *w)
{
	uint64_t end;

	if (!w->since_ns)
		return 0;
	end = w->since_ns + push_wait_bound_ns(w);
	return w->next_ns < end ? w->next_ns : end;
}
