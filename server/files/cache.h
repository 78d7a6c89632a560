/* The server's cache for offline PUSH (docs/files.md, "Offline push"):
 * end-to-end-encrypted files waiting for their recipient. The ciphertext is
 * named ID (16 random bytes, hex) in blob_store.h (STATE/files/ID with
 * SQLite, file_data with PostgreSQL), the rest a row of the
 * file_cache table (schema version 4); nothing in either names the file or
 * holds a key. */
#ifndef ROAM_SERVER_FILES_CACHE_H
#define ROAM_SERVER_FILES_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "files/files.h"

struct store;
struct api_req;

#define FCACHE_ID_LEN 16
#define FCACHE_CHUNK_MAX (1024 * 1024)    /* one upload PUT's body: that route's own limit (server/http.c) */
#define FCACHE_DOWNLOAD_MAX (192 * 1024)  /* one download reply's bytes (base64 in JSON: 256 KiB) */
/* One binary download reply's bytes (Accept: application/octet-stream):
 * raw, so as large as an upload's PUT. Nodes before it ask for JSON. */
#define FCACHE_DOWNLOAD_BIN_MAX (1024 * 1024)
#define FCACHE_LIST_MAX 256               /* rows in one listing */
#define FCACHE_NODE_QUOTA (1ull << 30)    /* bytes a node may have waiting, by default */
#define FCACHE_TOTAL_QUOTA (10ull << 30)  /* bytes all nodes may have waiting, by default */
#define FCACHE_EXPIRY_S (7 * 24 * 3600)   /* a file not fetched by then is deleted */
#define FCACHE_NODE_FILES_MAX 1024        /* files one node may have waiting (rows, inodes) */

enum fcache_state { FC_UPLOADING, FC_QUEUED, FC_DELIVERED, FC_CANCELLED, FC_EXPIRED, FC_STATE_COUNT };

struct fcache_entry {
	uint8_t id[FCACHE_ID_LEN];
	uint32_t sender, recipient; /* node ids */
	uint64_t size, received;    /* the encrypted file's length; bytes stored */
	enum fcache_state state;
	int64_t created, expires;
	uint8_t file_id[FILES_ID_LEN]; /* from the header, once complete: routes the receipt */
	bool has_receipt;
	uint8_t receipt[FILES_RECEIPT_LEN];
};

/* cache_store.c: the table. 0, -ENOENT, or a store error. */
int fcache_add(struct store *st, const struct fcache_entry *e);
int fcache_get(struct store *st, const uint8_t id[FCACHE_ID_LEN], struct fcache_entry *out);
int fcache_update(struct store *st, const struct fcache_entry *e); /* received, state, file_id, receipt */
/* Bytes waiting (uploading or queued): from one sender, and from everyone;
 * and how many files from that sender. */
int fcache_usage(struct store *st, uint32_t sender, uint64_t *node_bytes, uint64_t *total_bytes, uint64_t *node_files);
/* Rows a node sees: what it sent (any state), what waits for it (queued). */
int fcache_list(struct store *st, uint32_t node, int (*cb)(void *ctx, const struct fcache_entry *e), void *ctx);
/* Uploading or queued past their expiry: marked expired; cb for each (to delete its data). */
int fcache_expire(struct store *st, int64_t now, void (*cb)(void *ctx, const uint8_t id[FCACHE_ID_LEN]), void *ctx);
/* A removed node's files, those it sent and those waiting for it, in any
 * state: cb for each (to delete its data), then the rows deleted. node 0:
 * every row whose sender or recipient is no longer in the nodes table
 * (nodes removed while the server was down). The rows deleted, or a store
 * error. */
int fcache_drop_node(struct store *st, uint32_t node, void (*cb)(void *ctx, const uint8_t id[FCACHE_ID_LEN]), void *ctx);
const char *fcache_state_name(enum fcache_state s);

/* The body limit of the request whose line starts with line[0..len): 0
 * while too little of it is there to tell; FCACHE_CHUNK_MAX for PUT
 * /v1/files/data; COORD_BODY_MAX for every other. */
size_t fcache_request_body_max(const char *line, size_t len);

/* cache_api.c: the routes (server/api.c), and {"type":"files"} on a node's
 * stream when files or receipts wait for it (sent at once, and when its
 * stream opens). */
struct server;
struct dir_node;
void fcache_notify(struct server *s, uint32_t node);
void fcache_stream_opened(struct server *s, struct dir_node *n);
/* A removed node's cached files and their data deleted (node 0: those of
 * every node removed while the server was down); logged, never fatal. */
void fcache_forget_node(struct server *s, uint32_t node);
void api_files_create(struct api_req *a);  /* POST /v1/files */
void api_files_list(struct api_req *a);    /* GET /v1/files */
void api_files_cancel(struct api_req *a);  /* DELETE /v1/files?id= */
void api_files_put(struct api_req *a);     /* PUT /v1/files/data?id=&offset= */
void api_files_get(struct api_req *a);     /* GET /v1/files/data?id=&offset= */
void api_files_receipt(struct api_req *a); /* POST /v1/files/receipt */

/* cache_query.c: "id" and "offset" from a target's query string (pure;
 * fuzzed by fuzz_file_cache). -EINVAL unless both well-formed (offset
 * optional: 0). */
int fcache_query_parse(const char *target, uint8_t id[FCACHE_ID_LEN], uint64_t *offset);
/* The create request {"to": node id, "size": bytes} and the receipt
 * {"id": hex, "receipt": base64}. -EINVAL when malformed. */
int fcache_create_parse(const char *body, size_t len, uint32_t *to, uint64_t *size);
int fcache_receipt_parse(const char *body, size_t len, uint8_t id[FCACHE_ID_LEN], uint8_t receipt[FILES_RECEIPT_LEN]);
void fcache_id_hex(const uint8_t id[FCACHE_ID_LEN], char out[2 * FCACHE_ID_LEN + 1]);

#endif
