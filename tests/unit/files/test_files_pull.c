/* lib/files/tree.c and pull.c: the two-level chunk hash tree (built in one
 * pass over odd slices equals the tree built level by level; sizes 0, 1,
 * one chunk, one chunk + 1, several groups), and the PULL request and
 * reply (round trips, exact lengths, every byte, payload lengths at the
 * edges). With `--corpus DIR` it writes the fuzz target's seeds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "seed.h"
#include "files/pull.h"

#define CS 1024u

/* The tree level by level, from the whole file in memory. */
static void tree_by_levels(const uint8_t *data, uint64_t size, uint8_t root[FILES_HASH_LEN])
{
	uint32_t chunks = 0;
	CHECK_EQ(files_tree_chunks(size, CS, &chunks), 0);
	uint32_t ng = files_tree_groups(chunks);
	uint8_t(*h)[FILES_HASH_LEN] = calloc(chunks, FILES_HASH_LEN);
	uint8_t(*g)[FILES_HASH_LEN] = calloc(ng, FILES_HASH_LEN);
	for (uint32_t i = 0; i < chunks; i++) {
		uint64_t off = (uint64_t)i * CS, n = size - off < CS ? size - off : CS;
		files_tree_chunk_hash(data + off, (size_t)n, h[i]);
	}
	for (uint32_t j = 0; j < ng; j++) {
		uint32_t first = j * FILES_TREE_GROUP, n = chunks - first < FILES_TREE_GROUP ? chunks - first : FILES_TREE_GROUP;
		files_tree_group_hash((const uint8_t *)h[first], n, g[j]);
	}
	CHECK_EQ(files_tree_root(size, CS, (const uint8_t *)g, ng, root), 0);
	CHECK_EQ(files_tree_root(size, CS, (const uint8_t *)g, ng + 1, root), -EINVAL);
	free(h);
	free(g);
}

static void test_tree(void)
{
	static const uint64_t sizes[] = { 0, 1, CS, CS + 1, (uint64_t)CS * FILES_TREE_GROUP,
					  (uint64_t)CS * FILES_TREE_GROUP + 1, (uint64_t)CS * 2050 + 7 };
	size_t max = CS * 2050 + 7;
	uint8_t *data = malloc(max);
	for (size_t i = 0; i < max; i++)
		data[i] = (uint8_t)(i * 131 + (i >> 11));
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint64_t size = sizes[k];
		uint8_t want[FILES_HASH_LEN], root[FILES_HASH_LEN], fh[FILES_HASH_LEN], fwant[FILES_HASH_LEN];
		struct files_tree_builder b;
		tree_by_levels(data, size, want);
		CHECK_EQ(files_tree_builder_init(&b, size, CS), 0);
		for (uint64_t off = 0, step = 1; off < size; off += step, step = step * 3 + 1) {
			if (step > size - off)
				step = size - off;
			CHECK_EQ(files_tree_builder_update(&b, data + off, (size_t)step), 0);
		}
		CHECK_EQ(files_tree_builder_update(&b, data, 1), -EFBIG);
		CHECK_EQ(files_tree_builder_final(&b, fh, root), 0);
		CHECK_MEM(root, want, FILES_HASH_LEN);
		crypto_generichash(fwant, sizeof(fwant), data, (size_t)size, NULL, 0);
		CHECK_MEM(fh, fwant, FILES_HASH_LEN);
	}
	/* the size and chunk size are bound: same bytes, other chunk size, other root */
	uint8_t r1[FILES_HASH_LEN], r2[FILES_HASH_LEN], fh[FILES_HASH_LEN];
	struct files_tree_builder b;
	CHECK_EQ(files_tree_builder_init(&b, 4096, 1024), 0);
	CHECK_EQ(files_tree_builder_update(&b, data, 4096), 0);
	CHECK_EQ(files_tree_builder_final(&b, fh, r1), 0);
	CHECK_EQ(files_tree_builder_init(&b, 4096, 2048), 0);
	CHECK_EQ(files_tree_builder_update(&b, data, 4096), 0);
	CHECK_EQ(files_tree_builder_final(&b, fh, r2), 0);
	CHECK(memcmp(r1, r2, FILES_HASH_LEN) != 0);
	/* short: -ESTALE; limits */
	CHECK_EQ(files_tree_builder_init(&b, 10, CS), 0);
	CHECK_EQ(files_tree_builder_update(&b, data, 9), 0);
	CHECK_EQ(files_tree_builder_final(&b, fh, r1), -ESTALE);
	uint32_t n;
	CHECK_EQ(files_tree_chunks(0, CS, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(files_tree_chunks(FILES_MAX_SIZE, FILES_CHUNK_DEFAULT, &n), 0);
	CHECK_EQ(n, FILES_MAX_CHUNKS);
	CHECK_EQ(files_tree_chunks(FILES_MAX_SIZE + 1, FILES_CHUNK_DEFAULT, &n), -EFBIG);
	CHECK_EQ(files_tree_chunks(FILES_MAX_SIZE, FILES_CHUNK_MIN, &n), -EFBIG);
	CHECK_EQ(files_tree_chunks(10, 100, &n), -EINVAL);
	CHECK_EQ(files_tree_groups(FILES_MAX_CHUNKS), FILES_TREE_MAX_GROUPS);
	free(data);
}

/* A puller's checks: groups against the root, a group against its hash, a
 * chunk against its own; anything altered or misplaced is refused. */
static void test_check(void)
{
	uint64_t size = (uint64_t)CS * 2050 + 7; /* 2051 chunks, 3 groups */
	uint8_t *data = malloc(size);
	uint32_t chunks = 0;
	for (uint64_t i = 0; i < size; i++)
		data[i] = (uint8_t)((i * 2654435761u) >> 13);
	CHECK_EQ(files_tree_chunks(size, CS, &chunks), 0);
	uint8_t(*h)[FILES_HASH_LEN] = calloc(chunks, FILES_HASH_LEN);
	uint8_t g[3][FILES_HASH_LEN], root[FILES_HASH_LEN];
	uint8_t groups[3][FILES_HASH_LEN], hashes[FILES_TREE_GROUP][FILES_HASH_LEN];
	for (uint32_t i = 0; i < chunks; i++) {
		uint64_t off = (uint64_t)i * CS;
		files_tree_chunk_hash(data + off, (size_t)(size - off < CS ? size - off : CS), h[i]);
	}
	for (uint32_t j = 0; j < 3; j++)
		files_tree_group_hash((const uint8_t *)h[j * FILES_TREE_GROUP],
				      j < 2 ? FILES_TREE_GROUP : chunks - 2 * FILES_TREE_GROUP, g[j]);
	CHECK_EQ(files_tree_root(size, CS, (const uint8_t *)g, 3, root), 0);

	struct files_tree_check c;
	CHECK_EQ(files_tree_check_init(&c, root, size, CS, groups, hashes), 0);
	CHECK_EQ(files_tree_check_hashes(&c, 0, h[0], FILES_TREE_GROUP * FILES_HASH_LEN), -EAGAIN);
	uint8_t bad[3][FILES_HASH_LEN];
	memcpy(bad, g, sizeof(bad));
	bad[2][31] ^= 1;
	CHECK_EQ(files_tree_check_groups(&c, bad[0], sizeof(bad)), -EBADMSG);
	CHECK_EQ(files_tree_check_groups(&c, g[0], 2 * FILES_HASH_LEN), -EBADMSG);
	CHECK_EQ(files_tree_check_groups(&c, g[0], sizeof(g)), 0);
	/* a group's hashes: only under their own group hash, at their exact length */
	CHECK_EQ(files_tree_check_hashes(&c, 1, h[0], FILES_TREE_GROUP * FILES_HASH_LEN), -EBADMSG);
	CHECK_EQ(files_tree_check_hashes(&c, 2, h[2 * FILES_TREE_GROUP], 2 * FILES_HASH_LEN), -EBADMSG);
	CHECK_EQ(files_tree_check_hashes(&c, 3, h[0], 0), -EBADMSG);
	CHECK_EQ(files_tree_check_hashes(&c, 2, h[2 * FILES_TREE_GROUP], 3 * FILES_HASH_LEN), 0);
	/* the last chunk (7 bytes) */
	CHECK_EQ(files_tree_check_chunk(&c, 2050, data + (uint64_t)CS * 2050, 7), 0);
	CHECK_EQ(files_tree_check_chunk(&c, 2050, data + (uint64_t)CS * 2050, 6), -EBADMSG);
	CHECK_EQ(files_tree_check_chunk(&c, 2049, data + (uint64_t)CS * 2050, 7), -EBADMSG);
	CHECK_EQ(files_tree_check_chunk(&c, 2051, data, 7), -EBADMSG);
	CHECK_EQ(files_tree_check_chunk(&c, 5, data + 5 * CS, CS), -EAGAIN); /* its group not loaded */
	CHECK_EQ(files_tree_check_hashes(&c, 0, h[0], FILES_TREE_GROUP * FILES_HASH_LEN), 0);
	CHECK_EQ(files_tree_check_chunk(&c, 5, data + 5 * CS, CS), 0);
	CHECK_EQ(files_tree_check_chunk(&c, 6, data + 5 * CS, CS), -EBADMSG); /* right bytes, wrong place */
	data[5 * CS + 100] ^= 0x10;
	CHECK_EQ(files_tree_check_chunk(&c, 5, data + 5 * CS, CS), -EBADMSG);
	/* another size under the same groups: another root */
	CHECK_EQ(files_tree_check_init(&c, root, size - 1, CS, groups, hashes), 0);
	CHECK_EQ(files_tree_check_groups(&c, g[0], sizeof(g)), -EBADMSG);
	free(h);
	free(data);
}

static struct files_pull_req sample_req(enum files_pull_type t, uint32_t first, uint32_t count)
{
	struct files_pull_req r = { .type = t, .chunk_size = FILES_CHUNK_DEFAULT, .first = first, .count = count };
	for (int i = 0; i < FILES_HASH_LEN; i++)
		r.hash[i] = (uint8_t)(0xa0 + i);
	return r;
}

static void test_req(void)
{
	uint8_t buf[FILES_PULL_REQ_LEN + 1];
	struct files_pull_req r = sample_req(FILES_PULL_CHUNKS, 5, 3), back;
	files_pull_req_build(buf, &r);
	CHECK_EQ(files_pull_req_parse(buf, FILES_PULL_REQ_LEN, &back), 0);
	CHECK_EQ(back.type, r.type);
	CHECK_EQ(back.first, 5);
	CHECK_EQ(back.count, 3);
	CHECK_EQ(back.chunk_size, FILES_CHUNK_DEFAULT);
	CHECK_MEM(back.hash, r.hash, FILES_HASH_LEN);
	CHECK_EQ(files_pull_req_parse(buf, FILES_PULL_REQ_LEN - 1, &back), -EBADMSG);
	CHECK_EQ(files_pull_req_parse(buf, FILES_PULL_REQ_LEN + 1, &back), -EBADMSG);
	/* every byte: either refused, or parsed to something else (the hash, first, count) */
	for (size_t i = 0; i < FILES_PULL_REQ_LEN; i++) {
		uint8_t bad[FILES_PULL_REQ_LEN];
		memcpy(bad, buf, sizeof(bad));
		bad[i] ^= 0x80;
		if (files_pull_req_parse(bad, sizeof(bad), &back) == 0) {
			uint8_t again[FILES_PULL_REQ_LEN];
			files_pull_req_build(again, &back);
			CHECK_MEM(again, bad, sizeof(bad));
			CHECK(i >= 8 && i < 52);
		}
	}
	/* counts per type */
	uint8_t b2[FILES_PULL_REQ_LEN];
	struct files_pull_req bad = sample_req(FILES_PULL_CHUNKS, 0, 0);
	files_pull_req_build(b2, &bad);
	CHECK_EQ(files_pull_req_parse(b2, sizeof(b2), &back), -EBADMSG);
	bad = sample_req(FILES_PULL_CHUNKS, 0, FILES_PULL_MAX_RUN + 1);
	files_pull_req_build(b2, &bad);
	CHECK_EQ(files_pull_req_parse(b2, sizeof(b2), &back), -EBADMSG);
	bad = sample_req(FILES_PULL_TREE, 1, 0);
	files_pull_req_build(b2, &bad);
	CHECK_EQ(files_pull_req_parse(b2, sizeof(b2), &back), -EBADMSG);
	bad = sample_req(FILES_PULL_GROUP, FILES_TREE_MAX_GROUPS, 0);
	files_pull_req_build(b2, &bad);
	CHECK_EQ(files_pull_req_parse(b2, sizeof(b2), &back), -EBADMSG);
	bad = sample_req(FILES_PULL_GROUP, 2, 0);
	bad.chunk_size = FILES_CHUNK_MAX + 1;
	files_pull_req_build(b2, &bad);
	CHECK_EQ(files_pull_req_parse(b2, sizeof(b2), &back), -EBADMSG);
	bad = sample_req((enum files_pull_type)5, 0, 0);
	files_pull_req_build(b2, &bad);
	CHECK_EQ(files_pull_req_parse(b2, sizeof(b2), &back), -EBADMSG);
	/* LOOKUP: by a path's key, no first or count */
	bad = sample_req(FILES_PULL_LOOKUP, 0, 0);
	files_pull_req_build(b2, &bad);
	CHECK_EQ(files_pull_req_parse(b2, sizeof(b2), &back), 0);
	CHECK_EQ(back.type, FILES_PULL_LOOKUP);
	bad = sample_req(FILES_PULL_LOOKUP, 1, 0);
	files_pull_req_build(b2, &bad);
	CHECK_EQ(files_pull_req_parse(b2, sizeof(b2), &back), -EBADMSG);
	bad = sample_req(FILES_PULL_LOOKUP, 0, 1);
	files_pull_req_build(b2, &bad);
	CHECK_EQ(files_pull_req_parse(b2, sizeof(b2), &back), -EBADMSG);
	/* the path key: labelled, and it depends on every byte */
	uint8_t k1[FILES_HASH_LEN], k2[FILES_HASH_LEN];
	files_pull_path_key("a/b.bin", 7, k1);
	files_pull_path_key("a/b.bim", 7, k2);
	CHECK(memcmp(k1, k2, sizeof(k1)) != 0);
	files_pull_path_key("a/b.bin", 6, k2);
	CHECK(memcmp(k1, k2, sizeof(k1)) != 0);
}

static void test_payload(void)
{
	uint32_t len;
	uint64_t cs = FILES_CHUNK_DEFAULT;
	uint64_t size = cs * 1500 + 10; /* 1501 chunks, 2 groups */
	struct files_pull_req r = sample_req(FILES_PULL_TREE, 0, 0);
	CHECK_EQ(files_pull_payload_len(&r, size, &len), 0);
	CHECK_EQ(len, 2 * FILES_HASH_LEN);
	r = sample_req(FILES_PULL_LOOKUP, 0, 0);
	CHECK_EQ(files_pull_payload_len(&r, size, &len), 0);
	CHECK_EQ(len, FILES_PULL_LOOKUP_LEN);
	r = sample_req(FILES_PULL_GROUP, 0, 0);
	CHECK_EQ(files_pull_payload_len(&r, size, &len), 0);
	CHECK_EQ(len, FILES_TREE_GROUP * FILES_HASH_LEN);
	r.first = 1;
	CHECK_EQ(files_pull_payload_len(&r, size, &len), 0);
	CHECK_EQ(len, (1501 - FILES_TREE_GROUP) * FILES_HASH_LEN);
	r.first = 2;
	CHECK_EQ(files_pull_payload_len(&r, size, &len), -ERANGE);
	r = sample_req(FILES_PULL_CHUNKS, 1498, 3);
	CHECK_EQ(files_pull_payload_len(&r, size, &len), 0);
	CHECK_EQ(len, 2 * cs + 10);
	r.count = 4;
	CHECK_EQ(files_pull_payload_len(&r, size, &len), -ERANGE);
	r = sample_req(FILES_PULL_CHUNKS, 1501, 1);
	CHECK_EQ(files_pull_payload_len(&r, size, &len), -ERANGE);
	r = sample_req(FILES_PULL_CHUNKS, 0, 1);
	CHECK_EQ(files_pull_payload_len(&r, 0, &len), 0); /* an empty file: one empty chunk */
	CHECK_EQ(len, 0);
	r = sample_req(FILES_PULL_CHUNKS, 0, FILES_PULL_MAX_RUN);
	r.chunk_size = FILES_CHUNK_MAX;
	CHECK_EQ(files_pull_payload_len(&r, FILES_MAX_SIZE, &len), 0);
	CHECK_EQ(len, FILES_PULL_MAX_RUN * FILES_CHUNK_MAX);
}

static void test_reply(void)
{
	uint8_t buf[FILES_PULL_REPLY_LEN];
	struct files_pull_reply p = { FILES_PULL_CHUNKS, FILES_PULL_OK, 123456789, 65536 }, back;
	files_pull_reply_build(buf, &p);
	CHECK_EQ(files_pull_reply_parse(buf, sizeof(buf), &back), 0);
	CHECK_EQ(back.type, FILES_PULL_CHUNKS);
	CHECK_EQ(back.status, FILES_PULL_OK);
	CHECK_EQ(back.size, 123456789);
	CHECK_EQ(back.payload_len, 65536);
	CHECK_EQ(files_pull_reply_parse(buf, sizeof(buf) - 1, &back), -EBADMSG);
	/* a refusal carries nothing */
	p = (struct files_pull_reply){ FILES_PULL_TREE, FILES_PULL_NOT_FOUND, 99, 99 };
	files_pull_reply_build(buf, &p);
	CHECK_EQ(files_pull_reply_parse(buf, sizeof(buf), &back), 0);
	CHECK_EQ(back.size, 0);
	CHECK_EQ(back.payload_len, 0);
	buf[8] = 1;
	CHECK_EQ(files_pull_reply_parse(buf, sizeof(buf), &back), -EBADMSG);
	p = (struct files_pull_reply){ FILES_PULL_TREE, FILES_PULL_OK, 1, 32 };
	files_pull_reply_build(buf, &p);
	buf[4] = FILES_PULL_TREE; /* a request's type byte, not a reply's */
	CHECK_EQ(files_pull_reply_parse(buf, sizeof(buf), &back), -EBADMSG);
	files_pull_reply_build(buf, &p);
	buf[5] = FILES_PULL_STATUS_MAX + 1;
	CHECK_EQ(files_pull_reply_parse(buf, sizeof(buf), &back), -EBADMSG);
	for (int s = 0; s <= FILES_PULL_STATUS_MAX + 1; s++)
		CHECK(files_pull_status_text((enum files_pull_status)s) != NULL);
}

static int write_corpus(const char *dir)
{
	uint8_t req[FILES_PULL_REQ_LEN], rep[FILES_PULL_REPLY_LEN];
	struct files_pull_req r = sample_req(FILES_PULL_CHUNKS, 5, 3);
	struct files_pull_reply p = { FILES_PULL_CHUNKS, FILES_PULL_OK, 1u << 20, 3 * FILES_CHUNK_DEFAULT };
	files_pull_req_build(req, &r);
	files_pull_reply_build(rep, &p);
	int ret = write_seed(dir, "req_chunks", req, sizeof(req));
	r = sample_req(FILES_PULL_TREE, 0, 0);
	files_pull_req_build(req, &r);
	if (ret == 0)
		ret = write_seed(dir, "req_tree", req, sizeof(req));
	if (ret == 0)
		ret = write_seed(dir, "reply_chunks", rep, sizeof(rep));
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--corpus") == 0)
		return write_corpus(argv[2]) < 0;
	if (sodium_init() < 0)
		return 1;
	test_tree();
	test_check();
	test_req();
	test_payload();
	test_reply();
	return check_report("test_files_pull");
}
