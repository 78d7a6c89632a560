/* Session keypairs and their rotation (WireGuard paper 5.4.6, kernel
 * noise.c): previous / current / next per peer. */
#include <errno.h>
#include <stdlib.h>

#include "wg/device_internal.h"

int wg_keypair_create(struct wg_peer *peer, const struct noise_session_keys *keys, uint64_t now,
		      struct wg_keypair **out)
{
	struct wg_keypair *kp = calloc(1, sizeof(*kp));
	int ret = -ENOMEM;
	if (!kp)
		return -ENOMEM;
	kp->peer = peer;
	if ((ret = aead_ctx_init(&kp->send, keys->send, 1)) < 0)
		goto fail;
	if ((ret = aead_ctx_init(&kp->recv, keys->recv, 0)) < 0)
		goto fail;
	replay_init(&kp->replay);
	replay_origins_init(&kp->origins);
	kp->birth = now;
	kp->is_initiator = keys->is_initiator;
	kp->remote_index = keys->remote_index;
	kp->index_entry.kind = WG_INDEX_KEYPAIR;
	kp->index_entry.peer = peer;
	kp->index_entry.keypair = kp;
	/* The session answers to the index its handshake announced. */
	if (!peer->handshake_index.in_table || peer->handshake_index.index != keys->local_index) {
		ret = -EINVAL;
		goto fail;
	}
	wg_index_replace(peer->device, &peer->handshake_index, &kp->index_entry);
	kp->local_index = kp->index_entry.index;
	*out = kp;
	return 0;
fail:
	aead_ctx_free(&kp->send);
	aead_ctx_free(&kp->recv);
	free(kp);
	return ret;
}

void wg_keypair_destroy(struct wg_keypair *kp)
{
	if (!kp)
		return;
	wg_index_remove(kp->peer->device, &kp->index_entry);
	aead_ctx_free(&kp->send);
	aead_ctx_free(&kp->recv);
	crypto_wipe(kp, sizeof(*kp));
	free(kp);
}

/* A fresh session: the initiator may send on it at once (its first packet
 * confirms it); the responder must wait for that packet, so it is "next". */
void wg_peer_install_keypair(struct wg_peer *peer, struct wg_keypair *kp)
{
	if (kp->is_initiator) {
		/* An unconfirmed responder session may still receive: keep it
		 * as previous in place of the current one. */
		wg_keypair_destroy(peer->keypair_previous);
		if (peer->keypair_next) {
			peer->keypair_previous = peer->keypair_next;
			peer->keypair_next = NULL;
			wg_keypair_destroy(peer->keypair_current);
		} else {
			peer->keypair_previous = peer->keypair_current;
		}
		peer->keypair_current = kp;
	} else {
		wg_keypair_destroy(peer->keypair_next);
		peer->keypair_next = kp;
		wg_keypair_destroy(peer->keypair_previous);
		peer->keypair_previous = NULL;
	}
}

bool wg_peer_confirm_keypair(struct wg_peer *peer, struct wg_keypair *kp)
{
	if (kp != peer->keypair_next)
		return false;
	wg_keypair_destroy(peer->keypair_previous);
	peer->keypair_previous = peer->keypair_current;
	peer->keypair_current = kp;
	peer->keypair_next = NULL;
	return true;
}

void wg_peer_clear_keypairs(struct wg_peer *peer)
{
	wg_keypair_destroy(peer->keypair_previous);
	wg_keypair_destroy(peer->keypair_current);
	wg_keypair_destroy(peer->keypair_next);
	peer->keypair_previous = peer->keypair_current = peer->keypair_next = NULL;
}

bool wg_keypair_expired(const struct wg_device *dev, const struct wg_keypair *kp, uint64_t now)
{
	return now - kp->birth >= dev->timing.reject_after_time;
}

bool wg_keypair_usable_for_send(const struct wg_device *dev, const struct wg_keypair *kp, uint64_t now)
{
	return kp && !wg_keypair_expired(dev, kp, now) && kp->send_counter < dev->timing.reject_after_messages;
}
