/* Relay-only servers in the store (store.h, "Relays"): the admin adds one
 * (name, URL, region, the hash of its join secret), the control server
 * records its public key at first registration and its last load report
 * (for `roam-server relays`, a separate process). Relay ids are EP_RELAY
 * indexes: 1..STORE_RELAYS_MAX, the lowest free one (0 is the control
 * server). */
#include "server/store_sqlite_names.h" /* first: store.h under store_sqlite_* names */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/store.h"
#include "server/store_sqlite_internal.h"

#define RELAY_COLUMNS "id, name, url, region, secret_hash, public_key, udp_port, tls_pin, created, load_at, clients, pps, bps, dropped, online"

static void relay_row(sqlite3_stmt *s, struct store_relay *out)
{
	const void *blob;

	memset(out, 0, sizeof(*out));
	out->id = (uint32_t)sqlite3_column_int64(s, 0);
	snprintf(out->name, sizeof(out->name), "%s", (const char *)sqlite3_column_text(s, 1));
	snprintf(out->url, sizeof(out->url), "%s", (const char *)sqlite3_column_text(s, 2));
	snprintf(out->region, sizeof(out->region), "%s", (const char *)sqlite3_column_text(s, 3));
	if ((blob = sqlite3_column_blob(s, 4)) && sqlite3_column_bytes(s, 4) == 32)
		memcpy(out->secret_hash, blob, 32);
	if ((blob = sqlite3_column_blob(s, 5)) && sqlite3_column_bytes(s, 5) == COORD_KEY_LEN) {
		memcpy(out->public_key, blob, COORD_KEY_LEN);
		out->registered = true;
	}
	out->udp_port = (uint16_t)sqlite3_column_int(s, 6);
	if ((blob = sqlite3_column_blob(s, 7)) && sqlite3_column_bytes(s, 7) == COORD_TLS_PIN_LEN)
		memcpy(out->tls_pin, blob, COORD_TLS_PIN_LEN);
	out->created = sqlite3_column_int64(s, 8);
	out->load_at = sqlite3_column_int64(s, 9);
	out->clients = (uint64_t)sqlite3_column_int64(s, 10);
	out->pps = (uint64_t)sqlite3_column_int64(s, 11);
	out->bps = (uint64_t)sqlite3_column_int64(s, 12);
	out->dropped = (uint64_t)sqlite3_column_int64(s, 13);
	out->online = sqlite3_column_int(s, 14) != 0;
}

int store_relay_add(struct store *st, const char *name, const char *url, const char *region,
		    const uint8_t secret_hash[32], int64_t now, uint32_t *id_out)
{
	sqlite3_stmt *s;
	uint32_t id = 0;
	int r, rc;

	if ((r = store_sqlite_exec(st, "BEGIN IMMEDIATE")) < 0)
		return r;
	/* the lowest free id in 1..STORE_RELAYS_MAX */
	if ((r = store_sqlite_prepare(st, "SELECT id FROM relays ORDER BY id", &s)) < 0)
		goto fail;
	id = 1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && (uint32_t)sqlite3_column_int64(s, 0) == id)
		id++;
	sqlite3_finalize(s);
	if (id > STORE_RELAYS_MAX) {
		r = -ENOSPC;
		goto fail;
	}
	if ((r = store_sqlite_prepare(st, "INSERT INTO relays(id, name, url, region, secret_hash, created) VALUES (?, ?, ?, ?, ?, ?)",
				      &s)) < 0)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, region ? region : "", -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, secret_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, now);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		goto fail;
	if ((r = store_sqlite_exec(st, "COMMIT")) < 0)
		goto fail;
	*id_out = id;
	return 0;
fail:
	sqlite3_exec(store_sqlite_db(st), "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int store_relay_remove(struct store *st, const char *name)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "DELETE FROM relays WHERE name = ?", &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if ((r = store_sqlite_step_done(st, s)) < 0)
		return r;
	return sqlite3_changes(store_sqlite_db(st)) ? 0 : -ENOENT;
}

int store_relay_by_name(struct store *st, const char *name, struct store_relay *out)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "SELECT " RELAY_COLUMNS " FROM relays WHERE name = ?", &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	r = -ENOENT;
	if (sqlite3_step(s) == SQLITE_ROW) {
		relay_row(s, out);
		r = 0;
	}
	sqlite3_finalize(s);
	return r;
}

int store_relays_foreach(struct store *st, int (*cb)(void *ctx, const struct store_relay *rl), void *ctx)
{
	struct store_relay rl;
	sqlite3_stmt *s;
	int r, rc;

	if ((r = store_sqlite_prepare(st, "SELECT " RELAY_COLUMNS " FROM relays ORDER BY id", &s)) < 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		relay_row(s, &rl);
		if ((r = cb(ctx, &rl)) < 0)
			break;
	}
	sqlite3_finalize(s);
	if (r < 0)
		return r;
	return rc == SQLITE_DONE ? 0 : store_sqlite_fail(st, store_sqlite_errno(rc), "relays");
}

int store_relay_registered(struct store *st, uint32_t id, const uint8_t public_key[COORD_KEY_LEN], uint16_t udp_port,
			   const uint8_t tls_pin[COORD_TLS_PIN_LEN])
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "UPDATE relays SET public_key = ?, udp_port = ?, tls_pin = ? WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_blob(s, 1, public_key, COORD_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, udp_port);
	sqlite3_bind_blob(s, 3, tls_pin, COORD_TLS_PIN_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, id);
	return store_sqlite_step_done(st, s);
}

int store_relay_load(struct store *st, uint32_t id, const struct store_relay *load)
{
	sqlite3_stmt *s;
	int r;

	if ((r = store_sqlite_prepare(st, "UPDATE relays SET load_at = ?, clients = ?, pps = ?, bps = ?, dropped = ?, online = ? WHERE id = ?",
				      &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, load->load_at);
	sqlite3_bind_int64(s, 2, (int64_t)load->clients);
	sqlite3_bind_int64(s, 3, (int64_t)load->pps);
	sqlite3_bind_int64(s, 4, (int64_t)load->bps);
	sqlite3_bind_int64(s, 5, (int64_t)load->dropped);
	sqlite3_bind_int(s, 6, load->online);
	sqlite3_bind_int64(s, 7, id);
	return store_sqlite_step_done(st, s);
}
