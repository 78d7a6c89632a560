/* Which backend a struct store is (store.c dispatches store.h to
 * store_sqlite*.c or store_pg*.c): each backend's struct store begins with
 * this tag. SQLite is 0, so its calloc'd state is tagged without a word. */
#ifndef ROAM_SERVER_STORE_BACKEND_H
#define ROAM_SERVER_STORE_BACKEND_H

enum store_backend { STORE_BACKEND_SQLITE = 0, STORE_BACKEND_PG = 1 };

struct store_tag {
	enum store_backend backend;
};

/* The file next to state.db that selects PostgreSQL: its connection string
 * (mode 0600: it may hold a password). */
#define STORE_URL_FILE "store.url"
#define STORE_URL_MAX 1024

#endif
