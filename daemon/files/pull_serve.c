/* A PULL request answered by the holder (pull_serve.h). */
#include "daemon/files/pull_serve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/files/worker.h"

int pull_held_load(struct pull_held *h, int fd, uint64_t size, const uint8_t hash[FILES_HASH_LEN])
{
	struct files_tree_builder b;
	uint8_t file_hash[FILES_HASH_LEN], *buf = NULL;
	uint32_t chunks;
	int ret = files_tree_chunks(size, FILES_CHUNK_DEFAULT, &chunks);

	if (ret < 0)
		return ret;
	memset(h, 0, sizeof(*h));
	h->chunk_hashes = malloc((size_t)chunks * FILES_HASH_LEN);
	buf = malloc(FILES_CHUNK_DEFAULT);
	if (!h->chunk_hashes || !buf) {
		ret = -ENOMEM;
		goto out;
	}
	files_tree_builder_init(&b, size, FILES_CHUNK_DEFAULT);
	for (uint32_t i = 0; i < chunks; i++) {
		uint64_t off = (uint64_t)i * FILES_CHUNK_DEFAULT;
		size_t want = size - off < FILES_CHUNK_DEFAULT ? (size_t)(size - off) : FILES_CHUNK_DEFAULT;
		ssize_t n = want ? pread(fd, buf, want, (off_t)off) : 0;
		if (n < 0 || (size_t)n != want) {
			ret = n < 0 ? -errno : -ESTALE;
			goto out;
		}
		files_tree_chunk_hash(buf, want, h->chunk_hashes + (size_t)i * FILES_HASH_LEN);
		files_tree_builder_update(&b, buf, want);
	}
	ret = files_tree_builder_final(&b, file_hash, h->root);
	if (ret == 0 && sodium_memcmp(file_hash, hash, FILES_HASH_LEN) != 0)
		ret = -ESTALE;
	if (ret < 0)
		goto out;
	h->fd = fd;
	h->size = size;
	h->chunks = chunks;
	memcpy(h->hash, hash, FILES_HASH_LEN);
out:
	free(buf);
	if (ret < 0) {
		free(h->chunk_hashes);
		h->chunk_hashes = NULL;
	}
	return ret;
}

void pull_held_free(struct pull_held *h)
{
	if (!h)
		return;
	free(h->chunk_hashes);
	h->chunk_hashes = NULL;
}

static int reply(int sock, const struct files_pull_req *r, enum files_pull_status st, uint64_t size, uint32_t len)
{
	uint8_t out[FILES_PULL_REPLY_LEN];
	struct files_pull_reply p = { r->type, st, size, len };
	files_pull_reply_build(out, &p);
	return xfer_write_full(sock, out, sizeof(out));
}

static int send_groups(int sock, const struct pull_held *h)
{
	uint32_t ng = files_tree_groups(h->chunks);
	for (uint32_t g = 0; g < ng; g++) {
		uint8_t gh[FILES_HASH_LEN];
		uint32_t first = g * FILES_TREE_GROUP;
		uint32_t n = h->chunks - first < FILES_TREE_GROUP ? h->chunks - first : FILES_TREE_GROUP;
		files_tree_group_hash(h->chunk_hashes + (size_t)first * FILES_HASH_LEN, n, gh);
		int ret = xfer_write_full(sock, gh, sizeof(gh));
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int send_chunks(int sock, const struct pull_held *h, uint64_t off, uint32_t len)
{
	static __thread uint8_t buf[FILES_CHUNK_DEFAULT];
	while (len > 0) {
		size_t want = len < sizeof(buf) ? len : sizeof(buf);
		ssize_t n = pread(h->fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ESTALE : -errno; /* shrank: the puller's check fails, we close */
		int ret = xfer_write_full(sock, buf, (size_t)n);
		if (ret < 0)
			return ret;
		off += (uint64_t)n;
		len -= (uint32_t)n;
	}
	return 0;
}

int pull_serve_request(int sock, const struct files_pull_req *r, const struct pull_held *h)
{
	uint32_t len;
	if (!h || r->type == FILES_PULL_LOOKUP || sodium_memcmp(r->hash, h->hash, FILES_HASH_LEN) != 0)
		return reply(sock, r, FILES_PULL_NOT_FOUND, 0, 0); /* a path is looked up in pull_host.c */
	/* chunk hashes are kept at the default chunk size only */
	if (r->chunk_size != FILES_CHUNK_DEFAULT || files_pull_payload_len(r, h->size, &len) < 0)
		return reply(sock, r, FILES_PULL_BAD_REQUEST, 0, 0);
	int ret = reply(sock, r, FILES_PULL_OK, h->size, len);
	if (ret < 0)
		return ret;
	switch (r->type) {
	case FILES_PULL_TREE:
		return send_groups(sock, h);
	case FILES_PULL_GROUP:
		return xfer_write_full(sock, h->chunk_hashes + (size_t)r->first * FILES_TREE_GROUP * FILES_HASH_LEN, len);
	case FILES_PULL_CHUNKS:
		return send_chunks(sock, h, (uint64_t)r->first * FILES_CHUNK_DEFAULT, len);
	case FILES_PULL_LOOKUP:
		break;
	}
	return -EINVAL;
}
