/* store.h for PostgreSQL: relays, the event log, admin accounts, and the
 * file_cache table of files/cache.h (as store_sqlite_relays.c,
 * store_sqlite_events.c and files/cache_store.c). */
#include "server/store_pg_names.h" /* first: store.h under store_pg_* names */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/files/cache.h"
#include "server/store.h"
#include "server/store_pg_internal.h"

#define RELAY_COLUMNS "id, name, url, region, secret_hash, public_key, udp_port, tls_pin, created, load_at, clients, pps, bps, dropped, online"

/* An insert ... RETURNING id: its id. */
static int insert_id(struct store *st, const char *sql, const struct store_pg_args *a, int64_t *id)
{
	PGresult *res;
	int r;

	if ((r = store_pg_run(st, sql, a, &res)) < 0)
		return r;
	*id = store_pg_int(res, 0, 0);
	PQclear(res);
	return 0;
}

static void relay_row(const PGresult *res, int i, struct store_relay *out)
{
	memset(out, 0, sizeof(*out));
	out->id = (uint32_t)store_pg_int(res, i, 0);
	store_pg_text(res, i, 1, out->name, sizeof(out->name));
	store_pg_text(res, i, 2, out->url, sizeof(out->url));
	store_pg_text(res, i, 3, out->region, sizeof(out->region));
	store_pg_blob(res, i, 4, out->secret_hash, sizeof(out->secret_hash));
	out->registered = store_pg_blob(res, i, 5, out->public_key, sizeof(out->public_key));
	out->udp_port = (uint16_t)store_pg_int(res, i, 6);
	store_pg_blob(res, i, 7, out->tls_pin, sizeof(out->tls_pin));
	out->created = store_pg_int(res, i, 8);
	out->load_at = store_pg_int(res, i, 9);
	out->clients = (uint64_t)store_pg_int(res, i, 10);
	out->pps = (uint64_t)store_pg_int(res, i, 11);
	out->bps = (uint64_t)store_pg_int(res, i, 12);
	out->dropped = (uint64_t)store_pg_int(res, i, 13);
	out->online = store_pg_int(res, i, 14) != 0;
}

static int relay_insert(struct store *st, const char *name, const char *url, const char *region,
			const uint8_t secret_hash[32], int64_t now, uint32_t *id_out)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	uint32_t id = 1;
	int r;

	/* the lowest free id in 1..STORE_RELAYS_MAX */
	if ((r = store_pg_run(st, "SELECT id FROM relays ORDER BY id", NULL, &res)) < 0)
		return r;
	for (int i = 0; i < PQntuples(res) && (uint32_t)store_pg_int(res, i, 0) == id; i++)
		id++;
	PQclear(res);
	if (id > STORE_RELAYS_MAX)
		return -ENOSPC;
	store_pg_arg_i64(&a, id);
	store_pg_arg_text(&a, name);
	store_pg_arg_text(&a, url);
	store_pg_arg_text(&a, region ? region : "");
	store_pg_arg_blob(&a, secret_hash, 32);
	store_pg_arg_i64(&a, now);
	if ((r = store_pg_write(st, "INSERT INTO relays(id, name, url, region, secret_hash, created) VALUES ($1, $2, $3, $4, $5, $6)",
				&a, NULL)) < 0)
		return r;
	*id_out = id;
	return 0;
}

int store_relay_add(struct store *st, const char *name, const char *url, const char *region,
		    const uint8_t secret_hash[32], int64_t now, uint32_t *id_out)
{
	uint32_t id = 0;
	int r;

	if ((r = store_pg_begin(st, "relays")) < 0)
		return r;
	if ((r = store_pg_end(st, relay_insert(st, name, url, region, secret_hash, now, &id))) < 0)
		return r;
	*id_out = id;
	return 0;
}

int store_relay_remove(struct store *st, const char *name)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_text(&a, name);
	return store_pg_write_one(st, "DELETE FROM relays WHERE name = $1", &a);
}

int store_relay_by_name(struct store *st, const char *name, struct store_relay *out)
{
	struct store_pg_args a = { 0 };
	PGresult *res;
	int r;

	store_pg_arg_text(&a, name);
	if ((r = store_pg_row(st, "SELECT " RELAY_COLUMNS " FROM relays WHERE name = $1", &a, &res)) < 0)
		return r;
	relay_row(res, 0, out);
	PQclear(res);
	return 0;
}

int store_relays_foreach(struct store *st, int (*cb)(void *ctx, const struct store_relay *rl), void *ctx)
{
	struct store_relay rl;
	PGresult *res;
	int r;

	if ((r = store_pg_run(st, "SELECT " RELAY_COLUMNS " FROM relays ORDER BY id", NULL, &res)) < 0)
		return r;
	for (int i = 0; r >= 0 && i < PQntuples(res); i++) {
		relay_row(res, i, &rl);
		r = cb(ctx, &rl);
	}
	PQclear(res);
	return r < 0 ? r : 0;
}

int store_relay_registered(struct store *st, uint32_t id, const uint8_t public_key[COORD_KEY_LEN], uint16_t udp_port,
			   const uint8_t tls_pin[COORD_TLS_PIN_LEN])
{
	struct store_pg_args a = { 0 };

	store_pg_arg_blob(&a, public_key, COORD_KEY_LEN);
	store_pg_arg_i64(&a, udp_port);
	store_pg_arg_blob(&a, tls_pin, COORD_TLS_PIN_LEN);
	store_pg_arg_i64(&a, id);
	return store_pg_write(st, "UPDATE relays SET public_key = $1, udp_port = $2, tls_pin = $3 WHERE id = $4", &a, NULL);
}

int store_relay_load(struct store *st, uint32_t id, const struct store_relay *load)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_i64(&a, load->load_at);
	store_pg_arg_i64(&a, (int64_t)load->clients);
	store_pg_arg_i64(&a, (int64_t)load->pps);
	store_pg_arg_i64(&a, (int64_t)load->bps);
	store_pg_arg_i64(&a, (int64_t)load->dropped);
	store_pg_arg_i64(&a, load->online);
	store_pg_arg_i64(&a, id);
	return store_pg_write(st, "UPDATE relays SET load_at = $1, clients = $2, pps = $3, bps = $4, dropped = $5, online = $6"
				  " WHERE id = $7", &a, NULL);
}

/* --- the event log --- */

int store_event_add(struct store *st, struct store_event *ev)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_i64(&a, ev->at);
	store_pg_arg_text(&a, ev->kind);
	store_pg_arg_i64(&a, ev->node_id);
	store_pg_arg_text(&a, ev->node);
	store_pg_arg_text(&a, ev->actor);
	store_pg_arg_text(&a, ev->detail);
	return insert_id(st, "INSERT INTO events(at, kind, node_id, node, actor, detail) VALUES ($1, $2, $3, $4, $5, $6)"
			     " RETURNING id", &a, &ev->id);
}

int store_events_foreach(struct store *st, const struct store_event_filter *f,
			 int (*cb)(void *ctx, const struct store_event *ev), void *ctx)
{
	/* With a limit and newest_first, the inner query takes the last rows;
	 * the outer one gives them oldest first. LIMIT NULL: all. */
	static const char *const sql[2] = {
		"SELECT * FROM (SELECT id, at, kind, node_id, node, actor, detail FROM events WHERE id > $1 AND at >= $2"
		" AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR node = $4) ORDER BY id ASC LIMIT $5) e ORDER BY id",
		"SELECT * FROM (SELECT id, at, kind, node_id, node, actor, detail FROM events WHERE id > $1 AND at >= $2"
		" AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR node = $4) ORDER BY id DESC LIMIT $5) e ORDER BY id",
	};
	struct store_pg_args a = { 0 };
	struct store_event ev;
	PGresult *res;
	int r;

	store_pg_arg_i64(&a, f->after_id);
	store_pg_arg_i64(&a, f->since);
	store_pg_arg_text(&a, f->kind);
	store_pg_arg_text(&a, f->node);
	if (f->limit)
		store_pg_arg_i64(&a, (int64_t)f->limit);
	else
		store_pg_arg_text(&a, NULL);
	if ((r = store_pg_run(st, sql[f->newest_first], &a, &res)) < 0)
		return r;
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		memset(&ev, 0, sizeof(ev));
		ev.id = store_pg_int(res, i, 0);
		ev.at = store_pg_int(res, i, 1);
		store_pg_text(res, i, 2, ev.kind, sizeof(ev.kind));
		ev.node_id = (uint32_t)store_pg_int(res, i, 3);
		store_pg_text(res, i, 4, ev.node, sizeof(ev.node));
		store_pg_text(res, i, 5, ev.actor, sizeof(ev.actor));
		store_pg_text(res, i, 6, ev.detail, sizeof(ev.detail));
		r = cb(ctx, &ev);
	}
	PQclear(res);
	return r;
}

int store_events_prune(struct store *st, int64_t before, size_t *removed)
{
	struct store_pg_args a = { 0 };
	uint64_t changed = 0;
	int r;

	store_pg_arg_i64(&a, before);
	if ((r = store_pg_write(st, "DELETE FROM events WHERE at < $1", &a, &changed)) == 0 && removed)
		*removed = (size_t)changed;
	return r;
}

/* --- admins --- */

int store_admin_add(struct store *st, const char *name, const char *password_hash, int64_t now, uint32_t *id_out)
{
	struct store_pg_args a = { 0 };
	int64_t id = 0;
	int r;

	store_pg_arg_text(&a, name);
	store_pg_arg_text(&a, password_hash);
	store_pg_arg_i64(&a, now);
	if ((r = insert_id(st, "INSERT INTO admins(name, password_hash, created) VALUES ($1, $2, $3) RETURNING id", &a,
			   &id)) == 0 && id_out)
		*id_out = (uint32_t)id;
	return r;
}

static int admin_write(struct store *st, const char *sql, const char *text, uint32_t id)
{
	struct store_pg_args a = { 0 };

	if (text)
		store_pg_arg_text(&a, text);
	store_pg_arg_i64(&a, id);
	return store_pg_write_one(st, sql, &a);
}

int store_admin_set_password(struct store *st, uint32_t id, const char *password_hash)
{
	return admin_write(st, "UPDATE admins SET password_hash = $1 WHERE id = $2", password_hash, id);
}

int store_admin_remove(struct store *st, uint32_t id) { return admin_write(st, "DELETE FROM admins WHERE id = $1", NULL, id); }

int store_admin_token_revoke(struct store *st, uint32_t id)
{
	return admin_write(st, "UPDATE admin_tokens SET revoked = 1 WHERE id = $1", NULL, id);
}

static void admin_row(const PGresult *res, int i, struct store_admin *out)
{
	memset(out, 0, sizeof(*out));
	out->id = (uint32_t)store_pg_int(res, i, 0);
	store_pg_text(res, i, 1, out->name, sizeof(out->name));
	store_pg_text(res, i, 2, out->password_hash, sizeof(out->password_hash));
	out->created = store_pg_int(res, i, 3);
}

static int admin_one(struct store *st, const char *sql, const struct store_pg_args *a, struct store_admin *out)
{
	PGresult *res;
	int r;

	if ((r = store_pg_row(st, sql, a, &res)) < 0)
		return r;
	admin_row(res, 0, out);
	PQclear(res);
	return 0;
}

int store_admin_by_name(struct store *st, const char *name, struct store_admin *out)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_text(&a, name);
	return admin_one(st, "SELECT id, name, password_hash, created FROM admins WHERE name = $1", &a, out);
}

int store_admins_foreach(struct store *st, int (*cb)(void *ctx, const struct store_admin *a), void *ctx)
{
	struct store_admin ad;
	PGresult *res;
	int r;

	if ((r = store_pg_run(st, "SELECT id, name, password_hash, created FROM admins ORDER BY id", NULL, &res)) < 0)
		return r;
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		admin_row(res, i, &ad);
		r = cb(ctx, &ad);
	}
	PQclear(res);
	return r;
}

int store_admin_token_add(struct store *st, uint32_t admin_id, const uint8_t hash[32], int64_t now, uint32_t *id_out)
{
	struct store_pg_args a = { 0 };
	int64_t id = 0;
	int r;

	store_pg_arg_i64(&a, admin_id);
	store_pg_arg_blob(&a, hash, 32);
	store_pg_arg_i64(&a, now);
	if ((r = insert_id(st, "INSERT INTO admin_tokens(admin_id, hash, created) VALUES ($1, $2, $3) RETURNING id", &a,
			   &id)) == 0 && id_out)
		*id_out = (uint32_t)id;
	return r;
}

int store_admin_token_check(struct store *st, const uint8_t hash[32], struct store_admin *out)
{
	struct store_pg_args a = { 0 };

	store_pg_arg_blob(&a, hash, 32);
	return admin_one(st, "SELECT a.id, a.name, a.password_hash, a.created FROM admin_tokens t"
			     " JOIN admins a ON a.id = t.admin_id WHERE t.hash = $1 AND t.revoked = 0", &a, out);
}
