/* Home and meeting relays (lib/path/relay_choice.h): the meeting relay is
 * the same from both sides, skips relays either side lacks and breaks ties
 * to the lower index; the home relay moves only when another is better by
 * both margins three rounds in a row, at once when the home goes silent. */
#include <stdint.h>
#include <stdio.h>

#include "../check.h"
#include "path/relay_choice.h"

#define MS 1000u

static void test_best(void)
{
	uint32_t none[3] = { 0, 0, 0 }, r[4] = { 0, 30 * MS, 10 * MS, 10 * MS };
	CHECK_EQ(relay_best(none, 3), -1);
	CHECK_EQ(relay_best(r, 4), 2); /* tie 2/3: the lower */
	CHECK_EQ(relay_best(r, 0), -1);
}

static void test_meeting(void)
{
	/* A near relay 1, B near relay 2; relay 0 far for both. */
	uint32_t a[3] = { 50 * MS, 5 * MS, 40 * MS }, b[3] = { 50 * MS, 40 * MS, 6 * MS };
	CHECK_EQ(relay_meeting(a, 3, b, 3), 1); /* 45 < 46 < 100 */
	CHECK_EQ(relay_meeting(b, 3, a, 3), 1); /* both sides agree */
	/* A tie: the lower index, from both sides. */
	uint32_t c[3] = { 10 * MS, 20 * MS, 10 * MS }, d[3] = { 10 * MS, 0, 10 * MS };
	CHECK_EQ(relay_meeting(c, 3, d, 3), 0);
	CHECK_EQ(relay_meeting(d, 3, c, 3), 0);
	/* Relay 1 unknown to d: not a choice, however good for c. */
	uint32_t e[3] = { 0, 1 * MS, 90 * MS };
	CHECK_EQ(relay_meeting(e, 3, d, 3), 2);
	/* Nothing shared; different lengths. */
	uint32_t f[2] = { 0, 5 * MS }, g[1] = { 5 * MS };
	CHECK_EQ(relay_meeting(f, 2, g, 1), -1);
	CHECK_EQ(relay_meeting(e, 3, g, 1), -1);
	/* Large round trips do not wrap. */
	uint32_t h[2] = { UINT32_MAX, UINT32_MAX - 1 }, k[2] = { UINT32_MAX, UINT32_MAX };
	CHECK_EQ(relay_meeting(h, 2, k, 2), 1);
}

static void test_home(void)
{
	struct relay_home h;
	relay_home_init(&h);
	uint32_t r[3] = { 0, 0, 0 };
	CHECK_EQ(relay_home_update(&h, r, 3), -1);
	r[0] = 30 * MS;
	CHECK_EQ(relay_home_update(&h, r, 3), 0); /* the first known: at once */
	/* 20 % better but only 4 ms: never. */
	r[0] = 20 * MS, r[1] = 16 * MS;
	for (int i = 0; i < 5; i++)
		CHECK_EQ(relay_home_update(&h, r, 3), 0);
	/* 10 ms but only 10 % better: never. */
	r[0] = 100 * MS, r[1] = 90 * MS;
	for (int i = 0; i < 5; i++)
		CHECK_EQ(relay_home_update(&h, r, 3), 0);
	/* Better by both: the third round in a row moves it. */
	r[1] = 70 * MS;
	CHECK_EQ(relay_home_update(&h, r, 3), 0);
	CHECK_EQ(relay_home_update(&h, r, 3), 0);
	CHECK_EQ(relay_home_update(&h, r, 3), 1);
	/* A streak broken by one round: starts again. */
	r[2] = 10 * MS;
	CHECK_EQ(relay_home_update(&h, r, 3), 1);
	CHECK_EQ(relay_home_update(&h, r, 3), 1);
	r[2] = 69 * MS;
	CHECK_EQ(relay_home_update(&h, r, 3), 1);
	r[2] = 10 * MS;
	CHECK_EQ(relay_home_update(&h, r, 3), 1);
	CHECK_EQ(relay_home_update(&h, r, 3), 1);
	CHECK_EQ(relay_home_update(&h, r, 3), 2);
	/* The home goes silent (0): the best at once. */
	r[2] = 0;
	CHECK_EQ(relay_home_update(&h, r, 3), 1);
	/* A round with nothing: kept. */
	uint32_t none[3] = { 0, 0, 0 };
	CHECK_EQ(relay_home_update(&h, none, 3), 1);
	/* The map shrank below the home's index: the best at once. */
	CHECK_EQ(relay_home_update(&h, r, 1), 0);
}

static void test_candidates(void)
{
	uint8_t out[RELAY_PAIR_CANDIDATES_MAX];
	CHECK_EQ(relay_pair_candidates(1, 0, 2, out), 3);
	CHECK(out[0] == 1 && out[1] == 0 && out[2] == 2);
	CHECK_EQ(relay_pair_candidates(1, 1, 1, out), 1);
	CHECK_EQ(out[0], 1);
	CHECK_EQ(relay_pair_candidates(-1, 2, -1, out), 1);
	CHECK_EQ(out[0], 2);
	CHECK_EQ(relay_pair_candidates(-1, -1, 300, out), 0);
}

int main(void)
{
	test_best();
	test_meeting();
	test_home();
	test_candidates();
	printf("test_relay_choice: %d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}
