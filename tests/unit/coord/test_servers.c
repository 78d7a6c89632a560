/* The servers line of a node's stream and the failover choice
 * (lib/coord/servers.c, json_stream.c): the list is deduplicated and
 * capped, bad URLs refused, and the next server is never the dead one;
 * servers gone for good are pruned, on a clock of our making. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "coord/json.h"
#include "coord/servers.h"

static struct coord_servers got;
static int calls;

static int on_servers(void *ctx, const struct coord_servers *l)
{
	(void)ctx;
	got = *l;
	calls++;
	return 0;
}

static void test_choice(void)
{
	struct coord_servers l = { 0 };
	CHECK(coord_servers_next(&l, "https://a:1") == NULL);
	CHECK(coord_servers_add(&l, "https://a:1") == 0);
	CHECK(coord_servers_next(&l, "https://a:1") == NULL); /* only the dead one */
	CHECK(strcmp(coord_servers_next(&l, "https://z:9"), "https://a:1") == 0);
	CHECK(coord_servers_add(&l, "https://b:2") == 0);
	CHECK(coord_servers_add(&l, "https://a:1") == 0); /* again: kept once */
	CHECK(l.count == 2);
	CHECK(coord_servers_add(&l, "https://c:3") == 0);
	CHECK(strcmp(coord_servers_next(&l, "https://a:1"), "https://b:2") == 0);
	CHECK(strcmp(coord_servers_next(&l, "https://b:2"), "https://c:3") == 0);
	CHECK(strcmp(coord_servers_next(&l, "https://c:3"), "https://a:1") == 0); /* wraps */
	CHECK(coord_servers_add(&l, "http://d:4") == -EINVAL);
	CHECK(coord_servers_add(&l, "https://") == -EINVAL);
	CHECK(coord_servers_add(&l, "https://e f") == -EINVAL);
	char longurl[COORD_SERVER_URL_MAX + 8];
	memset(longurl, 'x', sizeof(longurl) - 1);
	memcpy(longurl, "https://", 8);
	longurl[sizeof(longurl) - 1] = '\0';
	CHECK(coord_servers_add(&l, longurl) == -EINVAL);
	for (int i = 0; i < 20; i++) {
		char u[32];
		snprintf(u, sizeof(u), "https://n%d", i);
		int r = coord_servers_add(&l, u);
		CHECK(r == 0 || r == -ENOSPC);
	}
	CHECK(l.count == COORD_SERVERS_MAX);
}

static void test_line(void)
{
	const struct coord_stream_handler h = { .servers = on_servers };
	const char *good = "{\"type\":\"servers\",\"servers\":[\"https://a:1\",\"https://b:2\",\"https://a:1\"]}";
	CHECK(coord_stream_line_parse(good, strlen(good), &h, NULL) == 0);
	CHECK(calls == 1 && got.count == 2 && strcmp(got.url[1], "https://b:2") == 0);
	const char *bad[] = {
		"{\"type\":\"servers\"}",
		"{\"type\":\"servers\",\"servers\":\"https://a:1\"}",
		"{\"type\":\"servers\",\"servers\":[1]}",
		"{\"type\":\"servers\",\"servers\":[\"ftp://a\"]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(coord_stream_line_parse(bad[i], strlen(bad[i]), &h, NULL) == -EINVAL);
	CHECK(calls == 1);
	/* Too many: the first COORD_SERVERS_MAX are kept, not an error. */
	char line[1024] = "{\"type\":\"servers\",\"servers\":[";
	for (int i = 0; i < 12; i++) {
		char u[32];
		snprintf(u, sizeof(u), "%s\"https://s%d\"", i ? "," : "", i);
		strcat(line, u);
	}
	strcat(line, "]}");
	CHECK(coord_stream_line_parse(line, strlen(line), &h, NULL) == 0);
	CHECK(calls == 2 && got.count == COORD_SERVERS_MAX);
	char *out = coord_line_servers(&got);
	CHECK(out != NULL);
	if (!out)
		return;
	struct coord_servers before = got;
	CHECK(coord_stream_line_parse(out, strlen(out), &h, NULL) == 0);
	CHECK(memcmp(&before, &got, sizeof(got)) == 0);
	free(out);
}

static struct coord_servers three(void)
{
	struct coord_servers l = { 0 };
	CHECK(coord_servers_add(&l, "https://a:1") == 0);
	CHECK(coord_servers_add(&l, "https://b:2") == 0);
	CHECK(coord_servers_add(&l, "https://c:3") == 0);
	return l;
}

static void test_prune(void)
{
	const int64_t day = COORD_SERVER_GONE_S, t0 = 1000;
	const bool b_dead[3] = { true, false, true }, all_dead[3] = { false, false, false };
	const bool all_alive[3] = { true, true, true };
	struct coord_servers_missing m = { 0 };
	struct coord_servers l = three();

	/* b missing: kept for a day less a second, gone at a day */
	CHECK(coord_servers_prune(&l, b_dead, &m, "https://a:1", t0, day) == 0);
	CHECK(l.count == 3 && m.count == 1);
	CHECK(coord_servers_prune(&l, b_dead, &m, "https://a:1", t0 + day - 1, day) == 0);
	CHECK(coord_servers_prune(&l, b_dead, &m, "https://a:1", t0 + day, day) == 1);
	CHECK(l.count == 2 && strcmp(l.url[0], "https://a:1") == 0 && strcmp(l.url[1], "https://c:3") == 0);
	CHECK(m.count == 0);

	/* back in between: the day starts again */
	l = three();
	CHECK(coord_servers_prune(&l, b_dead, &m, NULL, t0, day) == 0);
	CHECK(coord_servers_prune(&l, all_alive, &m, NULL, t0 + day / 2, day) == 0);
	CHECK(m.count == 0);
	CHECK(coord_servers_prune(&l, b_dead, &m, NULL, t0 + day, day) == 0);
	CHECK(coord_servers_prune(&l, b_dead, &m, NULL, t0 + 2 * day - 1, day) == 0);
	CHECK(l.count == 3);
	CHECK(coord_servers_prune(&l, b_dead, &m, NULL, t0 + 2 * day, day) == 1);

	/* never ourselves, even without a session (the store was away) */
	l = three();
	memset(&m, 0, sizeof(m));
	CHECK(coord_servers_prune(&l, all_dead, &m, "https://c:3", t0, day) == 0);
	CHECK(coord_servers_prune(&l, all_dead, &m, "https://c:3", t0 + day, day) == 2);
	CHECK(l.count == 1 && strcmp(l.url[0], "https://c:3") == 0);

	/* never the last one (a server run without --public-url sees them all go) */
	l = three();
	memset(&m, 0, sizeof(m));
	CHECK(coord_servers_prune(&l, all_dead, &m, NULL, t0, day) == 0);
	CHECK(coord_servers_prune(&l, all_dead, &m, NULL, t0 + day, day) == 2);
	CHECK(l.count == 1 && strcmp(l.url[0], "https://c:3") == 0);
	CHECK(coord_servers_prune(&l, all_dead, &m, NULL, t0 + 9 * day, day) == 0);
	CHECK(l.count == 1);
}

int main(void)
{
	test_choice();
	test_prune();
	test_line();
	return check_report("test_servers");
}
