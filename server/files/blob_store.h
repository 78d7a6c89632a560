/* Where the ciphertext the server keeps for files lives (docs/files.md,
 * "Where the bytes live"): the offline pushes (cache.h, NAME the entry's
 * hex id), the copies of published files ("blob-" and the hex id) and the
 * sealed indexes ("index-P-G", staged as "index-P-G.up"; index.h). With
 * SQLite (one server) a file STATE/files/NAME; with PostgreSQL (servers
 * sharing the state) pieces in the file_data table, one per upload body,
 * so a server that dies loses nothing the others cannot serve. The server
 * stores and returns ciphertext only, and never holds more than one piece
 * or one read's range of a file. */
#ifndef ROAM_SERVER_FILES_BLOB_STORE_H
#define ROAM_SERVER_FILES_BLOB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct server;
struct store;

#define FDATA_NAME_MAX 64 /* "index-4294967295-4294967295.up" and the like */

/* The row whose `received` a counted write moves, in the same transaction
 * as the bytes on PostgreSQL: a kill -9 cannot store one without the other. */
enum fdata_table { FDATA_UNCOUNTED, FDATA_FILE_CACHE, FDATA_FILE_BLOBS };
struct fdata_count {
	enum fdata_table table;
	const uint8_t *id; /* the row's 16-byte id */
};

/* An empty file of that name (what it held before is gone). 0 or -errno. */
int fdata_create(struct server *s, const char *name);
/* len bytes at off, whatever was stored from off on dropped first (a piece
 * written before a crash but never counted); last: the upload's final
 * piece (synced to disk). With count (NULL: none), the row's received
 * becomes off + len on PostgreSQL only if it was off (else -ESTALE: another
 * server took that piece); the caller writes the row itself too (for
 * SQLite, and the same value on PostgreSQL). 0 or -errno. */
int fdata_write(struct server *s, const char *name, uint64_t off, const void *buf, size_t len, bool last,
		const struct fdata_count *count);
/* Exactly len bytes at off: 0, -ENOENT (no such file) or -EIO (short). */
int fdata_read(struct server *s, const char *name, uint64_t off, void *buf, size_t len);
/* The bytes stored: 0 with *size, or -ENOENT. */
int fdata_size(struct server *s, const char *name, uint64_t *size);
/* from replaces to (what to held is gone). 0 or -errno. */
int fdata_rename(struct server *s, const char *from, const char *to);
/* Gone; nothing if there was none. Never fails the caller (logged). */
void fdata_remove(struct server *s, const char *name);
/* The names starting with prefix (at most FDATA_LIST_MAX), cb with each
 * until it returns non-zero; all are read before the first cb (which may
 * so remove them). 0 or -errno. */
#define FDATA_LIST_MAX 1024
int fdata_list(struct server *s, const char *prefix, int (*cb)(void *ctx, const char *name), void *ctx);

/* store_pg_blob.c, through store.c (SQLite: -EOPNOTSUPP; blob_store.c asks
 * store_shared() first). store_fdata_write drops the pieces from off on. */
int store_fdata_write(struct store *st, const char *name, uint64_t off, const void *buf, size_t len,
		      const struct fdata_count *count);
int store_fdata_read(struct store *st, const char *name, uint64_t off, void *buf, size_t len);
int store_fdata_size(struct store *st, const char *name, uint64_t *size);
int store_fdata_rename(struct store *st, const char *from, const char *to);
int store_fdata_remove(struct store *st, const char *name);
/* Distinct names starting with prefix, at most FDATA_LIST_MAX, in order. */
int store_fdata_list(struct store *st, const char *prefix, int (*cb)(void *ctx, const char *name), void *ctx);

#endif
