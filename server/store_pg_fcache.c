/* The file_cache table (server/files/cache.h) for PostgreSQL (as
 * files/cache_store.c for SQLite). */
#include "server/store_pg_names.h" /* first: store.h under store_pg_* names */

#include <errno.h>
#include <string.h>

#include "server/files/cache.h"
#include "server/store_pg_internal.h"

#define COLUMNS "id, sender, recipient, size, received, state, created, expires, file_id, receipt"

static void from_row(const PGresult *res, int i, struct fcache_entry *e)
{
	int64_t state;

	memset(e, 0, sizeof(*e));
	store_pg_blob(res, i, 0, e->id, sizeof(e->id));
	e->sender = (uint32_t)store_pg_int(res, i, 1);
	e->recipient = (uint32_t)store_pg_int(res, i, 2);
	e->size = (uint64_t)store_pg_int(res, i, 3);
	e->received = (uint64_t)store_pg_int(res, i, 4);
	state = store_pg_int(res, i, 5);
	e->state = state >= 0 && state < FC_STATE_COUNT ? (enum fcache_state)state : FC_CANCELLED;
	e->created = store_pg_int(res, i, 6);
	e->expires = store_pg_int(res, i, 7);
	store_pg_blob(res, i, 8, e->file_id, sizeof(e->file_id));
	e->has_receipt = store_pg_blob(res, i, 9, e->receipt, sizeof(e->receipt));
}

int fcache_add(struct store *st, const struct fcache_entry *e)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_blob(&a, e->id, FCACHE_ID_LEN);
	store_pg_arg_i64(&a, e->sender);
	store_pg_arg_i64(&a, e->recipient);
	store_pg_arg_i64(&a, (int64_t)e->size);
	store_pg_arg_i64(&a, e->state);
	store_pg_arg_i64(&a, e->created);
	store_pg_arg_i64(&a, e->expires);
	return store_pg_write(st, "INSERT INTO file_cache(" COLUMNS ") VALUES ($1, $2, $3, $4, 0, $5, $6, $7, NULL, NULL)", &a,
			      NULL);
}

int fcache_get(struct store *st, const uint8_t id[FCACHE_ID_LEN], struct fcache_entry *out)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int r;

	store_pg_arg_blob(&a, id, FCACHE_ID_LEN);
	if ((r = store_pg_row(st, "SELECT " COLUMNS " FROM file_cache WHERE id = $1", &a, &res)) < 0)
		return r;
	from_row(res, 0, out);
	PQclear(res);
	return 0;
}

int fcache_update(struct store *st, const struct fcache_entry *e)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_i64(&a, (int64_t)e->received);
	store_pg_arg_i64(&a, e->state);
	store_pg_arg_blob(&a, e->state >= FC_QUEUED ? e->file_id : NULL, FILES_ID_LEN);
	store_pg_arg_blob(&a, e->has_receipt ? e->receipt : NULL, FILES_RECEIPT_LEN);
	store_pg_arg_blob(&a, e->id, FCACHE_ID_LEN);
	return store_pg_write(st, "UPDATE file_cache SET received = $1, state = $2, file_id = $3, receipt = $4 WHERE id = $5",
			      &a, NULL);
}

int fcache_usage(struct store *st, uint32_t sender, uint64_t *node_bytes, uint64_t *total_bytes, uint64_t *node_files)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int r;

	store_pg_arg_i64(&a, sender);
	if ((r = store_pg_run(st, "SELECT COALESCE(SUM(CASE WHEN sender = $1 THEN size END), 0), COALESCE(SUM(size), 0),"
				  " COUNT(CASE WHEN sender = $1 THEN 1 END) FROM file_cache WHERE state <= 1", &a, &res)) < 0)
		return r;
	*node_bytes = (uint64_t)store_pg_int(res, 0, 0);
	*total_bytes = (uint64_t)store_pg_int(res, 0, 1);
	*node_files = (uint64_t)store_pg_int(res, 0, 2);
	PQclear(res);
	return 0;
}

int fcache_list(struct store *st, uint32_t node, int (*cb)(void *ctx, const struct fcache_entry *e), void *ctx)
{
	struct store_pg_args a = { 0 };
	struct fcache_entry e;
	PGresult *res;
	int r;

	store_pg_arg_i64(&a, node);
	store_pg_arg_i64(&a, FCACHE_LIST_MAX);
	if ((r = store_pg_run(st, "SELECT " COLUMNS " FROM file_cache WHERE sender = $1 OR (recipient = $1 AND state = 1)"
				  " ORDER BY created DESC LIMIT $2", &a, &res)) < 0)
		return r;
	for (int i = 0; r == 0 && i < PQntuples(res) && i < FCACHE_LIST_MAX; i++) {
		from_row(res, i, &e);
		r = cb(ctx, &e);
	}
	PQclear(res);
	return r;
}

int fcache_expire(struct store *st, int64_t now, void (*cb)(void *ctx, const uint8_t id[FCACHE_ID_LEN]), void *ctx)
{
	struct store_pg_args a = { 0 };
	uint8_t id[FCACHE_ID_LEN];
	PGresult *res;
	int r;

	/* Marked and listed in one statement: what is listed is what expired. */
	store_pg_arg_i64(&a, now);
	if ((r = store_pg_run(st, "UPDATE file_cache SET state = 4 WHERE id IN (SELECT id FROM file_cache"
				  " WHERE state <= 1 AND expires <= $1 LIMIT 1024) RETURNING id", &a, &res)) < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		store_pg_blob(res, i, 0, id, sizeof(id));
		cb(ctx, id);
	}
	PQclear(res);
	return 0;
}

int fcache_drop_node(struct store *st, uint32_t node, void (*cb)(void *ctx, const uint8_t id[FCACHE_ID_LEN]), void *ctx)
{
	struct store_pg_args a = { 0 };
	uint8_t id[FCACHE_ID_LEN];
	PGresult *res;
	int r, n;

	/* Deleted and listed in one statement: another server of the cluster
	 * may add a row meanwhile, and it is not listed unless deleted. */
	store_pg_arg_i64(&a, node);
	if ((r = store_pg_run(st, "DELETE FROM file_cache WHERE ($1::bigint <> 0 AND (sender = $1 OR recipient = $1)) OR ($1 = 0 AND"
				  " (sender NOT IN (SELECT id FROM nodes) OR recipient NOT IN (SELECT id FROM nodes))) RETURNING id",
			      &a, &res)) < 0)
		return r;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		store_pg_blob(res, i, 0, id, sizeof(id));
		cb(ctx, id);
	}
	PQclear(res);
	return n;
}
