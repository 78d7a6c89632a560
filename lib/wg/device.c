/* Device and peer lifecycle of the protocol engine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wg/device_internal.h"

void wg_random(struct wg_device *dev, void *buf, size_t len)
{
	if (dev->ops.random)
		dev->ops.random(dev->ctx, buf, len);
	else
		crypto_random(buf, len);
}

void wg_emit(struct wg_device *dev, struct wg_peer *peer, enum wg_event ev)
{
	if (dev->ops.event)
		dev->ops.event(dev->ctx, peer, ev);
}

void wg_send_raw(struct wg_peer *peer, const uint8_t *msg, size_t len)
{
	if (!peer->has_endpoint)
		return;
	peer->device->ops.send(peer->device->ctx, peer, &peer->endpoint, msg, len);
	peer->tx_bytes += len;
}

void wg_timing_default(struct wg_timing *t)
{
	t->rekey_after_time = WG_REKEY_AFTER_TIME * NS_PER_SEC;
	t->reject_after_time = WG_REJECT_AFTER_TIME * NS_PER_SEC;
	t->rekey_attempt_time = WG_REKEY_ATTEMPT_TIME * NS_PER_SEC;
	t->rekey_timeout = WG_REKEY_TIMEOUT * NS_PER_SEC;
	t->keepalive_timeout = WG_KEEPALIVE_TIMEOUT * NS_PER_SEC;
	t->rekey_after_messages = WG_REKEY_AFTER_MESSAGES;
	t->reject_after_messages = WG_REJECT_AFTER_MESSAGES;
	t->handshake_load_threshold = 256;
}

int wg_device_new(const struct wg_device_ops *ops, void *ctx, struct wg_device **out)
{
	struct wg_device *dev;
	if (!ops || !ops->send || !ops->deliver || !ops->wall_clock_ns)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->ops = *ops;
	dev->ctx = ctx;
	dev->mtu = 1420;
	wg_timing_default(&dev->timing);
	allowedips_init(&dev->allowedips);
	heap_init(&dev->timers);
	*out = dev;
	return 0;
}

void wg_device_free(struct wg_device *dev)
{
	if (!dev)
		return;
	while (dev->peer_list)
		wg_peer_remove(dev->peer_list);
	allowedips_free(&dev->allowedips);
	heap_free(&dev->timers);
	free(dev->peer_buckets);
	free(dev->index_buckets);
	noise_identity_clear(&dev->identity);
	crypto_wipe(&dev->cookie_checker, sizeof(dev->cookie_checker));
	free(dev);
}

void wg_device_set_timing(struct wg_device *dev, const struct wg_timing *t)
{
	dev->timing = *t;
}

void wg_device_set_mtu(struct wg_device *dev, unsigned mtu)
{
	dev->mtu = mtu;
}

int wg_device_set_private_key(struct wg_device *dev, const uint8_t key[WG_KEY_LEN])
{
	struct noise_identity id;
	int ret = noise_identity_set(&id, key);
	if (ret < 0)
		return ret;
	/* A peer with our own public key would be talking to itself. */
	if (wg_peer_lookup(dev, id.public_key)) {
		noise_identity_clear(&id);
		return -EEXIST;
	}
	dev->identity = id;
	noise_identity_clear(&id);
	cookie_checker_init(&dev->cookie_checker, dev->identity.public_key);
	for (struct wg_peer *p = dev->peer_list; p; p = p->list_next) {
		noise_handshake_rekey_static(&p->handshake, &dev->identity);
		wg_peer_clear_keypairs(p);
	}
	return 0;
}

const uint8_t *wg_device_public_key(const struct wg_device *dev)
{
	return dev->identity.has_identity ? dev->identity.public_key : NULL;
}

const struct wg_drop_counters *wg_device_drops(const struct wg_device *dev)
{
	return &dev->drops;
}

struct wg_peer *wg_device_first_peer(const struct wg_device *dev)
{
	return dev->peer_list;
}

struct wg_peer *wg_device_next_peer(const struct wg_peer *peer)
{
	return peer->list_next;
}

static size_t peer_bucket(const struct wg_device *dev, const uint8_t key[WG_KEY_LEN])
{
	uint64_t h;
	/* Public keys are uniformly random curve points: any 8 bytes hash. */
	memcpy(&h, key, sizeof(h));
	return (size_t)(h & (dev->peer_nbuckets - 1));
}

static int peer_table_grow(struct wg_device *dev)
{
	size_t n = dev->peer_nbuckets ? dev->peer_nbuckets * 2 : 16;
	struct wg_peer **buckets = calloc(n, sizeof(*buckets));
	if (!buckets)
		return -ENOMEM;
	size_t old_n = dev->peer_nbuckets;
	struct wg_peer **old = dev->peer_buckets;
	dev->peer_buckets = buckets;
	dev->peer_nbuckets = n;
	for (size_t i = 0; i < old_n; i++) {
		struct wg_peer *p = old[i], *next;
		for (; p; p = next) {
			next = p->hash_next;
			size_t b = peer_bucket(dev, p->public_key);
			p->hash_next = buckets[b];
			buckets[b] = p;
		}
	}
	free(old);
	return 0;
}

struct wg_peer *wg_peer_lookup(const struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN])
{
	if (!dev->peer_nbuckets)
		return NULL;
	for (struct wg_peer *p = dev->peer_buckets[peer_bucket(dev, public_key)]; p; p = p->hash_next)
		if (crypto_equal(p->public_key, public_key, WG_KEY_LEN))
			return p;
	return NULL;
}

int wg_peer_add(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN], struct wg_peer **out)
{
	struct wg_peer *peer;
	int ret;

	if (dev->npeers >= WG_MAX_PEERS)
		return -ENOSPC;
	if (wg_peer_lookup(dev, public_key))
		return -EEXIST;
	if (dev->identity.has_identity && crypto_equal(public_key, dev->identity.public_key, WG_KEY_LEN))
		return -EINVAL;
	if (dev->npeers >= dev->peer_nbuckets && (ret = peer_table_grow(dev)) < 0)
		return ret;
	/* One heap slot per peer, so arming a timer never fails later. */
	if ((ret = heap_reserve(&dev->timers, dev->npeers + 1)) < 0)
		return ret;
	peer = calloc(1, sizeof(*peer));
	if (!peer)
		return -ENOMEM;
	peer->device = dev;
	memcpy(peer->public_key, public_key, WG_KEY_LEN);
	noise_handshake_init(&peer->handshake, &dev->identity, public_key, NULL);
	cookie_maker_init(&peer->cookie, public_key);
	heap_node_init(&peer->timer_node);

	size_t b = peer_bucket(dev, public_key);
	peer->hash_next = dev->peer_buckets[b];
	dev->peer_buckets[b] = peer;
	peer->list_next = dev->peer_list;
	if (dev->peer_list)
		dev->peer_list->list_prev = peer;
	dev->peer_list = peer;
	dev->npeers++;
	*out = peer;
	return 0;
}

void wg_peer_remove(struct wg_peer *peer)
{
	struct wg_device *dev;
	if (!peer)
		return;
	dev = peer->device;
	timers_stop_all(peer);
	wg_peer_clear_staged(peer);
	wg_peer_clear_keypairs(peer);
	wg_index_remove(dev, &peer->handshake_index);
	allowedips_remove_peer(&dev->allowedips, peer);

	struct wg_peer **slot = &dev->peer_buckets[peer_bucket(dev, peer->public_key)];
	for (; *slot; slot = &(*slot)->hash_next) {
		if (*slot == peer) {
			*slot = peer->hash_next;
			break;
		}
	}
	if (peer->list_prev)
		peer->list_prev->list_next = peer->list_next;
	else
		dev->peer_list = peer->list_next;
	if (peer->list_next)
		peer->list_next->list_prev = peer->list_prev;
	dev->npeers--;
	crypto_wipe(peer, sizeof(*peer));
	free(peer);
}

void wg_peer_set_preshared_key(struct wg_peer *peer, const uint8_t psk[WG_KEY_LEN])
{
	memcpy(peer->handshake.preshared_key, psk, WG_KEY_LEN);
}

void wg_peer_set_endpoint(struct wg_peer *peer, const struct endpoint *ep)
{
	peer->endpoint = *ep;
	peer->has_endpoint = true;
}

void wg_peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t seconds, uint64_t now)
{
	peer->persistent_keepalive = seconds;
	/* Like wg(8): turning it on sends a keepalive at once, which also
	 * brings the session up behind a NAT. */
	if (seconds)
		wg_send_keepalive(peer, now);
}

int wg_peer_allow(struct wg_peer *peer, int family, const uint8_t *addr, uint8_t cidr)
{
	return allowedips_insert(&peer->device->allowedips, family, addr, cidr, peer);
}

void wg_peer_clear_allowed(struct wg_peer *peer)
{
	allowedips_remove_peer(&peer->device->allowedips, peer);
}

int wg_peer_walk_allowed(const struct wg_peer *peer,
			 int (*fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr), void *ctx)
{
	return allowedips_walk_peer(&peer->device->allowedips, peer, fn, ctx);
}

void wg_peer_initiate_handshake(struct wg_peer *peer, uint64_t now)
{
	wg_send_handshake_initiation(peer, now, false);
}

void wg_peer_restart_session(struct wg_peer *peer, uint64_t now)
{
	/* Its end forgot our sessions: what we sent on them would be dropped
	 * there without a word. New packets wait for the new session instead. */
	wg_peer_clear_keypairs(peer);
	peer->last_sent_handshake = 0; /* not a retry storm: one per restart */
	wg_send_handshake_initiation(peer, now, false);
}

void wg_device_announce_roam(struct wg_device *dev, uint64_t now)
{
	for (struct wg_peer *p = dev->peer_list; p; p = p->list_next)
		if (p->has_endpoint && wg_keypair_usable_for_send(dev, p->keypair_current, now))
			wg_send_keepalive(p, now);
}
