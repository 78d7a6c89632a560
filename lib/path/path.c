/* The path set: candidates in and out, events from the daemon, RTT and loss
 * bookkeeping, and the one place states change. Timing is in path_timers.c,
 * the choice of the active path in path_policy.c. */
#include <errno.h>
#include <string.h>

#include "path/path_internal.h"

void path_set_init(struct path_set *set, const struct path_ops *ops, void *ctx, uint64_t txid_seed)
{
	memset(set, 0, sizeof(*set));
	set->ops = ops;
	set->ctx = ctx;
	set->next_id = 1;
	set->next_txid = txid_seed;
	memset(set->choice_slot, PATH_SLOT_NONE, sizeof(set->choice_slot));
	set->second_slot = PATH_SLOT_NONE;
	path_tuning_default(&set->tuning);
}

void path_tuning_default(struct path_tuning *t)
{
	*t = (struct path_tuning){
		.suspect_min_ns = 100 * PATH_NS_PER_MS,
		.suspect_rtt_mult = 2,
		.loss_enter_permille = 300,
		.loss_leave_permille = 125,
		.rtt_enter_ns = 1500 * PATH_NS_PER_MS,
		.rtt_leave_ns = 1000 * PATH_NS_PER_MS,
		.tamper_threshold = 32,
		.tamper_window_ns = 10 * PATH_NS_PER_SEC,
		.quarantine_ns = 30 * PATH_NS_PER_SEC,
	};
}

int path_tuning_check(const struct path_tuning *t)
{
	if (!t->suspect_rtt_mult || t->suspect_rtt_mult > 16 || t->suspect_min_ns < PATH_NS_PER_MS ||
	    t->suspect_min_ns > 10 * PATH_NS_PER_SEC || t->loss_enter_permille > 1000 ||
	    t->loss_leave_permille > t->loss_enter_permille || t->rtt_leave_ns > t->rtt_enter_ns ||
	    t->tamper_threshold > 1000 || t->tamper_window_ns < 100 * PATH_NS_PER_MS ||
	    t->tamper_window_ns > 60 * PATH_NS_PER_SEC || t->quarantine_ns < PATH_NS_PER_SEC ||
	    t->quarantine_ns > 60 * PATH_NS_PER_SEC)
		return -EINVAL;
	return 0;
}

int path_set_tune(struct path_set *set, const struct path_tuning *t)
{
	if (path_tuning_check(t) < 0)
		return -EINVAL;
	set->tuning = *t;
	return 0;
}

uint64_t path_suspect_timeout(const struct path_set *set, const struct path *p)
{
	uint64_t t = p->has_rtt ? set->tuning.suspect_rtt_mult * p->srtt_ns : 0;
	return t > set->tuning.suspect_min_ns ? t : set->tuning.suspect_min_ns;
}

static int path_slot(const struct path_set *set, uint32_t id)
{
	if (!id)
		return -1;
	for (int i = 0; i < PATH_MAX_PER_PEER; i++)
		if (set->paths[i].in_use && set->paths[i].id == id)
			return i;
	return -1;
}

struct path *path_lookup(struct path_set *set, uint32_t id)
{
	int i = path_slot(set, id);
	return i < 0 ? NULL : &set->paths[i];
}

/* Every event handler starts here: the path exists and its state is one
 * of the four (anything else is memory corruption, refused). */
int path_for_event(struct path_set *set, uint32_t id, struct path **out)
{
	struct path *p = path_lookup(set, id);
	if (!p)
		return -ENOENT;
	switch (p->state) {
	case PATH_PROBING:
	case PATH_ACTIVE:
	case PATH_STANDBY:
	case PATH_DEAD:
	case PATH_SUSPECT:
	case PATH_QUARANTINED:
		*out = p;
		return 0;
	default:
		return -EINVAL;
	}
}

const struct path *path_get(const struct path_set *set, uint32_t id)
{
	int i = path_slot(set, id);
	return i < 0 ? NULL : &set->paths[i];
}

const struct path *path_active(const struct path_set *set)
{
	return path_get(set, set->active_id);
}

const struct path *path_find(const struct path_set *set, enum path_transport transport,
			     const void *addr, size_t addr_len)
{
	for (size_t i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &set->paths[i];
		if (p->in_use && p->transport == transport && p->addr.len == addr_len &&
		    memcmp(p->addr.bytes, addr, addr_len) == 0)
			return p;
	}
	return NULL;
}

unsigned path_count(const struct path_set *set)
{
	unsigned n = 0;
	for (size_t i = 0; i < PATH_MAX_PER_PEER; i++)
		n += set->paths[i].in_use;
	return n;
}

unsigned path_loss_permille(const struct path *p)
{
	if (!p->loss_len)
		return 0;
	return (unsigned)__builtin_popcount(p->loss_bits) * 1000u / p->loss_len;
}

void path_set_state(struct path_set *set, struct path *p, enum path_state s, enum path_reason why,
		    uint64_t now)
{
	enum path_state old = p->state;
	if (old == s)
		return;
	p->state = s;
	p->state_since_ns = now;
	path_timers_state_changed(set, p, now);
	if (set->ops->log)
		set->ops->log(set->ctx, p, old, why);
}

int path_add(struct path_set *set, enum path_transport transport, const void *addr, size_t addr_len,
	     uint32_t cost_us, uint64_t now, uint32_t *id)
{
	struct path *p = NULL;

	if ((unsigned)transport >= PATH_TRANSPORT_COUNT || !addr || !addr_len || addr_len > PATH_ADDR_MAX)
		return -EINVAL;
	if (path_find(set, transport, addr, addr_len))
		return -EEXIST;
	for (size_t i = 0; i < PATH_MAX_PER_PEER && !p; i++)
		if (!set->paths[i].in_use)
			p = &set->paths[i];
	if (!p)
		return -ENOSPC;

	memset(p, 0, sizeof(*p));
	p->in_use = true;
	/* Ids are not reused while 2^32 adds go by; 0 means "none", and a
	 * long-lived path keeps its id past a wrap. */
	while (!set->next_id || path_lookup(set, set->next_id))
		set->next_id++;
	p->id = set->next_id++;
	p->transport = transport;
	p->addr.len = (uint8_t)addr_len;
	memcpy(p->addr.bytes, addr, addr_len);
	p->cost_us = cost_us;
	p->state = PATH_PROBING;
	p->state_since_ns = now;
	if (set->ops->log)
		set->ops->log(set->ctx, p, PATH_PROBING, PATH_REASON_ADDED);
	path_timers_path_added(set, p, now);
	*id = p->id;
	return 0;
}

int path_remove(struct path_set *set, uint32_t id, uint64_t now)
{
	struct path *p;
	int r = path_for_event(set, id, &p);
	if (r < 0)
		return r;
	/* Logged once, as a move to DEAD; the policy then replaces it if it
	 * was active, while the slot still holds it for active_changed. */
	if (p->state != PATH_DEAD)
		path_set_state(set, p, PATH_DEAD, PATH_REASON_REMOVED, now);
	else if (set->ops->log)
		set->ops->log(set->ctx, p, PATH_DEAD, PATH_REASON_REMOVED);
	if (set->challenger_id == id)
		set->challenger_id = 0;
	if (set->fallback_from_id == id)
		set->fallback_from_id = 0;
	path_policy_run(set, now, PATH_REASON_ACTIVE_REMOVED);
	memset(p, 0, sizeof(*p));
	return 0;
}

/* RFC 6298 section 2: the first sample sets SRTT = R, RTTVAR = R / 2; later
 * ones blend with alpha = 1/8, beta = 1/4. */
static void rtt_sample(struct path *p, uint64_t r)
{
	if (!p->has_rtt) {
		p->srtt_ns = r;
		p->rttvar_ns = r / 2;
		p->has_rtt = true;
		p->last_rtt_ns = r;
		return;
	}
	/* Jitter as RFC 3550 6.4.1 estimates it, over successive round trips. */
	uint64_t d = p->last_rtt_ns > r ? p->last_rtt_ns - r : r - p->last_rtt_ns;
	p->jitter_ns = p->jitter_ns + d / 16 - p->jitter_ns / 16;
	p->last_rtt_ns = r;
	uint64_t diff = p->srtt_ns > r ? p->srtt_ns - r : r - p->srtt_ns;
	p->rttvar_ns = (3 * p->rttvar_ns + diff) / 4;
	p->srtt_ns = (7 * p->srtt_ns + r) / 8;
}

/* The thresholds with hysteresis: degraded at or past the enter figures,
 * healthy again only at or below the leave ones. Too few samples say
 * nothing: a path's first loss is 1000 permille of one. */
#define PATH_QUALITY_MIN_SAMPLES 8

void path_quality_update(struct path_set *set, struct path *p)
{
	const struct path_tuning *t = &set->tuning;
	unsigned loss = path_loss_permille(p);
	bool enough = p->loss_len >= PATH_QUALITY_MIN_SAMPLES;
	if (!p->degraded)
		p->degraded = (enough && loss >= t->loss_enter_permille) || (p->has_rtt && p->srtt_ns >= t->rtt_enter_ns);
	else
		p->degraded = !(loss <= t->loss_leave_permille && (!p->has_rtt || p->srtt_ns <= t->rtt_leave_ns));
}

void path_record_probe(struct path *p, bool lost)
{
	p->loss_bits = (uint16_t)((p->loss_bits << 1) | (lost ? 1u : 0u));
	if (p->loss_len < PATH_LOSS_WINDOW)
		p->loss_len++;
	if (lost) {
		if (p->losses_in_row < UINT8_MAX)
			p->losses_in_row++;
	} else {
		p->losses_in_row = 0;
	}
}

int path_probe_answered(struct path_set *set, uint32_t id, uint64_t txid, uint64_t now)
{
	struct path *p;
	int r = path_for_event(set, id, &p);
	if (r < 0)
		return r;
	/* The txid binds the answer to the path it was sent on: a pong that
	 * arrives elsewhere, late or twice promotes nothing. */
	if (!p->probe_deadline_ns || p->txid != txid)
		return -ESRCH;
	rtt_sample(p, now > p->probe_sent_ns ? now - p->probe_sent_ns : 0);
	path_record_probe(p, false);
	path_quality_update(set, p);
	p->expect_deadline_ns = 0;
	p->probes_answered++;
	p->last_answer_ns = now;
	p->last_rx_ns = now;
	path_timers_probe_answered(set, p, now);
	if (p->state == PATH_PROBING || p->state == PATH_DEAD || p->state == PATH_SUSPECT)
		path_set_state(set, p, PATH_STANDBY, PATH_REASON_PROBE_ANSWERED, now);
	path_policy_run(set, now, PATH_REASON_ACTIVE_FAILED);
	return 0;
}

/* Data moves no path by itself (only probes do); it feeds the timers. */
static int path_data_event(struct path_set *set, uint32_t id, uint64_t now, bool received)
{
	struct path *p;
	int r = path_for_event(set, id, &p);
	if (r < 0)
		return r;
	if (received) {
		p->last_rx_ns = now;
		p->expect_deadline_ns = 0; /* an authenticated packet: the reply that was due */
		path_timers_data_received(set, p, now);
	} else {
		p->last_tx_ns = now;
		path_timers_data_sent(set, p, now);
	}
	return 0;
}

int path_data_received(struct path_set *set, uint32_t id, uint64_t now)
{
	return path_data_event(set, id, now, true);
}

int path_data_sent(struct path_set *set, uint32_t id, uint64_t now)
{
	return path_data_event(set, id, now, false);
}

int path_set_cost(struct path_set *set, uint32_t id, uint32_t cost_us, uint64_t now)
{
	struct path *p;
	int r = path_for_event(set, id, &p);
	if (r < 0)
		return r;
	if (p->cost_us != cost_us) {
		p->cost_us = cost_us;
		path_policy_run(set, now, PATH_REASON_ACTIVE_FAILED);
	}
	return 0;
}

int path_set_metered(struct path_set *set, uint32_t id, bool metered, uint64_t now)
{
	struct path *p;
	int r = path_for_event(set, id, &p);
	if (r < 0)
		return r;
	if (p->metered != metered) {
		p->metered = metered; /* its probe rate: from its next probe on */
		path_policy_run(set, now, PATH_REASON_ACTIVE_FAILED);
	}
	return 0;
}

int path_set_diversity(struct path_set *set, uint32_t id, uint8_t group, uint64_t now)
{
	struct path *p;
	int r = path_for_event(set, id, &p);
	if (r < 0)
		return r;
	if (p->diversity != group) {
		p->diversity = group;
		path_policy_run(set, now, PATH_REASON_ACTIVE_FAILED);
	}
	return 0;
}

int path_expect_reply(struct path_set *set, uint32_t id, uint64_t now)
{
	struct path *p;
	int r = path_for_event(set, id, &p);
	if (r < 0)
		return r;
	path_timers_expect_reply(set, p, now);
	return 0;
}

void path_local_change(struct path_set *set, uint64_t now)
{
	for (size_t i = 0; i < PATH_MAX_PER_PEER; i++) {
		struct path *p = &set->paths[i];
		if (!p->in_use || p->state == PATH_QUARANTINED)
			continue; /* it comes out on its own time only */
		/* A dead path may work from the new address: start over. Working
		 * ones keep their role until their own probes say otherwise. */
		if (p->state == PATH_DEAD)
			path_set_state(set, p, PATH_PROBING, PATH_REASON_LOCAL_CHANGE, now);
		path_timers_local_change(set, p, now);
	}
	/* An answered challenger must prove itself again from here. */
	set->challenger_id = 0;
}

const char *path_state_name(enum path_state s)
{
	static const char *const names[PATH_STATE_COUNT] = {
		[PATH_PROBING] = "probing", [PATH_ACTIVE] = "active",
		[PATH_STANDBY] = "standby", [PATH_DEAD] = "dead",     [PATH_SUSPECT] = "suspect",
		[PATH_QUARANTINED] = "quarantined",
	};
	return (unsigned)s < PATH_STATE_COUNT ? names[s] : "?";
}

const char *path_reason_name(enum path_reason r)
{
	static const char *const names[PATH_REASON_COUNT] = {
		[PATH_REASON_ADDED] = "added",
		[PATH_REASON_PROBE_ANSWERED] = "probe answered",
		[PATH_REASON_PROBES_UNANSWERED] = "probes unanswered",
		[PATH_REASON_PROBES_LOST] = "probes lost",
		[PATH_REASON_REMOVED] = "removed",
		[PATH_REASON_LOCAL_CHANGE] = "local address changed",
		[PATH_REASON_FIRST_WORKING] = "first working path",
		[PATH_REASON_BETTER] = "better path held its lead",
		[PATH_REASON_ACTIVE_FAILED] = "active path failed",
		[PATH_REASON_ACTIVE_REMOVED] = "active path removed",
		[PATH_REASON_NONE_WORKING] = "no working path",
		[PATH_REASON_REPLY_LATE] = "reply late",
		[PATH_REASON_ACTIVE_SUSPECT] = "active path's reply late",
		[PATH_REASON_RECOVERED] = "the path we fell back from recovered",
		[PATH_REASON_BETTER_AVAILABLE] = "better path available (confirm mode)",
		[PATH_REASON_USER] = "chosen by the user",
		[PATH_REASON_TAMPERED] = "tampered: bad packets past the threshold",
		[PATH_REASON_QUARANTINE_OVER] = "quarantine over",
	};
	return (unsigned)r < PATH_REASON_COUNT ? names[r] : "?";
}

const char *path_transport_name(enum path_transport t)
{
	static const char *const names[PATH_TRANSPORT_COUNT] = {
		[PATH_TRANSPORT_UDP_DIRECT] = "direct",
		[PATH_TRANSPORT_UDP_RELAY] = "udp-relay",
		[PATH_TRANSPORT_TLS_RELAY] = "tls-relay",
		[PATH_TRANSPORT_WS_RELAY] = "websocket-relay",
		[PATH_TRANSPORT_POLL_RELAY] = "long-poll-relay",
	};
	return (unsigned)t < PATH_TRANSPORT_COUNT ? names[t] : "?";
}
