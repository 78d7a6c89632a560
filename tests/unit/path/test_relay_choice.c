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

/* Liveness with a fake clock: PINGs every 2 s, dead 1 s (or 4 srtt)
 * after the oldest unanswered one, alive again on a fresh PONG. */
#define SEC UINT64_C(1000000000)
#define MSEC UINT64_C(1000000)
static void test_live(void)
{
	struct relay_live l;
	uint64_t t = 100 * SEC;
	relay_live_init(&l);
	CHECK(relay_live_ping_due(&l, t));
	relay_live_sent(&l, t, RELAY_LIVE_PING_NS);
	CHECK(!relay_live_ping_due(&l, t + SEC));
	CHECK(relay_live_ping_due(&l, t + 2 * SEC));
	CHECK_EQ(relay_live_deadline(&l), t + SEC); /* no srtt yet: 1 s */
	CHECK(!relay_live_pong(&l, t, t + 10 * MSEC));
	CHECK_EQ(l.srtt_ns, 10 * MSEC);
	CHECK_EQ(l.unanswered_at, 0);
	CHECK_EQ(relay_live_deadline(&l), t + 2 * SEC);
	/* Silent: not dead 999 ms after the PING, dead at 1 s, once. */
	t += 2 * SEC;
	relay_live_sent(&l, t, RELAY_LIVE_PING_NS);
	CHECK(!relay_live_check(&l, t + 999 * MSEC));
	CHECK(relay_live_check(&l, t + SEC));
	CHECK(l.dead);
	CHECK(!relay_live_check(&l, t + 5 * SEC));
	/* Later PINGs do not push the first one's deadline back. */
	relay_live_sent(&l, t + 2 * SEC, RELAY_LIVE_PING_NS);
	CHECK_EQ(l.unanswered_at, t);
	/* A duplicate (older than the unanswered one) revives nothing. */
	CHECK(!relay_live_pong(&l, t - 2 * SEC, t + 2 * SEC + 5 * MSEC));
	CHECK(l.dead);
	/* An echo from the future neither. */
	CHECK(!relay_live_pong(&l, t + 9 * SEC, t + 2 * SEC + 6 * MSEC));
	/* The answer to the latest one: alive again. */
	CHECK(relay_live_pong(&l, t + 2 * SEC, t + 2 * SEC + 10 * MSEC));
	CHECK(!l.dead);
	/* A slow relay (srtt 400 ms): the wait is 4 srtt, 1.6 s. */
	relay_live_init(&l);
	relay_live_sent(&l, t, RELAY_LIVE_PING_NS);
	relay_live_pong(&l, t, t + 400 * MSEC);
	CHECK_EQ(relay_live_wait_ns(&l), 1600 * MSEC);
	relay_live_sent(&l, t + SEC, RELAY_LIVE_PING_NS);
	CHECK(!relay_live_check(&l, t + SEC + 1500 * MSEC));
	CHECK(relay_live_check(&l, t + SEC + 1600 * MSEC));
}

int main(void)
{
	test_live();
	test_best();
	test_meeting();
	test_home();
	test_candidates();
	printf("test_relay_choice: %d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}
