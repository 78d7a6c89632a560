/* daemon/files/pull_serve.c with the puller's pieces (lib/files: the
 * scheduler, the tree checks) over socketpairs: three holders of one file,
 * one of which stops after a few chunks and one whose file is altered after
 * it was loaded (every chunk fails its hash: dropped after three); the pull completes
 * byte-identical. A file changed before loading is refused, an unknown hash
 * is NOT_FOUND, a request past the end is BAD_REQUEST; then pull_fetch_run
 * (pipelined, the tree from the first holder whose tree matches the root),
 * and resumed from a part (its good chunks kept, the damaged one asked). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../check.h"
#include "daemon/files/pull_fetch.h"
#include "daemon/files/pull_serve.h"
#include "daemon/files/worker.h"
#include "files/sources.h"

#define SIZE (3u * FILES_CHUNK_DEFAULT * 16 + 5) /* 49 chunks */

struct holder {
	int sock;
	int fd;
	int stop_after; /* requests answered before it goes away; 0 = never */
	struct pull_held held;
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;
	uint8_t buf[FILES_PULL_REQ_LEN];
	struct files_pull_req r;
	for (int n = 0; h->stop_after == 0 || n < h->stop_after; n++) {
		if (xfer_read_full(h->sock, buf, sizeof(buf)) < 0 || files_pull_req_parse(buf, sizeof(buf), &r) < 0 ||
		    pull_serve_request(h->sock, &r, &h->held) < 0)
			break;
	}
	shutdown(h->sock, SHUT_RDWR);
	return NULL;
}

/* One request, its reply and payload (into out, at most cap). */
static int ask(int sock, const struct files_pull_req *r, struct files_pull_reply *p, uint8_t *out, size_t cap)
{
	uint8_t req[FILES_PULL_REQ_LEN], rep[FILES_PULL_REPLY_LEN];
	files_pull_req_build(req, r);
	int ret = xfer_write_full(sock, req, sizeof(req));
	if (ret == 0)
		ret = xfer_read_full(sock, rep, sizeof(rep));
	if (ret == 0)
		ret = files_pull_reply_parse(rep, sizeof(rep), p);
	if (ret == 0 && p->payload_len > cap)
		ret = -EBADMSG;
	if (ret == 0 && p->payload_len)
		ret = xfer_read_full(sock, out, p->payload_len);
	return ret;
}

static int make_file(const char *path, uint8_t *data, uint8_t hash[FILES_HASH_LEN])
{
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (uint8_t)((i * 2654435761u) >> 11);
	crypto_generichash(hash, FILES_HASH_LEN, data, SIZE, NULL, 0);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, SIZE) != (ssize_t)SIZE)
		return -1;
	return fd;
}

static uint8_t data[SIZE], got[SIZE], chunk[FILES_CHUNK_DEFAULT];

static void test_three_holders(const char *path)
{
	uint8_t hash[FILES_HASH_LEN], root[FILES_HASH_LEN], groups[1][FILES_HASH_LEN];
	uint8_t (*hashes)[FILES_HASH_LEN] = calloc(FILES_TREE_GROUP, FILES_HASH_LEN);
	struct holder hs[3];
	pthread_t th[3];
	int fd = make_file(path, data, hash), mine[3];
	CHECK(fd >= 0);
	for (int i = 0; i < 3; i++) {
		int sv[2];
		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		hs[i] = (struct holder){ .sock = sv[0], .fd = fd, .stop_after = i == 1 ? 6 : 0 };
		mine[i] = sv[1];
		CHECK_EQ(pull_held_load(&hs[i].held, fd, SIZE, hash), 0);
	}
	memcpy(root, hs[0].held.root, sizeof(root));
	/* holder 2's copy goes bad after it was loaded: a second fd on an altered copy */
	char bad[256];
	snprintf(bad, sizeof(bad), "%s.bad", path);
	int bfd = open(bad, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	for (size_t k = 7; k < SIZE; k += FILES_CHUNK_DEFAULT)
		data[k] ^= 1; /* one bit in every chunk */
	CHECK(write(bfd, data, SIZE) == (ssize_t)SIZE);
	for (size_t k = 7; k < SIZE; k += FILES_CHUNK_DEFAULT)
		data[k] ^= 1;
	hs[2].held.fd = bfd;
	for (int i = 0; i < 3; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, holder_main, &hs[i]), 0);

	/* the tree from holder 0, checked against the root the index carries */
	struct files_tree_check c;
	struct files_pull_reply p;
	struct files_pull_req r = { .type = FILES_PULL_TREE, .chunk_size = FILES_CHUNK_DEFAULT };
	memcpy(r.hash, hash, FILES_HASH_LEN);
	CHECK_EQ(files_tree_check_init(&c, root, SIZE, FILES_CHUNK_DEFAULT, groups, hashes), 0);
	CHECK_EQ(ask(mine[0], &r, &p, chunk, sizeof(chunk)), 0);
	CHECK_EQ(p.size, SIZE);
	CHECK_EQ(files_tree_check_groups(&c, chunk, p.payload_len), 0);
	r.type = FILES_PULL_GROUP;
	CHECK_EQ(ask(mine[0], &r, &p, chunk, sizeof(chunk)), 0);
	CHECK_EQ(files_tree_check_hashes(&c, 0, chunk, p.payload_len), 0);

	/* round robin over the sources, one chunk each, until done */
	static uint16_t words[64];
	struct files_sched s;
	CHECK_EQ(files_sched_init(&s, words, c.chunks, FILES_CHUNK_DEFAULT), 0);
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(files_sched_add(&s, i, 0), 0);
	uint64_t now = 1;
	for (int guard = 0; guard < 1000 && !files_sched_complete(&s) && files_sched_active(&s) > 0; guard++) {
		for (unsigned i = 0; i < 3; i++) {
			uint32_t idx;
			if (files_sched_next(&s, i, now, &idx) != 1)
				continue;
			r = (struct files_pull_req){ .type = FILES_PULL_CHUNKS, .chunk_size = FILES_CHUNK_DEFAULT,
						     .first = idx, .count = 1 };
			memcpy(r.hash, hash, FILES_HASH_LEN);
			now += 1000;
			if (ask(mine[i], &r, &p, chunk, sizeof(chunk)) < 0 || p.status != FILES_PULL_OK) {
				files_sched_drop(&s, i, now);
				continue;
			}
			if (files_tree_check_chunk(&c, idx, chunk, p.payload_len) < 0) {
				files_sched_failed(&s, i, idx, now);
				continue;
			}
			memcpy(got + (size_t)idx * FILES_CHUNK_DEFAULT, chunk, p.payload_len);
			files_sched_done(&s, i, idx, p.payload_len, now, NULL);
		}
	}
	CHECK(files_sched_complete(&s));
	CHECK(memcmp(got, data, SIZE) == 0);
	CHECK_EQ(s.src[1].state, FILES_SRC_DROPPED); /* stopped */
	CHECK_EQ(s.src[2].state, FILES_SRC_DROPPED); /* bad chunks */
	CHECK_EQ(s.src[2].chunks, 0);
	CHECK(s.src[1].chunks >= 1);

	/* edges, on holder 0: unknown hash, past the end */
	r = (struct files_pull_req){ .type = FILES_PULL_CHUNKS, .chunk_size = FILES_CHUNK_DEFAULT, .first = 49, .count = 1 };
	memcpy(r.hash, hash, FILES_HASH_LEN);
	CHECK_EQ(ask(mine[0], &r, &p, chunk, sizeof(chunk)), 0);
	CHECK_EQ(p.status, FILES_PULL_BAD_REQUEST);
	r.hash[0] ^= 1;
	r.first = 0;
	CHECK_EQ(ask(mine[0], &r, &p, chunk, sizeof(chunk)), 0);
	CHECK_EQ(p.status, FILES_PULL_NOT_FOUND);
	r.hash[0] ^= 1;
	r.chunk_size = FILES_CHUNK_MIN;
	CHECK_EQ(ask(mine[0], &r, &p, chunk, sizeof(chunk)), 0);
	CHECK_EQ(p.status, FILES_PULL_BAD_REQUEST);

	for (int i = 0; i < 3; i++) {
		shutdown(mine[i], SHUT_RDWR);
		pthread_join(th[i], NULL);
		close(mine[i]);
		close(hs[i].sock);
		pull_held_free(&hs[i].held);
	}
	/* changed on disk before it is loaded: refused */
	struct pull_held h;
	CHECK_EQ(pull_held_load(&h, bfd, SIZE, hash), -ESTALE);
	CHECK_EQ(pull_held_load(&h, fd, SIZE + 1, hash), -ESTALE);
	close(bfd);
	close(fd);
	unlink(bad);
	free(hashes);
}

/* pull_fetch_run: the same three holders, and a fourth whose tree lies
 * (another file's, under our hash): dropped before any chunk; the pull is
 * pipelined and completes byte-identical, checked whole. */
static void test_fetch(const char *path)
{
	uint8_t hash[FILES_HASH_LEN], other_hash[FILES_HASH_LEN];
	struct holder hs[4];
	pthread_t th[4];
	int fd = make_file(path, data, hash);
	char bad[256], other[256], out[256];
	snprintf(bad, sizeof(bad), "%s.bad", path);
	snprintf(other, sizeof(other), "%s.other", path);
	snprintf(out, sizeof(out), "%s.out", path);
	int bfd = open(bad, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ofd = open(other, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int outfd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	for (size_t k = 7; k < SIZE; k += FILES_CHUNK_DEFAULT)
		data[k] ^= 1;
	CHECK(write(bfd, data, SIZE) == (ssize_t)SIZE);
	CHECK(write(ofd, data, SIZE) == (ssize_t)SIZE);
	crypto_generichash(other_hash, sizeof(other_hash), data, SIZE, NULL, 0);
	for (size_t k = 7; k < SIZE; k += FILES_CHUNK_DEFAULT)
		data[k] ^= 1;

	/* A generous timeout: only an honest holder slowed by a loaded machine
	 * could meet it (the stopping one closes its socket); at 2 s it did. */
	struct pull_fetch f = { .size = SIZE, .out_fd = outfd, .n = 4, .timeout_ms = 15000 };
	memcpy(f.hash, hash, FILES_HASH_LEN);
	for (int i = 0; i < 4; i++) {
		int sv[2];
		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		hs[i] = (struct holder){ .sock = sv[0], .fd = fd, .stop_after = i == 2 ? 8 : 0 };
		f.socks[i] = sv[1];
		if (i == 0) { /* the liar first: its tree is another file's */
			CHECK_EQ(pull_held_load(&hs[i].held, ofd, SIZE, other_hash), 0);
			memcpy(hs[i].held.hash, hash, FILES_HASH_LEN);
		} else {
			CHECK_EQ(pull_held_load(&hs[i].held, fd, SIZE, hash), 0);
		}
	}
	memcpy(f.root, hs[1].held.root, FILES_HASH_LEN);
	hs[3].held.fd = bfd; /* altered after loading: every chunk fails */
	for (int i = 0; i < 4; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, holder_main, &hs[i]), 0);
	CHECK_EQ(pull_fetch_run(&f), 0);
	CHECK(pread(outfd, got, SIZE, 0) == (ssize_t)SIZE && memcmp(got, data, SIZE) == 0);
	CHECK_EQ(f.sched.src[0].state, FILES_SRC_DROPPED);
	CHECK_EQ(f.sched.src[0].chunks, 0);
	/* The altered holder contributes nothing. Dropped once three of its
	 * chunks failed; the honest ones may finish the file before its third
	 * answer is read (1 run in 20): then it has fewer than three failures. */
	CHECK(f.sched.src[3].state == FILES_SRC_DROPPED || f.sched.src[3].errors < 3);
	CHECK_EQ(f.sched.src[3].chunks, 0);
	CHECK_EQ(f.sched.src[1].state, FILES_SRC_ACTIVE);
	CHECK(f.sched.src[1].chunks > 0);
	CHECK_EQ(f.sched.src[1].chunks + f.sched.src[2].chunks, 49);
	for (int i = 0; i < 4; i++) {
		shutdown(f.socks[i], SHUT_RDWR);
		pthread_join(th[i], NULL);
		close(f.socks[i]);
		close(hs[i].sock);
		pull_held_free(&hs[i].held);
	}

	/* no honest holder: the liar and the altered one only */
	struct holder h2[2];
	pthread_t t2[2];
	struct pull_fetch g = { .size = SIZE, .out_fd = outfd, .n = 2, .timeout_ms = 2000 };
	memcpy(g.hash, hash, FILES_HASH_LEN);
	memcpy(g.root, f.root, FILES_HASH_LEN);
	for (int i = 0; i < 2; i++) {
		int sv[2];
		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		h2[i] = (struct holder){ .sock = sv[0] };
		g.socks[i] = sv[1];
		CHECK_EQ(pull_held_load(&h2[i].held, i == 0 ? ofd : fd, SIZE, i == 0 ? other_hash : hash), 0);
		if (i == 0)
			memcpy(h2[i].held.hash, hash, FILES_HASH_LEN);
		else
			h2[i].held.fd = bfd;
		CHECK_EQ(pthread_create(&t2[i], NULL, holder_main, &h2[i]), 0);
	}
	CHECK_EQ(pull_fetch_run(&g), -EIO);
	for (int i = 0; i < 2; i++) {
		shutdown(g.socks[i], SHUT_RDWR);
		pthread_join(t2[i], NULL);
		close(g.socks[i]);
		close(h2[i].sock);
		pull_held_free(&h2[i].held);
	}
	close(fd);
	close(bfd);
	close(ofd);
	close(outfd);
	unlink(bad);
	unlink(other);
	unlink(out);
}

static int progress_calls;
static int count_progress(void *ctx, const struct files_sched *s)
{
	(void)ctx;
	(void)s;
	progress_calls++;
	return 0;
}

static int stop_at_once(void *ctx, const struct files_sched *s)
{
	(void)ctx;
	(void)s;
	return -ECANCELED;
}

/* A resumed pull: a part holding chunks 0..29, chunk 5 damaged, nothing
 * after: the 28 good chunks are kept, only chunk 5 and 30..48 are asked;
 * progress is reported; a progress callback's error stops the pull. */
static void test_resume(const char *path)
{
	uint8_t hash[FILES_HASH_LEN];
	int fd = make_file(path, data, hash);
	char out[256];
	snprintf(out, sizeof(out), "%s.part", path);
	int outfd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(write(outfd, data, 30 * FILES_CHUNK_DEFAULT) == (ssize_t)(30 * FILES_CHUNK_DEFAULT));
	CHECK(pwrite(outfd, "x", 1, 5 * FILES_CHUNK_DEFAULT + 100) == 1);
	for (int round = 0; round < 2; round++) {
		struct holder h;
		pthread_t th;
		int sv[2];
		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		h = (struct holder){ .sock = sv[0], .fd = fd };
		CHECK_EQ(pull_held_load(&h.held, fd, SIZE, hash), 0);
		struct pull_fetch f = { .size = SIZE, .out_fd = outfd, .n = 1, .timeout_ms = 15000, .resume = true,
					.progress = round == 0 ? stop_at_once : count_progress };
		memcpy(f.hash, hash, FILES_HASH_LEN);
		memcpy(f.root, h.held.root, FILES_HASH_LEN);
		f.socks[0] = sv[1];
		CHECK_EQ(pthread_create(&th, NULL, holder_main, &h), 0);
		if (round == 0) {
			CHECK_EQ(pull_fetch_run(&f), -ECANCELED);
		} else {
			progress_calls = 0;
			CHECK_EQ(pull_fetch_run(&f), 0);
			CHECK_EQ(f.sched.src[0].chunks, 20); /* chunk 5, and 30..48 */
			CHECK(progress_calls >= 2);
			CHECK(pread(outfd, got, SIZE, 0) == (ssize_t)SIZE && memcmp(got, data, SIZE) == 0);
		}
		shutdown(sv[1], SHUT_RDWR);
		pthread_join(th, NULL);
		close(sv[0]);
		close(sv[1]);
		pull_held_free(&h.held);
	}
	close(fd);
	close(outfd);
	unlink(out);
}

int main(void)
{
	char path[] = "/tmp/roam-pullserve-XXXXXX";
	int t = mkstemp(path);
	if (sodium_init() < 0 || t < 0)
		return 1;
	close(t);
	test_three_holders(path);
	test_fetch(path);
	test_resume(path);
	unlink(path);
	return check_report("test_pull_serve");
}
