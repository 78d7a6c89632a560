/* A peer's packets while no path is usable (issue 13, "no drops across a
 * switch"): a bounded FIFO of datagrams, bounded both by age and by bytes.
 * The caller holds what it would have sent while the active path is
 * SUSPECT with nothing to fall back on, and sends it all on the next path
 * the policy picks. Beyond either bound the oldest datagrams are dropped
 * first (a late packet is worth less than a fresh one), and counted.
 *
 * Pure: no clock (times come in), no allocation (the caller gives the
 * storage, so a peer that never needs a queue costs nothing). Datagrams are
 * stored in a byte ring, each behind a small header; one datagram never
 * wraps (the ring skips to its start instead), so path_queue_peek gives a
 * contiguous buffer. */
#ifndef ROAM_PATH_PATH_QUEUE_H
#define ROAM_PATH_PATH_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults for the daemon: half a second, 64 KiB per peer. */
#define PATH_QUEUE_MAX_AGE_NS (500ULL * 1000000ULL)
#define PATH_QUEUE_BYTES (64u * 1024u)

struct path_queue_stats {
	uint64_t queued, sent;
	uint64_t dropped_age;   /* older than max_age when sent or expired */
	uint64_t dropped_bytes; /* pushed out by newer ones beyond the byte bound */
	uint64_t refused;       /* longer than the whole queue could ever hold */
};

struct path_queue {
	uint8_t *buf;
	size_t cap;
	size_t head, tail; /* byte offsets: oldest entry at head, next write at tail */
	size_t used;       /* bytes in use, headers and skipped ends included */
	size_t wrap_at;    /* the bytes from here to the end are skipped; SIZE_MAX: none */
	unsigned count;
	uint64_t max_age_ns;
	struct path_queue_stats stats;
};

/* buf of cap bytes (at least 64); -EINVAL otherwise. */
int path_queue_init(struct path_queue *q, void *buf, size_t cap, uint64_t max_age_ns);
/* Queue a copy of msg, dropping the oldest datagrams as needed to make
 * room. 0, or -EMSGSIZE if it could never fit (counted as refused). */
int path_queue_push(struct path_queue *q, const void *msg, size_t len, uint64_t now);
/* Drop every datagram older than max_age at now; returns how many. */
unsigned path_queue_expire(struct path_queue *q, uint64_t now);
/* The oldest datagram still young enough (older ones are dropped first):
 * true and *msg, *len set, or false if none. Valid until the next call. */
bool path_queue_peek(struct path_queue *q, const uint8_t **msg, size_t *len, uint64_t now);
/* Remove the datagram peek returned; counted as sent. */
void path_queue_pop(struct path_queue *q);
/* Drop everything (uncounted: e.g. the peer went away). */
void path_queue_clear(struct path_queue *q);
/* The time the oldest datagram expires; UINT64_MAX if empty. */
uint64_t path_queue_deadline(const struct path_queue *q);

static inline unsigned path_queue_count(const struct path_queue *q)
{
	return q->count;
}

#endif
