/* store.h for PostgreSQL: nodes and registration (as store_sqlite_ops.c). */
#include "server/store_pg_names.h" /* first: store.h under store_pg_* names */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/store.h"
#include "server/store_common.h"
#include "server/store_pg_internal.h"

#define NODE_COLUMNS "id, name, public_key, ipv6, ipv4, approved, expires_at, created, last_seen, online, file_key"

static void node_from_row(const PGresult *res, int row, struct store_node *n)
{
	memset(n, 0, sizeof(*n));
	n->id = (uint32_t)store_pg_int(res, row, 0);
	store_pg_text(res, row, 1, n->name, sizeof(n->name));
	store_pg_blob(res, row, 2, n->public_key, sizeof(n->public_key));
	store_pg_blob(res, row, 3, n->ipv6, sizeof(n->ipv6));
	store_pg_blob(res, row, 4, n->ipv4, sizeof(n->ipv4));
	n->approved = store_pg_int(res, row, 5) != 0;
	n->expires_at = store_pg_int(res, row, 6);
	n->created = store_pg_int(res, row, 7);
	n->last_seen = store_pg_int(res, row, 8);
	n->online = store_pg_int(res, row, 9) != 0;
	n->has_file_key = store_pg_blob(res, row, 10, n->file_key, sizeof(n->file_key));
}

/* One statement binding (v, id): -ENOENT if it changed no row. */
static int node_update(struct store *st, const char *sql, bool with_value, int64_t v, uint32_t id)
{
	struct store_pg_args a = { 0 };

	if (with_value)
		store_pg_arg_i64(&a, v);
	store_pg_arg_i64(&a, id);
	return store_pg_write_one(st, sql, &a);
}

int store_node_set_file_key(struct store *st, uint32_t id, const uint8_t key[COORD_KEY_LEN])
{
	struct store_pg_args a = { 0 };

	store_pg_arg_blob(&a, key, COORD_KEY_LEN);
	store_pg_arg_i64(&a, id);
	return store_pg_write(st, "UPDATE nodes SET file_key = $1 WHERE id = $2", &a, NULL);
}

int store_node_set_endpoints(struct store *st, uint32_t id, const char *json)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_text(&a, json);
	store_pg_arg_i64(&a, id);
	return store_pg_write(st, "UPDATE nodes SET endpoints = $1 WHERE id = $2", &a, NULL);
}

int store_nodes_endpoints_foreach(struct store *st, int (*cb)(void *ctx, uint32_t id, const char *json), void *ctx)
{
	PGresult *res;
	int r;

	if ((r = store_pg_run(st, "SELECT id, endpoints FROM nodes WHERE endpoints IS NOT NULL", NULL, &res)) < 0)
		return r;
	for (int i = 0; r >= 0 && i < PQntuples(res); i++)
		r = cb(ctx, (uint32_t)store_pg_int(res, i, 0), PQgetvalue(res, i, 1));
	PQclear(res);
	return r < 0 ? r : 0;
}

static int node_groups_load(struct store *st, struct store_node *n)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int r;

	store_pg_arg_i64(&a, n->id);
	if ((r = store_pg_run(st, "SELECT group_id FROM memberships WHERE node_id = $1 ORDER BY group_id", &a, &res)) < 0)
		return r;
	n->groups_count = 0;
	for (int i = 0; i < PQntuples(res) && n->groups_count < COORD_GROUPS_MAX; i++)
		n->groups[n->groups_count++] = (uint32_t)store_pg_int(res, i, 0);
	PQclear(res);
	return 0;
}

enum node_key { BY_ID, BY_NAME, BY_PUBLIC_KEY };

static int node_lookup(struct store *st, enum node_key by, const void *key, int64_t id, struct store_node *out)
{
	static const char *const sql[] = {
		[BY_ID] = "SELECT " NODE_COLUMNS " FROM nodes WHERE id = $1",
		[BY_NAME] = "SELECT " NODE_COLUMNS " FROM nodes WHERE name = $1",
		[BY_PUBLIC_KEY] = "SELECT " NODE_COLUMNS " FROM nodes WHERE public_key = $1",
	};
	struct store_pg_args a = { 0 };
	struct store_node n;
	PGresult *res;
	int r;

	if (by == BY_ID)
		store_pg_arg_i64(&a, id);
	else if (by == BY_NAME)
		store_pg_arg_text(&a, key);
	else
		store_pg_arg_blob(&a, key, COORD_KEY_LEN);
	if ((r = store_pg_row(st, sql[by], &a, &res)) < 0)
		return r;
	node_from_row(res, 0, &n);
	PQclear(res);
	if ((r = node_groups_load(st, &n)) == 0)
		*out = n;
	return r;
}

int store_node_by_name(struct store *st, const char *name, struct store_node *out)
{
	return node_lookup(st, BY_NAME, name, 0, out);
}

int store_nodes_foreach(struct store *st, int (*cb)(void *ctx, const struct store_node *n), void *ctx)
{
	PGresult *s = NULL, *m = NULL;
	struct store_node n;
	int r, j = 0, mrows;

	if ((r = store_pg_run(st, "SELECT " NODE_COLUMNS " FROM nodes ORDER BY id", NULL, &s)) < 0 ||
	    (r = store_pg_run(st, "SELECT node_id, group_id FROM memberships ORDER BY node_id, group_id", NULL, &m)) < 0)
		goto out;
	/* Merge the two id-ordered results: one pass over each. */
	mrows = PQntuples(m);
	for (int i = 0; i < PQntuples(s); i++) {
		node_from_row(s, i, &n);
		while (j < mrows && (uint32_t)store_pg_int(m, j, 0) < n.id)
			j++;
		for (; j < mrows && (uint32_t)store_pg_int(m, j, 0) == n.id; j++)
			if (n.groups_count < COORD_GROUPS_MAX)
				n.groups[n.groups_count++] = (uint32_t)store_pg_int(m, j, 1);
		if ((r = cb(ctx, &n)) < 0)
			goto out;
	}
	r = 0;
out:
	PQclear(s);
	PQclear(m);
	return r;
}

int store_node_approve(struct store *st, uint32_t id)
{
	return node_update(st, "UPDATE nodes SET approved = 1 WHERE id = $1", false, 0, id);
}

int store_node_set_expiry(struct store *st, uint32_t id, int64_t expires_at)
{
	return node_update(st, "UPDATE nodes SET expires_at = $1 WHERE id = $2", true, expires_at, id);
}

int store_node_seen(struct store *st, uint32_t id, int64_t last_seen)
{
	return node_update(st, "UPDATE nodes SET last_seen = $1 WHERE id = $2", true, last_seen, id);
}

int store_node_presence(struct store *st, uint32_t id, bool online, int64_t last_seen)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_i64(&a, online);
	store_pg_arg_i64(&a, last_seen);
	store_pg_arg_i64(&a, id);
	return store_pg_write_one(st, "UPDATE nodes SET online = $1, last_seen = $2 WHERE id = $3", &a);
}

int store_nodes_presence(struct store *st, const struct store_presence_row *rows, size_t count)
{
	int r;

	if (!count)
		return 0;
	if ((r = store_pg_begin(st, NULL)) < 0)
		return r;
	for (size_t i = 0; i < count && r >= 0; i++)
		if ((r = store_node_presence(st, rows[i].id, rows[i].online, rows[i].last_seen)) == -ENOENT)
			r = 0; /* removed since: nothing to write */
	return store_pg_end(st, r);
}

/* A live server's session: a connection named after the tag. */
#define LIVE_SESSION(tag) \
	"SELECT 1 FROM pg_stat_activity a WHERE a.application_name = '" STORE_PG_SESSION_PREFIX "' || " tag

/* Only what no other live server holds: a server starting (or stopping)
 * must not take the nodes of the others offline. */
int store_nodes_offline(struct store *st)
{
	return store_pg_write(st,
			      "UPDATE nodes SET online = 0 WHERE online != 0 AND NOT EXISTS (SELECT 1 FROM presence p"
			      " WHERE p.node_id = nodes.id AND EXISTS (" LIVE_SESSION("p.server") " AND a.pid <> pg_backend_pid()))",
			      NULL, NULL);
}

int store_presence_orphans(struct store *st, int (*cb)(void *ctx, const char *server), void *ctx)
{
	PGresult *res;
	int r;

	/* "" holds no node: a dead server's rows once another took them over. */
	if ((r = store_pg_run(st,
			      "SELECT DISTINCT server FROM presence p WHERE server <> '' AND NOT EXISTS ("
			      LIVE_SESSION("p.server") ")",
			      NULL, &res)) < 0)
		return r;
	for (int i = 0; r >= 0 && i < PQntuples(res); i++)
		r = cb(ctx, PQgetvalue(res, i, 0));
	PQclear(res);
	return r < 0 ? r : 0;
}

int store_session_alive(struct store *st, const char *tag, bool *alive)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int r;

	store_pg_arg_text(&a, tag);
	if ((r = store_pg_row(st, "SELECT EXISTS (" LIVE_SESSION("$1::text") ")::int", &a, &res)) < 0)
		return r;
	*alive = store_pg_int(res, 0, 0) != 0;
	PQclear(res);
	return 0;
}

int store_presence_held(struct store *st, const char *server, int (*cb)(void *ctx, uint32_t node_id), void *ctx)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int r;

	store_pg_arg_text(&a, server);
	if ((r = store_pg_run(st, "SELECT node_id FROM presence WHERE server = $1", &a, &res)) < 0)
		return r;
	for (int i = 0; r >= 0 && i < PQntuples(res); i++)
		r = cb(ctx, (uint32_t)store_pg_int(res, i, 0));
	PQclear(res);
	return r < 0 ? r : 0;
}

int store_node_remove(struct store *st, uint32_t id)
{
	/* Identity ids are never handed out again; memberships cascade. */
	return node_update(st, "DELETE FROM nodes WHERE id = $1", false, 0, id);
}

int store_node_rename(struct store *st, uint32_t id, const char *new_name)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_text(&a, new_name);
	store_pg_arg_i64(&a, id);
	return store_pg_write_one(st, "UPDATE nodes SET name = $1 WHERE id = $2", &a);
}

static int pending_count(void *st_, int64_t *out)
{
	struct store *st = st_;
	PGresult *res;
	int r;

	if ((r = store_pg_run(st, "SELECT count(*) FROM nodes WHERE approved = 0", NULL, &res)) < 0)
		return r;
	*out = store_pg_int(res, 0, 0);
	PQclear(res);
	return 0;
}

int store_pending_expire(struct store *st, int64_t created_before, size_t *removed)
{
	struct store_pg_args a = { 0 };
	uint64_t changed = 0;
	int r;

	store_pg_arg_i64(&a, created_before);
	if ((r = store_pg_write(st, "DELETE FROM nodes WHERE approved = 0 AND created < $1", &a, &changed)) < 0)
		return r;
	*removed = (size_t)changed;
	return 0;
}

static int preauth_check(void *st_, const uint8_t hash[32], int64_t now, struct store_key *key)
{
	struct store *st = st_;
	struct store_pg_args a = { 0 };
	PGresult *res;
	int r;

	store_pg_arg_blob(&a, hash, 32);
	if ((r = store_pg_run(st, "SELECT id, reusable, revoked, expires_at, uses FROM preauth_keys WHERE hash = $1", &a,
			      &res)) < 0)
		return r;
	memset(key, 0, sizeof(*key));
	r = -EACCES;
	if (PQntuples(res) == 1) {
		key->id = (uint32_t)store_pg_int(res, 0, 0);
		key->reusable = store_pg_int(res, 0, 1) != 0;
		key->revoked = store_pg_int(res, 0, 2) != 0;
		key->expires_at = store_pg_int(res, 0, 3);
		key->uses = (uint32_t)store_pg_int(res, 0, 4);
		r = 0;
		if (key->revoked)
			r = -EACCES;
		else if (key->expires_at && key->expires_at <= now)
			r = -EKEYEXPIRED;
		else if (!key->reusable && key->uses > 0)
			r = -EUSERS;
	}
	PQclear(res);
	if (r < 0)
		return r;
	a.n = 0;
	store_pg_arg_i64(&a, key->id);
	if ((r = store_pg_run(st, "SELECT group_id FROM preauth_key_groups WHERE key_id = $1 ORDER BY group_id", &a, &res)) < 0)
		return r;
	for (int i = 0; i < PQntuples(res) && key->groups_count < COORD_GROUPS_MAX; i++)
		key->groups[key->groups_count++] = (uint32_t)store_pg_int(res, i, 0);
	PQclear(res);
	return 0;
}

static int insert_node(void *st_, const struct store_register *req, const char *name, uint32_t *id_out)
{
	struct store *st = st_;
	uint8_t ipv6[16], ipv4[4];
	struct store_pg_args a = { 0 };
	PGresult *res;
	int64_t id;
	int r;

	/* Addresses depend on the id: insert, then fill them in. */
	store_pg_arg_blob(&a, req->public_key, COORD_KEY_LEN);
	store_pg_arg_text(&a, name);
	store_pg_arg_i64(&a, req->now);
	if ((r = store_pg_run(st, "INSERT INTO nodes(public_key, name, ipv6, ipv4, approved, created, last_seen)"
				  " VALUES ($1, $2, '\\x', '\\x', 0, $3, 0) RETURNING id", &a, &res)) < 0)
		return r;
	id = store_pg_int(res, 0, 0);
	PQclear(res);
	if (id <= 0 || id > UINT32_MAX || store_node_addresses((uint32_t)id, req->network6, ipv6, ipv4) < 0)
		return store_pg_fail(st, -ERANGE, "address pool exhausted");
	a.n = 0;
	store_pg_arg_blob(&a, ipv6, 16);
	store_pg_arg_blob(&a, ipv4, 4);
	store_pg_arg_i64(&a, id);
	if ((r = store_pg_write(st, "UPDATE nodes SET ipv6 = $1, ipv4 = $2 WHERE id = $3", &a, NULL)) < 0)
		return r;
	*id_out = (uint32_t)id;
	return 0;
}

static int key_consume(void *st_, const struct store_key *key, uint32_t node_id)
{
	struct store *st = st_;
	struct store_pg_args a = { 0 };
	int r;

	store_pg_arg_i64(&a, key->id);
	if ((r = store_pg_write(st, "UPDATE preauth_keys SET uses = uses + 1 WHERE id = $1", &a, NULL)) < 0)
		return r;
	for (size_t i = 0; i < key->groups_count; i++) {
		a.n = 0;
		store_pg_arg_i64(&a, key->groups[i]);
		store_pg_arg_i64(&a, node_id);
		if ((r = store_pg_write(st, "INSERT INTO memberships(group_id, node_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
					&a, NULL)) < 0)
			return r;
	}
	return node_update(st, "UPDATE nodes SET approved = 1, expires_at = 0 WHERE id = $1", false, 0, node_id);
}

/* store_register.c's view of this backend. */
static int reg_by_key(void *st, const uint8_t pub[COORD_KEY_LEN], struct store_node *out)
{
	return node_lookup(st, BY_PUBLIC_KEY, pub, 0, out);
}
static int reg_by_name(void *st, const char *name, struct store_node *out)
{
	return node_lookup(st, BY_NAME, name, 0, out);
}
static int reg_by_id(void *st, uint32_t id, struct store_node *out) { return node_lookup(st, BY_ID, NULL, id, out); }
static int reg_rename(void *st, uint32_t id, const char *name) { return store_node_rename(st, id, name); }
static int reg_fail(void *st, int err, const char *what) { return store_pg_fail(st, err, what); }

static const struct store_reg_ops reg_ops = STORE_REG_OPS_INIT;

int store_register_node(struct store *st, const struct store_register *req, struct store_node *out)
{
	struct store_node n;
	int r;

	/* The nodes table locked: two servers registering at once do it in turn. */
	if ((r = store_pg_begin(st, "nodes")) < 0)
		return r;
	if ((r = store_pg_end(st, store_register_in_tx(&reg_ops, st, req, &n))) < 0)
		return r;
	*out = n;
	return 0;
}
