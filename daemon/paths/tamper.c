/* The receiver's side of issue 13's redundancy and tamper detection, fed
 * by the engine (ops->repeated, ops->rejected): a second copy of a packet
 * is a redundant sender's duplicate (counted per peer, and which path's
 * copy came first) or a replay (counted apart, as suspicious); a packet
 * that fails authentication, or garbage, from one of a peer's paths counts
 * against that path, and past the threshold (settings.json "tuning":
 * tamper_threshold, tamper_window_ms, quarantine_ms) the path layer
 * quarantines it (lib/path/path_tamper.c): we log it, show it in `roam
 * status`, and shake hands again on the path that carries data now. */
#include <stddef.h>

#include "daemon/paths/paths_internal.h"
#include "daemon/roamd.h"
#include "util/log.h"
#include "wg/device.h"

/* Garbage names no peer: its source is looked up among every peer's
 * paths, at most this many times per PATHS_TAMPER_LOOKUP_NS, so a flood
 * of it costs a bounded amount of work (the rest is only counted). */
#define PATHS_TAMPER_LOOKUPS 256
#define PATHS_TAMPER_LOOKUP_NS (100 * EV_NSEC_PER_MSEC)

static const struct path *path_of_source(struct paths_peer *pp, const struct endpoint *src)
{
	return pp ? paths_find_endpoint(&pp->set, src) : NULL;
}

/* The managed peer one of whose paths is src; NULL: none, or over budget. */
static struct paths_peer *peer_of_source(struct roamd_paths *ps, const struct endpoint *src, uint64_t now)
{
	if (now - ps->tamper_lookup_start_ns >= PATHS_TAMPER_LOOKUP_NS) {
		ps->tamper_lookup_start_ns = now;
		ps->tamper_lookups = 0;
	}
	if (++ps->tamper_lookups > PATHS_TAMPER_LOOKUPS)
		return NULL;
	for (struct wg_peer *p = wg_device_first_peer(ps->d->wg); p; p = wg_device_next_peer(p)) {
		struct paths_peer *pp = paths_peer_of(p);
		if (path_of_source(pp, src))
			return pp;
	}
	return NULL;
}

static void quarantined(struct paths_peer *pp, const struct path *p, bool was_active, uint64_t now)
{
	char s[ENDPOINT_STRLEN] = "?";
	struct endpoint ep;
	if (paths_path_endpoint(p, &ep) == 0)
		(void)endpoint_format(&ep, s, sizeof(s));
	log_warn("peer %s: path %s quarantined for %llu s: %llu bad packets (failed authentication or garbage from "
		 "its source); retried then",
		 pp->info.name[0] ? pp->info.name : "?", s,
		 (unsigned long long)(p->quarantine_backoff_ns / EV_NSEC_PER_SEC), (unsigned long long)p->tampered);
	pp->quarantine_event_ns = now;
	pp->quarantine_event_path = p->id;
	/* Keys are not in doubt (forgeries do not authenticate), but the
	 * path that carries data now must be shown to work: a handshake there
	 * at once. At most one per quarantine, and quarantines have a backoff. */
	if (was_active && path_active(&pp->set)) {
		pp->peer->last_sent_handshake = 0;
		wg_peer_initiate_handshake(pp->peer, now);
	}
}

/* Data under an index we do not know is garbage only while we have a
 * session the peer has had time to hear of: after our restart, or when a
 * session expired, the peer's next packets carry the old index until a
 * new handshake is done (within REKEY_TIMEOUT). */
static bool session_settled(const struct wg_peer *peer, uint64_t now)
{
	const struct wg_keypair *kp = peer->keypair_current;
	return kp && now - kp->birth >= (uint64_t)WG_REKEY_TIMEOUT * EV_NSEC_PER_SEC;
}

void roamd_paths_rejected(void *ctx, struct wg_peer *peer, const struct endpoint *src, enum wg_reject why)
{
	struct roamd *d = ctx;
	struct roamd_paths *ps = paths_of(d);
	uint64_t now = ev_now(d->loop);
	if (!ps)
		return;
	struct paths_peer *pp = peer ? paths_peer_of(peer) : peer_of_source(ps, src, now);
	const struct path *p = path_of_source(pp, src);
	if (!p) {
		ps->tamper_unattributed++;
		return;
	}
	if (why == WG_REJECT_UNKNOWN_INDEX && !session_settled(pp->peer, now))
		return; /* we restarted, or let a session expire: the peer catches up */
	bool was_active = p->state == PATH_ACTIVE;
	if (path_tamper(&pp->set, p->id, now) == 1)
		quarantined(pp, p, was_active, now);
	paths_touch(pp);
}

void roamd_paths_repeated(void *ctx, struct wg_peer *peer, const struct endpoint *src, const struct endpoint *first,
			  bool duplicate)
{
	struct paths_peer *pp = paths_peer_of(peer);
	(void)ctx;
	(void)src;
	if (!pp)
		return;
	if (!duplicate) {
		pp->replays++;
		return;
	}
	pp->dup_received++;
	const struct path *won = path_of_source(pp, first);
	if (won)
		(void)path_copy_won(&pp->set, won->id);
}
