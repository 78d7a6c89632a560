/* ROAMD_PATH_TUNING: roamd's thresholds of the check (daemon/paths/handover.c). */
#include <stdlib.h>

#include "../check.h"
#include "daemon/paths/paths_internal.h"

int main(void)
{
	struct path_tuning t, def;
	path_tuning_default(&def);

	unsetenv("ROAMD_PATH_TUNING");
	paths_tuning_from_env(&t);
	CHECK(memcmp(&t, &def, sizeof(t)) == 0);

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
	CHECK(memcmp(&t, &def, sizeof(t)) == 0);
	return check_report("test_paths_tuning");
}
