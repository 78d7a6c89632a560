/* store.h for SQLite: nodes, registration, groups, pre-auth keys. */
#include "server/store_sqlite_names.h" /* first: store.h under store_sqlite_* names */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/store.h"
#include "server/store_common.h"
#include "server/store_sqlite_internal.h"

#define NODE_COLUMNS "id, name, public_key, ipv6, ipv4, approved, expires_at, created, last_seen, online, file_key"

static void blob_copy(void *dst, size_t len, sqlite3_stmt *s, int col)
{
	const void *b = sqlite3_column_blob(s, col);

	memset(dst, 0, len);
	if (b && (size_t)sqlite3_column_bytes(s, col) == len)
		memcpy(dst, b, len);
}

static void node_from_row(sqlite3_stmt *s, struct store_node *n)
{
	const char *name = (const char *)sqlite3_column_text(s, 1);

	memset(n, 0, sizeof(*n));
	n->id = (uint32_t)sqlite3_column_int64(s, 0);
	snprintf(n->name, sizeof(n->name), "%s", name ? name : "");
	blob_copy(n->public_key, sizeof(n->public_key), s, 2);
	blob_copy(n->ipv6, sizeof(n->ipv6), s, 3);
	blob_copy(n->ipv4, sizeof(n->ipv4), s, 4);
	n->approved = sqlite3_column_int(s, 5) != 0;
	n->expires_at = sqlite3_column_int64(s, 6);
	n->created = sqlite3_column_int64(s, 7);
	n->last_seen = sqlite3_column_int64(s, 8);
	n->online = sqlite3_column_int(s, 9) != 0;
	n->has_file_key = sqlite3_column_bytes(s, 10) == COORD_KEY_LEN;
	if (n->has_file_key)
		blob_copy(n->file_key, sizeof(n->file_key), s, 10);
}

int store_node_set_file_key(struct store *st, uint32_t id, const uint8_t key[COORD_KEY_LEN])
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "UPDATE nodes SET file_key = ? WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_blob(s, 1, key, COORD_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	return store_sqlite_step_done(st, s);
}

int store_node_set_endpoints(struct store *st, uint32_t id, const char *json)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_cached(st, STORE_SQ_ENDPOINTS, "UPDATE nodes SET endpoints = ? WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, json, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	return store_sqlite_cached_done(st, s);
}

int store_nodes_endpoints_foreach(struct store *st, int (*cb)(void *ctx, uint32_t id, const char *json), void *ctx)
{
	sqlite3_stmt *s;
	int r, rc;

	if ((r = store_sqlite_prepare(st, "SELECT id, endpoints FROM nodes WHERE endpoints IS NOT NULL", &s)) < 0)
		return r;
	while (r >= 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cb(ctx, (uint32_t)sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1));
	sqlite3_finalize(s);
	return r < 0 ? r : 0;
}

static int node_groups_load(struct store *st, struct store_node *n)
{
	sqlite3_stmt *s;
	int r, rc;

	if ((r = store_sqlite_prepare(st, "SELECT group_id FROM memberships WHERE node_id = ? ORDER BY group_id", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, n->id);
	n->groups_count = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n->groups_count < COORD_GROUPS_MAX)
		n->groups[n->groups_count++] = (uint32_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return 0;
}

/* One node by a column ("public_key" blob or "name" text, or "id"). */
static int node_lookup(struct store *st, const char *where, const void *key, size_t keylen, int64_t id,
		       struct store_node *out)
{
	char sql[160];
	sqlite3_stmt *s;
	struct store_node n;
	int r;

	snprintf(sql, sizeof(sql), "SELECT " NODE_COLUMNS " FROM nodes WHERE %s = ?", where);
	if ((r = store_sqlite_prepare(st, sql, &s)) < 0)
		return r;
	if (key && keylen)
		sqlite3_bind_blob(s, 1, key, (int)keylen, SQLITE_STATIC);
	else if (key)
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(s, 1, id);
	r = sqlite3_step(s) == SQLITE_ROW ? 0 : -ENOENT;
	if (r == 0)
		node_from_row(s, &n);
	sqlite3_finalize(s);
	if (r == 0 && (r = node_groups_load(st, &n)) == 0)
		*out = n;
	return r;
}

int store_node_by_name(struct store *st, const char *name, struct store_node *out)
{
	return node_lookup(st, "name", name, 0, 0, out);
}

int store_nodes_foreach(struct store *st, int (*cb)(void *ctx, const struct store_node *n), void *ctx)
{
	sqlite3_stmt *s = NULL, *m = NULL;
	struct store_node n;
	int r, mrc;

	if ((r = store_sqlite_prepare(st, "SELECT " NODE_COLUMNS " FROM nodes ORDER BY id", &s)) < 0 ||
	    (r = store_sqlite_prepare(st, "SELECT node_id, group_id FROM memberships ORDER BY node_id, group_id", &m)) < 0)
		goto out;
	/* Merge the two id-ordered results: one pass over each. */
	mrc = sqlite3_step(m);
	while (sqlite3_step(s) == SQLITE_ROW) {
		node_from_row(s, &n);
		while (mrc == SQLITE_ROW && (uint32_t)sqlite3_column_int64(m, 0) < n.id)
			mrc = sqlite3_step(m);
		while (mrc == SQLITE_ROW && (uint32_t)sqlite3_column_int64(m, 0) == n.id) {
			if (n.groups_count < COORD_GROUPS_MAX)
				n.groups[n.groups_count++] = (uint32_t)sqlite3_column_int64(m, 1);
			mrc = sqlite3_step(m);
		}
		if ((r = cb(ctx, &n)) < 0)
			goto out;
	}
	r = 0;
out:
	sqlite3_finalize(s);
	sqlite3_finalize(m);
	return r;
}

static int node_update_int(struct store *st, const char *sql, int64_t v, uint32_t id)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, sql, &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, v);
	sqlite3_bind_int64(s, 2, id);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r;
	return sqlite3_changes(store_sqlite_db(st)) ? 0 : -ENOENT;
}

int store_node_approve(struct store *st, uint32_t id)
{
	return node_update_int(st, "UPDATE nodes SET approved = ? WHERE id = ?", 1, id);
}

int store_node_set_expiry(struct store *st, uint32_t id, int64_t expires_at)
{
	return node_update_int(st, "UPDATE nodes SET expires_at = ? WHERE id = ?", expires_at, id);
}

int store_node_seen(struct store *st, uint32_t id, int64_t last_seen)
{
	return node_update_int(st, "UPDATE nodes SET last_seen = ? WHERE id = ?", last_seen, id);
}

int store_node_presence(struct store *st, uint32_t id, bool online, int64_t last_seen)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_cached(st, STORE_SQ_PRESENCE, "UPDATE nodes SET online = ?, last_seen = ? WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_int(s, 1, online);
	sqlite3_bind_int64(s, 2, last_seen);
	sqlite3_bind_int64(s, 3, id);
	if ((r = store_sqlite_cached_done(st, s)) < 0)
		return r;
	return sqlite3_changes(store_sqlite_db(st)) ? 0 : -ENOENT;
}

int store_nodes_presence(struct store *st, const struct store_presence_row *rows, size_t count)
{
	int r;

	if (!count)
		return 0;
	if ((r = store_sqlite_exec(st, "BEGIN IMMEDIATE")) < 0)
		return r;
	for (size_t i = 0; i < count && r >= 0; i++)
		if ((r = store_node_presence(st, rows[i].id, rows[i].online, rows[i].last_seen)) == -ENOENT)
			r = 0; /* removed since: nothing to write */
	if (r < 0 || (r = store_sqlite_exec(st, "COMMIT")) < 0) {
		sqlite3_exec(store_sqlite_db(st), "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	return 0;
}

int store_nodes_offline(struct store *st)
{
	return store_sqlite_exec(st, "UPDATE nodes SET online = 0 WHERE online != 0");
}

int store_node_remove(struct store *st, uint32_t id)
{
	/* AUTOINCREMENT: a removed node's id, and so its addresses, are never
	 * handed out again. Memberships go with it (ON DELETE CASCADE). */
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "DELETE FROM nodes WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r;
	return sqlite3_changes(store_sqlite_db(st)) ? 0 : -ENOENT;
}

int store_node_rename(struct store *st, uint32_t id, const char *new_name)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "UPDATE nodes SET name = ? WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, new_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r;
	return sqlite3_changes(store_sqlite_db(st)) ? 0 : -ENOENT;
}

static int pending_count(void *st_, int64_t *out)
{
	struct store *st = st_;
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "SELECT COUNT(*) FROM nodes WHERE approved = 0", &s)) < 0)
		return r;
	r = sqlite3_step(s) == SQLITE_ROW ? 0 : store_sqlite_fail(st, -EIO, "count");
	if (r == 0)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return r;
}

int store_pending_expire(struct store *st, int64_t created_before, size_t *removed)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "DELETE FROM nodes WHERE approved = 0 AND created < ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, created_before);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r;
	*removed = (size_t)sqlite3_changes(store_sqlite_db(st));
	return 0;
}

/* A pre-auth key by hash, checked; on success *key has its groups. */
static int preauth_check(void *st_, const uint8_t hash[32], int64_t now, struct store_key *key)
{
	struct store *st = st_;
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "SELECT id, reusable, revoked, expires_at, uses FROM preauth_keys WHERE hash = ?", &s)) < 0)
		return r;
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	memset(key, 0, sizeof(*key));
	r = -EACCES;
	if (sqlite3_step(s) == SQLITE_ROW) {
		key->id = (uint32_t)sqlite3_column_int64(s, 0);
		key->reusable = sqlite3_column_int(s, 1) != 0;
		key->revoked = sqlite3_column_int(s, 2) != 0;
		key->expires_at = sqlite3_column_int64(s, 3);
		key->uses = (uint32_t)sqlite3_column_int64(s, 4);
		r = 0;
		if (key->revoked)
			r = -EACCES;
		else if (key->expires_at && key->expires_at <= now)
			r = -EKEYEXPIRED;
		else if (!key->reusable && key->uses > 0)
			r = -EUSERS;
	}
	sqlite3_finalize(s);
	if (r < 0)
		return r;
	if ((r = store_sqlite_prepare(st, "SELECT group_id FROM preauth_key_groups WHERE key_id = ? ORDER BY group_id", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, key->id);
	while (sqlite3_step(s) == SQLITE_ROW && key->groups_count < COORD_GROUPS_MAX)
		key->groups[key->groups_count++] = (uint32_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return 0;
}

static int insert_node(void *st_, const struct store_register *req, const char *name, uint32_t *id_out)
{
	struct store *st = st_;
	uint8_t ipv6[16], ipv4[4];
	sqlite3_stmt *s;
	int64_t id;
	int r;

	/* Addresses depend on the id: insert, then fill them in. */
	if ((r = store_sqlite_prepare(st, "INSERT INTO nodes(public_key, name, ipv6, ipv4, approved, created, last_seen)"
			     " VALUES (?, ?, zeroblob(16), zeroblob(4), ?, ?, 0)", &s)) < 0)
		return r;
	sqlite3_bind_blob(s, 1, req->public_key, COORD_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, 0); /* waiting: a pre-auth key approves it afterwards */
	sqlite3_bind_int64(s, 4, req->now);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r;
	id = sqlite3_last_insert_rowid(store_sqlite_db(st));
	if (id <= 0 || id > UINT32_MAX || store_node_addresses((uint32_t)id, req->network6, ipv6, ipv4) < 0)
		return store_sqlite_fail(st, -ERANGE, "address pool exhausted");
	if ((r = store_sqlite_prepare(st, "UPDATE nodes SET ipv6 = ?, ipv4 = ? WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_blob(s, 1, ipv6, 16, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, ipv4, 4, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, id);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r;
	*id_out = (uint32_t)id;
	return 0;
}

static int key_consume(void *st_, const struct store_key *key, uint32_t node_id)
{
	struct store *st = st_;
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "UPDATE preauth_keys SET uses = uses + 1 WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, key->id);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r;
	for (size_t i = 0; i < key->groups_count; i++) {
		if ((r = store_sqlite_prepare(st, "INSERT OR IGNORE INTO memberships(group_id, node_id) VALUES (?, ?)", &s)) < 0)
			return r;
		sqlite3_bind_int64(s, 1, key->groups[i]);
		sqlite3_bind_int64(s, 2, node_id);
		if ((r = store_sqlite_step_done(st, s)) < 0)
			return r;
	}
	if ((r = store_sqlite_prepare(st, "UPDATE nodes SET approved = 1, expires_at = 0 WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, node_id);
	return store_sqlite_step_done(st, s);
}

/* store_register.c's view of this backend. */
static int reg_by_key(void *st, const uint8_t pub[COORD_KEY_LEN], struct store_node *out)
{
	return node_lookup(st, "public_key", pub, COORD_KEY_LEN, 0, out);
}
/* Only id and approval: the registration's name search asks up to 72
 * names, each a prepared statement of its own (store_sqlite_name_holder). */
static int reg_by_name(void *st, const char *name, struct store_node *out)
{
	return store_sqlite_name_holder(st, name, &out->id, &out->approved);
}
static int reg_by_id(void *st, uint32_t id, struct store_node *out) { return node_lookup(st, "id", NULL, 0, id, out); }
static int reg_rename(void *st, uint32_t id, const char *name) { return store_node_rename(st, id, name); }
static int reg_fail(void *st, int err, const char *what) { return store_sqlite_fail(st, err, what); }

static const struct store_reg_ops reg_ops = STORE_REG_OPS_INIT;

int store_register_node(struct store *st, const struct store_register *req, struct store_node *out)
{
	struct store_node n;
	int r;

	if ((r = store_sqlite_exec(st, "BEGIN IMMEDIATE")) < 0)
		return r;
	r = store_register_in_tx(&reg_ops, st, req, &n);
	if (r < 0) {
		sqlite3_exec(store_sqlite_db(st), "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	if ((r = store_sqlite_exec(st, "COMMIT")) < 0) {
		sqlite3_exec(store_sqlite_db(st), "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	*out = n;
	return 0;
}
