/* `roam publish --cache` (index_cache.h): each published file's encrypted
 * copy uploaded for a group, and the index body that names them. */
#include "daemon/files/index_cache.h"
#include "daemon/files/index_fetch.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "daemon/files/pull_host.h"
#include "daemon/files/worker.h"
#include "util/log.h"

#define PIECE (60 * 1024) /* one PUT (the server's FINDEX_CHUNK_MAX) */

struct copy_upload {
	char id[2 * FILES_INDEX_CACHE_ID_LEN + 1];
	uint64_t sent;
	uint8_t buf[PIECE + FILES_CHUNK_DEFAULT + FILES_CACHED_CHUNK_OVERHEAD];
	size_t held;
};

/* PUTs whole pieces from u->buf (all of it when last). */
static int flush(struct copy_upload *u, bool last)
{
	while (u->held >= PIECE || (last && u->held)) {
		size_t n = u->held < PIECE ? u->held : PIECE;
		char target[160];
		cJSON *j;
		snprintf(target, sizeof(target), "/v1/files/index/blob?id=%s&offset=%llu", u->id, (unsigned long long)u->sent);
		long st = offline_call("PUT", target, u->buf, n, &j);
		bool ok = st == 200 && offline_jnum(j, "received") == (double)(u->sent + n);
		cJSON_Delete(j);
		if (!ok)
			return st == 507 ? -EDQUOT : st < 0 ? -EHOSTUNREACH : -EIO;
		u->sent += n;
		memmove(u->buf, u->buf + n, u->held - n);
		u->held -= n;
	}
	return 0;
}

/* One file: a fresh key, the copy created on the server for group and
 * uploaded chunk by chunk; e's cache fields set. */
static int copy_one(struct files_index_entry *e, const char *group, uint64_t gen, struct copy_upload *u)
{
	static __thread uint8_t plain[FILES_CHUNK_DEFAULT];
	uint64_t size, csize;
	char target[200];
	cJSON *j;
	int fd = pull_host_open(e->hash, &size), ret;
	if (fd < 0)
		return fd;
	if (size != e->size || files_cached_size(size, &csize) < 0) {
		close(fd);
		return -ESTALE;
	}
	snprintf(target, sizeof(target), "/v1/files/index/blob?group=%s&seq=%llu&size=%llu", group, (unsigned long long)gen,
		 (unsigned long long)csize);
	long st = offline_call("POST", target, "", 0, &j);
	const char *id = offline_jstr(j, "id");
	ret = st == 201 && strlen(id) == 2 * FILES_INDEX_CACHE_ID_LEN ? 0 : st == 507 ? -EDQUOT : -EIO;
	if (ret == 0)
		snprintf(u->id, sizeof(u->id), "%s", id);
	cJSON_Delete(j);
	u->sent = 0;
	u->held = 0;
	crypto_random(e->cache_key, FILES_KEY_LEN);
	uint32_t chunks = size ? (uint32_t)((size + FILES_CHUNK_DEFAULT - 1) / FILES_CHUNK_DEFAULT) : 1;
	for (uint32_t i = 0; ret == 0 && i < chunks; i++) {
		size_t len = size - (uint64_t)i * FILES_CHUNK_DEFAULT < FILES_CHUNK_DEFAULT
				     ? (size_t)(size - (uint64_t)i * FILES_CHUNK_DEFAULT)
				     : FILES_CHUNK_DEFAULT;
		ret = xfer_read_full(fd, plain, len) < 0 ? -EIO
		      : files_cached_chunk_seal(u->buf + u->held, plain, len, size, i, e->cache_key) < 0 ? -EINVAL
													  : 0;
		if (ret == 0) {
			u->held += len + FILES_CACHED_CHUNK_OVERHEAD;
			ret = flush(u, i + 1 == chunks);
		}
	}
	close(fd);
	crypto_wipe(plain, sizeof(plain));
	if (ret < 0) {
		crypto_wipe(e->cache_key, FILES_KEY_LEN);
		return ret;
	}
	for (size_t i = 0; i < FILES_INDEX_CACHE_ID_LEN; i++) {
		unsigned v;
		sscanf(u->id + 2 * i, "%2x", &v);
		e->cache_id[i] = (uint8_t)v;
	}
	e->cached = true;
	return 0;
}

#ifdef ROAM_TEST_HOOKS
/* ROAM_TEST_FILES_CACHE_BREAK=N: the first upload stops after N copies as
 * if the server stopped answering (t_files_ls: the retry leaves no stray). */
static bool test_break(size_t done)
{
	static atomic_bool broke;
	const char *v = getenv("ROAM_TEST_FILES_CACHE_BREAK");
	if (!v || (size_t)atol(v) != done || atomic_exchange(&broke, true))
		return false;
	log_warn("files: (test) the server stops answering after %zu copies", done);
	return true;
}
#else
static bool test_break(size_t done)
{
	(void)done;
	return false;
}
#endif

int index_cache_group(const char *group, uint64_t gen, const uint8_t *body, size_t len, uint8_t **out,
		      size_t *out_len)
{
	struct files_index_iter it;
	struct files_index_entry *e = NULL;
	struct copy_upload *u = malloc(sizeof(*u));
	size_t n = 0, cached = 0, need;
	int ret = u ? files_index_iter_init(&it, body, len) : -ENOMEM;
	if (ret == 0 && !(e = calloc(it.count ? it.count : 1, sizeof(*e))))
		ret = -ENOMEM;
	int r = 1;
	while (ret == 0 && n < it.count && (r = files_index_next(&it, &e[n])) == 1)
		n++;
	if (ret == 0 && r < 0)
		ret = r;
	for (size_t i = 0; ret == 0 && i < n; i++) {
		r = test_break(cached) ? -EHOSTUNREACH : copy_one(&e[i], group, gen, u);
		if (r == -EDQUOT || r == -EHOSTUNREACH)
			ret = r; /* the rest would fail the same way */
		else if (r < 0)
			log_warn("files: no copy of %.*s on the server: %s", (int)e[i].path_len, e[i].path, strerror(-r));
		cached += r == 0;
	}
	uint8_t *buf = NULL;
	if (ret == 0 && (ret = files_index_body_len(e, n, &need)) == 0)
		ret = (buf = malloc(need)) ? files_index_body_put(buf, need, e, n) : -ENOMEM;
	for (size_t i = 0; e && i < n; i++)
		crypto_wipe(e[i].cache_key, FILES_KEY_LEN);
	free(e);
	free(u);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	*out = buf; /* ownership to the caller */
	*out_len = need;
	log_info("files: %zu of %zu published files copied to the server for %s", cached, n, group);
	return (int)cached;
}

/* One reply's bytes: a whole cached chunk in the binary form (the server's
 * FBLOB_DOWNLOAD_BIN_MAX), 45 KiB of base64 in JSON from an older server. */
#define DOWNLOAD_MAX (FILES_CHUNK_DEFAULT + FILES_CACHED_CHUNK_OVERHEAD)

static int fetch_range(uint32_t publisher, const char *id, uint64_t offset, uint8_t *out, size_t len)
{
	static __thread uint8_t piece[DOWNLOAD_MAX];
	while (len) {
		char target[200];
		cJSON *j;
		size_t got = 0;
		snprintf(target, sizeof(target), "/v1/files/index/blob?node=%u&id=%s&offset=%llu", publisher, id,
			 (unsigned long long)offset);
		long r = offline_get_bytes(target, piece, sizeof(piece), &got, &j);
		if (r == 200 && j) /* an older server: base64 in JSON */
			r = index_json_piece(r, j, offset, piece, sizeof(piece));
		else if (r == 200)
			r = (long)got;
		else
			r = index_status_errno(r);
		cJSON_Delete(j);
		if (r <= 0)
			return r < 0 ? (int)r : -EIO;
		size_t n = (size_t)r < len ? (size_t)r : len;
		memcpy(out, piece, n);
		out += n;
		offset += n;
		len -= n;
	}
	return 0;
}

long index_cache_read(uint32_t publisher, const struct files_index_entry *e, uint32_t index, uint8_t *out)
{
	static __thread uint8_t cipher[FILES_CHUNK_DEFAULT + FILES_CACHED_CHUNK_OVERHEAD];
	char id[2 * FILES_INDEX_CACHE_ID_LEN + 1];
	uint64_t start = (uint64_t)index * FILES_CHUNK_DEFAULT;
	if (!e->cached || (start >= e->size && !(e->size == 0 && index == 0)))
		return -ENOENT;
	size_t len = e->size - start < FILES_CHUNK_DEFAULT ? (size_t)(e->size - start) : FILES_CHUNK_DEFAULT;
	for (size_t i = 0; i < FILES_INDEX_CACHE_ID_LEN; i++)
		snprintf(id + 2 * i, 3, "%02x", e->cache_id[i]);
	int r = fetch_range(publisher, id, (uint64_t)index * (FILES_CHUNK_DEFAULT + FILES_CACHED_CHUNK_OVERHEAD), cipher,
			    len + FILES_CACHED_CHUNK_OVERHEAD);
	if (r == 0)
		r = files_cached_chunk_open(out, cipher, len + FILES_CACHED_CHUNK_OVERHEAD, e->size, index, e->cache_key);
	return r < 0 ? r : (long)len;
}
