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
