/* Replay window, table-driven: each step is a counter and whether it must
 * be accepted, applied in order to one window. */
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "wg/replay.h"

struct step {
	uint64_t counter;
	bool accept;
};

#define W 8128ULL /* usable window: 8192 bits less one word */

static void run(const char *name, const struct step *steps, size_t n, uint64_t reject_after)
{
	struct replay_window w;
	replay_init(&w);
	for (size_t i = 0; i < n; i++) {
		bool got = replay_check_and_update(&w, steps[i].counter, reject_after);
		if (got != steps[i].accept)
			fprintf(stderr, "%s step %zu: counter %llu accepted=%d want %d\n", name, i,
				(unsigned long long)steps[i].counter, got, steps[i].accept);
		CHECK_EQ(got, steps[i].accept);
	}
}

/* The three verdicts, and where each counter first came from. */
static void test_verdicts_and_origins(void)
{
	struct replay_window w;
	struct replay_origins o;
	struct endpoint a = { .len = 2, .bytes = { 1, 1 } }, b = { .len = 2, .bytes = { 1, 2 } };
	struct endpoint e[4] = { a, b, { .len = 2, .bytes = { 1, 3 } }, { .len = 2, .bytes = { 1, 4 } } };
	uint64_t age = 0;
	replay_init(&w);
	replay_origins_init(&o);
	CHECK_EQ(replay_check(&w, 10, 100), REPLAY_NEW);
	replay_origins_note(&o, 10, &a, 1000);
	CHECK_EQ(replay_check(&w, 11, 100), REPLAY_NEW);
	replay_origins_note(&o, 11, &b, 1500);
	CHECK_EQ(replay_check(&w, 10, 100), REPLAY_SEEN);
	CHECK_EQ(replay_check(&w, 100, 100), REPLAY_TOO_OLD);
	CHECK(endpoint_equal(replay_origins_first(&o, 10, 2000, &age), &a));
	CHECK_EQ(age, 500); /* the word's newest counter: a lower bound */
	CHECK(endpoint_equal(replay_origins_first(&o, 11, 2000, &age), &b));
	CHECK(replay_origins_first(&o, 12, 2000, &age) == NULL); /* never noted */
	CHECK_EQ(replay_check(&w, 9000, UINT64_MAX), REPLAY_NEW);
	CHECK_EQ(replay_check(&w, 10, UINT64_MAX), REPLAY_TOO_OLD);
	/* A fourth source takes the oldest slot. */
	for (uint64_t i = 0; i < 4; i++) {
		CHECK_EQ(replay_check(&w, 9001 + i, UINT64_MAX), REPLAY_NEW);
		replay_origins_note(&o, 9001 + i, &e[i], 3000);
	}
	CHECK(endpoint_equal(replay_origins_first(&o, 9004, 3000, &age), &e[3]));
	CHECK(endpoint_equal(replay_origins_first(&o, 9003, 3000, &age), &e[2]));
}

int main(void)
{
	static const struct step in_order[] = { { 0, 1 }, { 1, 1 }, { 1, 0 }, { 2, 1 }, { 0, 0 }, { 3, 1 } };
	static const struct step reorder[] = { { 5, 1 }, { 3, 1 }, { 4, 1 }, { 3, 0 }, { 0, 1 }, { 5, 0 } };
	/* The issue asks for at least 2048 packets of reordering tolerance. */
	static const struct step window[] = {
		{ 3000, 1 }, { 3000 - 2048, 1 }, { 3000 - 2048, 0 }, { 10000, 1 }, { 10000 - W + 1, 1 },
		{ 10000 - W, 1 }, { 10000 - W - 1, 0 }, { 10000 - W - 2, 0 }, { 9999, 1 }, { 10000, 0 },
	};
	static const struct step jumps[] = {
		{ 1, 1 }, { 1000000, 1 }, { 1, 0 }, { 999999, 1 }, { 1000000 + 64, 1 }, { 1000000 + 63, 1 },
		{ 1000000 + 8192 * 3, 1 }, { 1000000 + 64, 0 }, { 1000000 + 8192 * 3 - 1, 1 },
	};
	static const struct step limit[] = { { 99, 1 }, { 100, 0 }, { 101, 0 }, { 98, 1 } };
	test_verdicts_and_origins();
	run("in_order", in_order, sizeof(in_order) / sizeof(in_order[0]), UINT64_MAX);
	run("reorder", reorder, sizeof(reorder) / sizeof(reorder[0]), UINT64_MAX);
	run("window", window, sizeof(window) / sizeof(window[0]), UINT64_MAX);
	run("jumps", jumps, sizeof(jumps) / sizeof(jumps[0]), UINT64_MAX);
	run("limit", limit, sizeof(limit) / sizeof(limit[0]), 100);

	/* Every counter of a long shuffled run is accepted exactly once. */
	struct replay_window w;
	replay_init(&w);
	int accepted = 0;
	for (uint64_t base = 0; base < 100000; base += 1000)
		for (uint64_t i = 0; i < 1000; i++) {
			uint64_t c = base + (i * 7919) % 1000; /* permutation of the block */
			accepted += replay_check_and_update(&w, c, UINT64_MAX);
			CHECK(!replay_check_and_update(&w, c, UINT64_MAX));
		}
	CHECK_EQ(accepted, 100000);
	return check_report("test_replay");
}
