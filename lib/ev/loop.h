/* An explicit, single-threaded event loop over epoll (after libuv's uv_run).
 *
 * One iteration: wait in epoll until the earliest timer is due (timeout in
 * ms, rounded up) or a file descriptor is ready, read CLOCK_MONOTONIC once
 * into ev_now(), run the io callbacks, then run every timer whose deadline is
 * <= ev_now(), earliest first. Callbacks may start and stop any watcher or
 * timer, including their own and ones already due in the same iteration: a
 * stopped watcher is never called afterwards, and a timer re-armed for a time
 * already past fires in the next iteration, not in a loop within this one.
 *
 * Watchers and timers are embedded in their owners and never allocated by the
 * loop; set them up with ev_*_init() (a zeroed ev_timer is not "stopped").
 * Stop them before freeing their memory or closing their fd. Equal deadlines
 * fire in no particular order. Nothing here is thread-safe; one loop per
 * thread. */
#ifndef ROAM_EV_LOOP_H
#define ROAM_EV_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "util/heap.h"

struct ev_loop;

#define EV_NSEC_PER_SEC UINT64_C(1000000000)
#define EV_NSEC_PER_MSEC UINT64_C(1000000)

/* An fd watcher. events/revents are epoll flags (EPOLLIN, EPOLLOUT, and
 * optionally EPOLLET); EPOLLERR and EPOLLHUP are always reported. */
struct ev_io {
	int fd;
	uint32_t events;
	void (*cb)(struct ev_loop *loop, struct ev_io *io, uint32_t revents);
	void *data;
	bool active; /* private: registered with epoll */
};

/* A one-shot timer. node.key is the absolute deadline in ns of
 * CLOCK_MONOTONIC, the same clock as ev_now(). */
struct ev_timer {
	struct heap_node node;
	void (*cb)(struct ev_loop *loop, struct ev_timer *t);
	void *data;
	/* private: link in the loop's list of timers due this iteration */
	struct ev_timer *ready_next;
	struct ev_timer **ready_pprev; /* NULL when not in that list */
};

/* A signal delivered through signalfd. Starting one blocks the signal for
 * the calling thread; a multi-threaded program must block it in every thread
 * (block before creating threads) or another thread may take it. */
struct ev_signal {
	int signo;
	void (*cb)(struct ev_loop *loop, struct ev_signal *s);
	void *data;
	bool was_blocked; /* private: restore the mask on stop */
};

int ev_loop_new(struct ev_loop **out); /* 0, -ENOMEM, or -errno from epoll_create1 */
void ev_loop_free(struct ev_loop *loop); /* watchers are left as they are; signals unblocked */

/* Run until ev_loop_stop(). Returns 0, or -errno if epoll_wait fails. */
int ev_loop_run(struct ev_loop *loop);
void ev_loop_stop(struct ev_loop *loop); /* returns from run after the current callbacks */

/* The turn's last phase: cb runs once per loop turn, after that turn's
 * timers and I/O callbacks and before the loop blocks again (libuv's
 * "prepare"). Work that must follow every callback (flush a send batch,
 * re-arm a timer) is done there once instead of by every caller. NULL
 * clears it. */
void ev_loop_set_prepare(struct ev_loop *loop, void (*cb)(struct ev_loop *, void *), void *data);

uint64_t ev_now(const struct ev_loop *loop); /* ns; constant during one iteration */
void ev_now_update(struct ev_loop *loop);    /* re-read the clock (after long work) */

void ev_io_init(struct ev_io *io, int fd, uint32_t events,
		void (*cb)(struct ev_loop *, struct ev_io *, uint32_t), void *data);
int ev_io_start(struct ev_loop *loop, struct ev_io *io); /* already active: applies io->events */
int ev_io_modify(struct ev_loop *loop, struct ev_io *io, uint32_t events);
void ev_io_stop(struct ev_loop *loop, struct ev_io *io); /* no-op if not active */

void ev_timer_init(struct ev_timer *t, void (*cb)(struct ev_loop *, struct ev_timer *), void *data);
/* Arm for an absolute deadline; an armed timer is re-keyed. 0 or -ENOMEM. */
int ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t deadline_ns);
void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t); /* no-op if not pending */
bool ev_timer_pending(const struct ev_timer *t);
static inline uint64_t ev_timer_deadline(const struct ev_timer *t) { return t->node.key; }

void ev_signal_init(struct ev_signal *s, void (*cb)(struct ev_loop *, struct ev_signal *), void *data);
/* -EINVAL for a signal that cannot be caught, -EBUSY if another watcher of
 * this loop has it. */
int ev_signal_start(struct ev_loop *loop, struct ev_signal *s, int signo);
void ev_signal_stop(struct ev_loop *loop, struct ev_signal *s);

#endif
