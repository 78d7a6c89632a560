/* roam-server's persistent state, behind a narrow interface so another
 * backend (PostgreSQL) can implement this header later; store_sqlite.c is
 * the embedded default. Every write is one transaction: a crash leaves the
 * state before or after it, never between.
 *
 * What lives here: the network's settings (meta), nodes with their stable
 * overlay addresses, groups and memberships, pre-auth keys (only their
 * BLAKE2s-256 hash), and presence as the running server last wrote it
 * (online, last seen) for admin commands. What does not: endpoints (the
 * server keeps them in memory; nodes refresh them every 25 s).
 *
 * Errors: 0 or -errno; the message in store_error() names the file and the
 * cause when opening fails (-ENOENT missing, -EBADMSG corrupt or not ours,
 * -EPROTO a schema version we do not know). Lookups by name: -ENOENT. */
#ifndef ROAM_SERVER_STORE_H
#define ROAM_SERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"

struct store;

#define STORE_ERROR_MAX 2048
#define STORE_GROUPS_TOTAL_MAX 4096 /* groups in one network */

struct store_node {
	uint32_t id;
	char name[COORD_NAME_MAX + 1];
	uint8_t public_key[COORD_KEY_LEN];
	uint8_t ipv6[16];
	uint8_t ipv4[4];
	bool approved;
	int64_t expires_at; /* unix seconds; 0 = never */
	int64_t created;
	int64_t last_seen;
	bool online;        /* as the running server last wrote it */
	bool has_file_key;  /* its file public key, as it registered it (docs/files.md) */
	uint8_t file_key[COORD_KEY_LEN];
	size_t groups_count;
	uint32_t groups[COORD_GROUPS_MAX]; /* group ids, ascending */
};

struct store_group {
	uint32_t id;
	char name[COORD_NAME_MAX + 1];
	size_t members;
};

struct store_key {
	uint32_t id;
	bool reusable;
	bool revoked;
	int64_t expires_at; /* 0 = never */
	int64_t created;
	uint32_t uses;
	size_t groups_count;
	uint32_t groups[COORD_GROUPS_MAX];
};

/* create: make a new state (the file must not exist: -EEXIST); otherwise it
 * must exist (-ENOENT) and be a roam state of a known schema version. */
int store_open(const char *path, bool create, struct store **out);
/* The last error's text; valid until the next call on st. For a failed
 * store_open, the message is kept in a static buffer. */
const char *store_error(const struct store *st);
void store_close(struct store *st);

/* Changes from another process (an admin command) since the last call: a
 * counter that moves when any other connection commits. */
int store_data_version(struct store *st, int64_t *out);
/* The socket that turns readable when another connection may have changed
 * the state (PostgreSQL's notifications; then ask store_data_version), or
 * -1: SQLite (admin commands use the admin socket), or the connection is
 * down (the next call re-connects). */
int store_watch_fd(struct store *st);
/* Several servers may share it (PostgreSQL), or only one (SQLite). */
bool store_shared(const struct store *st);

/* Presence shared between servers on one PostgreSQL (server/cluster/):
 * the server holding a node publishes its peer object (endpoints, online);
 * the others read what changed since their last look, except their own.
 * SQLite (one server): -EOPNOTSUPP. store_presence_version() moves when
 * another connection published (store_data_version() does not). */
int store_presence_put(struct store *st, uint32_t node_id, const char *server, const char *peer_json, int64_t now);
int store_presence_since(struct store *st, int64_t after_seq, const char *not_server,
			 int (*cb)(void *ctx, uint32_t node_id, const char *peer_json, int64_t seq), void *ctx);
int store_presence_version(struct store *st, int64_t *out);
/* Which servers are alive, as PostgreSQL itself knows it: each server's
 * connection carries its presence tag as its session name (set once, kept
 * across re-connects, with short TCP keepalives so that the session of a
 * host that vanished ends within seconds). store_presence_orphans() calls
 * cb for each tag in presence with no session any more (its server died);
 * store_presence_held() for each node a tag holds. SQLite (one server):
 * -EOPNOTSUPP. */
int store_session_name(struct store *st, const char *tag);
int store_presence_orphans(struct store *st, int (*cb)(void *ctx, const char *server), void *ctx);
int store_presence_held(struct store *st, const char *server, int (*cb)(void *ctx, uint32_t node_id), void *ctx);
/* *alive: a session carries tag now (cluster/servers.c: servers gone for good). */
int store_session_alive(struct store *st, const char *tag, bool *alive);

int store_meta_get(struct store *st, const char *key, char *buf, size_t size); /* -ENOENT, -ENOSPC */
int store_meta_set(struct store *st, const char *key, const char *value);
/* A counter in meta moved up atomically, across every server sharing the
 * store: its value becomes max(value, floor) + block (absent: floor +
 * block) and *end the new value; the caller owns [*end - block, *end). */
int store_meta_reserve(struct store *st, const char *key, uint64_t floor, uint64_t block, uint64_t *end);

/* Registration (POST /v1/register), one transaction:
 * - known key: the same node (id, addresses); a valid pre-auth key approves
 *   a waiting node, renews an expired one and adds the key's groups;
 * - new key: with a valid pre-auth key, a new approved node in the key's
 *   groups; without one, a new node waiting for approval, if the caller's
 *   rate limit allows (-EAGAIN otherwise) and fewer than pending_max wait
 *   (-EDQUOT otherwise).
 * Names: a node approved with a pre-auth key gets the name it asked for,
 * taking it from a waiting node if need be (that one moves to a suffixed
 * name): waiting nodes never reserve names. Among approved nodes the name is
 * made unique with -2 .. -64, then a random 8-hex-digit suffix, so a name
 * clash never fails a registration. Pre-auth key errors: -EACCES unknown or
 * revoked, -EKEYEXPIRED expired, -EUSERS single-use key used. */
struct store_register {
	const uint8_t *public_key;  /* COORD_KEY_LEN */
	const char *name;
	const uint8_t *preauth_hash; /* 32 bytes, or NULL */
	int64_t now;
	/* the network's prefixes, for a new node's addresses */
	const uint8_t *network6;    /* 16 bytes, /48 */
	bool pending_allowed;       /* may a new waiting node be made now (rate limit) */
	size_t pending_max;         /* waiting nodes at most; 0 = no cap */
	bool *created_pending;      /* out, may be NULL: set when a waiting node was made */
};
int store_register_node(struct store *st, const struct store_register *req, struct store_node *out);
/* Forget waiting nodes registered before created_before (unix seconds). */
int store_pending_expire(struct store *st, int64_t created_before, size_t *removed);

int store_node_by_name(struct store *st, const char *name, struct store_node *out);
/* Every node, in id order; cb returning < 0 stops and is returned. */
int store_nodes_foreach(struct store *st, int (*cb)(void *ctx, const struct store_node *n), void *ctx);
int store_node_approve(struct store *st, uint32_t id);
int store_node_rename(struct store *st, uint32_t id, const char *new_name); /* -EEXIST */
/* The node's file public key (what files for it are sealed to). */
int store_node_set_file_key(struct store *st, uint32_t id, const uint8_t key[COORD_KEY_LEN]);
/* The node's private endpoints as it last posted them (POST /v1/endpoints,
 * JSON): a restarted server has them before the node posts again (a node
 * on the push channel does not register again after a restart). Schema 8. */
int store_node_set_endpoints(struct store *st, uint32_t id, const char *json);
int store_nodes_endpoints_foreach(struct store *st, int (*cb)(void *ctx, uint32_t id, const char *json), void *ctx);
int store_node_remove(struct store *st, uint32_t id);
int store_node_set_expiry(struct store *st, uint32_t id, int64_t expires_at);
int store_node_seen(struct store *st, uint32_t id, int64_t last_seen);
/* Presence, written by the running server when a node goes online or
 * offline (and now and then while online) so that admin commands can show
 * it; store_nodes_offline() when the server starts or stops (on
 * PostgreSQL only the nodes no other live server holds: cluster/dead.c). */
int store_node_presence(struct store *st, uint32_t id, bool online, int64_t last_seen);
int store_nodes_offline(struct store *st);
/* Many nodes' presence in one transaction (server/presence_batch.c): a
 * restart's readmission is one commit per batch, not one per node. A node
 * removed since is skipped. */
struct store_presence_row {
	uint32_t id;
	bool online;
	int64_t last_seen;
};
int store_nodes_presence(struct store *st, const struct store_presence_row *rows, size_t count);

int store_group_create(struct store *st, const char *name, uint32_t *id_out); /* -EEXIST */
int store_group_by_name(struct store *st, const char *name, struct store_group *out);
int store_group_name(struct store *st, uint32_t id, char name[COORD_NAME_MAX + 1]);
int store_groups_foreach(struct store *st, int (*cb)(void *ctx, const struct store_group *g), void *ctx);
int store_group_add_node(struct store *st, uint32_t group, uint32_t node);    /* -E2BIG: too many groups */
int store_group_remove_node(struct store *st, uint32_t group, uint32_t node); /* -ENOENT not a member */
int store_group_delete(struct store *st, uint32_t group);
int store_group_rename(struct store *st, uint32_t group, const char *new_name); /* -EEXIST, -ENOENT */

int store_key_create(struct store *st, const uint8_t hash[32], bool reusable, int64_t expires_at,
		     const uint32_t *groups, size_t groups_count, int64_t now, uint32_t *id_out);
int store_keys_foreach(struct store *st, int (*cb)(void *ctx, const struct store_key *k), void *ctx);
int store_key_revoke(struct store *st, uint32_t id);

/* Addresses of node id in the network (docs/control-protocol.md, "Overlay
 * addresses"): <prefix>::id and 100.64.0.0/10 + id skipping .0 and .255.
 * -ERANGE beyond the IPv4 pool. */
int store_node_addresses(uint32_t id, const uint8_t network6[16], uint8_t ipv6_out[16], uint8_t ipv4_out[4]);
/* The id whose address that would be (the caller compares the node's): 0,
 * -ERANGE, -EAFNOSUPPORT. */
int store_node_id_from_address(int family, const uint8_t *addr, uint32_t *id);

/* Relays: relay-only servers (docs/control-protocol.md, "Several relays").
 * Ids 1..STORE_RELAYS_MAX are their EP_RELAY indexes. The running server
 * records a relay's key at its first registration and its load reports
 * (online, load) for `roam-server relays`. */
#define STORE_RELAYS_MAX 255
struct store_relay {
	uint32_t id;
	char name[COORD_NAME_MAX + 1];
	char url[256];
	char region[64];
	uint8_t secret_hash[32];                /* BLAKE2s-256 of its join secret */
	bool registered;                        /* public_key, udp_port, tls_pin known */
	uint8_t public_key[COORD_KEY_LEN];
	uint16_t udp_port;
	uint8_t tls_pin[COORD_TLS_PIN_LEN];
	int64_t created;
	/* the last load report */
	int64_t load_at;
	uint64_t clients, pps, bps, dropped;
	bool online;
};
/* -EEXIST (name), -ENOSPC (all ids taken). */
int store_relay_add(struct store *st, const char *name, const char *url, const char *region,
		    const uint8_t secret_hash[32], int64_t now, uint32_t *id_out);
int store_relay_remove(struct store *st, const char *name); /* -ENOENT */
int store_relay_by_name(struct store *st, const char *name, struct store_relay *out);
int store_relays_foreach(struct store *st, int (*cb)(void *ctx, const struct store_relay *rl), void *ctx);
int store_relay_registered(struct store *st, uint32_t id, const uint8_t public_key[COORD_KEY_LEN], uint16_t udp_port,
			   const uint8_t tls_pin[COORD_TLS_PIN_LEN]);
/* load_at, clients, pps, bps, dropped, online from load. */
int store_relay_load(struct store *st, uint32_t id, const struct store_relay *load);

/* The event log (store_sqlite_events.c): newest last; pruned by age. */
#define STORE_EVENT_KIND_MAX 31
#define STORE_EVENT_ACTOR_MAX 63
#define STORE_EVENT_DETAIL_MAX 511
struct store_event {
	int64_t id;
	int64_t at; /* unix seconds */
	char kind[STORE_EVENT_KIND_MAX + 1];
	uint32_t node_id; /* 0: none */
	char node[COORD_NAME_MAX + 1];
	char actor[STORE_EVENT_ACTOR_MAX + 1];
	char detail[STORE_EVENT_DETAIL_MAX + 1];
};
struct store_event_filter {
	int64_t after_id;  /* only events with a larger id */
	int64_t since;     /* only events at or after this time; 0: all */
	const char *kind;  /* NULL: all */
	const char *node;  /* NULL: all */
	size_t limit;      /* 0: all */
	bool newest_first; /* with limit: the last ones, still given oldest first */
};
int store_event_add(struct store *st, struct store_event *ev); /* sets ev->id */
int store_events_foreach(struct store *st, const struct store_event_filter *f,
			 int (*cb)(void *ctx, const struct store_event *ev), void *ctx);
int store_events_prune(struct store *st, int64_t before, size_t *removed);

/* Admin accounts of the console and the admin API; password_hash is
 * libsodium's crypto_pwhash_str (argon2id) text, tokens are stored hashed. */
#define STORE_ADMIN_HASH_MAX 127
struct store_admin {
	uint32_t id;
	char name[COORD_NAME_MAX + 1];
	char password_hash[STORE_ADMIN_HASH_MAX + 1];
	int64_t created;
};
int store_admin_add(struct store *st, const char *name, const char *password_hash, int64_t now,
		    uint32_t *id_out);                                              /* -EEXIST */
int store_admin_set_password(struct store *st, uint32_t id, const char *password_hash);
int store_admin_by_name(struct store *st, const char *name, struct store_admin *out); /* -ENOENT */
int store_admin_remove(struct store *st, uint32_t id);
int store_admins_foreach(struct store *st, int (*cb)(void *ctx, const struct store_admin *a), void *ctx);
int store_admin_token_add(struct store *st, uint32_t admin_id, const uint8_t hash[32], int64_t now, uint32_t *id_out);
/* The admin owning an unrevoked token of this hash; -ENOENT. */
int store_admin_token_check(struct store *st, const uint8_t hash[32], struct store_admin *out);
int store_admin_token_revoke(struct store *st, uint32_t id); /* -ENOENT */

#endif
