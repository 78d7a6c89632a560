/* The bounded packet queue of "no drops across a switch": order, the age
 * and byte bounds (oldest dropped first, counted), wrapping, and a long
 * random run checked against a simple model. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "path/path_queue.h"

#define MS 1000000ULL

static uint8_t storage[4096];

static void fill(uint8_t *b, size_t len, uint32_t seq)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seq + i);
}

static bool is(const uint8_t *b, size_t len, uint32_t seq)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != (uint8_t)(seq + i))
			return false;
	return true;
}

static void test_order_and_age(void)
{
	struct path_queue q;
	uint8_t m[100];
	const uint8_t *out;
	size_t len;
	CHECK_EQ(path_queue_init(&q, storage, 32, 500 * MS), -EINVAL);
	CHECK_EQ(path_queue_init(&q, storage, sizeof(storage), 500 * MS), 0);
	CHECK(!path_queue_peek(&q, &out, &len, 0));
	CHECK_EQ(path_queue_deadline(&q), UINT64_MAX);
	for (uint32_t i = 0; i < 5; i++) {
		fill(m, 10 + i, i);
		CHECK_EQ(path_queue_push(&q, m, 10 + i, i * 100 * MS), 0);
	}
	CHECK_EQ(path_queue_count(&q), 5);
	CHECK_EQ(path_queue_deadline(&q), 500 * MS);
	/* At 650 ms the first two (0 and 100 ms) are too old. */
	CHECK(path_queue_peek(&q, &out, &len, 650 * MS));
	CHECK_EQ(q.stats.dropped_age, 2);
	CHECK(len == 12 && is(out, len, 2));
	path_queue_pop(&q);
	CHECK(path_queue_peek(&q, &out, &len, 650 * MS) && len == 13 && is(out, len, 3));
	CHECK_EQ(path_queue_expire(&q, 10000 * MS), 2);
	CHECK_EQ(path_queue_count(&q), 0);
	CHECK_EQ(q.stats.sent, 1);
	CHECK_EQ(q.stats.queued, 5);
	CHECK_EQ(path_queue_push(&q, m, sizeof(storage), 0), -EMSGSIZE);
	CHECK_EQ(q.stats.refused, 1);
}

/* Beyond the byte bound the oldest go first; the newest always fits. */
static void test_bytes_bound(void)
{
	struct path_queue q;
	uint8_t m[1400];
	const uint8_t *out;
	size_t len;
	CHECK_EQ(path_queue_init(&q, storage, sizeof(storage), 500 * MS), 0);
	for (uint32_t i = 0; i < 10; i++) {
		fill(m, sizeof(m), i);
		CHECK_EQ(path_queue_push(&q, m, sizeof(m), 0), 0);
		CHECK(path_queue_count(&q) <= 2); /* 2 x 1416 of 4096 bytes, one never wraps */
	}
	CHECK_EQ(q.stats.dropped_bytes, 10 - path_queue_count(&q));
	uint32_t first = 10 - path_queue_count(&q);
	for (uint32_t i = first; i < 10; i++) {
		CHECK(path_queue_peek(&q, &out, &len, 0) && len == sizeof(m) && is(out, len, i));
		path_queue_pop(&q);
	}
	CHECK(!path_queue_peek(&q, &out, &len, 0));
}

/* Random sizes, pushes and pops against a FIFO model of what must be
 * there: every datagram comes out whole, in order, or was counted dropped. */
static void test_random(void)
{
	struct path_queue q;
	uint8_t m[600];
	const uint8_t *out;
	size_t len;
	uint32_t rng = 12345, next_seq = 0, expect_seq = 0;
	uint32_t lens[1 << 16];
	CHECK_EQ(path_queue_init(&q, storage, 3000, UINT64_MAX / 2), 0);
	for (int step = 0; step < 60000; step++) {
		rng = rng * 1103515245u + 12345u;
		if ((rng >> 16) % 3 != 0) {
			size_t l = (rng >> 8) % sizeof(m) + 1;
			fill(m, l, next_seq);
			lens[next_seq & 0xffff] = (uint32_t)l;
			CHECK_EQ(path_queue_push(&q, m, l, 0), 0);
			next_seq++;
		} else if (path_queue_peek(&q, &out, &len, 0)) {
			/* Dropped ones are skipped: find which one this is. */
			uint64_t dropped = q.stats.dropped_bytes;
			uint32_t seq = expect_seq;
			while (seq < next_seq && seq - expect_seq <= dropped && !(len == lens[seq & 0xffff] && is(out, len, seq)))
				seq++;
			CHECK(seq < next_seq && len == lens[seq & 0xffff] && is(out, len, seq));
			expect_seq = seq + 1;
			path_queue_pop(&q);
		}
		CHECK(q.used <= q.cap);
		if (check_failures)
			return;
	}
	CHECK_EQ(q.stats.queued, next_seq);
	CHECK_EQ(q.stats.sent + q.stats.dropped_bytes + path_queue_count(&q), q.stats.queued);
}

int main(void)
{
	test_order_and_age();
	test_bytes_bound();
	test_random();
	return check_report("test_path_queue");
}
