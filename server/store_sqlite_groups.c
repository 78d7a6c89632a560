/* store.h for SQLite: groups and pre-auth keys. */
#include "server/store_sqlite_names.h" /* first: store.h under store_sqlite_* names */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/store.h"
#include "server/store_sqlite_internal.h"

static int changed(struct store *st) { return sqlite3_changes(store_sqlite_db(st)) ? 0 : -ENOENT; }

int store_group_create(struct store *st, const char *name, uint32_t *id_out)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "INSERT INTO groups(name) VALUES (?)", &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r;
	*id_out = (uint32_t)sqlite3_last_insert_rowid(store_sqlite_db(st));
	return 0;
}

static int group_row(sqlite3_stmt *s, struct store_group *g)
{
	const char *name = (const char *)sqlite3_column_text(s, 1);

	memset(g, 0, sizeof(*g));
	g->id = (uint32_t)sqlite3_column_int64(s, 0);
	snprintf(g->name, sizeof(g->name), "%s", name ? name : "");
	g->members = (size_t)sqlite3_column_int64(s, 2);
	return 0;
}

#define GROUP_SELECT "SELECT id, name, (SELECT count(*) FROM memberships m WHERE m.group_id = groups.id) FROM groups"

int store_group_by_name(struct store *st, const char *name, struct store_group *out)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, GROUP_SELECT " WHERE name = ?", &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(s) == SQLITE_ROW ? group_row(s, out) : -ENOENT;
	sqlite3_finalize(s);
	return r;
}

int store_group_name(struct store *st, uint32_t id, char name[COORD_NAME_MAX + 1])
{
	sqlite3_stmt *s;
	struct store_group g;
	int r;

	if ((r = store_sqlite_prepare(st, GROUP_SELECT " WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	r = sqlite3_step(s) == SQLITE_ROW ? group_row(s, &g) : -ENOENT;
	sqlite3_finalize(s);
	if (r == 0)
		memcpy(name, g.name, sizeof(g.name));
	return r;
}

int store_groups_foreach(struct store *st, int (*cb)(void *ctx, const struct store_group *g), void *ctx)
{
	sqlite3_stmt *s;
	struct store_group g;
	int r;

	if ((r = store_sqlite_prepare(st, GROUP_SELECT " ORDER BY id", &s)) < 0)
		return r;
	r = 0;
	while (r >= 0 && sqlite3_step(s) == SQLITE_ROW) {
		group_row(s, &g);
		r = cb(ctx, &g);
	}
	sqlite3_finalize(s);
	return r < 0 ? r : 0;
}

int store_group_add_node(struct store *st, uint32_t group, uint32_t node)
{
	sqlite3_stmt *s;
	int64_t count = 0;
	int r;

	if ((r = store_sqlite_prepare(st, "SELECT count(*) FROM memberships WHERE node_id = ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, node);
	if (sqlite3_step(s) == SQLITE_ROW)
		count = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (count >= COORD_GROUPS_MAX)
		return -E2BIG;
	if ((r = store_sqlite_prepare(st, "INSERT OR IGNORE INTO memberships(group_id, node_id) VALUES (?, ?)", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, group);
	sqlite3_bind_int64(s, 2, node);
	return store_sqlite_step_done(st, s);
}

int store_group_remove_node(struct store *st, uint32_t group, uint32_t node)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "DELETE FROM memberships WHERE group_id = ? AND node_id = ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, group);
	sqlite3_bind_int64(s, 2, node);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r;
	return changed(st);
}

int store_group_delete(struct store *st, uint32_t group)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "DELETE FROM groups WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, group);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r;
	return changed(st);
}

int store_group_rename(struct store *st, uint32_t group, const char *new_name)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "UPDATE groups SET name = ? WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, new_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, group);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r; /* -EEXIST: the name is taken */
	return changed(st);
}

static int key_insert(struct store *st, const uint8_t hash[32], bool reusable, int64_t expires_at,
		      const uint32_t *groups, size_t groups_count, int64_t now, uint32_t *id_out)
{
	sqlite3_stmt *s;
	int64_t id;
	int r;

	if ((r = store_sqlite_prepare(st, "INSERT INTO preauth_keys(hash, reusable, expires_at, created) VALUES (?, ?, ?, ?)", &s)) < 0)
		return r;
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, reusable);
	sqlite3_bind_int64(s, 3, expires_at);
	sqlite3_bind_int64(s, 4, now);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r;
	id = sqlite3_last_insert_rowid(store_sqlite_db(st));
	for (size_t i = 0; i < groups_count; i++) {
		if ((r = store_sqlite_prepare(st, "INSERT OR IGNORE INTO preauth_key_groups(key_id, group_id) VALUES (?, ?)", &s)) < 0)
			return r;
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, groups[i]);
		if ((r = store_sqlite_step_done(st, s)) < 0)
			return r;
	}
	*id_out = (uint32_t)id;
	return 0;
}

int store_key_create(struct store *st, const uint8_t hash[32], bool reusable, int64_t expires_at,
		     const uint32_t *groups, size_t groups_count, int64_t now, uint32_t *id_out)
{
	uint32_t id;
	int r;

	if (groups_count > COORD_GROUPS_MAX)
		return -E2BIG;
	if ((r = store_sqlite_exec(st, "BEGIN IMMEDIATE")) < 0)
		return r;
	if ((r = key_insert(st, hash, reusable, expires_at, groups, groups_count, now, &id)) < 0 ||
	    (r = store_sqlite_exec(st, "COMMIT")) < 0) {
		sqlite3_exec(store_sqlite_db(st), "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	*id_out = id;
	return 0;
}

int store_keys_foreach(struct store *st, int (*cb)(void *ctx, const struct store_key *k), void *ctx)
{
	sqlite3_stmt *s, *g;
	struct store_key k;
	int r;

	if ((r = store_sqlite_prepare(st, "SELECT id, reusable, revoked, expires_at, uses, created FROM preauth_keys ORDER BY id", &s)) < 0)
		return r;
	r = 0;
	while (r >= 0 && sqlite3_step(s) == SQLITE_ROW) {
		memset(&k, 0, sizeof(k));
		k.id = (uint32_t)sqlite3_column_int64(s, 0);
		k.reusable = sqlite3_column_int(s, 1) != 0;
		k.revoked = sqlite3_column_int(s, 2) != 0;
		k.expires_at = sqlite3_column_int64(s, 3);
		k.uses = (uint32_t)sqlite3_column_int64(s, 4);
		k.created = sqlite3_column_int64(s, 5);
		if ((r = store_sqlite_prepare(st, "SELECT group_id FROM preauth_key_groups WHERE key_id = ? ORDER BY group_id", &g)) < 0)
			break;
		sqlite3_bind_int64(g, 1, k.id);
		while (sqlite3_step(g) == SQLITE_ROW && k.groups_count < COORD_GROUPS_MAX)
			k.groups[k.groups_count++] = (uint32_t)sqlite3_column_int64(g, 0);
		sqlite3_finalize(g);
		r = cb(ctx, &k);
	}
	sqlite3_finalize(s);
	return r < 0 ? r : 0;
}

int store_key_revoke(struct store *st, uint32_t id)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "UPDATE preauth_keys SET revoked = 1 WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r;
	return changed(st);
}
