/* Cryptokey routing: longest-prefix match, replacement and removal,
 * checked against a brute-force reference on random tables. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "check.h"
#include "wg/allowedips.h"

static struct wg_peer *P(int n) { return (struct wg_peer *)(uintptr_t)(0x1000 * n); }

static struct wg_peer *lookup4(struct allowedips *t, const char *ip)
{
	uint8_t a[4];
	inet_pton(AF_INET, ip, a);
	return allowedips_lookup(t, AF_INET, a);
}

static struct wg_peer *lookup6(struct allowedips *t, const char *ip)
{
	uint8_t a[16];
	inet_pton(AF_INET6, ip, a);
	return allowedips_lookup(t, AF_INET6, a);
}

static void insert(struct allowedips *t, const char *ip, uint8_t cidr, int peer)
{
	uint8_t a[16];
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
	inet_pton(fam, ip, a);
	CHECK_EQ(allowedips_insert(t, fam, a, cidr, P(peer)), 0);
}

static int count_cb(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	(void)family, (void)addr, (void)cidr;
	(*(int *)ctx)++;
	return 0;
}

static void test_table(void)
{
	struct allowedips t;
	allowedips_init(&t);
	insert(&t, "10.0.0.0", 8, 1);
	insert(&t, "10.1.0.0", 16, 2);
	insert(&t, "10.1.2.3", 32, 3);
	insert(&t, "0.0.0.0", 0, 4);
	insert(&t, "192.168.7.0", 24, 5);
	insert(&t, "10.1.2.0", 24, 6);
	insert(&t, "fd00::", 8, 7);
	insert(&t, "fd00:1::", 32, 8);
	insert(&t, "fd00:1::1", 128, 9);

	struct { const char *ip; int peer; } cases[] = {
		{ "10.9.9.9", 1 }, { "10.1.9.9", 2 }, { "10.1.2.3", 3 }, { "10.1.2.4", 6 },
		{ "11.0.0.1", 4 }, { "192.168.7.200", 5 }, { "192.168.8.1", 4 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(lookup4(&t, cases[i].ip) == P(cases[i].peer));
	CHECK(lookup6(&t, "fd00:1::1") == P(9));
	CHECK(lookup6(&t, "fd00:1::2") == P(8));
	CHECK(lookup6(&t, "fd99::1") == P(7));
	CHECK(lookup6(&t, "2001:db8::1") == NULL);

	/* Re-inserting moves the prefix; non-canonical host bits are masked. */
	insert(&t, "10.1.255.255", 16, 3);
	CHECK(lookup4(&t, "10.1.9.9") == P(3));

	allowedips_remove_peer(&t, P(3));
	CHECK(lookup4(&t, "10.1.2.3") == P(6));
	CHECK(lookup4(&t, "10.1.9.9") == P(1));
	int n = 0;
	allowedips_walk_peer(&t, P(6), count_cb, &n);
	CHECK_EQ(n, 1);
	allowedips_remove_peer(&t, P(4));
	CHECK(lookup4(&t, "11.0.0.1") == NULL);

	uint8_t a[4] = { 0 };
	CHECK(allowedips_insert(&t, AF_INET, a, 33, P(1)) < 0);
	CHECK(allowedips_insert(&t, 99, a, 1, P(1)) < 0);
	allowedips_free(&t);
}

/* Random prefixes vs. a linear longest-match over the same list. */
static void test_random_against_reference(void)
{
	enum { N = 2000, Q = 20000 };
	static uint32_t pfx[N];
	static uint8_t len[N];
	static int owner[N];
	struct allowedips t;
	allowedips_init(&t);
	srand(7);
	for (int i = 0; i < N; i++) {
		len[i] = (uint8_t)(rand() % 33);
		uint32_t mask = len[i] ? ~0u << (32 - len[i]) : 0;
		pfx[i] = ((uint32_t)rand() << 1 ^ (uint32_t)rand()) & mask & 0xff00ffff; /* cluster a bit */
		owner[i] = 1 + rand() % 50;
		uint32_t be = htonl(pfx[i]);
		allowedips_insert(&t, AF_INET, (uint8_t *)&be, len[i], P(owner[i]));
	}
	int mismatches = 0;
	for (int q = 0; q < Q; q++) {
		uint32_t ip = q < N ? pfx[q] | (uint32_t)(rand() & 0xff) : ((uint32_t)rand() << 1) & 0xff00ffff;
		int best = -1, best_len = -1;
		for (int i = 0; i < N; i++) {
			uint32_t mask = len[i] ? ~0u << (32 - len[i]) : 0;
			/* Later inserts of the same prefix win, as in the trie. */
			if ((ip & mask) == pfx[i] && len[i] >= best_len) {
				best = owner[i];
				best_len = len[i];
			}
		}
		uint32_t be = htonl(ip);
		struct wg_peer *got = allowedips_lookup(&t, AF_INET, (uint8_t *)&be);
		if (got != (best < 0 ? NULL : P(best)))
			mismatches++;
	}
	CHECK_EQ(mismatches, 0);
	allowedips_free(&t);
}

int main(void)
{
	test_table();
	test_random_against_reference();
	return check_report("test_allowedips");
}
