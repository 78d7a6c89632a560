/* daemon/files/publish_scan.c: the walk of `roam publish DIR` on a real
 * temporary directory: regular files and symlinks inside DIR are indexed
 * (sorted, hashed), symlinked directories, dangling links and FIFOs are
 * skipped, a symlink out of DIR (absolute or by "..") refuses the publish,
 * lookups refuse "..", absolute and unknown paths, and a file changed or a
 * link repointed out after the scan is not served. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../check.h"
#include "daemon/files/publish_scan.h"
#include "daemon/files/thumb.h"
#include "files/pull.h"

static char top[64];

static void put(const char *rel, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", top, rel);
	FILE *f = fopen(p, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void link_at(const char *target, const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", top, rel);
	CHECK_EQ(symlink(target, p), 0);
}

/* The body of sc walked back: its entries are sc's files, in order (path,
 * tree root, thumbnail). Returns how many, and how many have a thumbnail. */
static size_t walk_body(const struct publish_scan *sc, int *thumbs)
{
	uint8_t *body = NULL;
	size_t len = 0, count = 0;
	struct files_index_iter it;
	struct files_index_entry e;
	*thumbs = 0;
	CHECK_EQ(publish_scan_body(sc, &body, &len), 0);
	CHECK_EQ(len, sc->body_len);
	CHECK_EQ(files_index_iter_init(&it, body, len), 0);
	while (files_index_next(&it, &e) == 1) {
		const struct publish_file *f = count < sc->n ? &sc->files[count] : NULL;
		CHECK(f && e.path_len == strlen(f->path) && memcmp(e.path, f->path, e.path_len) == 0);
		CHECK(f && memcmp(e.root, f->root, FILES_HASH_LEN) == 0 && e.thumb_len == f->thumb_len);
		*thumbs += e.thumb_len > 0;
		count++;
	}
	free(body);
	return count;
}

static void test_walk(void)
{
	char d[256];
	struct publish_scan sc;
	uint8_t h[FILES_HASH_LEN];

	snprintf(d, sizeof(d), "%s/pub", top);
	CHECK_EQ(mkdir(d, 0700), 0);
	snprintf(d, sizeof(d), "%s/pub/sub", top);
	CHECK_EQ(mkdir(d, 0700), 0);
	put("pub/a.txt", "alpha\n");
	put("pub/sub/b.bin", "bravo bravo\n");
	put("outside.txt", "secret\n");
	link_at("a.txt", "pub/link_in");
	link_at("../a.txt", "pub/sub/up_in"); /* ".." but still inside DIR: fine */
	link_at("sub", "pub/link_dir");
	link_at("nowhere", "pub/dangling");
	snprintf(d, sizeof(d), "%s/pub/fifo", top);
	CHECK_EQ(mkfifo(d, 0600), 0);

	snprintf(d, sizeof(d), "%s/pub", top);
	CHECK_EQ(publish_scan_dir(d, &sc), 0);
	CHECK_EQ(sc.n, 4);
	if (sc.n == 4) {
		CHECK(strcmp(sc.files[0].path, "a.txt") == 0);
		CHECK(strcmp(sc.files[1].path, "link_in") == 0);
		CHECK(strcmp(sc.files[2].path, "sub/b.bin") == 0);
		CHECK(strcmp(sc.files[3].path, "sub/up_in") == 0);
		CHECK_EQ(sc.files[0].size, 6);
		crypto_generichash(h, sizeof(h), (const uint8_t *)"alpha\n", 6, NULL, 0);
		CHECK_MEM(sc.files[0].hash, h, FILES_HASH_LEN);
		CHECK_MEM(sc.files[1].hash, h, FILES_HASH_LEN);
		CHECK_MEM(sc.files[3].hash, h, FILES_HASH_LEN);
		/* the tree's root: one chunk, one group */
		uint8_t ch[1][FILES_HASH_LEN], g[1][FILES_HASH_LEN], root[FILES_HASH_LEN];
		files_tree_chunk_hash((const uint8_t *)"alpha\n", 6, ch[0]);
		files_tree_group_hash((const uint8_t *)ch, 1, g[0]);
		CHECK_EQ(files_tree_root(6, FILES_CHUNK_DEFAULT, (const uint8_t *)g, 1, root), 0);
		CHECK_MEM(sc.files[0].root, root, FILES_HASH_LEN);
	}

	/* the body walks back to the same entries */
	int thumbs;
	CHECK_EQ(walk_body(&sc, &thumbs), 4);
	CHECK_EQ(thumbs, 0);

	/* lookups: only valid, published paths */
	CHECK(publish_scan_find(&sc, "a.txt", 5) == &sc.files[0]);
	CHECK(publish_scan_find(&sc, "sub/b.bin", 9) == &sc.files[2]);
	CHECK(publish_scan_find(&sc, "../outside.txt", 14) == NULL);
	CHECK(publish_scan_find(&sc, "/a.txt", 6) == NULL);
	CHECK(publish_scan_find(&sc, "sub/../a.txt", 12) == NULL);
	CHECK(publish_scan_find(&sc, "nope", 4) == NULL);

	/* serving: unchanged opens; changed is stale; a link repointed out is refused */
	int fd = publish_open(&sc, &sc.files[0]);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	put("pub/sub/b.bin", "changed since\n");
	CHECK_EQ(publish_open(&sc, &sc.files[2]), -ESTALE);
	snprintf(d, sizeof(d), "%s/pub/link_in", top);
	CHECK_EQ(unlink(d), 0);
	link_at("../outside.txt", "pub/link_in");
	CHECK_EQ(publish_open(&sc, &sc.files[1]), -EXDEV);
	publish_scan_free(&sc);
	publish_scan_free(NULL);

	/* the same directory now holds a link out: the publish is refused */
	snprintf(d, sizeof(d), "%s/pub", top);
	CHECK_EQ(publish_scan_dir(d, &sc), -EXDEV);
	CHECK(strcmp(sc.bad, "link_in") == 0);
	CHECK_EQ(sc.n, 0);
	CHECK(sc.files == NULL);
	snprintf(d, sizeof(d), "%s/pub/link_in", top);
	CHECK_EQ(unlink(d), 0);
	char abs[256];
	snprintf(abs, sizeof(abs), "%s/outside.txt", top);
	link_at(abs, "pub/sub/abs_out"); /* absolute, out */
	snprintf(d, sizeof(d), "%s/pub/a.txt", top);
	CHECK_EQ(publish_scan_dir(d, &sc), -ENOTDIR);
	snprintf(d, sizeof(d), "%s/pub", top);
	CHECK_EQ(publish_scan_dir(d, &sc), -EXDEV);
	CHECK(strcmp(sc.bad, "sub/abs_out") == 0);
	snprintf(d, sizeof(d), "%s/pub/sub/abs_out", top);
	CHECK_EQ(unlink(d), 0);
	link_at("/", "pub/root_dir"); /* a directory out: refused too, not merely skipped */
	snprintf(d, sizeof(d), "%s/pub", top);
	CHECK_EQ(publish_scan_dir(d, &sc), -EXDEV);
	CHECK(strcmp(sc.bad, "root_dir") == 0);
	CHECK_EQ(publish_scan_dir("/nonexistent-roam-dir", &sc), -ENOENT);
}

static void test_empty(void)
{
	char d[256];
	struct publish_scan sc;
	uint8_t *body = NULL;
	size_t len = 0;
	snprintf(d, sizeof(d), "%s/empty", top);
	CHECK_EQ(mkdir(d, 0700), 0);
	CHECK_EQ(publish_scan_dir(d, &sc), 0);
	CHECK_EQ(sc.n, 0);
	CHECK(publish_scan_find(&sc, "a", 1) == NULL);
	CHECK_EQ(publish_scan_body(&sc, &body, &len), 0);
	CHECK_EQ(len, 4);
	free(body);
	publish_scan_free(&sc);
}

/* A photo (argv[1], the thumbnailer's fuzz seed) gets a thumbnail in the
 * body; a text file and a file posing as a JPEG get none. */
static void test_thumbs(const char *photo)
{
	char d[256], cmd[600];
	struct publish_scan sc;
	snprintf(d, sizeof(d), "%s/photos", top);
	CHECK_EQ(mkdir(d, 0700), 0);
	snprintf(cmd, sizeof(cmd), "cp %s %s/photos/beach.jpg", photo, top);
	CHECK_EQ(system(cmd), 0);
	put("photos/notes.txt", "not a photo\n");
	put("photos/fake.jpg", "\xff\xd8\xff but not a JPEG at all");
	CHECK_EQ(publish_scan_dir(d, &sc), 0);
	CHECK_EQ(sc.n, 3);
	size_t before = sc.body_len;
	CHECK_EQ(publish_scan_thumbs(&sc), 1);
	const struct publish_file *f = publish_scan_find(&sc, "beach.jpg", 9);
	CHECK(f && f->thumb && f->thumb_len > 0 && f->thumb_len <= FILES_INDEX_THUMB_MAX);
	CHECK(f && thumb_is_jpeg(f->thumb, f->thumb_len));
	CHECK(f && sc.body_len == before + f->thumb_len);
	f = publish_scan_find(&sc, "fake.jpg", 8);
	CHECK(f && f->thumb == NULL);
	int thumbs;
	CHECK_EQ(walk_body(&sc, &thumbs), 3);
	CHECK_EQ(thumbs, 1);
	publish_scan_free(&sc);
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	snprintf(top, sizeof(top), "/tmp/roam-pubscan-XXXXXX");
	if (!mkdtemp(top))
		return 1;
	test_walk();
	test_empty();
	if (argc > 1)
		test_thumbs(argv[1]);
	else
		CHECK(!"the photo's path");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		return 1;
	return check_report("test_publish_scan");
}
