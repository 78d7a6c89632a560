/* The server's published indexes (server/files/index_*.c): the routes'
 * query strings, the clear header of a sealed index checked against what
 * was uploaded (with a real index sealed by lib/files), and the file_index
 * table (a higher sequence only replaces a row; listing highest first;
 * deleting one group or all). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "../store_backend.h"
#include "crypto/crypto.h"
#include "server/files/index.h"
#include "server/store.h"

static void test_query(void)
{
	struct findex_query q;
	CHECK_EQ(findex_query_parse("/v1/files/index?group=g1&seq=5&size=900&offset=60", &q), 0);
	CHECK(strcmp(q.group, "g1") == 0 && q.have_seq && q.seq == 5 && q.have_size && q.size == 900 && q.offset == 60);
	CHECK_EQ(findex_query_parse("/v1/files/index?offset=7&node=3&gid=2", &q), 0);
	CHECK(q.node == 3 && q.gid == 2 && q.offset == 7 && !q.group[0] && !q.have_seq);
	CHECK_EQ(findex_query_parse("/v1/files/index", &q), 0);
	CHECK(!q.node && !q.group[0]);
	static const char *const bad[] = {
		"/v1/files/index?", "/v1/files/index?node=0", "/v1/files/index?node=4294967296",
		"/v1/files/index?group=", "/v1/files/index?group=a%20b", "/v1/files/index?group=../x",
		"/v1/files/index?seq=1&seq=2", "/v1/files/index?seq=-1", "/v1/files/index?seq=1&",
		"/v1/files/index?x=1", "/v1/files/index?offset=99999999999999999999", "/v1/files/index?node=1x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(findex_query_parse(bad[i], &q), -EINVAL);
	CHECK_EQ(findex_query_parse("/v1/files/index/blob?id=000102030405060708090a0b0c0d0eff&offset=3", &q), 0);
	CHECK(q.have_id && q.id[0] == 0 && q.id[15] == 0xff && q.offset == 3);
	CHECK_EQ(findex_query_parse("/v1/files/index/blob?id=000102030405060708090a0b0c0d0eFF", &q), -EINVAL);
	CHECK_EQ(findex_query_parse("/v1/files/index/blob?id=00", &q), -EINVAL);
}

static int dropped;
static void on_drop(void *ctx, const uint8_t id[FBLOB_ID_LEN])
{
	(void)ctx;
	(void)id;
	dropped++;
}

/* The copies: added, pieces counted, usage, dropped by group and seq. */
static void test_blobs(struct store *st)
{
	struct fblob a = { .publisher = 1, .group = 2, .seq = 10, .size = 1000, .created = 5 }, b = a, c = a, got;
	uint64_t bytes, count, total;
	memset(a.id, 1, sizeof(a.id));
	memset(b.id, 2, sizeof(b.id));
	memset(c.id, 3, sizeof(c.id));
	b.seq = 20;
	c.group = 3;
	c.publisher = 1;
	CHECK_EQ(fblob_add(st, &a), 0);
	CHECK_EQ(fblob_add(st, &b), 0);
	CHECK_EQ(fblob_add(st, &c), 0);
	CHECK(fblob_add(st, &a) < 0);
	CHECK_EQ(fblob_set_received(st, a.id, 600), 0);
	CHECK_EQ(fblob_get(st, a.id, &got), 0);
	CHECK(got.received == 600 && got.size == 1000 && got.group == 2 && got.seq == 10 && got.created == 5);
	CHECK_EQ(fblob_usage(st, 1, &bytes, &count, &total), 0);
	CHECK(bytes == 3000 && count == 3 && total == 3000);
	CHECK_EQ(fblob_usage(st, 9, &bytes, &count, &total), 0);
	CHECK(bytes == 0 && count == 0 && total == 3000);
	CHECK_EQ(fblob_drop(st, 1, 2, 20, on_drop, NULL), 0); /* group 2, below seq 20: a */
	CHECK_EQ(dropped, 1);
	CHECK_EQ(fblob_get(st, a.id, &got), -ENOENT);
	CHECK_EQ(fblob_get(st, b.id, &got), 0);
	CHECK_EQ(fblob_drop(st, 1, 0, 0, on_drop, NULL), 0); /* all of them */
	CHECK_EQ(dropped, 3);
	CHECK_EQ(fblob_get(st, c.id, &got), -ENOENT);
}

static void test_sealed_check(void)
{
	struct files_keypair pub, m1, m2;
	files_keypair_generate(&pub);
	files_keypair_generate(&m1);
	files_keypair_generate(&m2);
	uint8_t members[2][FILES_KEY_LEN], body[4 + FILES_INDEX_ENTRY_FIXED + 5];
	memcpy(members[0], m1.pub, FILES_KEY_LEN);
	memcpy(members[1], m2.pub, FILES_KEY_LEN);
	struct files_index_entry e = { .path = "a.txt", .path_len = 5, .size = 3 };
	size_t blen, total;
	CHECK_EQ(files_index_body_len(&e, 1, &blen), 0);
	CHECK_EQ(blen, sizeof(body));
	CHECK_EQ(files_index_body_put(body, blen, &e, 1), 0);
	CHECK_EQ(files_index_sealed_len(2, blen, &total), 0);
	uint8_t *sealed = malloc(total);
	CHECK_EQ(files_index_seal(sealed, total, &pub, 77, (const uint8_t(*)[FILES_KEY_LEN])members, 2, body, blen), 0);
	CHECK_EQ(findex_sealed_check(sealed, total, total, 77, pub.pub), 0);
	CHECK_EQ(findex_sealed_check(sealed, total, total - 1, 77, pub.pub), -EBADMSG); /* length */
	CHECK_EQ(findex_sealed_check(sealed, total, total, 78, pub.pub), -EBADMSG);     /* another seq */
	CHECK_EQ(findex_sealed_check(sealed, total, total, 77, m1.pub), -EBADMSG);      /* another publisher */
	CHECK_EQ(findex_sealed_check(sealed, FILES_INDEX_FIXED_LEN - 1, total, 77, pub.pub), -EBADMSG);
	sealed[0] ^= 1;
	CHECK_EQ(findex_sealed_check(sealed, total, total, 77, pub.pub), -EBADMSG); /* magic */
	free(sealed);
}

struct seen {
	int n;
	uint32_t groups[4];
	uint64_t seqs[4];
};

static int seen_one(void *ctx, const struct findex_row *r)
{
	struct seen *s = ctx;
	if (s->n < 4) {
		s->groups[s->n] = r->group;
		s->seqs[s->n] = r->seq;
	}
	s->n++;
	return 0;
}

static void test_table(void)
{
	char dir[] = "/tmp/test_file_index.XXXXXX", path[256];
	struct store *st;
	struct findex_row a = { .publisher = 1, .group = 2, .seq = 10, .size = 500, .updated = 100 }, got;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/roam.db", dir);
	CHECK_EQ(test_store_prepare(path), 0);
	CHECK_EQ(store_open(path, true, &st), 0);
	CHECK_EQ(findex_get(st, 1, 2, &got), -ENOENT);
	CHECK_EQ(findex_put(st, &a), 0);
	CHECK_EQ(findex_get(st, 1, 2, &got), 0);
	CHECK(got.seq == 10 && got.size == 500 && got.updated == 100);
	/* not higher: refused, the row unchanged */
	struct findex_row older = a;
	older.size = 1;
	CHECK_EQ(findex_put(st, &older), -EEXIST);
	older.seq = 9;
	CHECK_EQ(findex_put(st, &older), -EEXIST);
	CHECK_EQ(findex_get(st, 1, 2, &got), 0);
	CHECK_EQ(got.size, 500);
	struct findex_row newer = a;
	newer.seq = 11;
	newer.size = 600;
	CHECK_EQ(findex_put(st, &newer), 0);
	CHECK_EQ(findex_get(st, 1, 2, &got), 0);
	CHECK(got.seq == 11 && got.size == 600);
	/* another group, and another publisher */
	struct findex_row g3 = { .publisher = 1, .group = 3, .seq = 20, .size = 7 }, other = { .publisher = 4, .group = 2,
												.seq = 1, .size = 9 };
	CHECK_EQ(findex_put(st, &g3), 0);
	CHECK_EQ(findex_put(st, &other), 0);
	struct seen s = { 0 };
	CHECK_EQ(findex_list(st, 1, seen_one, &s), 0);
	CHECK(s.n == 2 && s.groups[0] == 3 && s.seqs[0] == 20 && s.groups[1] == 2); /* highest first */
	CHECK_EQ(findex_delete(st, 1, 3), 0);
	s = (struct seen){ 0 };
	CHECK_EQ(findex_list(st, 1, seen_one, &s), 0);
	CHECK(s.n == 1 && s.groups[0] == 2);
	CHECK_EQ(findex_delete(st, 1, 0), 0);
	s = (struct seen){ 0 };
	CHECK_EQ(findex_list(st, 1, seen_one, &s), 0);
	CHECK_EQ(s.n, 0);
	CHECK_EQ(findex_get(st, 4, 2, &got), 0); /* another publisher's stays */
	test_blobs(st);
	store_close(st);
	unlink(path);
	snprintf(path, sizeof(path), "%s/store.url", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	if (crypto_init() < 0)
		return 1;
	test_query();
	test_sealed_check();
	test_table();
	return check_report("test_file_index_server");
}
