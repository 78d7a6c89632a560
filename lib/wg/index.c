/* Session index table: random 32-bit indices, chained hash buckets that
 * double when the load passes one entry per bucket. Indices are chosen by us
 * at random, so their low bits are a fair hash. */
#include <errno.h>
#include <stdlib.h>

#include "wg/device_internal.h"

static size_t bucket_of(const struct wg_device *dev, uint32_t index)
{
	return index & (dev->index_nbuckets - 1);
}

static int index_grow(struct wg_device *dev)
{
	size_t n = dev->index_nbuckets ? dev->index_nbuckets * 2 : 64;
	struct wg_index_entry **buckets = calloc(n, sizeof(*buckets));
	if (!buckets)
		return -ENOMEM;
	for (size_t i = 0; i < dev->index_nbuckets; i++) {
		struct wg_index_entry *e = dev->index_buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			size_t b = e->index & (n - 1);
			e->next = buckets[b];
			buckets[b] = e;
		}
	}
	free(dev->index_buckets);
	dev->index_buckets = buckets;
	dev->index_nbuckets = n;
	return 0;
}

struct wg_index_entry *wg_index_lookup(const struct wg_device *dev, uint32_t index)
{
	if (!dev->index_nbuckets)
		return NULL;
	for (struct wg_index_entry *e = dev->index_buckets[bucket_of(dev, index)]; e; e = e->next)
		if (e->index == index)
			return e;
	return NULL;
}

int wg_index_insert(struct wg_device *dev, struct wg_index_entry *e)
{
	int ret;
	if (e->in_table)
		wg_index_remove(dev, e);
	if (dev->nindex >= dev->index_nbuckets && (ret = index_grow(dev)) < 0)
		return ret;
	/* Collisions are rare (2^32 space); retry until unique and non-zero. */
	do
		wg_random(dev, &e->index, sizeof(e->index));
	while (e->index == 0 || wg_index_lookup(dev, e->index));
	size_t b = bucket_of(dev, e->index);
	e->next = dev->index_buckets[b];
	dev->index_buckets[b] = e;
	e->in_table = true;
	dev->nindex++;
	return 0;
}

void wg_index_remove(struct wg_device *dev, struct wg_index_entry *e)
{
	if (!e->in_table)
		return;
	struct wg_index_entry **slot = &dev->index_buckets[bucket_of(dev, e->index)];
	for (; *slot; slot = &(*slot)->next) {
		if (*slot == e) {
			*slot = e->next;
			break;
		}
	}
	e->in_table = false;
	e->next = NULL;
	dev->nindex--;
}

void wg_index_replace(struct wg_device *dev, struct wg_index_entry *stale, struct wg_index_entry *fresh)
{
	struct wg_index_entry **slot;
	if (!stale->in_table)
		return;
	slot = &dev->index_buckets[bucket_of(dev, stale->index)];
	for (; *slot; slot = &(*slot)->next) {
		if (*slot == stale) {
			fresh->index = stale->index;
			fresh->next = stale->next;
			fresh->in_table = true;
			*slot = fresh;
			break;
		}
	}
	stale->in_table = false;
	stale->next = NULL;
}
