/* All probe timing of the path layer, called through hooks named after
 * events (like lib/wg/timers.c). Each path keeps two deadlines: the timeout
 * of its outstanding probe and the time of its next probe. The figures below
 * make the budget (a direct path that stops answering falls back to
 * the relay within 5 s): the active path's next probe goes out at most
 * PATH_ACTIVE_PROBE_INTERVAL_NS after its last answer, and PATH_FAIL_LOSSES
 * probes, one per RTO (at most 1 s), kill it; with a pong still in flight at
 * the break that is RTT + 2 s + 2 RTO: 2.5 s on a 10 ms path, 4.9 s at
 * 900 ms (tests/unit/path/test_path.c, failover_budget). */
#include "path/path_internal.h"

/* Heartbeat of the active path, and of the standby ones (the relay kept as
 * a fallback, a direct path that lost to nothing better). */
#define PATH_ACTIVE_PROBE_INTERVAL_NS (2 * PATH_NS_PER_SEC)
#define PATH_STANDBY_PROBE_INTERVAL_NS (5 * PATH_NS_PER_SEC)
/* A metered standby (path_set_metered): known to work, at little cost. */
#define PATH_METERED_PROBE_INTERVAL_NS (60 * PATH_NS_PER_SEC)
/* Probe timeout: RFC 6298 RTO (SRTT + 4 RTTVAR) clamped; 1 s before any sample. */
#define PATH_RTO_INITIAL_NS (1 * PATH_NS_PER_SEC)
#define PATH_RTO_MIN_NS (250 * PATH_NS_PER_MS)
#define PATH_RTO_MAX_NS (1 * PATH_NS_PER_SEC)
/* A new candidate gets this many probes, one per RTO, before it is dead:
 * long enough for the other side's "call me maybe" probes to open its NAT. */
#define PATH_PROBE_ATTEMPTS 5
/* A path that worked is dead after this many probes lost in a row. */
#define PATH_FAIL_LOSSES 2
/* Dead paths are re-probed after a backoff doubling from MIN to MAX. */
#define PATH_DEAD_BACKOFF_MIN_NS (2 * PATH_NS_PER_SEC)
#define PATH_DEAD_BACKOFF_MAX_NS (64 * PATH_NS_PER_SEC)
/* Fast failover (issue 13) comes first, though: a path that worked and
 * does not answer within path_suspect_timeout() (max(2 x SRTT, 100 ms)) of
 * a probe is SUSPECT at once and carries nothing; and we send on the active
 * path but heard nothing on it for that long: it is probed now rather than
 * at the heartbeat (so a silent loss under one-way traffic is noticed
 * within two such timeouts), at most once per timeout. */
/* A relayed path is probed for quiet under traffic at most this often:
 * receivers rate-limit PINGs per source (20/s, lib/coord/ratelimit.h), and
 * every relayed PING comes from the relay, whichever peer sent it. */
#define PATH_RELAY_QUIET_NS (1 * PATH_NS_PER_SEC)
/* Data from the peer on a dead path re-probes it, at most this often. */
#define PATH_DATA_REPROBE_MIN_NS (1 * PATH_NS_PER_SEC)
/* Data on a path still PROBING whose probe has been out this long: that
 * probe was probably lost (sent before the far end or the relay knew us);
 * ask again now rather than at its timeout (1 s before any RTT sample). */
#define PATH_PROBING_REPROBE_MIN_NS (20 * PATH_NS_PER_MS)

/* 0 means "not armed"; a deadline at time 0 still has to fire. */
static uint64_t deadline_at(uint64_t t)
{
	return t ? t : 1;
}

static uint64_t path_rto(const struct path *p)
{
	if (!p->has_rtt)
		return PATH_RTO_INITIAL_NS;
	uint64_t rto = p->srtt_ns + 4 * p->rttvar_ns;
	if (rto < PATH_RTO_MIN_NS)
		return PATH_RTO_MIN_NS;
	return rto > PATH_RTO_MAX_NS ? PATH_RTO_MAX_NS : rto;
}

static uint64_t probe_interval(const struct path *p)
{
	if (p->state == PATH_ACTIVE)
		return PATH_ACTIVE_PROBE_INTERVAL_NS;
	return p->metered ? PATH_METERED_PROBE_INTERVAL_NS : PATH_STANDBY_PROBE_INTERVAL_NS;
}

/* A reply is due on p: SUSPECT unless something authenticated comes in
 * time. The earliest outstanding expectation counts. */
static void expect_reply(struct path_set *set, struct path *p, uint64_t now)
{
	if ((p->state == PATH_ACTIVE || p->state == PATH_STANDBY) && !p->expect_deadline_ns)
		p->expect_deadline_ns = deadline_at(now + path_suspect_timeout(set, p));
}

static void probe_send(struct path_set *set, struct path *p, uint64_t now)
{
	expect_reply(set, p, now);
	p->txid = set->next_txid++;
	p->next_probe_ns = 0;
	p->probes_sent++;
	path_timers_probe_sent(set, p, now);
	set->ops->send_probe(set->ctx, p, p->txid);
}

/* Probe at once unless one is already on its way. */
static void probe_now(struct path_set *set, struct path *p, uint64_t now)
{
	if (!p->probe_deadline_ns)
		probe_send(set, p, now);
}

/* Bring the next probe forward to t (never push it back). */
static void probe_no_later_than(struct path *p, uint64_t t)
{
	if (!p->next_probe_ns || p->next_probe_ns > t)
		p->next_probe_ns = deadline_at(t);
}

static void expired_probe(struct path_set *set, struct path *p, uint64_t now)
{
	p->probe_deadline_ns = 0;
	switch (p->state) {
	case PATH_PROBING:
		if (++p->probe_attempts >= PATH_PROBE_ATTEMPTS)
			path_set_state(set, p, PATH_DEAD, PATH_REASON_PROBES_UNANSWERED, now);
		else
			probe_no_later_than(p, now);
		break;
	case PATH_ACTIVE:
	case PATH_STANDBY:
	case PATH_SUSPECT:
		/* Loss is measured on working paths only: the unanswered probes
		 * of a new or dead path say nothing about it once it answers. */
		path_record_probe(p, true);
		path_quality_update(set, p);
		if (p->losses_in_row >= PATH_FAIL_LOSSES)
			path_set_state(set, p, PATH_DEAD, PATH_REASON_PROBES_LOST, now);
		else
			probe_no_later_than(p, now); /* one loss: ask again at once */
		break;
	case PATH_DEAD:
		p->dead_backoff_ns = p->dead_backoff_ns ? 2 * p->dead_backoff_ns : PATH_DEAD_BACKOFF_MIN_NS;
		if (p->dead_backoff_ns > PATH_DEAD_BACKOFF_MAX_NS)
			p->dead_backoff_ns = PATH_DEAD_BACKOFF_MAX_NS;
		p->next_probe_ns = deadline_at(now + p->dead_backoff_ns);
		break;
	default:
		break;
	}
}

uint64_t path_next_deadline(const struct path_set *set)
{
	uint64_t next = UINT64_MAX;
	for (size_t i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &set->paths[i];
		uint64_t d = p->probe_deadline_ns ? p->probe_deadline_ns : p->next_probe_ns;
		if (p->in_use && p->state == PATH_QUARANTINED)
			d = p->quarantine_until_ns;
		if (p->in_use && d && d < next)
			next = d;
		if (p->in_use && p->expect_deadline_ns && p->expect_deadline_ns < next)
			next = p->expect_deadline_ns;
	}
	return next;
}

/* Back as a new candidate: probed at once, and it carries data again only
 * once a probe is answered. */
static void quarantine_over(struct path_set *set, struct path *p, uint64_t now)
{
	p->quarantine_left_ns = now;
	path_set_state(set, p, PATH_PROBING, PATH_REASON_QUARANTINE_OVER, now);
	probe_send(set, p, now);
}

/* Quarantine (path_tamper.c): the first lasts the set's quarantine_ns; one
 * that follows within PATH_QUARANTINE_MAX_NS of the path coming out lasts
 * twice the last, up to that cap. */
void path_timers_quarantined(struct path_set *set, struct path *p, uint64_t now)
{
	uint64_t len = set->tuning.quarantine_ns;
	if (p->quarantine_left_ns && now - p->quarantine_left_ns < PATH_QUARANTINE_MAX_NS &&
	    p->quarantine_backoff_ns)
		len = 2 * p->quarantine_backoff_ns;
	if (len > PATH_QUARANTINE_MAX_NS)
		len = PATH_QUARANTINE_MAX_NS;
	p->quarantine_backoff_ns = len;
	p->quarantine_until_ns = deadline_at(now + len);
}

/* Each path: at most one timeout and one probe per call, so a clock that
 * jumped hours ahead costs one loss, not one per missed interval. */
void path_run_timers(struct path_set *set, uint64_t now)
{
	for (size_t i = 0; i < PATH_MAX_PER_PEER; i++) {
		struct path *p = &set->paths[i];
		if (!p->in_use)
			continue;
		if (p->state == PATH_QUARANTINED) {
			if (p->quarantine_until_ns <= now)
				quarantine_over(set, p, now);
			continue;
		}
		if (p->expect_deadline_ns && p->expect_deadline_ns <= now) {
			p->expect_deadline_ns = 0;
			if (p->state == PATH_ACTIVE || p->state == PATH_STANDBY)
				path_set_state(set, p, PATH_SUSPECT, PATH_REASON_REPLY_LATE, now);
		}
		if (p->probe_deadline_ns && p->probe_deadline_ns <= now)
			expired_probe(set, p, now);
		if (!p->probe_deadline_ns && p->next_probe_ns && p->next_probe_ns <= now)
			probe_send(set, p, now);
	}
	path_policy_run(set, now, PATH_REASON_ACTIVE_FAILED);
}

void path_timers_path_added(struct path_set *set, struct path *p, uint64_t now)
{
	probe_now(set, p, now);
}

void path_timers_probe_sent(struct path_set *set, struct path *p, uint64_t now)
{
	(void)set;
	p->probe_sent_ns = now;
	p->probe_deadline_ns = deadline_at(now + path_rto(p));
}

void path_timers_probe_answered(struct path_set *set, struct path *p, uint64_t now)
{
	p->probe_deadline_ns = 0;
	p->probe_attempts = 0;
	p->next_probe_ns = deadline_at(now + probe_interval(p));
	/* A challenger is confirmed by the first probe answered after its hold. */
	if (set->challenger_id == p->id && set->challenger_confirm_ns > now)
		p->next_probe_ns = set->challenger_confirm_ns;
}

void path_timers_data_sent(struct path_set *set, struct path *p, uint64_t now)
{
	uint64_t quiet = path_suspect_timeout(set, p);
	if (p->transport != PATH_TRANSPORT_UDP_DIRECT && quiet < PATH_RELAY_QUIET_NS)
		quiet = PATH_RELAY_QUIET_NS;
	if (p->state != PATH_ACTIVE || p->probe_deadline_ns)
		return;
	if (now - p->last_rx_ns >= quiet && now - p->probe_sent_ns >= quiet)
		probe_send(set, p, now);
}

void path_timers_expect_reply(struct path_set *set, struct path *p, uint64_t now)
{
	expect_reply(set, p, now);
}

/* The peer reached us on a path we thought dead: check it now instead of
 * after the backoff (the data is authenticated, so only the peer can). */
void path_timers_data_received(struct path_set *set, struct path *p, uint64_t now)
{
	if (p->state == PATH_DEAD && !p->probe_deadline_ns &&
	    now - p->probe_sent_ns >= PATH_DATA_REPROBE_MIN_NS) {
		probe_send(set, p, now);
	} else if (p->state == PATH_SUSPECT && !p->probe_deadline_ns) {
		probe_send(set, p, now); /* it may be back: only a probe answered says so */
	} else if (p->state == PATH_PROBING && p->probe_deadline_ns &&
		   now - p->probe_sent_ns >= PATH_PROBING_REPROBE_MIN_NS) {
		/* Replaced, not counted as lost: the path may well work. */
		p->probe_deadline_ns = 0;
		probe_send(set, p, now);
	}
}

void path_timers_local_change(struct path_set *set, struct path *p, uint64_t now)
{
	/* An outstanding probe left from the old address tells nothing now. */
	p->probe_deadline_ns = 0;
	probe_send(set, p, now);
}

void path_timers_became_challenger(struct path_set *set, struct path *p, uint64_t confirm_at)
{
	(void)set;
	if (!p->probe_deadline_ns)
		probe_no_later_than(p, confirm_at);
}

void path_timers_state_changed(struct path_set *set, struct path *p, uint64_t now)
{
	(void)set;
	switch (p->state) {
	case PATH_PROBING:
		p->probe_attempts = 0;
		p->dead_backoff_ns = 0;
		break;
	case PATH_ACTIVE:
		if (!p->probe_deadline_ns)
			probe_no_later_than(p, now + PATH_ACTIVE_PROBE_INTERVAL_NS);
		break;
	case PATH_STANDBY:
		p->dead_backoff_ns = 0;
		break;
	case PATH_SUSPECT:
		/* Ask now (unless a probe is out already): its answer is the
		 * way back to STANDBY, two of them lost the way to DEAD. */
		p->suspect_count++;
		if (!p->probe_deadline_ns)
			probe_no_later_than(p, now);
		break;
	case PATH_QUARANTINED:
		/* Nothing goes out on it, so nothing is due from it. */
		p->expect_deadline_ns = 0;
		p->probe_deadline_ns = 0;
		p->next_probe_ns = 0;
		break;
	case PATH_DEAD:
		p->expect_deadline_ns = 0;
		p->probe_deadline_ns = 0;
		p->dead_backoff_ns = PATH_DEAD_BACKOFF_MIN_NS;
		p->next_probe_ns = deadline_at(now + p->dead_backoff_ns);
		break;
	default:
		break;
	}
}
