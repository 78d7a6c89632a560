/* Shared internals of the protocol engine, for lib/wg's own files only. */
#ifndef ROAM_WG_DEVICE_INTERNAL_H
#define ROAM_WG_DEVICE_INTERNAL_H

#include "wg/device.h"

#define NS_PER_SEC 1000000000ULL
#define NS_PER_MS 1000000ULL

#define WG_EARLY_INITIATIONS 8

struct wg_device {
	struct wg_device_ops ops;
	void *ctx;
	struct noise_identity identity;
	struct cookie_checker cookie_checker;
	struct wg_timing timing;
	unsigned mtu;
	struct allowedips allowedips;
	struct heap timers;

	struct wg_peer **peer_buckets; /* by public key */
	size_t peer_nbuckets, npeers;
	struct wg_peer *peer_list;

	struct wg_index_entry **index_buckets; /* by local index */
	size_t index_nbuckets, nindex;

	struct wg_drop_counters drops;

	/* Initiations from keys we had no peer for yet, kept a moment: the
	 * peer is often added a few ms later (the server told the other end
	 * first), and answering then saves its 5 s retry. Fixed ring. */
	struct wg_early_initiation {
		uint8_t remote_static[WG_KEY_LEN];
		struct wg_msg_initiation msg;
		struct endpoint src;
		uint64_t at; /* 0: empty */
	} early[WG_EARLY_INITIATIONS];
	unsigned early_next;

	/* Handshake load estimate: messages in the current one-second window. */
	uint64_t load_window_start;
	uint32_t load_count;
	uint64_t under_load_until;
};

/* device.c */
void wg_random(struct wg_device *dev, void *buf, size_t len);
void wg_emit(struct wg_device *dev, struct wg_peer *peer, enum wg_event ev);
void wg_send_raw(struct wg_peer *peer, const uint8_t *msg, size_t len);

/* index.c */
int wg_index_insert(struct wg_device *dev, struct wg_index_entry *e); /* picks a fresh random index */
/* fresh takes over stale's index (a session keeps its handshake's index). */
void wg_index_replace(struct wg_device *dev, struct wg_index_entry *stale, struct wg_index_entry *fresh);
void wg_index_remove(struct wg_device *dev, struct wg_index_entry *e);
struct wg_index_entry *wg_index_lookup(const struct wg_device *dev, uint32_t index);

/* keypair.c */
int wg_keypair_create(struct wg_peer *peer, const struct noise_session_keys *keys, uint64_t now,
		      struct wg_keypair **out);
void wg_keypair_destroy(struct wg_keypair *kp);
void wg_peer_install_keypair(struct wg_peer *peer, struct wg_keypair *kp);
bool wg_peer_confirm_keypair(struct wg_peer *peer, struct wg_keypair *kp); /* true if next became current */
void wg_peer_clear_keypairs(struct wg_peer *peer);
bool wg_keypair_usable_for_send(const struct wg_device *dev, const struct wg_keypair *kp, uint64_t now);
bool wg_keypair_expired(const struct wg_device *dev, const struct wg_keypair *kp, uint64_t now);

/* send.c */
void wg_send_handshake_initiation(struct wg_peer *peer, uint64_t now, bool is_retry);
void wg_send_keepalive(struct wg_peer *peer, uint64_t now);
void wg_send_staged(struct wg_peer *peer, uint64_t now);
void wg_peer_clear_staged(struct wg_peer *peer);

/* timers.c: hooks named after the events that arm and disarm timers. */
void timers_data_sent(struct wg_peer *peer, uint64_t now);
void timers_data_received(struct wg_peer *peer, uint64_t now);
void timers_any_authenticated_packet_sent(struct wg_peer *peer);
void timers_any_authenticated_packet_received(struct wg_peer *peer);
void timers_handshake_initiated(struct wg_peer *peer, uint64_t now);
void timers_handshake_complete(struct wg_peer *peer);
void timers_session_derived(struct wg_peer *peer, uint64_t now);
void timers_any_authenticated_packet_traversal(struct wg_peer *peer, uint64_t now);
void timers_stop_all(struct wg_peer *peer);

#endif
