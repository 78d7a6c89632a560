#include "wg/replay.h"

#include <string.h>

/* The usable window is the bitmap minus one word: the word holding the
 * newest counter is only partly behind it. 8192 - 64 = 8128 packets. */
#define REPLAY_WINDOW_USABLE (WG_REPLAY_WINDOW_BITS - 64)

void replay_init(struct replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

enum replay_verdict replay_check(struct replay_window *w, uint64_t counter, uint64_t reject_after)
{
	if (counter >= reject_after)
		return REPLAY_TOO_OLD;
	/* Shift by one so that counter 0 is distinguishable from "none yet". */
	uint64_t c = counter + 1;
	if (c + REPLAY_WINDOW_USABLE < w->greatest)
		return REPLAY_TOO_OLD;

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
		return REPLAY_SEEN;
	*slot |= bit;
	return REPLAY_NEW;
}

bool replay_check_and_update(struct replay_window *w, uint64_t counter, uint64_t reject_after)
{
	return replay_check(w, counter, reject_after) == REPLAY_NEW;
}

void replay_origins_init(struct replay_origins *o)
{
	memset(o, 0, sizeof(*o));
}

/* The bit position of counter, as replay_check places it. Stale map bits
 * need no clearing: a counter is looked up only when its bitmap bit is
 * set, that is after it was accepted, and noted, in this turn of the ring. */
static uint64_t position(uint64_t counter)
{
	return (counter + 1) % WG_REPLAY_WINDOW_BITS;
}

void replay_origins_note(struct replay_origins *o, uint64_t counter, const struct endpoint *src, uint64_t now)
{
	unsigned s = o->last_source;
	if (!endpoint_equal(&o->source[s], src)) {
		for (s = 0; s < REPLAY_SOURCES && !endpoint_equal(&o->source[s], src); s++)
			;
		if (s == REPLAY_SOURCES) {
			s = o->next_source;
			o->next_source = (uint8_t)((s + 1) % REPLAY_SOURCES);
			o->source[s] = *src;
		}
		o->last_source = (uint8_t)s;
	}
	uint64_t pos = position(counter);
	unsigned shift = (unsigned)(pos % 4) * 2;
	uint8_t *cell = &o->map[pos / 4];
	*cell = (uint8_t)((*cell & ~(3u << shift)) | ((s + 1) << shift));
	o->word_ns[pos / 64] = now;
}

const struct endpoint *replay_origins_first(const struct replay_origins *o, uint64_t counter, uint64_t now,
					    uint64_t *age_ns)
{
	uint64_t pos = position(counter);
	unsigned s = (o->map[pos / 4] >> ((pos % 4) * 2)) & 3u;
	uint64_t at = o->word_ns[pos / 64];
	*age_ns = now > at ? now - at : 0;
	return s && o->source[s - 1].len ? &o->source[s - 1] : NULL;
}
