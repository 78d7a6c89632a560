/* The event log and the admin accounts in the store (store.h). */
#include "server/store_sqlite_names.h" /* first: store.h under store_sqlite_* names */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/store.h"
#include "server/store_sqlite_internal.h"

static void text_col(sqlite3_stmt *s, int col, char *out, size_t size)
{
	const char *v = (const char *)sqlite3_column_text(s, col);

	snprintf(out, size, "%s", v ? v : "");
}

int store_event_add(struct store *st, struct store_event *ev)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_cached(st, STORE_SQ_EVENT,
				     "INSERT INTO events(at, kind, node_id, node, actor, detail) VALUES (?, ?, ?, ?, ?, ?)", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, ev->at);
	sqlite3_bind_text(s, 2, ev->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, ev->node_id);
	sqlite3_bind_text(s, 4, ev->node, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, ev->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, ev->detail, -1, SQLITE_STATIC);
	if ((r = store_sqlite_cached_done(st, s)) == 0)
		ev->id = sqlite3_last_insert_rowid(store_sqlite_db(st));
	return r;
}

int store_events_foreach(struct store *st, const struct store_event_filter *f,
			 int (*cb)(void *ctx, const struct store_event *ev), void *ctx)
{
	/* With a limit and newest_first, the inner query takes the last rows;
	 * the outer one gives them oldest first. */
	static const char sql_fmt[] =
		"SELECT * FROM (SELECT id, at, kind, node_id, node, actor, detail FROM events"
		" WHERE id > ?1 AND at >= ?2 AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR node = ?4)"
		" ORDER BY id %s LIMIT ?5) ORDER BY id";
	char sql[sizeof(sql_fmt) + 8];
	struct store_event ev;
	sqlite3_stmt *s;
	int r, rc;

	snprintf(sql, sizeof(sql), sql_fmt, f->newest_first ? "DESC" : "ASC");
	if ((r = store_sqlite_prepare(st, sql, &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, f->after_id);
	sqlite3_bind_int64(s, 2, f->since);
	if (f->kind)
		sqlite3_bind_text(s, 3, f->kind, -1, SQLITE_STATIC);
	if (f->node)
		sqlite3_bind_text(s, 4, f->node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, f->limit ? (int64_t)f->limit : -1);
	r = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&ev, 0, sizeof(ev));
		ev.id = sqlite3_column_int64(s, 0);
		ev.at = sqlite3_column_int64(s, 1);
		text_col(s, 2, ev.kind, sizeof(ev.kind));
		ev.node_id = (uint32_t)sqlite3_column_int64(s, 3);
		text_col(s, 4, ev.node, sizeof(ev.node));
		text_col(s, 5, ev.actor, sizeof(ev.actor));
		text_col(s, 6, ev.detail, sizeof(ev.detail));
		if ((r = cb(ctx, &ev)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_sqlite_fail(st, store_sqlite_errno(rc), "reading events");
	sqlite3_finalize(s);
	return r;
}

int store_events_prune(struct store *st, int64_t before, size_t *removed)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "DELETE FROM events WHERE at < ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, before);
	if ((r = store_sqlite_step_done(st, s)) == 0 && removed)
		*removed = (size_t)sqlite3_changes(store_sqlite_db(st));
	return r;
}

/* --- admins --- */

static void admin_row(sqlite3_stmt *s, struct store_admin *out)
{
	memset(out, 0, sizeof(*out));
	out->id = (uint32_t)sqlite3_column_int64(s, 0);
	text_col(s, 1, out->name, sizeof(out->name));
	text_col(s, 2, out->password_hash, sizeof(out->password_hash));
	out->created = sqlite3_column_int64(s, 3);
}

int store_admin_add(struct store *st, const char *name, const char *password_hash, int64_t now, uint32_t *id_out)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "INSERT INTO admins(name, password_hash, created) VALUES (?, ?, ?)", &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, password_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	if ((r = store_sqlite_step_done(st, s)) == 0 && id_out)
		*id_out = (uint32_t)sqlite3_last_insert_rowid(store_sqlite_db(st));
	return r;
}

/* One statement binding (text, id) or (id) that changes one row: -ENOENT if none. */
static int admin_write(struct store *st, const char *sql, const char *text, uint32_t id)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, sql, &s)) < 0)
		return r;
	if (text) {
		sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, id);
	} else {
		sqlite3_bind_int64(s, 1, id);
	}
	if ((r = store_sqlite_step_done(st, s)) == 0 && sqlite3_changes(store_sqlite_db(st)) == 0)
		r = -ENOENT;
	return r;
}

int store_admin_set_password(struct store *st, uint32_t id, const char *password_hash)
{
	return admin_write(st, "UPDATE admins SET password_hash = ? WHERE id = ?", password_hash, id);
}

int store_admin_remove(struct store *st, uint32_t id)
{
	return admin_write(st, "DELETE FROM admins WHERE id = ?", NULL, id);
}

int store_admin_token_revoke(struct store *st, uint32_t id)
{
	return admin_write(st, "UPDATE admin_tokens SET revoked = 1 WHERE id = ?", NULL, id);
}

/* The one admin a bound statement selects, finalized: 0 or -ENOENT. */
static int admin_one(sqlite3_stmt *s, struct store_admin *out)
{
	int r = -ENOENT;

	if (sqlite3_step(s) == SQLITE_ROW) {
		admin_row(s, out);
		r = 0;
	}
	sqlite3_finalize(s);
	return r;
}

int store_admin_by_name(struct store *st, const char *name, struct store_admin *out)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "SELECT id, name, password_hash, created FROM admins WHERE name = ?", &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	return admin_one(s, out);
}

int store_admins_foreach(struct store *st, int (*cb)(void *ctx, const struct store_admin *a), void *ctx)
{
	struct store_admin a;
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "SELECT id, name, password_hash, created FROM admins ORDER BY id", &s)) < 0)
		return r;
	while (r == 0 && sqlite3_step(s) == SQLITE_ROW) {
		admin_row(s, &a);
		r = cb(ctx, &a);
	}
	sqlite3_finalize(s);
	return r;
}

int store_admin_token_add(struct store *st, uint32_t admin_id, const uint8_t hash[32], int64_t now, uint32_t *id_out)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "INSERT INTO admin_tokens(admin_id, hash, created) VALUES (?, ?, ?)", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, admin_id);
	sqlite3_bind_blob(s, 2, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	if ((r = store_sqlite_step_done(st, s)) == 0 && id_out)
		*id_out = (uint32_t)sqlite3_last_insert_rowid(store_sqlite_db(st));
	return r;
}

int store_admin_token_check(struct store *st, const uint8_t hash[32], struct store_admin *out)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st,
				      "SELECT a.id, a.name, a.password_hash, a.created FROM admin_tokens t"
				      " JOIN admins a ON a.id = t.admin_id WHERE t.hash = ? AND t.revoked = 0",
				      &s)) < 0)
		return r;
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	return admin_one(s, out);
}
