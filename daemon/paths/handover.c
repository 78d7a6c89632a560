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
	return false;
}

/* ROAMD_PATH_TUNING="suspect_min_ms=100,loss_enter=300,loss_leave=125,
 * rtt_enter_ms=1500,rtt_leave_ms=1000" (any subset; lib/path/path.h,
 * struct path_tuning): the check's thresholds for every peer. Values
 * path_set_tune refuses leave the defaults. */
void paths_tuning_from_env(struct path_tuning *t)
{
	static const struct {
		const char *key;
		size_t off;
		bool ms;
	} keys[] = {
		{ "suspect_min_ms", offsetof(struct path_tuning, suspect_min_ns), true },
		{ "rtt_enter_ms", offsetof(struct path_tuning, rtt_enter_ns), true },
		{ "rtt_leave_ms", offsetof(struct path_tuning, rtt_leave_ns), true },
		{ "loss_enter", offsetof(struct path_tuning, loss_enter_permille), false },
		{ "loss_leave", offsetof(struct path_tuning, loss_leave_permille), false },
	};
	const char *s = getenv("ROAMD_PATH_TUNING");
	path_tuning_default(t);
	while (s && *s) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t n = strlen(keys[i].key);
			if (strncmp(s, keys[i].key, n) != 0 || s[n] != '=')
				continue;
			unsigned long v = strtoul(s + n + 1, NULL, 10);
			if (keys[i].ms && v <= 60000)
				*(uint64_t *)(void *)((char *)t + keys[i].off) = (uint64_t)v * EV_NSEC_PER_MSEC;
			else if (!keys[i].ms && v <= 1000)
				*(uint32_t *)(void *)((char *)t + keys[i].off) = (uint32_t)v;
		}
		s = strchr(s, ',');
		s = s ? s + 1 : NULL;
	}
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
