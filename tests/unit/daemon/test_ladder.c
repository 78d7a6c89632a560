/* The relay link ladder (daemon/relaylink/ladder.h) with a fake clock:
 * what opens when, what carries, what closes. */
#include "../check.h"
#include "daemon/relaylink/ladder.h"

#define MS LADDER_NS_PER_MS
#define S (1000 * MS)
#define T0 (100 * S)

struct rec {
	int opened[MANAGED_RELAY_LINK_COUNT], closed[MANAGED_RELAY_LINK_COUNT];
	int reprobes;
};

static void rec_open(void *ctx, enum managed_relay_link k)
{
	((struct rec *)ctx)->opened[k]++;
}

static void rec_close(void *ctx, enum managed_relay_link k)
{
	((struct rec *)ctx)->closed[k]++;
}

static void rec_reprobe(void *ctx)
{
	((struct rec *)ctx)->reprobes++;
}

static const struct ladder_ops ops = { rec_open, rec_close, rec_reprobe };

/* Runs the ladder at every deadline up to until (and at until). */
static void run_until(struct ladder *l, struct rec *r, uint64_t from, uint64_t until)
{
	uint64_t now = from;
	for (int i = 0; i < 1000; i++) {
		uint64_t next = ladder_run(l, now, &ops, r);
		if (next > until || next == LADDER_NEVER) {
			if (now != until)
				ladder_run(l, until, &ops, r);
			return;
		}
		now = next > now ? next : now + 1;
	}
}

static void test_udp_answers(void)
{
	struct ladder l;
	struct rec r = { 0 };
	ladder_start(&l, T0, MANAGED_RELAY_LINK_NONE);
	CHECK_EQ(ladder_run(&l, T0, &ops, &r), T0 + LADDER_UDP_GRACE_NS);
	ladder_udp_ack(&l, T0 + 300 * MS);
	run_until(&l, &r, T0 + 300 * MS, T0 + 10 * S);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_UDP);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 0);
	CHECK_EQ(ladder_binding_interval_s(&l, 25), 25);
}

static void test_tls_first(void)
{
	struct ladder l;
	struct rec r = { 0 };
	ladder_start(&l, T0, MANAGED_RELAY_LINK_NONE);
	run_until(&l, &r, T0, T0 + 999 * MS);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 0);
	run_until(&l, &r, T0 + 999 * MS, T0 + 1000 * MS);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 1);
	CHECK_EQ(ladder_binding_interval_s(&l, 25), LADDER_BINDING_FAST_S);
	ladder_link_up(&l, MANAGED_RELAY_LINK_TLS, T0 + 1200 * MS);
	run_until(&l, &r, T0 + 1200 * MS, T0 + 5 * S);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_TLS);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_WEBSOCKET], 0);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_LONG_POLL], 0);
}

/* TLS hangs (a proxy that breaks the upgrade): WebSocket at +0.5 s,
 * long-poll at +1.5 s; each better one that comes up closes the worse. */
static void test_stages(void)
{
	struct ladder l;
	struct rec r = { 0 };
	ladder_start(&l, T0, MANAGED_RELAY_LINK_NONE);
	ladder_udp_blocked(&l, true);
	run_until(&l, &r, T0, T0);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 1); /* no grace: UDP known blocked */
	run_until(&l, &r, T0, T0 + 499 * MS);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_WEBSOCKET], 0);
	run_until(&l, &r, T0 + 499 * MS, T0 + 500 * MS);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_WEBSOCKET], 1);
	run_until(&l, &r, T0 + 500 * MS, T0 + 1500 * MS);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_LONG_POLL], 1);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_NONE);
	ladder_link_up(&l, MANAGED_RELAY_LINK_LONG_POLL, T0 + 1700 * MS);
	run_until(&l, &r, T0 + 1700 * MS, T0 + 1700 * MS);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_LONG_POLL);
	ladder_link_up(&l, MANAGED_RELAY_LINK_WEBSOCKET, T0 + 1800 * MS);
	run_until(&l, &r, T0 + 1800 * MS, T0 + 1800 * MS);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_WEBSOCKET);
	CHECK_EQ(r.closed[MANAGED_RELAY_LINK_LONG_POLL], 1);
	/* TLS never comes up: it fails at its open timeout and is retried 30 s
	 * later (WebSocket carries meanwhile), then 60 s after that. */
	for (uint64_t t = T0 + 2 * S; t < T0 + 200 * S; t += 10 * S)
		ladder_link_rx(&l, MANAGED_RELAY_LINK_WEBSOCKET, t);
	run_until(&l, &r, T0 + 1800 * MS, T0 + LADDER_OPEN_TIMEOUT_NS);
	CHECK_EQ(r.closed[MANAGED_RELAY_LINK_TLS], 1);
	run_until(&l, &r, T0 + LADDER_OPEN_TIMEOUT_NS, T0 + LADDER_OPEN_TIMEOUT_NS + 29 * S);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 1);
	run_until(&l, &r, T0 + LADDER_OPEN_TIMEOUT_NS + 29 * S, T0 + LADDER_OPEN_TIMEOUT_NS + 30 * S);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 2);
	ladder_link_failed(&l, MANAGED_RELAY_LINK_TLS, T0 + 50 * S);
	run_until(&l, &r, T0 + 50 * S, T0 + 109 * S);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 2);
	run_until(&l, &r, T0 + 109 * S, T0 + 110 * S);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 3);
	ladder_link_up(&l, MANAGED_RELAY_LINK_TLS, T0 + 111 * S);
	run_until(&l, &r, T0 + 111 * S, T0 + 111 * S);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_TLS);
	CHECK_EQ(r.closed[MANAGED_RELAY_LINK_WEBSOCKET], 1);
}

/* UDP comes back: it carries at once, TLS closes 2 s later. */
static void test_udp_returns(void)
{
	struct ladder l;
	struct rec r = { 0 };
	ladder_start(&l, T0, MANAGED_RELAY_LINK_NONE);
	run_until(&l, &r, T0, T0 + 1 * S);
	ladder_link_up(&l, MANAGED_RELAY_LINK_TLS, T0 + 1100 * MS);
	run_until(&l, &r, T0 + 1100 * MS, T0 + 20 * S);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_TLS);
	ladder_udp_ack(&l, T0 + 20 * S);
	run_until(&l, &r, T0 + 20 * S, T0 + 20 * S);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_UDP);
	CHECK_EQ(r.closed[MANAGED_RELAY_LINK_TLS], 0);
	run_until(&l, &r, T0 + 20 * S, T0 + 21900 * MS);
	CHECK_EQ(r.closed[MANAGED_RELAY_LINK_TLS], 0);
	run_until(&l, &r, T0 + 21900 * MS, T0 + 22 * S);
	CHECK_EQ(r.closed[MANAGED_RELAY_LINK_TLS], 1);
	/* UDP goes silent: after LADDER_UDP_FRESH_NS the ladder climbs again. */
	run_until(&l, &r, T0 + 22 * S, T0 + 20 * S + LADDER_UDP_FRESH_NS);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 2);
	CHECK(ladder_current(&l) != MANAGED_RELAY_LINK_UDP);
}

/* A link that hears nothing for 60 s is dead; with nothing else up it is
 * tried again after 1 s. */
static void test_idle(void)
{
	struct ladder l;
	struct rec r = { 0 };
	ladder_start(&l, T0, MANAGED_RELAY_LINK_NONE);
	run_until(&l, &r, T0, T0 + 1 * S);
	ladder_link_up(&l, MANAGED_RELAY_LINK_TLS, T0 + 1 * S);
	ladder_link_rx(&l, MANAGED_RELAY_LINK_TLS, T0 + 10 * S);
	run_until(&l, &r, T0 + 1 * S, T0 + 69 * S);
	CHECK_EQ(r.closed[MANAGED_RELAY_LINK_TLS], 0);
	run_until(&l, &r, T0 + 69 * S, T0 + 70 * S);
	CHECK_EQ(r.closed[MANAGED_RELAY_LINK_TLS], 1);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_NONE);
	run_until(&l, &r, T0 + 70 * S, T0 + 71 * S);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 2);
	/* and the stages follow it again */
	run_until(&l, &r, T0 + 71 * S, T0 + 71500 * MS);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_WEBSOCKET], 1);
}

/* The server goes down: every link fails and is retried with the idle
 * backoff; the first to come back (long-poll here) carries, and the
 * better ones are tried again at once, not 30 s later. */
static void test_server_back(void)
{
	struct ladder l;
	struct rec r = { 0 };
	ladder_start(&l, T0, MANAGED_RELAY_LINK_NONE);
	run_until(&l, &r, T0, T0 + 1 * S);
	ladder_link_up(&l, MANAGED_RELAY_LINK_TLS, T0 + 1 * S);
	run_until(&l, &r, T0 + 1 * S, T0 + 10 * S);
	ladder_link_failed(&l, MANAGED_RELAY_LINK_TLS, T0 + 10 * S);
	run_until(&l, &r, T0 + 10 * S, T0 + 11600 * MS);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 2);       /* again after 1 s */
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_WEBSOCKET], 1); /* +0.5 s */
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_LONG_POLL], 1); /* +1.5 s */
	ladder_link_failed(&l, MANAGED_RELAY_LINK_TLS, T0 + 12 * S);
	ladder_link_failed(&l, MANAGED_RELAY_LINK_WEBSOCKET, T0 + 12 * S);
	run_until(&l, &r, T0 + 12 * S, T0 + 12 * S);
	ladder_link_up(&l, MANAGED_RELAY_LINK_LONG_POLL, T0 + 12200 * MS);
	run_until(&l, &r, T0 + 12200 * MS, T0 + 12200 * MS);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_LONG_POLL);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 3);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_WEBSOCKET], 2);
}

static void test_forced(void)
{
	struct ladder l;
	struct rec r = { 0 };
	ladder_start(&l, T0, MANAGED_RELAY_LINK_LONG_POLL);
	ladder_udp_ack(&l, T0);
	run_until(&l, &r, T0, T0 + 5 * S);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_LONG_POLL], 1);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 0);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_WEBSOCKET], 0);
	ladder_link_up(&l, MANAGED_RELAY_LINK_LONG_POLL, T0 + 5 * S);
	run_until(&l, &r, T0 + 5 * S, T0 + 6 * S);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_LONG_POLL);
	CHECK_EQ(ladder_binding_interval_s(&l, 25), 25);
	ladder_stop(&l, &ops, &r);
	CHECK_EQ(r.closed[MANAGED_RELAY_LINK_LONG_POLL], 1);
	CHECK_EQ(ladder_run(&l, T0 + 7 * S, &ops, &r), LADDER_NEVER);
}

/* UDP carries, then a BINDING goes unanswered (a new network, maybe
 * proxy-only): one more goes 1 s later, and unanswered too, TLS opens
 * 2 s after the first, long before the BINDING_ACK would go
 * stale (60 s); WebSocket and long-poll follow as at the start. An answered
 * BINDING changes nothing, nor does a later one push the deadline back. */
static void test_udp_probe(void)
{
	struct ladder l;
	struct rec r = { 0 };
	ladder_start(&l, T0, MANAGED_RELAY_LINK_NONE);
	ladder_udp_ack(&l, T0 + 100 * MS);
	run_until(&l, &r, T0 + 100 * MS, T0 + 10 * S);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_UDP);
	/* answered within the second */
	ladder_udp_probe(&l, T0 + 10 * S);
	CHECK_EQ(ladder_run(&l, T0 + 10 * S, &ops, &r), T0 + 11 * S);
	ladder_udp_ack(&l, T0 + 10 * S + 200 * MS);
	run_until(&l, &r, T0 + 10 * S + 200 * MS, T0 + 20 * S);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_UDP);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 0);
	/* unanswered: the address changed at +20 s, another BINDING at +20.5 s */
	ladder_udp_probe(&l, T0 + 20 * S);
	run_until(&l, &r, T0 + 20 * S, T0 + 20 * S + 500 * MS);
	ladder_udp_probe(&l, T0 + 20 * S + 500 * MS);
	run_until(&l, &r, T0 + 20 * S + 500 * MS, T0 + 20 * S + 999 * MS);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 0);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_UDP);
	run_until(&l, &r, T0 + 20 * S + 999 * MS, T0 + 21 * S);
	CHECK_EQ(r.reprobes, 1);
	ladder_udp_probe(&l, T0 + 21 * S); /* the reprobe's BINDING: no news */
	run_until(&l, &r, T0 + 21 * S, T0 + 21 * S + 999 * MS);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 0);
	run_until(&l, &r, T0 + 21 * S + 999 * MS, T0 + 22 * S);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 1);
	CHECK_EQ(r.reprobes, 1);
	CHECK_EQ(ladder_binding_interval_s(&l, 25), LADDER_BINDING_FAST_S);
	run_until(&l, &r, T0 + 22 * S, T0 + 23 * S + 500 * MS);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_WEBSOCKET], 1);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_LONG_POLL], 1);
	ladder_link_up(&l, MANAGED_RELAY_LINK_LONG_POLL, T0 + 23 * S + 600 * MS);
	run_until(&l, &r, T0 + 23 * S + 600 * MS, T0 + 24 * S);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_LONG_POLL);
	/* UDP answers again: it carries at once */
	ladder_udp_ack(&l, T0 + 30 * S);
	run_until(&l, &r, T0 + 30 * S, T0 + 30 * S);
	CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_UDP);
}

/* A lossy network: single BINDINGs (or their ACKs) lost now and then.
 * Each loss is followed by a BINDING at once, which is answered: UDP keeps
 * carrying, no TCP link opens, and the misses do not add up across
 * answered ones. */
static void test_udp_single_loss(void)
{
	struct ladder l;
	struct rec r = { 0 };
	ladder_start(&l, T0, MANAGED_RELAY_LINK_NONE);
	ladder_udp_ack(&l, T0 + 100 * MS);
	run_until(&l, &r, T0 + 100 * MS, T0 + 10 * S);
	for (int i = 0; i < 5; i++) {
		uint64_t t = T0 + (uint64_t)(10 + 25 * i) * S;
		ladder_udp_probe(&l, t); /* lost */
		run_until(&l, &r, t, t + 1 * S);
		CHECK_EQ(r.reprobes, i + 1);
		ladder_udp_probe(&l, t + 1 * S); /* the reprobe's: no news */
		ladder_udp_ack(&l, t + 1 * S + 150 * MS);
		run_until(&l, &r, t + 1 * S + 150 * MS, t + 24 * S);
		CHECK_EQ(ladder_current(&l), MANAGED_RELAY_LINK_UDP);
	}
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 0);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_WEBSOCKET], 0);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_LONG_POLL], 0);
}

/* With the link forced (ROAMD_TEST_RELAY_LINK) a BINDING is no probe. */
static void test_udp_probe_forced(void)
{
	struct ladder l;
	struct rec r = { 0 };
	ladder_start(&l, T0, MANAGED_RELAY_LINK_TLS);
	ladder_udp_probe(&l, T0);
	CHECK_EQ(l.udp_probe_at, 0);
	run_until(&l, &r, T0, T0 + 3 * S);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_TLS], 1);
	CHECK_EQ(r.opened[MANAGED_RELAY_LINK_WEBSOCKET], 0);
}

int main(void)
{
	test_udp_answers();
	test_tls_first();
	test_stages();
	test_udp_returns();
	test_idle();
	test_server_back();
	test_forced();
	test_udp_probe();
	test_udp_single_loss();
	test_udp_probe_forced();
	printf("test_ladder: %d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}
