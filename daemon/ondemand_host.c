/* Peers on demand, the data plane's side (daemon/ondemand.h): the engine
 * reports a packet to an overlay address with no peer, or an initiation
 * from a key it does not know; the questions worth asking go to the agent
 * (PS_PEER_ASK), which asks the server (daemon/managed/managed_ondemand.c),
 * adds the peer it finds and answers (PS_PEER_ANSWER); the packet kept for
 * it then goes through the engine as if it had just come from the TUN.
 * On-demand peers unused for ONDEMAND_IDLE_NS are handed back to the agent
 * to drop (PS_PEER_IDLE). */
#include <stdlib.h>
#include <string.h>

#include "daemon/privsep.h"
#include "daemon/roamd.h"
#include "daemon/test_knob.h"
#include "util/log.h"

#define IDLE_SWEEP_NS (60 * EV_NSEC_PER_SEC)

/* How long an on-demand peer may go unused; a test build takes
 * ROAMD_TEST_ONDEMAND_IDLE_S (t_group_on_demand.sh), swept every second. */
static uint64_t idle_limit_ns(uint64_t *sweep_ns)
{
	*sweep_ns = IDLE_SWEEP_NS;
	unsigned s = test_knob_s("ROAMD_TEST_ONDEMAND_IDLE_S", 86400, 0);
	if (s) {
		*sweep_ns = EV_NSEC_PER_SEC;
		return (uint64_t)s * EV_NSEC_PER_SEC;
	}
	return ONDEMAND_IDLE_NS;
}

/* Inside one of our overlay networks, and not our own address. */
static bool in_overlay(const struct roamd *d, int family, const uint8_t *dst)
{
	for (int i = 0; i < 2; i++) {
		const struct roamd_overlay_addr *a = &d->host.addr[i];
		if (!a->wanted || a->network.family != family)
			continue;
		size_t n = ip_prefix_addr_len(family);
		if (memcmp(a->addr.addr, dst, n) == 0)
			return false;
		struct ip_prefix p = { .family = family, .cidr = a->network.cidr }, net = a->network;
		memcpy(p.addr, dst, n);
		ip_prefix_mask(&p);
		ip_prefix_mask(&net);
		return ip_prefix_equal(&p, &net);
	}
	return false;
}

static void on_od_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct roamd *d = t->data;
	uint64_t next = ondemand_expire(&d->host.od, ev_now(loop));
	if (next != UINT64_MAX)
		ev_timer_start(loop, &d->host.od_timer, next);
}

static void ask(struct roamd *d, const struct ondemand_query *q, const uint8_t *pkt, size_t len)
{
	uint64_t now = ev_now(d->loop);
	if (!ondemand_want(&d->host.od, q, pkt, len, now))
		return;
	privsep_agent_send(d, PS_PEER_ASK, q, sizeof(*q));
	/* The packet kept for a question just asked expires first. */
	if (!ev_timer_pending(&d->host.od_timer) || ev_timer_deadline(&d->host.od_timer) > now + ONDEMAND_HOLD_NS)
		ev_timer_start(d->loop, &d->host.od_timer, now + ONDEMAND_HOLD_NS);
}

void roamd_ondemand_no_peer(void *ctx, int family, const uint8_t *dst, const uint8_t *pkt, size_t len)
{
	struct roamd *d = ctx;
	struct ondemand_query q;
	if (!d->is_managed || !d->host.agent || !in_overlay(d, family, dst) ||
	    ondemand_query_address(&q, family, dst) < 0)
		return;
	ask(d, &q, pkt, len);
}

void roamd_ondemand_unknown_initiator(void *ctx, const uint8_t remote_static[32])
{
	struct roamd *d = ctx;
	struct ondemand_query q;
	if (!d->is_managed || !d->host.agent)
		return;
	ondemand_query_key(&q, remote_static);
	ask(d, &q, NULL, 0);
}

void roamd_ondemand_answer(struct roamd *d, const struct ps_peer_answer *a)
{
	uint64_t now = ev_now(d->loop);
	struct ondemand_packet *pkt = ondemand_answer(&d->host.od, &a->q, (enum ondemand_result)a->result, now);
	if (!pkt)
		return;
	/* The peer is in the engine now (its PS_PEER_SET came first). */
	roamd_tun_input(d, pkt->buf, pkt->len, pkt->cap, now);
	free(pkt);
}

void roamd_ondemand_agent_started(struct roamd *d)
{
	ondemand_reset(&d->host.od);
}

/* On-demand peers nobody used for ONDEMAND_IDLE_NS: the agent drops them
 * (the server need not know: it forgets pairs by itself). */
static void on_idle_sweep(struct ev_loop *loop, struct ev_timer *t)
{
	struct roamd *d = t->data;
	uint64_t now = ev_now(loop), sweep, limit = idle_limit_ns(&sweep);
	for (struct wg_peer *p = wg_device_first_peer(d->wg); p; p = wg_device_next_peer(p)) {
		const struct managed_peer_info *mp = p->user;
		if (!mp || !mp->on_demand || !ondemand_idle(p->last_data_ns, now, limit))
			continue;
		struct ps_key k;
		memcpy(k.public_key, p->public_key, sizeof(k.public_key));
		log_info("peer %s (on demand) unused for %llu s: dropping it", mp->name,
			 (unsigned long long)(limit / EV_NSEC_PER_SEC));
		privsep_agent_send(d, PS_PEER_IDLE, &k, sizeof(k));
	}
	ev_timer_start(loop, t, now + sweep);
}

void roamd_ondemand_init(struct roamd *d)
{
	ondemand_init(&d->host.od);
	ev_timer_init(&d->host.od_timer, on_od_timer, d);
	ev_timer_init(&d->host.od_idle_timer, on_idle_sweep, d);
	uint64_t sweep;
	(void)idle_limit_ns(&sweep);
	ev_timer_start(d->loop, &d->host.od_idle_timer, ev_now(d->loop) + sweep);
}

void roamd_ondemand_stop(struct roamd *d)
{
	ev_timer_stop(d->loop, &d->host.od_timer);
	ev_timer_stop(d->loop, &d->host.od_idle_timer);
	ondemand_free(&d->host.od);
}
