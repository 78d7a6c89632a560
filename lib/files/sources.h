/* Pulling one file from several sources at once (issue 11, "several
 * sources"): which chunk to ask which source for next. Pure: no I/O, no
 * clock (the caller passes "now" in nanoseconds), no allocation (the caller
 * provides one uint16_t per chunk). The caller verifies each chunk against
 * its hash before it reports it done; a chunk that fails is asked again,
 * from another source when there is one.
 *
 * Balancing: each source keeps a window of requests in flight sized to its
 * measured rate (bytes over the time it had requests outstanding), so a fast
 * source is kept busy and a slow one holds few chunks. At the end, when no
 * chunk is left unasked, an idle source clearly faster than the holder of a
 * chunk asks for it too (at most two holders per chunk); the first copy that
 * verifies wins. A source that drops out, or fails too often, gives its
 * chunks back. The pull finishes while at least one source remains. */
#ifndef ROAM_FILES_SOURCES_H
#define ROAM_FILES_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#define FILES_SRC_MAX 15        /* sources of one pull: one bit each in a chunk's word */
#define FILES_SRC_WINDOW_MAX 16 /* requests in flight per source */
#define FILES_SRC_MAX_ERRORS 3  /* bad or timed-out chunks before a source is dropped */
#define FILES_SRC_TARGET_NS 250000000ull /* a window holds ~250 ms of the source's rate */

enum files_src_state {
	FILES_SRC_UNUSED = 0,
	FILES_SRC_ACTIVE,
	FILES_SRC_DROPPED,
};

struct files_src {
	enum files_src_state state;
	uint32_t inflight;
	uint32_t errors;
	uint64_t bytes;   /* verified bytes from this source */
	uint64_t busy_ns; /* time with requests in flight */
	uint64_t mark_ns; /* when busy_ns was last brought up to date */
	uint64_t chunks;  /* verified chunks from this source */
};

struct files_sched {
	uint16_t *chunk; /* per chunk: bit s = asked of source s; FILES_SCHED_DONE once verified */
	uint32_t nchunks, done, chunk_size;
	uint32_t scan;       /* no unasked chunk below this index */
	uint32_t first_open; /* every chunk below this index is done */
	struct files_src src[FILES_SRC_MAX];
};
#define FILES_SCHED_DONE 0x8000u

/* chunk: caller's array of nchunks words (1..FILES_MAX_CHUNKS); all zero
 * means nothing fetched yet. A resumed pull marks chunks it already holds
 * with files_sched_have() before asking. */
int files_sched_init(struct files_sched *s, uint16_t *chunk, uint32_t nchunks, uint32_t chunk_size);
int files_sched_have(struct files_sched *s, uint32_t idx);
/* A source joins (index 0..FILES_SRC_MAX-1): -EEXIST if it is in use. */
int files_sched_add(struct files_sched *s, unsigned src, uint64_t now);
/* The next chunk to ask src for: 1 with *idx, 0 when src should wait (its
 * window is full, or nothing is left it could usefully take), -ENOENT when
 * src is not active. */
int files_sched_next(struct files_sched *s, unsigned src, uint64_t now, uint32_t *idx);
/* A chunk from src verified. *others gets the other sources that were
 * asked for it (the caller may cancel those requests; their answers are
 * then reported with files_sched_done() or _failed() and are ignored).
 * Returns 1 when this made the chunk done, 0 if it was already done. */
int files_sched_done(struct files_sched *s, unsigned src, uint32_t idx, uint32_t len, uint64_t now,
		     uint16_t *others);
/* A chunk from src failed its hash, or timed out: asked again elsewhere.
 * Returns 1 when src was dropped for too many errors, else 0. */
int files_sched_failed(struct files_sched *s, unsigned src, uint32_t idx, uint64_t now);
/* src went away (stopped, unreachable): its chunks go back to the others. */
void files_sched_drop(struct files_sched *s, unsigned src, uint64_t now);
int files_sched_complete(const struct files_sched *s);      /* 1 when every chunk is done */
unsigned files_sched_active(const struct files_sched *s);   /* sources still active */
uint64_t files_sched_rate(const struct files_sched *s, unsigned src); /* bytes/s measured, 0 if none yet */

#endif
