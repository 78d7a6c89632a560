/* The console's pure parts, table-driven: the Cookie header parser, the
 * session table (lookup, idle and absolute expiry, logout), the CSRF check,
 * API tokens and the failed-login limit on a real store, the nodes' API
 * route labels, and path reports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "../store_backend.h"
#include "coord/paths_report.h"
#include "crypto/crypto.h"
#include "server/admin/auth.h"
#include "server/admin/stats.h"
#include "server/store.h"

static void test_cookies(void)
{
	static const struct {
		const char *header, *want; /* NULL: not found */
		int r;
	} cases[] = {
		{ "roam_session=abc", "abc", 0 },
		{ "a=b; roam_session=xyz; c=d", "xyz", 0 },
		{ "roam_sessionx=1; roam_session=2", "2", 0 },
		{ "  roam_session=sp  ", "sp", 0 },
		{ "roam_session=", "", 0 },
		{ "xroam_session=1", NULL, -ENOENT },
		{ "", NULL, -ENOENT },
		{ "roam_session=0123456789", NULL, -E2BIG }, /* longer than the buffer below */
	};
	char out[8];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = admin_cookie_find(cases[i].header, ADMIN_COOKIE_NAME, out, sizeof(out));
		CHECK_EQ(r, cases[i].r);
		if (cases[i].want && r == 0)
			CHECK(strcmp(out, cases[i].want) == 0);
	}
}

static void test_sessions(struct store *st)
{
	static struct admin_auth a; /* large: not on the stack */
	char hash[STORE_ADMIN_HASH_MAX + 1], cookie[ADMIN_SECRET_B64_LEN + 1], cookie2[ADMIN_SECRET_B64_LEN + 1];
	struct admin_session *s, *s2;
	uint32_t id;

	CHECK_EQ(admin_password_hash("short", hash), -EINVAL);
	CHECK_EQ(admin_password_hash("a good long password", hash), 0);
	CHECK_EQ(store_admin_add(st, "alice", hash, 100, &id), 0);
	CHECK_EQ(admin_login(&a, st, "192.0.2.1", "alice", "wrong password!", 1000, &s, cookie), -EACCES);
	CHECK_EQ(admin_login(&a, st, "192.0.2.1", "nobody", "a good long password", 1000, &s, cookie), -EACCES);
	CHECK_EQ(admin_login(&a, st, "192.0.2.1", "alice", "a good long password", 1000, &s, cookie), 0);
	CHECK(strlen(cookie) == ADMIN_SECRET_B64_LEN && strcmp(s->admin, "alice") == 0);
	CHECK(admin_session_find(&a, cookie, 1001) == s);
	CHECK(admin_csrf_ok(s, s->csrf));
	CHECK(!admin_csrf_ok(s, "x"));
	CHECK(!admin_csrf_ok(s, NULL));
	CHECK(admin_session_find(&a, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1001) == NULL);
	/* idle: ended after ADMIN_SESSION_IDLE_S unused */
	CHECK(admin_session_find(&a, cookie, 1001 + ADMIN_SESSION_IDLE_S) == NULL);
	CHECK_EQ(admin_login(&a, st, "192.0.2.1", "alice", "a good long password", 5000, &s, cookie), 0);
	CHECK_EQ(admin_login(&a, st, "192.0.2.9", "alice", "a good long password", 5001, &s2, cookie2), 0);
	CHECK(s != s2 && strcmp(cookie, cookie2) != 0);
	admin_session_end(s); /* logout: that one only */
	CHECK(admin_session_find(&a, cookie, 5002) == NULL);
	CHECK(admin_session_find(&a, cookie2, 5002) == s2);
	/* absolute: ended after ADMIN_SESSION_MAX_S even when used */
	for (int64_t t = 5002; t < 5001 + ADMIN_SESSION_MAX_S; t += ADMIN_SESSION_IDLE_S / 2)
		CHECK(admin_session_find(&a, cookie2, t) == s2);
	CHECK(admin_session_find(&a, cookie2, 5001 + ADMIN_SESSION_MAX_S) == NULL);

	/* the limit: ADMIN_LOGIN_FAILURES_MAX failures, then even the right one waits ... */
	for (int i = 0; i < ADMIN_LOGIN_FAILURES_MAX; i++)
		CHECK_EQ(admin_login(&a, st, "198.51.100.7", "alice", "wrong password!", 90000 + i / 2, &s, cookie), -EACCES);
	CHECK_EQ(admin_login(&a, st, "198.51.100.7", "alice", "a good long password", 90010, &s, cookie), -EAGAIN);
	/* ... from that address only, and until the window ends */
	CHECK_EQ(admin_login(&a, st, "198.51.100.8", "alice", "a good long password", 90011, &s, cookie), 0);
	CHECK_EQ(admin_login(&a, st, "198.51.100.7", "alice", "a good long password", 90000 + ADMIN_LOGIN_WINDOW_S, &s,
			     cookie), 0);
	/* at most ADMIN_LOGIN_CHECKS_PER_S password checks a second, in all */
	for (int i = 0; i < ADMIN_LOGIN_CHECKS_PER_S; i++) {
		char src[32];
		snprintf(src, sizeof(src), "203.0.113.%d", i);
		CHECK_EQ(admin_login(&a, st, src, "alice", "wrong password!", 99999, &s, cookie), -EACCES);
	}
	CHECK_EQ(admin_login(&a, st, "203.0.113.200", "alice", "a good long password", 99999, &s, cookie), -EAGAIN);
}

static void test_tokens(struct store *st)
{
	char token[ADMIN_TOKEN_STRLEN + 1], bad[ADMIN_TOKEN_STRLEN + 1];
	struct store_admin who, alice;
	uint32_t id;

	CHECK_EQ(store_admin_by_name(st, "alice", &alice), 0);
	CHECK_EQ(admin_token_create(st, alice.id, 100, token, &id), 0);
	CHECK_EQ(strncmp(token, ADMIN_TOKEN_PREFIX, strlen(ADMIN_TOKEN_PREFIX)), 0);
	CHECK_EQ(admin_token_check(st, token, &who), 0);
	CHECK(strcmp(who.name, "alice") == 0);
	memcpy(bad, token, sizeof(bad));
	bad[ADMIN_TOKEN_STRLEN - 2] = bad[ADMIN_TOKEN_STRLEN - 2] == 'A' ? 'B' : 'A';
	CHECK_EQ(admin_token_check(st, bad, &who), -EACCES);
	CHECK_EQ(admin_token_check(st, "roamadm1.short", &who), -EACCES);
	CHECK_EQ(admin_token_check(st, "", &who), -EACCES);
	CHECK_EQ(store_admin_token_revoke(st, id), 0);
	CHECK_EQ(admin_token_check(st, token, &who), -EACCES);
	CHECK_EQ(store_admin_token_revoke(st, id + 100), -ENOENT);
	/* removing an admin ends their tokens */
	CHECK_EQ(admin_token_create(st, alice.id, 100, token, &id), 0);
	CHECK_EQ(store_admin_remove(st, alice.id), 0);
	CHECK_EQ(admin_token_check(st, token, &who), -EACCES);
}

static void test_routes(void)
{
	static const struct {
		const char *target;
		enum node_route want;
	} cases[] = {
		{ "/v1/register", NODE_ROUTE_REGISTER }, { "/v1/endpoints?x=1", NODE_ROUTE_ENDPOINTS },
		{ "/v1/paths", NODE_ROUTE_PATHS },       { "/v1/relay/poll/send?ack=1", NODE_ROUTE_RELAY },
		{ "/v1/stream", NODE_ROUTE_STREAM },     { "/v1/registerx", NODE_ROUTE_OTHER },
		{ "/v2/register", NODE_ROUTE_OTHER },    { "", NODE_ROUTE_OTHER },
		{ NULL, NODE_ROUTE_OTHER },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_EQ(node_route_of(cases[i].target), cases[i].want);
}

static void test_paths_report(void)
{
	static struct coord_paths_report r, back;
	static const char *const bad[] = {
		"", "[]", "{\"paths\":{}}", "{\"paths\":[{\"peer\":\"x\",\"path\":\"direct\"}]}",
		"{\"paths\":[{\"peer\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"path\":\"warp\"}]}",
		"{\"paths\":[{\"peer\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"path\":\"direct\",\"rtt_ms\":-1}]}",
		"{\"paths\":[{\"peer\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"path\":\"relayed\",\"transport\":\"pigeon\"}]}",
		"{\"paths\":[{\"peer\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"path\":\"relayed\",\"transport\":\"tls-relay\",\"relay\":256}]}",
		"{\"paths\":[{\"peer\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"path\":\"relayed\",\"transport\":\"tls-relay\",\"active_s\":-3}]}",
	};
	char *text;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(coord_paths_report_parse(bad[i], strlen(bad[i]), &r), -EINVAL);
	memset(&r, 0, sizeof(r));
	r.count = 2;
	memset(r.e[0].peer, 7, COORD_KEY_LEN);
	r.e[0].path = COORD_PATH_DIRECT;
	r.e[0].rtt_ms = 12;
	memset(r.e[1].peer, 9, COORD_KEY_LEN);
	r.e[1].path = COORD_PATH_RELAYED;
	r.e[1].transport = COORD_TRANSPORT_WS_RELAY;
	r.e[1].relay = 2;
	r.e[1].active_s = 3600;
	text = coord_paths_report_to_json(&r);
	CHECK(text != NULL);
	if (!text)
		return; /* counted as failed above */
	CHECK_EQ(coord_paths_report_parse(text, strlen(text), &back), 0);
	CHECK_EQ(back.count, 2);
	CHECK_MEM(back.e[0].peer, r.e[0].peer, COORD_KEY_LEN);
	CHECK_EQ(back.e[0].path, COORD_PATH_DIRECT);
	CHECK_EQ(back.e[0].rtt_ms, 12);
	CHECK_EQ(back.e[1].path, COORD_PATH_RELAYED);
	CHECK_EQ(back.e[0].transport, COORD_TRANSPORT_UNKNOWN); /* an older node's entry */
	CHECK_EQ(back.e[1].transport, COORD_TRANSPORT_WS_RELAY);
	CHECK_EQ(back.e[1].relay, 2);
	CHECK_EQ(back.e[1].active_s, 3600);
	CHECK(strcmp(coord_path_transport_name(COORD_TRANSPORT_POLL_RELAY), "long-poll-relay") == 0);
	free(text);
	/* one more than the cap: refused whole */
	r.count = COORD_PATHS_REPORT_MAX;
	for (size_t i = 0; i < r.count; i++)
		r.e[i] = r.e[0];
	text = coord_paths_report_to_json(&r);
	CHECK_EQ(coord_paths_report_parse(text, strlen(text), &back), 0);
	free(text);
}

int main(void)
{
	char dir[] = "/tmp/roam-test-admin-XXXXXX", path[64], extra[80];
	struct store *st;

	if (crypto_init() < 0 || !mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/state.db", dir);
	test_cookies();
	test_routes();
	test_paths_report();
	CHECK_EQ(test_store_prepare(path), 0);
	CHECK_EQ(store_open(path, true, &st), 0);
	test_sessions(st);
	test_tokens(st);
	store_close(st);
	unlink(path);
	snprintf(extra, sizeof(extra), "%s-wal", path);
	unlink(extra);
	snprintf(extra, sizeof(extra), "%s-shm", path);
	unlink(extra);
	snprintf(extra, sizeof(extra), "%s/store.url", dir);
	unlink(extra);
	rmdir(dir);
	return check_report("test_admin");
}
