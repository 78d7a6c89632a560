/* Which relay-only servers get a relay link (daemon/relaylink/link_plan.h):
 * the cap of LINK_PLAN_MAX links, the relays in use first, and the idle
 * close LINK_PLAN_IDLE_NS after a link was last wanted. */
#include "../check.h"
#include "daemon/relaylink/link_plan.h"

#define S UINT64_C(1000000000)
#define T0 (1000 * S)
#define N 12

static struct link_plan_relay r[N];
static enum link_plan_action act[N];

/* Runs the plan and applies it as managed_relay.c does; returns the links. */
static int step(uint64_t now)
{
	int links = 0;
	link_plan(r, N, now, act);
	for (int i = 0; i < N; i++) {
		if (act[i] == LINK_PLAN_OPEN)
			r[i].has_link = true;
		else if (act[i] == LINK_PLAN_CLOSE)
			r[i].has_link = false;
		links += r[i].has_link;
	}
	return links;
}

/* Seven relays possible, two in use (5 and 6, listed late): those two get
 * a link first, then the first two others; never more than four open. */
static void test_cap(void)
{
	for (int i = 0; i < N; i++)
		r[i] = (struct link_plan_relay){ .possible = i < 7, .in_use = i == 5 || i == 6 };
	CHECK_EQ(step(T0), LINK_PLAN_MAX);
	CHECK(r[5].has_link && r[6].has_link && r[0].has_link && r[1].has_link);
	CHECK(!r[2].has_link && !r[3].has_link && !r[4].has_link);
	for (uint64_t t = T0; t < T0 + 120 * S; t += 10 * S)
		CHECK_EQ(step(t), LINK_PLAN_MAX); /* still wanted: kept, none added */
	CHECK(r[0].has_link && r[1].has_link);
}

/* Relays 2 and 3 come into use: 0 and 1 are pushed out but their links
 * stay LINK_PLAN_IDLE_NS after they were last wanted, then close. */
static void test_idle_close(void)
{
	test_cap();
	uint64_t t1 = T0 + 110 * S; /* 0 and 1 last wanted */
	r[2].in_use = r[3].in_use = true;
	CHECK_EQ(step(T0 + 121 * S), LINK_PLAN_MAX + 2);
	CHECK(r[2].has_link && r[3].has_link && r[5].has_link && r[6].has_link);
	CHECK(r[0].has_link && r[1].has_link);
	CHECK_EQ(step(t1 + LINK_PLAN_IDLE_NS - 1), LINK_PLAN_MAX + 2);
	CHECK_EQ(step(t1 + LINK_PLAN_IDLE_NS), LINK_PLAN_MAX);
	CHECK(!r[0].has_link && !r[1].has_link);
	/* 2 and 3 out of use again: 0 and 1 reopen, 2 and 3 linger. */
	r[2].in_use = r[3].in_use = false;
	CHECK_EQ(step(t1 + LINK_PLAN_IDLE_NS + 1 * S), LINK_PLAN_MAX + 2);
	CHECK_EQ(act[0], LINK_PLAN_OPEN); /* 0 and 1 wanted again (first in order) */
	CHECK_EQ(act[2], LINK_PLAN_KEEP); /* 2 and 3 pushed out: they stay a while */
	CHECK(r[2].has_link && r[3].has_link);
}

/* The in-use set churns (the server's relay map and the peers' paths
 * decide it): at most LINK_PLAN_HARD_MAX links at any time. */
static void test_hard_cap(void)
{
	for (int i = 0; i < N; i++)
		r[i] = (struct link_plan_relay){ .possible = true };
	int most = 0;
	for (int round = 0; round < 30; round++) {
		for (int i = 0; i < N; i++)
			r[i].in_use = (i + round) % N < LINK_PLAN_MAX;
		int links = step(T0 + (uint64_t)round * S);
		most = links > most ? links : most;
	}
	CHECK_EQ(most, LINK_PLAN_HARD_MAX);
}

/* A relay that can have no link (its key or our ticket gone): its link
 * closes at once. */
static void test_impossible(void)
{
	for (int i = 0; i < N; i++)
		r[i] = (struct link_plan_relay){ .possible = i < 2, .in_use = i == 1 };
	CHECK_EQ(step(T0), 2);
	r[1].possible = false;
	CHECK_EQ(step(T0 + 1 * S), 1);
	CHECK(!r[1].has_link && r[0].has_link);
}

int main(void)
{
	test_cap();
	test_idle_close();
	test_hard_cap();
	test_impossible();
	printf("test_link_plan: %d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}
