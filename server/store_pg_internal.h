/* Shared between the files of the PostgreSQL backend; not part of store.h.
 * Statements are prepared once per connection (named by their text) and
 * run with bound parameters: no SQL is ever built from input. Results come
 * as text; bytea as its hex form, decoded here. */
#ifndef ROAM_SERVER_STORE_PG_INTERNAL_H
#define ROAM_SERVER_STORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store.h"

#define STORE_PG_ARGS_MAX 8
/* A server's session name: this, then its presence tag (store_session_name). */
#define STORE_PG_SESSION_PREFIX "roam-server "

/* Parameters of one statement: text (numbers formatted here) or binary bytea. */
struct store_pg_args {
	int n;
	const char *values[STORE_PG_ARGS_MAX];
	int lengths[STORE_PG_ARGS_MAX];
	int formats[STORE_PG_ARGS_MAX];
	char num[STORE_PG_ARGS_MAX][24];
};

void store_pg_arg_i64(struct store_pg_args *a, int64_t v);
void store_pg_arg_text(struct store_pg_args *a, const char *s); /* NULL: SQL NULL */
void store_pg_arg_blob(struct store_pg_args *a, const void *b, size_t len); /* NULL: SQL NULL */

/* Runs sql with a (may be NULL): 0 and *res (PQclear it) when it returned
 * rows or completed, or the error recorded and returned. res may be NULL. */
int store_pg_run(struct store *st, const char *sql, const struct store_pg_args *a, PGresult **res);
/* Like store_pg_run for a write: 0 and the rows it changed in *changed (may be NULL). */
int store_pg_write(struct store *st, const char *sql, const struct store_pg_args *a, uint64_t *changed);
/* A write that must change a row: 0, -ENOENT if it changed none, or the error. */
int store_pg_write_one(struct store *st, const char *sql, const struct store_pg_args *a);
/* A query of one row: 0 and *res (PQclear it), -ENOENT if no row, or the error. */
int store_pg_row(struct store *st, const char *sql, const struct store_pg_args *a, PGresult **res);
/* BEGIN, and with lock_table a LOCK of it in SHARE ROW EXCLUSIVE mode:
 * writers of that table one at a time across every server, as SQLite's
 * BEGIN IMMEDIATE. store_pg_end commits when r == 0, else rolls back;
 * returns r or the commit's error. */
int store_pg_begin(struct store *st, const char *lock_table);
int store_pg_end(struct store *st, int r);
int store_pg_fail(struct store *st, int err, const char *what);

int64_t store_pg_int(const PGresult *res, int row, int col);
void store_pg_text(const PGresult *res, int row, int col, char *out, size_t size);
/* The bytea at (row, col) into dst when it is exactly len bytes: true; else
 * dst zeroed, false (NULL, another length). */
bool store_pg_blob(const PGresult *res, int row, int col, void *dst, size_t len);

#endif
