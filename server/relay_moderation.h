/* The relay thread's hand-back wake moderation (server/relay_thread.c's
 * comment): whether a batch that handed datagrams to the main loop wakes it
 * now, or within RT_COALESCE_NS. No I/O, no clock of its own: the thread
 * passes its monotonic time; the unit test a fake one. */
#ifndef ROAM_SERVER_RELAY_MODERATION_H
#define ROAM_SERVER_RELAY_MODERATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_COALESCE_RATE 1000 /* hand-backs a second above which wakes are coalesced */
#define RT_COALESCE_WINDOW_NS (100 * UINT64_C(1000000)) /* the rate's window */
#define RT_COALESCE_NS (1 * UINT64_C(1000000))          /* a KEEP or BINDING waits at most this */
#define RT_COALESCE_MAX 64                              /* or until this many wait */

struct rt_moderation {
	uint64_t window_start, window_count, last_window_count;
	bool pending;    /* a wake is owed, at due */
	uint64_t due;
};

/* A batch handed `handed` datagrams back at now; urgent: one of them must
 * not wait; queued: the queue's length now. True: wake the main loop now
 * (and nothing is pending); false: m->pending, wake at m->due. */
bool rt_moderation_handed(struct rt_moderation *m, uint64_t now, uint64_t handed, bool urgent, size_t queued);
/* The owed wake is due at now: true (and not pending any more). */
bool rt_moderation_due(struct rt_moderation *m, uint64_t now);

#endif
