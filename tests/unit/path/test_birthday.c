/* Birthday probing's planner (lib/path/birthday.h) with a fake clock: budgets,
 * pacing, hints, success, timeout and backoff for both roles, and a
 * simulated NAT pair (a per-destination NAT that maps every socket to a
 * random port, an endpoint-independent NAT that filters by address and
 * port) showing the success rate over many seeds. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "path/birthday.h"

#define MS BIRTHDAY_NS_PER_MS
#define S BIRTHDAY_NS_PER_SEC
#define T0 (1000 * S) /* a start far from 0, so nothing relies on a zero clock */

/* xorshift64*: reproducible per seed. */
static uint32_t t_uniform(void *ctx, uint32_t upper)
{
	uint64_t *s = ctx;
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)(((*s * UINT64_C(2685821657736338717)) >> 32) % upper);
}

struct t_tally {
	unsigned opens, pings, polls, max_batch;
	unsigned opened_slot[BIRTHDAY_SOCKETS_MAX], pinged_slot[BIRTHDAY_SOCKETS_MAX];
	uint64_t first_ping, last_ping, min_gap;
	unsigned ports_bad, ports_dup;
	uint8_t port_seen[65536];
};

/* Drives a to its end, polling only at its deadlines (as the event loop would). */
static void t_run(struct birthday_attempt *a, struct t_tally *t, size_t max)
{
	struct birthday_action acts[BIRTHDAY_PROBES_MAX];
	uint64_t prev = 0;
	memset(t, 0, sizeof(*t));
	t->min_gap = UINT64_MAX;
	for (int guard = 0; guard < 100000; guard++) {
		uint64_t now = birthday_next_deadline(a);
		if (now == UINT64_MAX)
			break;
		if (prev && now - prev < t->min_gap)
			t->min_gap = now - prev;
		prev = now;
		size_t n = birthday_poll(a, now, acts, max);
		t->polls++;
		if (n > t->max_batch)
			t->max_batch = (unsigned)n;
		for (size_t i = 0; i < n; i++) {
			if (acts[i].kind == BIRTHDAY_ACT_OPEN) {
				t->opens++;
				t->opened_slot[acts[i].slot]++;
				continue;
			}
			if (!t->pings)
				t->first_ping = now;
			t->last_ping = now;
			t->pings++;
			if (acts[i].kind == BIRTHDAY_ACT_PING_FROM) {
				CHECK(t->opened_slot[acts[i].slot] == 1); /* never from an unopened socket */
				t->pinged_slot[acts[i].slot]++;
			} else {
				if (acts[i].port < BIRTHDAY_PORT_MIN)
					t->ports_bad++;
				if (t->port_seen[acts[i].port]++)
					t->ports_dup++;
			}
		}
	}
}

static struct t_tally tally;

static void test_config(void)
{
	struct birthday_config c;
	birthday_config_default(&c);
	CHECK_EQ(birthday_config_check(&c), 0);
	CHECK_EQ(c.sockets, 256);
	CHECK_EQ(c.probes, 1024);
	struct birthday_config bad = c;
	bad.sockets = BIRTHDAY_SOCKETS_MAX + 1;
	CHECK_EQ(birthday_config_check(&bad), -EINVAL);
	bad = c;
	bad.probes = BIRTHDAY_PROBES_MAX + 1;
	CHECK_EQ(birthday_config_check(&bad), -EINVAL);
	bad = c;
	bad.hard_rounds = 5; /* 5 x 256 PINGs > 1024 */
	CHECK_EQ(birthday_config_check(&bad), -EINVAL);
	bad = c;
	bad.tick_ns = 0;
	CHECK_EQ(birthday_config_check(&bad), -EINVAL);
	struct birthday_attempt a;
	uint64_t seed = 1;
	CHECK_EQ(birthday_start(&a, &bad, BIRTHDAY_HARD, t_uniform, &seed, T0), -EINVAL);
	CHECK_EQ(birthday_start(&a, &c, BIRTHDAY_HARD, NULL, &seed, T0), -EINVAL);
	CHECK_EQ(birthday_start(&a, &c, (enum birthday_role)7, t_uniform, &seed, T0), -EINVAL);
}

/* HARD with nobody answering: every socket opens once and PINGs once per
 * round, round 0 within open_ns, deadlines a tick apart, then timeout. */
static void test_hard_budget_and_pacing(void)
{
	struct birthday_config c;
	birthday_config_default(&c);
	static struct birthday_attempt a;
	uint64_t seed = 7;
	CHECK_EQ(birthday_start(&a, &c, BIRTHDAY_HARD, t_uniform, &seed, T0), 0);
	t_run(&a, &tally, 64);
	CHECK_EQ(tally.opens, 256);
	CHECK_EQ(tally.pings, 3 * 256);
	unsigned once = 0, thrice = 0;
	for (unsigned s = 0; s < 256; s++) {
		once += tally.opened_slot[s] == 1;
		thrice += tally.pinged_slot[s] == 3;
	}
	CHECK_EQ(once, 256);
	CHECK_EQ(thrice, 256);
	CHECK(tally.first_ping == T0);
	CHECK(tally.last_ping <= T0 + 2 * S + c.open_ns + c.tick_ns);
	CHECK(tally.min_gap >= c.tick_ns);
	/* 256 over 250 ms in 5 ms ticks: about 5 sockets (10 actions) a tick. */
	CHECK(tally.max_batch <= 12);
	CHECK_EQ(a.state, BIRTHDAY_TIMED_OUT);
	CHECK_EQ(a.end_ns, T0 + c.timeout_ns);
	CHECK(birthday_next_deadline(&a) == UINT64_MAX);
	struct birthday_action act[4];
	CHECK_EQ(birthday_poll(&a, T0 + 10 * S, act, 4), 0);
}

/* EASY: 1024 distinct ports in the NAT range, spread over spray_ns after
 * spray_delay_ns; a late poll catches up, max at a time. */
static void test_easy_budget_and_pacing(void)
{
	struct birthday_config c;
	birthday_config_default(&c);
	static struct birthday_attempt a;
	uint64_t seed = 11;
	CHECK_EQ(birthday_start(&a, &c, BIRTHDAY_EASY, t_uniform, &seed, T0), 0);
	t_run(&a, &tally, 64);
	CHECK_EQ(tally.opens, 0);
	CHECK_EQ(tally.pings, 1024);
	CHECK_EQ(tally.ports_bad, 0);
	CHECK_EQ(tally.ports_dup, 0);
	CHECK(tally.first_ping == T0 + c.spray_delay_ns);
	CHECK(tally.last_ping <= T0 + c.spray_delay_ns + c.spray_ns + c.tick_ns);
	CHECK(tally.min_gap >= c.tick_ns);
	CHECK(tally.max_batch <= 7); /* 1024 per s in 5 ms ticks: 5 or 6 */
	CHECK_EQ(a.state, BIRTHDAY_TIMED_OUT);

	/* Polled late, the backlog comes max at a time, never beyond the budget. */
	CHECK_EQ(birthday_start(&a, &c, BIRTHDAY_EASY, t_uniform, &seed, T0), 0);
	struct birthday_action acts[100];
	CHECK_EQ(birthday_poll(&a, T0 + 100 * MS, acts, 100), 0); /* before the spray */
	unsigned got = 0;
	size_t n;
	while ((n = birthday_poll(&a, T0 + 4 * S, acts, 100)) > 0)
		got += (unsigned)n;
	CHECK_EQ(got, 1024);
}

/* A hint makes the hinted socket PING at once, once; hints count against
 * the budget; a failed socket never PINGs. */
static void test_hard_hints(void)
{
	struct birthday_config c;
	birthday_config_default(&c);
	static struct birthday_attempt a;
	uint64_t seed = 3;
	struct birthday_action acts[BIRTHDAY_PROBES_MAX];
	CHECK_EQ(birthday_start(&a, &c, BIRTHDAY_HARD, t_uniform, &seed, T0), 0);
	CHECK_EQ(birthday_hint(&a, 0), -EINVAL); /* not opened yet */
	size_t n = birthday_poll(&a, T0 + 300 * MS, acts, BIRTHDAY_PROBES_MAX);
	CHECK_EQ(n, 512); /* round 0: 256 OPEN + 256 PING */
	CHECK_EQ(birthday_open_failed(&a, 9), 0);
	CHECK_EQ(birthday_open_failed(&a, 300), -EINVAL);
	CHECK_EQ(birthday_hint(&a, 9), -EINVAL);
	CHECK_EQ(birthday_hint(&a, 42), 0);
	CHECK_EQ(birthday_hint(&a, 42), -EALREADY);
	CHECK(birthday_next_deadline(&a) <= T0 + 300 * MS);
	n = birthday_poll(&a, T0 + 301 * MS, acts, BIRTHDAY_PROBES_MAX);
	CHECK_EQ(n, 1);
	CHECK(acts[0].kind == BIRTHDAY_ACT_PING_FROM && acts[0].slot == 42);
	/* Every socket hinted: the total stays within 1024, socket 9 silent. */
	for (uint16_t s = 0; s < 256; s++)
		(void)birthday_hint(&a, s);
	unsigned pings = 257, from9 = 0;
	for (uint64_t t = T0 + 302 * MS; t < T0 + 6 * S; t += 5 * MS) {
		n = birthday_poll(&a, t, acts, BIRTHDAY_PROBES_MAX);
		for (size_t i = 0; i < n; i++) {
			pings += acts[i].kind == BIRTHDAY_ACT_PING_FROM;
			from9 += acts[i].slot == 9;
			CHECK(acts[i].kind != BIRTHDAY_ACT_OPEN);
		}
	}
	CHECK_EQ(pings, a.probes_sent);
	CHECK(pings <= BIRTHDAY_PROBES_MAX);
	CHECK_EQ(from9, 0);

	/* Four rounds fill the budget on their own: hints take from the rounds. */
	c.hard_rounds = 4;
	CHECK_EQ(birthday_start(&a, &c, BIRTHDAY_HARD, t_uniform, &seed, T0), 0);
	(void)birthday_poll(&a, T0 + 300 * MS, acts, BIRTHDAY_PROBES_MAX);
	for (uint16_t s = 0; s < 256; s++)
		CHECK_EQ(birthday_hint(&a, s), 0);
	pings = 256;
	for (uint64_t t = T0 + 302 * MS; t < T0 + 6 * S; t += 5 * MS) {
		n = birthday_poll(&a, t, acts, BIRTHDAY_PROBES_MAX);
		pings += (unsigned)n;
	}
	CHECK_EQ(pings, BIRTHDAY_PROBES_MAX);
	CHECK_EQ(a.probes_sent, BIRTHDAY_PROBES_MAX);
}

static void test_won(void)
{
	struct birthday_config c;
	birthday_config_default(&c);
	static struct birthday_attempt a;
	uint64_t seed = 5;
	struct birthday_action acts[64];
	CHECK_EQ(birthday_start(&a, &c, BIRTHDAY_EASY, t_uniform, &seed, T0), 0);
	size_t n = birthday_poll(&a, T0 + 400 * MS, acts, 64);
	CHECK(n > 0);
	uint16_t untried = acts[0].port == 65535 ? 65534 : (uint16_t)(acts[0].port + 1);
	if (a.tried[untried / 64] & (UINT64_C(1) << (untried % 64)))
		untried = 1024; /* unlikely; any port not sprayed will do */
	CHECK_EQ(birthday_won(&a, 80, T0 + 401 * MS), -EINVAL); /* never sprayed */
	CHECK_EQ(birthday_won(&a, acts[0].port, T0 + 401 * MS), 0);
	CHECK_EQ(a.state, BIRTHDAY_WON);
	CHECK_EQ(a.winner, acts[0].port);
	CHECK(birthday_next_deadline(&a) == UINT64_MAX);
	CHECK_EQ(birthday_poll(&a, T0 + 500 * MS, acts, 64), 0);
	CHECK_EQ(birthday_won(&a, acts[0].port, T0 + 501 * MS), -EINVAL);

	/* Reached by the hard side first, from a port never sprayed. */
	CHECK_EQ(birthday_start(&a, &c, BIRTHDAY_EASY, t_uniform, &seed, T0), 0);
	CHECK_EQ(birthday_reached(&a, 0, T0 + 1), -EINVAL);
	CHECK_EQ(birthday_reached(&a, 4242, T0 + 1), 0);
	CHECK_EQ(a.state, BIRTHDAY_WON);
	CHECK_EQ(a.winner, 4242);
	CHECK_EQ(birthday_reached(&a, 4243, T0 + 2), -EINVAL);
	CHECK_EQ(birthday_poll(&a, T0 + 1 * S, acts, 64), 0);

	CHECK_EQ(birthday_start(&a, &c, BIRTHDAY_HARD, t_uniform, &seed, T0), 0);
	CHECK_EQ(birthday_reached(&a, 4242, T0 + 1), -EINVAL); /* the hard side is never "reached" */
	(void)birthday_poll(&a, T0 + 10 * MS, acts, 64);
	CHECK_EQ(birthday_won(&a, 200, T0 + 11 * MS), -EINVAL); /* not opened */
	CHECK_EQ(birthday_won(&a, 1, T0 + 11 * MS), 0);
	CHECK_EQ(birthday_poll(&a, T0 + 2 * S, acts, 64), 0);

	CHECK_EQ(birthday_start(&a, &c, BIRTHDAY_HARD, t_uniform, &seed, T0), 0);
	birthday_stop(&a, T0 + 1);
	CHECK_EQ(a.state, BIRTHDAY_STOPPED);
	CHECK_EQ(birthday_poll(&a, T0 + 2 * S, acts, 64), 0);
	CHECK_EQ(birthday_hint(&a, 0), -EINVAL);
}

static void test_roles_and_backoff(void)
{
	enum birthday_role r = BIRTHDAY_EASY;
	CHECK_EQ(birthday_role_pick(true, false, &r), 0);
	CHECK(r == BIRTHDAY_HARD);
	CHECK_EQ(birthday_role_pick(false, true, &r), 0);
	CHECK(r == BIRTHDAY_EASY);
	CHECK_EQ(birthday_role_pick(true, true, &r), -EOPNOTSUPP);
	CHECK_EQ(birthday_role_pick(false, false, &r), -EOPNOTSUPP);

	struct birthday_backoff b = { 0 };
	CHECK(birthday_backoff_allows(&b, T0));
	birthday_backoff_started(&b, T0);
	CHECK(!birthday_backoff_allows(&b, T0 + 29 * S));
	CHECK(birthday_backoff_allows(&b, T0 + 30 * S));
	/* A first failure retries 3 s after its end; then the wait doubles from
	 * 30 s: 3, 30, 60, 120, 240, 480, 480 s. */
	uint64_t waits[] = { 3, 30, 60, 120, 240, 480, 480 };
	uint64_t t = T0;
	for (unsigned i = 0; i < 7; i++) {
		birthday_backoff_started(&b, t);
		birthday_backoff_ended(&b, false, t + 5 * S);
		CHECK(!birthday_backoff_allows(&b, t + 5 * S + waits[i] * S - 1));
		CHECK(birthday_backoff_allows(&b, t + 5 * S + waits[i] * S));
		t += 5 * S + waits[i] * S;
	}
	birthday_backoff_started(&b, t);
	birthday_backoff_ended(&b, true, t + S);
	CHECK_EQ(b.failures, 0);
	CHECK(birthday_backoff_allows(&b, t + 30 * S));
}

/* The NAT pair. Hard: socket k's flow to the easy endpoint gets a random
 * free port when it first sends; the NAT lets the easy endpoint in on that
 * port only. Easy: one mapping; its filter lets the hard address in from a
 * port only after the easy side sent to it. Both sides start together and
 * poll every tick (one-way delay 0: the worst case for the 300 ms head start
 * is the starts being apart, which the hard side's rounds cover). Returns
 * the time to win, or 0. */
struct t_sim {
	struct birthday_attempt hard, easy;
	uint16_t hard_port[BIRTHDAY_SOCKETS_MAX]; /* 0: not mapped yet */
	uint8_t port_used[65536];
	uint8_t easy_open[65536];
	unsigned pings;
};

static uint64_t t_sim_run(struct t_sim *s, uint64_t seed, uint64_t easy_lag)
{
	struct birthday_config c;
	struct birthday_action acts[64];
	uint64_t rnd = seed * 0x9e3779b97f4a7c15ULL + 1;
	birthday_config_default(&c);
	memset(s, 0, sizeof(*s));
	(void)birthday_start(&s->hard, &c, BIRTHDAY_HARD, t_uniform, &rnd, T0);
	(void)birthday_start(&s->easy, &c, BIRTHDAY_EASY, t_uniform, &rnd, T0 + easy_lag);
	for (uint64_t now = T0; now < T0 + 7 * S; now += MS) {
		size_t n = birthday_poll(&s->hard, now, acts, 64);
		for (size_t i = 0; i < n; i++) {
			uint16_t k = acts[i].slot;
			if (acts[i].kind == BIRTHDAY_ACT_OPEN)
				continue;
			s->pings++;
			if (!s->hard_port[k]) {
				uint16_t p;
				do
					p = (uint16_t)(BIRTHDAY_PORT_MIN + t_uniform(&rnd, BIRTHDAY_PORT_COUNT));
				while (s->port_used[p]);
				s->port_used[p] = 1;
				s->hard_port[k] = p;
			}
			if (s->easy_open[s->hard_port[k]] && s->easy.state == BIRTHDAY_RUNNING) {
				/* The PING got in; its PONG goes back on the same flow. */
				CHECK_EQ(birthday_won(&s->hard, k, now), 0);
				CHECK_EQ(birthday_won(&s->easy, s->hard_port[k], now), 0);
				return now - T0;
			}
		}
		if (now < T0 + easy_lag)
			continue;
		n = birthday_poll(&s->easy, now, acts, 64);
		for (size_t i = 0; i < n; i++) {
			uint16_t p = acts[i].port;
			s->pings++;
			s->easy_open[p] = 1;
			for (uint16_t k = 0; k < s->hard.opened; k++)
				if (s->hard_port[k] == p)
					(void)birthday_hint(&s->hard, k); /* its PING reached socket k */
		}
	}
	return 0;
}

static void test_simulated_nat_pair(void)
{
	static struct t_sim sim;
	const unsigned runs = 500;
	unsigned won = 0, won_lagged = 0;
	uint64_t worst = 0;
	for (unsigned seed = 1; seed <= runs; seed++) {
		uint64_t t = t_sim_run(&sim, seed, 0);
		won += t != 0;
		if (t > worst)
			worst = t;
		CHECK(sim.hard.opened <= BIRTHDAY_SOCKETS_MAX);
		CHECK(sim.hard.probes_sent <= BIRTHDAY_PROBES_MAX);
		CHECK(sim.easy.probes_sent <= BIRTHDAY_PROBES_MAX);
		/* The easy side starting 700 ms late (a slow CALLME) still wins. */
		won_lagged += t_sim_run(&sim, seed + 100000, 700 * MS) != 0;
	}
	printf("simulated NAT pair: %u/%u won (%.1f %%), worst %.0f ms; easy 700 ms late: %u/%u\n", won,
	       runs, 100.0 * won / runs, (double)worst / (double)MS, won_lagged, runs);
	/* Expected 98.3 %; 95 % leaves room for chance over 500 seeds. */
	CHECK(won * 100 >= runs * 95);
	CHECK(won_lagged * 100 >= runs * 95);
	CHECK(worst < 2 * S);
}

int main(void)
{
	test_config();
	test_hard_budget_and_pacing();
	test_easy_budget_and_pacing();
	test_hard_hints();
	test_won();
	test_roles_and_backoff();
	test_simulated_nat_pair();
	return check_report("test_birthday");
}
