/* The encrypted copies of published files (`roam publish --cache`;
 * server/files/index.h): the publisher creates one for a group and uploads
 * it in pieces; a member of that group (the publisher one too) downloads
 * it by the id its sealed index gives; a later publish to the group drops
 * the older copies, unpublish drops them all. The server holds the
 * ciphertext only (docs/files.md, "Cached copies"): no key, no name. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "coord/auth.h"
#include "crypto/crypto.h"
#include "server/api_internal.h"
#include "server/directory.h"
#include "server/files/blob_store.h"
#include "server/files/cache.h"
#include "server/files/index.h"
#include "server/server.h"
#include "server/store.h"
#include "util/log.h"

static bool member(const struct dir_node *n, uint32_t gid)
{
	for (size_t i = 0; n && i < n->rec.groups_count; i++)
		if (n->rec.groups[i] == gid)
			return true;
	return false;
}

static void blob_name(const uint8_t id[FBLOB_ID_LEN], char out[FDATA_NAME_MAX])
{
	char hex[2 * FBLOB_ID_LEN + 1];
	fcache_id_hex(id, hex); /* the same length as a cache id */
	snprintf(out, FDATA_NAME_MAX, "blob-%s", hex);
}

void fblob_unlink(void *ctx, const uint8_t id[FBLOB_ID_LEN])
{
	char name[FDATA_NAME_MAX];
	blob_name(id, name);
	fdata_remove(ctx, name);
}

static uint64_t or_default(uint64_t configured, uint64_t fallback) { return configured ? configured : fallback; }

/* The node's quota covers its cache files and its copies together. */
static int quota_check(struct api_req *a, uint64_t size)
{
	uint64_t mine, all, files, bytes, count, total;
	char msg[200];
	if (fcache_usage(a->srv->store, a->node->rec.id, &mine, &all, &files) < 0 ||
	    fblob_usage(a->srv->store, a->node->rec.id, &bytes, &count, &total) < 0) {
		api_error(a, 500, "cannot read the cache");
		return -1;
	}
	uint64_t node_q = or_default(a->srv->cfg.files_node_quota, FCACHE_NODE_QUOTA);
	uint64_t total_q = or_default(a->srv->cfg.files_total_quota, FCACHE_TOTAL_QUOTA);
	if (count >= FBLOB_NODE_MAX || mine + bytes + size > node_q || all + total + size > total_q) {
		snprintf(msg, sizeof(msg), "%s quota: %llu of %llu bytes in use on the server (%llu copies), %llu more asked",
			 mine + bytes + size > node_q || count >= FBLOB_NODE_MAX ? "this node's" : "the server's total",
			 (unsigned long long)(mine + bytes), (unsigned long long)node_q, (unsigned long long)count,
			 (unsigned long long)size);
		api_error(a, 507, msg);
		return -1;
	}
	return 0;
}

void api_files_blob_create(struct api_req *a)
{
	struct findex_query q;
	struct fblob b = { 0 };
	char name[FDATA_NAME_MAX], json[96], hex[2 * FBLOB_ID_LEN + 1];
	if (api_authenticate(a, false) < 0)
		return;
	if (findex_query_parse(a->target, &q) < 0 || !q.group[0] || !q.have_seq || !q.have_size || !q.seq) {
		api_error(a, 400, "give ?group=G&seq=N&size=S");
		return;
	}
	const struct dir_group *g = NULL;
	for (size_t i = 0; i < a->srv->dir.groups_count && !g; i++)
		if (strcmp(a->srv->dir.groups[i].name, q.group) == 0)
			g = &a->srv->dir.groups[i];
	if (!g || !member(a->node, g->id)) {
		api_error(a, 404, "no such group of yours");
		return;
	}
	if (q.size < FILES_CACHED_CHUNK_OVERHEAD || q.size > 2 * (uint64_t)FILES_MAX_SIZE) {
		api_error(a, 400, "not the size of an encrypted copy");
		return;
	}
	if (quota_check(a, q.size) < 0)
		return;
	crypto_random(b.id, sizeof(b.id));
	b.publisher = a->node->rec.id;
	b.group = g->id;
	b.seq = q.seq;
	b.size = q.size;
	b.created = a->now;
	blob_name(b.id, name);
	if (fdata_create(a->srv, name) < 0 || fblob_add(a->srv->store, &b) < 0) {
		fdata_remove(a->srv, name);
		api_error(a, 500, "cannot store the copy");
		return;
	}
	fcache_id_hex(b.id, hex);
	snprintf(json, sizeof(json), "{\"id\":\"%s\"}", hex);
	api_reply_json(a, 201, json);
}

void api_files_blob_put(struct api_req *a)
{
	struct findex_query q;
	struct fblob b;
	char name[FDATA_NAME_MAX], json[96];
	if (api_authenticate(a, false) < 0)
		return;
	if (findex_query_parse(a->target, &q) < 0 || !q.have_id) {
		api_error(a, 400, "give ?id=ID&offset=O");
		return;
	}
	if (fblob_get(a->srv->store, q.id, &b) < 0 || b.publisher != a->node->rec.id) {
		api_error(a, 404, "no such copy");
		return;
	}
	if (q.offset != b.received || a->body_len > FINDEX_CHUNK_MAX || a->body_len > b.size - b.received) {
		snprintf(json, sizeof(json), "{\"error\":\"continue at received\",\"received\":%llu}",
			 (unsigned long long)b.received);
		api_reply_json(a, 409, json);
		return;
	}
	/* With PostgreSQL the piece and the new received in one transaction. */
	struct fdata_count count = { .table = FDATA_FILE_BLOBS, .id = b.id };
	blob_name(b.id, name);
	int r = fdata_write(a->srv, name, q.offset, a->body, a->body_len, b.received + a->body_len == b.size, &count);
	if (r == -ESTALE) {
		snprintf(json, sizeof(json), "{\"error\":\"continue at received\",\"received\":%llu}",
			 (unsigned long long)b.received);
		api_reply_json(a, 409, json);
		return;
	}
	if (r < 0 || fblob_set_received(a->srv->store, b.id, b.received + a->body_len) < 0) {
		api_error(a, 500, "cannot store the piece");
		return;
	}
	snprintf(json, sizeof(json), "{\"received\":%llu}", (unsigned long long)(b.received + a->body_len));
	api_reply_json(a, 200, json);
}

void api_files_blob_get(struct api_req *a)
{
	struct findex_query q;
	struct fblob b;
	char name[FDATA_NAME_MAX];
	static uint8_t buf[FBLOB_DOWNLOAD_BIN_MAX > FINDEX_DOWNLOAD_MAX ? FBLOB_DOWNLOAD_BIN_MAX : FINDEX_DOWNLOAD_MAX];
	if (api_authenticate(a, false) < 0)
		return;
	if (findex_query_parse(a->target, &q) < 0 || !q.have_id || !q.node) {
		api_error(a, 400, "give ?node=P&id=ID&offset=O");
		return;
	}
	/* The same answer for "no such copy" and "not for you". */
	if (fblob_get(a->srv->store, q.id, &b) < 0 || b.publisher != q.node || b.received != b.size ||
	    !member(a->node, b.group) || !member(dir_node_get(&a->srv->dir, b.publisher), b.group) || q.offset > b.size) {
		api_error(a, 404, "no such copy");
		return;
	}
	/* Binary when asked (raw, a whole cached chunk), else base64 in JSON. */
	bool bytes = api_wants_bytes(a);
	size_t max = bytes ? FBLOB_DOWNLOAD_BIN_MAX : FINDEX_DOWNLOAD_MAX;
	size_t want = b.size - q.offset < max ? (size_t)(b.size - q.offset) : max;
	blob_name(b.id, name);
	int r = want ? fdata_read(a->srv, name, q.offset, buf, want) : 0;
	char head[96];
	snprintf(head, sizeof(head), "\"offset\":%llu,\"size\":%llu,", (unsigned long long)q.offset,
		 (unsigned long long)b.size);
	if (r < 0)
		api_error(a, 500, "cannot read the copy");
	else if (bytes)
		api_reply_bytes(a, 200, buf, want);
	else
		findex_reply_data(a, head, buf, want);
}

void api_files_blob_delete(struct api_req *a)
{
	struct findex_query q;
	if (api_authenticate(a, false) < 0)
		return;
	if (findex_query_parse(a->target, &q) < 0) {
		api_error(a, 400, "give nothing, or ?group=G[&seq=N]");
		return;
	}
	uint32_t gid = 0;
	for (size_t i = 0; q.group[0] && i < a->srv->dir.groups_count && !gid; i++)
		if (strcmp(a->srv->dir.groups[i].name, q.group) == 0)
			gid = a->srv->dir.groups[i].id;
	if (q.group[0] && !gid) {
		api_error(a, 404, "no such group");
		return;
	}
	if (fblob_drop(a->srv->store, a->node->rec.id, gid, q.have_seq ? q.seq : 0, fblob_unlink, a->srv) < 0) {
		api_error(a, 500, "cannot delete the copies");
		return;
	}
	api_reply_json(a, 200, "{\"ok\":true}");
}
