/* The relay link ladder (ladder.h): no I/O, no clock. */
#include "daemon/relaylink/ladder.h"

#include <string.h>

#define FIRST_TCP MANAGED_RELAY_LINK_TLS
#define LAST_TCP MANAGED_RELAY_LINK_LONG_POLL

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* How long after need_tcp_at each TCP link opens. */
static uint64_t stage_offset(enum managed_relay_link kind)
{
	switch (kind) {
	case MANAGED_RELAY_LINK_WEBSOCKET: return LADDER_WS_AFTER_NS;
	case MANAGED_RELAY_LINK_LONG_POLL: return LADDER_POLL_AFTER_NS;
	default: return 0;
	}
}

void ladder_start(struct ladder *l, uint64_t now, enum managed_relay_link forced)
{
	memset(l, 0, sizeof(*l));
	l->running = true;
	l->forced = ladder_is_tcp(forced) ? forced : MANAGED_RELAY_LINK_NONE;
	l->need_tcp_at = l->forced ? now : now + LADDER_UDP_GRACE_NS;
	l->current = MANAGED_RELAY_LINK_NONE;
}

void ladder_stop(struct ladder *l, const struct ladder_ops *ops, void *ctx)
{
	for (int k = FIRST_TCP; k <= LAST_TCP; k++)
		if (l->l[k].state != LADDER_CLOSED) {
			l->l[k].state = LADDER_CLOSED;
			ops->close(ctx, (enum managed_relay_link)k);
		}
	l->running = false;
	l->current = MANAGED_RELAY_LINK_NONE;
}

void ladder_udp_ack(struct ladder *l, uint64_t now)
{
	l->udp_ack_at = now;
	l->udp_probe_at = 0;
	l->udp_misses = 0;
}

void ladder_udp_probe(struct ladder *l, uint64_t now)
{
	/* The first unanswered one counts: more BINDINGs (a rebind, a
	 * challenge's answer) do not push its deadline back. */
	if (l->running && !l->forced && !l->udp_probe_at)
		l->udp_probe_at = now;
}

/* A BINDING unanswered for the probe's time while UDP carries: one more
 * at once; the second in a row unanswered too: UDP is gone (a new network,
 * maybe proxy-only, or the server's UDP port blocked); forget its
 * BINDING_ACK so that the TCP links open now rather than when it goes
 * stale. Returns when to look again. */
static uint64_t probe_check(struct ladder *l, uint64_t now, const struct ladder_ops *ops, void *ctx)
{
	if (!l->udp_probe_at)
		return LADDER_NEVER;
	if (now < l->udp_probe_at + LADDER_UDP_PROBE_NS)
		return l->udp_probe_at + LADDER_UDP_PROBE_NS;
	l->udp_probe_at = 0;
	if (l->current != MANAGED_RELAY_LINK_UDP) {
		l->udp_misses = 0;
		return LADDER_NEVER;
	}
	if (++l->udp_misses < LADDER_UDP_MISSES && ops->reprobe) {
		l->udp_probe_at = now; /* before the call: its BINDING is this probe */
		ops->reprobe(ctx);
		return now + LADDER_UDP_PROBE_NS;
	}
	l->udp_ack_at = 0;
	l->udp_misses = 0;
	return LADDER_NEVER;
}

void ladder_udp_blocked(struct ladder *l, bool blocked)
{
	l->udp_blocked = blocked;
}

void ladder_link_up(struct ladder *l, enum managed_relay_link kind, uint64_t now)
{
	if (!ladder_is_tcp(kind) || l->l[kind].state != LADDER_OPENING)
		return;
	l->l[kind] = (struct ladder_link){ .state = LADDER_UP, .since = now, .last_rx = now };
	/* The server answers again: better links that failed meanwhile may
	 * have failed for the same reason (it was down): one more try now,
	 * not after their backoff. */
	for (int k = FIRST_TCP; k < (int)kind; k++)
		if (l->l[k].state == LADDER_CLOSED)
			l->l[k].failures = 0;
}

void ladder_link_rx(struct ladder *l, enum managed_relay_link kind, uint64_t now)
{
	if (ladder_is_tcp(kind) && l->l[kind].state == LADDER_UP)
		l->l[kind].last_rx = now;
}

void ladder_link_failed(struct ladder *l, enum managed_relay_link kind, uint64_t now)
{
	if (!ladder_is_tcp(kind) || l->l[kind].state == LADDER_CLOSED)
		return;
	struct ladder_link *k = &l->l[kind];
	k->state = LADDER_CLOSED;
	k->failed_at = now;
	k->failures++;
}

static bool udp_ok(const struct ladder *l, uint64_t now)
{
	return !l->forced && l->udp_ack_at && now - l->udp_ack_at < LADDER_UDP_FRESH_NS;
}

static enum managed_relay_link best_tcp_up(const struct ladder *l)
{
	for (int k = FIRST_TCP; k <= LAST_TCP; k++)
		if (l->l[k].state == LADDER_UP)
			return (enum managed_relay_link)k;
	return MANAGED_RELAY_LINK_NONE;
}

static uint64_t retry_at(const struct ladder_link *k, bool busy)
{
	if (!k->failures)
		return 0;
	uint64_t base = busy ? LADDER_RETRY_BUSY_NS : LADDER_RETRY_IDLE_NS;
	uint64_t max = busy ? LADDER_RETRY_BUSY_MAX_NS : LADDER_RETRY_IDLE_MAX_NS;
	uint64_t delay = base;
	for (unsigned i = 1; i < k->failures && delay < max; i++)
		delay *= 2;
	return k->failed_at + min_u64(delay, max);
}

static void close_link(struct ladder *l, enum managed_relay_link kind, const struct ladder_ops *ops, void *ctx)
{
	l->l[kind].state = LADDER_CLOSED;
	ops->close(ctx, kind);
}

static uint64_t link_deadline(const struct ladder_link *lk)
{
	if (lk->state == LADDER_UP)
		return lk->last_rx + LADDER_IDLE_NS;
	if (lk->state == LADDER_OPENING)
		return lk->since + LADDER_OPEN_TIMEOUT_NS;
	return LADDER_NEVER;
}

/* Links that died quietly: nothing received, or never came up. */
static void expire(struct ladder *l, uint64_t now, const struct ladder_ops *ops, void *ctx)
{
	for (int k = FIRST_TCP; k <= LAST_TCP; k++) {
		if (now < link_deadline(&l->l[k]))
			continue;
		close_link(l, (enum managed_relay_link)k, ops, ctx);
		l->l[k].state = LADDER_OPENING; /* so that it counts as a failure */
		ladder_link_failed(l, (enum managed_relay_link)k, now);
	}
}

static uint64_t links_deadline(const struct ladder *l)
{
	uint64_t next = LADDER_NEVER;
	for (int k = FIRST_TCP; k <= LAST_TCP; k++)
		next = min_u64(next, link_deadline(&l->l[k]));
	return next;
}

/* UDP carries: TCP links still opening are not needed; those up close
 * after the overlap. */
static uint64_t run_udp(struct ladder *l, uint64_t now, const struct ladder_ops *ops, void *ctx)
{
	if (l->current != MANAGED_RELAY_LINK_UDP) {
		l->current = MANAGED_RELAY_LINK_UDP;
		l->udp_since = now;
	}
	l->need_tcp_at = LADDER_NEVER;
	uint64_t next = l->udp_ack_at + LADDER_UDP_FRESH_NS;
	for (int k = FIRST_TCP; k <= LAST_TCP; k++) {
		if (l->l[k].state == LADDER_OPENING ||
		    (l->l[k].state == LADDER_UP && now >= l->udp_since + LADDER_UDP_OVERLAP_NS))
			close_link(l, (enum managed_relay_link)k, ops, ctx);
		else if (l->l[k].state == LADDER_UP)
			next = min_u64(next, l->udp_since + LADDER_UDP_OVERLAP_NS);
		l->l[k].failures = 0; /* a later need starts afresh */
	}
	return next;
}

static uint64_t run_tcp(struct ladder *l, uint64_t now, const struct ladder_ops *ops, void *ctx)
{
	uint64_t next = LADDER_NEVER;
	enum managed_relay_link best = best_tcp_up(l);
	int best_k = (int)best, forced_k = (int)l->forced;
	if (l->need_tcp_at == LADDER_NEVER || (!best && l->current != MANAGED_RELAY_LINK_NONE))
		l->need_tcp_at = now; /* UDP went, or the link we had: climb again */
	for (int k = FIRST_TCP; k <= LAST_TCP; k++) {
		struct ladder_link *lk = &l->l[k];
		bool wanted = !forced_k || forced_k == k;
		if (best_k && k > best_k) {
			/* Worse than one that carries: not needed. */
			if (lk->state != LADDER_CLOSED)
				close_link(l, (enum managed_relay_link)k, ops, ctx);
			continue;
		}
		if (!wanted || lk->state != LADDER_CLOSED || k == best_k)
			continue;
		uint64_t at = l->need_tcp_at + (l->forced ? 0 : stage_offset((enum managed_relay_link)k));
		uint64_t retry = retry_at(lk, best != MANAGED_RELAY_LINK_NONE);
		if (retry > at)
			at = retry;
		/* A later stage waits for the earlier ones only while they may
		 * still come up; once at is reached it opens whatever they do. */
		if (now >= at) {
			lk->state = LADDER_OPENING;
			lk->since = now;
			ops->open(ctx, (enum managed_relay_link)k);
		} else {
			next = min_u64(next, at);
		}
	}
	l->current = best;
	return next;
}

uint64_t ladder_run(struct ladder *l, uint64_t now, const struct ladder_ops *ops, void *ctx)
{
	if (!l->running)
		return LADDER_NEVER;
	if (l->udp_blocked && !l->udp_ack_at && l->need_tcp_at != LADDER_NEVER && l->need_tcp_at > now)
		l->need_tcp_at = now; /* no grace for UDP known not to work */
	uint64_t probe = probe_check(l, now, ops, ctx), next;
	expire(l, now, ops, ctx);
	if (udp_ok(l, now))
		next = run_udp(l, now, ops, ctx);
	else if (l->current == MANAGED_RELAY_LINK_NONE && l->need_tcp_at > now && l->need_tcp_at != LADDER_NEVER)
		next = l->need_tcp_at; /* UDP's grace */
	else
		next = run_tcp(l, now, ops, ctx);
	/* Whatever carries may also be replaced by a better one coming up
	 * (an event) or die quietly (its deadline). */
	return min_u64(min_u64(next, probe), links_deadline(l));
}

unsigned ladder_binding_interval_s(const struct ladder *l, unsigned normal_s)
{
	if (l->running && !l->forced && l->current != MANAGED_RELAY_LINK_UDP)
		return LADDER_BINDING_FAST_S < normal_s ? LADDER_BINDING_FAST_S : normal_s;
	return normal_s;
}
