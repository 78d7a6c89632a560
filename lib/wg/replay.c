#include "wg/replay.h"

#include <string.h>

/* The usable window is the bitmap minus one word: the word holding the
 * newest counter is only partly behind it. 8192 - 64 = 8128 packets. */
#define REPLAY_WINDOW_USABLE (WG_REPLAY_WINDOW_BITS - 64)

void replay_init(struct replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

bool replay_check_and_update(struct replay_window *w, uint64_t counter, uint64_t reject_after)
{
	if (counter >= reject_after)
		return false;
	/* Shift by one so that counter 0 is distinguishable from "none yet". */
	uint64_t c = counter + 1;
	if (c + REPLAY_WINDOW_USABLE < w->greatest)
		return false; /* too old */

	uint64_t word = c / 64;
	if (c > w->greatest) {
		uint64_t current_word = w->greatest / 64;
		uint64_t advance = word - current_word;
		if (advance > REPLAY_WORDS)
			advance = REPLAY_WORDS;
		for (uint64_t i = 1; i <= advance; i++)
			w->bitmap[(current_word + i) % REPLAY_WORDS] = 0;
		w->greatest = c;
	}
	uint64_t *slot = &w->bitmap[word % REPLAY_WORDS];
	uint64_t bit = 1ULL << (c % 64);
	if (*slot & bit)
		return false;
	*slot |= bit;
	return true;
}
