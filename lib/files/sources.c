/* Several sources of one file: which chunk to ask of whom (sources.h). */
#include "files/sources.h"

#include <errno.h>
#include <string.h>

#include "files/files.h"

#define SRC_BITS 0x7fffu

static int src_ok(const struct files_sched *s, unsigned src)
{
	return src < FILES_SRC_MAX && s->src[src].state == FILES_SRC_ACTIVE;
}

/* Busy time runs only while the source has requests out: idle time waiting
 * for us to ask is not the source's slowness. */
static void src_tick(struct files_src *p, uint64_t now)
{
	if (p->inflight > 0 && now > p->mark_ns)
		p->busy_ns += now - p->mark_ns;
	p->mark_ns = now;
}

uint64_t files_sched_rate(const struct files_sched *s, unsigned src)
{
	if (src >= FILES_SRC_MAX)
		return 0;
	const struct files_src *p = &s->src[src];
	if (p->bytes == 0 || p->busy_ns == 0)
		return 0;
	return (uint64_t)((double)p->bytes * 1e9 / (double)p->busy_ns);
}

/* Requests in flight that keep ~FILES_SRC_TARGET_NS of the source's rate
 * outstanding; two until it has a rate (enough to measure it pipelined). */
static uint32_t src_window(const struct files_sched *s, unsigned src)
{
	uint64_t rate = files_sched_rate(s, src);
	if (rate == 0)
		return 2;
	uint64_t w = (rate * (FILES_SRC_TARGET_NS / 1000000u) / 1000u + s->chunk_size - 1) / s->chunk_size;
	if (w < 1)
		w = 1;
	if (w > FILES_SRC_WINDOW_MAX)
		w = FILES_SRC_WINDOW_MAX;
	return (uint32_t)w;
}

int files_sched_init(struct files_sched *s, uint16_t *chunk, uint32_t nchunks, uint32_t chunk_size)
{
	if (!s || !chunk || nchunks == 0 || nchunks > FILES_MAX_CHUNKS || chunk_size < FILES_CHUNK_MIN ||
	    chunk_size > FILES_CHUNK_MAX)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	memset(chunk, 0, (size_t)nchunks * sizeof(*chunk));
	s->chunk = chunk;
	s->nchunks = nchunks;
	s->chunk_size = chunk_size;
	return 0;
}

static void advance_first_open(struct files_sched *s)
{
	while (s->first_open < s->nchunks && (s->chunk[s->first_open] & FILES_SCHED_DONE))
		s->first_open++;
}

int files_sched_have(struct files_sched *s, uint32_t idx)
{
	if (idx >= s->nchunks || (s->chunk[idx] & SRC_BITS))
		return -EINVAL;
	if (!(s->chunk[idx] & FILES_SCHED_DONE)) {
		s->chunk[idx] = FILES_SCHED_DONE;
		s->done++;
		advance_first_open(s);
	}
	return 0;
}

int files_sched_add(struct files_sched *s, unsigned src, uint64_t now)
{
	if (src >= FILES_SRC_MAX)
		return -EINVAL;
	if (s->src[src].state != FILES_SRC_UNUSED)
		return -EEXIST;
	memset(&s->src[src], 0, sizeof(s->src[src]));
	s->src[src].state = FILES_SRC_ACTIVE;
	s->src[src].mark_ns = now;
	return 0;
}

static void ask(struct files_sched *s, unsigned src, uint32_t idx)
{
	s->chunk[idx] |= (uint16_t)(1u << src);
	s->src[src].inflight++;
}

/* Time for src to deliver one more chunk after what it holds, in ns; a
 * source with no rate yet counts as very slow. */
static double eta_ns(const struct files_sched *s, unsigned src, uint32_t extra)
{
	uint64_t rate = files_sched_rate(s, src);
	if (rate == 0)
		return 1e18;
	return (double)(s->src[src].inflight + extra) * s->chunk_size * 1e9 / (double)rate;
}

/* The end: nothing unasked. src takes a chunk held by one slower source if
 * it would have it in less than half the time the holder needs. */
static int steal(struct files_sched *s, unsigned src, uint32_t *idx)
{
	double mine = eta_ns(s, src, 1);
	double worst = 0;
	uint32_t best = UINT32_MAX;
	for (uint32_t i = s->first_open; i < s->nchunks; i++) {
		uint16_t w = s->chunk[i];
		if ((w & FILES_SCHED_DONE) || (w & (1u << src)))
			continue;
		uint16_t bits = w & SRC_BITS;
		if (bits == 0 || (bits & (bits - 1)) != 0) /* unasked (rescanned by next) or held twice */
			continue;
		unsigned holder = (unsigned)__builtin_ctz(bits);
		double theirs = eta_ns(s, holder, 0);
		if (theirs > worst) {
			worst = theirs;
			best = i;
		}
	}
	if (best == UINT32_MAX || !(mine * 2 < worst))
		return 0;
	ask(s, src, best);
	*idx = best;
	return 1;
}

int files_sched_next(struct files_sched *s, unsigned src, uint64_t now, uint32_t *idx)
{
	if (!src_ok(s, src))
		return -ENOENT;
	struct files_src *p = &s->src[src];
	src_tick(p, now);
	if (p->inflight >= src_window(s, src))
		return 0;
	while (s->scan < s->nchunks && s->chunk[s->scan] != 0)
		s->scan++;
	if (s->scan < s->nchunks) {
		ask(s, src, s->scan);
		*idx = s->scan++;
		return 1;
	}
	return steal(s, src, idx);
}

/* A chunk no source holds any more is unasked again: next() finds it. */
static void release(struct files_sched *s, unsigned src, uint32_t idx)
{
	s->chunk[idx] &= (uint16_t)~(1u << src);
	s->src[src].inflight--;
	if (idx < s->scan && s->chunk[idx] == 0)
		s->scan = idx;
}

int files_sched_done(struct files_sched *s, unsigned src, uint32_t idx, uint32_t len, uint64_t now,
		     uint16_t *others)
{
	if (src >= FILES_SRC_MAX || idx >= s->nchunks || !(s->chunk[idx] & (1u << src)))
		return -EINVAL;
	struct files_src *p = &s->src[src];
	src_tick(p, now);
	if (s->chunk[idx] & FILES_SCHED_DONE) {
		release(s, src, idx);
		return 0;
	}
	p->bytes += len;
	p->chunks++;
	release(s, src, idx);
	if (others)
		*others = s->chunk[idx] & SRC_BITS;
	s->chunk[idx] |= FILES_SCHED_DONE;
	s->done++;
	advance_first_open(s);
	return 1;
}

void files_sched_drop(struct files_sched *s, unsigned src, uint64_t now)
{
	if (!src_ok(s, src))
		return;
	src_tick(&s->src[src], now);
	/* From 0: a done chunk below first_open may still hold a second copy. */
	for (uint32_t i = 0; i < s->nchunks && s->src[src].inflight > 0; i++)
		if (s->chunk[i] & (1u << src))
			release(s, src, i);
	s->src[src].state = FILES_SRC_DROPPED;
}

int files_sched_failed(struct files_sched *s, unsigned src, uint32_t idx, uint64_t now)
{
	if (src >= FILES_SRC_MAX || idx >= s->nchunks || !(s->chunk[idx] & (1u << src)))
		return -EINVAL;
	struct files_src *p = &s->src[src];
	src_tick(p, now);
	release(s, src, idx);
	if (s->chunk[idx] & FILES_SCHED_DONE)
		return 0; /* a copy we no longer needed */
	if (++p->errors < FILES_SRC_MAX_ERRORS)
		return 0;
	files_sched_drop(s, src, now);
	return 1;
}

int files_sched_complete(const struct files_sched *s)
{
	return s->done == s->nchunks;
}

unsigned files_sched_active(const struct files_sched *s)
{
	unsigned n = 0;
	for (unsigned i = 0; i < FILES_SRC_MAX; i++)
		n += s->src[i].state == FILES_SRC_ACTIVE;
	return n;
}
