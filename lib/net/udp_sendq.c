/* udp.h's send queue: copy in, coalesce, sendmmsg out. */
#include <errno.h>
#include <string.h>

#include "net/udp.h"

/* The biggest UDP payload over IPv4, and so of a GSO message for either. */
#define UDP_SENDQ_MSG_MAX 65507

int udp_sendq_init(struct udp_sendq *q)
{
	memset(q, 0, sizeof(*q));
	q->gso_mtu = UDP_SENDQ_GSO_MTU;
	return udp_batch_new(UDP_GSO_SLOT_BYTES, &q->batch);
}

void udp_sendq_destroy(struct udp_sendq *q)
{
	udp_batch_free(q->batch);
	q->batch = NULL;
}

void udp_sendq_cork(struct udp_sendq *q)
{
	q->corked = true;
}

static size_t slot_datagrams(const struct udp_slot *slot)
{
	return slot->segment_size ? (slot->len + slot->segment_size - 1) / slot->segment_size : 1;
}

static int udp_sendq_flush(struct udp_socket *s, struct udp_sendq *q)
{
	struct udp_batch *b = q->batch;
	size_t dropped = 0;
	int n;

	if (!b->count)
		return 0;
	n = udp_send_batch(s, b);
	for (size_t i = 0; i < b->count; i++)
		if ((int)i >= n || b->slots[i].err)
			dropped += slot_datagrams(&b->slots[i]);
	b->count = 0;
	q->dropped += dropped;
	return n < 0 ? n : (int)dropped;
}

int udp_sendq_uncork(struct udp_socket *s, struct udp_sendq *q)
{
	q->corked = false;
	return udp_sendq_flush(s, q);
}

/* May len bytes for dst join the last slot as one more GSO segment? Equal
 * segments, only the last may be shorter (then the slot is closed). */
static bool udp_sendq_joins(const struct udp_socket *s, const struct udp_sendq *q, const struct udp_slot *last,
			    const struct sockaddr_any *dst, size_t len)
{
	size_t seg = last->segment_size ? last->segment_size : last->len;
	size_t hdr = dst->sa.sa_family == AF_INET ? 28 : 48;

	return s->gso && len <= seg && seg + hdr <= q->gso_mtu && last->len % seg == 0 &&
	       last->len + len <= UDP_SENDQ_MSG_MAX && slot_datagrams(last) < UDP_GSO_MAX_SEGMENTS &&
	       sockaddr_any_equal(&last->addr, dst);
}

int udp_sendq_send(struct udp_socket *s, struct udp_sendq *q, const struct sockaddr_any *dst, const void *buf,
		   size_t len)
{
	struct udp_batch *b = q->batch;
	struct udp_slot *slot;

	if (!q->corked)
		return udp_send(s, dst, buf, len);
	if (len > UDP_GSO_SLOT_BYTES)
		return -EMSGSIZE;
	if (b->count) {
		slot = &b->slots[b->count - 1];
		if (len && udp_sendq_joins(s, q, slot, dst, len)) {
			if (!slot->segment_size)
				slot->segment_size = (uint16_t)slot->len;
			memcpy(slot->buf + slot->len, buf, len);
			slot->len += len;
			return 0;
		}
	}
	if (b->count == UDP_BATCH_MAX)
		udp_sendq_flush(s, q);
	slot = &b->slots[b->count++];
	memcpy(slot->buf, buf, len);
	slot->len = len;
	slot->addr = *dst;
	slot->segment_size = 0;
	slot->err = 0;
	return 0;
}
