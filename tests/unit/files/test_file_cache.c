/* The server's file cache (server/files/): parsing the node's requests
 * and the file_cache table (add, update, usage for quotas, what each node
 * lists, expiry). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "../store_backend.h"
#include "coord/json.h"
#include "crypto/crypto.h"
#include "server/files/blob_store.h"
#include "server/files/cache.h"
#include "server/server.h"
#include "server/store.h"

static void test_parse(void)
{
	uint8_t id[FCACHE_ID_LEN], receipt[FILES_RECEIPT_LEN];
	uint64_t off;
	uint32_t to;
	uint64_t size;
	CHECK_EQ(fcache_query_parse("/v1/files/data?id=000102030405060708090a0b0c0d0e0f&offset=42", id, &off), 0);
	CHECK_EQ(id[15], 15);
	CHECK_EQ(off, 42);
	CHECK_EQ(fcache_query_parse("/v1/files?offset=7&id=000102030405060708090a0b0c0d0e0f", id, &off), 0);
	CHECK_EQ(off, 7);
	CHECK_EQ(fcache_query_parse("/v1/files?id=000102030405060708090a0b0c0d0e0f", id, &off), 0);
	CHECK_EQ(off, 0);
	static const char *const bad[] = {
		"/v1/files", "/v1/files?", "/v1/files?id=00", "/v1/files?id=000102030405060708090A0B0C0D0E0F",
		"/v1/files?id=000102030405060708090a0b0c0d0e0f&", "/v1/files?id=000102030405060708090a0b0c0d0e0f&x=1",
		"/v1/files?id=000102030405060708090a0b0c0d0e0f&offset=-1",
		"/v1/files?id=000102030405060708090a0b0c0d0e0f&offset=99999999999999999999",
		"/v1/files?id=000102030405060708090a0b0c0d0e0f&id=000102030405060708090a0b0c0d0e0f",
		"/v1/files?offset=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(fcache_query_parse(bad[i], id, &off), -EINVAL);
	CHECK_EQ(fcache_create_parse("{\"to\":2,\"size\":600}", 20, &to, &size), 0);
	CHECK_EQ(to, 2);
	CHECK_EQ(size, 600);
	static const char *const bad_create[] = { "{}", "{\"to\":0,\"size\":1}", "{\"to\":1.5,\"size\":1}",
						  "{\"to\":2,\"size\":-1}", "{\"to\":\"2\",\"size\":1}", "[]" };
	for (size_t i = 0; i < sizeof(bad_create) / sizeof(bad_create[0]); i++)
		CHECK_EQ(fcache_create_parse(bad_create[i], strlen(bad_create[i]), &to, &size), -EINVAL);
	char body[256], b64[200];
	memset(receipt, 7, sizeof(receipt));
	sodium_bin2base64(b64, sizeof(b64), receipt, sizeof(receipt), sodium_base64_VARIANT_ORIGINAL);
	snprintf(body, sizeof(body), "{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"receipt\":\"%s\"}", b64);
	memset(receipt, 0, sizeof(receipt));
	CHECK_EQ(fcache_receipt_parse(body, strlen(body), id, receipt), 0);
	CHECK_EQ(receipt[119], 7);
	CHECK_EQ(fcache_receipt_parse("{\"id\":\"00\",\"receipt\":\"AA==\"}", 28, id, receipt), -EINVAL);
}

struct count {
	int n, incoming;
};

static int count_one(void *ctx, const struct fcache_entry *e)
{
	struct count *c = ctx;
	c->n++;
	c->incoming += e->recipient == 2;
	return 0;
}

static int expired_n;
static void on_expired(void *ctx, const uint8_t id[FCACHE_ID_LEN])
{
	(void)ctx;
	(void)id;
	expired_n++;
}

static void test_table(void)
{
	char dir[] = "/tmp/test_file_cache.XXXXXX", path[256];
	struct store *st;
	struct fcache_entry a = { .sender = 1, .recipient = 2, .size = 1000, .created = 100, .expires = 200 }, b = a, got;
	uint64_t mine, all, files;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/roam.db", dir);
	CHECK_EQ(test_store_prepare(path), 0);
	CHECK_EQ(store_open(path, true, &st), 0);
	memset(a.id, 1, sizeof(a.id));
	memset(b.id, 2, sizeof(b.id));
	b.sender = 3;
	b.size = 500;
	CHECK_EQ(fcache_add(st, &a), 0);
	CHECK_EQ(fcache_add(st, &b), 0);
	CHECK(fcache_add(st, &a) < 0); /* ids are unique */
	CHECK_EQ(fcache_usage(st, 1, &mine, &all, &files), 0);
	CHECK_EQ(mine, 1000);
	CHECK_EQ(all, 1500);
	CHECK_EQ(files, 1);
	CHECK_EQ(fcache_get(st, a.id, &got), 0);
	CHECK_EQ(got.state, FC_UPLOADING);
	got.received = 1000;
	got.state = FC_QUEUED;
	memset(got.file_id, 9, sizeof(got.file_id));
	CHECK_EQ(fcache_update(st, &got), 0);
	CHECK_EQ(fcache_get(st, a.id, &got), 0);
	CHECK_EQ(got.received, 1000);
	CHECK_EQ(got.file_id[0], 9);
	CHECK(!got.has_receipt);
	/* the recipient sees a queued file; a sender all it sent */
	struct count c = { 0 };
	CHECK_EQ(fcache_list(st, 2, count_one, &c), 0);
	CHECK_EQ(c.n, 1); /* a, queued for it; b is still uploading */
	CHECK_EQ(c.incoming, 1);
	c = (struct count){ 0 };
	CHECK_EQ(fcache_list(st, 1, count_one, &c), 0);
	CHECK_EQ(c.n, 1);
	/* delivered: no longer counted against the quota */
	got.state = FC_DELIVERED;
	got.has_receipt = true;
	memset(got.receipt, 5, sizeof(got.receipt));
	CHECK_EQ(fcache_update(st, &got), 0);
	CHECK_EQ(fcache_usage(st, 1, &mine, &all, &files), 0);
	CHECK_EQ(mine, 0);
	CHECK_EQ(all, 500);
	CHECK_EQ(fcache_get(st, a.id, &got), 0);
	CHECK(got.has_receipt && got.receipt[0] == 5);
	/* expiry: b (uploading, expires 200) goes at 200, not before */
	CHECK_EQ(fcache_expire(st, 199, on_expired, NULL), 0);
	CHECK_EQ(expired_n, 0);
	CHECK_EQ(fcache_expire(st, 200, on_expired, NULL), 0);
	CHECK_EQ(expired_n, 1);
	CHECK_EQ(fcache_get(st, b.id, &got), 0);
	CHECK_EQ(got.state, FC_EXPIRED);
	CHECK_EQ(fcache_usage(st, 3, &mine, &all, &files), 0);
	CHECK_EQ(all, 0);
	uint8_t none[FCACHE_ID_LEN] = { 0 };
	CHECK_EQ(fcache_get(st, none, &got), -ENOENT);
	store_close(st);
	unlink(path);
	snprintf(path, sizeof(path), "%s/store.url", dir);
	unlink(path);
	rmdir(dir);
}

static uint8_t dropped[8][FCACHE_ID_LEN];
static int dropped_n;
static void on_dropped(void *ctx, const uint8_t id[FCACHE_ID_LEN])
{
	(void)ctx;
	if (dropped_n < 8)
		memcpy(dropped[dropped_n], id, FCACHE_ID_LEN);
	dropped_n++;
}

static uint32_t test_node(struct store *st, const char *name)
{
	static const uint8_t net6[16] = { 0xfd, 1, 2, 3, 4, 5 };
	uint8_t pub[32];
	struct store_node n;
	struct store_register r = { .public_key = pub, .name = name, .now = 100, .network6 = net6, .pending_allowed = true };
	crypto_random(pub, sizeof(pub));
	CHECK_EQ(store_register_node(st, &r, &n), 0);
	return n.id;
}

static void cache_row(struct store *st, uint8_t tag, uint32_t from, uint32_t to, enum fcache_state state)
{
	struct fcache_entry e = { .sender = from, .recipient = to, .size = 100, .state = state, .created = 1, .expires = 1000 };
	memset(e.id, tag, sizeof(e.id));
	CHECK_EQ(fcache_add(st, &e), 0);
}

/* A removed node's offline pushes go with it: those it sent and those
 * waiting for it, in any state; node 0 sweeps the rows of nodes no longer
 * registered (removed while the server was down). */
static void test_drop_node(void)
{
	char dir[] = "/tmp/test_file_cache.XXXXXX", path[256];
	struct store *st;
	struct fcache_entry got;
	uint8_t id[FCACHE_ID_LEN];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/roam.db", dir);
	CHECK_EQ(test_store_prepare(path), 0);
	CHECK_EQ(store_open(path, true, &st), 0);
	uint32_t n1 = test_node(st, "one"), n2 = test_node(st, "two"), n3 = test_node(st, "three");
	cache_row(st, 1, n1, n2, FC_QUEUED);
	cache_row(st, 2, n3, n1, FC_DELIVERED);
	cache_row(st, 3, n2, n3, FC_UPLOADING);
	cache_row(st, 4, n3, 99999, FC_QUEUED); /* for a node no longer there */
	CHECK_EQ(fcache_drop_node(st, n1, on_dropped, NULL), 2);
	CHECK_EQ(dropped_n, 2);
	CHECK((dropped[0][0] == 1 && dropped[1][0] == 2) || (dropped[0][0] == 2 && dropped[1][0] == 1));
	memset(id, 1, sizeof(id));
	CHECK_EQ(fcache_get(st, id, &got), -ENOENT);
	memset(id, 2, sizeof(id));
	CHECK_EQ(fcache_get(st, id, &got), -ENOENT);
	CHECK_EQ(fcache_drop_node(st, n1, on_dropped, NULL), 0); /* once */
	dropped_n = 0;
	CHECK_EQ(fcache_drop_node(st, 0, on_dropped, NULL), 1);
	CHECK_EQ(dropped_n, 1);
	CHECK_EQ(dropped[0][0], 4);
	memset(id, 3, sizeof(id));
	CHECK_EQ(fcache_get(st, id, &got), 0); /* between two nodes still there */
	/* removed while nobody looked: the sweep at the server's start finds
	 * it, and deletes its ciphertext too */
	CHECK_EQ(store_node_remove(st, n3), 0);
	static struct server srv;
	char hex[2 * FCACHE_ID_LEN + 1], data[300];
	srv.cfg.state_dir = dir;
	srv.store = st;
	fcache_id_hex(id, hex);
	uint64_t held = 0;
	CHECK_EQ(fdata_create(&srv, hex), 0); /* a file (SQLite) or pieces (PostgreSQL) */
	CHECK_EQ(fdata_write(&srv, hex, 0, "x", 1, true, NULL), 0);
	CHECK_EQ(fdata_size(&srv, hex, &held), 0);
	CHECK_EQ(held, 1);
	fcache_forget_node(&srv, 0);
	CHECK_EQ(fcache_get(st, id, &got), -ENOENT);
	CHECK_EQ(fdata_size(&srv, hex, &held), -ENOENT);
	store_close(st);
	snprintf(data, sizeof(data), "%s/files", dir);
	rmdir(data);
	unlink(path);
	snprintf(path, sizeof(path), "%s/store.url", dir);
	unlink(path);
	rmdir(dir);
}

static int files_lines;
static int on_files(void *ctx)
{
	(void)ctx;
	files_lines++;
	return 0;
}

/* The stream's {"type":"files"}: reaches its handler; a handler without
 * one (an older agent) ignores it. */
static void test_stream_line(void)
{
	static const struct coord_stream_handler with = { .files = on_files }, without = { 0 };
	CHECK_EQ(coord_stream_line_parse(COORD_LINE_FILES, strlen(COORD_LINE_FILES), &with, NULL), 0);
	CHECK_EQ(files_lines, 1);
	CHECK_EQ(coord_stream_line_parse(COORD_LINE_FILES, strlen(COORD_LINE_FILES), &without, NULL), 0);
	CHECK_EQ(files_lines, 1);
}

/* Which requests may carry 1 MiB (server/http.c asks as the request line
 * arrives): an upload's PUT /v1/files/data only; 0 while it cannot tell. */
static void test_body_max(void)
{
	static const struct {
		const char *line;
		size_t want;
	} cases[] = {
		{ "PUT /v1/files/data?id=00&offset=0 HTTP/1.1\r\n", FCACHE_CHUNK_MAX },
		{ "PUT /v1/files/data HTTP/1.1\r\n", FCACHE_CHUNK_MAX },
		{ "PUT /v1/files/datax HTTP/1.1\r\n", COORD_BODY_MAX },
		{ "PUT /v1/files/data/x HTTP/1.1\r\n", COORD_BODY_MAX },
		{ "GET /v1/files/data?id=00 HTTP/1.1\r\n", COORD_BODY_MAX },
		{ "POST /v1/files HTTP/1.1\r\n", COORD_BODY_MAX },
		{ "put /v1/files/data?id=00 HTTP/1.1\r\n", COORD_BODY_MAX },
		{ "PUT /v1/files/dat", 0 }, /* more to come */
		{ "PUT /v1/files/data", 0 },
		{ "P", 0 },
		{ "PUT /v1/x", COORD_BODY_MAX },
		{ "\r\n", COORD_BODY_MAX },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_EQ(fcache_request_body_max(cases[i].line, strlen(cases[i].line)), cases[i].want);
}

int main(void)
{
	if (crypto_init() < 0)
		return 1;
	test_parse();
	test_table();
	test_drop_node();
	test_stream_line();
	test_body_max();
	return check_report("test_file_cache");
}
