/* Test knobs of roamd's timers (test builds only): a test that would wait
 * minutes for a timer sets ROAMD_TEST_..._S to a few seconds. */
#ifndef ROAM_DAEMON_TEST_KNOB_H
#define ROAM_DAEMON_TEST_KNOB_H

#include <stdlib.h>

/* The value of env in seconds if this is a test build and it is set to
 * 1..max; else dflt. */
static inline unsigned test_knob_s(const char *env, unsigned max, unsigned dflt)
{
#ifdef ROAM_TEST_HOOKS
	const char *v = getenv(env);
	long s = v ? strtol(v, NULL, 10) : 0;
	if (s > 0 && (unsigned long)s <= max)
		return (unsigned)s;
#else
	(void)env;
	(void)max;
#endif
	return dflt;
}

#endif
