/* daemon/files/pull_host.c: a published directory served to pullers over
 * socketpairs, as the file worker does for a connection starting "RFG1".
 * Two connections pull a published file with pull_fetch_run (byte-identical,
 * root from the scan); a hash not published, a file outside DIR with the
 * same content as nothing published, and everything after unpublish get
 * NOT_FOUND; a file changed since publishing is not served; connections
 * over the cap are BUSY; the chunk hashes are computed once for all
 * connections, and again once the file changed. LOOKUP answers a
 * published path (hash and root) and nothing else; a held file (received or
 * pulled) is served by hash until deleted, at most PULL_HOST_MAX_HELD. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "daemon/files/publish_scan.h"
#include "daemon/files/pull_fetch.h"
#include "daemon/files/pull_host.h"
#include "daemon/files/worker.h"

#define SIZE (5u * FILES_CHUNK_DEFAULT + 123)

static uint8_t data[SIZE], got[SIZE];

static void *serve_main(void *arg)
{
	int sock = *(int *)arg;
	uint8_t first[4];
	if (xfer_read_full(sock, first, sizeof(first)) == 0)
		pull_host_serve(sock, first);
	shutdown(sock, SHUT_RDWR);
	return NULL;
}

struct conn {
	int sv[2];
	pthread_t th;
};

/* A TREE request for hash on a new connection, left open: the reply's status. */
static int conn_open(struct conn *c, const uint8_t hash[FILES_HASH_LEN])
{
	int st = -1;
	uint8_t req[FILES_PULL_REQ_LEN], rep[FILES_PULL_REPLY_LEN];
	struct files_pull_req r = { .type = FILES_PULL_TREE, .chunk_size = FILES_CHUNK_DEFAULT };
	struct files_pull_reply p;
	memcpy(r.hash, hash, FILES_HASH_LEN);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c->sv) < 0)
		return -1;
	CHECK_EQ(pthread_create(&c->th, NULL, serve_main, &c->sv[0]), 0);
	files_pull_req_build(req, &r);
	if (xfer_write_full(c->sv[1], req, sizeof(req)) == 0 && xfer_read_full(c->sv[1], rep, sizeof(rep)) == 0 &&
	    files_pull_reply_parse(rep, sizeof(rep), &p) == 0)
		st = (int)p.status;
	return st;
}

static void conn_close(struct conn *c)
{
	shutdown(c->sv[1], SHUT_RDWR);
	pthread_join(c->th, NULL);
	close(c->sv[0]);
	close(c->sv[1]);
}

/* One TREE request for hash on a fresh connection: the reply's status. */
static int tree_status(const uint8_t hash[FILES_HASH_LEN])
{
	struct conn c;
	int st = conn_open(&c, hash);
	conn_close(&c);
	return st;
}

/* A LOOKUP of path: the reply's status, and an OK's payload into out. */
static int lookup_status(const char *path, uint8_t out[FILES_PULL_LOOKUP_LEN], uint64_t *size)
{
	struct conn c;
	int st = -1;
	uint8_t req[FILES_PULL_REQ_LEN], rep[FILES_PULL_REPLY_LEN];
	struct files_pull_req r = { .type = FILES_PULL_LOOKUP, .chunk_size = FILES_CHUNK_DEFAULT };
	struct files_pull_reply p;
	files_pull_path_key(path, strlen(path), r.hash);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c.sv), 0);
	CHECK_EQ(pthread_create(&c.th, NULL, serve_main, &c.sv[0]), 0);
	files_pull_req_build(req, &r);
	if (xfer_write_full(c.sv[1], req, sizeof(req)) == 0 && xfer_read_full(c.sv[1], rep, sizeof(rep)) == 0 &&
	    files_pull_reply_parse(rep, sizeof(rep), &p) == 0 && p.type == FILES_PULL_LOOKUP &&
	    p.payload_len == (p.status == FILES_PULL_OK ? FILES_PULL_LOOKUP_LEN : 0) &&
	    (p.payload_len == 0 || xfer_read_full(c.sv[1], out, FILES_PULL_LOOKUP_LEN) == 0)) {
		st = (int)p.status;
		*size = p.size;
	}
	conn_close(&c);
	return st;
}

/* A received or pulled file served as held, by hash, until it is deleted;
 * at most PULL_HOST_MAX_HELD. */
static void test_held(const char *path, const uint8_t hash[FILES_HASH_LEN])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(tree_status(hash), FILES_PULL_NOT_FOUND);
	CHECK_EQ(pull_host_hold(fd, hash, SIZE), 0);
	CHECK_EQ(tree_status(hash), FILES_PULL_OK);
	CHECK_EQ(pull_host_hold(fd, hash, SIZE), 0); /* the same hash again: one entry */
	CHECK_EQ(pull_host_held(), 1);
	for (unsigned i = 0; i < PULL_HOST_MAX_HELD + 3; i++) {
		uint8_t fake[FILES_HASH_LEN] = { 0xee, (uint8_t)i };
		CHECK_EQ(pull_host_hold(fd, fake, SIZE), 0);
	}
	CHECK_EQ(pull_host_held(), PULL_HOST_MAX_HELD);
	CHECK_EQ(tree_status(hash), FILES_PULL_NOT_FOUND); /* the oldest went */
	CHECK_EQ(pull_host_hold(fd, hash, SIZE), 0);
	CHECK_EQ(tree_status(hash), FILES_PULL_OK);
	uint8_t wrong[FILES_HASH_LEN] = { 0xee, 1 }; /* held under a hash it does not have: refused at load */
	CHECK_EQ(tree_status(wrong), FILES_PULL_NOT_FOUND);
	close(fd);
	unlink(path); /* deleted: no longer served */
	CHECK_EQ(tree_status(hash), FILES_PULL_NOT_FOUND);
}

/* PULL_HOST_MAX_CONNS connections being served: one more is BUSY. */
static void test_busy(const uint8_t hash[FILES_HASH_LEN])
{
	struct conn c[PULL_HOST_MAX_CONNS + 1];
	for (int i = 0; i < PULL_HOST_MAX_CONNS; i++)
		CHECK_EQ(conn_open(&c[i], hash), FILES_PULL_OK);
	CHECK_EQ(conn_open(&c[PULL_HOST_MAX_CONNS], hash), FILES_PULL_BUSY);
	for (int i = 0; i <= PULL_HOST_MAX_CONNS; i++)
		conn_close(&c[i]);
	CHECK_EQ(tree_status(hash), FILES_PULL_OK); /* the count went back down */
	/* the chunk hashes were computed once, not once per connection */
	CHECK(pull_host_cache_hits() >= PULL_HOST_MAX_CONNS);
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

int main(void)
{
	char dir[] = "/tmp/roam-pullhost-XXXXXX", path[256], out[256], outside[256];
	struct publish_scan sc;
	if (sodium_init() < 0 || !mkdtemp(dir))
		return 1;
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (uint8_t)(i * 7 + (i >> 9));
	snprintf(path, sizeof(path), "%s/pub", dir);
	CHECK_EQ(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/pub/a.bin", dir);
	write_file(path, data, SIZE);
	snprintf(outside, sizeof(outside), "%s/outside.bin", dir);
	data[0] ^= 1;
	write_file(outside, data, SIZE);
	data[0] ^= 1;
	snprintf(out, sizeof(out), "%s/pub", dir);
	CHECK_EQ(publish_scan_dir(out, &sc), 0);
	CHECK_EQ(sc.n, 1);

	uint8_t none[FILES_HASH_LEN] = { 0 };
	CHECK_EQ(tree_status(sc.files[0].hash), FILES_PULL_NOT_FOUND); /* nothing published yet */
	CHECK_EQ(pull_host_publish(out, NULL, 0), 1);
	CHECK_EQ(pull_host_count(), 1);
	CHECK_EQ(tree_status(sc.files[0].hash), FILES_PULL_OK);
	CHECK_EQ(tree_status(none), FILES_PULL_NOT_FOUND);
	uint8_t outside_hash[FILES_HASH_LEN];
	data[0] ^= 1;
	crypto_generichash(outside_hash, sizeof(outside_hash), data, SIZE, NULL, 0);
	data[0] ^= 1;
	CHECK_EQ(tree_status(outside_hash), FILES_PULL_NOT_FOUND);
	test_busy(sc.files[0].hash);

	/* two holders' connections: the pull completes byte-identical */
	snprintf(out, sizeof(out), "%s/out.bin", dir);
	int outfd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct pull_fetch f = { .size = SIZE, .out_fd = outfd, .n = 2, .timeout_ms = 2000 };
	int sv[2][2];
	pthread_t th[2];
	memcpy(f.hash, sc.files[0].hash, FILES_HASH_LEN);
	memcpy(f.root, sc.files[0].root, FILES_HASH_LEN);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]), 0);
		f.socks[i] = sv[i][1];
		CHECK_EQ(pthread_create(&th[i], NULL, serve_main, &sv[i][0]), 0);
	}
	CHECK_EQ(pull_fetch_run(&f), 0);
	CHECK(pread(outfd, got, SIZE, 0) == (ssize_t)SIZE && memcmp(got, data, SIZE) == 0);
	for (int i = 0; i < 2; i++) {
		shutdown(sv[i][1], SHUT_RDWR);
		pthread_join(th[i], NULL);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	close(outfd);

	/* LOOKUP: a published path gives its hash and root; another, nothing */
	uint8_t lk[FILES_PULL_LOOKUP_LEN];
	uint64_t lsize = 0;
	CHECK_EQ(lookup_status("a.bin", lk, &lsize), FILES_PULL_OK);
	CHECK_EQ(lsize, SIZE);
	CHECK_MEM(lk, sc.files[0].hash, FILES_HASH_LEN);
	CHECK_MEM(lk + FILES_HASH_LEN, sc.files[0].root, FILES_HASH_LEN);
	CHECK_EQ(lookup_status("b.bin", lk, &lsize), FILES_PULL_NOT_FOUND);
	CHECK_EQ(lookup_status("outside.bin", lk, &lsize), FILES_PULL_NOT_FOUND);
	test_held(outside, outside_hash);

	/* changed since it was published: not served */
	data[5] ^= 1;
	write_file(path, data, SIZE);
	CHECK_EQ(tree_status(sc.files[0].hash), FILES_PULL_NOT_FOUND);
	/* published again: the new content is served, then nothing at all */
	snprintf(out, sizeof(out), "%s/pub", dir);
	CHECK_EQ(pull_host_publish(out, NULL, 0), 1);
	CHECK_EQ(tree_status(sc.files[0].hash), FILES_PULL_NOT_FOUND);
	uint8_t new_hash[FILES_HASH_LEN];
	crypto_generichash(new_hash, sizeof(new_hash), data, SIZE, NULL, 0);
	CHECK_EQ(tree_status(new_hash), FILES_PULL_OK);
	pull_host_unpublish();
	CHECK_EQ(tree_status(new_hash), FILES_PULL_NOT_FOUND);
	CHECK_EQ(pull_host_count(), 0);
	CHECK_EQ(lookup_status("a.bin", lk, &lsize), FILES_PULL_NOT_FOUND);
	/* in a thread, as the worker does */
	CHECK_EQ(pull_host_publish_start(out), 0);
	for (int i = 0; i < 500 && pull_host_count() == 0; i++)
		usleep(10 * 1000);
	CHECK_EQ(pull_host_count(), 1);
	CHECK_EQ(tree_status(new_hash), FILES_PULL_OK);
	pull_host_unpublish();

	publish_scan_free(&sc);
	unlink(path);
	unlink(outside);
	snprintf(out, sizeof(out), "%s/out.bin", dir);
	unlink(out);
	snprintf(out, sizeof(out), "%s/pub", dir);
	rmdir(out);
	rmdir(dir);
	pull_host_free();
	return check_report("test_pull_host");
}
