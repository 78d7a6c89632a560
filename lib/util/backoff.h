/* Retry timing for a client coming back to a server: the wait doubles from
 * min_ms to max_ms with "equal jitter" (half of it fixed, half random), so
 * nodes that lost one server together do not come back in the same second;
 * a server's hint (HTTP Retry-After) is obeyed: never sooner, spread over up
 * to half as long again. Pure: the caller draws the
 * random number and runs the timer. */
#ifndef ROAM_UTIL_BACKOFF_H
#define ROAM_UTIL_BACKOFF_H

#include <stdint.h>

#define BACKOFF_HINT_MAX_S 3600u /* a longer Retry-After is read as this */

struct backoff {
	uint32_t min_ms, max_ms;
	uint32_t step_ms; /* the last wait's base; 0: none since the reset */
};

#define BACKOFF_INIT(min, max) { .min_ms = (min), .max_ms = (max), .step_ms = 0 }

/* The wait before the next attempt, in ms. hint_s: the server's Retry-After
 * (0: none). rnd: a uniformly random number. */
uint32_t backoff_next_ms(struct backoff *b, uint32_t hint_s, uint32_t rnd);
/* It worked: the next failure starts from min_ms again. */
static inline void backoff_reset(struct backoff *b)
{
	b->step_ms = 0;
}

#endif
