/* The file_index table (server/files/index.h) for PostgreSQL (as
 * files/index_store.c for SQLite). */
#include "server/store_pg_names.h" /* first: store.h under store_pg_* names */

#include <errno.h>

#include "server/files/index.h"
#include "server/store_pg_internal.h"

#define COLUMNS "publisher, group_id, seq, size, updated"

static void from_row(const PGresult *res, int i, struct findex_row *r)
{
	r->publisher = (uint32_t)store_pg_int(res, i, 0);
	r->group = (uint32_t)store_pg_int(res, i, 1);
	r->seq = (uint64_t)store_pg_int(res, i, 2);
	r->size = (uint64_t)store_pg_int(res, i, 3);
	r->updated = store_pg_int(res, i, 4);
}

int findex_put(struct store *st, const struct findex_row *r)
{
	struct store_pg_args a = { 0 };
	uint64_t changed = 0;
	int ret;

	store_pg_arg_i64(&a, r->publisher);
	store_pg_arg_i64(&a, r->group);
	store_pg_arg_i64(&a, (int64_t)r->seq);
	store_pg_arg_i64(&a, (int64_t)r->size);
	store_pg_arg_i64(&a, r->updated);
	ret = store_pg_write(st,
			     "INSERT INTO file_index(" COLUMNS ") VALUES ($1, $2, $3, $4, $5)"
			     " ON CONFLICT(publisher, group_id) DO UPDATE SET seq = excluded.seq, size = excluded.size,"
			     " updated = excluded.updated WHERE excluded.seq > file_index.seq",
			     &a, &changed);
	return ret < 0 ? ret : changed > 0 ? 0 : -EEXIST;
}

int findex_get(struct store *st, uint32_t publisher, uint32_t group, struct findex_row *out)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int r;

	store_pg_arg_i64(&a, publisher);
	store_pg_arg_i64(&a, group);
	if ((r = store_pg_row(st, "SELECT " COLUMNS " FROM file_index WHERE publisher = $1 AND group_id = $2", &a, &res)) < 0)
		return r;
	from_row(res, 0, out);
	PQclear(res);
	return 0;
}

int findex_list(struct store *st, uint32_t publisher, int (*cb)(void *ctx, const struct findex_row *r), void *ctx)
{
	struct store_pg_args a = { 0 };
	struct findex_row row;
	PGresult *res;
	int r;

	store_pg_arg_i64(&a, publisher);
	if ((r = store_pg_run(st, "SELECT " COLUMNS " FROM file_index WHERE publisher = $1 ORDER BY seq DESC, group_id", &a,
			      &res)) < 0)
		return r;
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		from_row(res, i, &row);
		r = cb(ctx, &row);
	}
	PQclear(res);
	return r > 0 ? 0 : r;
}

int findex_delete(struct store *st, uint32_t publisher, uint32_t group)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_i64(&a, publisher);
	store_pg_arg_i64(&a, group);
	return store_pg_write(st, "DELETE FROM file_index WHERE publisher = $1 AND ($2 = 0 OR group_id = $2)", &a, NULL);
}

#define BLOB_COLUMNS "id, publisher, group_id, seq, size, received, created"

int fblob_add(struct store *st, const struct fblob *b)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_blob(&a, b->id, FBLOB_ID_LEN);
	store_pg_arg_i64(&a, b->publisher);
	store_pg_arg_i64(&a, b->group);
	store_pg_arg_i64(&a, (int64_t)b->seq);
	store_pg_arg_i64(&a, (int64_t)b->size);
	store_pg_arg_i64(&a, b->created);
	return store_pg_write(st, "INSERT INTO file_blobs(" BLOB_COLUMNS ") VALUES ($1, $2, $3, $4, $5, 0, $6)", &a, NULL);
}

int fblob_get(struct store *st, const uint8_t id[FBLOB_ID_LEN], struct fblob *out)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int r;

	store_pg_arg_blob(&a, id, FBLOB_ID_LEN);
	if ((r = store_pg_row(st, "SELECT " BLOB_COLUMNS " FROM file_blobs WHERE id = $1", &a, &res)) < 0)
		return r;
	store_pg_blob(res, 0, 0, out->id, FBLOB_ID_LEN);
	out->publisher = (uint32_t)store_pg_int(res, 0, 1);
	out->group = (uint32_t)store_pg_int(res, 0, 2);
	out->seq = (uint64_t)store_pg_int(res, 0, 3);
	out->size = (uint64_t)store_pg_int(res, 0, 4);
	out->received = (uint64_t)store_pg_int(res, 0, 5);
	out->created = store_pg_int(res, 0, 6);
	PQclear(res);
	return 0;
}

int fblob_set_received(struct store *st, const uint8_t id[FBLOB_ID_LEN], uint64_t received)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_i64(&a, (int64_t)received);
	store_pg_arg_blob(&a, id, FBLOB_ID_LEN);
	return store_pg_write(st, "UPDATE file_blobs SET received = $1 WHERE id = $2", &a, NULL);
}

int fblob_usage(struct store *st, uint32_t publisher, uint64_t *bytes, uint64_t *count, uint64_t *total)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int r;

	store_pg_arg_i64(&a, publisher);
	if ((r = store_pg_run(st, "SELECT COALESCE(SUM(CASE WHEN publisher = $1 THEN size END), 0),"
				  " COUNT(CASE WHEN publisher = $1 THEN 1 END), COALESCE(SUM(size), 0) FROM file_blobs",
			      &a, &res)) < 0)
		return r;
	*bytes = (uint64_t)store_pg_int(res, 0, 0);
	*count = (uint64_t)store_pg_int(res, 0, 1);
	*total = (uint64_t)store_pg_int(res, 0, 2);
	PQclear(res);
	return 0;
}

int fblob_drop(struct store *st, uint32_t publisher, uint32_t group, uint64_t below,
	       void (*cb)(void *ctx, const uint8_t id[FBLOB_ID_LEN]), void *ctx)
{
	struct store_pg_args a = { 0 };
	uint8_t id[FBLOB_ID_LEN];
	PGresult *res;
	int r;

	store_pg_arg_i64(&a, publisher);
	store_pg_arg_i64(&a, group);
	store_pg_arg_i64(&a, (int64_t)below);
	if ((r = store_pg_run(st, "DELETE FROM file_blobs WHERE publisher = $1 AND ($2 = 0 OR group_id = $2)"
				  " AND ($3 = 0 OR seq < $3) RETURNING id",
			      &a, &res)) < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++)
		if (store_pg_blob(res, i, 0, id, sizeof(id)))
			cb(ctx, id);
	PQclear(res);
	return 0;
}
