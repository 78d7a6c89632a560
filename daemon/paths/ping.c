/* `roam ping`: every path of a peer probed at once, outside the path
 * timers (own txids, tagged PATHS_TAG_PING | slot << 32 | path id), one
 * report per request: the first direct answer, else the best answer by
 * the timeout, else none. */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "daemon/paths/paths_internal.h"
#include "daemon/roamd.h"

static void report(struct roamd_paths *ps, struct paths_ping *pg)
{
	struct paths_ping_result r = pg->r;
	paths_ping_cb cb = pg->cb;
	void *ctx = pg->ctx;
	ev_timer_stop(ps->d->loop, &pg->timer);
	memset(pg, 0, sizeof(*pg));
	cb(ctx, &r); /* last: it may start another ping */
}

static void on_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct paths_ping *pg = t->data;
	struct roamd_paths *ps = pg->pp ? paths_of(pg->pp->d) : NULL;
	(void)loop;
	if (ps)
		report(ps, pg);
}

int roamd_paths_ping(struct roamd *d, struct wg_peer *peer, uint64_t timeout_ns, paths_ping_cb cb, void *ctx)
{
	struct roamd_paths *ps = paths_of(d);
	struct paths_peer *pp = paths_peer_of(peer);
	struct paths_ping *pg = NULL;
	uint64_t now = ev_now(d->loop);
	if (!ps || !pp || !path_count(&pp->set))
		return -ENOENT;
	for (unsigned i = 0; i < PATHS_PING_MAX && !pg; i++)
		if (!ps->pings[i].used)
			pg = &ps->pings[i];
	if (!pg)
		return -EBUSY;
	memset(pg, 0, sizeof(*pg));
	pg->used = true;
	pg->pp = pp;
	pg->cb = cb;
	pg->ctx = ctx;
	pg->started_ns = now;
	ev_timer_init(&pg->timer, on_timeout, pg);
	uint64_t slot = (uint64_t)(pg - ps->pings);
	for (unsigned i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &pp->set.paths[i];
		struct endpoint ep;
		uint8_t txid[COORD_PROBE_TXID_LEN];
		if (!p->in_use || paths_path_endpoint(p, &ep) < 0)
			continue;
		crypto_random(txid, sizeof(txid));
		paths_send_ping(pp, &ep, txid, PATHS_TAG_PING | slot << 32 | p->id, now);
		pg->r.probed++;
	}
	ev_timer_start(d->loop, &pg->timer, now + timeout_ns);
	return 0;
}

void paths_ping_answered(struct roamd_paths *ps, struct paths_peer *pp, uint64_t tag, uint64_t sent_ns,
			 const struct endpoint *src, uint64_t now)
{
	unsigned slot = (unsigned)((tag >> 32) & 0x7fffffff);
	if (slot >= PATHS_PING_MAX)
		return;
	struct paths_ping *pg = &ps->pings[slot];
	const struct path *p = path_get(&pp->set, (uint32_t)tag);
	struct endpoint ep;
	/* The answer must come back on the path asked, for the peer asked (a
	 * late PONG to a slot reused since is someone else's). */
	if (!pg->used || pg->pp != pp || sent_ns < pg->started_ns || !p || paths_path_endpoint(p, &ep) < 0 ||
	    !endpoint_equal(&ep, src))
		return;
	pg->r.answers++;
	bool direct = p->transport == PATH_TRANSPORT_UDP_DIRECT;
	uint64_t rtt = now - sent_ns;
	if (!pg->r.answered || (direct && pg->r.transport != PATH_TRANSPORT_UDP_DIRECT) ||
	    (p->transport == pg->r.transport && rtt < pg->r.rtt_ns)) {
		pg->r.answered = true;
		pg->r.ep = ep;
		pg->r.transport = p->transport;
		pg->r.rtt_ns = rtt;
	}
	if (direct)
		report(ps, pg);
}

void paths_ping_peer_gone(struct roamd_paths *ps, struct paths_peer *pp)
{
	for (unsigned i = 0; i < PATHS_PING_MAX; i++)
		if (ps->pings[i].used && ps->pings[i].pp == pp) {
			ps->pings[i].r.answered = false; /* its paths are gone: nothing to report as working */
			report(ps, &ps->pings[i]);
		}
}

void roamd_paths_ping_cancel(struct roamd *d, void *ctx)
{
	struct roamd_paths *ps = paths_of(d);
	for (unsigned i = 0; ps && i < PATHS_PING_MAX; i++)
		if (ps->pings[i].used && ps->pings[i].ctx == ctx) {
			ev_timer_stop(d->loop, &ps->pings[i].timer);
			memset(&ps->pings[i], 0, sizeof(ps->pings[i]));
		}
}
