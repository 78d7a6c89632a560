#include "util/heap.h"

#include <errno.h>
#include <stdlib.h>

int heap_init(struct heap *h)
{
	h->nodes = NULL;
	h->len = 0;
	h->cap = 0;
	return 0;
}

void heap_free(struct heap *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->len; i++)
		h->nodes[i]->index = HEAP_NOT_QUEUED;
	free(h->nodes);
	h->nodes = NULL;
	h->len = h->cap = 0;
}

static void heap_place(struct heap *h, size_t i, struct heap_node *n)
{
	h->nodes[i] = n;
	n->index = i + 1;
}

static void heap_sift_up(struct heap *h, size_t i)
{
	struct heap_node *n = h->nodes[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->nodes[parent]->key <= n->key)
			break;
		heap_place(h, i, h->nodes[parent]);
		i = parent;
	}
	heap_place(h, i, n);
}

static void heap_sift_down(struct heap *h, size_t i)
{
	struct heap_node *n = h->nodes[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= h->len)
			break;
		if (child + 1 < h->len && h->nodes[child + 1]->key < h->nodes[child]->key)
			child++;
		if (n->key <= h->nodes[child]->key)
			break;
		heap_place(h, i, h->nodes[child]);
		i = child;
	}
	heap_place(h, i, n);
}

int heap_reserve(struct heap *h, size_t cap)
{
	if (cap <= h->cap)
		return 0;
	struct heap_node **nodes = realloc(h->nodes, cap * sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	h->nodes = nodes;
	h->cap = cap;
	return 0;
}

int heap_push(struct heap *h, struct heap_node *n)
{
	if (h->len == h->cap) {
		int ret = heap_reserve(h, h->cap ? h->cap * 2 : 16);
		if (ret < 0)
			return ret;
	}
	heap_place(h, h->len, n);
	heap_sift_up(h, h->len++);
	return 0;
}

void heap_remove(struct heap *h, struct heap_node *n)
{
	/* Not queued, or queued in another heap: nothing to do here. */
	if (!heap_node_queued(n) || n->index > h->len || h->nodes[n->index - 1] != n)
		return;
	size_t i = n->index - 1;
	struct heap_node *last = h->nodes[--h->len];
	n->index = HEAP_NOT_QUEUED;
	if (last == n)
		return;
	heap_place(h, i, last);
	/* The moved node may belong above or below its new slot. */
	heap_sift_up(h, i);
	heap_sift_down(h, last->index - 1);
}

int heap_update(struct heap *h, struct heap_node *n, uint64_t key)
{
	if (!heap_node_queued(n)) {
		n->key = key;
		return heap_push(h, n);
	}
	uint64_t old = n->key;
	n->key = key;
	if (key < old)
		heap_sift_up(h, n->index - 1);
	else
		heap_sift_down(h, n->index - 1);
	return 0;
}

struct heap_node *heap_peek(const struct heap *h)
{
	return h->len ? h->nodes[0] : NULL;
}

struct heap_node *heap_pop(struct heap *h)
{
	struct heap_node *top = heap_peek(h);
	if (top)
		heap_remove(h, top);
	return top;
}
