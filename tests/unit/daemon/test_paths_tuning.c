/* ROAMD_PATH_TUNING: roamd's thresholds of the check (daemon/paths/handover.c). */
#include <stdbool.h>
#include <stdlib.h>

#include "../check.h"
#include "daemon/paths/paths_internal.h"

/* Field by field: memcmp would read the padding after suspect_rtt_mult,
 * which struct assignment need not copy (it failed under ASan now and then). */
static bool same(const struct path_tuning *a, const struct path_tuning *b)
{
	return a->suspect_min_ns == b->suspect_min_ns && a->suspect_rtt_mult == b->suspect_rtt_mult &&
	       a->loss_enter_permille == b->loss_enter_permille && a->loss_leave_permille == b->loss_leave_permille &&
	       a->rtt_enter_ns == b->rtt_enter_ns && a->rtt_leave_ns == b->rtt_leave_ns;
}

int main(void)
{
	struct path_tuning t, def;
	path_tuning_default(&def);

	unsetenv("ROAMD_PATH_TUNING");
	paths_tuning_from_env(&t);
	CHECK(same(&t, &def));

	setenv("ROAMD_PATH_TUNING", "suspect_min_ms=250,loss_enter=400,loss_leave=100,rtt_enter_ms=900,rtt_leave_ms=600", 1);
	paths_tuning_from_env(&t);
	CHECK_EQ(t.suspect_min_ns, 250 * EV_NSEC_PER_MSEC);
	CHECK_EQ(t.loss_enter_permille, 400);
	CHECK_EQ(t.loss_leave_permille, 100);
	CHECK_EQ(t.rtt_enter_ns, 900 * EV_NSEC_PER_MSEC);
	CHECK_EQ(t.rtt_leave_ns, 600 * EV_NSEC_PER_MSEC);
	CHECK_EQ(t.suspect_rtt_mult, def.suspect_rtt_mult);

	/* Unknown keys, out-of-range values and junk leave the defaults. */
	setenv("ROAMD_PATH_TUNING", "bogus=1,loss_enter=5000,,rtt_enter_ms=99999999,suspect_min_ms", 1);
	paths_tuning_from_env(&t);
	CHECK(same(&t, &def));
	return check_report("test_paths_tuning");
}
