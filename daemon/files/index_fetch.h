/* A peer's published index, as the file worker reads it from the server
 * (docs/files.md, "The index on the server"): fetched in pieces from
 * GET /v1/files/index?node=ID, the group key opened with our file secret
 * key, checked against the publisher's file public key from the view (its
 * MAC for us), decrypted and parsed. Works while the publisher is offline.
 * Blocking (HTTP): call it from a thread of the worker, never its loop.
 *
 * Used by `roam ls PEER` (index_ls.c) and `roam pull PEER PATH` (the
 * pull thread looks PATH up to get the hash and the tree root). */
#ifndef ROAM_DAEMON_FILES_INDEX_FETCH_H
#define ROAM_DAEMON_FILES_INDEX_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "files/files.h"

struct worker;

#define INDEX_SEALED_MAX (8u << 20) /* one sealed index on the server (its cap) */

struct files_index {
	uint32_t publisher; /* node id */
	uint64_t seq;       /* the publisher's version */
	uint8_t *body;      /* the plaintext body (owned) */
	size_t body_len;
	struct files_index_entry *entries; /* n entries pointing into body, sorted by path */
	size_t n;
};

/* 0 with *out (free it with files_index_free), or:
 *   -ENOENT    the peer is not in our view (unknown, or no shared group),
 *   -ENOKEY    it (or we) registered no file key,
 *   -ENODATA   nothing published to a group we share (the server's 404),
 *   -EHOSTUNREACH  the server could not be reached (or is not known yet),
 *   -EBADMSG   the index did not open for us (not sealed to us, altered,
 *              or not from that publisher), or a malformed body,
 *   -E2BIG, -ENOMEM, -EIO. */
int index_fetch(struct worker *w, uint32_t peer_id, struct files_index **out);
void files_index_free(struct files_index *ix);
/* The entry for path (len bytes), or NULL. */
const struct files_index_entry *files_index_find(const struct files_index *ix, const char *path, size_t len);
/* GET target (a reply {"offset", ..., "data": base64}) at offset: the
 * bytes into buf (room for cap), their count, or -ENOENT (404),
 * -EHOSTUNREACH, -EIO; *json the reply (its other fields; cJSON_Delete it,
 * also on error). Shared by index_fetch.c and index_cache.c. */
struct cJSON;
long index_get_piece(const char *target, uint64_t offset, uint8_t *buf, size_t cap, struct cJSON **json);
/* The same from a reply already had: st its status, json its body. */
long index_json_piece(long st, const struct cJSON *json, uint64_t offset, uint8_t *buf, size_t cap);
/* -ENOENT (404), -EHOSTUNREACH (no answer), -EIO for a status not 200. */
int index_status_errno(long st);
/* A short reason for index_fetch's error, for a reply to `roam ls`/`roam pull`. */
const char *index_fetch_strerror(int err);

#endif
