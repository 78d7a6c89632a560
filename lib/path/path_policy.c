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
 * its transport; among the degraded, the usual order. Then a metered path
 * (path_set_metered: it costs money) ranks below every unmetered one, so
 * it carries nothing while a cheaper path meets the thresholds.
 *
 * Policies (path_set_policy, per set): latency (the above), cost (the
 * caller's cost first, before transport and RTT: the cheapest path that
 * meets the thresholds), redundant (latency's active path, plus a second:
 * the best healthy answered path diverse from it, path_duplicate(), which
 * the caller sends every data packet on too), bandwidth (latency's active
 * path for what has no flow; flows spread: path_choice.c). A class or a
 * peer may use another policy than the set's: path_choice.c keeps each
 * policy's pick, refreshed here after every event. */
#include <errno.h>
#include <string.h>

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

bool path_is_candidate(const struct path *p)
{
	return p->in_use && (p->state == PATH_ACTIVE || p->state == PATH_STANDBY);
}

/* Plain ranking (no margin), ties to the older path. */
bool path_ranks_above_by(enum path_policy policy, const struct path *a, const struct path *b)
{
	if (a->degraded != b->degraded)
		return !a->degraded;
	if (a->metered != b->metered)
		return !a->metered;
	if (policy == PATH_POLICY_COST && a->cost_us != b->cost_us)
		return a->cost_us < b->cost_us;
	if (a->transport != b->transport)
		return a->transport < b->transport;
	if (path_score(a) != path_score(b))
		return path_score(a) < path_score(b);
	return a->id < b->id;
}

static bool path_ranks_above(const struct path_set *set, const struct path *a, const struct path *b)
{
	return path_ranks_above_by(set->policy, a, b);
}

/* Does c beat the active path a by the margin? */
bool path_beats_by(enum path_policy policy, const struct path *c, const struct path *a)
{
	if (c->degraded != a->degraded)
		return !c->degraded;
	if (c->metered != a->metered)
		return !c->metered;
	if (policy == PATH_POLICY_COST && c->cost_us != a->cost_us)
		return c->cost_us < a->cost_us;
	if (c->transport != a->transport)
		return c->transport < a->transport;
	uint64_t margin = path_score(a) * PATH_MARGIN_PERCENT / 100;
	if (margin < PATH_MARGIN_MIN_NS)
		margin = PATH_MARGIN_MIN_NS;
	return path_score(c) + margin < path_score(a);
}

static bool path_beats(const struct path_set *set, const struct path *c, const struct path *a)
{
	return path_beats_by(set->policy, c, a);
}

/* The best candidate other than except; with heard_after, only among those
 * that answered after that time (0: all). */
/* The best candidate but except, heard from after heard_after; with
 * group_not != 0, only among the paths of another non-zero group. */
static struct path *path_best_of(struct path_set *set, const struct path *except, uint64_t heard_after,
				 uint8_t group_not)
{
	struct path *best = NULL;
	for (size_t i = 0; i < PATH_MAX_PER_PEER; i++) {
		struct path *p = &set->paths[i];
		if (p != except && path_is_candidate(p) && p->last_answer_ns > heard_after &&
		    (!group_not || (p->diversity && p->diversity != group_not)) &&
		    (!best || path_ranks_above(set, p, best)))
			best = p;
	}
	return best;
}

static struct path *path_best_heard(struct path_set *set, const struct path *except, uint64_t heard_after)
{
	return path_best_of(set, except, heard_after, 0);
}

static struct path *path_best_candidate(struct path_set *set, const struct path *except)
{
	return path_best_heard(set, except, 0);
}

/* Replacing a failed path: first among the candidates heard from since it
 * last answered. A standby path not heard from since may have gone with it
 * (the peer moved: both its old addresses stop at once, and the standby's
 * slower heartbeat has not noticed yet); a path that answered since is
 * known to work now.
 * Before that, when the failed path belongs to a group (an interface), a
 * path of another group: the paths out of one interface share its fate
 * (a silent loss upstream of it), and the paths of no group (the default
 * route's, a relay's) most likely leave through the interface that carried
 * the data, i.e. the failed one; a standby heard from just before the loss
 * began would otherwise look "heard since" (t_handover_multi, loaded). */
static struct path *path_best_replacement(struct path_set *set, const struct path *failed)
{
	struct path *p = NULL;
	if (failed->diversity && !(p = path_best_of(set, failed, failed->last_answer_ns, failed->diversity)))
		p = path_best_of(set, failed, 0, failed->diversity);
	if (!p)
		p = path_best_heard(set, failed, failed->last_answer_ns);
	return p ? p : path_best_candidate(set, failed);
}

static void path_switch(struct path_set *set, struct path *from, struct path *to, enum path_reason why,
			uint64_t now)
{
	set->active_id = to ? to->id : 0;
	set->challenger_id = 0;
	set->better_id = 0;
	if (to && to->id == set->fallback_from_id)
		set->fallback_from_id = 0;
	if (from && from->state == PATH_ACTIVE)
		path_set_state(set, from, PATH_STANDBY, why, now);
	if (to)
		path_set_state(set, to, PATH_ACTIVE, why, now);
	if (set->ops->active_changed)
		set->ops->active_changed(set->ctx, from, to, why);
}

/* The active path, after every event that may change a path's standing.
 * lost_why is the reason given if the active path turns out to be gone
 * (failed/removed). */
static void path_policy_pick(struct path_set *set, uint64_t now, enum path_reason lost_why)
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
	if (active && best && best->id == set->fallback_from_id && path_ranks_above(set, best, active) &&
	    !best->losses_in_row && __builtin_popcount(best->loss_bits) <= PATH_CHALLENGER_MAX_LOSSES) {
		path_switch(set, active, best, PATH_REASON_RECOVERED, now);
		return;
	}
	if (!active) {
		if (best)
			path_switch(set, NULL, best, PATH_REASON_FIRST_WORKING, now);
		return;
	}
	if (!best || !path_beats(set, best, active) || best->losses_in_row ||
	    __builtin_popcount(best->loss_bits) > PATH_CHALLENGER_MAX_LOSSES) {
		set->challenger_id = 0;
		set->better_id = 0;
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
	if (best->last_answer_ns < set->challenger_confirm_ns)
		return;
	if (!set->confirm) {
		path_switch(set, active, best, PATH_REASON_BETTER, now);
	} else if (set->better_id != best->id) {
		set->better_id = best->id; /* announced once; path_use takes it */
		if (set->ops->log)
			set->ops->log(set->ctx, best, best->state, PATH_REASON_BETTER_AVAILABLE);
	}
}

/* Two paths fail independently as far as we can tell: different local
 * sides (the caller's diversity groups: interfaces), or one through a
 * relay and the other not. */
bool path_diverse(const struct path *a, const struct path *b)
{
	bool relay_a = a->transport != PATH_TRANSPORT_UDP_DIRECT, relay_b = b->transport != PATH_TRANSPORT_UDP_DIRECT;
	return a->diversity != b->diversity || relay_a != relay_b;
}

/* The redundant policy's second path: the best answered path diverse from
 * the active one (none: a single path, as latency). A degraded one too:
 * a lossy second copy still fills the first one's gaps. */
const struct path *path_best_diverse(const struct path_set *set, const struct path *first, bool metered_ok)
{
	const struct path *best = NULL;
	for (size_t i = 0; first && i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &set->paths[i];
		bool ok = (path_is_candidate(p) || (p->in_use && p->state == PATH_SUSPECT)) && (metered_ok || !p->metered);
		/* An answered path first; then one whose reply is late (under
		 * random loss, a copy that may arrive beats none). */
		if (p != first && ok && path_diverse(p, first) &&
		    (!best || (path_is_candidate(p) && !path_is_candidate(best)) ||
		     (path_is_candidate(p) == path_is_candidate(best) &&
		      path_ranks_above_by(PATH_POLICY_REDUNDANT, p, best))))
			best = p;
	}
	return best;
}

static void path_policy_pick_duplicate(struct path_set *set)
{
	const struct path *active = path_lookup(set, set->active_id);
	const struct path *best = set->policy == PATH_POLICY_REDUNDANT ? path_best_diverse(set, active, true) : NULL;
	set->duplicate_id = best ? best->id : 0;
}

void path_policy_run(struct path_set *set, uint64_t now, enum path_reason lost_why)
{
	path_policy_pick(set, now, lost_why);
	path_policy_pick_duplicate(set);
	path_choice_refresh(set);
}

int path_set_policy(struct path_set *set, enum path_policy policy, uint64_t now)
{
	if ((unsigned)policy >= PATH_POLICY_COUNT)
		return -EINVAL;
	if (set->policy != policy) {
		set->policy = policy;
		set->challenger_id = 0; /* the ranking changed: a challenger starts over */
		path_policy_run(set, now, PATH_REASON_ACTIVE_FAILED);
	}
	return 0;
}

void path_set_confirm(struct path_set *set, bool confirm, uint64_t now)
{
	if (set->confirm == confirm)
		return;
	set->confirm = confirm;
	set->better_id = 0;
	path_policy_run(set, now, PATH_REASON_ACTIVE_FAILED);
}

int path_use(struct path_set *set, uint32_t id, uint64_t now)
{
	struct path *active = path_lookup(set, set->active_id);
	struct path *p = id ? path_lookup(set, id) : path_best_candidate(set, NULL);
	if (id && !p)
		return -ENOENT;
	if (!p || !path_is_candidate(p))
		return -EAGAIN;
	if (p != active) {
		path_switch(set, active, p, PATH_REASON_USER, now);
		path_policy_pick_duplicate(set);
		path_choice_refresh(set);
	}
	return 0;
}

const struct path *path_duplicate(const struct path_set *set)
{
	return set->duplicate_id ? path_get(set, set->duplicate_id) : NULL;
}

const char *path_policy_name(enum path_policy p)
{
	static const char *const names[PATH_POLICY_COUNT] = { "latency", "cost", "redundant", "bandwidth" };
	return (unsigned)p < PATH_POLICY_COUNT ? names[p] : "?";
}

int path_policy_parse(const char *name, enum path_policy *out)
{
	for (unsigned i = 0; i < PATH_POLICY_COUNT; i++)
		if (strcmp(name, path_policy_name((enum path_policy)i)) == 0) {
			*out = (enum path_policy)i;
			return 0;
		}
	return -EINVAL;
}
