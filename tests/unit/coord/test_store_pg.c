/* The PostgreSQL backend (run by pg_cluster.sh): store_open() picks it from
 * a URL or a store.url beside the state path; a change committed by another
 * connection moves store_data_version(), one's own does not; the event log;
 * a lost connection is re-opened; a schema from the future is refused; the
 * connection string's password never reaches an error message; ticket
 * serials of two servers in one order (server/ticket_serials.h); the
 * files' ciphertext in pieces (server/files/blob_store.h), a piece counted
 * only at the row's received, and the step to schema 7 that adds them. */
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"
#include "../store_backend.h"
#include "crypto/crypto.h"
#include "server/files/blob_store.h"
#include "server/files/index.h"
#include "server/store.h"
#include "server/ticket_serials.h"

static char dir[] = "/tmp/roam-store-pg-XXXXXX";

/* A statement on a connection of our own (the test's, not the store's). */
static int admin_sql(const char *info, const char *sql)
{
	PGconn *c = PQconnectdb(info);
	PGresult *res = PQexec(c, sql);
	int r = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -1;

	PQclear(res);
	PQfinish(c);
	return r;
}

/* Waits (at most 3 s) for st's data version to differ from v. */
static int64_t version_after(struct store *st, int64_t v)
{
	int64_t now = v;

	for (int i = 0; i < 300 && now == v; i++) {
		if (store_data_version(st, &now) < 0)
			return -1;
		if (now == v)
			usleep(10000);
	}
	return now;
}

static void test_notifications(const char *path)
{
	struct store *a, *b;
	int64_t va = 0, vb = 0, v;
	uint32_t g;

	CHECK_EQ(store_open(path, false, &a), 0);
	CHECK_EQ(store_open(path, false, &b), 0);
	CHECK_EQ(store_data_version(a, &va), 0);
	CHECK_EQ(store_data_version(b, &vb), 0);
	CHECK_EQ(store_group_create(a, "from-a", &g), 0); /* a's own change: a does not move */
	CHECK(version_after(b, vb) != vb);
	usleep(100000);
	CHECK_EQ(store_data_version(a, &v), 0);
	CHECK_EQ(v, va);
	CHECK_EQ(store_group_rename(b, g, "from-b"), 0);
	v = version_after(a, va);
	CHECK(v != va);
	va = v;
	/* presence and last-seen writes (the running server's, often): no reload elsewhere */
	{
		static const uint8_t pub[32] = { 9 };
		static const uint8_t net6[16] = { 0xfd };
		struct store_register req = { .public_key = pub, .name = "n", .now = 1, .network6 = net6,
					      .pending_allowed = true };
		struct store_node n;
		CHECK_EQ(store_register_node(b, &req, &n), 0);
		v = version_after(a, va);
		CHECK(v != va); /* a registration is news */
		va = v;
		CHECK_EQ(store_node_presence(b, n.id, true, 5), 0);
		CHECK_EQ(store_node_seen(b, n.id, 6), 0);
		usleep(200000);
		CHECK_EQ(store_data_version(a, &v), 0);
		CHECK_EQ(v, va);
		CHECK_EQ(store_node_rename(b, n.id, "n2"), 0); /* a rename is */
		CHECK(version_after(a, va) != va);
	}
	store_close(a);
	store_close(b);
}

static int presence_n;
static int64_t presence_last;
static int count_presence(void *ctx, uint32_t node_id, const char *peer_json, int64_t seq)
{
	(void)ctx;
	(void)node_id;
	CHECK(strcmp(peer_json, "{\"id\":1}") == 0);
	presence_n++;
	presence_last = seq;
	return 0;
}

/* Presence one server publishes reaches the other: its own is not read back. */
static void test_presence(const char *path)
{
	static const uint8_t pub[32] = { 4 };
	static const uint8_t net6[16] = { 0xfd };
	struct store_register req = { .public_key = pub, .name = "p", .now = 1, .network6 = net6, .pending_allowed = true };
	struct store *a, *b;
	struct store_node n;
	int64_t va = 0, vb = 0, v = 0, vdata = 0;

	CHECK_EQ(store_open(path, false, &a), 0);
	CHECK_EQ(store_open(path, false, &b), 0);
	CHECK_EQ(store_register_node(a, &req, &n), 0);
	(void)version_after(b, 0); /* the registration's notification, out of the way */
	usleep(100000);
	CHECK_EQ(store_presence_version(a, &va), 0);
	CHECK_EQ(store_presence_version(b, &vb), 0);
	CHECK_EQ(store_data_version(b, &vdata), 0);
	CHECK_EQ(store_presence_put(a, n.id, "server-a", "{\"id\":1}", 10), 0);
	CHECK_EQ(store_presence_put(a, n.id, "server-a", "{\"id\":1}", 11), 0); /* one row per node */
	for (int i = 0; i < 300 && store_presence_version(b, &v) == 0 && v == vb; i++)
		usleep(10000);
	CHECK(v != vb); /* a notification on "presence" ... */
	CHECK_EQ(store_data_version(b, &v), 0);
	CHECK_EQ(v, vdata); /* ... that is not a data change (no reload) */
	CHECK_EQ(store_presence_since(b, 0, "server-b", count_presence, NULL), 0);
	CHECK_EQ(presence_n, 1);
	CHECK_EQ(store_presence_since(b, presence_last, "server-b", count_presence, NULL), 0);
	CHECK_EQ(presence_n, 1); /* nothing newer */
	CHECK_EQ(store_presence_since(a, 0, "server-a", count_presence, NULL), 0);
	CHECK_EQ(presence_n, 1); /* a's own rows are not a's news */
	CHECK_EQ(store_presence_version(a, &v), 0);
	CHECK_EQ(v, va);
	store_close(a);
	store_close(b);
}

/* Two servers on one PostgreSQL, both issuing before (each holds serials
 * of its own), on a clock of our making (unix ms). A relay keeps a node's
 * newest serial and a floor (relayonly/admit.c): a node that moves gets a
 * higher serial from its new server whichever server reserved last, and a
 * floor one server sets for a change voids the older tickets but not the
 * next one the other server issues once it heard of the change. With a
 * counter per server (blocks of one shared counter) both fail. */
static void test_ticket_serials(const char *path)
{
	const uint64_t t0 = 1800000000000u;
	struct ticket_serials a, b;
	struct store *sa, *sb;
	uint64_t old_a, old_b, moved, floor_b, floor_a, next_a, x, y;

	CHECK_EQ(store_open(path, false, &sa), 0);
	CHECK_EQ(store_open(path, false, &sb), 0);
	CHECK_EQ(ticket_serials_open(&a, sa), 0);
	CHECK_EQ(ticket_serials_open(&b, sb), 0);
	CHECK_EQ(ticket_serials_next(&a, t0, &old_a), 0);
	CHECK_EQ(ticket_serials_next(&b, t0 + 10, &old_b), 0);
	CHECK(old_b > old_a);
	/* a node of b moves to a (b died) 2 s later */
	CHECK_EQ(ticket_serials_next(&a, t0 + 2000, &moved), 0);
	CHECK(moved > old_b);
	/* its groups change at t0 + 5 s: b hears first and sets a floor, a
	 * (the node's server) issues its new ticket, then sets its own floor */
	CHECK_EQ(ticket_serials_floor(&b, t0 + 5000, 0, &floor_b), 0);
	CHECK_EQ(ticket_serials_next(&a, t0 + 5050, &next_a), 0);
	CHECK_EQ(ticket_serials_floor(&a, t0 + 5100, next_a, &floor_a), 0);
	CHECK(moved < floor_b);  /* the ticket with the old groups: void on b's relays */
	CHECK(next_a >= floor_b); /* the new one: valid there */
	CHECK(floor_a > next_a);  /* a voids everything it gave the node */
	CHECK_EQ(ticket_serials_next(&a, t0 + 5100, &x), 0);
	CHECK(x >= floor_a); /* and issues above its floor */
	/* never backwards, even if the clock is */
	CHECK_EQ(ticket_serials_next(&a, t0, &y), 0);
	CHECK(y > x);
	/* the counter of a version before (meta "ticket_serial") is below */
	CHECK_EQ(store_meta_set(sa, "ticket_serial", "8192"), 0);
	CHECK_EQ(ticket_serials_open(&a, sa), 0);
	CHECK_EQ(ticket_serials_next(&a, t0, &x), 0);
	CHECK(x > 8192);
	store_close(sa);
	store_close(sb);
}

static char listed[4][FDATA_NAME_MAX];
static int listed_n;
static int list_one(void *ctx, const char *name)
{
	(void)ctx;
	snprintf(listed[listed_n++ % 4], FDATA_NAME_MAX, "%s", name);
	return 0;
}

static void test_file_data(const char *url, const char *info)
{
	struct fblob b = { .id = { 7 }, .publisher = 1, .group = 1, .seq = 1, .size = 10, .created = 1 };
	struct fdata_count c = { .table = FDATA_FILE_BLOBS, .id = b.id };
	struct store *st;
	uint64_t size = 0;
	char buf[16] = { 0 };

	/* a state of schema 6 is brought up to 8 (7: file_data; 8: nodes.endpoints) */
	CHECK_EQ(admin_sql(info, "DROP TABLE file_data; ALTER TABLE nodes DROP COLUMN endpoints; DROP INDEX nodes_pending;"
				 " UPDATE roam_schema SET version = 6"), 0);
	CHECK_EQ(store_open(url, false, &st), 0);
	CHECK_EQ(fblob_add(st, &b), 0);
	CHECK_EQ(store_fdata_write(st, "blob-x", 0, "hello", 5, &c), 0);
	CHECK_EQ(store_fdata_write(st, "blob-x", 0, "HELLO", 5, &c), -ESTALE); /* taken already */
	CHECK_EQ(fblob_get(st, b.id, &b), 0);
	CHECK_EQ(b.received, 5);
	CHECK_EQ(store_fdata_write(st, "blob-x", 5, "world", 5, &c), 0);
	CHECK_EQ(store_fdata_read(st, "blob-x", 3, buf, 5), 0); /* across two pieces */
	CHECK(memcmp(buf, "lowor", 5) == 0);
	CHECK_EQ(store_fdata_read(st, "blob-x", 8, buf, 5), -EIO); /* past the end */
	CHECK_EQ(store_fdata_read(st, "blob-y", 0, buf, 1), -ENOENT);
	CHECK_EQ(store_fdata_size(st, "blob-x", &size), 0);
	CHECK_EQ(size, 10);
	CHECK_EQ(store_fdata_write(st, "blob-x", 5, "W", 1, NULL), 0); /* what was past 5 goes */
	CHECK_EQ(store_fdata_size(st, "blob-x", &size), 0);
	CHECK_EQ(size, 6);
	CHECK_EQ(store_fdata_rename(st, "blob-x", "blob-y"), 0);
	CHECK_EQ(store_fdata_size(st, "blob-x", &size), -ENOENT);
	CHECK_EQ(store_fdata_read(st, "blob-y", 0, buf, 6), 0);
	CHECK(memcmp(buf, "helloW", 6) == 0);
	CHECK_EQ(store_fdata_remove(st, "blob-y"), 0);
	CHECK_EQ(store_fdata_size(st, "blob-y", &size), -ENOENT);
	/* names by prefix (the sweep of removed nodes' indexes), each once */
	CHECK_EQ(store_fdata_write(st, "index-1-3", 0, "a", 1, NULL), 0);
	CHECK_EQ(store_fdata_write(st, "index-1-3", 1, "b", 1, NULL), 0);
	CHECK_EQ(store_fdata_write(st, "index-1-2.up", 0, "c", 1, NULL), 0);
	CHECK_EQ(store_fdata_write(st, "blob-index-", 0, "d", 1, NULL), 0);
	CHECK_EQ(store_fdata_list(st, "index-", list_one, NULL), 0);
	CHECK_EQ(listed_n, 2);
	CHECK(strcmp(listed[0], "index-1-2.up") == 0 && strcmp(listed[1], "index-1-3") == 0);
	store_close(st);
}

static int events_n;
static int64_t events_first;
static int count_event(void *ctx, const struct store_event *ev)
{
	(void)ctx;
	if (!events_n++)
		events_first = ev->at;
	return 0;
}

static void test_events(struct store *st)
{
	struct store_event ev;
	struct store_event_filter f = { 0 };
	size_t removed = 0;

	for (int i = 0; i < 5; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.at = 100 + i;
		snprintf(ev.kind, sizeof(ev.kind), "%s", i % 2 ? "node.online" : "group.add");
		snprintf(ev.node, sizeof(ev.node), "n%d", i % 3);
		snprintf(ev.detail, sizeof(ev.detail), "it's \"quoted\"; DROP TABLE events; --");
		CHECK_EQ(store_event_add(st, &ev), 0);
		CHECK(ev.id > 0);
	}
	CHECK_EQ(store_events_foreach(st, &f, count_event, NULL), 0);
	CHECK_EQ(events_n, 5);
	events_n = 0;
	f.kind = "node.online";
	CHECK_EQ(store_events_foreach(st, &f, count_event, NULL), 0);
	CHECK_EQ(events_n, 2);
	events_n = 0;
	f.kind = NULL;
	f.node = "n0";
	CHECK_EQ(store_events_foreach(st, &f, count_event, NULL), 0);
	CHECK_EQ(events_n, 2); /* 0 and 3 */
	events_n = 0;
	f.node = NULL;
	f.limit = 2;
	f.newest_first = true;
	CHECK_EQ(store_events_foreach(st, &f, count_event, NULL), 0);
	CHECK_EQ(events_n, 2);
	CHECK_EQ(events_first, 103); /* the last two, oldest first */
	CHECK_EQ(store_events_prune(st, 102, &removed), 0);
	CHECK_EQ(removed, 2);
}

int main(void)
{
	char path[256], info[512], url[600], other[256];
	struct store *st;
	uint32_t g;
	char buf[64];

	if (crypto_init() < 0 || !mkdtemp(dir))
		return 1;
	if (!test_store_pg()) {
		fprintf(stderr, "test_store_pg: run by pg_cluster.sh (ROAM_TEST_PG_HOST)\n");
		return 77;
	}
	snprintf(path, sizeof(path), "%s/state.db", dir);
	CHECK_EQ(store_open(path, false, &st), -ENOENT); /* no store.url: SQLite, and no file */
	CHECK_EQ(test_store_prepare(path), 0);
	CHECK_EQ(store_open(path, false, &st), -ENOENT); /* an empty database: no roam state */
	CHECK(strstr(store_error(NULL), "roam-server init") != NULL);
	CHECK_EQ(store_open(path, true, &st), 0);
	CHECK(access(path, F_OK) < 0); /* no SQLite file was made */
	CHECK_EQ(store_meta_set(st, "network6", "fd00:1::/48"), 0);
	CHECK_EQ(store_meta_set(st, "network6", "fd00:2::/48"), 0);
	CHECK_EQ(store_meta_get(st, "network6", buf, sizeof(buf)), 0);
	CHECK(strcmp(buf, "fd00:2::/48") == 0);
	CHECK_EQ(store_meta_get(st, "network6", buf, 4), -ENOSPC);
	test_events(st);
	store_close(st);
	CHECK_EQ(store_open(path, true, &st), -EEXIST);
	test_notifications(path);
	test_presence(path);
	test_ticket_serials(path);

	/* a lost connection: the next call outside a transaction re-opens it */
	CHECK_EQ(test_store_pg_database(info, sizeof(info)), 0);
	CHECK_EQ(store_open(path, false, &st), 0);
	snprintf(other, sizeof(other), "host=%s user=roam dbname=postgres", getenv("ROAM_TEST_PG_HOST"));
	CHECK_EQ(admin_sql(other, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
				  " WHERE datname LIKE 'roam_t%' AND pid <> pg_backend_pid()"), 0);
	usleep(100000);
	CHECK_EQ(store_group_create(st, "after-reconnect", &g), 0);
	CHECK_EQ(store_meta_get(st, "network6", buf, sizeof(buf)), 0);
	store_close(st);

	/* a URL selects PostgreSQL directly */
	snprintf(url, sizeof(url), "postgresql://roam@/%s?host=%s", strstr(info, "dbname=") + 7, getenv("ROAM_TEST_PG_HOST"));
	CHECK_EQ(store_open(url, true, &st), 0);
	CHECK_EQ(store_group_create(st, "g", &g), 0);
	store_close(st);
	test_file_data(url, info);
	/* a schema from the future is refused */
	CHECK_EQ(admin_sql(info, "UPDATE roam_schema SET version = 9"), 0);
	CHECK_EQ(store_open(url, false, &st), -EPROTO);
	CHECK(strstr(store_error(NULL), "schema version 9") != NULL);

	/* the password is libpq's to use, never ours to print */
	snprintf(url, sizeof(url), "postgresql://roam:s3cr3tpw@/nosuchdb?host=%s", getenv("ROAM_TEST_PG_HOST"));
	CHECK(store_open(url, false, &st) < 0);
	printf("error: %s\n", store_error(NULL));
	CHECK(strstr(store_error(NULL), "s3cr3tpw") == NULL);

	snprintf(other, sizeof(other), "rm -rf %s", dir);
	if (system(other) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_report("test_store_pg");
}
