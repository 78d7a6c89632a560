/* The retry backoff (lib/util/backoff.c): doubling with equal jitter between
 * its bounds, and the server's Retry-After obeyed. */
#include "check.h"
#include "util/backoff.h"

static void test_doubling_with_jitter(void)
{
	struct backoff b = BACKOFF_INIT(1000, 30000);
	const uint32_t bases[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000 };

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		struct backoff lo = b, hi = b;
		uint32_t least = backoff_next_ms(&lo, 0, 0), most = backoff_next_ms(&hi, 0, UINT32_MAX);
		uint32_t w = backoff_next_ms(&b, 0, 0x9e3779b9u * (uint32_t)(i + 1));
		CHECK_EQ(least, bases[i] / 2); /* never at once, never sooner than half */
		CHECK(most <= bases[i]);
		CHECK(w >= least && w <= bases[i]);
		CHECK_EQ(b.step_ms, bases[i]);
	}
	backoff_reset(&b);
	CHECK_EQ(backoff_next_ms(&b, 0, 0), 500u);
}

/* Two nodes with different random numbers wait different times. */
static void test_spread(void)
{
	uint32_t seen_low = 0, seen_high = 0;

	for (uint32_t r = 0; r < 1000; r++) {
		struct backoff b = BACKOFF_INIT(1000, 30000);
		uint32_t w = backoff_next_ms(&b, 0, r * 2654435761u);
		seen_low += w < 750;
		seen_high += w >= 750;
	}
	CHECK(seen_low > 300 && seen_high > 300);
}

static void test_retry_after(void)
{
	struct backoff b = BACKOFF_INIT(1000, 30000);
	uint32_t w;

	/* 60 s: not sooner, at most half as long again */
	CHECK_EQ(backoff_next_ms(&b, 60, 0), 60000u);
	b.step_ms = 0;
	w = backoff_next_ms(&b, 60, UINT32_MAX);
	CHECK(w >= 60000 && w <= 90000);
	CHECK_EQ(b.step_ms, 30000u); /* the next failure without a hint: from max_ms */
	w = backoff_next_ms(&b, 0, 0);
	CHECK_EQ(w, 15000u);
	/* a short hint below the current step: the step keeps doubling */
	b.step_ms = 8000;
	CHECK_EQ(backoff_next_ms(&b, 2, 0), 2000u);
	CHECK_EQ(b.step_ms, 16000u);
	/* an absurd hint is capped */
	b.step_ms = 0;
	CHECK_EQ(backoff_next_ms(&b, UINT32_MAX, 0), BACKOFF_HINT_MAX_S * 1000u);
}

int main(void)
{
	test_doubling_with_jitter();
	test_spread();
	test_retry_after();
	return check_report("test_backoff");
}
