/* The servers line of a node's stream and the failover choice
 * (lib/coord/servers.c, json_stream.c): the list is deduplicated and
 * capped, bad URLs refused, and the next server is never the dead one. */
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

int main(void)
{
	test_choice();
	test_line();
	return check_report("test_servers");
}
