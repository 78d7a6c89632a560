/* Shared between the two files of the SQLite backend; not part of store.h. */
#ifndef ROAM_SERVER_STORE_SQLITE_INTERNAL_H
#define ROAM_SERVER_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/store.h"

sqlite3 *store_sqlite_db(struct store *st);
int store_sqlite_fail(struct store *st, int err, const char *what); /* records the message, returns err */
int store_sqlite_errno(int rc);
int store_sqlite_exec(struct store *st, const char *sql);
/* A prepared statement, or the error recorded and returned. */
int store_sqlite_prepare(struct store *st, const char *sql, sqlite3_stmt **out);
/* Who holds a name (a statement prepared once): 0, -ENOENT, or the error. */
int store_sqlite_name_holder(struct store *st, const char *name, uint32_t *id, bool *approved);
/* Steps a write to completion and finalizes it: 0, or the error recorded. */
int store_sqlite_step_done(struct store *st, sqlite3_stmt *s);

/* The writes that run thousands of times a second at 100 000 nodes
 * (presence, endpoints, events) keep their statement: parsing the SQL
 * each time was most of their cost. */
enum store_sqlite_cached_stmt { STORE_SQ_PRESENCE, STORE_SQ_ENDPOINTS, STORE_SQ_EVENT, STORE_SQ_CACHED_MAX };
/* The statement of that slot (sql prepared at its first use), ready to bind. */
int store_sqlite_cached(struct store *st, enum store_sqlite_cached_stmt which, const char *sql, sqlite3_stmt **out);
/* Steps a cached write to completion and resets it: 0, or the error recorded. */
int store_sqlite_cached_done(struct store *st, sqlite3_stmt *s);

#endif
