/* Shared between path.c (events, state), path_timers.c (probe timing) and
 * path_policy.c (which path carries data). Not for callers of the library. */
#ifndef ROAM_PATH_PATH_INTERNAL_H
#define ROAM_PATH_PATH_INTERNAL_H

#include "path/path.h"

#define PATH_NS_PER_MS 1000000ULL
#define PATH_NS_PER_SEC 1000000000ULL

/* Every state change goes through here: one log line per change. */
void path_set_state(struct path_set *set, struct path *p, enum path_state s, enum path_reason why,
		    uint64_t now);
struct path *path_lookup(struct path_set *set, uint32_t id);
/* The path exists and its state is valid: 0, -ENOENT or -EINVAL. */
int path_for_event(struct path_set *set, uint32_t id, struct path **out);
/* One probe's outcome into the loss window and the losses-in-a-row count. */
void path_record_probe(struct path *p, bool lost);
/* After each probe outcome: the degraded flag, by the set's thresholds. */
void path_quality_update(struct path_set *set, struct path *p);

/* path_policy.c: re-decide the active path after any event. */
void path_policy_run(struct path_set *set, uint64_t now, enum path_reason why);
/* Answered (STANDBY or ACTIVE): may carry data. */
bool path_is_candidate(const struct path *p);
/* a ranks above b by policy's order, with no margin. */
bool path_ranks_above_by(enum path_policy policy, const struct path *a, const struct path *b);
/* c beats a by policy's order and the margin. */
bool path_beats_by(enum path_policy policy, const struct path *c, const struct path *a);
/* Two paths that fail independently as far as we can tell. */
bool path_diverse(const struct path *a, const struct path *b);
/* The redundant policy's second path for first: the best path diverse from
 * it, answered before SUSPECT, metered ones only if metered_ok; NULL: none
 * (or no first). */
const struct path *path_best_diverse(const struct path_set *set, const struct path *first, bool metered_ok);

/* path_choice.c: every policy's pick again, after the policy ran. */
void path_choice_refresh(struct path_set *set);

/* path_timers.c: hooks named after events. */
void path_timers_path_added(struct path_set *set, struct path *p, uint64_t now);
void path_timers_probe_sent(struct path_set *set, struct path *p, uint64_t now);
void path_timers_probe_answered(struct path_set *set, struct path *p, uint64_t now);
void path_timers_data_sent(struct path_set *set, struct path *p, uint64_t now);
void path_timers_data_received(struct path_set *set, struct path *p, uint64_t now);
void path_timers_local_change(struct path_set *set, struct path *p, uint64_t now);
void path_timers_became_challenger(struct path_set *set, struct path *p, uint64_t since);
void path_timers_expect_reply(struct path_set *set, struct path *p, uint64_t now);
void path_timers_quarantined(struct path_set *set, struct path *p, uint64_t now);
void path_timers_state_changed(struct path_set *set, struct path *p, uint64_t now);

#endif
