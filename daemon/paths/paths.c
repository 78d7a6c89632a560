/* The path manager's core (paths.h): managed peers and their path sets,
 * the one timer for all of them, what the path layer asks of us (probes,
 * a new active path, log lines) and what the engine reports (traffic from
 * a path that is not the active one). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "daemon/paths/birthday_roamd.h"
#include "daemon/paths/paths_internal.h"
#include "daemon/roamd.h"
#include "daemon/transport/transport.h"
#include "util/le.h"
#include "util/log.h"

struct roamd_paths *paths_of(const struct roamd *d)
{
	return d->host.paths;
}

struct paths_peer *paths_peer_of(const struct wg_peer *peer)
{
	return peer ? peer->user : NULL;
}

uint64_t paths_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * EV_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t paths_send_ts(struct roamd_paths *ps)
{
	uint64_t t = paths_wall_ns();
	if (t <= ps->last_ts_ns)
		t = ps->last_ts_ns + 1; /* the clock stepped back */
	ps->last_ts_ns = t;
	return t;
}

static uint64_t peer_deadline(const struct paths_peer *pp)
{
	uint64_t t = path_next_deadline(&pp->set);
	uint64_t callme = pp->callme_sent_ns + PATHS_CALLME_INTERVAL_NS;
	if (pp->callme_due && callme < t)
		t = callme;
	return pp->birthday_retry_ns && pp->birthday_retry_ns < t ? pp->birthday_retry_ns : t;
}

void paths_touch(struct paths_peer *pp)
{
	struct roamd_paths *ps = paths_of(pp->d);
	uint64_t t = peer_deadline(pp);
	if (t == UINT64_MAX)
		heap_remove(&ps->heap, &pp->node);
	else
		heap_update(&ps->heap, &pp->node, t); /* cannot fail: room reserved in peer_new */
}

void roamd_paths_rearm(struct roamd *d)
{
	struct roamd_paths *ps = paths_of(d);
	if (!ps)
		return;
	struct heap_node *top = heap_peek(&ps->heap);
	if (!top)
		ev_timer_stop(d->loop, &ps->timer);
	else if (!ev_timer_pending(&ps->timer) || ev_timer_deadline(&ps->timer) != top->key)
		ev_timer_start(d->loop, &ps->timer, top->key);
}

static void on_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct roamd_paths *ps = t->data;
	uint64_t now = ev_now(loop);
	/* Each due peer once: a deadline that moved into the past again waits
	 * for the next turn. */
	for (size_t n = ps->heap.len; n > 0; n--) {
		struct heap_node *top = heap_peek(&ps->heap);
		if (!top || top->key > now)
			break;
		struct paths_peer *pp = (struct paths_peer *)((char *)top - offsetof(struct paths_peer, node));
		heap_remove(&ps->heap, top);
		path_run_timers(&pp->set, now);
		/* A hard NAT on one side: time for an attempt? Not yet (the
		 * direct paths have not failed long enough, a NAT kind is still
		 * unknown): ask again soon rather than at the next probe, which
		 * may be seconds away. */
		const struct path *act = path_active(&pp->set);
		bool relayed = act && act->transport != PATH_TRANSPORT_UDP_DIRECT;
		pp->birthday_retry_ns =
			paths_birthday_consider(pp, now) == -EAGAIN && relayed ? now + PATHS_BIRTHDAY_RETRY_NS : 0;
		if (pp->callme_due && now >= pp->callme_sent_ns + PATHS_CALLME_INTERVAL_NS)
			paths_callme_maybe(pp, now);
		paths_touch(pp);
	}
	roamd_paths_rearm(ps->d);
}

const char *paths_why_name(enum path_reason why)
{
	static const char *const names[PATH_REASON_COUNT] = {
		[PATH_REASON_ADDED] = "added",
		[PATH_REASON_PROBE_ANSWERED] = "probe_answered",
		[PATH_REASON_PROBES_UNANSWERED] = "probes_unanswered",
		[PATH_REASON_PROBES_LOST] = "probes_lost",
		[PATH_REASON_REMOVED] = "removed",
		[PATH_REASON_LOCAL_CHANGE] = "local_change",
		[PATH_REASON_FIRST_WORKING] = "first_working",
		[PATH_REASON_BETTER] = "better",
		[PATH_REASON_ACTIVE_FAILED] = "active_failed",
		[PATH_REASON_ACTIVE_REMOVED] = "active_removed",
		[PATH_REASON_NONE_WORKING] = "none_working",
		[PATH_REASON_REPLY_LATE] = "reply_late",
		[PATH_REASON_ACTIVE_SUSPECT] = "active_suspect",
		[PATH_REASON_RECOVERED] = "recovered",
		[PATH_REASON_BETTER_AVAILABLE] = "better_available",
		[PATH_REASON_USER] = "user",
	};
	return (unsigned)why < PATH_REASON_COUNT ? names[why] : "?";
}

static const char *peer_label(const struct paths_peer *pp)
{
	return pp->info.name[0] ? pp->info.name : "?";
}

static void path_text(const struct path *p, char *buf, size_t size)
{
	struct endpoint ep;
	if (!p || paths_path_endpoint(p, &ep) < 0 || endpoint_format(&ep, buf, size) < 0)
		snprintf(buf, size, "?");
}

static void rtt_text(const struct path *p, char *buf, size_t size)
{
	if (p && p->has_rtt)
		snprintf(buf, size, "%.1f ms", (double)p->srtt_ns / 1e6);
	else
		snprintf(buf, size, "no RTT yet");
}

void paths_send_ping(struct paths_peer *pp, const struct endpoint *ep, const uint8_t txid[COORD_PROBE_TXID_LEN],
		     uint64_t tag, uint64_t now)
{
	uint8_t msg[sizeof(struct coord_msg_probe_ping)];
	coord_probe_pending_add(&pp->pending, txid, tag, now);
	coord_probe_ping_build(msg, &pp->keys, txid, paths_send_ts(paths_of(pp->d)));
	roamd_transport_send(pp->d, ep, msg, sizeof(msg));
}

static void op_send_probe(void *ctx, const struct path *p, uint64_t txid)
{
	struct paths_peer *pp = ctx;
	struct endpoint ep;
	uint8_t id[COORD_PROBE_TXID_LEN];
	if (paths_path_endpoint(p, &ep) < 0)
		return;
	/* The path layer's txid, salted: unique across our restarts. */
	le64_put(id, txid);
	memcpy(id + 8, pp->txid_salt, sizeof(pp->txid_salt));
	paths_send_ping(pp, &ep, id, p->id, ev_now(pp->d->loop));
}

static void op_active_changed(void *ctx, const struct path *from, const struct path *to, enum path_reason why)
{
	struct paths_peer *pp = ctx;
	char to_s[ENDPOINT_STRLEN], from_s[ENDPOINT_STRLEN], to_rtt[32], from_rtt[32];
	struct endpoint ep;
	uint64_t now = ev_now(pp->d->loop);
	pp->active_why = why;
	pp->active_since_ns = now;
	if (!to || to->transport != PATH_TRANSPORT_UDP_DIRECT)
		pp->direct_since_ns = 0;
	else if (!pp->direct_since_ns)
		pp->direct_since_ns = now;
	path_text(to, to_s, sizeof(to_s));
	path_text(from, from_s, sizeof(from_s));
	rtt_text(to, to_rtt, sizeof(to_rtt));
	rtt_text(from, from_rtt, sizeof(from_rtt));
	if (!to) {
		/* Keep the engine's endpoint: the old path may come back, and
		 * nothing better is known. */
		log_info("peer %s: no working path (%s: %s)", peer_label(pp), paths_why_name(why), from_s);
		return;
	}
	if (from)
		log_info("peer %s: path %s active (%s: %s vs %s %s)", peer_label(pp), to_s, paths_why_name(why), to_rtt,
			 from_s, from_rtt);
	else
		log_info("peer %s: path %s active (%s: %s)", peer_label(pp), to_s, paths_why_name(why), to_rtt);
	if (paths_path_endpoint(to, &ep) < 0)
		return;
	bool had_endpoint = pp->peer->has_endpoint;
	wg_peer_set_endpoint(pp->peer, &ep);
	paths_handover_active_changed(pp, &ep, now); /* what waited for a path goes first */
	/* Packets waited for a way to the peer: a handshake carries them now. */
	if (!had_endpoint && pp->peer->staged_len)
		wg_peer_initiate_handshake(pp->peer, now);
}

static void op_log(void *ctx, const struct path *p, enum path_state old_state, enum path_reason why)
{
	struct paths_peer *pp = ctx;
	char s[ENDPOINT_STRLEN];
	path_text(p, s, sizeof(s));
	if (why == PATH_REASON_BETTER_AVAILABLE) {
		log_info("peer %s: a better path is available: %s (handover confirm: roam path use %s %u, or --auto)",
			 peer_label(pp), s, peer_label(pp), p->id);
		return;
	}
	if (why == PATH_REASON_QUARANTINE_OVER)
		log_info("peer %s: path %s out of quarantine: probed again", peer_label(pp), s);
	log_debug("peer %s: path %s %s -> %s (%s)", peer_label(pp), s, path_state_name(old_state),
		  path_state_name(p->state), path_reason_name(why));
	/* The relay stopped answering: the server may be relaying to a NAT
	 * mapping of ours that is gone (the NAT restarted): rebind now. */
	if (p->transport == PATH_TRANSPORT_UDP_RELAY && p->state == PATH_DEAD && old_state != PATH_DEAD)
		roamd_host_rebind(pp->d);
}

static const struct path_ops paths_ops = {
	.send_probe = op_send_probe,
	.active_changed = op_active_changed,
	.log = op_log,
};

/* A route for a's family and address (UDP connect() sends nothing). */
static bool reachable(void *ctx, const struct sockaddr_any *a)
{
	(void)ctx;
	int fd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, &a->sa, a->len) == 0;
	close(fd);
	return ok;
}

static void apply_view(struct paths_peer *pp, uint64_t now)
{
	struct paths_candidates c;
	paths_candidates_from_view(&pp->info, pp->d->host.server_udp.len != 0, reachable, NULL, &c);
	unsigned added = paths_candidates_apply(&pp->set, pp->origin, &c, now);
	paths_ifaces_sync_peer(pp, now); /* each direct candidate through each interface */
	if (added) {
		/* New addresses while a path works: the peer may have moved and
		 * left that one behind. Probe every path now (the broken ones
		 * fail within two probe timeouts), as after a move of our own. */
		if (path_active(&pp->set))
			path_local_change(&pp->set, now);
		if (pp->info.online) {
			paths_callme_maybe(pp, now);
			/* Once more after the interval: this one may reach a new
			 * peer before the server's line about us does, and it drops
			 * it; a peer behind a filtering NAT would then never send to
			 * our other interfaces' mappings (t_handover_filtering). */
			pp->callme_due = true;
		}
	}
	paths_touch(pp);
}

void paths_learn(struct paths_peer *pp, const struct endpoint *ep, uint8_t why, uint64_t now)
{
	uint32_t id;
	char s[ENDPOINT_STRLEN];
	int ret = paths_candidate_add(&pp->set, pp->origin, ep, why, now, &id);
	if (ret == 0)
		paths_ifaces_sync_peer(pp, now);
	if (ret == 0 && endpoint_format(ep, s, sizeof(s)) == 0)
		log_info("peer %s: new candidate %s (%s)", peer_label(pp), s,
			 why == PATHS_FROM_CALLME ? "call me maybe" : "it sends from there");
	paths_touch(pp);
}

struct paths_peer *roamd_paths_peer_new(struct roamd *d, struct wg_peer *peer)
{
	struct roamd_paths *ps = paths_of(d);
	struct paths_peer *pp;
	/* Room in the heap now, so that re-keying a peer can never fail. */
	if (!ps || heap_reserve(&ps->heap, ps->peers + 1) < 0 || !(pp = calloc(1, sizeof(*pp))))
		return NULL;
	if (coord_probe_keys_derive(&pp->keys, d->host.st.private_key, peer->public_key) < 0) {
		free(pp);
		return NULL;
	}
	uint64_t seed;
	crypto_random(&seed, sizeof(seed));
	crypto_random(pp->txid_salt, sizeof(pp->txid_salt));
	ps->peers++;
	pp->d = d;
	pp->peer = peer;
	heap_node_init(&pp->node);
	path_set_init(&pp->set, &paths_ops, pp, seed);
	if (path_set_tune(&pp->set, &d->host.settings.tuning) < 0) /* node_settings checked them */
		log_warn("the thresholds of settings.json are inconsistent: the defaults apply");
	(void)path_set_policy(&pp->set, d->host.settings.policy, ev_now(d->loop)); /* parsed: valid */
	path_set_confirm(&pp->set, d->host.settings.confirm, ev_now(d->loop));
	return pp;
}

void roamd_paths_peer_update(struct roamd *d, struct wg_peer *peer, const struct managed_peer_info *info)
{
	struct paths_peer *pp = paths_peer_of(peer);
	(void)info; /* already in pp->info (host.c) */
	if (!pp)
		return;
	/* Its name is known now: a policy of its own (roam policy set --peer). */
	(void)path_set_policy(&pp->set, node_settings_peer_policy(&d->host.settings, pp->info.name), ev_now(d->loop));
	apply_view(pp, ev_now(d->loop));
}

void roamd_paths_peer_free(struct roamd *d, struct wg_peer *peer)
{
	struct paths_peer *pp = paths_peer_of(peer);
	struct roamd_paths *ps = paths_of(d);
	if (!pp)
		return;
	if (roamd_birthday_glue(d))
		birthday_glue_peer_gone(roamd_birthday_glue(d), pp, ev_now(d->loop));
	if (ps) {
		paths_ping_peer_gone(ps, pp);
		heap_remove(&ps->heap, &pp->node);
		ps->peers--;
	}
	coord_probe_keys_wipe(&pp->keys);
	paths_handover_peer_free(pp);
	crypto_wipe(pp, sizeof(*pp));
	free(pp);
	peer->user = NULL;
}

void roamd_paths_peer_went_offline(struct roamd *d, struct wg_peer *peer)
{
	struct paths_peer *pp = paths_peer_of(peer);
	if (pp)
		pp->offline_since_ns = ev_now(d->loop);
}

bool roamd_paths_session_predates_absence(const struct wg_peer *peer)
{
	const struct paths_peer *pp = paths_peer_of(peer);
	const struct wg_keypair *kp = peer->keypair_next ? peer->keypair_next : peer->keypair_current;
	return !pp || !kp || kp->birth < pp->offline_since_ns;
}

void roamd_paths_view_changed(struct roamd *d)
{
	for (struct wg_peer *p = wg_device_first_peer(d->wg); p; p = wg_device_next_peer(p))
		if (paths_peer_of(p))
			apply_view(paths_peer_of(p), ev_now(d->loop));
}

void roamd_paths_relay_dead(struct roamd *d, uint8_t relay)
{
	uint64_t now = ev_now(d->loop);
	for (struct wg_peer *p = wg_device_first_peer(d->wg); p; p = wg_device_next_peer(p)) {
		struct paths_peer *pp = paths_peer_of(p);
		struct endpoint ep;
		if (!pp)
			continue;
		for (unsigned i = 0; i < PATH_MAX_PER_PEER; i++) {
			const struct path *path = &pp->set.paths[i];
			if (!path->in_use || path->transport != PATH_TRANSPORT_UDP_RELAY ||
			    paths_path_endpoint(path, &ep) < 0 || endpoint_relay_index(&ep) != relay)
				continue;
			/* Whatever taught us the path (the view, its traffic). */
			pp->origin[i] = 0;
			path_remove(&pp->set, path->id, now);
		}
		paths_touch(pp);
	}
}

void roamd_paths_endpoint_seen(void *ctx, struct wg_peer *peer, const struct endpoint *src)
{
	struct roamd *d = ctx;
	struct paths_peer *pp = paths_peer_of(peer);
	uint64_t now = ev_now(d->loop);
	if (!pp) {
		wg_peer_set_endpoint(peer, src); /* not ours to steer: WireGuard roaming */
		return;
	}
	/* No path chosen yet: answer where it spoke from (a handshake
	 * response must go somewhere now, not after its 5 s retry); the
	 * path manager moves the peer once a path of its own answers. */
	if (!peer->has_endpoint)
		wg_peer_set_endpoint(peer, src);
	const struct path *p = paths_find_endpoint(&pp->set, src);
	const struct path *a = path_active(&pp->set);
	if (p) {
		path_data_received(&pp->set, p->id, now);
		/* It sends on another path than the one we send on: its side
		 * gave ours up, or it is still choosing. Does ours still answer?
		 * (Probed now if it was silent for a second.) */
		if (a && a != p)
			path_data_sent(&pp->set, a->id, now);
	} else if (endpoint_transport(src) == EP_UDP || endpoint_transport(src) == EP_UDP_AUX) {
		/* It moved (renumbered, a NAT rebinding): the new source is a
		 * candidate, and every path is probed now, as after a change of
		 * our own address: the ones its move broke fail within two
		 * probe timeouts instead of at the next heartbeat. */
		paths_learn(pp, src, PATHS_FROM_OBSERVED, now);
		path_local_change(&pp->set, now);
	}
	paths_touch(pp);
}

void roamd_paths_local_change(struct roamd *d)
{
	uint64_t now = ev_now(d->loop);
	paths_ifaces_refresh(d); /* interfaces that came or went */
	for (struct wg_peer *p = wg_device_first_peer(d->wg); p; p = wg_device_next_peer(p)) {
		struct paths_peer *pp = paths_peer_of(p);
		if (!pp)
			continue;
		pp->observed.len = 0; /* we have another address now */
		path_local_change(&pp->set, now);
		paths_callme_maybe(pp, now);
		paths_touch(pp);
	}
}

int roamd_paths_start(struct roamd *d)
{
	struct roamd_paths *ps = calloc(1, sizeof(*ps));
	int ret;
	if (!ps)
		return -ENOMEM;
	ps->d = d;
	if ((ret = heap_init(&ps->heap)) < 0 ||
	    (ret = coord_ratelimit_init(&ps->rl, COORD_PROBE_RL_SLOTS, COORD_PROBE_RL_SOURCE_RATE,
					COORD_PROBE_RL_SOURCE_BURST, COORD_PROBE_RL_GLOBAL_RATE,
					COORD_PROBE_RL_GLOBAL_BURST, ev_now(d->loop))) < 0) {
		heap_free(&ps->heap);
		free(ps);
		return ret;
	}
	ev_timer_init(&ps->timer, on_timer, ps);
	for (unsigned i = 0; i < PATHS_PING_MAX; i++)
		ps->pings[i].used = false;
	d->host.paths = ps;
	/* Hard-NAT probing: without it, pairs with a per-destination NAT stay relayed. */
	if ((ret = roamd_birthday_start(d, &paths_birthday_ops)) < 0)
		log_warn("hard-NAT probing unavailable: %s", strerror(-ret));
	else if ((ret = paths_ifaces_start(d)) < 0) /* on the same extra sockets */
		log_warn("multihoming unavailable: %s", strerror(-ret));
	return 0;
}

void roamd_paths_stop(struct roamd *d)
{
	struct roamd_paths *ps = paths_of(d);
	if (!ps)
		return;
	paths_ifaces_stop(d);
	roamd_birthday_stop(d);
	for (unsigned i = 0; i < PATHS_PING_MAX; i++)
		if (ps->pings[i].used)
			ev_timer_stop(d->loop, &ps->pings[i].timer);
	ev_timer_stop(d->loop, &ps->timer);
	heap_free(&ps->heap);
	coord_ratelimit_free(&ps->rl);
	free(ps);
	d->host.paths = NULL;
}
