/* The embedded SQLite backend of store.h. One connection per process, WAL
 * journal (the running server and admin commands share the file), foreign
 * keys on, every write in BEGIN IMMEDIATE ... COMMIT. */
#include "server/store_sqlite_names.h" /* first: store.h under store_sqlite_* names */
#include "server/store.h"
#include "server/store_backend.h"
#include "server/store_sqlite_internal.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_SCHEMA_VERSION 8
#define STORE_APPLICATION_ID 0x726f616d /* "roam"; = 1919902061 in schema_v1 */
#define STORE_BUSY_TIMEOUT_MS 5000

struct store {
	struct store_tag tag; /* first, for store.c; zero: SQLite */
	sqlite3 *db;
	sqlite3_stmt *name_stmt; /* store_sqlite_name_holder's, prepared once */
	char path[1024];
	char error[STORE_ERROR_MAX];
};

static char open_error[STORE_ERROR_MAX];

static const char schema_v1[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE nodes(id INTEGER PRIMARY KEY AUTOINCREMENT, public_key BLOB NOT NULL UNIQUE,"
	" name TEXT NOT NULL UNIQUE, ipv6 BLOB NOT NULL, ipv4 BLOB NOT NULL, approved INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, last_seen INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE groups(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE memberships(group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
	" node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE, PRIMARY KEY(group_id, node_id));"
	"CREATE INDEX memberships_node ON memberships(node_id);"
	"CREATE TABLE preauth_keys(id INTEGER PRIMARY KEY AUTOINCREMENT, hash BLOB NOT NULL UNIQUE,"
	" reusable INTEGER NOT NULL, expires_at INTEGER NOT NULL, uses INTEGER NOT NULL DEFAULT 0,"
	" revoked INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
	"CREATE TABLE preauth_key_groups(key_id INTEGER NOT NULL REFERENCES preauth_keys(id) ON DELETE CASCADE,"
	" group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE, PRIMARY KEY(key_id, group_id));"
	"PRAGMA application_id = 1919902061;"
	"PRAGMA user_version = 1;";

/* Version 2: presence as the running server last knew it, for admin
 * commands (`roam-server nodes`), which are separate processes. */
static const char schema_v2[] = "ALTER TABLE nodes ADD COLUMN online INTEGER NOT NULL DEFAULT 0;"
				"PRAGMA user_version = 2;";

/* Version 3: relay-only servers (store_relay_*). */
static const char schema_v3[] =
	"CREATE TABLE relays(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, url TEXT NOT NULL,"
	" region TEXT NOT NULL DEFAULT '', secret_hash BLOB NOT NULL, public_key BLOB, udp_port INTEGER NOT NULL DEFAULT 0,"
	" tls_pin BLOB, created INTEGER NOT NULL, load_at INTEGER NOT NULL DEFAULT 0, clients INTEGER NOT NULL DEFAULT 0,"
	" pps INTEGER NOT NULL DEFAULT 0, bps INTEGER NOT NULL DEFAULT 0, dropped INTEGER NOT NULL DEFAULT 0,"
	" online INTEGER NOT NULL DEFAULT 0);"
	"PRAGMA user_version = 3;";

/* Version 4: files (docs/files.md): each node's file public key, and the
 * cache of end-to-end-encrypted files for offline recipients
 * (server/files/cache.h): sizes, states and ids only, never a name. */
static const char schema_v4[] = "ALTER TABLE nodes ADD COLUMN file_key BLOB;"
				"CREATE TABLE file_cache(id BLOB PRIMARY KEY, sender INTEGER NOT NULL, recipient INTEGER NOT NULL,"
				" size INTEGER NOT NULL, received INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL,"
				" created INTEGER NOT NULL, expires INTEGER NOT NULL, file_id BLOB, receipt BLOB);"
				"CREATE INDEX file_cache_recipient ON file_cache(recipient);"
				"PRAGMA user_version = 4;";

/* Version 5: the event log, admin accounts and their API tokens (issue 12;
 * store_event_*, store_admin_*). Sessions live in the server's memory. IF NOT
 * EXISTS: a state taken back to an older version by hand keeps them. */
static const char schema_v5[] =
	"CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL,"
	" node_id INTEGER NOT NULL DEFAULT 0, node TEXT NOT NULL DEFAULT '', actor TEXT NOT NULL DEFAULT '',"
	" detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX IF NOT EXISTS events_at ON events(at);"
	"CREATE INDEX IF NOT EXISTS events_kind ON events(kind, id);"
	"CREATE INDEX IF NOT EXISTS events_node ON events(node, id);"
	"CREATE TABLE IF NOT EXISTS admins(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
	" password_hash TEXT NOT NULL, created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS admin_tokens(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" admin_id INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE, hash BLOB NOT NULL UNIQUE,"
	" created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
	"PRAGMA user_version = 5;";

/* Version 6: the published indexes (server/files/index.h): one row per
 * publisher and group, numbers only; the sealed index is a file. And the
 * encrypted copies of published files (roam publish --cache), per group. */
static const char schema_v6[] =
	"CREATE TABLE IF NOT EXISTS file_index(publisher INTEGER NOT NULL, group_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" size INTEGER NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY(publisher, group_id));"
	"CREATE TABLE IF NOT EXISTS file_blobs(id BLOB PRIMARY KEY, publisher INTEGER NOT NULL, group_id INTEGER NOT NULL,"
	" seq INTEGER NOT NULL, size INTEGER NOT NULL, received INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS file_blobs_publisher ON file_blobs(publisher, group_id);"
	"PRAGMA user_version = 6;";

/* Version 7 is PostgreSQL's file_data (the files' bytes, shared by the
 * servers of a cluster); here they are files on the local disk: nothing.
 * Version 8: each node's private endpoints as it last posted them, and an
 * index of the nodes waiting for approval. */
static const char schema_v7[] = "PRAGMA user_version = 7;";
static const char schema_v8[] = "ALTER TABLE nodes ADD COLUMN endpoints TEXT;"
				/* the waiting nodes' expiry (every registration looks):
				 * not a scan of every node */
				"CREATE INDEX IF NOT EXISTS nodes_pending ON nodes(created) WHERE approved = 0;"
				"PRAGMA user_version = 8;";

const char *store_error(const struct store *st) { return st ? st->error : open_error; }

static int store_fail(struct store *st, int err, const char *what)
{
	snprintf(st->error, sizeof(st->error), "%.512s: %.200s: %s", st->path, what, sqlite3_errmsg(st->db));
	return err;
}

/* SQLite result codes to -errno: busy/locked is transient, corruption is
 * never silent. */
static int sql_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	default:
		return -EIO;
	}
}

static int store_exec(struct store *st, const char *sql)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_fail(st, sql_errno(rc), sql);
}

int store_sqlite_prepare(struct store *st, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, out, NULL);

	return rc == SQLITE_OK ? 0 : store_fail(st, sql_errno(rc), "prepare");
}

/* A registration tries up to STORE_NAME_SUFFIX_MAX + STORE_NAME_RANDOM_TRIES
 * names, and with many nodes of one name (a fleet of "laptop"s) most are
 * taken: preparing the lookup each time was 80 % of the server's CPU per
 * registration (7.5 ms with 3000 of one name), so it is prepared once. */
int store_sqlite_name_holder(struct store *st, const char *name, uint32_t *id, bool *approved)
{
	int rc;

	if (!st->name_stmt) {
		rc = sqlite3_prepare_v3(st->db, "SELECT id, approved FROM nodes WHERE name = ?", -1,
					SQLITE_PREPARE_PERSISTENT, &st->name_stmt, NULL);
		if (rc != SQLITE_OK)
			return store_fail(st, sql_errno(rc), "prepare");
	}
	sqlite3_bind_text(st->name_stmt, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st->name_stmt);
	if (rc == SQLITE_ROW) {
		*id = (uint32_t)sqlite3_column_int64(st->name_stmt, 0);
		*approved = sqlite3_column_int(st->name_stmt, 1) != 0;
	}
	sqlite3_reset(st->name_stmt);
	sqlite3_clear_bindings(st->name_stmt);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : store_fail(st, sql_errno(rc), "name lookup");
}

/* Run a statement that returns no rows. */
int store_sqlite_step_done(struct store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store_fail(st, sql_errno(rc), "write");
}

static int store_pragma_int(struct store *st, const char *sql, int64_t *out)
{
	sqlite3_stmt *s;
	int rc, r;

	if ((r = store_sqlite_prepare(st, sql, &s)) < 0)
		return r;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : store_fail(st, sql_errno(rc), sql);
}

/* Is this our file, of a schema we know, and intact? */
static int store_check(struct store *st)
{
	int64_t app = 0, version = 0;
	sqlite3_stmt *s;
	const char *res;
	int r;

	if ((r = store_pragma_int(st, "PRAGMA application_id", &app)) < 0) {
		snprintf(st->error, sizeof(st->error), "%s: corrupt, or not a roam-server state file: %s", st->path,
			 sqlite3_errmsg(st->db));
		return r == -EIO ? -EBADMSG : r;
	}
	if (app != STORE_APPLICATION_ID) {
		snprintf(st->error, sizeof(st->error), "%s: not a roam-server state file (application id %lld)",
			 st->path, (long long)app);
		return -EBADMSG;
	}
	if ((r = store_pragma_int(st, "PRAGMA user_version", &version)) < 0)
		return r;
	if (version != STORE_SCHEMA_VERSION) {
		snprintf(st->error, sizeof(st->error), "%s: schema version %lld, this roam-server knows %d",
			 st->path, (long long)version, STORE_SCHEMA_VERSION);
		return -EPROTO;
	}
	if ((r = store_sqlite_prepare(st, "PRAGMA quick_check", &s)) < 0) {
		snprintf(st->error, sizeof(st->error), "%s: corrupt: %s", st->path, sqlite3_errmsg(st->db));
		return r == -EIO ? -EBADMSG : r;
	}
	r = 0;
	if (sqlite3_step(s) != SQLITE_ROW || !(res = (const char *)sqlite3_column_text(s, 0)) ||
	    strcmp(res, "ok") != 0) {
		snprintf(st->error, sizeof(st->error), "%s: corrupt: %s", st->path,
			 sqlite3_column_text(s, 0) ? (const char *)sqlite3_column_text(s, 0) : sqlite3_errmsg(st->db));
		r = -EBADMSG;
	}
	sqlite3_finalize(s);
	return r;
}

static int store_init_schema(struct store *st)
{
	int r;

	if ((r = store_exec(st, "BEGIN IMMEDIATE")) < 0)
		return r;
	if ((r = store_exec(st, schema_v1)) < 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	return store_exec(st, "COMMIT");
}

/* Brings a state of an older schema (ours: application id checked) up to
 * STORE_SCHEMA_VERSION, in one transaction. */
static int store_migrate(struct store *st)
{
	int64_t app = 0, version = 0;
	int r;

	if (store_pragma_int(st, "PRAGMA application_id", &app) < 0 || app != STORE_APPLICATION_ID ||
	    store_pragma_int(st, "PRAGMA user_version", &version) < 0 || version < 1 || version >= STORE_SCHEMA_VERSION)
		return 0; /* store_check() says what is wrong, if anything */
	if ((r = store_exec(st, "BEGIN IMMEDIATE")) < 0)
		return r;
	if ((version < 2 && (r = store_exec(st, schema_v2)) < 0) || (version < 3 && (r = store_exec(st, schema_v3)) < 0) ||
	    (version < 4 && (r = store_exec(st, schema_v4)) < 0) || (version < 5 && (r = store_exec(st, schema_v5)) < 0) ||
	    (version < 6 && (r = store_exec(st, schema_v6)) < 0) || (version < 7 && (r = store_exec(st, schema_v7)) < 0) ||
	    (version < 8 && (r = store_exec(st, schema_v8)) < 0)) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	return store_exec(st, "COMMIT");
}

int store_open(const char *path, bool create, struct store **out)
{
	struct store *st;
	struct stat sb;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
	int r;

	if (stat(path, &sb) == 0 && create) {
		snprintf(open_error, sizeof(open_error), "%s: already exists (not overwriting a state)", path);
		return -EEXIST;
	}
	if (!create && stat(path, &sb) < 0) {
		r = -errno;
		snprintf(open_error, sizeof(open_error), "%s: cannot open state: %s%s", path, strerror(errno),
			 r == -ENOENT ? " (run `roam-server init` first, or give --state)" : "");
		return r;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	snprintf(st->path, sizeof(st->path), "%s", path);
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		r = store_fail(st, -EIO, "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(st->db, 1);
	if (create && (r = store_init_schema(st)) < 0)
		goto fail;
	if ((r = store_migrate(st)) < 0 || (r = store_check(st)) < 0)
		goto fail;
	if ((r = store_exec(st, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL")) < 0)
		goto fail;
	if (create)
		chmod(path, 0600);
	*out = st;
	return 0;
fail:
	snprintf(open_error, sizeof(open_error), "%s", st->error);
	store_close(st);
	return r;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->name_stmt);
	sqlite3_close_v2(st->db);
	free(st);
}

int store_data_version(struct store *st, int64_t *out) { return store_pragma_int(st, "PRAGMA data_version", out); }

int store_meta_get(struct store *st, const char *key, char *buf, size_t size)
{
	sqlite3_stmt *s;
	const char *v;
	int r;

	if ((r = store_sqlite_prepare(st, "SELECT value FROM meta WHERE key = ?", &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	r = -ENOENT;
	if (sqlite3_step(s) == SQLITE_ROW && (v = (const char *)sqlite3_column_text(s, 0))) {
		r = strlen(v) < size ? 0 : -ENOSPC;
		if (r == 0)
			strcpy(buf, v);
	}
	sqlite3_finalize(s);
	return r;
}

int store_meta_set(struct store *st, const char *key, const char *value)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	return store_sqlite_step_done(st, s);
}

/* One statement (an upsert returning the new value): atomic. */
int store_meta_reserve(struct store *st, const char *key, uint64_t floor, uint64_t block, uint64_t *end)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "INSERT INTO meta(key, value) VALUES (?1, ?2 + ?3) ON CONFLICT(key) DO UPDATE "
					  "SET value = max(CAST(value AS INTEGER), ?2) + ?3 RETURNING CAST(value AS INTEGER)",
				      &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)floor);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)block);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(s);
		return store_fail(st, sql_errno(rc), "write");
	}
	sqlite3_int64 v = sqlite3_column_int64(s, 0);
	r = v > 0 ? 0 : -EBADMSG;
	*end = (uint64_t)v;
	return store_sqlite_step_done(st, s) < 0 ? -EIO : r;
}

int store_node_addresses(uint32_t id, const uint8_t network6[16], uint8_t ipv6_out[16], uint8_t ipv4_out[4])
{
	/* 254 usable addresses per /24 (no .0, no .255) in 100.64.0.0/10. */
	uint32_t off, v4;

	if (id == 0 || (uint64_t)id > (uint64_t)254 * 16384)
		return -ERANGE;
	off = id - 1;
	v4 = (UINT32_C(100) << 24 | UINT32_C(64) << 16) + (off / 254) * 256 + off % 254 + 1;
	memcpy(ipv6_out, network6, 6);
	memset(ipv6_out + 6, 0, 6);
	for (int i = 0; i < 4; i++) {
		ipv6_out[12 + i] = (uint8_t)(id >> (24 - 8 * i));
		ipv4_out[i] = (uint8_t)(v4 >> (24 - 8 * i));
	}
	return 0;
}

int store_node_id_from_address(int family, const uint8_t *addr, uint32_t *id)
{
	uint32_t v, off;

	if (family == AF_INET6) {
		v = (uint32_t)addr[12] << 24 | (uint32_t)addr[13] << 16 | (uint32_t)addr[14] << 8 | addr[15];
	} else if (family == AF_INET) {
		v = (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 | (uint32_t)addr[2] << 8 | addr[3];
		off = v - (UINT32_C(100) << 24 | UINT32_C(64) << 16);
		if (v < (UINT32_C(100) << 24 | UINT32_C(64) << 16) || off % 256 == 0 || off % 256 == 255)
			return -ERANGE;
		v = (off / 256) * 254 + off % 256; /* off % 254 + 1 = off % 256 */
	} else {
		return -EAFNOSUPPORT;
	}
	if (v == 0 || (uint64_t)v > (uint64_t)254 * 16384)
		return -ERANGE;
	*id = v;
	return 0;
}

/* The rest (nodes, groups, keys) is in store_sqlite_ops.c. */

sqlite3 *store_sqlite_db(struct store *st) { return st->db; }
int store_sqlite_fail(struct store *st, int err, const char *what) { return store_fail(st, err, what); }
int store_sqlite_errno(int rc) { return sql_errno(rc); }
int store_sqlite_exec(struct store *st, const char *sql) { return store_exec(st, sql); }
