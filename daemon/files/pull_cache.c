/* A pull from the publisher's encrypted copy on the server (pull_job.h),
 * when no holder is online and the index names a copy (roam publish
 * --cache; docs/files.md "Cached copies"). Chunk by chunk, in order, with
 * index_cache_read (each chunk authenticated under the copy's key, which
 * only the publisher's sealed index carries); the whole file is then read
 * once more and must give the index's BLAKE2b-256 and chunk-tree root.
 * A part left by a break continues at its last whole chunk: a bad byte
 * before it fails that final check, and the part is dropped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/files/index_cache.h"
#include "daemon/files/pull_job.h"
#include "files/pull.h"

static void progress(struct xfer *x, uint64_t done, uint64_t start_ns, uint64_t start_bytes, bool first)
{
	uint64_t now = worker_now_ns();
	pthread_mutex_lock(&xfer_worker->lock);
	if (first) {
		x->state = XFER_RECEIVING;
		x->run_start_bytes = done;
		x->run_start_ns = now;
	}
	x->done = done;
	x->n_src = 1;
	snprintf(x->src[0].peer, sizeof(x->src[0].peer), "server");
	x->src[0].bytes = done - start_bytes;
	x->src[0].rate = now > start_ns ? (uint64_t)((double)(done - start_bytes) * 1e9 / (double)(now - start_ns)) : 0;
	x->src[0].active = true;
	worker_changed(xfer_worker, x);
	pthread_mutex_unlock(&xfer_worker->lock);
}

/* The whole part against the index's hash and root. */
static int check(const struct xfer *x, int fd, uint8_t *buf)
{
	struct files_tree_builder b;
	uint8_t hash[FILES_HASH_LEN], root[FILES_HASH_LEN];
	int ret = files_tree_builder_init(&b, x->size, FILES_CHUNK_DEFAULT);
	for (uint64_t off = 0; ret == 0 && off < x->size;) {
		size_t want = x->size - off < FILES_CHUNK_DEFAULT ? (size_t)(x->size - off) : FILES_CHUNK_DEFAULT;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n <= 0)
			return n < 0 ? -errno : -EBADMSG;
		ret = files_tree_builder_update(&b, buf, (size_t)n);
		off += (uint64_t)n;
	}
	if (ret == 0)
		ret = files_tree_builder_final(&b, hash, root);
	if (ret == 0 && (sodium_memcmp(hash, x->hash, FILES_HASH_LEN) != 0 ||
			 sodium_memcmp(root, x->root, FILES_HASH_LEN) != 0))
		ret = -EBADMSG;
	return ret < 0 ? -EBADMSG : 0;
}

int pull_cache_run(struct xfer *x, int fd, uint64_t have, char *why, size_t why_size)
{
	uint32_t chunks;
	int ret = files_tree_chunks(x->size, FILES_CHUNK_DEFAULT, &chunks);
	uint8_t *buf = malloc(FILES_CHUNK_DEFAULT);
	if (ret < 0 || !buf) {
		free(buf);
		snprintf(why, why_size, "%s", strerror(ret < 0 ? -ret : ENOMEM));
		return ret < 0 ? ret : -ENOMEM;
	}
	uint32_t first = (uint32_t)(have / FILES_CHUNK_DEFAULT);
	uint64_t start_bytes = (uint64_t)first * FILES_CHUNK_DEFAULT, start_ns = worker_now_ns();
	progress(x, start_bytes < x->size ? start_bytes : x->size, start_ns, start_bytes, true);
	for (uint32_t i = first; ret == 0 && i < chunks; i++) {
		long n = index_cache_read(x->publisher_id, &x->cache_e, i, buf);
		if (n < 0) {
			ret = (int)n;
			snprintf(why, why_size, "the server's copy: %s (pulling again continues it)",
				 n == -ENOENT ? "gone, or not for us" : n == -EBADMSG ? "altered" : strerror((int)-n));
		} else if (pwrite(fd, buf, (size_t)n, (off_t)((uint64_t)i * FILES_CHUNK_DEFAULT)) != n) {
			ret = -EIO;
			snprintf(why, why_size, "cannot write the part");
		} else {
			progress(x, (uint64_t)i * FILES_CHUNK_DEFAULT + (uint64_t)n, start_ns, start_bytes, false);
			ret = xfer_cancelled(x) ? -ECANCELED : 0;
		}
	}
	if (ret == 0 && (ret = check(x, fd, buf)) < 0)
		snprintf(why, why_size, "the file does not hash to what was asked");
	free(buf);
	return ret;
}
