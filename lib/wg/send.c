/* Outgoing side of the engine: handshake initiation, transport encryption,
 * staging while no session exists, and key freshness (kernel send.c). */
#include <stdlib.h>
#include <string.h>

#include "wg/device_internal.h"

void wg_send_handshake_initiation(struct wg_peer *peer, uint64_t now, bool is_retry)
{
	struct wg_device *dev = peer->device;
	struct wg_msg_initiation msg;
	uint8_t timestamp[WG_TIMESTAMP_LEN];

	if (!is_retry)
		peer->handshake_attempts = 0;
	/* At most one initiation per REKEY_TIMEOUT, whatever asks for it. */
	if (peer->last_sent_handshake && now - peer->last_sent_handshake < dev->timing.rekey_timeout)
		return;
	if (!dev->identity.has_identity || !peer->has_endpoint)
		return;
	peer->last_sent_handshake = now;

	peer->handshake_index.kind = WG_INDEX_HANDSHAKE;
	peer->handshake_index.peer = peer;
	if (wg_index_insert(dev, &peer->handshake_index) < 0)
		return;
	noise_tai64n(timestamp, dev->ops.wall_clock_ns(dev->ctx));
	if (noise_create_initiation(&peer->handshake, &dev->identity, &msg, peer->handshake_index.index, timestamp,
				    (noise_random_fn)wg_random, dev) < 0) {
		wg_index_remove(dev, &peer->handshake_index);
		return;
	}
	cookie_add_macs(&peer->cookie, &msg, sizeof(msg), now);
	timers_any_authenticated_packet_traversal(peer, now);
	timers_any_authenticated_packet_sent(peer);
	wg_send_raw(peer, (const uint8_t *)&msg, sizeof(msg));
	timers_handshake_initiated(peer, now);
	wg_emit(dev, peer, WG_EVENT_HANDSHAKE_INITIATED);
	crypto_wipe(&msg, sizeof(msg));
}

/* Rekey before the session grows old (paper 6.2): by message count on
 * either side, by age only as the initiator so both do not race. */
static void keep_key_fresh_send(struct wg_peer *peer, uint64_t now)
{
	const struct wg_timing *t = &peer->device->timing;
	const struct wg_keypair *kp = peer->keypair_current;
	if (kp && (kp->send_counter > t->rekey_after_messages ||
		   (kp->is_initiator && now - kp->birth >= t->rekey_after_time)))
		wg_send_handshake_initiation(peer, now, false);
}

static size_t padded_length(size_t len, unsigned mtu)
{
	size_t padded = (len + WG_PADDING_MULTIPLE - 1) & ~(size_t)(WG_PADDING_MULTIPLE - 1);
	if (padded > mtu)
		padded = len > mtu ? len : mtu;
	return padded;
}

/* Encrypts the packet at buf + WG_HEADROOM in place and sends it. */
static void encrypt_and_send(struct wg_peer *peer, struct wg_keypair *kp, uint8_t *buf, size_t len, size_t cap,
			     uint64_t now)
{
	struct wg_msg_data_header *hdr = (struct wg_msg_data_header *)buf;
	size_t padded = padded_length(len, peer->device->mtu);
	uint8_t *payload = buf + WG_HEADROOM;

	if (WG_HEADROOM + padded + WG_TAG_LEN > cap) {
		peer->device->drops.malformed_inner++;
		return;
	}
	memset(payload + len, 0, padded - len);
	uint64_t counter = kp->send_counter++;
	if (aead_ctx_seal(&kp->send, counter, payload, padded, payload) < 0) {
		peer->drops++;
		return;
	}
	hdr->type = WG_MSG_DATA;
	memset(hdr->reserved, 0, sizeof(hdr->reserved));
	wg_le32_put(hdr->receiver_index, kp->remote_index);
	wg_le64_put(hdr->counter, counter);
	wg_send_raw(peer, buf, WG_HEADROOM + padded + WG_TAG_LEN);
	peer->tx_packets++;
	timers_any_authenticated_packet_traversal(peer, now);
	timers_any_authenticated_packet_sent(peer);
	if (len)
		timers_data_sent(peer, now);
}

static void stage_packet(struct wg_peer *peer, const uint8_t *pkt, size_t len)
{
	struct wg_staged_packet *sp = malloc(sizeof(*sp) + WG_HEADROOM + len + WG_TAILROOM);
	if (!sp) {
		peer->drops++;
		return;
	}
	sp->len = len;
	if (len)
		memcpy(sp->buf + WG_HEADROOM, pkt, len);
	if (peer->staged_len == WG_MAX_STAGED_PACKETS) {
		/* Full: the oldest packet is the least useful one. */
		free(peer->staged[peer->staged_head]);
		peer->staged_head = (peer->staged_head + 1) % WG_MAX_STAGED_PACKETS;
		peer->staged_len--;
		peer->drops++;
	}
	peer->staged[(peer->staged_head + peer->staged_len) % WG_MAX_STAGED_PACKETS] = sp;
	peer->staged_len++;
}

void wg_peer_clear_staged(struct wg_peer *peer)
{
	while (peer->staged_len) {
		free(peer->staged[peer->staged_head]);
		peer->staged_head = (peer->staged_head + 1) % WG_MAX_STAGED_PACKETS;
		peer->staged_len--;
	}
	peer->staged_head = 0;
}

void wg_send_staged(struct wg_peer *peer, uint64_t now)
{
	struct wg_keypair *kp = peer->keypair_current;
	if (!peer->staged_len)
		return;
	if (!wg_keypair_usable_for_send(peer->device, kp, now)) {
		wg_send_handshake_initiation(peer, now, false);
		return;
	}
	while (peer->staged_len) {
		struct wg_staged_packet *sp = peer->staged[peer->staged_head];
		peer->staged_head = (peer->staged_head + 1) % WG_MAX_STAGED_PACKETS;
		peer->staged_len--;
		encrypt_and_send(peer, kp, sp->buf, sp->len, WG_HEADROOM + sp->len + WG_TAILROOM, now);
		free(sp);
	}
	keep_key_fresh_send(peer, now);
}

void wg_send_keepalive(struct wg_peer *peer, uint64_t now)
{
	/* An empty packet takes the normal path, so with no session it
	 * triggers a handshake like data would. */
	if (!peer->staged_len)
		stage_packet(peer, NULL, 0);
	wg_send_staged(peer, now);
}

static int inner_destination(const uint8_t *pkt, size_t len, int *family, const uint8_t **dst)
{
	if (len >= 20 && (pkt[0] >> 4) == 4) {
		*family = AF_INET;
		*dst = pkt + 16;
		return 0;
	}
	if (len >= 40 && (pkt[0] >> 4) == 6) {
		*family = AF_INET6;
		*dst = pkt + 24;
		return 0;
	}
	return -1;
}

void wg_device_tun_input(struct wg_device *dev, uint8_t *buf, size_t len, size_t cap, uint64_t now)
{
	const uint8_t *pkt = buf + WG_HEADROOM, *dst;
	struct wg_peer *peer;
	int family;

	if (inner_destination(pkt, len, &family, &dst) < 0) {
		dev->drops.malformed_inner++;
		return;
	}
	peer = allowedips_lookup(&dev->allowedips, family, dst);
	if (!peer) {
		if (dev->ops.no_peer)
			dev->ops.no_peer(dev->ctx, family, dst, pkt, len);
		dev->drops.no_peer++;
		return;
	}
	/* Keep order: anything staged goes before this packet. */
	if (peer->staged_len || !wg_keypair_usable_for_send(dev, peer->keypair_current, now)) {
		stage_packet(peer, pkt, len);
		wg_send_staged(peer, now);
		return;
	}
	encrypt_and_send(peer, peer->keypair_current, buf, len, cap, now);
	keep_key_fresh_send(peer, now);
}
