/* Application classes (path_class.c), the per-policy choice and the
 * throughput meter (path_choice.c), with a fake clock: probes are answered
 * by hand, so every path's RTT is what the test says. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "../check.h"
#include "path/path.h"
#include "path/path_class.h"

#define MS 1000000ULL
#define S 1000000000ULL

static struct path_set set;
static uint64_t now;
static uint64_t txids[64];

static void c_send_probe(void *ctx, const struct path *p, uint64_t txid)
{
	(void)ctx;
	if (p->id < 64)
		txids[p->id] = txid;
}

static const struct path_ops c_ops = { .send_probe = c_send_probe };

/* A path that answered its first probe after rtt. */
static uint32_t c_add(enum path_transport t, uint8_t tag, uint8_t group, uint64_t rtt)
{
	uint8_t addr[4] = { 198, 51, 100, tag };
	uint32_t id = 0;
	CHECK_EQ(path_add(&set, t, addr, sizeof(addr), 0, now, &id), 0);
	CHECK_EQ(path_set_diversity(&set, id, group, now), 0);
	now += rtt;
	CHECK_EQ(path_probe_answered(&set, id, txids[id], now), 0);
	return id;
}

static uint32_t id_of(const struct path *p)
{
	return p ? p->id : 0;
}

/* Builds an IPv4 packet: proto, DSCP, ports (ihl 5). */
static size_t ip4(uint8_t *b, uint8_t proto, uint8_t dscp, uint16_t sport, uint16_t dport)
{
	memset(b, 0, 28);
	b[0] = 0x45;
	b[1] = (uint8_t)(dscp << 2);
	b[9] = proto;
	b[12] = 10, b[15] = 1;
	b[16] = 10, b[19] = 2;
	b[20] = (uint8_t)(sport >> 8), b[21] = (uint8_t)sport;
	b[22] = (uint8_t)(dport >> 8), b[23] = (uint8_t)dport;
	return 28;
}

static size_t ip6(uint8_t *b, uint8_t proto, uint8_t dscp, uint16_t sport, uint16_t dport)
{
	memset(b, 0, 48);
	b[0] = (uint8_t)(0x60 | dscp >> 2);
	b[1] = (uint8_t)((dscp & 3) << 6);
	b[6] = proto;
	b[8] = 0xfd, b[23] = 1;
	b[24] = 0xfd, b[39] = 2;
	b[40] = (uint8_t)(sport >> 8), b[41] = (uint8_t)sport;
	b[42] = (uint8_t)(dport >> 8), b[43] = (uint8_t)dport;
	return 48;
}

static const struct path_class_rule rules[] = {
	{ "mine", 17, -1, 5000, 5100, PATH_POLICY_REDUNDANT },
	{ "voip", 17, -1, 16384, 32767, PATH_POLICY_REDUNDANT },
	{ "voip-ef", 0, 46, 0, 0, PATH_POLICY_REDUNDANT },
	{ "ssh", 6, -1, 22, 22, PATH_POLICY_LATENCY },
	{ "ping", 1, -1, 0, 0, PATH_POLICY_COST },
	{ "bulk", 0, 8, 0, 0, PATH_POLICY_BANDWIDTH },
};
#define NRULES ((unsigned)(sizeof(rules) / sizeof(rules[0])))

static int8_t class_of(const uint8_t *b, size_t len)
{
	struct path_flow f;
	path_classify(rules, NRULES, b, len, &f);
	return f.class_idx;
}

static void test_classify(void)
{
	uint8_t b[64];
	struct path_flow f, g;
	CHECK_EQ(class_of(b, ip4(b, 17, 0, 40000, 5050)), 0);
	CHECK_EQ(class_of(b, ip4(b, 17, 0, 5100, 40000)), 0); /* the source port: the way back */
	CHECK_EQ(class_of(b, ip4(b, 17, 0, 40000, 5101)), PATH_CLASS_NONE);
	CHECK_EQ(class_of(b, ip4(b, 6, 0, 40000, 5050)), PATH_CLASS_NONE); /* TCP: not "mine" */
	CHECK_EQ(class_of(b, ip4(b, 17, 46, 40000, 20000)), 1);           /* first match wins */
	CHECK_EQ(class_of(b, ip4(b, 6, 46, 40000, 443)), 2);
	CHECK_EQ(class_of(b, ip4(b, 6, 0, 22, 50000)), 3);
	CHECK_EQ(class_of(b, ip4(b, 1, 0, 0, 0)), 4);
	CHECK_EQ(class_of(b, ip6(b, 58, 0, 0, 0)), 4); /* ICMPv6 is icmp */
	CHECK_EQ(class_of(b, ip6(b, 6, 8, 1234, 80)), 5);
	CHECK_EQ(class_of(b, ip6(b, 17, 0, 1234, 5000)), 0);
	CHECK_EQ(class_of(b, ip6(b, 17, 46, 1234, 80)), 2);
	/* A later fragment has no ports: only a rule without ports matches. */
	ip4(b, 17, 0, 40000, 5050);
	b[7] = 10;
	CHECK_EQ(class_of(b, 28), PATH_CLASS_NONE);
	/* Too short for ports, a bad IHL, not IP at all. */
	CHECK_EQ(class_of(b, ip4(b, 17, 0, 40000, 5050) - 6), PATH_CLASS_NONE);
	ip4(b, 6, 0, 22, 22);
	b[0] = 0x44; /* IHL 16 bytes: no transport header where it says */
	CHECK_EQ(class_of(b, 28), PATH_CLASS_NONE);
	path_classify(rules, NRULES, b, 10, &f);
	CHECK(!f.valid && f.class_idx == PATH_CLASS_NONE);
	b[0] = 0x00;
	path_classify(rules, NRULES, b, 28, &f);
	CHECK(!f.valid);
	/* One flow, one hash; another port, another hash. */
	path_classify(rules, NRULES, b, ip4(b, 6, 0, 40000, 443), &f);
	path_classify(rules, NRULES, b, ip4(b, 6, 0, 40000, 443), &g);
	CHECK(f.valid && f.hash == g.hash);
	path_classify(rules, NRULES, b, ip4(b, 6, 0, 40001, 443), &g);
	CHECK(f.hash != g.hash);
	/* No rules: nothing matches, the hash is still there. */
	path_classify(rules, 0, b, ip4(b, 6, 0, 22, 443), &g);
	CHECK(g.valid && g.class_idx == PATH_CLASS_NONE);
}

static void test_rule_check(void)
{
	struct path_class_rule r = { "voip", 17, 46, 16384, 32767, PATH_POLICY_REDUNDANT };
	uint16_t lo, hi;
	uint8_t proto;
	char buf[4];
	CHECK_EQ(path_class_rule_check(&r), 0);
	r.dscp = 64;
	CHECK_EQ(path_class_rule_check(&r), -EINVAL);
	r.dscp = -1;
	r.port_lo = 40000;
	CHECK_EQ(path_class_rule_check(&r), -EINVAL);
	r.port_lo = 0;
	CHECK_EQ(path_class_rule_check(&r), -EINVAL); /* 0-32767 */
	r.port_lo = r.port_hi = 0;
	CHECK_EQ(path_class_rule_check(&r), 0);
	r.policy = PATH_POLICY_COUNT;
	CHECK_EQ(path_class_rule_check(&r), -EINVAL);
	r.policy = PATH_POLICY_BANDWIDTH;
	memcpy(r.name, "Bad Name", 9);
	CHECK_EQ(path_class_rule_check(&r), -EINVAL);
	r.name[0] = '\0';
	CHECK_EQ(path_class_rule_check(&r), -EINVAL);
	CHECK_EQ(path_class_ports_parse("5000-5100", &lo, &hi), 0);
	CHECK(lo == 5000 && hi == 5100);
	CHECK_EQ(path_class_ports_parse("22", &lo, &hi), 0);
	CHECK(lo == 22 && hi == 22);
	const char *bad[] = { "", "0", "65536", "5100-5000", "1-", "-5", "5000-5100x", "1234567", "a" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(path_class_ports_parse(bad[i], &lo, &hi), -EINVAL);
	CHECK_EQ(path_class_proto_parse("udp", &proto), 0);
	CHECK_EQ(proto, 17);
	CHECK_EQ(path_class_proto_parse("132", &proto), 0);
	CHECK(strcmp(path_class_proto_name(132, buf), "132") == 0);
	CHECK(strcmp(path_class_proto_name(0, buf), "any") == 0);
	CHECK_EQ(path_class_proto_parse("256", &proto), -EINVAL);
	CHECK_EQ(path_class_proto_parse("sctp", &proto), -EINVAL);
}

/* Each policy's pick, whatever the set's own: a class may use another. */
static void test_choice_per_policy(void)
{
	const struct path *second;
	now = 1 * S;
	path_set_init(&set, &c_ops, NULL, 7);
	uint32_t a = c_add(PATH_TRANSPORT_UDP_DIRECT, 1, 1, 10 * MS);
	uint32_t b = c_add(PATH_TRANSPORT_UDP_DIRECT, 2, 2, 30 * MS);
	uint32_t c = c_add(PATH_TRANSPORT_UDP_DIRECT, 3, 1, 20 * MS);
	/* Latency: a (10 + 5 ms), c (20 + 8), b (30); cost: b (0) first. */
	CHECK_EQ(path_set_cost(&set, a, 5000, now), 0);
	CHECK_EQ(path_set_cost(&set, c, 8000, now), 0);
	CHECK_EQ(id_of(path_active(&set)), a);
	CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_LATENCY, 0, &second)), a);
	CHECK(second == NULL);
	/* Redundant: latency's path plus the best diverse one (b: c shares a's group). */
	CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_REDUNDANT, 0, &second)), a);
	CHECK_EQ(id_of(second), b);
	CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_COST, 0, &second)), b);
	CHECK(second == NULL);
	/* The set's policy turns to cost: its active path follows, and the
	 * latency class keeps a. */
	CHECK_EQ(path_set_policy(&set, PATH_POLICY_COST, now), 0);
	for (int i = 0; i < 20 && id_of(path_active(&set)) != b; i++) {
		now += 1 * S;
		path_run_timers(&set, now);
		for (uint32_t id = a; id <= c; id++)
			(void)path_probe_answered(&set, id, txids[id], now + (id == a ? 10 : id == b ? 30 : 20) * MS);
	}
	CHECK_EQ(id_of(path_active(&set)), b);
	CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_LATENCY, 0, NULL)), a);
	CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_REDUNDANT, 0, &second)), a);
	CHECK_EQ(id_of(second), b);
	/* b's reply is late (SUSPECT): the cost class moves off it, the copy
	 * still goes on it (under random loss a copy that may arrive beats none). */
	CHECK_EQ(path_set_policy(&set, PATH_POLICY_LATENCY, now), 0);
	CHECK_EQ(path_expect_reply(&set, b, now), 0);
	now += 150 * MS;
	path_run_timers(&set, now);
	CHECK_EQ(path_get(&set, b)->state, PATH_SUSPECT);
	CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_REDUNDANT, 0, &second)), a);
	CHECK_EQ(id_of(second), b);
	CHECK(id_of(path_choice(&set, PATH_POLICY_COST, 0, NULL)) != b);
	CHECK_EQ(path_probe_answered(&set, b, txids[b], now + 30 * MS), 0);
	CHECK_EQ(path_get(&set, b)->state, PATH_STANDBY);
	CHECK_EQ(path_set_policy(&set, PATH_POLICY_COST, now), 0);
	/* a goes: latency's pick moves to c, whose duplicate is still b. */
	CHECK_EQ(path_remove(&set, a, now), 0);
	CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_LATENCY, 0, NULL)), c);
	CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_REDUNDANT, 0, &second)), c);
	CHECK_EQ(id_of(second), b);
	CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_COUNT, 0, NULL)), b); /* bad: the set's own */
}

/* A class's copy never goes on a metered path; the set's own redundant
 * policy (the user's choice for the peer) may. */
static void test_copy_not_metered(void)
{
	const struct path *second;
	now = 1 * S;
	path_set_init(&set, &c_ops, NULL, 8);
	uint32_t a = c_add(PATH_TRANSPORT_UDP_DIRECT, 1, 1, 10 * MS);
	uint32_t b = c_add(PATH_TRANSPORT_UDP_DIRECT, 2, 2, 30 * MS);
	CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_REDUNDANT, 0, &second)), a);
	CHECK_EQ(id_of(second), b);
	CHECK_EQ(path_set_metered(&set, b, true, now), 0);
	CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_REDUNDANT, 0, &second)), a);
	CHECK(second == NULL);
	CHECK_EQ(path_set_policy(&set, PATH_POLICY_REDUNDANT, now), 0);
	CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_REDUNDANT, 0, &second)), a);
	CHECK_EQ(id_of(second), b);
}

/* Bandwidth: flows spread over the healthy unmetered direct paths, each
 * flow kept on its path; a leaving path moves only its own flows. */
static void test_bandwidth_spread(void)
{
	now = 1 * S;
	path_set_init(&set, &c_ops, NULL, 9);
	uint32_t r = c_add(PATH_TRANSPORT_UDP_RELAY, 9, 0, 5 * MS);
	uint32_t a = c_add(PATH_TRANSPORT_UDP_DIRECT, 1, 1, 10 * MS);
	uint32_t b = c_add(PATH_TRANSPORT_UDP_DIRECT, 2, 2, 40 * MS);
	uint32_t m = c_add(PATH_TRANSPORT_UDP_DIRECT, 3, 3, 5 * MS);
	uint32_t a2 = c_add(PATH_TRANSPORT_UDP_DIRECT, 5, 1, 15 * MS); /* a's interface: no share */
	CHECK_EQ(path_set_metered(&set, m, true, now), 0);
	CHECK_EQ(path_set_policy(&set, PATH_POLICY_BANDWIDTH, now), 0);
	uint32_t on[256];
	unsigned count[8] = { 0 };
	for (uint32_t f = 0; f < 256; f++) {
		on[f] = id_of(path_choice(&set, PATH_POLICY_BANDWIDTH, f * 2654435761u, NULL));
		if (on[f] < 8)
			count[on[f]]++;
		CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_BANDWIDTH, f * 2654435761u, NULL)), on[f]);
	}
	CHECK_EQ(count[r] + count[m] + count[a2], 0); /* not the relay, the metered path, a second of a's group */
	CHECK(count[a] > 80 && count[b] > 80);
	CHECK_EQ(count[a] + count[b], 256);
	CHECK_EQ(path_remove(&set, b, now), 0);
	for (uint32_t f = 0; f < 256; f++)
		CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_BANDWIDTH, f * 2654435761u, NULL)), a);
	uint32_t b2 = c_add(PATH_TRANSPORT_UDP_DIRECT, 4, 2, 40 * MS);
	unsigned moved = 0;
	for (uint32_t f = 0; f < 256; f++) {
		uint32_t id = id_of(path_choice(&set, PATH_POLICY_BANDWIDTH, f * 2654435761u, NULL));
		CHECK(id == a || id == b2);
		moved += id != a;
	}
	CHECK(moved > 80 && moved < 176); /* about half move to the new path, the rest stay */
	/* Only the relay left: everything on it. */
	CHECK_EQ(path_remove(&set, a, now), 0);
	CHECK_EQ(path_remove(&set, b2, now), 0);
	CHECK_EQ(path_remove(&set, m, now), 0);
	CHECK_EQ(path_remove(&set, a2, now), 0);
	CHECK_EQ(id_of(path_choice(&set, PATH_POLICY_BANDWIDTH, 12345, NULL)), r);
}

/* The meter: bytes per window, averaged with gain 1/2, halving when idle. */
static void test_meter(void)
{
	now = 1 * S;
	path_set_init(&set, &c_ops, NULL, 11);
	uint32_t a = c_add(PATH_TRANSPORT_UDP_DIRECT, 1, 1, 10 * MS);
	const struct path *p = path_get(&set, a);
	CHECK_EQ(path_rate(p, now), 0);
	/* 1000 bytes every ms for 3 s: 1 MB/s. */
	for (int i = 0; i < 3000; i++, now += 1 * MS)
		path_sent_bytes(&set, p, 1000, now);
	uint64_t r = path_rate(p, now);
	CHECK(r > 950000 && r <= 1000000); /* six windows from 0: 1 - 1/64 of it */
	CHECK_EQ(p->bytes_sent, 3000000);
	/* Twice the rate: most of the way there within four windows. */
	for (int i = 0; i < 2000; i++, now += 1 * MS)
		path_sent_bytes(&set, p, 2000, now);
	r = path_rate(p, now);
	CHECK(r > 1900000 && r <= 2000000);
	/* Idle: halves per empty window, read without sending. */
	now += 1500 * MS;
	r = path_rate(p, now);
	CHECK(r > 200000 && r < 300000);
	now += 60 * S;
	CHECK_EQ(path_rate(p, now), 0);
	/* Not a path of this set: ignored. */
	struct path other = *p;
	path_sent_bytes(&set, &other, 1000, now);
	path_sent_bytes(&set, NULL, 1000, now);
	CHECK_EQ(p->bytes_sent, 3000000 + 4000000);
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "classify", test_classify },
		{ "rule_check", test_rule_check },
		{ "choice_per_policy", test_choice_per_policy },
		{ "copy_not_metered", test_copy_not_metered },
		{ "bandwidth_spread", test_bandwidth_spread },
		{ "meter", test_meter },
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int failures = check_failures;
		tests[i].fn();
		if (check_failures != failures)
			fprintf(stderr, "  in %s\n", tests[i].name);
	}
	return check_report("test_path_choice");
}
