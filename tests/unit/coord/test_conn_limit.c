/* roam-server's connection admission (server/conn_limit.c) with fake
 * addresses and fake randomness, and the log-line limiter
 * (lib/util/log_limit.c) with a fake clock. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "../check.h"
#include "server/conn_limit.h"
#include "util/log_limit.h"

static const uint8_t hash_key[16] = { 1, 2, 3 };

/* The source of a peer at address text (IPv4 or IPv6). */
static struct conn_source src_of(const char *text)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in sa4 = { .sin_family = AF_INET };
	struct sockaddr *sa = (struct sockaddr *)&sa4;
	struct conn_source src;

	if (inet_pton(AF_INET, text, &sa4.sin_addr) != 1) {
		CHECK_EQ(inet_pton(AF_INET6, text, &sa6.sin6_addr), 1);
		sa = (struct sockaddr *)&sa6;
	}
	CHECK_EQ(conn_source_from_sockaddr(sa, &src), 0);
	return src;
}

/* An IPv6 /64 is one source; an IPv4 address is one, seen directly or
 * mapped on the dual-stack socket. */
static void test_sources(void)
{
	struct conn_source a = src_of("2001:db8:1:2::1"), b = src_of("2001:db8:1:2:ffff::9"),
			   c = src_of("2001:db8:1:3::1"), d = src_of("198.51.100.7"), e = src_of("::ffff:198.51.100.7"),
			   f = src_of("198.51.100.8");
	struct sockaddr unix_sa = { .sa_family = AF_UNIX };
	char text[64];

	CHECK_MEM(a.key, b.key, 16);
	CHECK(memcmp(a.key, c.key, 16) != 0);
	CHECK_MEM(d.key, e.key, 16);
	CHECK(memcmp(d.key, f.key, 16) != 0);
	CHECK_EQ(conn_source_from_sockaddr(&unix_sa, &a), -EAFNOSUPPORT);
	conn_source_format(&d, text, sizeof(text));
	CHECK(strcmp(text, "198.51.100.7") == 0);
	conn_source_format(&c, text, sizeof(text));
	CHECK(strcmp(text, "2001:db8:1:3::/64") == 0);
}

static void test_per_source_and_total(void)
{
	struct conn_limit_config cfg = { .max_conns = 10, .max_per_source = 3, .startups_start = 100,
					 .startups_rate = 30, .startups_full = 100 };
	struct conn_limit l;
	struct conn_source a = src_of("10.0.0.1"), srcs[10];
	char addr[32];

	CHECK_EQ(conn_limit_init(&l, &cfg, hash_key), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(conn_limit_admit(&l, &a, 0), CONN_ADMIT);
	CHECK_EQ(conn_limit_admit(&l, &a, 0), CONN_REFUSE_SOURCE);
	CHECK_EQ(conn_limit_source_count(&l, &a), 3);
	conn_limit_release(&l, &a, false);
	CHECK_EQ(conn_limit_admit(&l, &a, 0), CONN_ADMIT);
	/* Fill to the total cap from other sources. */
	for (int i = 0; i < 7; i++) {
		snprintf(addr, sizeof(addr), "10.0.1.%d", i);
		srcs[i] = src_of(addr);
		CHECK_EQ(conn_limit_admit(&l, &srcs[i], 0), CONN_ADMIT);
	}
	CHECK_EQ(l.total, 10);
	CHECK_EQ(l.sources, 8);
	snprintf(addr, sizeof(addr), "10.0.2.1");
	srcs[9] = src_of(addr);
	CHECK_EQ(conn_limit_admit(&l, &srcs[9], 0), CONN_REFUSE_TOTAL);
	CHECK_EQ(l.refused[CONN_REFUSE_TOTAL], 1);
	CHECK_EQ(l.refused[CONN_REFUSE_SOURCE], 1);
	/* Everyone leaves: the table is empty again, lookups still work. */
	for (int i = 0; i < 7; i++)
		conn_limit_release(&l, &srcs[i], false);
	for (int i = 0; i < 3; i++)
		conn_limit_release(&l, &a, false);
	CHECK_EQ(l.total, 0);
	CHECK_EQ(l.sources, 0);
	CHECK_EQ(l.unauthenticated, 0);
	conn_limit_release(&l, &a, false); /* never admitted: ignored */
	CHECK_EQ(l.total, 0);
	conn_limit_free(&l);
}

/* Many sources in a small table: insert and delete in mixed order keeps
 * every count right (the backward-shift delete of linear probing). */
static void test_table_churn(void)
{
	struct conn_limit_config cfg = { .max_conns = 200, .max_per_source = 2, .startups_start = 1000,
					 .startups_rate = 0, .startups_full = 1000 };
	struct conn_source s[200];
	struct conn_limit l;
	char addr[48];

	CHECK_EQ(conn_limit_init(&l, &cfg, hash_key), 0);
	for (int i = 0; i < 200; i++) {
		snprintf(addr, sizeof(addr), "2001:db8:%x::1", i);
		s[i] = src_of(addr);
		CHECK_EQ(conn_limit_admit(&l, &s[i], 0), CONN_ADMIT);
	}
	for (int i = 0; i < 200; i += 3)
		conn_limit_release(&l, &s[i], false);
	for (int i = 0; i < 200; i++)
		CHECK_EQ(conn_limit_source_count(&l, &s[i]), i % 3 ? 1 : 0);
	for (int i = 0; i < 200; i++)
		if (i % 3)
			conn_limit_release(&l, &s[i], false);
	CHECK_EQ(l.sources, 0);
	CHECK_EQ(l.total, 0);
	conn_limit_free(&l);
}

/* MaxStartups 10:30:20: below 10 unauthenticated all pass, at 20 none, in
 * between the drop rate rises from 30%; authenticated connections (promoted)
 * leave the count and are never dropped for it. */
static void test_startups(void)
{
	struct conn_limit_config cfg = { .max_conns = 1000, .max_per_source = 1000 };
	struct conn_limit l;
	struct conn_source a = src_of("192.0.2.1");
	unsigned dropped = 0;

	CHECK_EQ(conn_limit_parse_startups("10:30:20", &cfg), 0);
	CHECK_EQ(cfg.startups_start, 10);
	CHECK_EQ(cfg.startups_rate, 30);
	CHECK_EQ(cfg.startups_full, 20);
	CHECK_EQ(conn_limit_init(&l, &cfg, hash_key), 0);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(conn_limit_admit(&l, &a, 99999), CONN_ADMIT); /* "unluckiest" draw */
	/* At start: 30% drop: draws below 30000 of 100000 drop. */
	CHECK_EQ(conn_limit_admit(&l, &a, 29999), CONN_REFUSE_STARTUPS);
	CHECK_EQ(conn_limit_admit(&l, &a, 30000), CONN_ADMIT);
	/* 11 unauthenticated: 30 + 70 * 1/10 = 37%. */
	CHECK_EQ(conn_limit_admit(&l, &a, 36999), CONN_REFUSE_STARTUPS);
	CHECK_EQ(conn_limit_admit(&l, &a, 37000), CONN_ADMIT);
	/* A uniform draw at 15 unauthenticated (65%) drops about 65 of 100. */
	while (l.unauthenticated < 15)
		CHECK_EQ(conn_limit_admit(&l, &a, 99999), CONN_ADMIT);
	for (uint32_t r = 0; r < 100000; r += 1000) {
		if (conn_limit_admit(&l, &a, r) == CONN_ADMIT)
			conn_limit_release(&l, &a, false);
		else
			dropped++;
	}
	CHECK_EQ(dropped, 65);
	while (l.unauthenticated < 20)
		CHECK_EQ(conn_limit_admit(&l, &a, 99999), CONN_ADMIT);
	CHECK_EQ(conn_limit_admit(&l, &a, 99999), CONN_REFUSE_STARTUPS);
	/* Ten of them authenticate as nodes: room for new ones again, and the
	 * nodes' connections stay counted in total. */
	for (int i = 0; i < 10; i++)
		conn_limit_promote(&l);
	CHECK_EQ(l.unauthenticated, 10);
	CHECK_EQ(l.total, 20);
	CHECK_EQ(conn_limit_admit(&l, &a, 30000), CONN_ADMIT);
	conn_limit_release(&l, &a, true);
	CHECK_EQ(l.unauthenticated, 11);
	CHECK_EQ(l.total, 20);
	conn_limit_free(&l);
}

static void test_config(void)
{
	struct conn_limit_config cfg = { 0 };

	CHECK_EQ(conn_limit_config_complete(&cfg, 20000), 0);
	CHECK_EQ(cfg.max_conns, 20000 - CONN_LIMIT_FD_RESERVE);
	CHECK_EQ(cfg.max_per_source, CONN_LIMIT_PER_SOURCE_DEFAULT);
	CHECK_EQ(cfg.startups_full, cfg.max_conns / 2);
	CHECK_EQ(cfg.startups_start, cfg.max_conns / 4);
	CHECK_EQ(cfg.startups_rate, CONN_LIMIT_STARTUPS_RATE_DEFAULT);
	cfg = (struct conn_limit_config){ 0 };
	CHECK_EQ(conn_limit_config_complete(&cfg, 50), -EMFILE);
	cfg = (struct conn_limit_config){ .max_conns = 100, .max_per_source = 500 };
	CHECK_EQ(conn_limit_config_complete(&cfg, 1024), 0);
	CHECK_EQ(cfg.max_per_source, 100);
	CHECK_EQ(conn_limit_parse_startups("5", &cfg), 0);
	CHECK_EQ(cfg.startups_start, 5);
	CHECK_EQ(cfg.startups_rate, 100);
	CHECK_EQ(cfg.startups_full, 5);
	CHECK_EQ(conn_limit_parse_startups("20:30:10", &cfg), -EINVAL); /* start > full */
	CHECK_EQ(conn_limit_parse_startups("10:101:20", &cfg), -EINVAL);
	CHECK_EQ(conn_limit_parse_startups("10:30", &cfg), -EINVAL);
	CHECK_EQ(conn_limit_parse_startups("10:30:20:", &cfg), -EINVAL);
	CHECK_EQ(conn_limit_parse_startups("-1:30:20", &cfg), -EINVAL);
	CHECK_EQ(conn_limit_parse_startups("", &cfg), -EINVAL);
	CHECK_EQ(cfg.startups_start, 5); /* unchanged by the failures */
}

/* At most 10 lines per 10 s; the first one let through afterwards says how
 * many were held back. */
static void test_log_limit(void)
{
	struct log_limit l = { 0 };
	uint32_t held = 99;
	unsigned printed = 0;

	for (int i = 0; i < 1000; i++)
		printed += log_limit_allow(&l, 5000 + (uint64_t)i, 10, 10000, &held);
	CHECK_EQ(printed, 10);
	CHECK_EQ(held, 0);
	CHECK(!log_limit_allow(&l, 14999, 10, 10000, &held));
	CHECK(log_limit_allow(&l, 15000, 10, 10000, &held));
	CHECK_EQ(held, 991);
	CHECK(log_limit_allow(&l, 15001, 10, 10000, &held));
	CHECK_EQ(held, 0);
}

int main(void)
{
	test_sources();
	test_per_source_and_total();
	test_table_churn();
	test_startups();
	test_config();
	test_log_limit();
	return check_report("test_conn_limit");
}
