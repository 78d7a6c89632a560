/* Sliding-window replay protection for transport counters (RFC 6479 style
 * bitmap, as in the WireGuard kernel module). */
#ifndef ROAM_WG_REPLAY_H
#define ROAM_WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "wg/messages.h"

#define REPLAY_WORDS (WG_REPLAY_WINDOW_BITS / 64)

struct replay_window {
	uint64_t greatest; /* highest counter accepted, plus one (0 = none yet) */
	uint64_t bitmap[REPLAY_WORDS];
};

void replay_init(struct replay_window *w);
/* True and recorded if counter is new and inside the window; call only after
 * the packet authenticated, so forgeries cannot move the window. */
bool replay_check_and_update(struct replay_window *w, uint64_t counter, uint64_t reject_after);

#endif
