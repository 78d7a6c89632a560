/* Views as deltas: server/view.c (versions, the removal log and its floor)
 * and the stream lines that carry versions (lib/coord/json_stream.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "coord/json.h"
#include "server/view.h"

static char g_got[COORD_VIEW_VERSION_MAX + 1];
static int g_peers;

static int on_view(void *ctx, const char *version)
{
	(void)ctx;
	snprintf(g_got, sizeof(g_got), "%s", version);
	return 0;
}

static int on_peer(void *ctx, const struct coord_peer *p, bool full)
{
	(void)ctx, (void)p, (void)full;
	g_peers++;
	return 0;
}

static uint32_t g_goodbye;

static int on_goodbye(void *ctx, uint32_t ms)
{
	(void)ctx;
	g_goodbye = ms;
	return 0;
}

static const struct coord_stream_handler h = { .view = on_view, .peer = on_peer, .goodbye = on_goodbye };

static void count_removal(void *ctx, const struct view_removal *r)
{
	(void)r;
	(*(size_t *)ctx)++;
}

static void test_versions(void)
{
	struct srv_view v, other;
	char text[COORD_VIEW_VERSION_MAX + 1];
	uint64_t since = 0, s1;
	uint8_t key[COORD_KEY_LEN] = { 1 };
	uint32_t groups[] = { 3, 7 };
	size_t n = 0;

	CHECK(view_init(&v) == 0);
	CHECK(view_init(&other) == 0);
	s1 = view_next(&v);
	view_format(&v, s1, text, sizeof(text));
	CHECK(coord_view_version_valid(text));
	CHECK(view_parse_since(&v, text, &since) && since == s1);
	CHECK(!view_parse_since(&other, text, &since)); /* another run */
	view_format(&v, v.seq + 1, text, sizeof(text));
	CHECK(!view_parse_since(&v, text, &since)); /* not issued yet */
	CHECK(!view_parse_since(&v, "zz.1", &since));
	CHECK(!view_parse_since(&v, "12", &since));
	CHECK(!view_parse_since(&v, "", &since));
	CHECK(!view_parse_since(&v, NULL, &since));
	CHECK(!view_parse_since(&v, "11111111111111111.1", &since)); /* 17 hex digits */

	/* The log: removals after a version, oldest first. */
	view_log_removal(&v, key, groups, 2);
	view_foreach_removal(&v, s1, count_removal, &n);
	CHECK_EQ(n, 1);
	n = 0;
	view_foreach_removal(&v, v.seq, count_removal, &n);
	CHECK_EQ(n, 0);
	/* Full: the oldest are forgotten, and versions before them void. */
	view_format(&v, s1, text, sizeof(text));
	for (size_t i = 0; i < VIEW_LOG_MAX; i++)
		view_log_removal(&v, key, groups, 2);
	CHECK_EQ(v.count, VIEW_LOG_MAX);
	CHECK(!view_parse_since(&v, text, &since));
	view_format(&v, v.seq, text, sizeof(text));
	CHECK(view_parse_since(&v, text, &since));
	n = 0;
	view_foreach_removal(&v, v.floor, count_removal, &n);
	CHECK_EQ(n, VIEW_LOG_MAX); /* all after the floor (the evicted one's seq) */
	view_reset_all(&v);
	CHECK(!view_parse_since(&v, text, &since));
	view_free(&v);
	view_free(&other);
}

static void test_lines(void)
{
	static const char peer_json[] = "{\"node_id\":8,\"name\":\"phone\",\"public_key\":"
					"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=\",\"ipv6\":\"fd00::8/128\","
					"\"ipv4\":\"100.64.0.8/32\","
					"\"public_endpoint\":null,\"private_endpoints\":[],\"nat\":false,"
					"\"online\":false,\"last_seen\":0}";
	char *line = coord_line_peer_at(peer_json, "1f.2a");

	CHECK(line != NULL);
	g_got[0] = '\0';
	g_peers = 0;
	CHECK(line && coord_stream_line_parse(line, strlen(line), &h, NULL) == 0);
	CHECK(g_peers == 1 && strcmp(g_got, "1f.2a") == 0);
	free(line);
	line = coord_line_view("1f.2b");
	CHECK(line && coord_stream_line_parse(line, strlen(line), &h, NULL) == 0 && strcmp(g_got, "1f.2b") == 0);
	free(line);
	/* A plain peer line (an older server): no version, fine. */
	line = coord_line_peer(peer_json);
	g_got[0] = '\0';
	CHECK(line && coord_stream_line_parse(line, strlen(line), &h, NULL) == 0 && !g_got[0]);
	free(line);
	CHECK(coord_line_peer_at(peer_json, "X.1") == NULL);
	CHECK(coord_line_view("") == NULL);
	/* Bad versions are refused, and the peer with them (all or nothing). */
	g_peers = 0;
	const char *bad[] = {
		"{\"type\":\"view\"}",
		"{\"type\":\"view\",\"version\":12}",
		"{\"type\":\"view\",\"version\":\"1.2\\\"\"}",
		"{\"type\":\"view\",\"version\":\"AB.1\"}",
		"{\"type\":\"view\",\"version\":\"0123456789abcdef0123456789abcdef012345678\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(coord_stream_line_parse(bad[i], strlen(bad[i]), &h, NULL) == -EINVAL);
	char buf[1024];
	snprintf(buf, sizeof(buf), "{\"type\":\"peer\",\"peer\":%s,\"view\":\"G\"}", peer_json);
	CHECK(coord_stream_line_parse(buf, strlen(buf), &h, NULL) == -EINVAL && g_peers == 0);
}

static void test_goodbye(void)
{
	char *line = coord_line_goodbye(1234);
	static const char *bad[] = {
		"{\"type\":\"goodbye\"}",
		"{\"type\":\"goodbye\",\"retry_after_ms\":-1}",
		"{\"type\":\"goodbye\",\"retry_after_ms\":\"5\"}",
		"{\"type\":\"goodbye\",\"retry_after_ms\":600001}",
	};

	CHECK(line && coord_stream_line_parse(line, strlen(line), &h, NULL) == 0 && g_goodbye == 1234);
	free(line);
	line = coord_line_goodbye(UINT32_MAX); /* capped */
	CHECK(line && coord_stream_line_parse(line, strlen(line), &h, NULL) == 0 && g_goodbye == COORD_GOODBYE_MAX_MS);
	free(line);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(coord_stream_line_parse(bad[i], strlen(bad[i]), &h, NULL) == -EINVAL);
}

int main(void)
{
	test_goodbye();
	test_versions();
	test_lines();
	return check_report("test_view");
}
