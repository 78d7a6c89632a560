/* Event loop: timer order, callbacks that re-arm and cancel, io readiness,
 * stopping a watcher whose event is already fetched, signals. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "ev/loop.h"

#define MS EV_NSEC_PER_MSEC

struct record {
	char order[16];
	size_t len;
};

struct named_timer {
	struct ev_timer t;
	char name;
	struct record *rec;
	uint64_t deadline;
};

static void record_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct named_timer *nt = t->data;

	/* Never early: the wait rounds up and now is read after waking. */
	CHECK(ev_now(loop) >= nt->deadline);
	CHECK(!ev_timer_pending(t));
	CHECK(nt->rec->len + 1 < sizeof(nt->rec->order));
	nt->rec->order[nt->rec->len++] = nt->name;
}

static void stop_cb(struct ev_loop *loop, struct ev_timer *t)
{
	record_cb(loop, t);
	ev_loop_stop(loop);
}

static void guard_cb(struct ev_loop *loop, struct ev_timer *t)
{
	fprintf(stderr, "test took too long\n");
	exit(1);
}

static void arm(struct ev_loop *loop, struct named_timer *nt, char name, struct record *rec, uint64_t deadline,
		void (*cb)(struct ev_loop *, struct ev_timer *))
{
	ev_timer_init(&nt->t, cb, nt);
	nt->name = name;
	nt->rec = rec;
	nt->deadline = deadline;
	CHECK_INT(ev_timer_start(loop, &nt->t, deadline), ==, 0);
	CHECK(ev_timer_pending(&nt->t));
}

static void test_timer_order(struct ev_loop *loop)
{
	struct record rec = { .len = 0 };
	struct named_timer a, b, c, d;
	uint64_t now = ev_now(loop);

	arm(loop, &a, 'a', &rec, now + 30 * MS, stop_cb);
	arm(loop, &b, 'b', &rec, now + 10 * MS + MS / 2, record_cb);
	arm(loop, &c, 'c', &rec, now + 20 * MS, record_cb);
	arm(loop, &d, 'd', &rec, now + 1000 * MS, record_cb);
	/* Re-arming re-keys: d moves before b. */
	d.deadline = now + 5 * MS;
	CHECK_INT(ev_timer_start(loop, &d.t, d.deadline), ==, 0);
	CHECK_INT(ev_loop_run(loop), ==, 0);
	CHECK_STR(rec.order, "dbca");
	CHECK(!ev_timer_pending(&a.t));
}

/* x cancels y and pulls z forward; v, due with x in the same iteration,
 * is cancelled by x before it runs; w re-arms itself for a time already
 * past three times, which must not spin inside one iteration. */
struct juggle {
	struct named_timer x, y, z, v, w;
	struct record rec;
	int w_runs;
};

static struct juggle *the_juggle;

static void juggle_x_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct juggle *j = the_juggle;

	record_cb(loop, t);
	CHECK(ev_timer_pending(&j->v.t)); /* due too, not yet run */
	ev_timer_stop(loop, &j->v.t);
	CHECK(!ev_timer_pending(&j->v.t));
	ev_timer_stop(loop, &j->y.t);
	j->z.deadline = ev_now(loop) + 10 * MS;
	CHECK_INT(ev_timer_start(loop, &j->z.t, j->z.deadline), ==, 0);
}

static void juggle_w_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct juggle *j = the_juggle;

	record_cb(loop, t);
	if (++j->w_runs < 3) {
		j->w.deadline = ev_now(loop);
		CHECK_INT(ev_timer_start(loop, t, ev_now(loop)), ==, 0);
		/* Re-armed for "now": runs next iteration, not within this one. */
		CHECK(ev_timer_pending(t));
	}
}

static void test_timer_juggle(struct ev_loop *loop)
{
	struct juggle j = { .w_runs = 0 };
	uint64_t now;

	the_juggle = &j;
	ev_now_update(loop);
	now = ev_now(loop);
	/* x and v are both already due: one iteration takes both. */
	arm(loop, &j.x, 'x', &j.rec, now - 2, juggle_x_cb);
	arm(loop, &j.v, 'v', &j.rec, now - 1, record_cb);
	arm(loop, &j.y, 'y', &j.rec, now + 15 * MS, record_cb);
	arm(loop, &j.z, 'z', &j.rec, now + 1000 * MS, stop_cb);
	arm(loop, &j.w, 'w', &j.rec, now + 1 * MS, juggle_w_cb);
	CHECK_INT(ev_loop_run(loop), ==, 0);
	CHECK_STR(j.rec.order, "xwwwz");
	CHECK(!ev_timer_pending(&j.y.t));
	CHECK(!ev_timer_pending(&j.v.t));
	/* Stopping what is not pending is a no-op. */
	ev_timer_stop(loop, &j.y.t);
}

struct pipe_watch {
	struct ev_io io;
	int fds[2];
	int calls;
	struct pipe_watch *other;
};

static void pipe_cb(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct pipe_watch *pw = io->data;
	char c;

	CHECK(revents & EPOLLIN);
	CHECK_INT(read(io->fd, &c, 1), ==, 1);
	pw->calls++;
	/* Both pipes are ready in one epoll batch: the other watcher is
	 * stopped here and must not be called with its fetched event. */
	ev_io_stop(loop, &pw->other->io);
	ev_io_stop(loop, io);
	ev_loop_stop(loop);
}

static void writer_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct pipe_watch *pw = t->data;

	CHECK_INT(write(pw[0].fds[1], "a", 1), ==, 1);
	CHECK_INT(write(pw[1].fds[1], "b", 1), ==, 1);
}

static void test_io(struct ev_loop *loop)
{
	struct pipe_watch pw[2];
	struct ev_timer writer;

	for (int i = 0; i < 2; i++) {
		CHECK_INT(pipe2(pw[i].fds, O_NONBLOCK | O_CLOEXEC), ==, 0);
		pw[i].calls = 0;
		pw[i].other = &pw[1 - i];
		ev_io_init(&pw[i].io, pw[i].fds[0], EPOLLIN, pipe_cb, &pw[i]);
		CHECK_INT(ev_io_start(loop, &pw[i].io), ==, 0);
	}
	/* Modify round trip: OUT on a read end never fires; back to IN. */
	CHECK_INT(ev_io_modify(loop, &pw[0].io, EPOLLOUT), ==, 0);
	CHECK_INT(ev_io_modify(loop, &pw[0].io, EPOLLIN), ==, 0);

	ev_now_update(loop);
	ev_timer_init(&writer, writer_cb, pw);
	CHECK_INT(ev_timer_start(loop, &writer, ev_now(loop) + 5 * MS), ==, 0);
	CHECK_INT(ev_loop_run(loop), ==, 0);
	CHECK_INT(pw[0].calls + pw[1].calls, ==, 1);
	CHECK(!pw[0].io.active && !pw[1].io.active);
	for (int i = 0; i < 2; i++) {
		close(pw[i].fds[0]);
		close(pw[i].fds[1]);
	}
}

static int signal_calls;

static void signal_cb(struct ev_loop *loop, struct ev_signal *s)
{
	CHECK_INT(s->signo, ==, SIGUSR1);
	signal_calls++;
	ev_loop_stop(loop);
}

static void raise_cb(struct ev_loop *loop, struct ev_timer *t)
{
	CHECK_INT(raise(SIGUSR1), ==, 0);
}

static void test_signal(struct ev_loop *loop)
{
	struct ev_signal sig, other;
	struct ev_timer raiser;
	sigset_t mask;

	ev_signal_init(&sig, signal_cb, NULL);
	ev_signal_init(&other, signal_cb, NULL);
	CHECK_INT(ev_signal_start(loop, &sig, SIGUSR1), ==, 0);
	CHECK_INT(ev_signal_start(loop, &other, SIGUSR1), ==, -EBUSY);
	CHECK_INT(ev_signal_start(loop, &other, SIGKILL), ==, -EINVAL);

	ev_now_update(loop);
	ev_timer_init(&raiser, raise_cb, NULL);
	CHECK_INT(ev_timer_start(loop, &raiser, ev_now(loop) + 2 * MS), ==, 0);
	CHECK_INT(ev_loop_run(loop), ==, 0);
	CHECK_INT(signal_calls, ==, 1);

	ev_signal_stop(loop, &sig);
	CHECK_INT(pthread_sigmask(SIG_BLOCK, NULL, &mask), ==, 0);
	CHECK(!sigismember(&mask, SIGUSR1)); /* the mask is as it was */
}

/* A callback may run the loop again (roamd's agent does, to send a last
 * request on its way out). The nested run reuses the event batch, so the
 * outer dispatch must not walk on over it: a watcher the nested run
 * stopped and freed would be called (a use-after-free ASan found). */
struct nest_watch {
	struct ev_io io;
	int fds[2];
	int *depth, *calls;
	bool poisoned;
};

static void nest_stop_cb(struct ev_loop *loop, struct ev_timer *t)
{
	(void)t;
	ev_loop_stop(loop);
}

static void nest_cb(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct nest_watch *w = io->data;
	char buf[8];
	(void)revents;
	CHECK(!w->poisoned); /* called after it was stopped and "freed" */
	(*w->calls)++;
	if (read(w->fds[0], buf, sizeof(buf)) < 0)
		CHECK(false);
	if (*w->depth == 0) {
		struct ev_timer limit;
		(*w->depth)++;
		ev_now_update(loop);
		ev_timer_init(&limit, nest_stop_cb, NULL);
		CHECK_INT(ev_timer_start(loop, &limit, ev_now(loop) + 20 * MS), ==, 0);
		CHECK_INT(ev_loop_run(loop), ==, 0);
		ev_timer_stop(loop, &limit);
		(*w->depth)--;
		return;
	}
	ev_io_stop(loop, io);
	w->poisoned = true;
}

static void test_nested_run(struct ev_loop *loop)
{
	struct nest_watch w[3];
	int depth = 0, calls = 0;

	for (int i = 0; i < 3; i++) {
		CHECK_INT(pipe2(w[i].fds, O_NONBLOCK | O_CLOEXEC), ==, 0);
		w[i].depth = &depth;
		w[i].calls = &calls;
		w[i].poisoned = false;
		ev_io_init(&w[i].io, w[i].fds[0], EPOLLIN, nest_cb, &w[i]);
		CHECK_INT(ev_io_start(loop, &w[i].io), ==, 0);
		CHECK_INT((int)write(w[i].fds[1], "x", 1), ==, 1);
	}
	/* All three readable at once: one nests, the nested run serves the other two. */
	CHECK_INT(ev_loop_run(loop), ==, 0);
	CHECK_INT(calls, ==, 3);
	for (int i = 0; i < 3; i++) {
		ev_io_stop(loop, &w[i].io);
		close(w[i].fds[0]);
		close(w[i].fds[1]);
	}
}

/* Start-up can fail before a timer was ever initialised or started; the
 * teardown still stops it. A zeroed timer must read as idle (roamd crashed
 * with SIGSEGV on every failed start before this held). */
static void test_stop_zeroed_timer(struct ev_loop *loop)
{
	struct ev_timer zeroed = { 0 }, other;
	struct { struct ev_timer t; char pad[8]; } held = { 0 };

	CHECK(!ev_timer_pending(&zeroed));
	ev_timer_stop(loop, &zeroed);
	ev_timer_init(&other, guard_cb, NULL);
	CHECK_INT(ev_timer_start(loop, &other, ev_now(loop) + EV_NSEC_PER_SEC), ==, 0);
	ev_timer_stop(loop, &zeroed); /* must not remove or disturb `other` */
	ev_timer_stop(loop, &held.t);
	CHECK(ev_timer_pending(&other));
	ev_timer_stop(loop, &other);
	CHECK(!ev_timer_pending(&other));
}

int main(void)
{
	struct ev_loop *loop = NULL;
	struct ev_timer guard;

	CHECK_INT(ev_loop_new(&loop), ==, 0);
	ev_timer_init(&guard, guard_cb, NULL);
	CHECK_INT(ev_timer_start(loop, &guard, ev_now(loop) + 10 * EV_NSEC_PER_SEC), ==, 0);

	test_timer_order(loop);
	test_timer_juggle(loop);
	test_io(loop);
	test_signal(loop);
	test_nested_run(loop);
	test_stop_zeroed_timer(loop);

	ev_timer_stop(loop, &guard);
	ev_loop_free(loop);
	ev_loop_free(NULL);
	return 0;
}
