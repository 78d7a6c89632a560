/* store.h for PostgreSQL: groups and pre-auth keys (as store_sqlite_groups.c). */
#include "server/store_pg_names.h" /* first: store.h under store_pg_* names */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/store.h"
#include "server/store_pg_internal.h"

#define GROUP_SELECT "SELECT id, name, (SELECT count(*) FROM memberships m WHERE m.group_id = groups.id) FROM groups"

/* A write binding (text or not, then ids): -ENOENT if no row changed. */
static int write_ids(struct store *st, const char *sql, const char *text, int64_t id1, int64_t id2, bool two)
{
	struct store_pg_args a = { 0 };

	if (text)
		store_pg_arg_text(&a, text);
	store_pg_arg_i64(&a, id1);
	if (two)
		store_pg_arg_i64(&a, id2);
	return store_pg_write_one(st, sql, &a);
}

int store_group_create(struct store *st, const char *name, uint32_t *id_out)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int r;

	store_pg_arg_text(&a, name);
	if ((r = store_pg_run(st, "INSERT INTO groups(name) VALUES ($1) RETURNING id", &a, &res)) < 0)
		return r;
	*id_out = (uint32_t)store_pg_int(res, 0, 0);
	PQclear(res);
	return 0;
}

static void group_row(const PGresult *res, int row, struct store_group *g)
{
	memset(g, 0, sizeof(*g));
	g->id = (uint32_t)store_pg_int(res, row, 0);
	store_pg_text(res, row, 1, g->name, sizeof(g->name));
	g->members = (size_t)store_pg_int(res, row, 2);
}

/* The group a statement of one parameter selects: 0 or -ENOENT. */
static int group_one(struct store *st, const char *sql, struct store_pg_args *a, struct store_group *out)
{
	PGresult *res;
	int r;

	if ((r = store_pg_row(st, sql, a, &res)) < 0)
		return r;
	group_row(res, 0, out);
	PQclear(res);
	return 0;
}

int store_group_by_name(struct store *st, const char *name, struct store_group *out)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_text(&a, name);
	return group_one(st, GROUP_SELECT " WHERE name = $1", &a, out);
}

int store_group_name(struct store *st, uint32_t id, char name[COORD_NAME_MAX + 1])
{
	struct store_pg_args a = { 0 };
	struct store_group g;
	int r;

	store_pg_arg_i64(&a, id);
	if ((r = group_one(st, GROUP_SELECT " WHERE id = $1", &a, &g)) == 0)
		memcpy(name, g.name, sizeof(g.name));
	return r;
}

int store_groups_foreach(struct store *st, int (*cb)(void *ctx, const struct store_group *g), void *ctx)
{
	struct store_group g;
	PGresult *res;
	int r;

	if ((r = store_pg_run(st, GROUP_SELECT " ORDER BY id", NULL, &res)) < 0)
		return r;
	for (int i = 0; r >= 0 && i < PQntuples(res); i++) {
		group_row(res, i, &g);
		r = cb(ctx, &g);
	}
	PQclear(res);
	return r < 0 ? r : 0;
}

int store_group_add_node(struct store *st, uint32_t group, uint32_t node)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int64_t count;
	int r;

	/* The cap and the insert in one statement: no other server slips in between. */
	store_pg_arg_i64(&a, group);
	store_pg_arg_i64(&a, node);
	store_pg_arg_i64(&a, COORD_GROUPS_MAX);
	if ((r = store_pg_run(st, "WITH c AS (SELECT count(*) AS n FROM memberships WHERE node_id = $2::bigint),"
				  " ins AS (INSERT INTO memberships(group_id, node_id) SELECT $1::bigint, $2::bigint FROM c WHERE c.n < $3"
				  " ON CONFLICT DO NOTHING) SELECT n FROM c",
			      &a, &res)) < 0)
		return r;
	count = store_pg_int(res, 0, 0);
	PQclear(res);
	return count >= COORD_GROUPS_MAX ? -E2BIG : 0;
}

int store_group_remove_node(struct store *st, uint32_t group, uint32_t node)
{
	return write_ids(st, "DELETE FROM memberships WHERE group_id = $1 AND node_id = $2", NULL, group, node, true);
}

int store_group_delete(struct store *st, uint32_t group)
{
	return write_ids(st, "DELETE FROM groups WHERE id = $1", NULL, group, 0, false);
}

int store_group_rename(struct store *st, uint32_t group, const char *new_name)
{
	return write_ids(st, "UPDATE groups SET name = $1 WHERE id = $2", new_name, group, 0, false);
}

static int key_insert(struct store *st, const uint8_t hash[32], bool reusable, int64_t expires_at,
		      const uint32_t *groups, size_t groups_count, int64_t now, uint32_t *id_out)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int64_t id;
	int r;

	store_pg_arg_blob(&a, hash, 32);
	store_pg_arg_i64(&a, reusable);
	store_pg_arg_i64(&a, expires_at);
	store_pg_arg_i64(&a, now);
	if ((r = store_pg_run(st, "INSERT INTO preauth_keys(hash, reusable, expires_at, created) VALUES ($1, $2, $3, $4)"
				  " RETURNING id", &a, &res)) < 0)
		return r;
	id = store_pg_int(res, 0, 0);
	PQclear(res);
	for (size_t i = 0; i < groups_count; i++) {
		a.n = 0;
		store_pg_arg_i64(&a, id);
		store_pg_arg_i64(&a, groups[i]);
		if ((r = store_pg_write(st, "INSERT INTO preauth_key_groups(key_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
					&a, NULL)) < 0)
			return r;
	}
	*id_out = (uint32_t)id;
	return 0;
}

int store_key_create(struct store *st, const uint8_t hash[32], bool reusable, int64_t expires_at,
		     const uint32_t *groups, size_t groups_count, int64_t now, uint32_t *id_out)
{
	uint32_t id = 0;
	int r;

	if (groups_count > COORD_GROUPS_MAX)
		return -E2BIG;
	if ((r = store_pg_begin(st, NULL)) < 0)
		return r;
	if ((r = store_pg_end(st, key_insert(st, hash, reusable, expires_at, groups, groups_count, now, &id))) < 0)
		return r;
	*id_out = id;
	return 0;
}

int store_keys_foreach(struct store *st, int (*cb)(void *ctx, const struct store_key *k), void *ctx)
{
	PGresult *s = NULL, *g = NULL;
	struct store_key k;
	int r, j = 0;

	if ((r = store_pg_run(st, "SELECT id, reusable, revoked, expires_at, uses, created FROM preauth_keys ORDER BY id",
			      NULL, &s)) < 0 ||
	    (r = store_pg_run(st, "SELECT key_id, group_id FROM preauth_key_groups ORDER BY key_id, group_id", NULL, &g)) < 0)
		goto out;
	for (int i = 0; r >= 0 && i < PQntuples(s); i++) {
		memset(&k, 0, sizeof(k));
		k.id = (uint32_t)store_pg_int(s, i, 0);
		k.reusable = store_pg_int(s, i, 1) != 0;
		k.revoked = store_pg_int(s, i, 2) != 0;
		k.expires_at = store_pg_int(s, i, 3);
		k.uses = (uint32_t)store_pg_int(s, i, 4);
		k.created = store_pg_int(s, i, 5);
		while (j < PQntuples(g) && (uint32_t)store_pg_int(g, j, 0) < k.id)
			j++;
		for (; j < PQntuples(g) && (uint32_t)store_pg_int(g, j, 0) == k.id; j++)
			if (k.groups_count < COORD_GROUPS_MAX)
				k.groups[k.groups_count++] = (uint32_t)store_pg_int(g, j, 1);
		r = cb(ctx, &k);
	}
out:
	PQclear(s);
	PQclear(g);
	return r < 0 ? r : 0;
}

int store_key_revoke(struct store *st, uint32_t id)
{
	return write_ids(st, "UPDATE preauth_keys SET revoked = 1 WHERE id = $1", NULL, id, 0, false);
}
