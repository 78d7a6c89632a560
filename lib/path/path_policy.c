/* Which path carries a peer's data: the whole policy, in path_policy_run().
 *
 * A path is a candidate only once its own probe was answered (STANDBY or
 * ACTIVE). Candidates rank by transport first (enum order: direct UDP beats
 * every relay), then by score = smoothed RTT + the caller's cost.
 *
 * Hysteresis, so that two paths of similar quality never flap:
 *  - a challenger must beat the active path by a margin: a better transport
 *    tier, or within a tier a score lower by PATH_MARGIN_PERCENT (at least
 *    PATH_MARGIN_MIN_NS);
 *  - it must keep that lead, with no probe lost, for a hold time
 *    (PATH_HOLD_TIER_NS to leave a relay, PATH_HOLD_SCORE_NS for RTT alone);
 *  - and a probe of its own must be answered after the hold: the switch
 *    happens on that answer, the first probe round after the hold.
 * Losing the active path (dead, removed, SUSPECT: its reply is late) needs
 * no hold: the best candidate heard from since the active path last
 * answered takes over at once (else the best candidate), and the relay is
 * always kept probed for this. The path we fell back from because it was
 * SUSPECT takes over again, with no hold, as soon as a probe of its own is
 * answered, if it still ranks first and its loss window is clean: a
 * moment's silence costs a moment on the second best path, no more.
 *
 * Quality thresholds (struct path_tuning, with hysteresis): a degraded path
 * (loss or RTT past the thresholds) ranks below every healthy one, whatever
 * its transport; among the degraded, the usual order. The policy picks one
 * path today; part B's policies (redundant: the two best diverse paths)
 * will pick more than one here. */
#include "path/path_internal.h"

#define PATH_HOLD_TIER_NS (1 * PATH_NS_PER_SEC)  /* relay -> direct: 2 s goal */
#define PATH_HOLD_SCORE_NS (5 * PATH_NS_PER_SEC) /* same tier, lower RTT */
#define PATH_MARGIN_PERCENT 20
#define PATH_MARGIN_MIN_NS (2 * PATH_NS_PER_MS)
/* A challenger with more probes lost than this in its window (the last
 * PATH_LOSS_WINDOW probes while it worked) is not better: one outage is
 * forgiven at once, a path that keeps failing waits for a clean window. */
#define PATH_CHALLENGER_MAX_LOSSES 2
/* Ranks a path with no RTT sample yet (cannot happen for an answered one). */
#define PATH_SCORE_UNKNOWN_NS (10 * PATH_NS_PER_SEC)

static uint64_t path_score(const struct path *p)
{
	return (p->has_rtt ? p->srtt_ns : PATH_SCORE_UNKNOWN_NS) + (uint64_t)p->cost_us * 1000u;
}

static bool path_is_candidate(const struct path *p)
{
	return p->in_use && (p->state == PATH_ACTIVE || p->state == PATH_STANDBY);
}

/* Plain ranking (no margin), ties to the older path. */
static bool path_ranks_above(const struct path *a, const struct path *b)
{
	if (a->degraded != b->degraded)
		return !a->degraded;
	if (a->transport != b->transport)
		return a->transport < b->transport;
	if (path_score(a) != path_score(b))
		return path_score(a) < path_score(b);
	return a->id < b->id;
}

/* Does c beat the active path a by the margin? */
static bool path_beats(const struct path *c, const struct path *a)
{
	if (c->degraded != a->degraded)
		return !c->degraded;
	if (c->transport != a->transport)
		return c->transport < a->transport;
	uint64_t margin = path_score(a) * PATH_MARGIN_PERCENT / 100;
	if (margin < PATH_MARGIN_MIN_NS)
		margin = PATH_MARGIN_MIN_NS;
	return path_score(c) + margin < path_score(a);
}

/* The best candidate other than except; with heard_after, only among those
 * that answered after that time (0: all). */
static struct path *path_best_heard(struct path_set *set, const struct path *except, uint64_t heard_after)
{
	struct path *best = NULL;
	for (size_t i = 0; i < PATH_MAX_PER_PEER; i++) {
		struct path *p = &set->paths[i];
		if (p != except && path_is_candidate(p) && p->last_answer_ns > heard_after &&
		    (!best || path_ranks_above(p, best)))
			best = p;
	}
	return best;
}

static struct path *path_best_candidate(struct path_set *set, const struct path *except)
{
	return path_best_heard(set, except, 0);
}

/* Replacing a failed path: first among the candidates heard from since it
 * last answered. A standby path not heard from since may have gone with it
 * (the peer moved: both its old addresses stop at once, and the standby's
 * slower heartbeat has not noticed yet); a path that answered since is
 * known to work now. */
static struct path *path_best_replacement(struct path_set *set, const struct path *failed)
{
	struct path *p = path_best_heard(set, failed, failed->last_answer_ns);
	return p ? p : path_best_candidate(set, failed);
}

static void path_switch(struct path_set *set, struct path *from, struct path *to, enum path_reason why,
			uint64_t now)
{
	set->active_id = to ? to->id : 0;
	set->challenger_id = 0;
	if (to && to->id == set->fallback_from_id)
		set->fallback_from_id = 0;
	if (from && from->state == PATH_ACTIVE)
		path_set_state(set, from, PATH_STANDBY, why, now);
	if (to)
		path_set_state(set, to, PATH_ACTIVE, why, now);
	if (set->ops->active_changed)
		set->ops->active_changed(set->ctx, from, to, why);
}

/* Called after every event that may change a path's standing. lost_why is
 * the reason given if the active path turns out to be gone (failed/removed). */
void path_policy_run(struct path_set *set, uint64_t now, enum path_reason lost_why)
{
	struct path *active = path_lookup(set, set->active_id);
	struct path *best;

	if (active && active->state != PATH_ACTIVE) {
		/* Failed, late or being removed: no hold, the best replacement now. */
		bool suspect = active->state == PATH_SUSPECT;
		best = path_best_replacement(set, active);
		path_switch(set, active, best,
			    !best ? PATH_REASON_NONE_WORKING : suspect ? PATH_REASON_ACTIVE_SUSPECT : lost_why, now);
		set->fallback_from_id = suspect ? active->id : 0;
		return;
	}
	struct path *back = path_lookup(set, set->fallback_from_id);
	if (back && back->state != PATH_SUSPECT && back->state != PATH_STANDBY)
		set->fallback_from_id = 0; /* it died: the ordinary rules bring it back */
	best = path_best_candidate(set, active);
	if (active && best && best->id == set->fallback_from_id && path_ranks_above(best, active) &&
	    !best->losses_in_row && __builtin_popcount(best->loss_bits) <= PATH_CHALLENGER_MAX_LOSSES) {
		path_switch(set, active, best, PATH_REASON_RECOVERED, now);
		return;
	}
	if (!active) {
		if (best)
			path_switch(set, NULL, best, PATH_REASON_FIRST_WORKING, now);
		return;
	}
	if (!best || !path_beats(best, active) || best->losses_in_row ||
	    __builtin_popcount(best->loss_bits) > PATH_CHALLENGER_MAX_LOSSES) {
		set->challenger_id = 0;
		return;
	}
	if (set->challenger_id != best->id) {
		uint64_t hold = best->transport != active->transport ? PATH_HOLD_TIER_NS : PATH_HOLD_SCORE_NS;
		set->challenger_id = best->id;
		set->challenger_since_ns = now;
		set->challenger_confirm_ns = now + hold;
		path_timers_became_challenger(set, best, set->challenger_confirm_ns);
		return;
	}
	if (best->last_answer_ns >= set->challenger_confirm_ns)
		path_switch(set, active, best, PATH_REASON_BETTER, now);
}
