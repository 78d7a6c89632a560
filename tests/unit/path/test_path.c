/* The path layer with a fake clock and a fake network: each path answers
 * probes (after its RTT) or not, as a test says; time moves only through
 * t_advance(), which stops at every timer deadline and every pong. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "../check.h"
#include "path/path.h"

#define MS 1000000ULL
#define S 1000000000ULL
#define T_MAX_IDS 64
#define T_MAX_PONGS 512

struct t_net {
	bool answers;
	uint64_t rtt;
};

struct t_pong {
	uint32_t id;
	uint64_t txid, at;
};

struct t_change {
	uint32_t from, to;
	enum path_reason why;
	uint64_t at;
};

static struct path_set set;
static uint64_t now;
static struct t_net net[T_MAX_IDS];
static struct t_pong pongs[T_MAX_PONGS];
static int npongs;
static int probes[T_MAX_IDS];
static uint64_t last_probe_at[T_MAX_IDS];
static struct t_change changes[64];
static int nchanges;
static int nlogs, log_state_changes;

static void t_send_probe(void *ctx, const struct path *p, uint64_t txid)
{
	(void)ctx;
	if (p->id >= T_MAX_IDS) /* the id-wrap test: no network behind it */
		return;
	probes[p->id]++;
	last_probe_at[p->id] = now;
	if (net[p->id].answers && npongs < T_MAX_PONGS)
		pongs[npongs++] = (struct t_pong){ p->id, txid, now + net[p->id].rtt };
}

static void t_active_changed(void *ctx, const struct path *from, const struct path *to, enum path_reason why)
{
	(void)ctx;
	if (nchanges < 64)
		changes[nchanges] = (struct t_change){ from ? from->id : 0, to ? to->id : 0, why, now };
	nchanges++;
}

static void t_log(void *ctx, const struct path *p, enum path_state old, enum path_reason why)
{
	(void)ctx;
	(void)why;
	nlogs++;
	log_state_changes += old != p->state;
}

static const struct path_ops t_ops = {
	.send_probe = t_send_probe, .active_changed = t_active_changed, .log = t_log,
};

static void t_reset(void)
{
	now = 1 * S;
	npongs = nchanges = nlogs = log_state_changes = 0;
	memset(net, 0, sizeof(net));
	memset(probes, 0, sizeof(probes));
	memset(last_probe_at, 0, sizeof(last_probe_at));
	path_set_init(&set, &t_ops, NULL, 0x1000);
}

/* Delivers pongs due by `until`, in time order; returns how many. */
static int t_deliver_pongs(uint64_t until)
{
	int n = 0;
	for (;;) {
		int first = -1;
		for (int i = 0; i < npongs; i++)
			if (pongs[i].at <= until && (first < 0 || pongs[i].at < pongs[first].at))
				first = i;
		if (first < 0)
			return n;
		struct t_pong pg = pongs[first];
		pongs[first] = pongs[--npongs];
		if (pg.at > now)
			now = pg.at;
		/* A pong that arrives after the probe timed out is refused. */
		(void)path_probe_answered(&set, pg.id, pg.txid, now);
		n++;
	}
}

static void t_advance(uint64_t ns)
{
	uint64_t end = now + ns;
	for (int guard = 0; guard < 100000; guard++) {
		uint64_t next = path_next_deadline(&set);
		uint64_t pong = UINT64_MAX;
		for (int i = 0; i < npongs; i++)
			if (pongs[i].at < pong)
				pong = pongs[i].at;
		if (pong <= next && pong <= end) {
			t_deliver_pongs(pong);
			continue;
		}
		if (next > end)
			break;
		if (next > now)
			now = next;
		path_run_timers(&set, now);
	}
	now = end;
}

static uint32_t t_add(enum path_transport t, uint8_t tag, bool answers, uint64_t rtt)
{
	uint8_t addr[4] = { 192, 0, 2, tag };
	uint32_t id = 0;
	/* Set the network up first: path_add probes at once. */
	uint32_t next = set.next_id;
	net[next] = (struct t_net){ answers, rtt };
	CHECK_EQ(path_add(&set, t, addr, sizeof(addr), 0, now, &id), 0);
	CHECK_EQ(id, next);
	return id;
}

/* a is added and answers alone first; b comes 100 ms later. */
static uint64_t t_add_second(uint32_t *a, enum path_transport ta, uint64_t rtt_a, uint32_t *b,
			     enum path_transport tb, uint64_t rtt_b)
{
	t_reset();
	*a = t_add(ta, 1, true, rtt_a);
	t_advance(100 * MS);
	*b = t_add(tb, 2, true, rtt_b);
	return now;
}

static uint32_t active_id(void)
{
	const struct path *p = path_active(&set);
	return p ? p->id : 0;
}

static enum path_state state_of(uint32_t id)
{
	const struct path *p = path_get(&set, id);
	return p ? p->state : PATH_STATE_COUNT;
}

/* Relay first: it answers, so it carries data at once, with no hold. */
static void test_relay_first(void)
{
	t_reset();
	uint32_t relay = t_add(PATH_TRANSPORT_UDP_RELAY, 1, true, 40 * MS);
	CHECK_EQ(probes[relay], 1);
	CHECK_EQ(state_of(relay), PATH_PROBING);
	CHECK_EQ(active_id(), 0);
	t_advance(50 * MS);
	CHECK_EQ(active_id(), relay);
	CHECK_EQ(nchanges, 1);
	CHECK_EQ(changes[0].why, PATH_REASON_FIRST_WORKING);
	CHECK_EQ(changes[0].at, 1 * S + 40 * MS);
	const struct path *p = path_get(&set, relay);
	CHECK_EQ(p->srtt_ns, 40 * MS);
	CHECK_EQ(p->rttvar_ns, 20 * MS);
}

/* A direct path that answers takes over on the first probe answered after
 * the hold; the relay stays STANDBY as the fallback. */
static void test_promote_direct(void)
{
	uint32_t relay, direct;
	uint64_t online = t_add_second(&relay, PATH_TRANSPORT_UDP_RELAY, 40 * MS, &direct,
				       PATH_TRANSPORT_UDP_DIRECT, 10 * MS);
	t_advance(20 * MS);
	CHECK_EQ(state_of(direct), PATH_STANDBY);
	CHECK_EQ(active_id(), relay); /* answered once: not yet */
	t_advance(3 * S);
	CHECK_EQ(active_id(), direct);
	CHECK_EQ(state_of(relay), PATH_STANDBY);
	CHECK_EQ(nchanges, 2);
	CHECK_EQ(changes[1].why, PATH_REASON_BETTER);
	/* First answer at 10 ms, the 1 s hold, then the confirming probe's 10 ms. */
	CHECK_EQ(changes[1].at - online, 1020 * MS);
	/* Steady state: heartbeats only, no more changes and no log lines. */
	int logs = nlogs;
	t_advance(120 * S);
	CHECK_EQ(nchanges, 2);
	CHECK_EQ(nlogs, logs);
	CHECK(probes[relay] >= 120 / 5 && probes[relay] <= 120 / 5 + 3); /* fallback kept probed */
	CHECK(probes[direct] >= 120 / 2 && probes[direct] <= 120 / 2 + 4);
}

/* A direct path whose NAT opens only later (hole punching): relay at once,
 * direct within 2 s of its first answer. */
static void test_direct_opens_late(void)
{
	t_reset();
	uint32_t relay = t_add(PATH_TRANSPORT_UDP_RELAY, 1, true, 40 * MS);
	uint32_t direct = t_add(PATH_TRANSPORT_UDP_DIRECT, 2, false, 10 * MS);
	t_advance(1500 * MS);
	CHECK_EQ(active_id(), relay);
	CHECK_EQ(state_of(direct), PATH_PROBING);
	net[direct].answers = true;
	uint64_t open = now;
	t_advance(3 * S);
	CHECK_EQ(active_id(), direct);
	CHECK(nchanges == 2 && changes[1].at - open <= 2500 * MS);
}

static void setup_direct_active_rtt(uint32_t *relay, uint32_t *direct, uint64_t rtt)
{
	t_reset();
	*relay = t_add(PATH_TRANSPORT_UDP_RELAY, 1, true, 40 * MS);
	*direct = t_add(PATH_TRANSPORT_UDP_DIRECT, 2, true, rtt);
	t_advance(10 * S);
	CHECK_EQ(active_id(), *direct);
}

static void setup_direct_active(uint32_t *relay, uint32_t *direct)
{
	setup_direct_active_rtt(relay, direct, 10 * MS);
}

/* A direct path that stops answering: back on the relay within 5 s, and
 * back on direct once it answers again (re-probed with backoff). */
static void test_demote_and_fail_back(void)
{
	uint32_t relay, direct;
	setup_direct_active(&relay, &direct);
	int before = nchanges;
	net[direct].answers = false;
	uint64_t broke = now;
	t_advance(6 * S);
	CHECK_EQ(active_id(), relay);
	CHECK_EQ(nchanges, before + 1);
	CHECK_EQ(changes[before].why, PATH_REASON_ACTIVE_SUSPECT); /* its heartbeat's reply was late */
	CHECK(changes[before].at - broke <= 5 * S);
	CHECK_EQ(state_of(direct), PATH_DEAD);
	net[direct].answers = true;
	uint64_t healed = now;
	t_advance(30 * S);
	CHECK_EQ(active_id(), direct);
	CHECK_EQ(nchanges, before + 2);
	CHECK_EQ(changes[before + 1].why, PATH_REASON_BETTER);
	CHECK(changes[before + 1].at - healed <= 10 * S); /* backoff 2 s, 4 s, then hold */
}

/* Run until path id's next heartbeat was answered, and 10 ms more: a break
 * right after it leaves id looking fresh. */
static void t_after_heartbeat(uint32_t id)
{
	uint64_t hb = last_probe_at[id];
	while (last_probe_at[id] == hb)
		t_advance(10 * MS);
	t_advance(10 * MS);
}

/* Run until the active path changes (or `until`): the index of the change. */
static int t_next_change(uint64_t until)
{
	int before = nchanges;
	while (nchanges == before && now < until)
		t_advance(10 * MS);
	CHECK(nchanges > before);
	return before;
}

/* The peer moves: its two old addresses stop answering and a new one
 * answers. When the active old address fails, the failover goes to the new
 * address, heard from since the active path last answered, not to the other
 * old one: faster by RTT and still STANDBY (its slower heartbeat has not
 * noticed yet), but not heard from since (t_coord_mobility once took 4.2 s:
 * the failover went to the peer's old IPv6 address, which died 2.5 s later). */
static void test_failover_prefers_fresh(void)
{
	t_reset();
	uint32_t old4 = t_add(PATH_TRANSPORT_UDP_DIRECT, 1, true, 3 * MS);
	uint32_t old6 = t_add(PATH_TRANSPORT_UDP_DIRECT, 2, true, 3 * MS);
	t_advance(10 * S);
	CHECK_EQ(active_id(), old4);
	CHECK_EQ(state_of(old6), PATH_STANDBY);
	/* The move comes just after old6's heartbeat was answered. */
	t_after_heartbeat(old6);
	net[old4].answers = net[old6].answers = false;
	uint32_t new4 = t_add(PATH_TRANSPORT_UDP_DIRECT, 3, true, 5 * MS);
	int before = t_next_change(20 * S);
	CHECK_EQ(state_of(old6), PATH_STANDBY); /* the case: it still looks fine */
	CHECK_EQ(changes[before].to, new4);
	CHECK_EQ(active_id(), new4);
}

/* Three paths of 1 ms: a (active), dflt (the default route's: 1 ms dearer)
 * and b (5 ms dearer); with groups, a and b out of interfaces 1 and 2. */
static void t_multihomed(bool groups, uint32_t *a, uint32_t *dflt, uint32_t *b)
{
	t_reset();
	*a = t_add(PATH_TRANSPORT_UDP_DIRECT, 1, true, 1 * MS);
	*dflt = t_add(PATH_TRANSPORT_UDP_DIRECT, 2, true, 1 * MS);
	*b = t_add(PATH_TRANSPORT_UDP_DIRECT, 3, true, 1 * MS);
	if (groups) {
		CHECK_EQ(path_set_diversity(&set, *a, 1, now), 0);
		CHECK_EQ(path_set_diversity(&set, *b, 2, now), 0);
	}
	CHECK_EQ(path_set_cost(&set, *dflt, 1000, now), 0);
	CHECK_EQ(path_set_cost(&set, *b, 5000, now), 0);
	t_advance(10 * S);
}

/* A multihomed node: the active path out of interface 1 (group 1), a
 * standby by the default route (no group, cheap, and in truth out of
 * interface 1 too) and one out of interface 2 (group 2, 5 ms dearer).
 * Interface 1 goes silent just after the default route's heartbeat was
 * answered: the replacement is interface 2's path, not the default
 * route's, which only looks fresh and goes down with interface 1. */
static void test_failover_other_interface(void)
{
	uint32_t a, dflt, b;
	t_multihomed(true, &a, &dflt, &b);
	CHECK_EQ(active_id(), a);
	CHECK_EQ(state_of(dflt), PATH_STANDBY);
	CHECK_EQ(state_of(b), PATH_STANDBY);
	t_after_heartbeat(dflt);
	net[a].answers = net[dflt].answers = false;
	int before = t_next_change(30 * S);
	CHECK_EQ(changes[before].to, b);
	CHECK_EQ(active_id(), b);
	/* Without groups (a node with one interface) the default route's
	 * fresher standby is still the choice. */
	t_multihomed(false, &a, &dflt, &b);
	t_after_heartbeat(dflt);
	net[a].answers = false;
	before = t_next_change(30 * S);
	CHECK_EQ(changes[before].to, dflt);
}

/* Worst case of the failover budget: the break comes right after a
 * heartbeat was answered, for every phase of the heartbeat, on a short
 * path (RTO 250 ms) and a long one (900 ms RTT: RTO near its 1 s cap). */
static void test_failover_budget(void)
{
	for (uint64_t phase = 0; phase < 4 * S; phase += 100 * MS) {
		uint32_t relay, direct;
		setup_direct_active_rtt(&relay, &direct, phase < 2 * S ? 10 * MS : 900 * MS);
		t_advance(phase % (2 * S));
		int before = nchanges;
		net[direct].answers = false;
		uint64_t broke = now;
		t_advance(6 * S);
		CHECK_EQ(active_id(), relay);
		CHECK(nchanges > before && changes[before].at - broke <= 5 * S);
	}
}

/* Two direct paths within the margin of each other, swapping which is
 * faster: the active one never changes. A path that answers every other
 * probe never takes over from the relay. */
static void test_no_flapping(void)
{
	uint32_t a, b;
	t_add_second(&a, PATH_TRANSPORT_UDP_DIRECT, 20 * MS, &b, PATH_TRANSPORT_UDP_DIRECT, 19 * MS);
	for (int i = 0; i < 60; i++) {
		net[a].rtt = (i & 1) ? 18 * MS : 21 * MS;
		net[b].rtt = (i & 1) ? 21 * MS : 18 * MS;
		t_advance(3 * S);
	}
	CHECK_EQ(nchanges, 1);
	CHECK_EQ(active_id(), a);

	/* Large swings faster than the hold: at most a switch per hold. */
	int before = nchanges;
	for (int i = 0; i < 60; i++) {
		net[a].rtt = (i & 1) ? 5 * MS : 50 * MS;
		net[b].rtt = (i & 1) ? 50 * MS : 5 * MS;
		t_advance(2 * S);
	}
	CHECK(nchanges - before <= 120 / 5);

	t_reset();
	uint32_t relay = t_add(PATH_TRANSPORT_UDP_RELAY, 1, true, 40 * MS);
	uint32_t flaky = t_add(PATH_TRANSPORT_UDP_DIRECT, 2, true, 10 * MS);
	t_advance(50 * MS);
	for (int i = 0; i < 200; i++) {
		net[flaky].answers = !net[flaky].answers;
		t_advance(700 * MS);
	}
	/* first working, better, its first late reply (SUSPECT), one recovery */
	CHECK(nchanges <= 4);
	CHECK(active_id() == relay || active_id() == flaky);
}

/* Within a tier, a lower RTT wins only by the margin, after the longer
 * hold; the caller's cost counts as RTT. */
static void test_same_tier_rtt_and_cost(void)
{
	uint32_t a, b;
	uint64_t added = t_add_second(&a, PATH_TRANSPORT_UDP_DIRECT, 20 * MS, &b, PATH_TRANSPORT_UDP_DIRECT, 5 * MS);
	t_advance(4 * S);
	CHECK_EQ(active_id(), a);
	t_advance(2 * S);
	CHECK_EQ(active_id(), b);
	CHECK_EQ(nchanges, 2);
	CHECK(changes[1].at - added >= 5 * S && changes[1].at - added <= 5100 * MS);

	t_reset();
	a = t_add(PATH_TRANSPORT_UDP_DIRECT, 1, true, 20 * MS);
	t_advance(100 * MS);
	uint8_t addr[4] = { 192, 0, 2, 2 };
	net[2] = (struct t_net){ true, 5 * MS };
	CHECK_EQ(path_add(&set, PATH_TRANSPORT_UDP_DIRECT, addr, 4, 30000, now, &b), 0);
	t_advance(60 * S);
	CHECK_EQ(active_id(), a); /* 5 ms + 30 ms of cost loses to 20 ms */
	CHECK_EQ(nchanges, 1);
}

/* A path that never answers: PROBING gives up, then DEAD re-probes with a
 * doubling backoff up to a cap, never more often. */
static void test_dead_backoff(void)
{
	t_reset();
	uint32_t p = t_add(PATH_TRANSPORT_UDP_DIRECT, 1, false, 10 * MS);
	t_advance(5 * S + 1);
	CHECK_EQ(probes[p], 5);
	CHECK_EQ(state_of(p), PATH_DEAD);
	CHECK_EQ(nchanges, 0);
	uint64_t prev = last_probe_at[p], gap_prev = 0;
	int n = probes[p];
	for (int i = 0; i < 12; i++) {
		while (probes[p] == n)
			t_advance(100 * MS);
		n = probes[p];
		uint64_t gap = last_probe_at[p] - prev;
		prev = last_probe_at[p];
		CHECK(gap >= gap_prev);
		CHECK(gap <= 66 * S);
		gap_prev = gap;
	}
	CHECK(gap_prev >= 64 * S);
	/* Answers again: standby, then (alone) active. */
	net[p].answers = true;
	t_advance(70 * S);
	CHECK_EQ(active_id(), p);
}

/* PATH_MAX_PER_PEER candidates, no more; bad input refused. */
static void test_limits(void)
{
	uint8_t addr[PATH_ADDR_MAX + 1] = { 0 };
	uint32_t id = 77;
	t_reset();
	for (int i = 0; i < PATH_MAX_PER_PEER; i++) {
		addr[0] = (uint8_t)i;
		CHECK_EQ(path_add(&set, PATH_TRANSPORT_UDP_DIRECT, addr, 4, 0, now, &id), 0);
	}
	addr[0] = 200;
	CHECK_EQ(path_add(&set, PATH_TRANSPORT_UDP_DIRECT, addr, 4, 0, now, &id), -ENOSPC);
	CHECK_EQ(id, PATH_MAX_PER_PEER); /* untouched on failure */
	CHECK_EQ(path_count(&set), PATH_MAX_PER_PEER);
	CHECK_EQ(path_remove(&set, 3, now), 0);
	CHECK_EQ(path_remove(&set, 3, now), -ENOENT);
	CHECK_EQ(path_add(&set, PATH_TRANSPORT_UDP_DIRECT, addr, 4, 0, now, &id), 0);
	CHECK_EQ(id, PATH_MAX_PER_PEER + 1); /* ids are never reused */
	addr[0] = 0;
	CHECK_EQ(path_add(&set, PATH_TRANSPORT_UDP_DIRECT, addr, 4, 0, now, &id), -EEXIST);
	CHECK_EQ(path_add(&set, PATH_TRANSPORT_COUNT, addr, 4, 0, now, &id), -EINVAL);
	CHECK_EQ(path_add(&set, PATH_TRANSPORT_UDP_RELAY, addr, 0, 0, now, &id), -EINVAL);
	CHECK_EQ(path_add(&set, PATH_TRANSPORT_UDP_RELAY, addr, PATH_ADDR_MAX + 1, 0, now, &id), -EINVAL);
	CHECK_EQ(path_add(&set, PATH_TRANSPORT_UDP_RELAY, addr, PATH_ADDR_MAX, 0, now, &id), -ENOSPC);
	CHECK(path_find(&set, PATH_TRANSPORT_UDP_DIRECT, addr, 4) != NULL);
	CHECK(path_find(&set, PATH_TRANSPORT_UDP_RELAY, addr, 4) == NULL);
	CHECK_EQ(path_data_received(&set, 999, now), -ENOENT);
	CHECK_EQ(path_data_sent(&set, 0, now), -ENOENT);
	CHECK_EQ(path_probe_answered(&set, 999, 0, now), -ENOENT);

	/* Ids wrap past 2^32 without 0 and without a live path's id. */
	t_reset();
	uint32_t first = t_add(PATH_TRANSPORT_UDP_DIRECT, 1, false, 0);
	set.next_id = UINT32_MAX;
	addr[0] = 1;
	CHECK_EQ(path_add(&set, PATH_TRANSPORT_UDP_DIRECT, addr, 4, 0, now, &id), 0);
	CHECK_EQ(id, UINT32_MAX);
	addr[0] = 2;
	CHECK_EQ(path_add(&set, PATH_TRANSPORT_UDP_DIRECT, addr, 4, 0, now, &id), 0);
	CHECK_EQ(first, 1);
	CHECK_EQ(id, 2);
}

/* A pong carries data only for the path it was sent on: never another
 * path's, never twice, never late. */
static void test_pong_binds_to_its_path(void)
{
	t_reset();
	uint32_t relay = t_add(PATH_TRANSPORT_UDP_RELAY, 1, false, 40 * MS);
	uint32_t direct = t_add(PATH_TRANSPORT_UDP_DIRECT, 2, false, 10 * MS);
	uint64_t relay_txid = path_get(&set, relay)->txid;
	uint64_t direct_txid = path_get(&set, direct)->txid;
	CHECK(relay_txid != direct_txid);
	CHECK_EQ(path_probe_answered(&set, relay, direct_txid, now), -ESRCH);
	CHECK_EQ(path_probe_answered(&set, direct, relay_txid, now), -ESRCH);
	CHECK_EQ(path_probe_answered(&set, direct, direct_txid + 100, now), -ESRCH);
	CHECK_EQ(active_id(), 0);
	/* Data on a path proves nothing by itself. */
	CHECK_EQ(path_data_received(&set, direct, now), 0);
	CHECK_EQ(state_of(direct), PATH_PROBING);
	now += 5 * MS;
	CHECK_EQ(path_probe_answered(&set, relay, relay_txid, now), 0);
	CHECK_EQ(active_id(), relay);
	CHECK_EQ(path_probe_answered(&set, relay, relay_txid, now), -ESRCH); /* replay */
	t_advance(1100 * MS);
	CHECK_EQ(path_probe_answered(&set, direct, direct_txid, now), -ESRCH); /* late */
	CHECK_EQ(state_of(direct), PATH_PROBING);
}

/* Removing the active path hands over at once; removing the last leaves none. */
static void test_remove_active(void)
{
	uint32_t relay, direct;
	setup_direct_active(&relay, &direct);
	int before = nchanges;
	CHECK_EQ(path_remove(&set, direct, now), 0);
	CHECK_EQ(active_id(), relay);
	CHECK_EQ(nchanges, before + 1);
	CHECK_EQ(changes[before].from, direct);
	CHECK_EQ(changes[before].to, relay);
	CHECK_EQ(changes[before].why, PATH_REASON_ACTIVE_REMOVED);
	CHECK_EQ(path_remove(&set, relay, now), 0);
	CHECK_EQ(active_id(), 0);
	CHECK_EQ(changes[before + 1].why, PATH_REASON_NONE_WORKING);
	CHECK_EQ(path_next_deadline(&set), UINT64_MAX);
	t_advance(60 * S);
	CHECK_EQ(nchanges, before + 2);
}

/* Every path dies: one change to "none", logged once; they come back. */
static void test_all_dead(void)
{
	uint32_t relay, direct;
	setup_direct_active(&relay, &direct);
	int before = nchanges;
	net[relay].answers = net[direct].answers = false;
	t_advance(20 * S);
	CHECK_EQ(active_id(), 0);
	CHECK_EQ(state_of(relay), PATH_DEAD);
	CHECK_EQ(state_of(direct), PATH_DEAD);
	CHECK_EQ(changes[nchanges - 1].to, 0);
	CHECK_EQ(changes[nchanges - 1].why, PATH_REASON_NONE_WORKING);
	CHECK(nchanges - before <= 2); /* maybe via the relay first, then none */
	int logs = nlogs, after = nchanges;
	t_advance(120 * S);
	CHECK_EQ(nlogs, logs); /* re-probes of dead paths log nothing */
	CHECK_EQ(nchanges, after);
	net[relay].answers = true;
	t_advance(70 * S);
	CHECK_EQ(active_id(), relay);
	CHECK_EQ(changes[nchanges - 1].why, PATH_REASON_FIRST_WORKING);
}

/* The clock jumps hours ahead (suspend): one timeout per path, not one per
 * missed interval, and the set recovers on its own. */
static void test_hours_later(void)
{
	uint32_t relay, direct;
	setup_direct_active(&relay, &direct);
	int probes_before = probes[relay] + probes[direct];
	now += 5 * 3600 * S;
	npongs = 0; /* in flight across the suspend: lost */
	path_run_timers(&set, now);
	CHECK(probes[relay] + probes[direct] - probes_before <= 2);
	t_advance(10 * S);
	CHECK_EQ(active_id(), direct);
	CHECK(probes[relay] + probes[direct] - probes_before <= 12);
	/* And hours later with nobody answering any more. */
	net[relay].answers = net[direct].answers = false;
	now += 7 * 3600 * S;
	path_run_timers(&set, now);
	t_advance(3600 * S);
	CHECK_EQ(active_id(), 0);
	CHECK(path_next_deadline(&set) <= now + 65 * S);
}

/* Our address changed: every path is probed again at once; dead ones start over. */
static void test_local_change(void)
{
	uint32_t relay, direct;
	setup_direct_active(&relay, &direct);
	uint32_t lan = t_add(PATH_TRANSPORT_UDP_DIRECT, 3, false, 1 * MS);
	t_advance(6 * S);
	CHECK_EQ(state_of(lan), PATH_DEAD);
	int r = probes[relay], d = probes[direct], l = probes[lan];
	net[lan].answers = true;
	path_local_change(&set, now);
	CHECK_EQ(probes[relay], r + 1);
	CHECK_EQ(probes[direct], d + 1);
	CHECK_EQ(probes[lan], l + 1);
	CHECK_EQ(state_of(lan), PATH_PROBING);
	CHECK_EQ(active_id(), direct); /* keeps carrying data meanwhile */
	t_advance(10 * S);
	CHECK_EQ(active_id(), lan); /* 1 ms beats 10 ms by the margin, after the hold */
	CHECK_EQ(changes[nchanges - 1].why, PATH_REASON_BETTER);
}

/* Data sent into silence probes the active path early; data from a dead
 * path brings its re-probe forward. */
static void test_data_events(void)
{
	uint32_t relay, direct;
	setup_direct_active(&relay, &direct);
	net[direct].answers = false;
	int d = probes[direct];
	uint64_t broke = now;
	for (int i = 0; i < 40 && active_id() == direct; i++) {
		CHECK_EQ(path_data_sent(&set, direct, now), 0);
		t_advance(50 * MS);
	}
	CHECK_EQ(active_id(), relay);
	CHECK(now - broke <= 3 * S); /* faster than the heartbeat alone */
	CHECK(probes[direct] > d);
	CHECK_EQ(path_get(&set, direct)->last_tx_ns, broke + (uint64_t)((now - broke) / (50 * MS) - 1) * 50 * MS);

	t_advance(1500 * MS);
	d = probes[direct];
	net[direct].answers = true;
	CHECK_EQ(path_data_received(&set, direct, now), 0);
	CHECK_EQ(probes[direct], d + 1);
	CHECK_EQ(path_data_received(&set, direct, now), 0); /* rate-limited */
	CHECK_EQ(probes[direct], d + 1);
	t_advance(50 * MS);
	CHECK_EQ(state_of(direct), PATH_STANDBY);
}

/* The relay's first probe was lost (sent before the server knew the far
 * end), but the peer's traffic arrives on it: the path is asked again at
 * once, not at the probe's 1 s timeout; not more than every 20 ms. */
static void test_data_on_probing_path(void)
{
	t_reset();
	uint32_t relay = t_add(PATH_TRANSPORT_UDP_RELAY, 1, false, 2 * MS);
	CHECK_EQ(probes[relay], 1);
	t_advance(10 * MS);
	net[relay].answers = true;
	CHECK_EQ(path_data_received(&set, relay, now), 0);
	CHECK_EQ(probes[relay], 1); /* the first probe may still be on its way */
	t_advance(40 * MS);
	CHECK_EQ(path_data_received(&set, relay, now), 0);
	CHECK_EQ(probes[relay], 2);
	CHECK_EQ(path_data_received(&set, relay, now), 0);
	CHECK_EQ(probes[relay], 2);
	t_advance(10 * MS);
	CHECK_EQ(active_id(), relay); /* 60 ms after it was added, not 1 s */
	CHECK_EQ(path_get(&set, relay)->probe_attempts, 0);
}

/* Every state change reaches the log exactly once. */
static void test_log_once(void)
{
	uint32_t relay, direct;
	setup_direct_active(&relay, &direct);
	/* added x2, relay+direct answered, active, relay demoted/direct promoted */
	CHECK_EQ(log_state_changes, nlogs - 2);
	CHECK(nlogs <= 8);
	CHECK_EQ(path_state_name(PATH_DEAD)[0], 'd');
	CHECK_EQ(path_reason_name(PATH_REASON_COUNT)[0], '?');
	CHECK_EQ(path_transport_name(PATH_TRANSPORT_UDP_RELAY)[0], 'u');
}


/* Traffic both ways every 5 ms on the active path while its network works;
 * nothing comes back while it does not. */
static void t_traffic(uint64_t ns)
{
	for (uint64_t t = 0; t < ns; t += 5 * MS) {
		uint32_t a = active_id();
		if (a) {
			CHECK_EQ(path_data_sent(&set, a, now), 0);
			if (net[a].answers)
				CHECK_EQ(path_data_received(&set, a, now), 0);
		}
		t_advance(5 * MS);
	}
}

/* Silent loss under traffic: the active path is probed once quiet for
 * max(2 x SRTT, 100 ms), SUSPECT when that probe is late by as much, and
 * the relay carries the traffic within 300 ms of the break; the direct path
 * takes over again at once when its probe is answered. */
static void test_suspect_fast_failover(void)
{
	uint32_t relay, direct;
	setup_direct_active(&relay, &direct);
	t_traffic(1 * S);
	int before = nchanges;
	net[direct].answers = false;
	uint64_t broke = now;
	t_traffic(300 * MS);
	CHECK_EQ(active_id(), relay);
	CHECK_EQ(nchanges, before + 1);
	CHECK_EQ(changes[before].why, PATH_REASON_ACTIVE_SUSPECT);
	CHECK(changes[before].at - broke >= 190 * MS && changes[before].at - broke <= 210 * MS);
	CHECK_EQ(state_of(direct), PATH_SUSPECT);
	CHECK_EQ(path_get(&set, direct)->suspect_count, 1);
	CHECK_EQ(set.fallback_from_id, direct);
	net[direct].answers = true;
	uint64_t healed = now;
	t_traffic(1 * S);
	CHECK_EQ(active_id(), direct);
	CHECK_EQ(nchanges, before + 2);
	CHECK_EQ(changes[before + 1].why, PATH_REASON_RECOVERED);
	CHECK(changes[before + 1].at - healed <= 300 * MS); /* the next probe's answer */
	CHECK_EQ(set.fallback_from_id, 0);
}

/* A relayed active path under one-way traffic is probed for quiet at most
 * once a second (receivers rate-limit PINGs per source, and relayed ones
 * all come from the relay); a direct one every 100 ms or so. */
static void test_quiet_probe_rate(void)
{
	t_reset();
	uint32_t relay = t_add(PATH_TRANSPORT_UDP_RELAY, 1, true, 10 * MS);
	t_advance(100 * MS);
	CHECK_EQ(active_id(), relay);
	int before = probes[relay];
	for (int i = 0; i < 1000; i++) { /* 5 s of data out, nothing back */
		CHECK_EQ(path_data_sent(&set, relay, now), 0);
		t_advance(5 * MS);
	}
	CHECK(probes[relay] - before >= 4 && probes[relay] - before <= 7);
}

/* No traffic: the heartbeat probe's late reply alone makes it SUSPECT. */
static void test_suspect_idle(void)
{
	uint32_t relay, direct;
	setup_direct_active(&relay, &direct);
	int before = nchanges;
	net[direct].answers = false;
	uint64_t broke = now;
	t_advance(3 * S);
	CHECK_EQ(active_id(), relay);
	CHECK(nchanges > before && changes[before].why == PATH_REASON_ACTIVE_SUSPECT);
	CHECK(changes[before].at - broke <= 2 * S + 100 * MS + 1);
	/* Two probes lost in a row: from SUSPECT to DEAD, the fallback forgotten. */
	CHECK_EQ(state_of(direct), PATH_DEAD);
	CHECK_EQ(set.fallback_from_id, 0);
}

/* A path whose RTT jumps from 10 to 150 ms: late replies at first, each a
 * short trip to the relay and back (50 ms each), until 2 x SRTT passes
 * 150 ms; then no more. */
static void test_suspect_rtt_jump(void)
{
	uint32_t relay, direct;
	setup_direct_active(&relay, &direct);
	net[direct].rtt = 150 * MS;
	int before = nchanges;
	t_advance(60 * S);
	CHECK_EQ(active_id(), direct);
	uint64_t suspects = path_get(&set, direct)->suspect_count;
	CHECK(suspects >= 1 && suspects <= 6); /* SRTT reaches 75 ms in 5 samples */
	CHECK(nchanges - before == 2 * (int)suspects);
	CHECK_EQ(changes[before + 1].why, PATH_REASON_RECOVERED);
	int settled = nchanges;
	t_advance(60 * S);
	CHECK_EQ(nchanges, settled);
}

/* The only path goes quiet: no active path while it is SUSPECT (the caller
 * queues), the same path again once it answers. */
static void test_suspect_no_alternative(void)
{
	t_reset();
	uint32_t direct = t_add(PATH_TRANSPORT_UDP_DIRECT, 1, true, 10 * MS);
	t_advance(1 * S);
	CHECK_EQ(active_id(), direct);
	net[direct].answers = false;
	t_traffic(200 * MS);
	CHECK_EQ(active_id(), 0);
	CHECK_EQ(changes[nchanges - 1].why, PATH_REASON_NONE_WORKING);
	net[direct].answers = true;
	t_advance(300 * MS);
	CHECK_EQ(active_id(), direct);
	CHECK_EQ(changes[nchanges - 1].why, PATH_REASON_FIRST_WORKING);
}

/* path_expect_reply: something that expects an answer, e.g. a handshake
 * initiation. An authenticated packet in time clears it; none: SUSPECT. */
static void test_expect_reply(void)
{
	uint32_t relay, direct;
	setup_direct_active(&relay, &direct);
	CHECK_EQ(path_expect_reply(&set, 999, now), -ENOENT);
	CHECK_EQ(path_expect_reply(&set, direct, now), 0);
	t_advance(50 * MS);
	CHECK_EQ(path_data_received(&set, direct, now), 0);
	t_advance(100 * MS);
	CHECK_EQ(state_of(direct), PATH_ACTIVE);
	CHECK_EQ(path_suspect_timeout(&set, path_get(&set, direct)), 100 * MS);
	uint64_t sent = now;
	CHECK_EQ(path_expect_reply(&set, direct, now), 0);
	t_advance(100 * MS);
	CHECK_EQ(state_of(direct), PATH_SUSPECT);
	CHECK_EQ(active_id(), relay);
	CHECK_EQ(changes[nchanges - 1].at, sent + 100 * MS);
}

/* Thresholds with hysteresis: a path past the RTT threshold loses to a
 * healthy one; it is healthy again only below the lower threshold. */
static void test_thresholds(void)
{
	struct path_tuning t;
	path_tuning_default(&t);
	CHECK_EQ(t.suspect_min_ns, 100 * MS);
	struct path_tuning bad = t;
	bad.loss_leave_permille = bad.loss_enter_permille + 1;
	CHECK_EQ(path_set_tune(&set, &bad), -EINVAL);
	bad = t;
	bad.suspect_rtt_mult = 0;
	CHECK_EQ(path_set_tune(&set, &bad), -EINVAL);
	bad = t;
	bad.rtt_leave_ns = bad.rtt_enter_ns + 1;
	CHECK_EQ(path_set_tune(&set, &bad), -EINVAL);

	uint32_t a, b;
	t_add_second(&a, PATH_TRANSPORT_UDP_DIRECT, 10 * MS, &b, PATH_TRANSPORT_UDP_DIRECT, 30 * MS);
	t.rtt_enter_ns = 50 * MS;
	t.rtt_leave_ns = 25 * MS;
	t.suspect_min_ns = 1 * S; /* RTT changes here are not late replies */
	CHECK_EQ(path_set_tune(&set, &t), 0);
	t_advance(5 * S);
	CHECK_EQ(active_id(), a);
	net[a].rtt = 80 * MS;
	t_advance(30 * S);
	CHECK(path_get(&set, a)->degraded);
	CHECK_EQ(active_id(), b); /* 30 ms healthy beats 80 ms degraded */
	net[a].rtt = 20 * MS; /* below enter, above leave: still degraded */
	t_advance(10 * S);
	CHECK(path_get(&set, a)->srtt_ns > 25 * MS || path_get(&set, a)->degraded);
	net[a].rtt = 5 * MS;
	t_advance(60 * S);
	CHECK(!path_get(&set, a)->degraded);
	CHECK_EQ(active_id(), a);
	/* Jitter: RTT alternating 5 / 15 ms. */
	for (int i = 0; i < 40; i++) {
		net[a].rtt = (i & 1) ? 15 * MS : 5 * MS;
		t_advance(2 * S);
	}
	uint64_t j = path_get(&set, a)->jitter_ns;
	CHECK(j >= 5 * MS && j <= 10 * MS);
}

/* A metered standby is probed every 60 s, not 5; active, as any other. */
static void test_metered(void)
{
	uint32_t a, m;
	t_add_second(&a, PATH_TRANSPORT_UDP_DIRECT, 10 * MS, &m, PATH_TRANSPORT_UDP_DIRECT, 30 * MS);
	CHECK_EQ(path_set_metered(&set, 999, true, now), -ENOENT);
	CHECK_EQ(path_set_metered(&set, m, true, now), 0);
	t_advance(10 * S);
	int before = probes[m];
	t_advance(120 * S);
	CHECK(probes[m] - before >= 1 && probes[m] - before <= 3);
	net[a].answers = false;
	t_advance(3 * S);
	CHECK_EQ(active_id(), m); /* still the fallback */
	before = probes[m];
	t_advance(10 * S);
	CHECK(probes[m] - before >= 4); /* active: the 2 s heartbeat */
}

/* A metered path carries nothing while an unmetered one meets the
 * thresholds, however much faster it is; it takes over when that one
 * fails, and hands back when it recovers. Metering the active path makes
 * the unmetered one a challenger (the usual hold, then its next probe). */
static void test_metered_ranks_last(void)
{
	uint32_t a, m;
	t_add_second(&a, PATH_TRANSPORT_UDP_DIRECT, 60 * MS, &m, PATH_TRANSPORT_UDP_DIRECT, 5 * MS);
	CHECK_EQ(path_set_metered(&set, m, true, now), 0);
	t_advance(30 * S);
	CHECK_EQ(active_id(), a);
	net[a].answers = false;
	t_advance(5 * S);
	CHECK_EQ(active_id(), m);
	net[a].answers = true;
	t_advance(90 * S);
	CHECK_EQ(active_id(), a);
	CHECK_EQ(path_set_metered(&set, a, true, now), 0);
	CHECK_EQ(path_set_metered(&set, m, false, now), 0);
	CHECK_EQ(active_id(), a);
	t_advance(10 * S);
	CHECK_EQ(active_id(), m);
}

/* Redundant: the active path plus the best answered path diverse
 * from it (another diversity group, or relay vs direct); none with
 * another policy or when only same-group paths answer. */
static void test_redundant(void)
{
	uint32_t a, b, c, r;
	t_add_second(&a, PATH_TRANSPORT_UDP_DIRECT, 10 * MS, &b, PATH_TRANSPORT_UDP_DIRECT, 20 * MS);
	c = t_add(PATH_TRANSPORT_UDP_DIRECT, 3, true, 15 * MS);
	r = t_add(PATH_TRANSPORT_UDP_RELAY, 4, true, 30 * MS);
	CHECK_EQ(path_set_diversity(&set, 999, 1, now), -ENOENT);
	CHECK_EQ(path_set_diversity(&set, a, 1, now), 0);
	CHECK_EQ(path_set_diversity(&set, c, 1, now), 0); /* a's group, faster than b */
	CHECK_EQ(path_set_diversity(&set, b, 2, now), 0);
	t_advance(10 * S);
	CHECK_EQ(active_id(), a);
	CHECK(path_duplicate(&set) == NULL); /* latency: one path */
	CHECK_EQ(path_set_policy(&set, PATH_POLICY_COUNT, now), -EINVAL);
	CHECK_EQ(path_set_policy(&set, PATH_POLICY_REDUNDANT, now), 0);
	CHECK(path_duplicate(&set) && path_duplicate(&set)->id == b); /* c is not diverse: same group */
	/* b fails: the relay is diverse from a (relayed vs direct). */
	net[b].answers = false;
	t_advance(10 * S);
	CHECK(path_duplicate(&set) && path_duplicate(&set)->id == r);
	/* a fails: c (group 1) takes over; the relay stays the duplicate. */
	net[a].answers = false;
	t_advance(10 * S);
	CHECK_EQ(active_id(), c);
	CHECK(path_duplicate(&set) && path_duplicate(&set)->id == r);
	/* b answers again: diverse from c, and ranks above the relay. */
	net[b].answers = true;
	t_advance(70 * S);
	CHECK(path_duplicate(&set) && path_duplicate(&set)->id == b);
	CHECK_EQ(path_set_policy(&set, PATH_POLICY_LATENCY, now), 0);
	CHECK(path_duplicate(&set) == NULL);
	enum path_policy pol;
	CHECK_EQ(path_policy_parse("redundant", &pol), 0);
	CHECK_EQ(pol, PATH_POLICY_REDUNDANT);
	CHECK_EQ(path_policy_parse("bogus", &pol), -EINVAL);
	CHECK(strcmp(path_policy_name(PATH_POLICY_COST), "cost") == 0);
}

/* Cost: the cheapest healthy path, whatever its RTT; latency: RTT + cost. */
static void test_cost_policy(void)
{
	uint32_t a, b;
	t_add_second(&a, PATH_TRANSPORT_UDP_DIRECT, 10 * MS, &b, PATH_TRANSPORT_UDP_DIRECT, 80 * MS);
	CHECK_EQ(path_set_cost(&set, a, 20000, now), 0); /* 10 + 20 ms: still below b's 80 */
	CHECK_EQ(path_set_cost(&set, b, 5000, now), 0);
	t_advance(10 * S);
	CHECK_EQ(active_id(), a);
	CHECK_EQ(path_set_policy(&set, PATH_POLICY_COST, now), 0);
	t_advance(10 * S);
	CHECK_EQ(active_id(), b);
	/* b degraded (RTT past the threshold): the dearer healthy a. */
	net[b].rtt = 2000 * MS;
	t_advance(120 * S);
	CHECK_EQ(active_id(), a);
}

/* Confirm mode: the better direct path is announced once, not taken;
 * path_use takes it; a failing active path is still replaced at once;
 * turning confirm off takes an announced path. */
static void test_confirm(void)
{
	uint32_t relay, direct;
	t_add_second(&relay, PATH_TRANSPORT_UDP_RELAY, 40 * MS, &direct, PATH_TRANSPORT_UDP_DIRECT, 10 * MS);
	path_set_confirm(&set, true, now);
	int notices = nlogs - log_state_changes; /* log lines that change no state */
	t_advance(10 * S);
	CHECK_EQ(active_id(), relay);
	CHECK_EQ(set.better_id, direct);
	CHECK_EQ(nlogs - log_state_changes - notices, 1); /* announced once */
	CHECK_EQ(path_use(&set, 999, now), -ENOENT);
	CHECK_EQ(path_use(&set, direct, now), 0);
	CHECK_EQ(active_id(), direct);
	CHECK_EQ(changes[nchanges - 1].why, PATH_REASON_USER);
	CHECK_EQ(set.better_id, 0);
	/* Back to the relay by hand; then it fails: no confirmation needed. */
	CHECK_EQ(path_use(&set, relay, now), 0);
	CHECK_EQ(active_id(), relay);
	net[relay].answers = false;
	t_advance(10 * S);
	CHECK_EQ(active_id(), direct);
	CHECK_EQ(path_use(&set, relay, now), -EAGAIN); /* dead: cannot carry */
	/* Auto: the best answered path. */
	net[relay].answers = true;
	t_advance(70 * S);
	CHECK_EQ(path_use(&set, relay, now), 0);
	t_advance(10 * S);
	CHECK_EQ(active_id(), relay);
	CHECK_EQ(path_use(&set, 0, now), 0);
	CHECK_EQ(active_id(), direct);
	/* Confirm off: an announced path is taken. */
	CHECK_EQ(path_use(&set, relay, now), 0);
	t_advance(10 * S);
	CHECK_EQ(set.better_id, direct);
	path_set_confirm(&set, false, now);
	t_advance(5 * S);
	CHECK_EQ(active_id(), direct);
}

static int t_tamper(uint32_t id, int n)
{
	int quarantined = 0;
	for (int i = 0; i < n; i++)
		quarantined += path_tamper(&set, id, now) == 1;
	return quarantined;
}

/* Tamper detection: 32 bad packets within 10 s quarantine a path (it
 * carries and probes nothing; the relay takes over at once), for 30 s,
 * then it is probed like a new candidate and takes over again; again soon
 * after: 60 s, 120 s, ... up to 10 min; never the last path. */
static void test_quarantine(void)
{
	uint32_t relay, direct;
	setup_direct_active(&relay, &direct);
	CHECK_EQ(t_tamper(direct, 31), 0);
	t_advance(10 * S); /* a new window */
	CHECK_EQ(t_tamper(direct, 31), 0);
	CHECK_EQ(state_of(direct), PATH_ACTIVE);
	int before = nchanges;
	CHECK_EQ(t_tamper(direct, 1), 1);
	CHECK_EQ(state_of(direct), PATH_QUARANTINED);
	CHECK_EQ(active_id(), relay);
	CHECK_EQ(nchanges, before + 1);
	CHECK_EQ(changes[before].why, PATH_REASON_TAMPERED);
	const struct path *d = path_get(&set, direct);
	CHECK_EQ(d->quarantines, 1);
	CHECK_EQ(d->tampered, 63);
	CHECK_EQ(d->quarantine_until_ns - now, 30 * S);
	CHECK_EQ(path_tamper(&set, direct, now), 0); /* counted, nothing more */
	int probed = probes[direct];
	path_local_change(&set, now); /* does not let it out early */
	t_advance(29 * S);
	CHECK_EQ(probes[direct], probed);
	CHECK_EQ(state_of(direct), PATH_QUARANTINED);
	CHECK(path_use(&set, direct, now) == -EAGAIN);
	t_advance(1 * S + 20 * MS);
	CHECK_EQ(probes[direct], probed + 1);
	CHECK(state_of(direct) == PATH_STANDBY || state_of(direct) == PATH_ACTIVE);
	t_advance(10 * S);
	CHECK_EQ(active_id(), direct);
	/* Again within 10 min of coming out: twice as long, up to the cap. */
	uint64_t want[] = { 60 * S, 120 * S, 240 * S, 480 * S, 600 * S, 600 * S };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK_EQ(t_tamper(direct, 32), 1);
		CHECK_EQ(path_get(&set, direct)->quarantine_until_ns - now, want[i]);
		t_advance(want[i] + 5 * S);
		CHECK(state_of(direct) != PATH_QUARANTINED);
	}
	/* Clean for 10 min: back to 30 s. */
	t_advance(PATH_QUARANTINE_MAX_NS);
	CHECK_EQ(t_tamper(direct, 32), 1);
	CHECK_EQ(path_get(&set, direct)->quarantine_until_ns - now, 30 * S);
	/* The relay is the last path that answers: never quarantined. */
	CHECK_EQ(t_tamper(relay, 100), 0);
	CHECK_EQ(active_id(), relay);
	CHECK_EQ(path_get(&set, relay)->tampered, 100);

	/* Threshold 0: off. */
	setup_direct_active(&relay, &direct);
	struct path_tuning tu = set.tuning;
	tu.tamper_threshold = 0;
	CHECK_EQ(path_set_tune(&set, &tu), 0);
	CHECK_EQ(t_tamper(direct, 1000), 0);
	CHECK_EQ(active_id(), direct);
	tu.quarantine_ns = 500 * MS;
	CHECK_EQ(path_tuning_check(&tu), -EINVAL);
	tu.quarantine_ns = 3 * S;
	tu.tamper_window_ns = 61 * S;
	CHECK_EQ(path_tuning_check(&tu), -EINVAL);
	tu.tamper_window_ns = 1 * S;
	tu.tamper_threshold = 1001;
	CHECK_EQ(path_tuning_check(&tu), -EINVAL);
	CHECK_EQ(path_tamper(&set, 999, now), -ENOENT);
	CHECK_EQ(path_copy_won(&set, direct), 0);
	CHECK_EQ(path_get(&set, direct)->copies_won, 1);
	CHECK_EQ(path_copy_won(&set, 999), -ENOENT);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "relay_first", test_relay_first },
	{ "promote_direct", test_promote_direct },
	{ "direct_opens_late", test_direct_opens_late },
	{ "demote_and_fail_back", test_demote_and_fail_back },
	{ "failover_budget", test_failover_budget },
	{ "no_flapping", test_no_flapping },
	{ "same_tier_rtt_and_cost", test_same_tier_rtt_and_cost },
	{ "dead_backoff", test_dead_backoff },
	{ "limits", test_limits },
	{ "pong_binds_to_its_path", test_pong_binds_to_its_path },
	{ "remove_active", test_remove_active },
	{ "all_dead", test_all_dead },
	{ "hours_later", test_hours_later },
	{ "local_change", test_local_change },
	{ "failover_prefers_fresh", test_failover_prefers_fresh },
	{ "failover_other_interface", test_failover_other_interface },
	{ "data_events", test_data_events },
	{ "data_on_probing_path", test_data_on_probing_path },
	{ "log_once", test_log_once },
	{ "suspect_fast_failover", test_suspect_fast_failover },
	{ "suspect_idle", test_suspect_idle },
	{ "suspect_rtt_jump", test_suspect_rtt_jump },
	{ "suspect_no_alternative", test_suspect_no_alternative },
	{ "expect_reply", test_expect_reply },
	{ "thresholds", test_thresholds },
	{ "metered", test_metered },
	{ "metered_ranks_last", test_metered_ranks_last },
	{ "redundant", test_redundant },
	{ "cost_policy", test_cost_policy },
	{ "confirm", test_confirm },
	{ "quiet_probe_rate", test_quiet_probe_rate },
	{ "quarantine", test_quarantine },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int failures = check_failures;
		tests[i].fn();
		if (check_failures != failures)
			fprintf(stderr, "  in %s\n", tests[i].name);
	}
	return check_report("test_path");
}
