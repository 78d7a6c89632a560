/* The file cache's routes (server/files/cache.h): a sender uploads the
 * ciphertext of a file for an offline recipient in chunks (resumable by
 * offset), the recipient lists and downloads it, and its receipt deletes
 * it. The server checks sizes, quotas and that the header names the two
 * nodes' registered file keys; it never sees a key or a name. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/json.h"
#include "crypto/crypto.h"
#include "server/api_internal.h"
#include "server/directory.h"
#include "server/files/blob_store.h"
#include "server/files/cache.h"
#include "server/server.h"
#include "server/store.h"
#include "util/log.h"

void fcache_notify(struct server *s, uint32_t node)
{
	struct dir_node *n = dir_node_get(&s->dir, node);
	if (n && n->stream)
		stream_send(n->stream, COORD_LINE_FILES, strlen(COORD_LINE_FILES));
}

static int waiting_one(void *ctx, const struct fcache_entry *e)
{
	bool *any = ctx;
	*any |= e->state == FC_QUEUED || e->state == FC_DELIVERED;
	return 0;
}

void fcache_stream_opened(struct server *s, struct dir_node *n)
{
	bool any = false;
	if (s->store && fcache_list(s->store, n->rec.id, waiting_one, &any) == 0 && any && n->stream)
		stream_send(n->stream, COORD_LINE_FILES, strlen(COORD_LINE_FILES));
}

static void server_data_unlink(void *ctx, const uint8_t id[FCACHE_ID_LEN])
{
	char name[2 * FCACHE_ID_LEN + 1];
	fcache_id_hex(id, name);
	fdata_remove(ctx, name);
}

static void data_unlink(void *ctx, const uint8_t id[FCACHE_ID_LEN])
{
	server_data_unlink(((struct api_req *)ctx)->srv, id);
}

void fcache_forget_node(struct server *s, uint32_t node)
{
	int n = s->store ? fcache_drop_node(s->store, node, server_data_unlink, s) : 0;
	if (n < 0)
		log_warn("files: cannot delete the cached files of removed nodes: %s", store_error(s->store));
	else if (n > 0 && node)
		log_info("files: %d cached file(s) of removed node %u deleted", n, node);
	else if (n > 0)
		log_info("files: %d cached file(s) of nodes removed while the server was down deleted", n);
}

/* Expired files go before anything is counted or listed. */
static void expire(struct api_req *a)
{
	if (fcache_expire(a->srv->store, a->now, data_unlink, a) < 0)
		log_err("files: expiry: %s", store_error(a->srv->store));
}

static uint64_t quota(uint64_t configured, uint64_t fallback)
{
	return configured ? configured : fallback;
}

/* A file of ours by the query's id, for the sender or the recipient. */
static int entry_of(struct api_req *a, bool as_sender, struct fcache_entry *e, uint64_t *offset)
{
	uint8_t id[FCACHE_ID_LEN];
	if (fcache_query_parse(a->target, id, offset) < 0) {
		api_error(a, 400, "give ?id=ID (and &offset=N)");
		return -EINVAL;
	}
	if (fcache_get(a->srv->store, id, e) < 0 || (as_sender ? e->sender : e->recipient) != a->node->rec.id) {
		api_error(a, 404, "no such file");
		return -ENOENT;
	}
	return 0;
}

void api_files_create(struct api_req *a)
{
	uint32_t to;
	uint64_t size, mine, all, count;
	struct fcache_entry e = { .state = FC_UPLOADING };
	char msg[200], hex[2 * FCACHE_ID_LEN + 1];
	if (api_authenticate(a, false) < 0)
		return;
	if (fcache_create_parse(a->body, a->body_len, &to, &size) < 0) {
		api_error(a, 400, "expected {\"to\": node id, \"size\": bytes}");
		return;
	}
	struct dir_node *r = dir_node_get(&a->srv->dir, to);
	if (!r || r == a->node || !dir_share_group(a->node, r)) {
		api_error(a, 404, "no such node in your groups");
		return;
	}
	if (!r->rec.has_file_key || !a->node->rec.has_file_key) {
		api_error(a, 409, "no file key registered (the recipient's or ours): update roamd");
		return;
	}
	if (size < FILES_HEADER_LEN + FILES_META_RECORD_LEN) {
		api_error(a, 400, "too small for an encrypted file");
		return;
	}
	expire(a);
	uint64_t node_q = quota(a->srv->cfg.files_node_quota, FCACHE_NODE_QUOTA);
	uint64_t total_q = quota(a->srv->cfg.files_total_quota, FCACHE_TOTAL_QUOTA);
	if (fcache_usage(a->srv->store, a->node->rec.id, &mine, &all, &count) < 0) {
		api_error(a, 500, "cannot read the cache");
		return;
	}
	if (count >= FCACHE_NODE_FILES_MAX) {
		snprintf(msg, sizeof(msg), "this node's quota: %d files waiting on the server already", FCACHE_NODE_FILES_MAX);
		api_error(a, 507, msg);
		return;
	}
	if (mine + size > node_q || all + size > total_q) {
		snprintf(msg, sizeof(msg), "%s quota: %llu of %llu bytes in use on the server, %llu more asked",
			 mine + size > node_q ? "this node's" : "the server's total",
			 (unsigned long long)(mine + size > node_q ? mine : all),
			 (unsigned long long)(mine + size > node_q ? node_q : total_q), (unsigned long long)size);
		api_error(a, 507, msg);
		return;
	}
	crypto_random(e.id, sizeof(e.id));
	e.sender = a->node->rec.id;
	e.recipient = to;
	e.size = size;
	e.created = a->now;
	e.expires = a->now + (int64_t)quota(a->srv->cfg.files_expiry_s, FCACHE_EXPIRY_S);
	fcache_id_hex(e.id, hex);
	if (fdata_create(a->srv, hex) < 0 || fcache_add(a->srv->store, &e) < 0) {
		fdata_remove(a->srv, hex);
		api_error(a, 500, "cannot store the file");
		log_err("files: %s: %s", hex, store_error(a->srv->store));
		return;
	}
	snprintf(msg, sizeof(msg), "{\"id\":\"%s\",\"expires\":%lld}", hex, (long long)e.expires);
	log_info("files: node %u uploads %llu bytes for node %u (%s)", e.sender, (unsigned long long)size, to, hex);
	api_reply_json(a, 201, msg);
}

/* n's registered file key is key. In a cluster the directory's record may
 * predate a key registered through another server: the store decides. */
static bool file_key_is(struct api_req *a, const struct dir_node *n, const uint8_t key[FILES_KEY_LEN])
{
	struct store_node sn;
	if (n->rec.has_file_key && memcmp(n->rec.file_key, key, FILES_KEY_LEN) == 0)
		return true;
	if (!store_shared(a->srv->store) || store_node_by_name(a->srv->store, n->rec.name, &sn) < 0 || sn.id != n->rec.id ||
	    !sn.has_file_key || memcmp(sn.file_key, key, FILES_KEY_LEN) != 0)
		return false;
	log_info("files: node %u's file key read from the store (the directory's record predates it)", n->rec.id);
	return true;
}

/* The header, once every byte is in: its sizes and both file keys must be
 * what the store holds for the two nodes. */
static int check_complete(struct api_req *a, struct fcache_entry *e, const char *name)
{
	uint8_t hdr[FILES_HEADER_LEN];
	struct files_header h;
	uint64_t total;
	struct dir_node *r = dir_node_get(&a->srv->dir, e->recipient);
	if (fdata_read(a->srv, name, 0, hdr, sizeof(hdr)) < 0 || files_header_parse(hdr, sizeof(hdr), &h) < 0 ||
	    files_encrypted_size(h.chunk_size, h.total_size, &total) < 0 || total != e->size || !r ||
	    !file_key_is(a, a->node, h.sender_pub) || !file_key_is(a, r, h.recipient_pub))
		return -EBADMSG;
	memcpy(e->file_id, h.file_id, FILES_ID_LEN);
	return 0;
}

static void reply_received(struct api_req *a, int code, const struct fcache_entry *e, const char *error)
{
	char json[256];
	if (error)
		snprintf(json, sizeof(json), "{\"error\":\"%s\",\"received\":%llu,\"state\":\"%s\"}", error,
			 (unsigned long long)e->received, fcache_state_name(e->state));
	else
		snprintf(json, sizeof(json), "{\"received\":%llu,\"state\":\"%s\"}", (unsigned long long)e->received,
			 fcache_state_name(e->state));
	api_reply_json(a, code, json);
}

size_t fcache_request_body_max(const char *line, size_t len)
{
	static const char put[] = "PUT /v1/files/data";
	size_t n = sizeof(put) - 1;

	if (len <= n)
		return memcmp(line, put, len) == 0 ? 0 : COORD_BODY_MAX;
	return memcmp(line, put, n) == 0 && (line[n] == '?' || line[n] == ' ') ? FCACHE_CHUNK_MAX : COORD_BODY_MAX;
}

void api_files_put(struct api_req *a)
{
	struct fcache_entry e;
	uint64_t offset;
	if (api_authenticate(a, false) < 0 || entry_of(a, true, &e, &offset) < 0)
		return;
	if (e.state != FC_UPLOADING) {
		reply_received(a, 409, &e, "not uploading");
		return;
	}
	/* Only at what we hold: the sender asks (or reads this) after a break. */
	if (offset != e.received || a->body_len > FCACHE_CHUNK_MAX || a->body_len > e.size - e.received) {
		reply_received(a, 409, &e, "continue at the offset given in received");
		return;
	}
	char name[2 * FCACHE_ID_LEN + 1];
	fcache_id_hex(e.id, name);
	/* With PostgreSQL the chunk and the new received in one transaction:
	 * a sender failed over to another server resumes at what is stored. */
	struct fdata_count count = { .table = FDATA_FILE_CACHE, .id = e.id };
	bool last = e.received + a->body_len == e.size;
	int r = fdata_write(a->srv, name, offset, a->body, a->body_len, last, &count);
	if (r == -ESTALE) {
		reply_received(a, 409, &e, "continue at the offset given in received");
		return;
	}
	if (r < 0) {
		api_error(a, 500, "cannot store the chunk");
		return;
	}
	e.received += a->body_len;
	if (last) {
		if (check_complete(a, &e, name) < 0) {
			fdata_remove(a->srv, name);
			e.state = FC_CANCELLED;
			fcache_update(a->srv->store, &e);
			api_error(a, 400, "not an encrypted file from you to that node: dropped");
			return;
		}
		e.state = FC_QUEUED;
		log_info("files: node %u's upload for node %u is complete", e.sender, e.recipient);
	}
	if (fcache_update(a->srv->store, &e) < 0) {
		api_error(a, 500, "cannot store the chunk");
		return;
	}
	if (last)
		fcache_notify(a->srv, e.recipient);
	reply_received(a, 200, &e, NULL);
}

struct list_ctx {
	cJSON *arr;
	uint32_t caller;
};

static int list_one(void *ctx, const struct fcache_entry *e)
{
	struct list_ctx *l = ctx;
	char hex[2 * FCACHE_ID_LEN + 1], b64[2 * FILES_RECEIPT_LEN];
	cJSON *o = cJSON_CreateObject();
	fcache_id_hex(e->id, hex);
	cJSON_AddStringToObject(o, "id", hex);
	cJSON_AddBoolToObject(o, "incoming", e->recipient == l->caller);
	cJSON_AddNumberToObject(o, "from", e->sender);
	cJSON_AddNumberToObject(o, "to", e->recipient);
	cJSON_AddNumberToObject(o, "size", (double)e->size);
	cJSON_AddNumberToObject(o, "received", (double)e->received);
	cJSON_AddStringToObject(o, "state", fcache_state_name(e->state));
	cJSON_AddNumberToObject(o, "created", (double)e->created);
	cJSON_AddNumberToObject(o, "expires", (double)e->expires);
	if (e->has_receipt && coord_b64_encode(b64, sizeof(b64), e->receipt, FILES_RECEIPT_LEN, 0) == 0)
		cJSON_AddStringToObject(o, "receipt", b64);
	cJSON_AddItemToArray(l->arr, o);
	return 0;
}

void api_files_list(struct api_req *a)
{
	if (api_authenticate(a, false) < 0)
		return;
	expire(a);
	cJSON *root = cJSON_CreateObject();
	struct list_ctx l = { .arr = cJSON_AddArrayToObject(root, "files"), .caller = a->node->rec.id };
	int r = fcache_list(a->srv->store, a->node->rec.id, list_one, &l);
	char *json = r == 0 ? cJSON_PrintUnformatted(root) : NULL;
	if (json)
		api_reply_json(a, 200, json);
	else
		api_error(a, 500, "cannot read the cache");
	free(json);
	cJSON_Delete(root);
}

void api_files_get(struct api_req *a)
{
	struct fcache_entry e;
	uint64_t offset;
	static uint8_t buf[FCACHE_DOWNLOAD_BIN_MAX];
	static char json[FCACHE_DOWNLOAD_MAX * 4 / 3 + 128];
	if (api_authenticate(a, false) < 0 || entry_of(a, false, &e, &offset) < 0)
		return;
	if (e.state != FC_QUEUED || offset > e.size) {
		api_error(a, 404, "no such file");
		return;
	}
	/* Binary when asked: the raw bytes, no base64 (a third fewer bytes, no
	 * encoding on either side), in larger pieces. */
	bool bytes = api_wants_bytes(a);
	size_t max = bytes ? FCACHE_DOWNLOAD_BIN_MAX : FCACHE_DOWNLOAD_MAX;
	size_t want = e.size - offset < max ? (size_t)(e.size - offset) : max;
	char name[2 * FCACHE_ID_LEN + 1];
	fcache_id_hex(e.id, name);
	if (want && fdata_read(a->srv, name, offset, buf, want) < 0) {
		api_error(a, 500, "cannot read the file");
		return;
	}
	if (bytes) {
		api_reply_bytes(a, 200, buf, want);
		return;
	}
	/* Written straight, not through cJSON: a quarter of a megabyte per reply. */
	int head = snprintf(json, sizeof(json), "{\"offset\":%llu,\"size\":%llu,\"data\":\"", (unsigned long long)offset,
			    (unsigned long long)e.size);
	if (coord_b64_encode(json + head, sizeof(json) - (size_t)head - 3, buf, want, 0) < 0) {
		api_error(a, 500, "cannot read the file");
		return;
	}
	strcat(json + head, "\"}");
	api_reply_json(a, 200, json);
}

/* The recipient's receipt: routed by its clear fields, which must name this
 * file and the two nodes' keys; then the ciphertext goes. */
void api_files_receipt(struct api_req *a)
{
	uint8_t id[FCACHE_ID_LEN], receipt[FILES_RECEIPT_LEN], fid[FILES_ID_LEN], s[FILES_KEY_LEN], r[FILES_KEY_LEN];
	struct fcache_entry e;
	if (api_authenticate(a, false) < 0)
		return;
	if (fcache_receipt_parse(a->body, a->body_len, id, receipt) < 0 ||
	    files_receipt_peek(receipt, sizeof(receipt), fid, s, r) < 0) {
		api_error(a, 400, "expected {\"id\": ID, \"receipt\": base64 of a receipt}");
		return;
	}
	struct dir_node *snd = fcache_get(a->srv->store, id, &e) == 0 ? dir_node_get(&a->srv->dir, e.sender) : NULL;
	if (!snd || e.recipient != a->node->rec.id || e.state != FC_QUEUED) {
		api_error(a, 404, "no such file");
		return;
	}
	if (memcmp(fid, e.file_id, FILES_ID_LEN) != 0 || !file_key_is(a, snd, s) || !file_key_is(a, a->node, r)) {
		api_error(a, 400, "that receipt is not for this file");
		return;
	}
	e.state = FC_DELIVERED;
	e.has_receipt = true;
	memcpy(e.receipt, receipt, FILES_RECEIPT_LEN);
	if (fcache_update(a->srv->store, &e) < 0) {
		api_error(a, 500, "cannot store the receipt");
		return;
	}
	data_unlink(a, e.id);
	fcache_notify(a->srv, e.sender); /* its receipt */
	log_info("files: node %u fetched node %u's file: deleted", e.recipient, e.sender);
	api_reply_json(a, 200, "{\"ok\":true}");
}

void api_files_cancel(struct api_req *a)
{
	struct fcache_entry e;
	uint64_t offset;
	if (api_authenticate(a, false) < 0 || entry_of(a, true, &e, &offset) < 0)
		return;
	if (e.state != FC_UPLOADING && e.state != FC_QUEUED) {
		reply_received(a, 409, &e, "already ended");
		return;
	}
	e.state = FC_CANCELLED;
	if (fcache_update(a->srv->store, &e) < 0) {
		api_error(a, 500, "cannot cancel");
		return;
	}
	data_unlink(a, e.id);
	api_reply_json(a, 200, "{\"ok\":true}");
}
