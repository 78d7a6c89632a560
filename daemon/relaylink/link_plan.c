/* Which relay-only servers get a relay link (link_plan.h). */
#include "daemon/relaylink/link_plan.h"

void link_plan(struct link_plan_relay *r, size_t n, uint64_t now, enum link_plan_action *out)
{
	size_t links = 0;
	for (size_t i = 0; i < n; i++) {
		out[i] = LINK_PLAN_KEEP;
		r[i].wanted = false;
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			if (!r[i].possible || r[i].in_use != (pass == 0) || links >= LINK_PLAN_MAX)
				continue;
			r[i].wanted = true;
			r[i].wanted_at = now;
			if (!r[i].has_link)
				out[i] = LINK_PLAN_OPEN;
			links++;
		}
	/* The links no longer wanted: kept a while, under the hard cap. */
	for (size_t i = 0; i < n; i++) {
		if (r[i].wanted || !r[i].has_link)
			continue;
		if (r[i].possible && now - r[i].wanted_at < LINK_PLAN_IDLE_NS && links < LINK_PLAN_HARD_MAX)
			links++;
		else
			out[i] = LINK_PLAN_CLOSE;
	}
}
