/* All WireGuard timer policy (paper section 6, kernel timers.c), called
 * through hooks named after protocol events. Each peer keeps one deadline
 * per timer and sits once in the device heap, keyed by its earliest one. */
#include <stdint.h>

#include "wg/device_internal.h"

static void peer_reschedule(struct wg_peer *peer)
{
	uint64_t earliest = UINT64_MAX;
	for (int i = 0; i < WG_TIMER_COUNT; i++)
		if (peer->timer_deadline[i] && peer->timer_deadline[i] < earliest)
			earliest = peer->timer_deadline[i];
	if (earliest == UINT64_MAX)
		heap_remove(&peer->device->timers, &peer->timer_node);
	else
		/* Cannot fail: wg_peer_add reserved a heap slot for every peer. */
		(void)heap_update(&peer->device->timers, &peer->timer_node, earliest);
}

static void timer_arm(struct wg_peer *peer, enum wg_peer_timer t, uint64_t deadline)
{
	peer->timer_deadline[t] = deadline ? deadline : 1;
	peer_reschedule(peer);
}

static void timer_disarm(struct wg_peer *peer, enum wg_peer_timer t)
{
	if (!peer->timer_deadline[t])
		return;
	peer->timer_deadline[t] = 0;
	peer_reschedule(peer);
}

static bool timer_pending(const struct wg_peer *peer, enum wg_peer_timer t)
{
	return peer->timer_deadline[t] != 0;
}

static uint64_t jitter(struct wg_device *dev)
{
	uint32_t r;
	wg_random(dev, &r, sizeof(r));
	return (uint64_t)(r % WG_REKEY_TIMEOUT_JITTER_MAX_MS) * NS_PER_MS;
}

/* Should a handshake be retried once more, or given up on? */
static void expired_retransmit_handshake(struct wg_peer *peer, uint64_t now)
{
	const struct wg_timing *t = &peer->device->timing;
	unsigned max_attempts = (unsigned)(t->rekey_attempt_time / t->rekey_timeout);

	if (peer->handshake_attempts > max_attempts) {
		wg_emit(peer->device, peer, WG_EVENT_HANDSHAKE_GAVE_UP);
		timer_disarm(peer, WG_TIMER_SEND_KEEPALIVE);
		wg_peer_clear_staged(peer);
		/* Nothing will rekey now; wipe keys unless already scheduled. */
		if (!timer_pending(peer, WG_TIMER_ZERO_KEY_MATERIAL))
			timer_arm(peer, WG_TIMER_ZERO_KEY_MATERIAL, now + 3 * t->reject_after_time);
		return;
	}
	peer->handshake_attempts++;
	wg_send_handshake_initiation(peer, now, true);
}

static void expired_send_keepalive(struct wg_peer *peer, uint64_t now)
{
	wg_send_keepalive(peer, now);
	if (peer->need_another_keepalive) {
		peer->need_another_keepalive = false;
		timer_arm(peer, WG_TIMER_SEND_KEEPALIVE, now + peer->device->timing.keepalive_timeout);
	}
}

/* We sent data and heard nothing back for KEEPALIVE + REKEY_TIMEOUT. */
static void expired_new_handshake(struct wg_peer *peer, uint64_t now)
{
	wg_send_handshake_initiation(peer, now, false);
}

static void expired_zero_key_material(struct wg_peer *peer, uint64_t now)
{
	(void)now;
	wg_peer_clear_keypairs(peer);
	wg_index_remove(peer->device, &peer->handshake_index);
	noise_handshake_clear(&peer->handshake);
	wg_emit(peer->device, peer, WG_EVENT_KEYS_ZEROED);
}

static void expired_persistent_keepalive(struct wg_peer *peer, uint64_t now)
{
	if (peer->persistent_keepalive)
		wg_send_keepalive(peer, now);
}

static void (*const expired_handlers[WG_TIMER_COUNT])(struct wg_peer *, uint64_t) = {
	[WG_TIMER_RETRANSMIT_HANDSHAKE] = expired_retransmit_handshake,
	[WG_TIMER_SEND_KEEPALIVE] = expired_send_keepalive,
	[WG_TIMER_NEW_HANDSHAKE] = expired_new_handshake,
	[WG_TIMER_ZERO_KEY_MATERIAL] = expired_zero_key_material,
	[WG_TIMER_PERSISTENT_KEEPALIVE] = expired_persistent_keepalive,
};

uint64_t wg_device_next_deadline(const struct wg_device *dev)
{
	struct heap_node *n = heap_peek(&dev->timers);
	return n ? n->key : UINT64_MAX;
}

void wg_device_run_timers(struct wg_device *dev, uint64_t now)
{
	struct heap_node *n;
	/* Bounded: each pass disarms at least one timer before any re-arm, and
	 * re-arms always lie in the future. */
	while ((n = heap_peek(&dev->timers)) && n->key <= now) {
		struct wg_peer *peer = (struct wg_peer *)((uint8_t *)n - offsetof(struct wg_peer, timer_node));
		for (int i = 0; i < WG_TIMER_COUNT; i++) {
			if (!peer->timer_deadline[i] || peer->timer_deadline[i] > now)
				continue;
			timer_disarm(peer, (enum wg_peer_timer)i);
			expired_handlers[i](peer, now);
		}
	}
}

void timers_stop_all(struct wg_peer *peer)
{
	for (int i = 0; i < WG_TIMER_COUNT; i++)
		peer->timer_deadline[i] = 0;
	heap_remove(&peer->device->timers, &peer->timer_node);
}

/* Outgoing data: expect an answer before KEEPALIVE + REKEY_TIMEOUT. */
void timers_data_sent(struct wg_peer *peer, uint64_t now)
{
	const struct wg_timing *t = &peer->device->timing;
	peer->last_data_ns = now;
	if (!timer_pending(peer, WG_TIMER_NEW_HANDSHAKE))
		timer_arm(peer, WG_TIMER_NEW_HANDSHAKE,
			  now + t->keepalive_timeout + t->rekey_timeout + jitter(peer->device));
}

/* Incoming data: answer with a keepalive if we have nothing to send. */
void timers_data_received(struct wg_peer *peer, uint64_t now)
{
	peer->last_data_ns = now;
	if (!timer_pending(peer, WG_TIMER_SEND_KEEPALIVE))
		timer_arm(peer, WG_TIMER_SEND_KEEPALIVE, now + peer->device->timing.keepalive_timeout);
	else
		peer->need_another_keepalive = true;
}

void timers_any_authenticated_packet_sent(struct wg_peer *peer)
{
	timer_disarm(peer, WG_TIMER_SEND_KEEPALIVE);
}

void timers_any_authenticated_packet_received(struct wg_peer *peer)
{
	timer_disarm(peer, WG_TIMER_NEW_HANDSHAKE);
}

void timers_handshake_initiated(struct wg_peer *peer, uint64_t now)
{
	timer_arm(peer, WG_TIMER_RETRANSMIT_HANDSHAKE,
		  now + peer->device->timing.rekey_timeout + jitter(peer->device));
}

void timers_handshake_complete(struct wg_peer *peer)
{
	timer_disarm(peer, WG_TIMER_RETRANSMIT_HANDSHAKE);
	peer->handshake_attempts = 0;
	peer->sent_lastminute_handshake = false;
	peer->last_handshake_unix_ns = peer->device->ops.wall_clock_ns(peer->device->ctx);
}

/* A new session: wipe all keys if nothing renews them for 3 x REJECT. */
void timers_session_derived(struct wg_peer *peer, uint64_t now)
{
	timer_arm(peer, WG_TIMER_ZERO_KEY_MATERIAL, now + 3 * peer->device->timing.reject_after_time);
}

void timers_any_authenticated_packet_traversal(struct wg_peer *peer, uint64_t now)
{
	if (peer->persistent_keepalive)
		timer_arm(peer, WG_TIMER_PERSISTENT_KEEPALIVE, now + peer->persistent_keepalive * NS_PER_SEC);
}
