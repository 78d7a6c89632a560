/* The bounded packet queue (path_queue.h). Layout of the ring: entries of
 * [header][datagram], each starting at an 8-byte aligned offset; an entry
 * that would not fit before the end starts again at offset 0, and the
 * bytes skipped at the end (from wrap_at) count as used until the oldest
 * entry gets there. At most one such gap exists: the tail cannot wrap
 * again before the head has passed it. */
#include <errno.h>
#include <string.h>

#include "path/path_queue.h"

struct pq_hdr {
	uint64_t at;  /* when queued */
	uint32_t len; /* the datagram's length */
	uint32_t pad;
};

#define PQ_ALIGN 8u
#define PQ_NO_WRAP SIZE_MAX

static size_t pq_entry_size(size_t len)
{
	return (sizeof(struct pq_hdr) + len + PQ_ALIGN - 1) & ~(size_t)(PQ_ALIGN - 1);
}

int path_queue_init(struct path_queue *q, void *buf, size_t cap, uint64_t max_age_ns)
{
	if (!buf || cap < 64)
		return -EINVAL;
	memset(q, 0, sizeof(*q));
	q->buf = buf;
	q->cap = cap & ~(size_t)(PQ_ALIGN - 1);
	q->wrap_at = PQ_NO_WRAP;
	q->max_age_ns = max_age_ns;
	return 0;
}

static struct pq_hdr *pq_head(const struct path_queue *q)
{
	return (struct pq_hdr *)(void *)(q->buf + q->head);
}

void path_queue_clear(struct path_queue *q)
{
	q->head = q->tail = q->used = 0;
	q->count = 0;
	q->wrap_at = PQ_NO_WRAP;
}

/* Drop the oldest entry (the caller counts why). */
static void pq_drop_head(struct path_queue *q)
{
	size_t sz = pq_entry_size(pq_head(q)->len);
	if (!--q->count) {
		path_queue_clear(q);
		return;
	}
	q->used -= sz;
	q->head += sz;
	/* The bytes the ring skipped at its end are free once head gets there. */
	if (q->head == q->wrap_at) {
		q->used -= q->cap - q->wrap_at;
		q->wrap_at = PQ_NO_WRAP;
		q->head = 0;
	} else if (q->head == q->cap) {
		q->head = 0;
	}
}

/* The free bytes run from tail to head, or from tail to the end and from 0
 * to head: can sz of them be contiguous? */
static bool pq_fits(const struct path_queue *q, size_t sz)
{
	if (!q->count)
		return true;
	if (q->tail > q->head)
		return q->cap - q->tail >= sz || q->head >= sz;
	return q->tail < q->head && q->head - q->tail >= sz;
}

int path_queue_push(struct path_queue *q, const void *msg, size_t len, uint64_t now)
{
	size_t sz = pq_entry_size(len);
	if (sz > q->cap || len > UINT32_MAX) {
		q->stats.refused++;
		return -EMSGSIZE;
	}
	path_queue_expire(q, now);
	while (q->count && !pq_fits(q, sz)) {
		pq_drop_head(q);
		q->stats.dropped_bytes++;
	}
	size_t at = q->tail;
	if (at + sz > q->cap) {
		q->wrap_at = at;
		q->used += q->cap - at;
		at = 0;
	}
	struct pq_hdr *h = (struct pq_hdr *)(void *)(q->buf + at);
	h->at = now;
	h->len = (uint32_t)len;
	h->pad = 0;
	memcpy(h + 1, msg, len);
	q->used += sz;
	q->tail = (at + sz) % q->cap;
	q->count++;
	q->stats.queued++;
	return 0;
}

unsigned path_queue_expire(struct path_queue *q, uint64_t now)
{
	unsigned n = 0;
	while (q->count && now - pq_head(q)->at > q->max_age_ns) {
		pq_drop_head(q);
		q->stats.dropped_age++;
		n++;
	}
	return n;
}

bool path_queue_peek(struct path_queue *q, const uint8_t **msg, size_t *len, uint64_t now)
{
	path_queue_expire(q, now);
	if (!q->count)
		return false;
	struct pq_hdr *h = pq_head(q);
	*msg = (const uint8_t *)(h + 1);
	*len = h->len;
	return true;
}

void path_queue_pop(struct path_queue *q)
{
	if (!q->count)
		return;
	pq_drop_head(q);
	q->stats.sent++;
}

uint64_t path_queue_deadline(const struct path_queue *q)
{
	return q->count ? pq_head(q)->at + q->max_age_ns : UINT64_MAX;
}
