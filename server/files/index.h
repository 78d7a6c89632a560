/* The published indexes the server keeps (docs/files.md, "The index on the
 * server"): one per (publisher, group), sealed by the publisher to the
 * group's members (lib/files RFX1), replaced only by a higher sequence
 * number. The ciphertext is index-P-G in blob_store.h (P the publisher's node
 * id, G the group's id) behind a 16-byte prefix (le64 sequence, le64
 * length); the row of the file_index table (schema version 6) holds the
 * same numbers and never a name or a key. Uploads and downloads go in
 * pieces (a request body is at most COORD_BODY_MAX). */
#ifndef ROAM_SERVER_FILES_INDEX_H
#define ROAM_SERVER_FILES_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "files/files.h"

struct store;
struct api_req;

#define FINDEX_SIZE_MAX (8u << 20)          /* one sealed index (the body's thumbnails count) */
#define FINDEX_CHUNK_MAX (60 * 1024)        /* one upload PUT's body */
#define FINDEX_DOWNLOAD_MAX (45 * 1024)     /* one download reply's bytes (base64 in JSON: 60 KiB) */
/* A copy's binary download reply (Accept: application/octet-stream): one
 * cached chunk, what a reader asks at a time (index_cache.h). */
#define FBLOB_DOWNLOAD_BIN_MAX (FILES_CHUNK_DEFAULT + FILES_CACHED_CHUNK_OVERHEAD)
#define FINDEX_PREFIX_LEN 16                /* le64 seq, le64 length, before the ciphertext */
#define FINDEX_MEMBERS_MAX (FILES_INDEX_MAX_MEMBERS + 1) /* listed by .../members: one too many says "too many" */

struct findex_row {
	uint32_t publisher, group; /* node id, group id */
	uint64_t seq, size;        /* the publisher's version; the sealed index's length */
	int64_t updated;           /* unix seconds */
};

/* index_store.c (SQLite) / index_store_pg.c: the table. findex_put inserts
 * or replaces the row when seq is higher than the stored one: 0, -EEXIST
 * (not higher), or a store error. */
int findex_put(struct store *st, const struct findex_row *r);
int findex_get(struct store *st, uint32_t publisher, uint32_t group, struct findex_row *out); /* -ENOENT */
/* A publisher's rows, highest sequence first; cb returning < 0 stops. */
int findex_list(struct store *st, uint32_t publisher, int (*cb)(void *ctx, const struct findex_row *r), void *ctx);
int findex_delete(struct store *st, uint32_t publisher, uint32_t group); /* group 0: every group */

/* The encrypted copy of a published file (`roam publish --cache`): the
 * ciphertext blob-ID (blob_store.h), readable by the members of its group,
 * deleted with the publisher's index or when a later publish to the group
 * replaced it (seq below the new one). */
#define FBLOB_ID_LEN 16
#define FBLOB_NODE_MAX 4096 /* copies one node may keep */
struct fblob {
	uint8_t id[FBLOB_ID_LEN];
	uint32_t publisher, group;
	uint64_t seq;            /* the publish it belongs to */
	uint64_t size, received; /* the copy's length; bytes stored */
	int64_t created;
};
int fblob_add(struct store *st, const struct fblob *b);
int fblob_get(struct store *st, const uint8_t id[FBLOB_ID_LEN], struct fblob *out); /* -ENOENT */
int fblob_set_received(struct store *st, const uint8_t id[FBLOB_ID_LEN], uint64_t received);
/* Bytes and copies a publisher keeps, and bytes kept by everyone. */
int fblob_usage(struct store *st, uint32_t publisher, uint64_t *bytes, uint64_t *count, uint64_t *total);
/* Deletes a publisher's copies (group 0: of every group; below 0: every
 * seq, else those with seq < below), cb with each id (to unlink its file). */
int fblob_drop(struct store *st, uint32_t publisher, uint32_t group, uint64_t below,
	       void (*cb)(void *ctx, const uint8_t id[FBLOB_ID_LEN]), void *ctx);

/* index_query.c: pure, fuzzed by fuzz_file_index_query. */
struct findex_query {
	char group[64];   /* "group=NAME" ("" absent) */
	uint32_t node;    /* "node=ID" (0 absent) */
	uint32_t gid;     /* "gid=ID" (0 absent) */
	uint64_t seq;     /* "seq=N" */
	uint64_t size;    /* "size=N" */
	uint64_t offset;  /* "offset=N" */
	uint8_t id[FBLOB_ID_LEN]; /* "id=HEX" (a copy's) */
	bool have_seq, have_size, have_id;
};
/* The target's query string (none: all absent). -EINVAL on an unknown or
 * repeated key, a malformed value, a group name that is not a valid name. */
int findex_query_parse(const char *target, struct findex_query *q);
/* The start of a complete sealed index (at least FILES_INDEX_FIXED_LEN
 * bytes of it) against its whole length, the sequence number uploaded and
 * the publisher's registered file key: 0, or -EBADMSG. The server checks no more (it cannot open it). */
int findex_sealed_check(const uint8_t *head, size_t head_len, uint64_t size, uint64_t seq,
			const uint8_t publisher_pub[FILES_KEY_LEN]);

/* index_api.c: the routes (server/api.c). */
void api_files_index_put(struct api_req *a);     /* PUT /v1/files/index?group=G&seq=N&size=S&offset=O */
void api_files_index_get(struct api_req *a);     /* GET /v1/files/index?node=ID[&gid=G]&offset=O */
void api_files_index_delete(struct api_req *a);  /* DELETE /v1/files/index[?group=G] */
void api_files_index_members(struct api_req *a); /* GET /v1/files/index/members[?group=G] */
/* 200 {HEAD"data": base64 of buf} (HEAD: fields, each with its comma). */
void findex_reply_data(struct api_req *a, const char *head, const uint8_t *buf, size_t len);
/* index_blob.c: the copies. */
void api_files_blob_create(struct api_req *a); /* POST /v1/files/index/blob?group=G&seq=N&size=S */
void api_files_blob_put(struct api_req *a);    /* PUT /v1/files/index/blob?id=ID&offset=O */
void api_files_blob_get(struct api_req *a);    /* GET /v1/files/index/blob?node=P&id=ID&offset=O */
void api_files_blob_delete(struct api_req *a); /* DELETE /v1/files/index/blob?group=G[&seq=N] */
/* A publisher's indexes (gid 0: of every group), their files and the
 * copies of its files deleted: by DELETE /v1/files/index, and when the
 * node is removed (roam-server nodes remove). The indexes deleted, or -EIO. */
struct server;
int findex_drop_node(struct server *s, uint32_t publisher, uint32_t gid);
/* At start: the indexes of nodes removed while the server was down (an
 * admin command on the store alone), found by their files. */
void findex_sweep_removed(struct server *s);
/* The files of dropped copies (fblob_drop's cb; ctx the struct server). */
void fblob_unlink(void *ctx, const uint8_t id[FBLOB_ID_LEN]);

#endif
