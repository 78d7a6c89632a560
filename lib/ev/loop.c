#include "ev/loop.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

/* Events taken from the kernel per epoll_wait; more simply wait for the next
 * iteration (level-triggered), so this bounds latency, not correctness. */
#define EV_MAX_EVENTS 64

#define ev_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct ev_loop {
	int epfd;
	bool stop;
	uint64_t now;
	struct heap timers;

	/* Timers already due, detached from the heap, in deadline order. */
	struct ev_timer *ready_head;
	struct ev_timer **ready_tail;

	/* The epoll batch being dispatched; ev_io_stop() blanks its entries so a
	 * watcher stopped by an earlier callback is not called with stale data. */
	struct epoll_event events[EV_MAX_EVENTS];
	int events_len;
	int events_pos;
	/* Bumped by every epoll_wait: a callback that ran the loop again (a
	 * nested ev_loop_run, e.g. a last request on the way out) has
	 * overwritten events[], so the outer dispatch must stop walking it. */
	uint64_t batch_gen;

	void (*prepare)(struct ev_loop *, void *);
	void *prepare_data;

	int sigfd;
	struct ev_io sig_io;
	sigset_t sigmask;
	struct ev_signal *signals[NSIG];
};

static uint64_t ev_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * EV_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

int ev_loop_new(struct ev_loop **out)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));
	int r;

	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		r = -errno;
		free(loop);
		return r;
	}
	heap_init(&loop->timers);
	loop->ready_tail = &loop->ready_head;
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	loop->now = ev_clock_ns();
	*out = loop;
	return 0;
}

void ev_loop_free(struct ev_loop *loop)
{
	if (!loop)
		return;
	for (int signo = 1; signo < NSIG; signo++) {
		if (loop->signals[signo])
			ev_signal_stop(loop, loop->signals[signo]);
	}
	while (loop->ready_head)
		ev_timer_stop(loop, loop->ready_head);
	heap_free(&loop->timers);
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	close(loop->epfd);
	free(loop);
}

void ev_loop_set_prepare(struct ev_loop *loop, void (*cb)(struct ev_loop *, void *), void *data)
{
	loop->prepare = cb;
	loop->prepare_data = data;
}

uint64_t ev_now(const struct ev_loop *loop)
{
	return loop->now;
}

void ev_now_update(struct ev_loop *loop)
{
	loop->now = ev_clock_ns();
}

void ev_loop_stop(struct ev_loop *loop)
{
	loop->stop = true;
}

/* ---- io watchers ---- */

void ev_io_init(struct ev_io *io, int fd, uint32_t events,
		void (*cb)(struct ev_loop *, struct ev_io *, uint32_t), void *data)
{
	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->data = data;
	io->active = false;
}

int ev_io_start(struct ev_loop *loop, struct ev_io *io)
{
	struct epoll_event ev = { .events = io->events, .data.ptr = io };
	int op = io->active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (epoll_ctl(loop->epfd, op, io->fd, &ev) < 0)
		return -errno;
	io->active = true;
	return 0;
}

int ev_io_modify(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	uint32_t old = io->events;
	int r;

	io->events = events;
	if (!io->active)
		return 0;
	r = ev_io_start(loop, io);
	if (r < 0)
		io->events = old;
	return r;
}

void ev_io_stop(struct ev_loop *loop, struct ev_io *io)
{
	if (!io->active)
		return;
	/* Fails only if the fd was closed first, which already dropped it from
	 * the epoll set (unless dup'ed: hence "stop before close"). */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->active = false;
	for (int i = loop->events_pos; i < loop->events_len; i++) {
		if (loop->events[i].data.ptr == io)
			loop->events[i].data.ptr = NULL;
	}
}

/* ---- timers ---- */

static void ev_ready_remove(struct ev_loop *loop, struct ev_timer *t)
{
	*t->ready_pprev = t->ready_next;
	if (t->ready_next)
		t->ready_next->ready_pprev = t->ready_pprev;
	else
		loop->ready_tail = t->ready_pprev;
	t->ready_next = NULL;
	t->ready_pprev = NULL;
}

static void ev_ready_append(struct ev_loop *loop, struct ev_timer *t)
{
	t->ready_next = NULL;
	t->ready_pprev = loop->ready_tail;
	*loop->ready_tail = t;
	loop->ready_tail = &t->ready_next;
}

void ev_timer_init(struct ev_timer *t, void (*cb)(struct ev_loop *, struct ev_timer *), void *data)
{
	heap_node_init(&t->node);
	t->cb = cb;
	t->data = data;
	t->ready_next = NULL;
	t->ready_pprev = NULL;
}

int ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t deadline_ns)
{
	if (t->ready_pprev) {
		/* Due this iteration but re-armed: the new deadline decides. */
		ev_ready_remove(loop, t);
	}
	return heap_update(&loop->timers, &t->node, deadline_ns);
}

void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t)
{
	if (t->ready_pprev)
		ev_ready_remove(loop, t);
	heap_remove(&loop->timers, &t->node);
}

bool ev_timer_pending(const struct ev_timer *t)
{
	return heap_node_queued(&t->node) || t->ready_pprev != NULL;
}

/* Detach every due timer first, then run them: a callback that re-arms a
 * timer for "now" puts it back in the heap for the next iteration instead of
 * spinning here (libuv's ready queue in uv__run_timers). */
static void ev_timers_run(struct ev_loop *loop)
{
	struct heap_node *n;
	struct ev_timer *t;

	while ((n = heap_peek(&loop->timers)) && n->key <= loop->now) {
		heap_pop(&loop->timers);
		ev_ready_append(loop, ev_container_of(n, struct ev_timer, node));
	}
	while ((t = loop->ready_head)) {
		ev_ready_remove(loop, t);
		t->cb(loop, t);
	}
}

static int ev_timeout_ms(const struct ev_loop *loop)
{
	const struct heap_node *n = heap_peek(&loop->timers);
	uint64_t now, delta, ms;

	if (loop->stop)
		return 0;
	if (!n)
		return -1;
	/* A fresh reading, so time spent in callbacks does not delay the timer. */
	now = ev_clock_ns();
	if (n->key <= now)
		return 0;
	delta = n->key - now;
	ms = delta / EV_NSEC_PER_MSEC + (delta % EV_NSEC_PER_MSEC != 0);
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Every watcher is level-triggered: an event the outer dispatch drops after
 * a nested run is reported again by the next epoll_wait. */
static void ev_io_dispatch(struct ev_loop *loop, int n)
{
	uint64_t gen = loop->batch_gen;
	loop->events_len = n;
	for (loop->events_pos = 0; loop->events_pos < n;) {
		struct epoll_event *e = &loop->events[loop->events_pos++];
		struct ev_io *io = e->data.ptr;
		if (io)
			io->cb(loop, io, e->events);
		if (loop->batch_gen != gen)
			return; /* the nested run dispatched (and reset) its own batch */
	}
	loop->events_len = 0;
	loop->events_pos = 0;
}

int ev_loop_run(struct ev_loop *loop)
{
	int n;

	loop->stop = false;
	loop->now = ev_clock_ns();
	for (;;) {
		ev_timers_run(loop);
		if (loop->prepare)
			loop->prepare(loop, loop->prepare_data);
		if (loop->stop)
			return 0;
		loop->batch_gen++;
		n = epoll_wait(loop->epfd, loop->events, EV_MAX_EVENTS, ev_timeout_ms(loop));
		if (n < 0 && errno != EINTR)
			return -errno;
		loop->now = ev_clock_ns();
		if (n > 0)
			ev_io_dispatch(loop, n);
		if (loop->stop)
			return 0;
	}
}

/* ---- signals ---- */

static void ev_signal_read(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct signalfd_siginfo info[16];
	ssize_t n;

	for (;;) {
		n = read(io->fd, info, sizeof(info));
		if (n < (ssize_t)sizeof(info[0]))
			return; /* EAGAIN: drained */
		for (size_t i = 0; i < (size_t)n / sizeof(info[0]); i++) {
			uint32_t signo = info[i].ssi_signo;
			struct ev_signal *s = signo < NSIG ? loop->signals[signo] : NULL;
			if (s)
				s->cb(loop, s);
		}
	}
}

void ev_signal_init(struct ev_signal *s, void (*cb)(struct ev_loop *, struct ev_signal *), void *data)
{
	s->signo = 0;
	s->cb = cb;
	s->data = data;
	s->was_blocked = false;
}

/* Point the signalfd at the current mask, creating it on first use. */
static int ev_signalfd_update(struct ev_loop *loop)
{
	int fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	if (loop->sigfd >= 0)
		return 0;
	ev_io_init(&loop->sig_io, fd, EPOLLIN, ev_signal_read, NULL);
	r = ev_io_start(loop, &loop->sig_io);
	if (r < 0) {
		close(fd);
		return r;
	}
	loop->sigfd = fd;
	return 0;
}

int ev_signal_start(struct ev_loop *loop, struct ev_signal *s, int signo)
{
	sigset_t one, old;
	int r;

	if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP)
		return -EINVAL;
	if (loop->signals[signo])
		return loop->signals[signo] == s ? 0 : -EBUSY;

	sigemptyset(&one);
	sigaddset(&one, signo);
	r = -pthread_sigmask(SIG_BLOCK, &one, &old);
	if (r < 0)
		return r;
	sigaddset(&loop->sigmask, signo);
	r = ev_signalfd_update(loop);
	if (r < 0) {
		sigdelset(&loop->sigmask, signo);
		if (!sigismember(&old, signo))
			pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		return r;
	}
	s->signo = signo;
	s->was_blocked = sigismember(&old, signo) == 1;
	loop->signals[signo] = s;
	return 0;
}

void ev_signal_stop(struct ev_loop *loop, struct ev_signal *s)
{
	sigset_t one;
	int signo = s->signo;

	if (signo <= 0 || signo >= NSIG || loop->signals[signo] != s)
		return;
	loop->signals[signo] = NULL;
	sigdelset(&loop->sigmask, signo);
	ev_signalfd_update(loop); /* only narrows the mask of an existing fd: cannot fail */
	if (!s->was_blocked) {
		sigemptyset(&one);
		sigaddset(&one, signo);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	}
	s->signo = 0;
}
