/* A peer's published index from the server, opened (index_fetch.h). */
#include "daemon/files/index_fetch.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/files/index_seen.h"
#include "daemon/files/worker.h"
#include "util/log.h"

#define FETCH_TRIES 3 /* the index replaced while we read it: start over, this often */

int index_status_errno(long st)
{
	if (st == 404)
		return -ENOENT;
	if (st == -ENOTCONN || st == -EIO || st == -EBADMSG)
		return -EHOSTUNREACH; /* no server yet, or it did not answer (or not as itself) */
	return -EIO;
}

long index_json_piece(long st, const cJSON *json, uint64_t offset, uint8_t *buf, size_t cap)
{
	const char *data = offline_jstr(json, "data"), *end = NULL;
	size_t n = 0;
	if (st != 200)
		return index_status_errno(st);
	if (offline_jnum(json, "offset") != (double)offset ||
	    sodium_base642bin(buf, cap, data, strlen(data), NULL, &n, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != data + strlen(data))
		return -EIO;
	return (long)n;
}

long index_get_piece(const char *target, uint64_t offset, uint8_t *buf, size_t cap, cJSON **json)
{
	long st = offline_call("GET", target, NULL, 0, json);
	return index_json_piece(st, *json, offset, buf, cap);
}

/* One piece at offset into buf (room for cap): its length, or -errno;
 * gid, seq and size as the server gives them. */
static long fetch_piece(uint32_t peer, uint32_t gid, uint64_t offset, uint8_t *buf, size_t cap, uint32_t *got_gid,
			uint64_t *seq, uint64_t *size)
{
	char target[128];
	cJSON *j;
	if (gid)
		snprintf(target, sizeof(target), "/v1/files/index?node=%u&gid=%u&offset=%llu", peer, gid,
			 (unsigned long long)offset);
	else
		snprintf(target, sizeof(target), "/v1/files/index?node=%u&offset=%llu", peer, (unsigned long long)offset);
	long n = index_get_piece(target, offset, buf, cap, &j);
	double g = offline_jnum(j, "gid"), s = offline_jnum(j, "seq"), z = offline_jnum(j, "size");
	if (n >= 0 && g >= 1 && g <= UINT32_MAX && s >= 0 && z >= 0) {
		*got_gid = (uint32_t)g;
		*seq = (uint64_t)s;
		*size = (uint64_t)z;
	} else if (n >= 0) {
		n = -EIO;
	}
	cJSON_Delete(j);
	return n == -ENOENT ? -ENODATA : n;
}

/* The whole sealed index of peer: *out malloc'd, *len its length, *group
 * the group it is for (the server's id). */
static int fetch_sealed(uint32_t peer, uint8_t **out, size_t *len, uint32_t *group)
{
	uint8_t *buf = NULL;
	int ret = -EIO;
	for (int attempt = 0; attempt < FETCH_TRIES; attempt++) {
		uint32_t gid = 0, g;
		uint64_t seq = 0, size = 0, s, z, off = 0;
		size_t cap = 64 * 1024;
		free(buf);
		buf = malloc(cap);
		ret = buf ? 0 : -ENOMEM;
		while (ret == 0) {
			long n = fetch_piece(peer, gid, off, buf + off, cap - off, &g, &s, &z);
			if (n < 0) {
				ret = (int)n;
				break;
			}
			if (off == 0) {
				gid = g, seq = s, size = z;
				if (size > INDEX_SEALED_MAX || size < FILES_INDEX_FIXED_LEN || (uint64_t)n > size) {
					ret = size > INDEX_SEALED_MAX ? -E2BIG : -EBADMSG;
					break;
				}
				uint8_t *grown = realloc(buf, size);
				if (!grown) {
					ret = -ENOMEM;
					break;
				}
				buf = grown;
				cap = size;
				/* the first piece was decoded into the old buffer's start: kept by realloc */
			}
			if (g != gid || s != seq || z != size) {
				ret = -EAGAIN; /* replaced meanwhile */
				break;
			}
			if (n == 0 && off < size) {
				ret = -EIO;
				break;
			}
			off += (uint64_t)n;
			if (off == size) {
				*out = buf;
				*len = size;
				*group = gid;
				return 0;
			}
		}
		if (ret != -EAGAIN)
			break;
	}
	free(buf);
	return ret == -EAGAIN ? -EIO : ret;
}

static int entries_of(struct files_index *ix)
{
	struct files_index_iter it;
	struct files_index_entry e;
	int r = files_index_iter_init(&it, ix->body, ix->body_len);
	if (r < 0)
		return r;
	ix->entries = calloc(it.count ? it.count : 1, sizeof(*ix->entries));
	if (!ix->entries)
		return -ENOMEM;
	while ((r = files_index_next(&it, &e)) == 1 && ix->n < it.count)
		ix->entries[ix->n++] = e;
	return r < 0 ? r : 0;
}

int index_fetch(struct worker *w, uint32_t peer_id, struct files_index **out)
{
	struct worker_peer p;
	uint8_t *sealed = NULL;
	size_t len = 0;
	uint32_t gid = 0;
	struct files_index *ix = NULL;
	int ret = worker_peer_by_id(w, peer_id, &p);
	if (ret < 0)
		goto out;
	if (!p.has_file_key) {
		ret = -ENOKEY;
		goto out;
	}
	if ((ret = fetch_sealed(peer_id, &sealed, &len, &gid)) < 0)
		goto out;
	ix = calloc(1, sizeof(*ix));
	size_t cap = len < FILES_INDEX_BODY_MAX ? len : FILES_INDEX_BODY_MAX;
	if (!ix || !(ix->body = malloc(cap ? cap : 1))) {
		ret = -ENOMEM;
		goto out;
	}
	ix->publisher = peer_id;
	if ((ret = files_index_open(sealed, len, &w->key, p.file_key, &ix->seq, ix->body, cap, &ix->body_len)) < 0 ||
	    (ret = entries_of(ix)) < 0) {
		ret = ret == -ENOMEM ? ret : -EBADMSG;
		goto out;
	}
	/* Opened, so seq is the publisher's: never lower than one we accepted. */
	if ((ret = index_seen_accept(peer_id, gid, ix->seq)) < 0) {
		log_warn("files: the server handed back an older index of node %u (sequence %llu)", peer_id,
			 (unsigned long long)ix->seq);
		goto out;
	}
	*out = ix; /* ownership to the caller */
	ix = NULL;
out:
	free(sealed);
	files_index_free(ix);
	return ret;
}

void files_index_free(struct files_index *ix)
{
	if (!ix)
		return;
	free(ix->body);
	free(ix->entries);
	free(ix);
}

const struct files_index_entry *files_index_find(const struct files_index *ix, const char *path, size_t len)
{
	for (size_t i = 0; ix && i < ix->n; i++)
		if (ix->entries[i].path_len == len && memcmp(ix->entries[i].path, path, len) == 0)
			return &ix->entries[i];
	return NULL;
}

const char *index_fetch_strerror(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such peer in our groups";
	case -ENOKEY:
		return "that peer (or this node) has no file key registered: update roamd";
	case -ENODATA:
		return "that peer published nothing to a group we share";
	case -EHOSTUNREACH:
		return "the server cannot be reached";
	case -EBADMSG:
		return "the index did not open: not sealed to us, not from that peer, or altered";
	case -E2BIG:
		return "the index is too large";
	case -ESTALE:
		return "the server handed back an older index than one already seen (a rollback): refused";
	default:
		return strerror(-err);
	}
}
