/* The file_cache table (server/files/cache.h; schema version 4). */
#include "server/store_sqlite_names.h" /* first: store.h under store_sqlite_* names */
#include <errno.h>
#include <string.h>

#include "server/files/cache.h"
#include "server/store_sqlite_internal.h"

#define COLUMNS "id, sender, recipient, size, received, state, created, expires, file_id, receipt"

static void blob(void *dst, size_t len, sqlite3_stmt *s, int col)
{
	const void *b = sqlite3_column_blob(s, col);
	if (b && (size_t)sqlite3_column_bytes(s, col) == len)
		memcpy(dst, b, len);
	else
		memset(dst, 0, len);
}

static void from_row(sqlite3_stmt *s, struct fcache_entry *e)
{
	memset(e, 0, sizeof(*e));
	blob(e->id, sizeof(e->id), s, 0);
	e->sender = (uint32_t)sqlite3_column_int64(s, 1);
	e->recipient = (uint32_t)sqlite3_column_int64(s, 2);
	e->size = (uint64_t)sqlite3_column_int64(s, 3);
	e->received = (uint64_t)sqlite3_column_int64(s, 4);
	int state = sqlite3_column_int(s, 5);
	e->state = state >= 0 && state < FC_STATE_COUNT ? (enum fcache_state)state : FC_CANCELLED;
	e->created = sqlite3_column_int64(s, 6);
	e->expires = sqlite3_column_int64(s, 7);
	blob(e->file_id, sizeof(e->file_id), s, 8);
	e->has_receipt = sqlite3_column_bytes(s, 9) == FILES_RECEIPT_LEN;
	blob(e->receipt, sizeof(e->receipt), s, 9);
}

int fcache_add(struct store *st, const struct fcache_entry *e)
{
	sqlite3_stmt *s;
	int r;
	if ((r = store_sqlite_prepare(st, "INSERT INTO file_cache(" COLUMNS ") VALUES (?, ?, ?, ?, 0, ?, ?, ?, NULL, NULL)",
				      &s)) < 0)
		return r;
	sqlite3_bind_blob(s, 1, e->id, FCACHE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, e->sender);
	sqlite3_bind_int64(s, 3, e->recipient);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)e->size);
	sqlite3_bind_int(s, 5, e->state);
	sqlite3_bind_int64(s, 6, e->created);
	sqlite3_bind_int64(s, 7, e->expires);
	return store_sqlite_step_done(st, s);
}

int fcache_get(struct store *st, const uint8_t id[FCACHE_ID_LEN], struct fcache_entry *out)
{
	sqlite3_stmt *s;
	int r;
	if ((r = store_sqlite_prepare(st, "SELECT " COLUMNS " FROM file_cache WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_blob(s, 1, id, FCACHE_ID_LEN, SQLITE_STATIC);
	r = -ENOENT;
	if (sqlite3_step(s) == SQLITE_ROW) {
		from_row(s, out);
		r = 0;
	}
	sqlite3_finalize(s);
	return r;
}

int fcache_update(struct store *st, const struct fcache_entry *e)
{
	sqlite3_stmt *s;
	int r;
	if ((r = store_sqlite_prepare(st, "UPDATE file_cache SET received = ?, state = ?, file_id = ?, receipt = ? WHERE id = ?",
				      &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)e->received);
	sqlite3_bind_int(s, 2, e->state);
	if (e->state >= FC_QUEUED)
		sqlite3_bind_blob(s, 3, e->file_id, FILES_ID_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 3);
	if (e->has_receipt)
		sqlite3_bind_blob(s, 4, e->receipt, FILES_RECEIPT_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 4);
	sqlite3_bind_blob(s, 5, e->id, FCACHE_ID_LEN, SQLITE_STATIC);
	return store_sqlite_step_done(st, s);
}

int fcache_usage(struct store *st, uint32_t sender, uint64_t *node_bytes, uint64_t *total_bytes, uint64_t *node_files)
{
	sqlite3_stmt *s;
	int r;
	if ((r = store_sqlite_prepare(st, "SELECT COALESCE(SUM(CASE WHEN sender = ?1 THEN size END), 0), COALESCE(SUM(size), 0),"
				      " COUNT(CASE WHEN sender = ?1 THEN 1 END)"
				      " FROM file_cache WHERE state <= 1", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, sender);
	r = -EIO;
	if (sqlite3_step(s) == SQLITE_ROW) {
		*node_bytes = (uint64_t)sqlite3_column_int64(s, 0);
		*total_bytes = (uint64_t)sqlite3_column_int64(s, 1);
		*node_files = (uint64_t)sqlite3_column_int64(s, 2);
		r = 0;
	}
	sqlite3_finalize(s);
	return r;
}

int fcache_list(struct store *st, uint32_t node, int (*cb)(void *ctx, const struct fcache_entry *e), void *ctx)
{
	sqlite3_stmt *s;
	struct fcache_entry e;
	int r, n = 0;
	if ((r = store_sqlite_prepare(st, "SELECT " COLUMNS " FROM file_cache WHERE sender = ? OR (recipient = ? AND state = 1)"
				      " ORDER BY created DESC LIMIT ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, node);
	sqlite3_bind_int64(s, 2, node);
	sqlite3_bind_int(s, 3, FCACHE_LIST_MAX);
	r = 0;
	while (r == 0 && sqlite3_step(s) == SQLITE_ROW && n++ < FCACHE_LIST_MAX) {
		from_row(s, &e);
		r = cb(ctx, &e);
	}
	sqlite3_finalize(s);
	return r;
}

int fcache_expire(struct store *st, int64_t now, void (*cb)(void *ctx, const uint8_t id[FCACHE_ID_LEN]), void *ctx)
{
	sqlite3_stmt *s;
	uint8_t id[FCACHE_ID_LEN];
	int r;
	if ((r = store_sqlite_prepare(st, "SELECT id FROM file_cache WHERE state <= 1 AND expires <= ? LIMIT 1024", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, now);
	while (sqlite3_step(s) == SQLITE_ROW) {
		blob(id, sizeof(id), s, 0);
		cb(ctx, id);
	}
	sqlite3_finalize(s);
	if ((r = store_sqlite_prepare(st, "UPDATE file_cache SET state = 4 WHERE state <= 1 AND expires <= ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, now);
	return store_sqlite_step_done(st, s);
}

/* The rows fcache_drop_node deletes; ?1: the node, or 0. */
#define DROP_WHERE                                                                   \
	" WHERE (?1 <> 0 AND (sender = ?1 OR recipient = ?1)) OR (?1 = 0 AND"        \
	" (sender NOT IN (SELECT id FROM nodes) OR recipient NOT IN (SELECT id FROM nodes)))"

int fcache_drop_node(struct store *st, uint32_t node, void (*cb)(void *ctx, const uint8_t id[FCACHE_ID_LEN]), void *ctx)
{
	sqlite3_stmt *s;
	uint8_t id[FCACHE_ID_LEN];
	int r, n = 0;
	/* Listed, then deleted by the same condition: the server is the only
	 * writer of an SQLite store, and does both in one turn of its loop. */
	if ((r = store_sqlite_prepare(st, "SELECT id FROM file_cache" DROP_WHERE, &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, node);
	while (sqlite3_step(s) == SQLITE_ROW) {
		blob(id, sizeof(id), s, 0);
		cb(ctx, id);
		n++;
	}
	sqlite3_finalize(s);
	if ((r = store_sqlite_prepare(st, "DELETE FROM file_cache" DROP_WHERE, &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, node);
	r = store_sqlite_step_done(st, s);
	return r < 0 ? r : n;
}

const char *fcache_state_name(enum fcache_state s)
{
	static const char *const names[] = { "uploading", "queued", "delivered", "cancelled", "expired" };
	return s < FC_STATE_COUNT ? names[s] : "unknown";
}
