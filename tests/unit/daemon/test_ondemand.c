/* Peers on demand, the data plane's questions (daemon/ondemand.c) on a
 * fake clock: one question per address or key, the newest packet kept and
 * handed back with the answer, the negative cache after a 404, expiry of
 * packets and questions, and the bounds a flood of random addresses meets. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../check.h"
#include "daemon/ondemand.h"
#include "wg/messages.h"

#define S 1000000000ull

static struct ondemand od; /* large: not on the stack */

static struct ondemand_query addr6(const char *text)
{
	struct ondemand_query q;
	uint8_t a[16];
	inet_pton(AF_INET6, text, a);
	CHECK_EQ(ondemand_query_address(&q, AF_INET6, a), 0);
	return q;
}

static void test_one_question_newest_packet(void)
{
	uint64_t now = 10 * S;
	uint8_t p1[40] = { 0x60, 1 }, p2[60] = { 0x60, 2 };
	struct ondemand_query q = addr6("fd00::2");
	ondemand_init(&od);
	CHECK(ondemand_want(&od, &q, p1, sizeof(p1), now));
	CHECK(!ondemand_want(&od, &q, p2, sizeof(p2), now + S)); /* in flight: kept, not asked */
	CHECK_EQ(od.in_flight, 1);
	CHECK_EQ(od.stats.asked, 1);
	struct ondemand_packet *pkt = ondemand_answer(&od, &q, ONDEMAND_FOUND, now + 2 * S);
	CHECK(pkt != NULL);
	if (pkt) {
		CHECK_EQ(pkt->len, sizeof(p2)); /* the newest */
		CHECK_EQ(pkt->buf[WG_HEADROOM + 1], 2);
		CHECK(pkt->cap >= WG_HEADROOM + pkt->len + WG_TAILROOM);
		free(pkt);
	}
	CHECK_EQ(od.in_flight, 0);
	/* Found: quiet for a moment, then a new question if it is needed. */
	CHECK(!ondemand_want(&od, &q, p1, sizeof(p1), now + 2 * S));
	CHECK(ondemand_want(&od, &q, p1, sizeof(p1), now + 2 * S + ONDEMAND_FOUND_QUIET_NS));
	/* An answer to nothing asked is ignored. */
	struct ondemand_query other = addr6("fd00::9");
	CHECK(ondemand_answer(&od, &other, ONDEMAND_FOUND, now) == NULL);
	ondemand_free(&od);
}

static void test_negative_cache(void)
{
	uint64_t now = 10 * S;
	uint8_t p[40] = { 0x60 };
	struct ondemand_query q = addr6("fd00::3");
	ondemand_init(&od);
	CHECK(ondemand_want(&od, &q, p, sizeof(p), now));
	CHECK(ondemand_answer(&od, &q, ONDEMAND_NOT_FOUND, now + S) == NULL);
	CHECK(!ondemand_want(&od, &q, p, sizeof(p), now + 2 * S));
	CHECK(!ondemand_want(&od, &q, p, sizeof(p), now + S + ONDEMAND_NEGATIVE_NS - 1));
	CHECK(ondemand_want(&od, &q, p, sizeof(p), now + S + ONDEMAND_NEGATIVE_NS));
	/* A failed request (server down) waits less. */
	uint64_t t = now + S + ONDEMAND_NEGATIVE_NS;
	CHECK(ondemand_answer(&od, &q, ONDEMAND_FAILED, t) == NULL);
	CHECK(!ondemand_want(&od, &q, p, sizeof(p), t + ONDEMAND_FAILED_NS - 1));
	CHECK(ondemand_want(&od, &q, p, sizeof(p), t + ONDEMAND_FAILED_NS));
	CHECK_EQ(od.stats.not_found, 1);
	CHECK_EQ(od.stats.failed, 1);
	ondemand_free(&od);
}

static void test_packet_expires(void)
{
	uint64_t now = 10 * S;
	uint8_t p[40] = { 0x60 };
	struct ondemand_query q = addr6("fd00::4");
	ondemand_init(&od);
	CHECK(ondemand_want(&od, &q, p, sizeof(p), now));
	CHECK_EQ(ondemand_expire(&od, now + S), now + ONDEMAND_HOLD_NS);
	CHECK_EQ(ondemand_expire(&od, now + ONDEMAND_HOLD_NS), now + ONDEMAND_ASK_TIMEOUT_NS);
	CHECK_EQ(od.stats.packets_expired, 1);
	/* A late answer finds the peer but has no packet to send. */
	CHECK(ondemand_answer(&od, &q, ONDEMAND_FOUND, now + ONDEMAND_HOLD_NS + 1) == NULL);
	/* A question never answered (the agent restarted) is forgotten. */
	CHECK(ondemand_want(&od, &q, p, sizeof(p), now + 100 * S));
	CHECK_EQ(ondemand_expire(&od, now + 100 * S + ONDEMAND_ASK_TIMEOUT_NS), UINT64_MAX);
	CHECK_EQ(od.in_flight, 0);
	CHECK(ondemand_want(&od, &q, p, sizeof(p), now + 200 * S));
	/* Too large to keep: asked for all the same. */
	struct ondemand_query q2 = addr6("fd00::5");
	static uint8_t big[ONDEMAND_PACKET_MAX + 1];
	CHECK(ondemand_want(&od, &q2, big, sizeof(big), now + 200 * S));
	CHECK(ondemand_answer(&od, &q2, ONDEMAND_FOUND, now + 200 * S) == NULL);
	ondemand_free(&od);
}

/* Packets to 10 000 random overlay addresses: at most 64 questions asked,
 * a table of 256, the oldest negative entry goes first. */
static void test_flood_bounded(void)
{
	uint64_t now = 10 * S;
	uint8_t p[40] = { 0x60 };
	ondemand_init(&od);
	unsigned asked = 0;
	for (unsigned i = 0; i < 10000; i++) {
		uint8_t a[16] = { 0xfd };
		memcpy(a + 12, &i, sizeof(i));
		struct ondemand_query q;
		ondemand_query_address(&q, AF_INET6, a);
		asked += ondemand_want(&od, &q, p, sizeof(p), now);
	}
	CHECK_EQ(asked, ONDEMAND_IN_FLIGHT_MAX);
	CHECK_EQ(od.in_flight, ONDEMAND_IN_FLIGHT_MAX);
	/* All answered "no": each new address may be asked again, evicting
	 * the oldest negatives once the table is full. */
	for (size_t i = 0; i < ONDEMAND_TABLE_MAX; i++)
		if (od.e[i].state == ONDEMAND_ASKING)
			ondemand_answer(&od, &od.e[i].q, ONDEMAND_NOT_FOUND, now + i);
	CHECK_EQ(od.in_flight, 0);
	asked = 0;
	for (unsigned round = 0; round < 10; round++) {
		for (unsigned i = 0; i < 100; i++) {
			uint8_t a[16] = { 0xfd, 1 };
			unsigned v = round * 100 + i;
			memcpy(a + 12, &v, sizeof(v));
			struct ondemand_query q;
			ondemand_query_address(&q, AF_INET6, a);
			asked += ondemand_want(&od, &q, p, sizeof(p), now + S);
		}
		for (size_t i = 0; i < ONDEMAND_TABLE_MAX; i++)
			if (od.e[i].state == ONDEMAND_ASKING)
				ondemand_answer(&od, &od.e[i].q, ONDEMAND_NOT_FOUND, now + 2 * S);
	}
	CHECK_EQ(asked, 640); /* 64 per round */
	CHECK(od.stats.evicted > 0);
	unsigned used = 0;
	for (size_t i = 0; i < ONDEMAND_TABLE_MAX; i++)
		used += od.e[i].state != ONDEMAND_FREE;
	CHECK_EQ(used, ONDEMAND_TABLE_MAX);
	ondemand_free(&od);
}

static void test_queries(void)
{
	struct ondemand_query q;
	uint8_t key[32], v4[4] = { 100, 64, 0, 7 };
	memset(key, 0xab, sizeof(key));
	ondemand_query_key(&q, key);
	CHECK(ondemand_query_ok(&q));
	CHECK_EQ(ondemand_query_address(&q, AF_INET, v4), 0);
	CHECK(ondemand_query_ok(&q));
	q.bytes[5] = 1; /* past an IPv4 address */
	CHECK(!ondemand_query_ok(&q));
	CHECK_EQ(ondemand_query_address(&q, AF_UNIX, v4), -EINVAL);
	q.kind = 9;
	CHECK(!ondemand_query_ok(&q));
	/* The key and the address are different questions. */
	ondemand_init(&od);
	ondemand_query_key(&q, key);
	CHECK(ondemand_want(&od, &q, NULL, 0, S));
	CHECK(!ondemand_want(&od, &q, NULL, 0, S));
	struct ondemand_query a = addr6("fd00::1");
	CHECK(ondemand_want(&od, &a, NULL, 0, S));
	ondemand_free(&od);
	CHECK(!ondemand_idle(0, ONDEMAND_IDLE_NS - 1, ONDEMAND_IDLE_NS));
	CHECK(ondemand_idle(S, S + ONDEMAND_IDLE_NS, ONDEMAND_IDLE_NS));
	CHECK(!ondemand_idle(5 * S, 4 * S, ONDEMAND_IDLE_NS)); /* used after the sweep began */
}

int main(void)
{
	test_one_question_newest_packet();
	test_negative_cache();
	test_packet_expires();
	test_flood_bounded();
	test_queries();
	return check_report("test_ondemand");
}
