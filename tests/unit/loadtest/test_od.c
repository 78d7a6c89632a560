/* loadtest/lt_od.c: who holds whom among a big group's members of one
 * roam-loadtest worker. An ask makes a pair the server holds at both ends;
 * the asked node holds the asker once its pushed line came (not a line from
 * before, when the group was small); a restarted server forgot every pair:
 * a node back asks again for those it had asked for. */
#include <errno.h>
#include <stdint.h>

#include "../platform/check.h"
#include "loadtest/lt_od.h"

static bool current_odd(size_t idx, void *ctx)
{
	(void)ctx;
	return idx % 2 == 1;
}

/* 0 asks 1: 0 holds 1 from the answer, 1 holds 0 from its pushed line. */
static void test_ask_and_learn(void)
{
	struct lt_od od;
	uint32_t members[] = { 0, 1, 2, 3, 5 };

	CHECK_INT(lt_od_init(&od, 6), ==, 0);
	CHECK(!lt_od_learn(&od, 1, 0)); /* a line nobody asked for: from before, not a pair */
	CHECK(!lt_od_holds(&od, 1, 0));
	CHECK_INT(lt_od_expect(&od, 1, 0), ==, 0);
	CHECK(!lt_od_holds(&od, 1, 0)); /* expected, not held yet */
	CHECK(!lt_od_pair(&od, 0, 1));
	CHECK(lt_od_learn(&od, 1, 0)); /* the pushed line may come before the answer */
	CHECK(!lt_od_learn(&od, 1, 0)); /* once */
	CHECK(lt_od_holds(&od, 1, 0));
	CHECK(lt_od_pair(&od, 0, 1));
	CHECK_INT(lt_od_add(&od, 0, 1, true), ==, 1);
	CHECK_INT(lt_od_add(&od, 0, 1, true), ==, 0); /* held already */
	CHECK(lt_od_holds(&od, 0, 1));
	/* 3 asks 0, the answer first; 5 asks 0 and its line is still due. */
	CHECK_INT(lt_od_expect(&od, 0, 3), ==, 0);
	CHECK_INT(lt_od_add(&od, 3, 0, true), ==, 1);
	CHECK_INT(lt_od_expect(&od, 0, 5), ==, 0);
	CHECK_INT(lt_od_add(&od, 5, 0, true), ==, 1);
	/* Holders of 0: 1, 3, 5 (either end knows the pair); only the odd are current. */
	CHECK_INT(lt_od_holders(&od, 0, members, 5, NULL, NULL), ==, 3);
	CHECK_INT(lt_od_holders(&od, 0, members, 5, current_odd, NULL), ==, 3);
	CHECK_INT(lt_od_holders(&od, 2, members, 5, NULL, NULL), ==, 0);
	CHECK_INT(lt_od_holders(&od, 1, members, 5, current_odd, NULL), ==, 0); /* 0 is not current */
	CHECK_INT(lt_od_add(&od, 0, 0, true), ==, -EINVAL);
	CHECK_INT(lt_od_add(&od, 0, 6, true), ==, -EINVAL);
	CHECK_INT(lt_od_expect(&od, 6, 0), ==, -EINVAL);
	lt_od_free(&od);
	lt_od_free(&od); /* twice: harmless */
}

/* A restart: no pair held until made again; the node back asks again for
 * what it had asked for and drops what it had learned. */
static void test_restart(void)
{
	struct lt_od od;
	uint32_t members[] = { 0, 1, 2, 3 };
	size_t target = 99;

	CHECK_INT(lt_od_init(&od, 4), ==, 0);
	CHECK_INT(lt_od_add(&od, 0, 1, true), ==, 1);
	CHECK_INT(lt_od_add(&od, 0, 2, true), ==, 1);
	CHECK_INT(lt_od_expect(&od, 0, 3), ==, 0);
	CHECK(lt_od_learn(&od, 0, 3));
	CHECK_INT(lt_od_holders(&od, 0, members, 4, NULL, NULL), ==, 3);
	lt_od_restart(&od);
	CHECK(!lt_od_pair(&od, 0, 1));
	CHECK_INT(lt_od_holders(&od, 0, members, 4, NULL, NULL), ==, 0);
	CHECK(!lt_od_reask_take(&od, 0, &target)); /* not back yet */
	CHECK_INT(lt_od_back(&od, 0), ==, 2);      /* 1 and 2 asked again; 3 forgotten */
	CHECK_INT(lt_od_back(&od, 0), ==, 0);      /* once */
	CHECK(lt_od_reask_take(&od, 0, &target));
	CHECK_INT(target, ==, 1);
	/* 1 cannot be asked now (not back): kept for later. */
	CHECK_INT(lt_od_reask_put(&od, 0, 1), ==, 0);
	CHECK(!lt_od_holds(&od, 0, 1));
	CHECK(lt_od_reask_take(&od, 0, &target));
	CHECK_INT(target, ==, 2);
	CHECK(lt_od_reask_take(&od, 0, &target));
	CHECK_INT(target, ==, 1);
	CHECK(!lt_od_reask_take(&od, 0, &target));
	CHECK_INT(lt_od_add(&od, 0, 1, true), ==, 1); /* answered by the new server */
	CHECK(lt_od_pair(&od, 1, 0));
	CHECK(!lt_od_learn(&od, 0, 3)); /* 3's old line is no ask of the new server */
	CHECK_INT(lt_od_holders(&od, 0, members, 4, NULL, NULL), ==, 1);
	/* An old pair the peer now asks for again: expected, then held. */
	CHECK_INT(lt_od_add(&od, 2, 3, true), ==, 1);
	lt_od_restart(&od);
	CHECK_INT(lt_od_expect(&od, 2, 3), ==, 0);
	CHECK(!lt_od_holds(&od, 2, 3));
	CHECK(lt_od_learn(&od, 2, 3));
	CHECK(lt_od_holds(&od, 2, 3));
	lt_od_free(&od);
}

/* As the server: at most LT_OD_MAX pairs a node, the oldest forgotten. */
static void test_cap(void)
{
	struct lt_od od;

	CHECK_INT(lt_od_init(&od, LT_OD_MAX + 2), ==, 0);
	for (size_t i = 1; i <= LT_OD_MAX + 1; i++)
		CHECK_INT(lt_od_add(&od, 0, i, true), ==, 1);
	CHECK_INT(od.node[0].count, ==, LT_OD_MAX);
	CHECK(!lt_od_holds(&od, 0, 1));
	CHECK(lt_od_holds(&od, 0, 2));
	CHECK(lt_od_holds(&od, 0, LT_OD_MAX + 1));
	lt_od_free(&od);
}

/* Node ids to worker indexes: the pushed lines name ids. */
static void test_ids(void)
{
	struct lt_od od;
	size_t idx = 99;

	CHECK_INT(lt_od_init(&od, 100), ==, 0);
	for (uint32_t i = 0; i < 100; i++)
		CHECK_INT(lt_od_id_set(&od, 1000 + i * 7, i), ==, 0);
	for (uint32_t i = 0; i < 100; i++) {
		CHECK(lt_od_id_find(&od, 1000 + i * 7, &idx));
		CHECK_INT(idx, ==, i);
	}
	CHECK(!lt_od_id_find(&od, 1001, &idx));
	CHECK(!lt_od_id_find(&od, 0, &idx));
	CHECK_INT(lt_od_id_set(&od, 0, 1), ==, -EINVAL);
	CHECK_INT(lt_od_id_set(&od, 5, 100), ==, -EINVAL);
	CHECK_INT(lt_od_id_set(&od, 1000, 5), ==, 0); /* an id again: its index updated */
	CHECK(lt_od_id_find(&od, 1000, &idx));
	CHECK_INT(idx, ==, 5);
	/* More ids than the table holds at half load: refused, never a loop. */
	for (uint32_t i = 0; i < od.id_cap; i++)
		lt_od_id_set(&od, 5000 + i, 0);
	CHECK(od.ids * 2 <= od.id_cap);
	CHECK_INT(lt_od_id_set(&od, 999999, 0), ==, -ENOSPC);
	lt_od_free(&od);
}

int main(void)
{
	test_ask_and_learn();
	test_restart();
	test_cap();
	test_ids();
	return 0;
}
