/* Incoming side of the engine: every datagram is checked for its exact
 * length before a field is read, authenticated before it changes any state,
 * and its inner packet checked against cryptokey routing (kernel receive.c). */
#include <errno.h>
#include <string.h>

#include "wg/device_internal.h"

/* Roaming (paper 2.1): the endpoint is wherever the latest authenticated
 * packet came from. */
static void peer_update_endpoint(struct wg_peer *peer, const struct endpoint *src)
{
	struct wg_device *dev = peer->device;
	if (peer->has_endpoint && endpoint_equal(&peer->endpoint, src))
		return;
	if (dev->ops.endpoint_seen) {
		dev->ops.endpoint_seen(dev->ctx, peer, src);
		return;
	}
	peer->endpoint = *src;
	peer->has_endpoint = true;
	wg_emit(peer->device, peer, WG_EVENT_ENDPOINT_CHANGED);
}

static void report_reject(struct wg_device *dev, struct wg_peer *peer, const struct endpoint *src, enum wg_reject why)
{
	if (dev->ops.rejected)
		dev->ops.rejected(dev->ctx, peer, src, why);
}

/* Handshakes per second over a one-second window; above the threshold we
 * stay "under load" (and demand cookies) for another second. */
static bool device_under_load(struct wg_device *dev, uint64_t now)
{
	if (now - dev->load_window_start >= NS_PER_SEC) {
		dev->load_window_start = now;
		dev->load_count = 0;
	}
	if (++dev->load_count > dev->timing.handshake_load_threshold)
		dev->under_load_until = now + NS_PER_SEC;
	return now < dev->under_load_until;
}

/* mac1 always; under load also mac2, answering a cookie reply instead of
 * spending Diffie-Hellman work. Returns true if the message may proceed. */
static bool handshake_admit(struct wg_device *dev, const void *msg, size_t len, uint32_t sender_index,
			    const struct endpoint *src, uint64_t now)
{
	/* The cookie binds to the source's canonical bytes (for UDP, address
	 * and port; for a relay, the relayed node), as wireguard-go's
	 * DstToBytes: relayed peers do not share the relay's cookie. */
	const uint8_t *src_bytes = src->bytes;
	size_t src_len = src->len;
	bool load = device_under_load(dev, now);
	enum cookie_mac_state state = cookie_validate(&dev->cookie_checker, msg, len, src_bytes, src_len, load, now,
						      (noise_random_fn)wg_random, dev);
	if (state == COOKIE_MAC_INVALID) {
		dev->drops.bad_mac++;
		report_reject(dev, NULL, src, WG_REJECT_AUTH);
		return false;
	}
	if (load && state != COOKIE_MAC_VALID_MAC1_MAC2) {
		struct wg_msg_cookie reply;
		cookie_create_reply(&dev->cookie_checker, &reply, msg, len, sender_index, src_bytes, src_len, now,
				    (noise_random_fn)wg_random, dev);
		dev->ops.send(dev->ctx, NULL, src, (const uint8_t *)&reply, sizeof(reply));
		dev->drops.rate_limited++;
		wg_emit(dev, NULL, WG_EVENT_COOKIE_SENT);
		return false;
	}
	return true;
}

/* Both ends initiated at once (a pair that just learnt of each other, or
 * both sending their first packet): answering theirs would wipe our own
 * initiation, they would do the same, and both responses would then be
 * refused, leaving the pair silent until the retry after REKEY_TIMEOUT.
 * So the end with the larger public key keeps its own initiation and lets
 * the other answer it. Only a recent one of ours counts: one sent over a
 * fifth of REKEY_TIMEOUT ago was probably lost, and answering is better. */
static bool initiation_crossed(const struct wg_device *dev, const struct wg_peer *peer, uint64_t now)
{
	return peer->handshake.state == NOISE_HANDSHAKE_CREATED_INITIATION && peer->last_sent_handshake &&
	       now - peer->last_sent_handshake < dev->timing.rekey_timeout / 5 &&
	       memcmp(dev->identity.public_key, peer->public_key, WG_KEY_LEN) > 0;
}

static void keep_early(struct wg_device *dev, const uint8_t remote_static[WG_KEY_LEN],
		       const struct wg_msg_initiation *msg, const struct endpoint *src, uint64_t now)
{
	struct wg_early_initiation *e = &dev->early[dev->early_next++ % WG_EARLY_INITIATIONS];
	memcpy(e->remote_static, remote_static, WG_KEY_LEN);
	e->msg = *msg;
	e->src = *src;
	e->at = now ? now : 1;
}

static void handle_initiation(struct wg_device *dev, const struct wg_msg_initiation *msg,
			      const struct endpoint *src, uint64_t now)
{
	struct noise_initiation_partial partial;
	struct noise_session_keys keys;
	struct wg_msg_response resp;
	struct wg_keypair *kp;
	struct wg_peer *peer;
	int ret;

	if (!handshake_admit(dev, msg, sizeof(*msg), wg_le32_get(msg->sender_index), src, now))
		return;
	if (noise_consume_initiation_static(&dev->identity, msg, &partial) < 0) {
		dev->drops.handshake_rejected++;
		return;
	}
	peer = wg_peer_lookup(dev, partial.remote_static);
	if (!peer) {
		dev->drops.no_peer++;
		keep_early(dev, partial.remote_static, msg, src, now);
		if (dev->ops.unknown_initiator)
			dev->ops.unknown_initiator(dev->ctx, partial.remote_static);
		goto out;
	}
	if (initiation_crossed(dev, peer, now)) {
		dev->drops.simultaneous_initiation++;
		goto out;
	}
	ret = noise_consume_initiation_finish(&peer->handshake, &dev->identity, msg, &partial, now,
					      NS_PER_SEC / WG_INITIATIONS_PER_SECOND);
	if (ret < 0) {
		if (ret == -EBUSY)
			dev->drops.rate_limited++;
		else
			dev->drops.handshake_rejected++;
		goto out;
	}
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(peer, now);
	peer_update_endpoint(peer, src);

	peer->handshake_index.kind = WG_INDEX_HANDSHAKE;
	peer->handshake_index.peer = peer;
	if (wg_index_insert(dev, &peer->handshake_index) < 0 ||
	    noise_create_response(&peer->handshake, &resp, peer->handshake_index.index, (noise_random_fn)wg_random,
				  dev) < 0) {
		wg_index_remove(dev, &peer->handshake_index);
		noise_handshake_clear(&peer->handshake);
		goto out;
	}
	cookie_add_macs(&peer->cookie, &resp, sizeof(resp), now);
	if (noise_derive_session(&peer->handshake, &keys) < 0 || wg_keypair_create(peer, &keys, now, &kp) < 0) {
		wg_index_remove(dev, &peer->handshake_index);
		goto wipe;
	}
	wg_peer_install_keypair(peer, kp);
	timers_session_derived(peer, now);
	timers_any_authenticated_packet_traversal(peer, now);
	timers_any_authenticated_packet_sent(peer);
	wg_send_raw(peer, (const uint8_t *)&resp, sizeof(resp));
wipe:
	crypto_wipe(&keys, sizeof(keys));
out:
	crypto_wipe(&partial, sizeof(partial));
}

static void handle_response(struct wg_device *dev, const struct wg_msg_response *msg,
			    const struct endpoint *src, uint64_t now)
{
	struct noise_session_keys keys;
	struct wg_index_entry *e;
	struct wg_keypair *kp;
	struct wg_peer *peer;

	if (!handshake_admit(dev, msg, sizeof(*msg), wg_le32_get(msg->sender_index), src, now))
		return;
	e = wg_index_lookup(dev, wg_le32_get(msg->receiver_index));
	if (!e || e->kind != WG_INDEX_HANDSHAKE) {
		dev->drops.handshake_rejected++;
		return;
	}
	peer = e->peer;
	if (noise_consume_response(&peer->handshake, &dev->identity, msg) < 0) {
		dev->drops.handshake_rejected++;
		return;
	}
	if (noise_derive_session(&peer->handshake, &keys) < 0 || wg_keypair_create(peer, &keys, now, &kp) < 0) {
		wg_index_remove(dev, &peer->handshake_index);
		crypto_wipe(&keys, sizeof(keys));
		return;
	}
	crypto_wipe(&keys, sizeof(keys));
	wg_peer_install_keypair(peer, kp);
	peer_update_endpoint(peer, src);
	timers_session_derived(peer, now);
	timers_handshake_complete(peer);
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(peer, now);
	wg_emit(dev, peer, WG_EVENT_HANDSHAKE_COMPLETE);
	/* Staged data confirms the session; with none, a keepalive does. */
	wg_send_keepalive(peer, now);
}

static void handle_cookie(struct wg_device *dev, const struct wg_msg_cookie *msg, uint64_t now)
{
	struct wg_index_entry *e = wg_index_lookup(dev, wg_le32_get(msg->receiver_index));
	if (!e || cookie_consume_reply(&e->peer->cookie, msg, now) < 0) {
		dev->drops.handshake_rejected++;
		return;
	}
	wg_emit(dev, e->peer, WG_EVENT_COOKIE_RECEIVED);
}

/* A counter received before: with the redundant policy the peer sends
 * every packet on two paths and the slower copy ends here, which is no
 * attack; the same source again, or a copy long after, is a replay. */
static void data_repeated(struct wg_keypair *kp, uint64_t counter, enum replay_verdict verdict,
			  const struct endpoint *src, uint64_t now)
{
	struct wg_peer *peer = kp->peer;
	struct wg_device *dev = peer->device;
	const struct endpoint *first = NULL;
	uint64_t age = 0;
	bool duplicate = false;
	if (dev->ops.repeated && verdict == REPLAY_SEEN) {
		first = replay_origins_first(&kp->origins, counter, now, &age);
		duplicate = first && !endpoint_equal(first, src) && age <= WG_DUPLICATE_WINDOW_NS;
	}
	if (duplicate) {
		dev->drops.duplicate++;
	} else {
		dev->drops.replay++;
		peer->drops++;
	}
	if (dev->ops.repeated)
		dev->ops.repeated(dev->ctx, peer, src, first, duplicate);
}

/* Length of the real IP packet inside the padded plaintext, and its source. */
static int inner_source(const uint8_t *pkt, size_t len, size_t *real_len, int *family, const uint8_t **src)
{
	if (len >= 20 && (pkt[0] >> 4) == 4) {
		size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
		size_t total = (size_t)pkt[2] << 8 | pkt[3];
		if (ihl < 20 || total < ihl || total > len)
			return -1;
		*real_len = total;
		*family = AF_INET;
		*src = pkt + 12;
		return 0;
	}
	if (len >= 40 && (pkt[0] >> 4) == 6) {
		size_t total = 40 + ((size_t)pkt[4] << 8 | pkt[5]);
		if (total > len)
			return -1;
		*real_len = total;
		*family = AF_INET6;
		*src = pkt + 8;
		return 0;
	}
	return -1;
}

/* As the initiator, renew a session shortly before it would be rejected,
 * once, in case our own traffic did not trigger it (paper 6.2). */
static void keep_key_fresh_receive(struct wg_peer *peer, uint64_t now)
{
	const struct wg_timing *t = &peer->device->timing;
	const struct wg_keypair *kp = peer->keypair_current;
	if (!kp || !kp->is_initiator || peer->sent_lastminute_handshake)
		return;
	if (now - kp->birth >= t->reject_after_time - t->keepalive_timeout - t->rekey_timeout) {
		peer->sent_lastminute_handshake = true;
		wg_send_handshake_initiation(peer, now, false);
	}
}

static void handle_data(struct wg_device *dev, uint8_t *buf, size_t len, const struct endpoint *src,
			uint64_t now)
{
	const struct wg_msg_data_header *hdr = (const struct wg_msg_data_header *)buf;
	struct wg_index_entry *e = wg_index_lookup(dev, wg_le32_get(hdr->receiver_index));
	uint8_t *plain = buf + WG_DATA_HEADER_LEN;
	size_t plain_len = len - WG_DATA_MIN_LEN, real_len;
	const uint8_t *inner_src;
	struct wg_keypair *kp;
	struct wg_peer *peer;
	uint64_t counter;
	int family;

	if (!e || e->kind != WG_INDEX_KEYPAIR || wg_keypair_expired(dev, e->keypair, now)) {
		dev->drops.no_keypair++;
		report_reject(dev, NULL, src, WG_REJECT_UNKNOWN_INDEX);
		return;
	}
	kp = e->keypair;
	peer = kp->peer;
	counter = wg_le64_get(hdr->counter);
	if (aead_ctx_open(&kp->recv, counter, plain, len - WG_DATA_HEADER_LEN, plain) < 0) {
		dev->drops.decrypt++;
		report_reject(dev, peer, src, WG_REJECT_AUTH);
		return;
	}
	/* Only authenticated counters may move the replay window. */
	enum replay_verdict verdict = replay_check(&kp->replay, counter, dev->timing.reject_after_messages);
	if (verdict != REPLAY_NEW) {
		data_repeated(kp, counter, verdict, src, now);
		return;
	}
	if (dev->ops.repeated)
		replay_origins_note(&kp->origins, counter, src, now);
	if (wg_peer_confirm_keypair(peer, kp)) {
		timers_handshake_complete(peer);
		wg_emit(dev, peer, WG_EVENT_HANDSHAKE_COMPLETE);
		wg_send_staged(peer, now);
	}
	peer_update_endpoint(peer, src);
	peer->rx_bytes += len;
	peer->rx_packets++;
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(peer, now);
	keep_key_fresh_receive(peer, now);
	if (plain_len == 0)
		return; /* keepalive */
	timers_data_received(peer, now);

	if (inner_source(plain, plain_len, &real_len, &family, &inner_src) < 0) {
		dev->drops.malformed_inner++;
		peer->drops++;
		return;
	}
	if (allowedips_lookup(&dev->allowedips, family, inner_src) != peer) {
		dev->drops.allowed_ips++;
		peer->drops++;
		return;
	}
	dev->ops.deliver(dev->ctx, peer, plain, real_len);
}

void wg_device_udp_input(struct wg_device *dev, uint8_t *buf, size_t len, const struct endpoint *src,
			 uint64_t now)
{
	if (len < 4) {
		dev->drops.short_packet++;
		report_reject(dev, NULL, src, WG_REJECT_MALFORMED);
		return;
	}
	if (!dev->identity.has_identity) {
		dev->drops.no_peer++;
		return;
	}
	/* Type and the three reserved zero bytes, read as one word. */
	switch (wg_le32_get(buf)) {
	case WG_MSG_INITIATION:
		if (len != sizeof(struct wg_msg_initiation))
			break;
		handle_initiation(dev, (const struct wg_msg_initiation *)buf, src, now);
		return;
	case WG_MSG_RESPONSE:
		if (len != sizeof(struct wg_msg_response))
			break;
		handle_response(dev, (const struct wg_msg_response *)buf, src, now);
		return;
	case WG_MSG_COOKIE:
		if (len != sizeof(struct wg_msg_cookie))
			break;
		handle_cookie(dev, (const struct wg_msg_cookie *)buf, now);
		return;
	case WG_MSG_DATA:
		if (len < WG_DATA_MIN_LEN)
			break;
		handle_data(dev, buf, len, src, now);
		return;
	default:
		dev->drops.unknown_type++;
		report_reject(dev, NULL, src, WG_REJECT_MALFORMED);
		return;
	}
	dev->drops.bad_size++;
	report_reject(dev, NULL, src, WG_REJECT_MALFORMED);
}

/* How long an early initiation is worth answering: its sender retries
 * after REKEY_TIMEOUT anyway. */
void wg_peer_answer_early_initiation(struct wg_peer *peer, uint64_t now)
{
	struct wg_device *dev = peer->device;
	for (unsigned i = 0; i < WG_EARLY_INITIATIONS; i++) {
		struct wg_early_initiation *e = &dev->early[i];
		if (!e->at || memcmp(e->remote_static, peer->public_key, WG_KEY_LEN) != 0)
			continue;
		struct wg_early_initiation copy = *e;
		crypto_wipe(e, sizeof(*e));
		if (now - copy.at < dev->timing.rekey_timeout) {
			dev->drops.no_peer--; /* answered after all */
			handle_initiation(dev, &copy.msg, &copy.src, now);
		}
		crypto_wipe(&copy, sizeof(copy));
	}
}
