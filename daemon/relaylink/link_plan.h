/* Which relay-only servers get a relay link (several relays): pure, no
 * I/O, no clock (tests/unit/daemon/test_link_plan.c).
 *
 * - Wanted: the relays in use (our home, a relay of some peer's paths)
 *   first, then the others (to measure their round trip), while fewer
 *   than LINK_PLAN_MAX are wanted. A wanted relay without a link opens
 *   one.
 * - A link no longer wanted (pushed out by relays coming into use) stays
 *   open LINK_PLAN_IDLE_NS after it was last wanted: a peer's path may
 *   come back to it, and a link costs a TCP and TLS handshake (and the
 *   ladder's climb) to open again. At most LINK_PLAN_HARD_MAX links in all:
 *   beyond, such a link closes at once. A link to a relay that cannot have
 *   one (its key or our ticket gone) closes at once.
 * Every link costs a TCP connection (and TLS) held open with keepalives:
 * the cap bounds what a relay map, which the server controls, can make a
 * node hold. */
#ifndef ROAM_DAEMON_RELAYLINK_LINK_PLAN_H
#define ROAM_DAEMON_RELAYLINK_LINK_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINK_PLAN_MAX 4       /* wanted: opened */
#define LINK_PLAN_HARD_MAX 8  /* with those kept after they were wanted */
#define LINK_PLAN_IDLE_NS (UINT64_C(30) * 1000000000u)

struct link_plan_relay {
	bool possible;      /* its key, a ticket, a URL */
	bool in_use;
	bool has_link;
	uint64_t wanted_at; /* updated: now when wanted */
	bool wanted;        /* out: wanted now */
};

enum link_plan_action {
	LINK_PLAN_KEEP, /* as it is: open or not */
	LINK_PLAN_OPEN,
	LINK_PLAN_CLOSE,
};

/* Decides for each of the n relays (out[i] for r[i]). */
void link_plan(struct link_plan_relay *r, size_t n, uint64_t now, enum link_plan_action *out);

#endif
