/* Tamper detection (issue 13): bad packets counted per path, and past a
 * threshold the path quarantined. What an attacker who can forge packets
 * from a path's source can and cannot do with this: docs/security.md. The
 * quarantine's timing (its length, the backoff, coming out) lives with the
 * other timers in path_timers.c. */
#include <errno.h>

#include "path/path_internal.h"

/* Quarantine never takes the last path: only while another one answers
 * (ACTIVE or STANDBY), so forged packets cannot cut a peer off. */
static bool another_answers(const struct path_set *set, const struct path *p)
{
	for (size_t i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *q = &set->paths[i];
		if (q != p && q->in_use && (q->state == PATH_ACTIVE || q->state == PATH_STANDBY))
			return true;
	}
	return false;
}

int path_tamper(struct path_set *set, uint32_t id, uint64_t now)
{
	const struct path_tuning *t = &set->tuning;
	struct path *p;
	int r = path_for_event(set, id, &p);
	if (r < 0)
		return r;
	p->tampered++;
	if (!t->tamper_threshold || p->state == PATH_QUARANTINED)
		return 0;
	if (!p->tamper_in_window || now - p->tamper_window_start_ns >= t->tamper_window_ns) {
		p->tamper_window_start_ns = now;
		p->tamper_in_window = 0;
	}
	if (++p->tamper_in_window < t->tamper_threshold || !another_answers(set, p))
		return 0;
	p->tamper_in_window = 0;
	p->quarantines++;
	if (set->challenger_id == id)
		set->challenger_id = 0;
	if (set->fallback_from_id == id)
		set->fallback_from_id = 0;
	if (set->better_id == id)
		set->better_id = 0;
	path_timers_quarantined(set, p, now);
	path_set_state(set, p, PATH_QUARANTINED, PATH_REASON_TAMPERED, now);
	path_policy_run(set, now, PATH_REASON_TAMPERED);
	return 1;
}

int path_copy_won(struct path_set *set, uint32_t id)
{
	struct path *p;
	int r = path_for_event(set, id, &p);
	if (r < 0)
		return r;
	p->copies_won++;
	return 0;
}
