/* Binary min-heap of intrusive nodes keyed by a 64-bit deadline.
 *
 * Used for every timer in roam: the event loop's timers and the per-peer
 * WireGuard timers. Nodes are embedded in their owners (no allocation per
 * timer) and remember their slot so removal and re-keying are O(log n). */
#ifndef ROAM_UTIL_HEAP_H
#define ROAM_UTIL_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* A node's slot is stored plus one, so that a zeroed node (a timer in a
 * calloc'ed or "= { 0 }" struct that was never started) reads as not
 * queued: removing it is then a harmless no-op. */
#define HEAP_NOT_QUEUED 0

struct heap_node {
	uint64_t key;
	size_t index; /* slot + 1; HEAP_NOT_QUEUED (0) when not in a heap */
};

struct heap {
	struct heap_node **nodes;
	size_t len, cap;
};

static inline void heap_node_init(struct heap_node *n) { n->key = 0; n->index = HEAP_NOT_QUEUED; }
static inline int heap_node_queued(const struct heap_node *n) { return n->index != HEAP_NOT_QUEUED; }

int heap_init(struct heap *h);
void heap_free(struct heap *h);
int heap_reserve(struct heap *h, size_t cap);          /* so later pushes cannot fail; -ENOMEM */
int heap_push(struct heap *h, struct heap_node *n);   /* 0 or -ENOMEM; n must not be queued */
void heap_remove(struct heap *h, struct heap_node *n); /* no-op if not queued */
int heap_update(struct heap *h, struct heap_node *n, uint64_t key); /* push or re-key; -ENOMEM */
struct heap_node *heap_peek(const struct heap *h);
struct heap_node *heap_pop(struct heap *h);

#endif
