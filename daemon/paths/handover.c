/* Fast failover in roamd (issue 13): the engine's traffic feeds the path
 * layer's check (what we send on the active path and whether anything
 * authenticated came back), and a peer's datagrams wait in a small bounded
 * queue (lib/path/path_queue.h) while its only working path is SUSPECT,
 * to leave on the next path the policy picks instead of into a network
 * that swallows them.
 *
 * Application classes and per-peer policies (issue 13): a packet read from
 * the TUN device carries its class (d->tx_flow, dataplane.c); when its
 * policy is not the peer's set's, or is bandwidth (flows spread over
 * paths), it leaves on that policy's path (path_choice) instead of the
 * engine's endpoint, and, redundant, with a copy on a diverse path.
 *
 * Cost per datagram: a compare of two counters, a class counter, the
 * throughput meter (O(1)), and the path layer's bookkeeping at most once
 * per PATHS_DATA_CHECK_NS per peer. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/paths/paths_internal.h"
#include "daemon/roamd.h"
#include "daemon/transport/transport.h"
#include "wg/messages.h"

/* The path layer hears of traffic this often per peer at most: finer than
 * the 100 ms floor of a late reply, coarse enough to cost nothing. */
#define PATHS_DATA_CHECK_NS (2 * EV_NSEC_PER_MSEC)

/* Hold while nothing carries the peer and the path we fell back from may
 * still come back (SUSPECT, not yet DEAD: at most two probe timeouts). */
static bool holding(const struct paths_peer *pp)
{
	const struct path *back = path_get(&pp->set, pp->set.fallback_from_id);
	return !path_active(&pp->set) && back && back->state == PATH_SUSPECT;
}

static void queue_flush(struct paths_peer *pp, const struct endpoint *to, uint64_t now)
{
	const uint8_t *msg;
	size_t len;
	if (!pp->queue_buf)
		return;
	while (path_queue_peek(&pp->queue, &msg, &len, now)) {
		roamd_transport_send(pp->d, to, msg, len);
		path_queue_pop(&pp->queue);
	}
}

static bool queue_push(struct paths_peer *pp, const uint8_t *msg, size_t len, uint64_t now)
{
	if (!pp->queue_buf) {
		/* Storage only for peers that ever need it. */
		pp->queue_buf = malloc(PATH_QUEUE_BYTES);
		if (!pp->queue_buf || path_queue_init(&pp->queue, pp->queue_buf, PATH_QUEUE_BYTES,
						      PATH_QUEUE_MAX_AGE_NS) < 0) {
			free(pp->queue_buf);
			pp->queue_buf = NULL;
			return false;
		}
	}
	return path_queue_push(&pp->queue, msg, len, now) == 0;
}

/* A copy of a data packet on path dup too (the redundant policy's second,
 * diverse path); the peer keeps whichever copy comes first (WireGuard's
 * replay window drops the other). Not when dup is where it went already. */
static bool send_copy(struct paths_peer *pp, const struct path *dup, const struct endpoint *sent_to,
		      const uint8_t *msg, size_t len, uint64_t now)
{
	struct endpoint ep;
	if (!dup || paths_path_endpoint(dup, &ep) < 0 || endpoint_equal(&ep, sent_to))
		return false;
	roamd_transport_send(pp->d, &ep, msg, len);
	path_sent_bytes(&pp->set, dup, len, now);
	pp->dup_sent++;
	return true;
}

/* A packet from the TUN device whose policy (its application class's,
 * else the peer's) may not be the set's: it goes on that policy's path
 * (path_choice), with a copy if redundant. True if sent here; false: the
 * engine's endpoint (the active path) it is. Counted per class. */
static bool class_send(struct paths_peer *pp, const struct path_flow *f, const struct endpoint *to,
		       const uint8_t *msg, size_t len, uint64_t now)
{
	const struct node_settings *s = &pp->d->host.settings;
	unsigned k = f->class_idx >= 0 && (unsigned)f->class_idx < s->n_classes ? (unsigned)f->class_idx + 1 : 0;
	enum path_policy pol = k ? s->classes[k - 1].policy : pp->set.policy;
	const struct path *second, *p;
	struct endpoint ep;
	bool here = false;
	pp->class_packets[k]++;
	if (pol == pp->set.policy && pol != PATH_POLICY_BANDWIDTH) {
		p = path_active(&pp->set); /* the common case: as the engine sends it */
		second = path_duplicate(&pp->set);
	} else {
		p = path_choice(&pp->set, pol, f->hash, &second);
		if (p && paths_path_endpoint(p, &ep) == 0 && !endpoint_equal(&ep, to)) {
			roamd_transport_send(pp->d, &ep, msg, len);
			here = true;
		}
	}
	path_sent_bytes(&pp->set, p, len, now);
	if (send_copy(pp, second, here ? &ep : to, msg, len, now))
		pp->class_dups[k]++;
	return here;
}

bool roamd_paths_data_out(struct roamd *d, struct wg_peer *peer, const struct endpoint *to, const uint8_t *msg,
			  size_t len)
{
	struct paths_peer *pp = paths_peer_of(peer);
	if (!pp || !paths_of(d))
		return false; /* not managed, or the path manager is stopping */
	uint64_t now = ev_now(d->loop);
	const struct path *a = path_active(&pp->set);
	if (a && now - pp->data_check_ns >= PATHS_DATA_CHECK_NS) {
		pp->data_check_ns = now;
		/* Authenticated packets from the active path's endpoint (those
		 * from elsewhere go through endpoint_seen) since we last looked. */
		if (peer->rx_packets != pp->seen_rx_packets) {
			pp->seen_rx_packets = peer->rx_packets;
			path_data_received(&pp->set, a->id, now);
		}
		path_data_sent(&pp->set, a->id, now); /* may probe it, if quiet */
		paths_touch(pp);
	}
	if (holding(pp))
		return queue_push(pp, msg, len, now);
	if (pp->queue_buf && path_queue_count(&pp->queue))
		queue_flush(pp, to, now); /* the old path died: what waited goes where the engine sends */
	if (!len || msg[0] != WG_MSG_DATA)
		return false; /* handshakes once, on the active path: a second would only cost the peer a look */
	if (d->tx_flow.valid)
		return class_send(pp, &d->tx_flow, to, msg, len, now);
	/* Not from the TUN now (a keepalive, a staged packet): the peer's policy. */
	path_sent_bytes(&pp->set, a, len, now);
	send_copy(pp, path_duplicate(&pp->set), to, msg, len, now);
	return false;
}

void paths_handover_settings_changed(struct paths_peer *pp)
{
	/* Class numbers may mean other classes now. */
	memset(pp->class_packets, 0, sizeof(pp->class_packets));
	memset(pp->class_dups, 0, sizeof(pp->class_dups));
}

void paths_handover_active_changed(struct paths_peer *pp, const struct endpoint *to, uint64_t now)
{
	queue_flush(pp, to, now);
}

void paths_handover_peer_free(struct paths_peer *pp)
{
	free(pp->queue_buf);
	pp->queue_buf = NULL;
}
