/* lib/files/sources.c: the multi-source pull scheduler, driven by a small
 * discrete-event simulation of sources with their own rates and latency:
 * balancing by measured rate, a source stopped mid-way, a source sending
 * bad chunks, the end-game second copy, resumption, and the API's edges. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "files/files.h"
#include "files/sources.h"

#define CHUNK (64u * 1024)
#define MAXCH 1024
#define MAXEV (FILES_SRC_MAX * FILES_SRC_WINDOW_MAX * 2)
#define MS 1000000ull

struct sim_src {
	double rate;       /* bytes/s; 0 = not in this run */
	uint64_t lat_ns;   /* one-way + processing */
	uint64_t stop_ns;  /* 0 = never; else it stops answering then */
	int liar;          /* every chunk fails verification */
	uint64_t busy_until;
};

struct ev {
	uint64_t at;
	unsigned src;
	uint32_t idx;
	int live;
};

struct sim {
	struct files_sched s;
	uint16_t words[MAXCH];
	struct sim_src src[FILES_SRC_MAX];
	struct ev ev[MAXEV];
	uint32_t got[MAXCH]; /* times each chunk was accepted */
	uint64_t now;
};

static void sim_request(struct sim *m, unsigned src, uint32_t idx)
{
	struct sim_src *p = &m->src[src];
	uint64_t start = m->now > p->busy_until ? m->now : p->busy_until;
	p->busy_until = start + (uint64_t)((double)CHUNK * 1e9 / p->rate);
	for (int i = 0; i < MAXEV; i++)
		if (!m->ev[i].live) {
			m->ev[i] = (struct ev){ p->busy_until + p->lat_ns, src, idx, 1 };
			return;
		}
	CHECK(0); /* more in flight than windows allow */
}

static void sim_fill(struct sim *m)
{
	for (unsigned s = 0; s < FILES_SRC_MAX; s++) {
		uint32_t idx;
		while (m->src[s].rate > 0 && files_sched_next(&m->s, s, m->now, &idx) == 1)
			sim_request(m, s, idx);
	}
}

/* Runs to completion or until nothing can move; returns the time taken. */
static uint64_t sim_run(struct sim *m, uint32_t nchunks)
{
	CHECK_EQ(files_sched_init(&m->s, m->words, nchunks, CHUNK), 0);
	memset(m->got, 0, sizeof(m->got));
	for (unsigned s = 0; s < FILES_SRC_MAX; s++)
		if (m->src[s].rate > 0)
			CHECK_EQ(files_sched_add(&m->s, s, 0), 0);
	m->now = 0;
	for (int guard = 0; guard < 100000 && !files_sched_complete(&m->s); guard++) {
		sim_fill(m);
		int best = -1;
		for (int i = 0; i < MAXEV; i++)
			if (m->ev[i].live && (best < 0 || m->ev[i].at < m->ev[best].at))
				best = i;
		if (best < 0)
			break;
		struct ev e = m->ev[best];
		m->ev[best].live = 0;
		struct sim_src *p = &m->src[e.src];
		if (p->stop_ns && e.at >= p->stop_ns) {
			/* the caller's request timeout: it notices the silence */
			if (m->now < p->stop_ns + 500 * MS)
				m->now = p->stop_ns + 500 * MS;
			files_sched_drop(&m->s, e.src, m->now);
			for (int i = 0; i < MAXEV; i++)
				if (m->ev[i].live && m->ev[i].src == e.src)
					m->ev[i].live = 0;
			continue;
		}
		m->now = e.at;
		if (p->liar) {
			files_sched_failed(&m->s, e.src, e.idx, m->now);
			continue;
		}
		uint16_t others = 0;
		if (files_sched_done(&m->s, e.src, e.idx, CHUNK, m->now, &others) == 1)
			m->got[e.idx]++;
	}
	for (int i = 0; i < MAXEV; i++)
		m->ev[i].live = 0;
	for (unsigned s = 0; s < FILES_SRC_MAX; s++)
		m->src[s].busy_until = 0;
	return m->now;
}

static int each_once(const struct sim *m, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (m->got[i] != 1 || !(m->words[i] & FILES_SCHED_DONE))
			return 0;
	return 1;
}

static struct sim M;

static void test_three_vs_one(void)
{
	memset(&M, 0, sizeof(M));
	M.src[0] = (struct sim_src){ .rate = 4e6, .lat_ns = 20 * MS };
	uint64_t one = sim_run(&M, 256);
	CHECK(files_sched_complete(&M.s));
	CHECK(each_once(&M, 256));
	M.src[1] = M.src[0];
	M.src[2] = M.src[0];
	uint64_t three = sim_run(&M, 256);
	CHECK(files_sched_complete(&M.s));
	CHECK(each_once(&M, 256));
	printf("one source %.2f s, three %.2f s (%.2fx)\n", (double)one / 1e9, (double)three / 1e9,
	       (double)one / (double)three);
	CHECK(three * 5 < one * 2); /* at least 2.5x */
	/* the window follows the rate: 16 MiB at 4 MB/s is 4.19 s; with a window
	 * of two, 20 ms of latency per request shows (4.67 s) */
	CHECK(one < 4400 * MS);
}

/* The brief's case: three holders, one rate-limited, one stopped mid-way. */
static void test_slow_and_stopped(void)
{
	memset(&M, 0, sizeof(M));
	M.src[0] = (struct sim_src){ .rate = 8e6, .lat_ns = 10 * MS };
	M.src[1] = (struct sim_src){ .rate = 8e6, .lat_ns = 10 * MS, .stop_ns = 400 * MS };
	M.src[2] = (struct sim_src){ .rate = 0.5e6, .lat_ns = 10 * MS };
	uint64_t t = sim_run(&M, 512);
	CHECK(files_sched_complete(&M.s));
	CHECK(each_once(&M, 512));
	CHECK_EQ(files_sched_active(&M.s), 2);
	CHECK_EQ(M.s.src[1].state, FILES_SRC_DROPPED);
	CHECK(M.s.src[0].chunks > 4 * M.s.src[2].chunks); /* balanced by rate */
	CHECK(M.s.src[1].chunks > 0);
	/* 32 MiB: the fast one alone needs ~4.2 s; the slow one must not hold the end up */
	CHECK(t < 4200 * MS);
	printf("slow+stopped: %.2f s; chunks %llu/%llu/%llu\n", (double)t / 1e9,
	       (unsigned long long)M.s.src[0].chunks, (unsigned long long)M.s.src[1].chunks,
	       (unsigned long long)M.s.src[2].chunks);
	uint64_t r = files_sched_rate(&M.s, 0);
	CHECK(r > 6e6 && r < 9e6);
}

static void test_liar(void)
{
	memset(&M, 0, sizeof(M));
	M.src[0] = (struct sim_src){ .rate = 2e6, .lat_ns = 10 * MS };
	M.src[3] = (struct sim_src){ .rate = 50e6, .lat_ns = 1 * MS, .liar = 1 };
	sim_run(&M, 64);
	CHECK(files_sched_complete(&M.s));
	CHECK(each_once(&M, 64));
	CHECK_EQ(M.s.src[3].state, FILES_SRC_DROPPED);
	CHECK_EQ(M.s.src[3].errors, FILES_SRC_MAX_ERRORS);
	CHECK_EQ(M.s.src[3].chunks, 0);
}

/* A very slow source holding the last chunks: a fast idle one takes them too. */
static void test_endgame(void)
{
	memset(&M, 0, sizeof(M));
	M.src[0] = (struct sim_src){ .rate = 20e6, .lat_ns = 5 * MS };
	M.src[1] = (struct sim_src){ .rate = 0.05e6, .lat_ns = 5 * MS };
	uint64_t t = sim_run(&M, 128);
	CHECK(files_sched_complete(&M.s));
	CHECK(each_once(&M, 128));
	/* 8 MiB at 20 MB/s is 0.42 s; one 64 KiB chunk from the slow one alone takes 1.3 s */
	CHECK(t < 1000 * MS);
}

static void test_resume_and_edges(void)
{
	memset(&M, 0, sizeof(M));
	struct files_sched *s = &M.s;
	uint32_t idx;
	CHECK_EQ(files_sched_init(s, M.words, 0, CHUNK), -EINVAL);
	CHECK_EQ(files_sched_init(s, M.words, 8, 100), -EINVAL);
	CHECK_EQ(files_sched_init(s, M.words, 8, CHUNK), 0);
	for (uint32_t i = 0; i < 8; i += 2)
		CHECK_EQ(files_sched_have(s, i), 0);
	CHECK_EQ(files_sched_have(s, 8), -EINVAL);
	CHECK_EQ(files_sched_next(s, 0, 0, &idx), -ENOENT); /* not added */
	CHECK_EQ(files_sched_add(s, 0, 0), 0);
	CHECK_EQ(files_sched_add(s, 0, 0), -EEXIST);
	CHECK_EQ(files_sched_add(s, FILES_SRC_MAX, 0), -EINVAL);
	/* no rate yet: a window of two, only the chunks not held */
	CHECK_EQ(files_sched_next(s, 0, 0, &idx), 1);
	CHECK_EQ(idx, 1);
	CHECK_EQ(files_sched_next(s, 0, 0, &idx), 1);
	CHECK_EQ(idx, 3);
	CHECK_EQ(files_sched_next(s, 0, 0, &idx), 0);
	CHECK_EQ(files_sched_have(s, 1), -EINVAL); /* asked: not "held" */
	CHECK_EQ(files_sched_done(s, 0, 5, CHUNK, 1, NULL), -EINVAL); /* never asked */
	/* a failure gives the chunk back: asked again */
	CHECK_EQ(files_sched_failed(s, 0, 1, 1), 0);
	CHECK_EQ(files_sched_next(s, 0, 2, &idx), 1);
	CHECK_EQ(idx, 1);
	/* a second source; then the first is dropped: its chunks go to the second */
	CHECK_EQ(files_sched_add(s, 1, 2), 0);
	files_sched_drop(s, 0, 3);
	CHECK_EQ(files_sched_next(s, 0, 3, &idx), -ENOENT);
	uint32_t seen = 0;
	for (int k = 0; k < 8; k++) {
		if (files_sched_next(s, 1, 4, &idx) != 1)
			break;
		seen |= 1u << idx;
		uint16_t others = 0xffff;
		CHECK_EQ(files_sched_done(s, 1, idx, CHUNK, 5, &others), 1);
		CHECK_EQ(others, 0);
	}
	CHECK_EQ(seen, 0xaa); /* 1, 3, 5, 7 */
	CHECK(files_sched_complete(s));
	CHECK_EQ(files_sched_active(s), 1);
	/* the last source gone: nothing active, the caller reports failure */
	files_sched_drop(s, 1, 6);
	CHECK_EQ(files_sched_active(s), 0);
}

/* Two copies of one chunk: the first verified wins, the second is ignored. */
static void test_duplicate_copy(void)
{
	memset(&M, 0, sizeof(M));
	struct files_sched *s = &M.s;
	uint32_t idx, i0;
	uint16_t others = 0;
	CHECK_EQ(files_sched_init(s, M.words, 1, CHUNK), 0);
	CHECK_EQ(files_sched_add(s, 0, 0), 0);
	CHECK_EQ(files_sched_add(s, 1, 0), 0);
	CHECK_EQ(files_sched_next(s, 0, 0, &i0), 1);
	/* source 1 has no rate yet: it does not take a second copy */
	CHECK_EQ(files_sched_next(s, 1, 0, &idx), 0);
	/* give source 1 a rate on another pull's worth of bytes: simulate with done on a fresh sched */
	s->src[1].bytes = 10u << 20;
	s->src[1].busy_ns = 100 * MS;
	CHECK_EQ(files_sched_next(s, 1, 0, &idx), 1);
	CHECK_EQ(idx, i0);
	CHECK_EQ(files_sched_done(s, 1, idx, CHUNK, 1, &others), 1);
	CHECK_EQ(others, 1u << 0);
	CHECK_EQ(files_sched_done(s, 0, i0, CHUNK, 2, NULL), 0);
	CHECK_EQ(s->src[0].inflight, 0);
	CHECK_EQ(s->src[0].chunks, 0);
	CHECK(files_sched_complete(s));
}

int main(void)
{
	test_three_vs_one();
	test_slow_and_stopped();
	test_liar();
	test_endgame();
	test_resume_and_edges();
	test_duplicate_copy();
	return check_report("test_files_sources");
}
