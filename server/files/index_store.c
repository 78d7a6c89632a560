/* The file_index table (server/files/index.h; schema version 6), SQLite. */
#include "server/store_sqlite_names.h" /* first: store.h under store_sqlite_* names */
#include <errno.h>
#include <string.h>

#include "server/files/index.h"
#include "server/store_sqlite_internal.h"

#define COLUMNS "publisher, group_id, seq, size, updated"

static void from_row(sqlite3_stmt *s, struct findex_row *r)
{
	r->publisher = (uint32_t)sqlite3_column_int64(s, 0);
	r->group = (uint32_t)sqlite3_column_int64(s, 1);
	r->seq = (uint64_t)sqlite3_column_int64(s, 2);
	r->size = (uint64_t)sqlite3_column_int64(s, 3);
	r->updated = sqlite3_column_int64(s, 4);
}

int findex_put(struct store *st, const struct findex_row *r)
{
	sqlite3_stmt *s;
	int ret;
	/* One statement: the comparison and the write cannot be split by another writer. */
	if ((ret = store_sqlite_prepare(st,
					"INSERT INTO file_index(" COLUMNS ") VALUES (?, ?, ?, ?, ?)"
					" ON CONFLICT(publisher, group_id) DO UPDATE SET seq = excluded.seq,"
					" size = excluded.size, updated = excluded.updated WHERE excluded.seq > file_index.seq",
					&s)) < 0)
		return ret;
	sqlite3_bind_int64(s, 1, r->publisher);
	sqlite3_bind_int64(s, 2, r->group);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)r->seq);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)r->size);
	sqlite3_bind_int64(s, 5, r->updated);
	if ((ret = store_sqlite_step_done(st, s)) < 0)
		return ret;
	return sqlite3_changes(store_sqlite_db(st)) > 0 ? 0 : -EEXIST;
}

int findex_get(struct store *st, uint32_t publisher, uint32_t group, struct findex_row *out)
{
	sqlite3_stmt *s;
	int r;
	if ((r = store_sqlite_prepare(st, "SELECT " COLUMNS " FROM file_index WHERE publisher = ? AND group_id = ?", &s)) <
	    0)
		return r;
	sqlite3_bind_int64(s, 1, publisher);
	sqlite3_bind_int64(s, 2, group);
	r = -ENOENT;
	if (sqlite3_step(s) == SQLITE_ROW) {
		from_row(s, out);
		r = 0;
	}
	sqlite3_finalize(s);
	return r;
}

int findex_list(struct store *st, uint32_t publisher, int (*cb)(void *ctx, const struct findex_row *r), void *ctx)
{
	sqlite3_stmt *s;
	struct findex_row row;
	int r, rc;
	if ((r = store_sqlite_prepare(st, "SELECT " COLUMNS " FROM file_index WHERE publisher = ? ORDER BY seq DESC, group_id",
				      &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, publisher);
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		from_row(s, &row);
		r = cb(ctx, &row);
	}
	sqlite3_finalize(s);
	return r > 0 ? 0 : r;
}

int findex_delete(struct store *st, uint32_t publisher, uint32_t group)
{
	sqlite3_stmt *s;
	int r;
	if ((r = store_sqlite_prepare(st, "DELETE FROM file_index WHERE publisher = ? AND (? = 0 OR group_id = ?)", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, publisher);
	sqlite3_bind_int64(s, 2, group);
	sqlite3_bind_int64(s, 3, group);
	return store_sqlite_step_done(st, s);
}

#define BLOB_COLUMNS "id, publisher, group_id, seq, size, received, created"

int fblob_add(struct store *st, const struct fblob *b)
{
	sqlite3_stmt *s;
	int r;
	if ((r = store_sqlite_prepare(st, "INSERT INTO file_blobs(" BLOB_COLUMNS ") VALUES (?, ?, ?, ?, ?, 0, ?)", &s)) < 0)
		return r;
	sqlite3_bind_blob(s, 1, b->id, FBLOB_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, b->publisher);
	sqlite3_bind_int64(s, 3, b->group);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)b->seq);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)b->size);
	sqlite3_bind_int64(s, 6, b->created);
	return store_sqlite_step_done(st, s);
}

int fblob_get(struct store *st, const uint8_t id[FBLOB_ID_LEN], struct fblob *out)
{
	sqlite3_stmt *s;
	int r;
	if ((r = store_sqlite_prepare(st, "SELECT " BLOB_COLUMNS " FROM file_blobs WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_blob(s, 1, id, FBLOB_ID_LEN, SQLITE_STATIC);
	r = -ENOENT;
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == FBLOB_ID_LEN) {
		memcpy(out->id, sqlite3_column_blob(s, 0), FBLOB_ID_LEN);
		out->publisher = (uint32_t)sqlite3_column_int64(s, 1);
		out->group = (uint32_t)sqlite3_column_int64(s, 2);
		out->seq = (uint64_t)sqlite3_column_int64(s, 3);
		out->size = (uint64_t)sqlite3_column_int64(s, 4);
		out->received = (uint64_t)sqlite3_column_int64(s, 5);
		out->created = sqlite3_column_int64(s, 6);
		r = 0;
	}
	sqlite3_finalize(s);
	return r;
}

int fblob_set_received(struct store *st, const uint8_t id[FBLOB_ID_LEN], uint64_t received)
{
	sqlite3_stmt *s;
	int r;
	if ((r = store_sqlite_prepare(st, "UPDATE file_blobs SET received = ? WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)received);
	sqlite3_bind_blob(s, 2, id, FBLOB_ID_LEN, SQLITE_STATIC);
	return store_sqlite_step_done(st, s);
}

int fblob_usage(struct store *st, uint32_t publisher, uint64_t *bytes, uint64_t *count, uint64_t *total)
{
	sqlite3_stmt *s;
	int r;
	if ((r = store_sqlite_prepare(st, "SELECT COALESCE(SUM(CASE WHEN publisher = ?1 THEN size END), 0),"
					  " COUNT(CASE WHEN publisher = ?1 THEN 1 END), COALESCE(SUM(size), 0) FROM file_blobs",
				      &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, publisher);
	r = -EIO;
	if (sqlite3_step(s) == SQLITE_ROW) {
		*bytes = (uint64_t)sqlite3_column_int64(s, 0);
		*count = (uint64_t)sqlite3_column_int64(s, 1);
		*total = (uint64_t)sqlite3_column_int64(s, 2);
		r = 0;
	}
	sqlite3_finalize(s);
	return r;
}

int fblob_drop(struct store *st, uint32_t publisher, uint32_t group, uint64_t below,
	       void (*cb)(void *ctx, const uint8_t id[FBLOB_ID_LEN]), void *ctx)
{
	sqlite3_stmt *s;
	int r, rc;
	if ((r = store_sqlite_prepare(st, "DELETE FROM file_blobs WHERE publisher = ?1 AND (?2 = 0 OR group_id = ?2)"
					  " AND (?3 = 0 OR seq < ?3) RETURNING id",
				      &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, publisher);
	sqlite3_bind_int64(s, 2, group);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)below);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (sqlite3_column_bytes(s, 0) == FBLOB_ID_LEN)
			cb(ctx, sqlite3_column_blob(s, 0));
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store_sqlite_fail(st, store_sqlite_errno(rc), "deleting copies");
}
