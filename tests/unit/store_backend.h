/* Store tests on either backend: tests/unit/pg_cluster.sh runs a test with
 * ROAM_TEST_PG_HOST set (the socket directory of a throwaway PostgreSQL
 * cluster, user "roam"); then test_store_prepare() makes a fresh database
 * for a state path and writes the store.url beside it that selects it. */
#ifndef ROAM_TESTS_STORE_BACKEND_H
#define ROAM_TESTS_STORE_BACKEND_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline bool test_store_pg(void) { return getenv("ROAM_TEST_PG_HOST") != NULL; }

/* The connection string of a new, empty database (in out), or -1. */
static inline int test_store_pg_database(char *out, size_t size)
{
	static unsigned counter;
	char info[512], sql[128], name[64];
	PGresult *res;
	PGconn *c;
	int r;

	snprintf(info, sizeof(info), "host=%s user=roam dbname=postgres", getenv("ROAM_TEST_PG_HOST"));
	if (PQstatus(c = PQconnectdb(info)) != CONNECTION_OK) {
		fprintf(stderr, "test: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	snprintf(name, sizeof(name), "roam_t%ld_%u", (long)getpid(), counter++);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	res = PQexec(c, sql);
	r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	if (r < 0)
		fprintf(stderr, "test: %s", PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(c);
	snprintf(out, size, "host=%s user=roam dbname=%s", getenv("ROAM_TEST_PG_HOST"), name);
	return r;
}

/* With PostgreSQL: a fresh database for the state at path (store.url
 * beside it). With SQLite: nothing. 0 or -1. */
static inline int test_store_prepare(const char *path)
{
	char info[512], file[512];
	const char *slash = strrchr(path, '/');
	FILE *f;

	if (!test_store_pg())
		return 0;
	if (!slash || test_store_pg_database(info, sizeof(info)) < 0)
		return -1;
	snprintf(file, sizeof(file), "%.*s/store.url", (int)(slash - path), path);
	if (!(f = fopen(file, "w")))
		return -1;
	fprintf(f, "%s\n", info);
	return fclose(f) == 0 ? 0 : -1;
}

#endif
