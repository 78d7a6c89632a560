/* Direct UDP on the tunnels' socket: datagrams collect in one batch that
 * leaves with sendmmsg; equal-size datagrams to one destination share a
 * slot and leave as one UDP GSO send. */
#include <string.h>

#include "daemon/roamd.h"
#include "daemon/transport/transport.h"

void roamd_dataplane_flush(struct roamd *d)
{
	struct udp_batch *tx = d->tx;
	dgram_pair_flush(&d->host.relay_pair);
	if (!tx || !tx->count)
		return;
	int sent = udp_send_batch(&d->udp, tx);
	if (sent < 0)
		sent = 0;
	for (int i = 0; i < sent; i++)
		if (tx->slots[i].err)
			d->stats.udp_send_errors++;
	/* A full socket buffer drops the rest, as WireGuard does. */
	d->stats.udp_send_errors += tx->count - (size_t)sent;
	tx->count = 0;
}

/* Datagrams of equal size to one destination share a slot: the kernel
 * then moves one large buffer through its stack instead of up to 64 small
 * ones. A relayed message carries the relay's header in front. */
static bool gso_append(struct roamd *d, const struct sockaddr_any *to, const uint8_t *hdr, size_t hdr_len,
		       const uint8_t *msg, size_t len)
{
	if (!d->udp.gso || !d->tx->count)
		return false;
	struct udp_slot *slot = &d->tx->slots[d->tx->count - 1];
	size_t seg = slot->segment_size ? slot->segment_size : slot->len;
	if (hdr_len + len != seg || slot->len + seg > slot->cap || slot->len / seg >= UDP_GSO_MAX_SEGMENTS ||
	    !sockaddr_any_equal(&slot->addr, to))
		return false;
	if (hdr_len) /* memcpy from NULL is undefined even for 0 bytes (UBSan) */
		memcpy(slot->buf + slot->len, hdr, hdr_len);
	memcpy(slot->buf + slot->len + hdr_len, msg, len);
	slot->len += seg;
	slot->segment_size = (uint16_t)seg;
	return true;
}

void roamd_udp_queue(struct roamd *d, const struct sockaddr_any *to, const uint8_t *hdr, size_t hdr_len,
		     const uint8_t *msg, size_t len)
{
	if (!d->tx) {
		d->stats.udp_send_errors++;
		return;
	}
	if (gso_append(d, to, hdr, hdr_len, msg, len))
		return;
	if (d->tx->count == UDP_BATCH_MAX)
		roamd_dataplane_flush(d);
	struct udp_slot *slot = &d->tx->slots[d->tx->count];
	if (hdr_len + len > slot->cap || hdr_len + len > UINT16_MAX) {
		d->stats.udp_send_errors++;
		return;
	}
	if (hdr_len)
		memcpy(slot->buf, hdr, hdr_len);
	memcpy(slot->buf + hdr_len, msg, len);
	slot->len = hdr_len + len;
	slot->segment_size = 0;
	slot->addr = *to;
	d->tx->count++;
}

void roamd_udp_transport_send(struct roamd *d, const struct endpoint *to, const uint8_t *msg, size_t len)
{
	struct sockaddr_any a;
	if (endpoint_to_sockaddr(to, &a) < 0) {
		d->stats.udp_send_errors++;
		return;
	}
	roamd_udp_queue(d, &a, NULL, 0, msg, len);
}
