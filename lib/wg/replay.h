/* Sliding-window replay protection for transport counters (RFC 6479 style
 * bitmap, as in the WireGuard kernel module), and optionally where each
 * counter of the window first came from, so that a second copy can be told
 * apart: a redundant sender's duplicate (another path, shortly after) or a
 * replay (the same source again, or long after). */
#ifndef ROAM_WG_REPLAY_H
#define ROAM_WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "net/endpoint.h"
#include "wg/messages.h"

#define REPLAY_WORDS (WG_REPLAY_WINDOW_BITS / 64)

struct replay_window {
	uint64_t greatest; /* highest counter accepted, plus one (0 = none yet) */
	uint64_t bitmap[REPLAY_WORDS];
};

enum replay_verdict {
	REPLAY_NEW,     /* inside the window and not seen: now recorded */
	REPLAY_SEEN,    /* inside the window and already recorded: a second copy */
	REPLAY_TOO_OLD, /* below the window, or at or past reject_after */
};

void replay_init(struct replay_window *w);
/* Records counter if new; call only after the packet authenticated, so
 * forgeries cannot move the window. */
enum replay_verdict replay_check(struct replay_window *w, uint64_t counter, uint64_t reject_after);
/* replay_check() == REPLAY_NEW. */
bool replay_check_and_update(struct replay_window *w, uint64_t counter, uint64_t reject_after);

/* Where the counters of a window first came from: 2 bits per counter
 * naming one of REPLAY_SOURCES recent sources (0: unknown), and per word of
 * the bitmap when a counter in it was last accepted. A fourth source takes
 * the oldest one's slot, so with more than three sources inside one window
 * an old counter may be credited to the wrong one; a word's time is that of
 * its newest counter, so "how long ago" is a lower bound (exact at 64
 * packets per second and more). 2.6 KiB, fixed: a sender cannot grow it. */
#define REPLAY_SOURCES 3
struct replay_origins {
	uint8_t map[WG_REPLAY_WINDOW_BITS / 4];
	uint64_t word_ns[REPLAY_WORDS];
	struct endpoint source[REPLAY_SOURCES];
	uint8_t next_source;
	uint8_t last_source; /* compared first: one path usually wins a run of packets */
};

void replay_origins_init(struct replay_origins *o);
/* counter, just accepted (REPLAY_NEW), came from src at now (ns). */
void replay_origins_note(struct replay_origins *o, uint64_t counter, const struct endpoint *src, uint64_t now);
/* For a counter replay_check called REPLAY_SEEN: where its first copy came
 * from (NULL: not known) and, in *age_ns, how long ago at least. */
const struct endpoint *replay_origins_first(const struct replay_origins *o, uint64_t counter, uint64_t now,
					    uint64_t *age_ns);

#endif
