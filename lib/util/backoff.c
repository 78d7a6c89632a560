#include "util/backoff.h"

uint32_t backoff_next_ms(struct backoff *b, uint32_t hint_s, uint32_t rnd)
{
	uint32_t step = !b->step_ms ? b->min_ms : b->step_ms > b->max_ms / 2 ? b->max_ms : b->step_ms * 2;

	if (step < 2)
		step = 2;
	if (hint_s) {
		uint32_t hint_ms = (hint_s < BACKOFF_HINT_MAX_S ? hint_s : BACKOFF_HINT_MAX_S) * 1000u;
		/* Later failures go on from the server's figure (up to max_ms). */
		b->step_ms = hint_ms > step ? (hint_ms < b->max_ms ? hint_ms : b->max_ms) : step;
		return hint_ms + rnd % (hint_ms / 2 + 1);
	}
	b->step_ms = step;
	return step / 2 + rnd % (step / 2 + 1);
}
