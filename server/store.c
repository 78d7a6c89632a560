/* store.h, dispatched to the backend a state uses: SQLite (store_sqlite*.c,
 * the embedded default) or PostgreSQL (store_pg*.c, several servers on one
 * database). store_open() picks it: a postgres:// or postgresql:// URL, or
 * a store.url file next to the state file naming one, selects PostgreSQL.
 * Both backends keep store.h's names under a prefix (store_*_names.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"

#include "server/files/blob_store.h"
#include "server/files/cache.h"
#include "server/files/index.h"
#include "server/store.h"
#include "server/store_backend.h"
#include "server/store_common.h"

struct store_sqlite;
struct store_pg;

#define PG(st) (((const struct store_tag *)(const void *)(st))->backend == STORE_BACKEND_PG)
#define AS_PG(st) ((struct store_pg *)(void *)(st))
#define AS_SQ(st) ((struct store_sqlite *)(void *)(st))

int store_sqlite_open(const char *path, bool create, struct store_sqlite **out);
int store_pg_open(const char *conninfo, bool create, struct store_pg **out);
const char *store_sqlite_error(const struct store_sqlite *st);
const char *store_pg_error(const struct store_pg *st);
void store_sqlite_close(struct store_sqlite *st);
void store_pg_close(struct store_pg *st);
int store_sqlite_data_version(struct store_sqlite *st, int64_t *out);
int store_pg_data_version(struct store_pg *st, int64_t *out);
int store_sqlite_meta_get(struct store_sqlite *st, const char *key, char *buf, size_t size);
int store_pg_meta_get(struct store_pg *st, const char *key, char *buf, size_t size);
int store_sqlite_meta_set(struct store_sqlite *st, const char *key, const char *value);
int store_pg_meta_set(struct store_pg *st, const char *key, const char *value);
int store_sqlite_meta_reserve(struct store_sqlite *st, const char *key, uint64_t floor, uint64_t block, uint64_t *end);
int store_pg_meta_reserve(struct store_pg *st, const char *key, uint64_t floor, uint64_t block, uint64_t *end);
int store_sqlite_register_node(struct store_sqlite *st, const struct store_register *req, struct store_node *out);
int store_pg_register_node(struct store_pg *st, const struct store_register *req, struct store_node *out);
int store_sqlite_pending_expire(struct store_sqlite *st, int64_t created_before, size_t *removed);
int store_pg_pending_expire(struct store_pg *st, int64_t created_before, size_t *removed);
int store_sqlite_node_by_name(struct store_sqlite *st, const char *name, struct store_node *out);
int store_pg_node_by_name(struct store_pg *st, const char *name, struct store_node *out);
int store_sqlite_nodes_foreach(struct store_sqlite *st, int (*cb)(void *ctx, const struct store_node *n), void *ctx);
int store_pg_nodes_foreach(struct store_pg *st, int (*cb)(void *ctx, const struct store_node *n), void *ctx);
int store_sqlite_node_approve(struct store_sqlite *st, uint32_t id);
int store_pg_node_approve(struct store_pg *st, uint32_t id);
int store_sqlite_node_rename(struct store_sqlite *st, uint32_t id, const char *new_name);
int store_pg_node_rename(struct store_pg *st, uint32_t id, const char *new_name);
int store_sqlite_node_set_file_key(struct store_sqlite *st, uint32_t id, const uint8_t key[COORD_KEY_LEN]);
int store_pg_node_set_file_key(struct store_pg *st, uint32_t id, const uint8_t key[COORD_KEY_LEN]);
int store_sqlite_node_remove(struct store_sqlite *st, uint32_t id);
int store_pg_node_remove(struct store_pg *st, uint32_t id);
int store_sqlite_node_set_expiry(struct store_sqlite *st, uint32_t id, int64_t expires_at);
int store_pg_node_set_expiry(struct store_pg *st, uint32_t id, int64_t expires_at);
int store_sqlite_node_seen(struct store_sqlite *st, uint32_t id, int64_t last_seen);
int store_pg_node_seen(struct store_pg *st, uint32_t id, int64_t last_seen);
int store_sqlite_node_presence(struct store_sqlite *st, uint32_t id, bool online, int64_t last_seen);
int store_pg_node_presence(struct store_pg *st, uint32_t id, bool online, int64_t last_seen);
int store_sqlite_node_set_endpoints(struct store_sqlite *st, uint32_t id, const char *json);
int store_pg_node_set_endpoints(struct store_pg *st, uint32_t id, const char *json);
int store_sqlite_nodes_endpoints_foreach(struct store_sqlite *st, int (*cb)(void *ctx, uint32_t id, const char *json),
					 void *ctx);
int store_pg_nodes_endpoints_foreach(struct store_pg *st, int (*cb)(void *ctx, uint32_t id, const char *json),
				     void *ctx);
int store_sqlite_nodes_presence(struct store_sqlite *st, const struct store_presence_row *rows, size_t count);
int store_pg_nodes_presence(struct store_pg *st, const struct store_presence_row *rows, size_t count);
int store_sqlite_nodes_offline(struct store_sqlite *st);
int store_pg_nodes_offline(struct store_pg *st);
int store_sqlite_group_create(struct store_sqlite *st, const char *name, uint32_t *id_out);
int store_pg_group_create(struct store_pg *st, const char *name, uint32_t *id_out);
int store_sqlite_group_by_name(struct store_sqlite *st, const char *name, struct store_group *out);
int store_pg_group_by_name(struct store_pg *st, const char *name, struct store_group *out);
int store_sqlite_group_name(struct store_sqlite *st, uint32_t id, char name[COORD_NAME_MAX + 1]);
int store_pg_group_name(struct store_pg *st, uint32_t id, char name[COORD_NAME_MAX + 1]);
int store_sqlite_groups_foreach(struct store_sqlite *st, int (*cb)(void *ctx, const struct store_group *g), void *ctx);
int store_pg_groups_foreach(struct store_pg *st, int (*cb)(void *ctx, const struct store_group *g), void *ctx);
int store_sqlite_group_add_node(struct store_sqlite *st, uint32_t group, uint32_t node);
int store_pg_group_add_node(struct store_pg *st, uint32_t group, uint32_t node);
int store_sqlite_group_remove_node(struct store_sqlite *st, uint32_t group, uint32_t node);
int store_pg_group_remove_node(struct store_pg *st, uint32_t group, uint32_t node);
int store_sqlite_group_delete(struct store_sqlite *st, uint32_t group);
int store_pg_group_delete(struct store_pg *st, uint32_t group);
int store_sqlite_group_rename(struct store_sqlite *st, uint32_t group, const char *new_name);
int store_pg_group_rename(struct store_pg *st, uint32_t group, const char *new_name);
int store_sqlite_key_create(struct store_sqlite *st, const uint8_t hash[32], bool reusable, int64_t expires_at,
			    const uint32_t *groups, size_t groups_count, int64_t now, uint32_t *id_out);
int store_pg_key_create(struct store_pg *st, const uint8_t hash[32], bool reusable, int64_t expires_at,
			const uint32_t *groups, size_t groups_count, int64_t now, uint32_t *id_out);
int store_sqlite_keys_foreach(struct store_sqlite *st, int (*cb)(void *ctx, const struct store_key *k), void *ctx);
int store_pg_keys_foreach(struct store_pg *st, int (*cb)(void *ctx, const struct store_key *k), void *ctx);
int store_sqlite_key_revoke(struct store_sqlite *st, uint32_t id);
int store_pg_key_revoke(struct store_pg *st, uint32_t id);
int store_sqlite_relay_add(struct store_sqlite *st, const char *name, const char *url, const char *region,
			   const uint8_t secret_hash[32], int64_t now, uint32_t *id_out);
int store_pg_relay_add(struct store_pg *st, const char *name, const char *url, const char *region,
		       const uint8_t secret_hash[32], int64_t now, uint32_t *id_out);
int store_sqlite_relay_remove(struct store_sqlite *st, const char *name);
int store_pg_relay_remove(struct store_pg *st, const char *name);
int store_sqlite_relay_by_name(struct store_sqlite *st, const char *name, struct store_relay *out);
int store_pg_relay_by_name(struct store_pg *st, const char *name, struct store_relay *out);
int store_sqlite_relays_foreach(struct store_sqlite *st, int (*cb)(void *ctx, const struct store_relay *rl), void *ctx);
int store_pg_relays_foreach(struct store_pg *st, int (*cb)(void *ctx, const struct store_relay *rl), void *ctx);
int store_sqlite_relay_registered(struct store_sqlite *st, uint32_t id, const uint8_t public_key[COORD_KEY_LEN],
				  uint16_t udp_port, const uint8_t tls_pin[COORD_TLS_PIN_LEN]);
int store_pg_relay_registered(struct store_pg *st, uint32_t id, const uint8_t public_key[COORD_KEY_LEN],
			      uint16_t udp_port, const uint8_t tls_pin[COORD_TLS_PIN_LEN]);
int store_sqlite_relay_load(struct store_sqlite *st, uint32_t id, const struct store_relay *load);
int store_pg_relay_load(struct store_pg *st, uint32_t id, const struct store_relay *load);
int store_sqlite_event_add(struct store_sqlite *st, struct store_event *ev);
int store_pg_event_add(struct store_pg *st, struct store_event *ev);
int store_sqlite_events_foreach(struct store_sqlite *st, const struct store_event_filter *f,
				int (*cb)(void *ctx, const struct store_event *ev), void *ctx);
int store_pg_events_foreach(struct store_pg *st, const struct store_event_filter *f,
			    int (*cb)(void *ctx, const struct store_event *ev), void *ctx);
int store_sqlite_events_prune(struct store_sqlite *st, int64_t before, size_t *removed);
int store_pg_events_prune(struct store_pg *st, int64_t before, size_t *removed);
int store_sqlite_admin_add(struct store_sqlite *st, const char *name, const char *password_hash, int64_t now,
			   uint32_t *id_out);
int store_pg_admin_add(struct store_pg *st, const char *name, const char *password_hash, int64_t now, uint32_t *id_out);
int store_sqlite_admin_set_password(struct store_sqlite *st, uint32_t id, const char *password_hash);
int store_pg_admin_set_password(struct store_pg *st, uint32_t id, const char *password_hash);
int store_sqlite_admin_by_name(struct store_sqlite *st, const char *name, struct store_admin *out);
int store_pg_admin_by_name(struct store_pg *st, const char *name, struct store_admin *out);
int store_sqlite_admin_remove(struct store_sqlite *st, uint32_t id);
int store_pg_admin_remove(struct store_pg *st, uint32_t id);
int store_sqlite_admins_foreach(struct store_sqlite *st, int (*cb)(void *ctx, const struct store_admin *a), void *ctx);
int store_pg_admins_foreach(struct store_pg *st, int (*cb)(void *ctx, const struct store_admin *a), void *ctx);
int store_sqlite_admin_token_add(struct store_sqlite *st, uint32_t admin_id, const uint8_t hash[32], int64_t now,
				 uint32_t *id_out);
int store_pg_admin_token_add(struct store_pg *st, uint32_t admin_id, const uint8_t hash[32], int64_t now,
			     uint32_t *id_out);
int store_sqlite_admin_token_check(struct store_sqlite *st, const uint8_t hash[32], struct store_admin *out);
int store_pg_admin_token_check(struct store_pg *st, const uint8_t hash[32], struct store_admin *out);
int store_sqlite_admin_token_revoke(struct store_sqlite *st, uint32_t id);
int store_pg_admin_token_revoke(struct store_pg *st, uint32_t id);
int fcache_sqlite_add(struct store_sqlite *st, const struct fcache_entry *e);
int fcache_pg_add(struct store_pg *st, const struct fcache_entry *e);
int fcache_sqlite_get(struct store_sqlite *st, const uint8_t id[FCACHE_ID_LEN], struct fcache_entry *out);
int fcache_pg_get(struct store_pg *st, const uint8_t id[FCACHE_ID_LEN], struct fcache_entry *out);
int fcache_sqlite_update(struct store_sqlite *st, const struct fcache_entry *e);
int fcache_pg_update(struct store_pg *st, const struct fcache_entry *e);
int fcache_sqlite_usage(struct store_sqlite *st, uint32_t sender, uint64_t *node_bytes, uint64_t *total_bytes,
			uint64_t *node_files);
int fcache_pg_usage(struct store_pg *st, uint32_t sender, uint64_t *node_bytes, uint64_t *total_bytes,
		    uint64_t *node_files);
int fcache_sqlite_list(struct store_sqlite *st, uint32_t node, int (*cb)(void *ctx, const struct fcache_entry *e),
		       void *ctx);
int fcache_pg_list(struct store_pg *st, uint32_t node, int (*cb)(void *ctx, const struct fcache_entry *e), void *ctx);
int fcache_sqlite_expire(struct store_sqlite *st, int64_t now, void (*cb)(void *ctx, const uint8_t id[FCACHE_ID_LEN]),
			 void *ctx);
int fcache_sqlite_drop_node(struct store_sqlite *st, uint32_t node, void (*cb)(void *ctx, const uint8_t id[FCACHE_ID_LEN]),
			    void *ctx);
int fcache_pg_drop_node(struct store_pg *st, uint32_t node, void (*cb)(void *ctx, const uint8_t id[FCACHE_ID_LEN]), void *ctx);
int fcache_pg_expire(struct store_pg *st, int64_t now, void (*cb)(void *ctx, const uint8_t id[FCACHE_ID_LEN]),
		     void *ctx);

int findex_sqlite_put(struct store_sqlite *st, const struct findex_row *r);
int findex_pg_put(struct store_pg *st, const struct findex_row *r);
int findex_sqlite_get(struct store_sqlite *st, uint32_t publisher, uint32_t group, struct findex_row *out);
int findex_pg_get(struct store_pg *st, uint32_t publisher, uint32_t group, struct findex_row *out);
int findex_sqlite_list(struct store_sqlite *st, uint32_t publisher, int (*cb)(void *ctx, const struct findex_row *r),
		       void *ctx);
int findex_pg_list(struct store_pg *st, uint32_t publisher, int (*cb)(void *ctx, const struct findex_row *r), void *ctx);
int findex_sqlite_delete(struct store_sqlite *st, uint32_t publisher, uint32_t group);
int findex_pg_delete(struct store_pg *st, uint32_t publisher, uint32_t group);
int fblob_sqlite_add(struct store_sqlite *st, const struct fblob *b);
int fblob_sqlite_get(struct store_sqlite *st, const uint8_t id[FBLOB_ID_LEN], struct fblob *out);
int fblob_sqlite_set_received(struct store_sqlite *st, const uint8_t id[FBLOB_ID_LEN], uint64_t received);
int fblob_sqlite_usage(struct store_sqlite *st, uint32_t publisher, uint64_t *bytes, uint64_t *count, uint64_t *total);
int fblob_sqlite_drop(struct store_sqlite *st, uint32_t publisher, uint32_t group, uint64_t below,
		  void (*cb)(void *ctx, const uint8_t id[FBLOB_ID_LEN]), void *ctx);
int fblob_pg_add(struct store_pg *st, const struct fblob *b);
int fblob_pg_get(struct store_pg *st, const uint8_t id[FBLOB_ID_LEN], struct fblob *out);
int fblob_pg_set_received(struct store_pg *st, const uint8_t id[FBLOB_ID_LEN], uint64_t received);
int fblob_pg_usage(struct store_pg *st, uint32_t publisher, uint64_t *bytes, uint64_t *count, uint64_t *total);
int fblob_pg_drop(struct store_pg *st, uint32_t publisher, uint32_t group, uint64_t below,
		  void (*cb)(void *ctx, const uint8_t id[FBLOB_ID_LEN]), void *ctx);

static bool open_failed_pg; /* which backend's message store_error(NULL) gives */
static char url_error[STORE_ERROR_MAX];

static bool is_url(const char *s) { return !strncmp(s, "postgres://", 11) || !strncmp(s, "postgresql://", 13); }

/* The connection string in the store.url next to path: 0, -ENOENT if there
 * is none (SQLite), or an error. */
static int url_beside(const char *path, char url[STORE_URL_MAX])
{
	char file[1100];
	const char *slash = strrchr(path, '/');
	size_t len;
	FILE *f;

	if (slash)
		snprintf(file, sizeof(file), "%.*s/%s", (int)(slash - path), path, STORE_URL_FILE);
	else
		snprintf(file, sizeof(file), "%s", STORE_URL_FILE);
	if (!(f = fopen(file, "re")))
		return errno == ENOENT ? -ENOENT : -errno;
	if (!fgets(url, STORE_URL_MAX, f))
		url[0] = '\0';
	fclose(f);
	len = strcspn(url, "\r\n");
	url[len] = '\0';
	return len ? 0 : -EINVAL;
}

int store_open(const char *path, bool create, struct store **out)
{
	char url[STORE_URL_MAX];
	int r;

	open_failed_pg = false;
	if (is_url(path)) {
		snprintf(url, sizeof(url), "%s", path);
		r = 0;
	} else {
		r = strcmp(path, ":memory:") ? url_beside(path, url) : -ENOENT;
	}
	if (r == -ENOENT)
		return store_sqlite_open(path, create, (struct store_sqlite **)(void *)out);
	open_failed_pg = true;
	url_error[0] = '\0';
	if (r < 0) {
		snprintf(url_error, sizeof(url_error), "%.900s: cannot read %s beside it: %s", path, STORE_URL_FILE,
			 r == -EINVAL ? "empty" : strerror(-r));
		return r;
	}
	return store_pg_open(url, create, (struct store_pg **)(void *)out);
}

const char *store_error(const struct store *st)
{
	if (!st && url_error[0] && open_failed_pg)
		return url_error;
	if (!st)
		return open_failed_pg ? store_pg_error(NULL) : store_sqlite_error(NULL);
	return PG(st) ? store_pg_error((const struct store_pg *)(const void *)st)
		      : store_sqlite_error((const struct store_sqlite *)(const void *)st);
}

void store_close(struct store *st)
{
	if (st && PG(st))
		store_pg_close(AS_PG(st));
	else
		store_sqlite_close(AS_SQ(st));
}

int store_pg_watch_fd(struct store_pg *st);
int store_watch_fd(struct store *st) { return PG(st) ? store_pg_watch_fd(AS_PG(st)) : -1; }

bool store_shared(const struct store *st) { return PG(st); }

void store_name_candidate(const char *want, int i, char out[COORD_NAME_MAX + 1])
{
	char base[COORD_NAME_MAX - 9 + 1]; /* room for "-" and 8 digits */
	uint32_t rnd;

	snprintf(base, sizeof(base), "%s", want);
	if (i <= 1) {
		snprintf(out, COORD_NAME_MAX + 1, "%s", want);
	} else if (i <= STORE_NAME_SUFFIX_MAX) {
		snprintf(out, COORD_NAME_MAX + 1, "%s-%d", base, i);
	} else {
		crypto_random(&rnd, sizeof(rnd));
		snprintf(out, COORD_NAME_MAX + 1, "%s-%08x", base, rnd);
	}
}

int store_pg_presence_put(struct store_pg *st, uint32_t node_id, const char *server, const char *peer_json, int64_t now);
int store_pg_presence_since(struct store_pg *st, int64_t after_seq, const char *not_server,
			    int (*cb)(void *ctx, uint32_t node_id, const char *peer_json, int64_t seq), void *ctx);
int store_pg_presence_version(struct store_pg *st, int64_t *out);
int store_pg_session_name(struct store_pg *st, const char *tag);
int store_pg_presence_orphans(struct store_pg *st, int (*cb)(void *ctx, const char *server), void *ctx);
int store_pg_presence_held(struct store_pg *st, const char *server, int (*cb)(void *ctx, uint32_t node_id), void *ctx);
int store_pg_session_alive(struct store_pg *st, const char *tag, bool *alive);

int store_presence_put(struct store *st, uint32_t node_id, const char *server, const char *peer_json, int64_t now)
{
	return PG(st) ? store_pg_presence_put(AS_PG(st), node_id, server, peer_json, now) : -EOPNOTSUPP;
}

int store_presence_since(struct store *st, int64_t after_seq, const char *not_server,
			 int (*cb)(void *ctx, uint32_t node_id, const char *peer_json, int64_t seq), void *ctx)
{
	return PG(st) ? store_pg_presence_since(AS_PG(st), after_seq, not_server, cb, ctx) : -EOPNOTSUPP;
}

int store_presence_version(struct store *st, int64_t *out)
{
	return PG(st) ? store_pg_presence_version(AS_PG(st), out) : -EOPNOTSUPP;
}

int store_session_name(struct store *st, const char *tag)
{
	return PG(st) ? store_pg_session_name(AS_PG(st), tag) : -EOPNOTSUPP;
}

int store_presence_orphans(struct store *st, int (*cb)(void *ctx, const char *server), void *ctx)
{
	return PG(st) ? store_pg_presence_orphans(AS_PG(st), cb, ctx) : -EOPNOTSUPP;
}

int store_presence_held(struct store *st, const char *server, int (*cb)(void *ctx, uint32_t node_id), void *ctx)
{
	return PG(st) ? store_pg_presence_held(AS_PG(st), server, cb, ctx) : -EOPNOTSUPP;
}

int store_session_alive(struct store *st, const char *tag, bool *alive)
{
	return PG(st) ? store_pg_session_alive(AS_PG(st), tag, alive) : -EOPNOTSUPP;
}

/* The rest: one line each. */
int store_data_version(struct store *st, int64_t *out)
{
	return PG(st) ? store_pg_data_version(AS_PG(st), out) : store_sqlite_data_version(AS_SQ(st), out);
}

int store_meta_get(struct store *st, const char *key, char *buf, size_t size)
{
	return PG(st) ? store_pg_meta_get(AS_PG(st), key, buf, size) : store_sqlite_meta_get(AS_SQ(st), key, buf, size);
}

int store_meta_set(struct store *st, const char *key, const char *value)
{
	return PG(st) ? store_pg_meta_set(AS_PG(st), key, value) : store_sqlite_meta_set(AS_SQ(st), key, value);
}

int store_meta_reserve(struct store *st, const char *key, uint64_t floor, uint64_t block, uint64_t *end)
{
	if (floor > INT64_MAX / 2 || block > INT64_MAX / 2)
		return -ERANGE;
	return PG(st) ? store_pg_meta_reserve(AS_PG(st), key, floor, block, end)
		      : store_sqlite_meta_reserve(AS_SQ(st), key, floor, block, end);
}

int store_register_node(struct store *st, const struct store_register *req, struct store_node *out)
{
	return PG(st) ? store_pg_register_node(AS_PG(st), req, out) : store_sqlite_register_node(AS_SQ(st), req, out);
}

int store_pending_expire(struct store *st, int64_t created_before, size_t *removed)
{
	return PG(st) ? store_pg_pending_expire(AS_PG(st), created_before, removed)
		      : store_sqlite_pending_expire(AS_SQ(st), created_before, removed);
}

int store_node_by_name(struct store *st, const char *name, struct store_node *out)
{
	return PG(st) ? store_pg_node_by_name(AS_PG(st), name, out) : store_sqlite_node_by_name(AS_SQ(st), name, out);
}

int store_nodes_foreach(struct store *st, int (*cb)(void *ctx, const struct store_node *n), void *ctx)
{
	return PG(st) ? store_pg_nodes_foreach(AS_PG(st), cb, ctx) : store_sqlite_nodes_foreach(AS_SQ(st), cb, ctx);
}

int store_node_approve(struct store *st, uint32_t id)
{
	return PG(st) ? store_pg_node_approve(AS_PG(st), id) : store_sqlite_node_approve(AS_SQ(st), id);
}

int store_node_rename(struct store *st, uint32_t id, const char *new_name)
{
	return PG(st) ? store_pg_node_rename(AS_PG(st), id, new_name)
		      : store_sqlite_node_rename(AS_SQ(st), id, new_name);
}

int store_node_set_file_key(struct store *st, uint32_t id, const uint8_t key[COORD_KEY_LEN])
{
	return PG(st) ? store_pg_node_set_file_key(AS_PG(st), id, key)
		      : store_sqlite_node_set_file_key(AS_SQ(st), id, key);
}

int store_node_remove(struct store *st, uint32_t id)
{
	return PG(st) ? store_pg_node_remove(AS_PG(st), id) : store_sqlite_node_remove(AS_SQ(st), id);
}

int store_node_set_expiry(struct store *st, uint32_t id, int64_t expires_at)
{
	return PG(st) ? store_pg_node_set_expiry(AS_PG(st), id, expires_at)
		      : store_sqlite_node_set_expiry(AS_SQ(st), id, expires_at);
}

int store_node_seen(struct store *st, uint32_t id, int64_t last_seen)
{
	return PG(st) ? store_pg_node_seen(AS_PG(st), id, last_seen) : store_sqlite_node_seen(AS_SQ(st), id, last_seen);
}

int store_node_presence(struct store *st, uint32_t id, bool online, int64_t last_seen)
{
	return PG(st) ? store_pg_node_presence(AS_PG(st), id, online, last_seen)
		      : store_sqlite_node_presence(AS_SQ(st), id, online, last_seen);
}

int store_node_set_endpoints(struct store *st, uint32_t id, const char *json)
{
	return PG(st) ? store_pg_node_set_endpoints(AS_PG(st), id, json)
		      : store_sqlite_node_set_endpoints(AS_SQ(st), id, json);
}

int store_nodes_endpoints_foreach(struct store *st, int (*cb)(void *ctx, uint32_t id, const char *json), void *ctx)
{
	return PG(st) ? store_pg_nodes_endpoints_foreach(AS_PG(st), cb, ctx)
		      : store_sqlite_nodes_endpoints_foreach(AS_SQ(st), cb, ctx);
}

int store_nodes_presence(struct store *st, const struct store_presence_row *rows, size_t count)
{
	return PG(st) ? store_pg_nodes_presence(AS_PG(st), rows, count)
		      : store_sqlite_nodes_presence(AS_SQ(st), rows, count);
}

int store_nodes_offline(struct store *st)
{
	return PG(st) ? store_pg_nodes_offline(AS_PG(st)) : store_sqlite_nodes_offline(AS_SQ(st));
}

int store_group_create(struct store *st, const char *name, uint32_t *id_out)
{
	return PG(st) ? store_pg_group_create(AS_PG(st), name, id_out)
		      : store_sqlite_group_create(AS_SQ(st), name, id_out);
}

int store_group_by_name(struct store *st, const char *name, struct store_group *out)
{
	return PG(st) ? store_pg_group_by_name(AS_PG(st), name, out) : store_sqlite_group_by_name(AS_SQ(st), name, out);
}

int store_group_name(struct store *st, uint32_t id, char name[COORD_NAME_MAX + 1])
{
	return PG(st) ? store_pg_group_name(AS_PG(st), id, name) : store_sqlite_group_name(AS_SQ(st), id, name);
}

int store_groups_foreach(struct store *st, int (*cb)(void *ctx, const struct store_group *g), void *ctx)
{
	return PG(st) ? store_pg_groups_foreach(AS_PG(st), cb, ctx) : store_sqlite_groups_foreach(AS_SQ(st), cb, ctx);
}

int store_group_add_node(struct store *st, uint32_t group, uint32_t node)
{
	return PG(st) ? store_pg_group_add_node(AS_PG(st), group, node)
		      : store_sqlite_group_add_node(AS_SQ(st), group, node);
}

int store_group_remove_node(struct store *st, uint32_t group, uint32_t node)
{
	return PG(st) ? store_pg_group_remove_node(AS_PG(st), group, node)
		      : store_sqlite_group_remove_node(AS_SQ(st), group, node);
}

int store_group_delete(struct store *st, uint32_t group)
{
	return PG(st) ? store_pg_group_delete(AS_PG(st), group) : store_sqlite_group_delete(AS_SQ(st), group);
}

int store_group_rename(struct store *st, uint32_t group, const char *new_name)
{
	return PG(st) ? store_pg_group_rename(AS_PG(st), group, new_name)
		      : store_sqlite_group_rename(AS_SQ(st), group, new_name);
}

int store_key_create(struct store *st, const uint8_t hash[32], bool reusable, int64_t expires_at,
		     const uint32_t *groups, size_t groups_count, int64_t now, uint32_t *id_out)
{
	return PG(st)
		   ? store_pg_key_create(AS_PG(st), hash, reusable, expires_at, groups, groups_count, now, id_out)
		   : store_sqlite_key_create(AS_SQ(st), hash, reusable, expires_at, groups, groups_count, now, id_out);
}

int store_keys_foreach(struct store *st, int (*cb)(void *ctx, const struct store_key *k), void *ctx)
{
	return PG(st) ? store_pg_keys_foreach(AS_PG(st), cb, ctx) : store_sqlite_keys_foreach(AS_SQ(st), cb, ctx);
}

int store_key_revoke(struct store *st, uint32_t id)
{
	return PG(st) ? store_pg_key_revoke(AS_PG(st), id) : store_sqlite_key_revoke(AS_SQ(st), id);
}

int store_relay_add(struct store *st, const char *name, const char *url, const char *region,
		    const uint8_t secret_hash[32], int64_t now, uint32_t *id_out)
{
	return PG(st) ? store_pg_relay_add(AS_PG(st), name, url, region, secret_hash, now, id_out)
		      : store_sqlite_relay_add(AS_SQ(st), name, url, region, secret_hash, now, id_out);
}

int store_relay_remove(struct store *st, const char *name)
{
	return PG(st) ? store_pg_relay_remove(AS_PG(st), name) : store_sqlite_relay_remove(AS_SQ(st), name);
}

int store_relay_by_name(struct store *st, const char *name, struct store_relay *out)
{
	return PG(st) ? store_pg_relay_by_name(AS_PG(st), name, out) : store_sqlite_relay_by_name(AS_SQ(st), name, out);
}

int store_relays_foreach(struct store *st, int (*cb)(void *ctx, const struct store_relay *rl), void *ctx)
{
	return PG(st) ? store_pg_relays_foreach(AS_PG(st), cb, ctx) : store_sqlite_relays_foreach(AS_SQ(st), cb, ctx);
}

int store_relay_registered(struct store *st, uint32_t id, const uint8_t public_key[COORD_KEY_LEN], uint16_t udp_port,
			   const uint8_t tls_pin[COORD_TLS_PIN_LEN])
{
	return PG(st) ? store_pg_relay_registered(AS_PG(st), id, public_key, udp_port, tls_pin)
		      : store_sqlite_relay_registered(AS_SQ(st), id, public_key, udp_port, tls_pin);
}

int store_relay_load(struct store *st, uint32_t id, const struct store_relay *load)
{
	return PG(st) ? store_pg_relay_load(AS_PG(st), id, load) : store_sqlite_relay_load(AS_SQ(st), id, load);
}

int store_event_add(struct store *st, struct store_event *ev)
{
	return PG(st) ? store_pg_event_add(AS_PG(st), ev) : store_sqlite_event_add(AS_SQ(st), ev);
}

int store_events_foreach(struct store *st, const struct store_event_filter *f,
			 int (*cb)(void *ctx, const struct store_event *ev), void *ctx)
{
	return PG(st) ? store_pg_events_foreach(AS_PG(st), f, cb, ctx)
		      : store_sqlite_events_foreach(AS_SQ(st), f, cb, ctx);
}

int store_events_prune(struct store *st, int64_t before, size_t *removed)
{
	return PG(st) ? store_pg_events_prune(AS_PG(st), before, removed)
		      : store_sqlite_events_prune(AS_SQ(st), before, removed);
}

int store_admin_add(struct store *st, const char *name, const char *password_hash, int64_t now, uint32_t *id_out)
{
	return PG(st) ? store_pg_admin_add(AS_PG(st), name, password_hash, now, id_out)
		      : store_sqlite_admin_add(AS_SQ(st), name, password_hash, now, id_out);
}

int store_admin_set_password(struct store *st, uint32_t id, const char *password_hash)
{
	return PG(st) ? store_pg_admin_set_password(AS_PG(st), id, password_hash)
		      : store_sqlite_admin_set_password(AS_SQ(st), id, password_hash);
}

int store_admin_by_name(struct store *st, const char *name, struct store_admin *out)
{
	return PG(st) ? store_pg_admin_by_name(AS_PG(st), name, out) : store_sqlite_admin_by_name(AS_SQ(st), name, out);
}

int store_admin_remove(struct store *st, uint32_t id)
{
	return PG(st) ? store_pg_admin_remove(AS_PG(st), id) : store_sqlite_admin_remove(AS_SQ(st), id);
}

int store_admins_foreach(struct store *st, int (*cb)(void *ctx, const struct store_admin *a), void *ctx)
{
	return PG(st) ? store_pg_admins_foreach(AS_PG(st), cb, ctx) : store_sqlite_admins_foreach(AS_SQ(st), cb, ctx);
}

int store_admin_token_add(struct store *st, uint32_t admin_id, const uint8_t hash[32], int64_t now, uint32_t *id_out)
{
	return PG(st) ? store_pg_admin_token_add(AS_PG(st), admin_id, hash, now, id_out)
		      : store_sqlite_admin_token_add(AS_SQ(st), admin_id, hash, now, id_out);
}

int store_admin_token_check(struct store *st, const uint8_t hash[32], struct store_admin *out)
{
	return PG(st) ? store_pg_admin_token_check(AS_PG(st), hash, out)
		      : store_sqlite_admin_token_check(AS_SQ(st), hash, out);
}

int store_admin_token_revoke(struct store *st, uint32_t id)
{
	return PG(st) ? store_pg_admin_token_revoke(AS_PG(st), id) : store_sqlite_admin_token_revoke(AS_SQ(st), id);
}

int fcache_add(struct store *st, const struct fcache_entry *e)
{
	return PG(st) ? fcache_pg_add(AS_PG(st), e) : fcache_sqlite_add(AS_SQ(st), e);
}

int fcache_get(struct store *st, const uint8_t id[FCACHE_ID_LEN], struct fcache_entry *out)
{
	return PG(st) ? fcache_pg_get(AS_PG(st), id, out) : fcache_sqlite_get(AS_SQ(st), id, out);
}

int fcache_update(struct store *st, const struct fcache_entry *e)
{
	return PG(st) ? fcache_pg_update(AS_PG(st), e) : fcache_sqlite_update(AS_SQ(st), e);
}

int fcache_usage(struct store *st, uint32_t sender, uint64_t *node_bytes, uint64_t *total_bytes, uint64_t *node_files)
{
	return PG(st) ? fcache_pg_usage(AS_PG(st), sender, node_bytes, total_bytes, node_files)
		      : fcache_sqlite_usage(AS_SQ(st), sender, node_bytes, total_bytes, node_files);
}

int fcache_list(struct store *st, uint32_t node, int (*cb)(void *ctx, const struct fcache_entry *e), void *ctx)
{
	return PG(st) ? fcache_pg_list(AS_PG(st), node, cb, ctx) : fcache_sqlite_list(AS_SQ(st), node, cb, ctx);
}

int fcache_expire(struct store *st, int64_t now, void (*cb)(void *ctx, const uint8_t id[FCACHE_ID_LEN]), void *ctx)
{
	return PG(st) ? fcache_pg_expire(AS_PG(st), now, cb, ctx) : fcache_sqlite_expire(AS_SQ(st), now, cb, ctx);
}

int fcache_drop_node(struct store *st, uint32_t node, void (*cb)(void *ctx, const uint8_t id[FCACHE_ID_LEN]), void *ctx)
{
	return PG(st) ? fcache_pg_drop_node(AS_PG(st), node, cb, ctx) : fcache_sqlite_drop_node(AS_SQ(st), node, cb, ctx);
}

int findex_put(struct store *st, const struct findex_row *r)
{
	return PG(st) ? findex_pg_put(AS_PG(st), r) : findex_sqlite_put(AS_SQ(st), r);
}

int findex_get(struct store *st, uint32_t publisher, uint32_t group, struct findex_row *out)
{
	return PG(st) ? findex_pg_get(AS_PG(st), publisher, group, out) : findex_sqlite_get(AS_SQ(st), publisher, group, out);
}

int findex_list(struct store *st, uint32_t publisher, int (*cb)(void *ctx, const struct findex_row *r), void *ctx)
{
	return PG(st) ? findex_pg_list(AS_PG(st), publisher, cb, ctx) : findex_sqlite_list(AS_SQ(st), publisher, cb, ctx);
}

int findex_delete(struct store *st, uint32_t publisher, uint32_t group)
{
	return PG(st) ? findex_pg_delete(AS_PG(st), publisher, group) : findex_sqlite_delete(AS_SQ(st), publisher, group);
}

int fblob_add(struct store *st, const struct fblob *b)
{
	return PG(st) ? fblob_pg_add(AS_PG(st), b) : fblob_sqlite_add(AS_SQ(st), b);
}

int fblob_get(struct store *st, const uint8_t id[FBLOB_ID_LEN], struct fblob *out)
{
	return PG(st) ? fblob_pg_get(AS_PG(st), id, out) : fblob_sqlite_get(AS_SQ(st), id, out);
}

int fblob_set_received(struct store *st, const uint8_t id[FBLOB_ID_LEN], uint64_t received)
{
	return PG(st) ? fblob_pg_set_received(AS_PG(st), id, received) : fblob_sqlite_set_received(AS_SQ(st), id, received);
}

int fblob_usage(struct store *st, uint32_t publisher, uint64_t *bytes, uint64_t *count, uint64_t *total)
{
	return PG(st) ? fblob_pg_usage(AS_PG(st), publisher, bytes, count, total)
		      : fblob_sqlite_usage(AS_SQ(st), publisher, bytes, count, total);
}

int fblob_drop(struct store *st, uint32_t publisher, uint32_t group, uint64_t below,
	       void (*cb)(void *ctx, const uint8_t id[FBLOB_ID_LEN]), void *ctx)
{
	return PG(st) ? fblob_pg_drop(AS_PG(st), publisher, group, below, cb, ctx)
		      : fblob_sqlite_drop(AS_SQ(st), publisher, group, below, cb, ctx);
}

/* The files' ciphertext: PostgreSQL only (with SQLite it is on the local
 * disk, server/files/blob_store.c). */
int store_pg_fdata_write(struct store_pg *st, const char *name, uint64_t off, const void *buf, size_t len,
			 const struct fdata_count *count);
int store_pg_fdata_read(struct store_pg *st, const char *name, uint64_t off, void *buf, size_t len);
int store_pg_fdata_size(struct store_pg *st, const char *name, uint64_t *size);
int store_pg_fdata_rename(struct store_pg *st, const char *from, const char *to);
int store_pg_fdata_remove(struct store_pg *st, const char *name);
int store_pg_fdata_list(struct store_pg *st, const char *prefix, int (*cb)(void *ctx, const char *name), void *ctx);

int store_fdata_write(struct store *st, const char *name, uint64_t off, const void *buf, size_t len,
		      const struct fdata_count *count)
{
	return PG(st) ? store_pg_fdata_write(AS_PG(st), name, off, buf, len, count) : -EOPNOTSUPP;
}

int store_fdata_read(struct store *st, const char *name, uint64_t off, void *buf, size_t len)
{
	return PG(st) ? store_pg_fdata_read(AS_PG(st), name, off, buf, len) : -EOPNOTSUPP;
}

int store_fdata_size(struct store *st, const char *name, uint64_t *size)
{
	return PG(st) ? store_pg_fdata_size(AS_PG(st), name, size) : -EOPNOTSUPP;
}

int store_fdata_rename(struct store *st, const char *from, const char *to)
{
	return PG(st) ? store_pg_fdata_rename(AS_PG(st), from, to) : -EOPNOTSUPP;
}

int store_fdata_remove(struct store *st, const char *name)
{
	return PG(st) ? store_pg_fdata_remove(AS_PG(st), name) : -EOPNOTSUPP;
}

int store_fdata_list(struct store *st, const char *prefix, int (*cb)(void *ctx, const char *name), void *ctx)
{
	return PG(st) ? store_pg_fdata_list(AS_PG(st), prefix, cb, ctx) : -EOPNOTSUPP;
}
