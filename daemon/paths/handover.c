/* Fast failover in roamd (issue 13): the engine's traffic feeds the path
 * layer's check (what we send on the active path and whether anything
 * authenticated came back), and a peer's datagrams wait in a small bounded
 * queue (lib/path/path_queue.h) while its only working path is SUSPECT,
 * to leave on the next path the policy picks instead of into a network
 * that swallows them.
 *
 * Cost per datagram: a compare of two counters, and the path layer's
 * bookkeeping at most once per PATHS_DATA_CHECK_NS per peer. */
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

/* The redundant policy: a data packet goes on the second, diverse path
 * too; the peer keeps whichever copy comes first (WireGuard's replay
 * window drops the other). Only data: a handshake message twice would
 * only cost the peer a second look. One pointer test when not redundant. */
static void duplicate(struct paths_peer *pp, const struct endpoint *to, const uint8_t *msg, size_t len)
{
	const struct path *dup = path_duplicate(&pp->set);
	struct endpoint ep;
	if (!dup || !len || msg[0] != WG_MSG_DATA || paths_path_endpoint(dup, &ep) < 0 || endpoint_equal(&ep, to))
		return;
	roamd_transport_send(pp->d, &ep, msg, len);
	pp->dup_sent++;
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
	duplicate(pp, to, msg, len);
	return false;
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
