/* PULL (docs/files.md, "Pull"): a published or held file fetched by its
 * hash, chunk by chunk, from one or several holders over TCP inside the
 * overlay (the file service's port, FILES_PUSH_PORT; a request starts with
 * the magic "RFG1", a push with "RFP1"). Pure: no I/O, no allocation.
 *
 * Chunks are verified one by one against a two-level hash tree: a hash per
 * chunk, a hash per group of FILES_TREE_GROUP chunk hashes, and the root
 * over the size, the chunk size and the group hashes. The root is what a
 * puller trusts (from the publisher's sealed index, or from the publisher
 * itself); the group hashes (at most 128 KiB for 256 GiB) are fetched once
 * and checked against it, a group's chunk hashes (32 KiB) when first needed
 * and checked against its group hash, and then any holder's chunk against
 * its own hash: a holder that lies is caught at the first chunk it sends,
 * without trusting it for anything. Why not a flat list of chunk hashes: it
 * is 128 MiB for 256 GiB, and could only be checked once whole. Why not a
 * full binary tree: two levels keep every proof a single fetch and the
 * memory bounded (one group at a time), with nothing to gain from log-depth
 * proofs at these sizes. The whole-file BLAKE2b-256 (the index's hash) is
 * checked at the end as well. */
#ifndef ROAM_FILES_PULL_H
#define ROAM_FILES_PULL_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "files/files.h"

#define FILES_TREE_GROUP 1024u /* chunk hashes per group */
#define FILES_TREE_MAX_GROUPS (FILES_MAX_CHUNKS / FILES_TREE_GROUP) /* 4096 */

/* Chunks of a file: ceil(size / chunk_size), at least 1 (an empty file is
 * one empty chunk). -EINVAL for a bad chunk size, -EFBIG over the limits. */
int files_tree_chunks(uint64_t size, uint32_t chunk_size, uint32_t *n);
uint32_t files_tree_groups(uint32_t chunks); /* ceil(chunks / FILES_TREE_GROUP) */
void files_tree_chunk_hash(const uint8_t *data, size_t len, uint8_t out[FILES_HASH_LEN]);
void files_tree_group_hash(const uint8_t *hashes, size_t n, uint8_t out[FILES_HASH_LEN]); /* n hashes */
int files_tree_root(uint64_t size, uint32_t chunk_size, const uint8_t *groups, size_t n,
		    uint8_t out[FILES_HASH_LEN]); /* -EINVAL if n is not the group count */

/* The tree in one pass over the file, fed in any slices (with the
 * whole-file hash alongside): init, update..., final. */
struct files_tree_builder {
	crypto_generichash_state file, chunk, group, root;
	uint64_t size, fed;
	uint32_t chunk_size, in_chunk, in_group;
};
int files_tree_builder_init(struct files_tree_builder *b, uint64_t size, uint32_t chunk_size);
int files_tree_builder_update(struct files_tree_builder *b, const uint8_t *data, size_t len); /* -EFBIG past size */
int files_tree_builder_final(struct files_tree_builder *b, uint8_t file_hash[FILES_HASH_LEN],
			     uint8_t root[FILES_HASH_LEN]); /* -ESTALE if fewer than size bytes were fed */

/* A puller's checks, from the root it trusts: the group hashes once (TREE),
 * then a group's chunk hashes (GROUP) before its chunks, then each chunk.
 * The caller provides the storage: groups (files_tree_groups() hashes) and
 * one group's chunk hashes at a time (FILES_TREE_GROUP). */
struct files_tree_check {
	uint8_t root[FILES_HASH_LEN];
	uint64_t size;
	uint32_t chunk_size, chunks, ngroups;
	uint8_t (*groups)[FILES_HASH_LEN]; /* caller's; valid once have_groups */
	int have_groups;
	uint8_t (*hashes)[FILES_HASH_LEN]; /* caller's: chunk hashes of group `group` */
	uint32_t group;                    /* UINT32_MAX: none loaded */
};
int files_tree_check_init(struct files_tree_check *c, const uint8_t root[FILES_HASH_LEN], uint64_t size,
			  uint32_t chunk_size, uint8_t (*groups)[FILES_HASH_LEN], uint8_t (*hashes)[FILES_HASH_LEN]);
/* A TREE payload: -EBADMSG unless it is the group hashes under the root. */
int files_tree_check_groups(struct files_tree_check *c, const uint8_t *payload, size_t len);
/* A GROUP payload for group g: -EBADMSG unless it hashes to group hash g. */
int files_tree_check_hashes(struct files_tree_check *c, uint32_t g, const uint8_t *payload, size_t len);
/* A chunk: 0 when it is chunk idx (its group loaded: else -EAGAIN),
 * -EBADMSG when it is not. */
int files_tree_check_chunk(const struct files_tree_check *c, uint32_t idx, const uint8_t *data, size_t len);

/* ---- the wire ---- */
#define FILES_PULL_MAGIC "RFG1"
#define FILES_PULL_REQ_LEN 56
#define FILES_PULL_REPLY_LEN 24
#define FILES_PULL_MAX_RUN 64 /* chunks per CHUNKS request */

enum files_pull_type {
	FILES_PULL_TREE = 1,   /* the group hashes */
	FILES_PULL_GROUP = 2,  /* the chunk hashes of group `first` */
	FILES_PULL_CHUNKS = 3, /* the bytes of chunks first .. first+count-1 */
	/* A published path's hash and root, asked of its publisher: the
	 * request's hash field is files_pull_path_key(path), the payload the
	 * file's BLAKE2b-256 then its tree root (`roam pull PEER PATH` while
	 * the sealed index is not at hand). */
	FILES_PULL_LOOKUP = 4,
};
#define FILES_PULL_LOOKUP_LEN (2 * FILES_HASH_LEN)
/* BLAKE2b-256("roam files path v1\0" || path): what LOOKUP asks by. */
void files_pull_path_key(const char *path, size_t len, uint8_t out[FILES_HASH_LEN]);

enum files_pull_status {
	FILES_PULL_OK = 0,
	FILES_PULL_NOT_FOUND = 1,   /* not published or held here (or not to you: same answer) */
	FILES_PULL_BAD_REQUEST = 2, /* out of range for the file, or another chunk size than held */
	FILES_PULL_BUSY = 3,        /* too many pulls served at once: try later or elsewhere */
	FILES_PULL_CHANGED = 4,     /* the file changed on disk since it was published */
	FILES_PULL_IO_ERROR = 5,
	FILES_PULL_STATUS_MAX = 5,
};

struct files_pull_req {
	enum files_pull_type type;
	uint8_t hash[FILES_HASH_LEN]; /* the whole file's BLAKE2b-256 */
	uint32_t chunk_size;
	uint32_t first; /* GROUP: the group; CHUNKS: the first chunk; TREE: 0 */
	uint32_t count; /* CHUNKS: 1..FILES_PULL_MAX_RUN; else 0 */
};

struct files_pull_reply {
	enum files_pull_type type;
	enum files_pull_status status;
	uint64_t size;        /* the file's size (OK only; else 0) */
	uint32_t payload_len; /* what follows (OK only; else 0) */
};

void files_pull_req_build(uint8_t out[FILES_PULL_REQ_LEN], const struct files_pull_req *r);
/* -EBADMSG unless exactly one well-formed request (magic, type, reserved
 * zero, chunk size in range, count as its type wants). */
int files_pull_req_parse(const uint8_t *buf, size_t len, struct files_pull_req *r);
/* The exact payload of an OK reply to r for a file of `size`: -ERANGE when
 * r asks for what the file does not have (the holder answers BAD_REQUEST). */
int files_pull_payload_len(const struct files_pull_req *r, uint64_t size, uint32_t *len);
void files_pull_reply_build(uint8_t out[FILES_PULL_REPLY_LEN], const struct files_pull_reply *p);
int files_pull_reply_parse(const uint8_t *buf, size_t len, struct files_pull_reply *p);
const char *files_pull_status_text(enum files_pull_status status);

#endif
