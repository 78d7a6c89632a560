/* The WireGuard protocol engine: peers, sessions, cryptokey routing and
 * timers, with no I/O of its own. The program feeds it datagrams from the
 * underlay, IP packets from the tunnel and the current time; the engine
 * answers through the callbacks in struct wg_device_ops. Not thread-safe:
 * one thread drives a device (see docs/architecture.md for the plan to split
 * the data path across cores). */
#ifndef ROAM_WG_DEVICE_H
#define ROAM_WG_DEVICE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/endpoint.h"
#include "util/heap.h"
#include "wg/allowedips.h"
#include "wg/cookie.h"
#include "wg/messages.h"
#include "wg/noise.h"
#include "wg/replay.h"

struct wg_device;
struct wg_peer;


enum wg_event {
	WG_EVENT_HANDSHAKE_INITIATED,
	WG_EVENT_HANDSHAKE_COMPLETE,
	WG_EVENT_HANDSHAKE_GAVE_UP,
	WG_EVENT_KEYS_ZEROED,
	WG_EVENT_ENDPOINT_CHANGED,
	WG_EVENT_COOKIE_SENT,
	WG_EVENT_COOKIE_RECEIVED,
};

/* Why a datagram was refused, for ops->rejected (tamper detection). */
enum wg_reject {
	WG_REJECT_MALFORMED, /* too short, unknown type, wrong size for its type */
	WG_REJECT_AUTH,      /* data that failed authentication, or a handshake's mac1 */
	WG_REJECT_UNKNOWN_INDEX, /* data for a session we do not have (or one expired) */
};

/* A second copy of a data packet is a redundant sender's duplicate when it
 * comes from another source than the first within this time; otherwise a
 * replay. */
#define WG_DUPLICATE_WINDOW_NS 1000000000ull

struct wg_device_ops {
	/* A datagram for the underlay. The buffer is only valid during the
	 * call: copy or send it before returning. */
	void (*send)(void *ctx, struct wg_peer *peer, const struct endpoint *to, const uint8_t *msg, size_t len);
	/* A decrypted, validated IP packet for the tunnel; same lifetime rule. */
	void (*deliver)(void *ctx, struct wg_peer *peer, const uint8_t *pkt, size_t len);
	/* Unix time in nanoseconds, for TAI64N timestamps and status. */
	int64_t (*wall_clock_ns)(void *ctx);
	/* Optional: randomness (tests make it deterministic); default libsodium. */
	void (*random)(void *ctx, void *buf, size_t len);
	/* Optional: notable protocol events, for logs. */
	void (*event)(void *ctx, struct wg_peer *peer, enum wg_event ev);
	/* Optional: an authenticated message of peer (a handshake message or
	 * data) came from src, which is not the endpoint the peer is sent to.
	 * Without this callback the engine roams: the peer's endpoint becomes
	 * src, as in WireGuard (paper 2.1). With it, the engine leaves the
	 * endpoint alone and the program decides (roamd's path layer, which
	 * calls wg_peer_set_endpoint when it moves the peer). Never called for
	 * packets from the current endpoint, so it costs nothing per packet on
	 * a settled path. */
	void (*endpoint_seen)(void *ctx, struct wg_peer *peer, const struct endpoint *src);
	/* Optional: a datagram from src was refused before it authenticated;
	 * peer is the session's owner when the receiver index named one (a
	 * data packet that failed authentication), NULL otherwise. For
	 * counting bad packets per path, never per packet work otherwise. */
	void (*rejected)(void *ctx, struct wg_peer *peer, const struct endpoint *src, enum wg_reject why);
	/* Optional: an authenticated data packet of peer from src carried a
	 * counter already received. first: where its first copy came from
	 * (NULL: not known); duplicate: first is another source and at most
	 * WG_DUPLICATE_WINDOW_NS ago (a redundant sender's second copy,
	 * counted in drops.duplicate), else a replay (drops.replay). With this
	 * callback set the engine notes each accepted counter's source: a
	 * compare of endpoints per packet. */
	void (*repeated)(void *ctx, struct wg_peer *peer, const struct endpoint *src, const struct endpoint *first,
			 bool duplicate);
	/* Optional: an IP packet from the tunnel (pkt, len) whose destination
	 * dst (4 or 16 bytes of family) has no peer, just before it is dropped
	 * (drops.no_peer). The program may learn the peer and send the packet
	 * again (roamd's peers on demand); the buffer is only valid during the
	 * call. Called for every such packet: its own bounds are the caller's. */
	void (*no_peer)(void *ctx, int family, const uint8_t *dst, const uint8_t *pkt, size_t len);
	/* Optional: a handshake initiation from a static key we have no peer
	 * for (its static decrypted, so the sender knows our public key). The
	 * device keeps it a moment (wg_peer_answer_early_initiation). */
	void (*unknown_initiator)(void *ctx, const uint8_t remote_static[WG_KEY_LEN]);
};

/* Protocol timing, in nanoseconds. Defaults are the paper's; tests may
 * shorten them (roamd only allows that in builds with test hooks). */
struct wg_timing {
	uint64_t rekey_after_time;
	uint64_t reject_after_time;
	uint64_t rekey_attempt_time;
	uint64_t rekey_timeout;
	uint64_t keepalive_timeout;
	uint64_t rekey_after_messages;
	uint64_t reject_after_messages;
	/* Handshake messages per second above which we demand cookies. */
	uint32_t handshake_load_threshold;
};

/* Why datagrams or packets were dropped; names match `roam status --json`. */
struct wg_drop_counters {
	uint64_t short_packet;       /* "short": shorter than any message */
	uint64_t unknown_type;       /* type or reserved bytes invalid */
	uint64_t bad_size;           /* wrong exact length for the type */
	uint64_t bad_mac;            /* mac1 wrong */
	uint64_t no_keypair;         /* receiver index unknown or session expired */
	uint64_t replay;             /* counter seen before or too old (not a duplicate) */
	uint64_t duplicate;          /* a second copy from another path, shortly after (ops->repeated) */
	uint64_t decrypt;            /* authentication failed */
	uint64_t allowed_ips;        /* inner source not allowed for this peer */
	uint64_t no_peer;            /* no route to a peer / unknown static key */
	uint64_t malformed_inner;    /* inner packet not a valid IPv4/IPv6 packet */
	uint64_t handshake_rejected; /* handshake failed to authenticate or replayed */
	uint64_t rate_limited;       /* initiation flood, or under load without cookie */
	uint64_t simultaneous_initiation; /* theirs crossed ours; ours (the larger key) wins */
};

enum wg_peer_timer {
	WG_TIMER_RETRANSMIT_HANDSHAKE,
	WG_TIMER_SEND_KEEPALIVE,
	WG_TIMER_NEW_HANDSHAKE,
	WG_TIMER_ZERO_KEY_MATERIAL,
	WG_TIMER_PERSISTENT_KEEPALIVE,
	WG_TIMER_COUNT,
};

/* Entry in the device's table from our 32-bit session indices (random, as
 * the receiver index on the wire) to a pending handshake or a keypair. */
enum wg_index_kind { WG_INDEX_HANDSHAKE, WG_INDEX_KEYPAIR };
struct wg_index_entry {
	uint32_t index;
	enum wg_index_kind kind;
	bool in_table;
	struct wg_peer *peer;
	struct wg_keypair *keypair; /* WG_INDEX_KEYPAIR only */
	struct wg_index_entry *next;
};

struct wg_keypair {
	struct wg_peer *peer;
	struct wg_index_entry index_entry;
	struct aead_ctx send;
	struct aead_ctx recv;
	uint64_t send_counter;
	struct replay_window replay;
	struct replay_origins origins; /* used only with ops->repeated */
	uint64_t birth; /* monotonic ns */
	uint32_t local_index;
	uint32_t remote_index;
	bool is_initiator;
};

struct wg_staged_packet {
	size_t len;
	uint8_t buf[]; /* WG_HEADROOM + len + WG_TAILROOM */
};

struct wg_peer {
	struct wg_device *device;
	uint8_t public_key[WG_KEY_LEN];
	struct noise_handshake handshake;
	struct wg_index_entry handshake_index;
	struct cookie_maker cookie;

	/* Sessions: next is a responder's key not yet confirmed by the
	 * initiator's first data; current sends; previous still receives. */
	struct wg_keypair *keypair_previous, *keypair_current, *keypair_next;

	struct endpoint endpoint; /* opaque to the engine: where ops->send sends */
	bool has_endpoint;
	uint16_t persistent_keepalive; /* seconds, 0 = off */

	uint64_t timer_deadline[WG_TIMER_COUNT]; /* monotonic ns, 0 = not armed */
	struct heap_node timer_node;             /* keyed by the earliest deadline */
	unsigned handshake_attempts;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
	uint64_t last_sent_handshake; /* monotonic ns, 0 = never */
	int64_t last_handshake_unix_ns;

	struct wg_staged_packet *staged[WG_MAX_STAGED_PACKETS];
	unsigned staged_head, staged_len;

	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets, drops;
	/* Monotonic ns of the latest data packet sent or received (not a
	 * keepalive); 0: none. The program may set it (roamd: a peer asked
	 * for on demand counts as used when it comes). */
	uint64_t last_data_ns;

	struct wg_peer *hash_next;     /* device peer table by public key */
	struct wg_peer *list_prev, *list_next;
	void *user; /* the program's per-peer data */
};

/* Lifecycle */
int wg_device_new(const struct wg_device_ops *ops, void *ctx, struct wg_device **out);
void wg_device_free(struct wg_device *dev);
void wg_timing_default(struct wg_timing *t);
void wg_device_set_timing(struct wg_device *dev, const struct wg_timing *t);
void wg_device_set_mtu(struct wg_device *dev, unsigned mtu);
int wg_device_set_private_key(struct wg_device *dev, const uint8_t key[WG_KEY_LEN]);
const uint8_t *wg_device_public_key(const struct wg_device *dev); /* NULL if none */
const struct wg_drop_counters *wg_device_drops(const struct wg_device *dev);
struct wg_peer *wg_device_first_peer(const struct wg_device *dev);
struct wg_peer *wg_device_next_peer(const struct wg_peer *peer);

/* Peers */
int wg_peer_add(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN], struct wg_peer **out);
void wg_peer_remove(struct wg_peer *peer);
struct wg_peer *wg_peer_lookup(const struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN]);
void wg_peer_set_preshared_key(struct wg_peer *peer, const uint8_t psk[WG_KEY_LEN]);
void wg_peer_set_endpoint(struct wg_peer *peer, const struct endpoint *ep);
void wg_peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t seconds, uint64_t now);
int wg_peer_allow(struct wg_peer *peer, int family, const uint8_t *addr, uint8_t cidr);
/* Drops every allowed prefix of the peer (to replace them: then wg_peer_allow
 * each new one); its sessions are kept. */
void wg_peer_clear_allowed(struct wg_peer *peer);
int wg_peer_walk_allowed(const struct wg_peer *peer,
			 int (*fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr), void *ctx);
/* Starts a handshake now (e.g. right after configuration). */
void wg_peer_initiate_handshake(struct wg_peer *peer, uint64_t now);
/* The peer restarted (the directory says it went offline and came back):
 * drop our sessions with it and start a handshake now, past the
 * once-per-REKEY_TIMEOUT limit. */
void wg_peer_restart_session(struct wg_peer *peer, uint64_t now);
/* A peer just added: answer an initiation it sent in the last REKEY_TIMEOUT,
 * before we knew it (kept by the device), instead of making it wait for its
 * retry. */
void wg_peer_answer_early_initiation(struct wg_peer *peer, uint64_t now);
/* Our underlay address changed: an authenticated keepalive to every peer
 * with a session lets each roam to our new address at once (paper 2.1)
 * instead of after the next timer. */
void wg_device_announce_roam(struct wg_device *dev, uint64_t now);

/* Data path. tun_input: an IP packet at buf + WG_HEADROOM of len bytes, in a
 * buffer of cap bytes (cap >= WG_HEADROOM + len + WG_TAILROOM); encrypted in
 * place. udp_input: a datagram from src, decrypted in place. */
void wg_device_tun_input(struct wg_device *dev, uint8_t *buf, size_t len, size_t cap, uint64_t now);
void wg_device_udp_input(struct wg_device *dev, uint8_t *buf, size_t len, const struct endpoint *src,
			 uint64_t now);

/* Timers: the earliest deadline (UINT64_MAX if none), and running all due. */
uint64_t wg_device_next_deadline(const struct wg_device *dev);
void wg_device_run_timers(struct wg_device *dev, uint64_t now);

#endif
