/* The files' ciphertext in PostgreSQL (server/files/blob_store.h; schema
 * version 7): file_data(name, off, data), one piece per upload body, so
 * every server of a cluster serves what any of them took. */
#include "server/store_pg_names.h" /* first: store.h under store_pg_* names */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/files/blob_store.h"
#include "server/store_pg_internal.h"

/* Fixed statements per table: never SQL built from input. */
static const char *count_sql(enum fdata_table t)
{
	switch (t) {
	case FDATA_FILE_CACHE:
		return "UPDATE file_cache SET received = $1 WHERE id = $2 AND received = $3";
	case FDATA_FILE_BLOBS:
		return "UPDATE file_blobs SET received = $1 WHERE id = $2 AND received = $3";
	default:
		return NULL;
	}
}

static int drop_from(struct store *st, const char *name, uint64_t off)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_text(&a, name);
	store_pg_arg_i64(&a, (int64_t)off);
	return store_pg_write(st, "DELETE FROM file_data WHERE name = $1 AND off >= $2", &a, NULL);
}

int store_fdata_write(struct store *st, const char *name, uint64_t off, const void *buf, size_t len,
		      const struct fdata_count *count)
{
	struct store_pg_args a = { 0 }, c = { 0 };
	const char *sql = count ? count_sql(count->table) : NULL;
	int r;

	if (len > INT32_MAX)
		return -EFBIG;
	if ((r = store_pg_begin(st, NULL)) < 0)
		return r;
	/* The row first: a second server writing the same piece waits on its
	 * lock, then finds received moved and changes nothing. */
	if (sql) {
		store_pg_arg_i64(&c, (int64_t)(off + len));
		store_pg_arg_blob(&c, count->id, 16);
		store_pg_arg_i64(&c, (int64_t)off);
		r = store_pg_write_one(st, sql, &c);
		r = r == -ENOENT ? -ESTALE : r;
	}
	if (r == 0)
		r = drop_from(st, name, off);
	if (r == 0 && len > 0) {
		store_pg_arg_text(&a, name);
		store_pg_arg_i64(&a, (int64_t)off);
		store_pg_arg_blob(&a, buf, len);
		r = store_pg_write(st, "INSERT INTO file_data(name, off, data) VALUES ($1, $2, $3)", &a, NULL);
	}
	return store_pg_end(st, r);
}

int store_fdata_read(struct store *st, const char *name, uint64_t off, void *buf, size_t len)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	uint64_t at = off;
	int r;

	/* Only the slices of the pieces that cover [off, off + len). */
	store_pg_arg_text(&a, name);
	store_pg_arg_i64(&a, (int64_t)off);
	store_pg_arg_i64(&a, (int64_t)len);
	if ((r = store_pg_run(st, "SELECT off, substring(data FROM (GREATEST($2 - off, 0) + 1)::int"
				  " FOR (LEAST(off + length(data), $2 + $3) - GREATEST(off, $2))::int)"
				  " FROM file_data WHERE name = $1 AND off < $2 + $3 AND off + length(data) > $2 ORDER BY off",
			      &a, &res)) < 0)
		return r;
	r = PQntuples(res) ? 0 : -ENOENT;
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		uint64_t start = (uint64_t)store_pg_int(res, i, 0);
		size_t n = 0;
		unsigned char *slice = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 1), &n);
		/* Contiguous from off, or the file has a hole: short. */
		if (!slice || (start > at) || n > len - (size_t)(at - off))
			r = -EIO;
		else
			memcpy((uint8_t *)buf + (at - off), slice, n);
		at += n;
		PQfreemem(slice);
	}
	PQclear(res);
	return r == 0 && at != off + len ? -EIO : r;
}

int store_fdata_size(struct store *st, const char *name, uint64_t *size)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int r;

	store_pg_arg_text(&a, name);
	if ((r = store_pg_row(st, "SELECT MAX(off + length(data)) FROM file_data WHERE name = $1 HAVING COUNT(*) > 0", &a,
			      &res)) < 0)
		return r;
	*size = (uint64_t)store_pg_int(res, 0, 0);
	PQclear(res);
	return 0;
}

int store_fdata_rename(struct store *st, const char *from, const char *to)
{
	struct store_pg_args a = { 0 };
	int r;

	if ((r = store_pg_begin(st, NULL)) < 0)
		return r;
	r = drop_from(st, to, 0);
	store_pg_arg_text(&a, to);
	store_pg_arg_text(&a, from);
	if (r == 0)
		r = store_pg_write(st, "UPDATE file_data SET name = $1 WHERE name = $2", &a, NULL);
	return store_pg_end(st, r);
}

int store_fdata_remove(struct store *st, const char *name) { return drop_from(st, name, 0); }

int store_fdata_list(struct store *st, const char *prefix, int (*cb)(void *ctx, const char *name), void *ctx)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int r;

	/* Compared as text, not LIKE: a prefix is never a pattern. */
	store_pg_arg_text(&a, prefix);
	store_pg_arg_i64(&a, FDATA_LIST_MAX);
	if ((r = store_pg_run(st, "SELECT DISTINCT name FROM file_data WHERE left(name, length($1)) = $1 ORDER BY name LIMIT $2",
			      &a, &res)) < 0)
		return r;
	for (int i = 0; r == 0 && i < PQntuples(res); i++)
		r = cb(ctx, PQgetvalue(res, i, 0)) != 0;
	PQclear(res);
	return 0;
}
