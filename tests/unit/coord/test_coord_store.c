/* roam-server's store (SQLite in a temporary directory) and directory:
 * registration, stable addresses, unique names, pre-auth keys (single-use,
 * reusable, expired, revoked), group visibility, corrupt or missing files,
 * presence for admin commands and the migration of a version 1 state. */
#include <blake2.h>
#include <sqlite3.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"
#include "../store_backend.h"
#include "crypto/crypto.h"
#include "server/directory.h"
#include "server/reg_limit.h"
#include "server/store.h"

static const uint8_t net6[16] = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a };
static char dir[] = "/tmp/roam-store-test-XXXXXX";
static char path[256];

static void key_hash(uint8_t hash[32], const uint8_t key[16]) { blake2s(hash, key, NULL, 32, 16, 0); }

static int reg(struct store *st, const uint8_t pub[32], const char *name, const uint8_t *preauth, int64_t now,
	       struct store_node *out)
{
	uint8_t hash[32];
	struct store_register r = { .public_key = pub, .name = name, .now = now, .network6 = net6, .pending_allowed = true };

	if (preauth) {
		key_hash(hash, preauth);
		r.preauth_hash = hash;
	}
	return store_register_node(st, &r, out);
}

static int count_visible(void *ctx, struct dir_node *peer)
{
	(void)peer;
	(*(int *)ctx)++;
	return 0;
}

static void test_registration(struct store *st)
{
	uint8_t a[32], b[32], c[32], k1[16], k2[16], k3[16], h[32];
	struct store_node na, na2, nb, nc, nx;
	uint32_t g1, g2, kid;
	int64_t now = 1700000000;

	crypto_random(a, 32);
	crypto_random(b, 32);
	crypto_random(c, 32);
	crypto_random(k1, 16);
	crypto_random(k2, 16);
	crypto_random(k3, 16);
	CHECK_EQ(store_group_create(st, "g1", &g1), 0);
	CHECK_EQ(store_group_create(st, "g2", &g2), 0);
	CHECK_EQ(store_group_create(st, "g1", &kid), -EEXIST);
	key_hash(h, k1);
	CHECK_EQ(store_key_create(st, h, false, 0, &g1, 1, now, &kid), 0); /* single-use, g1 */
	key_hash(h, k2);
	CHECK_EQ(store_key_create(st, h, true, now + 100, &g2, 1, now, &kid), 0); /* reusable, g2, expires */
	key_hash(h, k3);
	CHECK_EQ(store_key_create(st, h, true, 0, NULL, 0, now, &kid), 0);
	CHECK_EQ(store_key_revoke(st, kid), 0);

	CHECK_EQ(reg(st, a, "laptop", k1, now, &na), 0);
	CHECK(na.approved);
	CHECK_EQ(na.groups_count, 1);
	CHECK_EQ(na.ipv4[0], 100);
	CHECK_EQ(na.ipv4[1], 64);
	CHECK_EQ(na.ipv4[3], na.id);
	CHECK_MEM(na.ipv6, net6, 6);
	/* single-use: a second node cannot use it */
	CHECK_EQ(reg(st, b, "phone", k1, now, &nb), -EUSERS);
	/* the same key again keeps id and addresses, even without a pre-auth key */
	CHECK_EQ(reg(st, a, "other-name", NULL, now + 5, &na2), 0);
	CHECK_EQ(na2.id, na.id);
	CHECK_MEM(na2.ipv6, na.ipv6, 16);
	CHECK_MEM(na2.ipv4, na.ipv4, 4);
	CHECK(strcmp(na2.name, "laptop") == 0);
	/* names are unique: a clash gets -2 */
	CHECK_EQ(reg(st, b, "laptop", k2, now, &nb), 0);
	CHECK(strcmp(nb.name, "laptop-2") == 0);
	/* expired and revoked keys; no key: waits for approval */
	CHECK_EQ(reg(st, c, "tablet", k2, now + 100, &nc), -EKEYEXPIRED);
	CHECK_EQ(reg(st, c, "tablet", k3, now, &nc), -EACCES);
	crypto_random(h, 16);
	CHECK_EQ(reg(st, c, "tablet", h, now, &nc), -EACCES);
	CHECK_EQ(reg(st, c, "tablet", NULL, now, &nc), 0);
	CHECK(!nc.approved);
	CHECK_EQ(store_node_approve(st, nc.id), 0);
	CHECK_EQ(store_node_by_name(st, "tablet", &nx), 0);
	CHECK(nx.approved);
	/* groups: a in g1, b in g2, c in g1 and g2 */
	CHECK_EQ(store_group_add_node(st, g1, nc.id), 0);
	CHECK_EQ(store_group_add_node(st, g2, nc.id), 0);
	CHECK_EQ(store_group_remove_node(st, g2, na.id), -ENOENT);
	CHECK_EQ(store_node_rename(st, nc.id, "laptop"), -EEXIST);
	CHECK_EQ(store_node_rename(st, nc.id, "tab"), 0);
}

static int reg_pending(struct store *st, const char *name, int64_t now, bool allowed, size_t max,
		       struct store_node *out, bool *created)
{
	uint8_t pub[32];
	struct store_register r = { .public_key = pub, .name = name, .now = now, .network6 = net6,
				    .pending_allowed = allowed, .pending_max = max, .created_pending = created };

	crypto_random(pub, 32);
	*created = false;
	return store_register_node(st, &r, out);
}

/* Waiting nodes: capped, rate-limited by the caller, never holding a name
 * against an approved node, forgotten after their TTL. */
static void test_pending(struct store *st)
{
	uint8_t key[16], h[32], pub[32];
	struct store_node n, first, got, again;
	int64_t now = 1700001000;
	uint32_t g, kid;
	bool created;
	size_t removed;

	crypto_random(key, 16);
	key_hash(h, key);
	CHECK_EQ(store_group_create(st, "gp", &g), 0);
	CHECK_EQ(store_key_create(st, h, true, 0, &g, 1, now, &kid), 0);
	/* 70 waiting "desk"s: past the numbered suffixes, random ones; no clash fails */
	CHECK_EQ(reg_pending(st, "desk", now, true, 0, &first, &created), 0);
	CHECK(created && !first.approved && strcmp(first.name, "desk") == 0);
	for (int i = 1; i < 70; i++) {
		CHECK_EQ(reg_pending(st, "desk", now, true, 0, &n, &created), 0);
		CHECK(created && !n.approved);
	}
	CHECK(strlen(n.name) == strlen("desk-") + 8); /* random suffix */
	/* the caller's rate limit, then the total cap */
	CHECK_EQ(reg_pending(st, "desk", now, false, 0, &n, &created), -EAGAIN);
	CHECK_EQ(reg_pending(st, "desk", now, true, 70, &n, &created), -EDQUOT);
	CHECK(!created);
	/* a node with a valid pre-auth key gets "desk"; the waiting one moves aside */
	crypto_random(pub, 32);
	CHECK_EQ(reg(st, pub, "desk", key, now, &got), 0);
	CHECK(got.approved);
	CHECK(strcmp(got.name, "desk") == 0);
	CHECK_EQ(store_node_by_name(st, "desk", &n), 0);
	CHECK_EQ(n.id, got.id);
	CHECK_EQ(reg(st, first.public_key, "desk", NULL, now, &again), 0); /* still waiting, renamed */
	CHECK_EQ(again.id, first.id);
	CHECK(!again.approved && strcmp(again.name, "desk") != 0);
	/* a second approved "desk" gets "desk-2" even though waiting ones hold suffixes */
	crypto_random(pub, 32);
	CHECK_EQ(reg(st, pub, "desk", key, now, &n), 0);
	CHECK(n.approved && strcmp(n.name, "desk-2") == 0);
	/* a waiting node approved later with a key takes back the name it asked for */
	CHECK_EQ(reg_pending(st, "lamp", now, true, 0, &first, &created), 0);
	CHECK_EQ(reg_pending(st, "lamp", now, true, 0, &n, &created), 0);
	CHECK(strcmp(n.name, "lamp-2") == 0);
	CHECK_EQ(reg(st, n.public_key, "lamp", key, now, &got), 0);
	CHECK(got.approved && got.id == n.id && strcmp(got.name, "lamp") == 0);
	/* expiry: only waiting nodes older than the cut */
	CHECK_EQ(store_pending_expire(st, now, &removed), 0);
	CHECK_EQ(removed, 0);
	CHECK_EQ(store_pending_expire(st, now + 1, &removed), 0);
	CHECK_EQ(removed, 71); /* 70 "desk"s and the first "lamp" */
	CHECK_EQ(store_node_by_name(st, "desk", &n), 0);
	CHECK(n.approved);
	CHECK_EQ(store_node_by_name(st, "lamp", &n), 0);
	CHECK(n.approved);
	CHECK_EQ(store_node_by_name(st, "tab", &n), 0); /* approved by the admin earlier: stays */
}

static void test_reg_limit(void)
{
	static struct reg_limit l;
	struct sockaddr_any a, a2, b6, b6same, b6other;
	int64_t now = 1000;

	reg_limit_init(&l, 3, 60);
	sockaddr_any_parse("198.51.100.7:1000", &a);
	sockaddr_any_parse("198.51.100.7:2000", &a2); /* same host, other port */
	sockaddr_any_parse("[2001:db8:1:2::5]:1", &b6);
	sockaddr_any_parse("[2001:db8:1:2::99]:1", &b6same); /* same /64 */
	sockaddr_any_parse("[2001:db8:1:3::5]:1", &b6other);
	for (int i = 0; i < 3; i++) {
		CHECK(reg_limit_allows(&l, &a, now));
		reg_limit_spend(&l, &a, now);
	}
	CHECK(!reg_limit_allows(&l, &a, now));
	CHECK(!reg_limit_allows(&l, &a2, now + 59));
	CHECK(reg_limit_allows(&l, &a2, now + 60)); /* one token back */
	reg_limit_spend(&l, &a2, now + 60);
	CHECK(!reg_limit_allows(&l, &a, now + 61));
	for (int i = 0; i < 3; i++)
		reg_limit_spend(&l, &b6, now);
	CHECK(!reg_limit_allows(&l, &b6same, now));
	CHECK(reg_limit_allows(&l, &b6other, now));
	CHECK(reg_limit_allows(&l, &a, now + 10000)); /* refilled */
	/* many addresses: memory stays fixed, a new address is always served */
	for (uint32_t i = 0; i < 3 * REG_LIMIT_SLOTS; i++) {
		struct sockaddr_any x = a;
		x.in4.sin_addr.s_addr = htonl(0x0a000000u + i);
		reg_limit_spend(&l, &x, now);
	}
	sockaddr_any_parse("192.0.2.1:1", &a);
	CHECK(reg_limit_allows(&l, &a, now));
}

struct load_ctx {
	struct directory *d;
};

static int load_node(void *arg, const struct store_node *n)
{
	struct load_ctx *c = arg;
	struct dir_node *dn;
	bool changed;

	return dir_node_set(c->d, n, &dn, &changed);
}

static int collect_group(void *arg, const struct store_group *g)
{
	struct store_group *arr = arg;

	arr[g->id - 1] = *g;
	return 0;
}

static void test_visibility(struct store *st)
{
	struct directory d;
	struct store_group groups[2];
	struct store_node a, b, c;
	struct load_ctx ctx = { &d };
	uint8_t priv[32];
	int seen;

	crypto_random(priv, 32);
	x25519_clamp(priv);
	CHECK_EQ(dir_init(&d, priv, net6), 0);
	CHECK_EQ(store_nodes_foreach(st, load_node, &ctx), 0);
	CHECK_EQ(store_groups_foreach(st, collect_group, groups), 0);
	CHECK_EQ(dir_groups_set(&d, groups, 2), 0);
	CHECK_EQ(store_node_by_name(st, "laptop", &a), 0);   /* g1 */
	CHECK_EQ(store_node_by_name(st, "laptop-2", &b), 0); /* g2 */
	CHECK_EQ(store_node_by_name(st, "tab", &c), 0);      /* g1, g2 */
	CHECK(!dir_share_group(dir_node_get(&d, a.id), dir_node_get(&d, b.id)));
	CHECK(dir_share_group(dir_node_get(&d, a.id), dir_node_get(&d, c.id)));
	CHECK(dir_share_group(dir_node_get(&d, b.id), dir_node_get(&d, c.id)));
	seen = 0;
	dir_foreach_visible(&d, dir_node_get(&d, c.id), count_visible, &seen);
	CHECK_EQ(seen, 2);
	seen = 0;
	dir_foreach_visible(&d, dir_node_get(&d, a.id), count_visible, &seen);
	CHECK_EQ(seen, 1);
	CHECK(dir_node_by_key(&d, a.public_key) == dir_node_get(&d, a.id));
	{
		struct sockaddr_any ep;
		sockaddr_any_parse("203.0.113.11:4000", &ep);
		CHECK_EQ(dir_set_public(&d, dir_node_get(&d, a.id), &ep), 0);
		CHECK(dir_node_by_endpoint(&d, &ep) == dir_node_get(&d, a.id));
		CHECK(dir_node_get(&d, a.id)->nat);
		/* the endpoint moves to another node: the old owner loses it */
		CHECK_EQ(dir_set_public(&d, dir_node_get(&d, b.id), &ep), 0);
		CHECK(dir_node_by_endpoint(&d, &ep) == dir_node_get(&d, b.id));
		CHECK_EQ(dir_node_get(&d, a.id)->public_ep.len, 0);
	}
	/* A node registered now joins its groups' member lists at their end
	 * (no walk of every node), with the lists a rebuild would make. */
	{
		struct store_node nn = c;
		struct dir_node *dn;
		bool changed;
		uint32_t want[2][8];
		size_t want_n[2];
		nn.id = c.id + 10;
		nn.public_key[0] ^= 0x55;
		CHECK_EQ(dir_node_set(&d, &nn, &dn, &changed), 0);
		CHECK(changed);
		CHECK_EQ(dir_groups_add_new(&d, dn), 0);
		for (int g = 0; g < 2; g++) {
			want_n[g] = d.groups[g].count;
			memcpy(want[g], d.groups[g].members, want_n[g] * sizeof(uint32_t));
			CHECK(want_n[g] >= 2 && want[g][want_n[g] - 1] == nn.id);
		}
		CHECK_EQ(dir_groups_rebuild(&d), 0);
		for (int g = 0; g < 2; g++)
			CHECK(d.groups[g].count == want_n[g] &&
			      memcmp(d.groups[g].members, want[g], want_n[g] * sizeof(uint32_t)) == 0);
		/* an id below the newest member: rebuilt, still ascending */
		nn.id = c.id + 5;
		nn.public_key[0] ^= 0x0f;
		CHECK_EQ(dir_node_set(&d, &nn, &dn, &changed), 0);
		CHECK_EQ(dir_groups_add_new(&d, dn), 0);
		for (int g = 0; g < 2; g++)
			for (size_t i = 1; i < d.groups[g].count; i++)
				CHECK(d.groups[g].members[i - 1] < d.groups[g].members[i]);
		seen = 0;
		dir_foreach_visible(&d, dir_node_get(&d, a.id), count_visible, &seen);
		CHECK_EQ(seen, 3); /* c and the two new ones, all in g1 */
	}
	dir_free(&d);
}

static void test_files(void)
{
	struct store *st;
	char bad[300];
	FILE *f;

	if (test_store_pg()) { /* the files beside state.db all name its database */
		CHECK_EQ(store_open(path, true, &st), -EEXIST);
		return;
	}
	snprintf(bad, sizeof(bad), "%s/missing.db", dir);
	CHECK_EQ(store_open(bad, false, &st), -ENOENT);
	CHECK(strstr(store_error(NULL), bad) != NULL);
	snprintf(bad, sizeof(bad), "%s/garbage.db", dir);
	f = fopen(bad, "w");
	fputs("this is not a database, it is a text file that someone wrote here by mistake........"
	      "...............................................................................", f);
	fclose(f);
	CHECK_EQ(store_open(bad, false, &st), -EBADMSG);
	CHECK(strstr(store_error(NULL), bad) != NULL);
	snprintf(bad, sizeof(bad), "%s/empty.db", dir);
	fclose(fopen(bad, "w"));
	CHECK_EQ(store_open(bad, false, &st), -EBADMSG); /* an empty file is not our state */
	CHECK_EQ(store_open(path, true, &st), -EEXIST);
	/* a state file with pages overwritten in the middle */
	{
		char copy[300], cmd[1024];
		snprintf(copy, sizeof(copy), "%s/corrupt.db", dir);
		snprintf(cmd, sizeof(cmd), "cp %s %s && dd if=/dev/urandom of=%s bs=512 seek=3 count=40 conv=notrunc 2>/dev/null",
			 path, copy, copy);
		CHECK_EQ(system(cmd), 0);
		CHECK(store_open(copy, false, &st) < 0);
		printf("corrupt state: %s\n", store_error(NULL));
	}
}

/* Presence as the running server writes it; a v1 state gains it on open. */

struct ep_seen {
	size_t count;
	uint32_t id;
	char json[64];
};

static int ep_count(void *ctx, uint32_t id, const char *json)
{
	struct ep_seen *e = ctx;
	e->count++;
	e->id = id;
	snprintf(e->json, sizeof(e->json), "%s", json);
	return 0;
}
static void test_presence(void)
{
	static const uint8_t pub[32] = { 7, 7, 7 };
	struct store_node n, got;
	struct store *st;
	char p[300];
	sqlite3 *db;

	snprintf(p, sizeof(p), "%s/presence", dir);
	CHECK_EQ(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/presence/presence.db", dir);
	CHECK_EQ(test_store_prepare(p), 0);
	CHECK_EQ(store_open(p, true, &st), 0);
	CHECK_EQ(reg(st, pub, "pres", NULL, 1000, &n), 0);
	CHECK_EQ(store_node_by_name(st, "pres", &got), 0);
	CHECK(!got.online);
	CHECK_EQ(store_node_presence(st, n.id, true, 2000), 0);
	CHECK_EQ(store_node_by_name(st, "pres", &got), 0);
	CHECK(got.online);
	CHECK_EQ(got.last_seen, 2000);
	CHECK_EQ(store_node_presence(st, n.id + 100, true, 2000), -ENOENT);
	CHECK_EQ(store_nodes_offline(st), 0);
	CHECK_EQ(store_node_by_name(st, "pres", &got), 0);
	CHECK(!got.online);
	CHECK_EQ(got.last_seen, 2000);
	CHECK_EQ(store_node_presence(st, n.id, true, 3000), 0);
	/* the file public key (v4) */
	uint8_t fk[COORD_KEY_LEN];
	memset(fk, 0x5a, sizeof(fk));
	CHECK(!got.has_file_key);
	CHECK_EQ(store_node_set_file_key(st, n.id, fk), 0);
	CHECK_EQ(store_node_by_name(st, "pres", &got), 0);
	CHECK(got.has_file_key);
	CHECK_MEM(got.file_key, fk, sizeof(fk));
	/* the endpoints a node posted (v8): kept, read back at a start */
	struct ep_seen seen = { 0 };
	CHECK_EQ(store_nodes_endpoints_foreach(st, ep_count, &seen), 0);
	CHECK_EQ(seen.count, 0);
	CHECK_EQ(store_node_set_endpoints(st, n.id, "{\"endpoints\":[]}"), 0);
	CHECK_EQ(store_nodes_endpoints_foreach(st, ep_count, &seen), 0);
	CHECK(seen.count == 1 && seen.id == n.id && strcmp(seen.json, "{\"endpoints\":[]}") == 0);
	store_close(st);
	if (test_store_pg())
		return; /* the rest edits a SQLite file */

	/* Back to the version 1 schema, as an older roam-server left it. */
	CHECK_EQ(sqlite3_open(p, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, "DROP TABLE relays; ALTER TABLE nodes DROP COLUMN online;"
				  " ALTER TABLE nodes DROP COLUMN file_key; ALTER TABLE nodes DROP COLUMN endpoints; DROP TABLE file_cache;"
				  " PRAGMA user_version = 1", NULL, NULL, NULL),
		 SQLITE_OK);
	sqlite3_close(db);
	CHECK_EQ(store_open(p, false, &st), 0);
	CHECK_EQ(store_node_by_name(st, "pres", &got), 0);
	CHECK(!got.online);
	CHECK_EQ(got.last_seen, 3000);
	CHECK_EQ(store_node_presence(st, n.id, true, 4000), 0);
	uint32_t rid;
	uint8_t hash[32] = { 1 };
	CHECK_EQ(store_relay_add(st, "r1", "https://192.0.2.9:443", "eu", hash, 5, &rid), 0); /* v3 came too */
	CHECK_EQ(rid, 1);
	CHECK(!got.has_file_key); /* v4 came too, empty */
	CHECK_EQ(store_node_set_file_key(st, n.id, fk), 0);
	store_close(st);
	/* A schema from the future is refused, not migrated. */
	CHECK_EQ(sqlite3_open(p, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, "PRAGMA user_version = 9", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_EQ(store_open(p, false, &st), -EPROTO);
}

static int relays_count(void *ctx, const struct store_relay *rl)
{
	(void)rl;
	(*(int *)ctx)++;
	return 0;
}

/* Relays: lowest free id, names unique, registration and load kept. */
static void test_relays(struct store *st)
{
	struct store_relay rl;
	uint8_t hash[32], key[COORD_KEY_LEN], pin[COORD_TLS_PIN_LEN];
	uint32_t a, b, c;
	int count = 0;

	memset(hash, 7, sizeof(hash));
	memset(key, 9, sizeof(key));
	memset(pin, 3, sizeof(pin));
	CHECK_EQ(store_relay_add(st, "ra", "https://a:443", "eu", hash, 10, &a), 0);
	CHECK_EQ(store_relay_add(st, "rb", "https://b:443", NULL, hash, 10, &b), 0);
	CHECK_EQ(a, 1);
	CHECK_EQ(b, 2);
	CHECK_EQ(store_relay_add(st, "ra", "https://c:443", "", hash, 10, &c), -EEXIST);
	CHECK_EQ(store_relay_remove(st, "ra"), 0);
	CHECK_EQ(store_relay_remove(st, "ra"), -ENOENT);
	CHECK_EQ(store_relay_add(st, "rc", "https://c:443", "us", hash, 10, &c), 0);
	CHECK_EQ(c, 1); /* the lowest free index again */
	CHECK_EQ(store_relay_by_name(st, "rc", &rl), 0);
	CHECK(!rl.registered);
	CHECK_EQ(strcmp(rl.region, "us"), 0);
	CHECK_MEM(rl.secret_hash, hash, sizeof(hash));
	CHECK_EQ(store_relay_registered(st, c, key, 3478, pin), 0);
	rl.load_at = 99, rl.clients = 4, rl.pps = 1000, rl.bps = 80000, rl.dropped = 2, rl.online = true;
	CHECK_EQ(store_relay_load(st, c, &rl), 0);
	memset(&rl, 0, sizeof(rl));
	CHECK_EQ(store_relay_by_name(st, "rc", &rl), 0);
	CHECK(rl.registered && rl.online);
	CHECK_EQ(rl.udp_port, 3478);
	CHECK_EQ(rl.clients, 4);
	CHECK_EQ(rl.pps, 1000);
	CHECK_MEM(rl.public_key, key, sizeof(key));
	CHECK_MEM(rl.tls_pin, pin, sizeof(pin));
	CHECK_EQ(store_relays_foreach(st, relays_count, &count), 0);
	CHECK_EQ(count, 2);
	CHECK_EQ(store_relay_remove(st, "rb"), 0);
	CHECK_EQ(store_relay_remove(st, "rc"), 0);
}

/* Ticket serial blocks (store_meta_reserve): two processes, each on its
 * own connection, reserve at the same time; no block is handed out twice
 * (on PostgreSQL: what two servers sharing it do). */
#define RESERVE_N 100
static void test_reserve(void)
{
	struct store *st;
	uint64_t mine[RESERVE_N], theirs[RESERVE_N] = { 0 }, end;
	int fds[2];

	CHECK_EQ(store_open(path, false, &st), 0);
	CHECK_EQ(store_meta_set(st, "test_serial", "10"), 0);
	CHECK_EQ(store_meta_reserve(st, "test_serial", 1, 5, &end), 0);
	CHECK_EQ(end, 15); /* above what was there */
	CHECK_EQ(store_meta_reserve(st, "test_serial_new", 1, 5, &end), 0);
	CHECK_EQ(end, 6); /* absent: floor + block */
	store_close(st);
	if (pipe(fds) < 0)
		return;
	pid_t pid = fork();
	if (pid < 0)
		return;
	CHECK_EQ(store_open(path, false, &st), 0);
	for (size_t i = 0; i < RESERVE_N; i++)
		if (store_meta_reserve(st, "test_serial", 1, 4096, &mine[i]) < 0)
			mine[i] = 0;
	store_close(st);
	if (pid == 0) {
		ssize_t w = write(fds[1], mine, sizeof(mine));
		_exit(w == (ssize_t)sizeof(mine) ? 0 : 1);
	}
	close(fds[1]);
	size_t got = 0;
	for (ssize_t n; got < sizeof(theirs) && (n = read(fds[0], (char *)theirs + got, sizeof(theirs) - got)) > 0;)
		got += (size_t)n;
	close(fds[0]);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ(got, sizeof(theirs));
	size_t dup = 0, zero = 0;
	for (size_t i = 0; i < RESERVE_N; i++) {
		zero += mine[i] == 0 || theirs[i] == 0;
		for (size_t j = 0; j < RESERVE_N; j++)
			dup += mine[i] == theirs[j];
	}
	CHECK_EQ(zero, 0);
	CHECK_EQ(dup, 0);
}


/* Peers on demand: a big group's members are not in each other's views;
 * pairs asked for are, symmetric, capped, pruned when the groups part. */
static struct dir_node *od_node(struct directory *d, uint32_t id, const uint32_t *groups, size_t count)
{
	struct store_node rec = { .id = id, .approved = true, .groups_count = count };
	struct dir_node *n = NULL;
	bool changed;

	snprintf(rec.name, sizeof(rec.name), "n%u", id);
	crypto_random(rec.public_key, sizeof(rec.public_key));
	memcpy(rec.groups, groups, count * sizeof(*groups));
	CHECK_EQ(store_node_addresses(id, net6, rec.ipv6, rec.ipv4), 0);
	CHECK_EQ(dir_node_set(d, &rec, &n, &changed), 0);
	return n;
}

static void od_told(void *ctx, struct dir_node *n, struct dir_node *p)
{
	(void)n;
	(void)p;
	(*(int *)ctx)++;
}

/* How many n sees; the ids of the first max (marked by the walk). */
static int visible_ids(struct directory *d, struct dir_node *n, uint32_t *ids, int max)
{
	int count = 0, i = 0;

	dir_foreach_visible(d, n, count_visible, &count);
	for (uint32_t id = 1; id < d->by_id_cap && i < max; id++) {
		const struct dir_node *p = dir_node_get(d, id);
		if (p && p != n && p->mark == d->mark_gen)
			ids[i++] = id;
	}
	return count;
}

static void test_on_demand(void)
{
	static const struct store_group groups[] = { { .id = 1, .name = "big" }, { .id = 2, .name = "small" },
						     { .id = 3, .name = "other" } };
	static const uint32_t g1[] = { 1 }, g12[] = { 1, 2 }, g2[] = { 2 }, g3[] = { 3 };
	struct directory d;
	struct dir_node *n[8], *many[DIR_OD_MAX + 2];
	uint32_t ids[16], *flipped, id;
	size_t flipped_n;
	uint8_t priv[32], v6[16], v4[4];

	crypto_random(priv, 32);
	x25519_clamp(priv);
	CHECK_EQ(dir_init(&d, priv, net6), 0);
	d.group_view_max = 3;
	n[1] = od_node(&d, 1, g12, 2);
	n[2] = od_node(&d, 2, g12, 2);
	n[3] = od_node(&d, 3, g1, 1);
	n[4] = od_node(&d, 4, g1, 1);
	n[5] = od_node(&d, 5, g1, 1);
	n[6] = od_node(&d, 6, g2, 1);
	n[7] = od_node(&d, 7, g3, 1);
	CHECK_EQ(dir_groups_set(&d, groups, 3), 0);
	/* "big" has 5 members > 3: it flipped (from not big) */
	flipped = dir_groups_flipped_take(&d, &flipped_n);
	CHECK(flipped_n == 1 && flipped[0] == 1);
	free(flipped);
	CHECK(dir_group_get(&d, 1)->big && !dir_group_get(&d, 2)->big);
	/* n3 sees nobody (big only); n1 sees n2 and n6 (small), not n3..n5 */
	CHECK_EQ(visible_ids(&d, n[3], ids, 16), 0);
	CHECK_EQ(visible_ids(&d, n[1], ids, 16), 2);
	CHECK(ids[0] == 2 && ids[1] == 6);
	CHECK(dir_share_group(n[3], n[4])); /* authorization unchanged */
	/* n3 asks for n4: both hold each other */
	CHECK_EQ(dir_od_add(&d, n[3], n[4]), 1);
	CHECK_EQ(dir_od_add(&d, n[4], n[3]), 0);
	CHECK_EQ(visible_ids(&d, n[3], ids, 16), 1);
	CHECK(ids[0] == 4);
	CHECK_EQ(visible_ids(&d, n[4], ids, 16), 1);
	CHECK(ids[0] == 3);
	/* a pair with a node it shares no group with is never visible */
	CHECK_EQ(dir_od_add(&d, n[3], n[7]), 1);
	CHECK_EQ(visible_ids(&d, n[7], ids, 16), 0);
	/* by overlay address, both families; not another network's */
	CHECK_EQ(store_node_addresses(5, net6, v6, v4), 0);
	CHECK(dir_node_by_address(&d, AF_INET6, v6) == n[5]);
	CHECK(dir_node_by_address(&d, AF_INET, v4) == n[5]);
	v6[0] ^= 1;
	CHECK(dir_node_by_address(&d, AF_INET6, v6) == NULL);
	for (uint32_t i = 1; i <= 254 * 16384; i = i * 3 + 1) {
		CHECK_EQ(store_node_addresses(i, net6, v6, v4), 0);
		CHECK(store_node_id_from_address(AF_INET, v4, &id) == 0 && id == i);
		CHECK(store_node_id_from_address(AF_INET6, v6, &id) == 0 && id == i);
	}
	v4[0] = 10;
	CHECK_EQ(store_node_id_from_address(AF_INET, v4, &id), -ERANGE);
	/* n4 leaves "big": the pair is forgotten at both ends */
	{
		struct store_node rec = n[4]->rec;
		struct dir_node *same;
		bool changed;
		rec.groups[0] = 2;
		int told = 0;
		CHECK_EQ(dir_node_set(&d, &rec, &same, &changed), 0);
		CHECK(changed && same == n[4]);
		CHECK(dir_od_holds(n[3], 4)); /* until the caller prunes */
		dir_od_prune(&d, n[4], od_told, &told);
		CHECK(!dir_od_holds(n[3], 4) && !dir_od_holds(n[4], 3));
		CHECK_EQ(told, 1);
		CHECK_EQ(dir_groups_rebuild(&d), 0);
	}
	/* the cap: the oldest pair goes, at both ends */
	for (uint32_t i = 0; i < DIR_OD_MAX + 1; i++) {
		many[i] = od_node(&d, 100 + i, g1, 1);
		CHECK(dir_od_add(&d, n[5], many[i]) == 1);
	}
	CHECK_EQ(n[5]->od_count, DIR_OD_MAX);
	CHECK(!dir_od_holds(n[5], 100) && !dir_od_holds(many[0], 5));
	CHECK(dir_od_holds(n[5], 101) && dir_od_holds(many[1], 5));
	/* asked again: the newest, not evicted by the next */
	CHECK_EQ(dir_od_add(&d, n[5], many[1]), 0);
	CHECK_EQ(dir_od_add(&d, n[5], many[0]), 1);
	CHECK(dir_od_holds(n[5], 101) && !dir_od_holds(n[5], 102));
	/* a node removed: nobody holds it any more */
	dir_node_remove(&d, 5);
	CHECK(!dir_od_holds(many[1], 5) && many[1]->od_count == 0 && many[1]->od == NULL);
	/* the limit lifted: "big" is not big any more, all its members visible */
	CHECK_EQ(dir_groups_rebuild(&d), 0);
	free(dir_groups_flipped_take(&d, &flipped_n));
	d.group_view_max = 0;
	CHECK_EQ(dir_groups_rebuild(&d), 0);
	flipped = dir_groups_flipped_take(&d, &flipped_n);
	/* both: "small" grew to 4 (n4 joined it) and was big too */
	CHECK(flipped_n == 2 && !dir_group_get(&d, 1)->big && !dir_group_get(&d, 2)->big);
	free(flipped);
	CHECK_EQ(visible_ids(&d, n[3], ids, 16), 2 + DIR_OD_MAX + 1); /* n1, n2, the many */
	/* the records' digest kept through sets, a regroup and a removal */
	{
		uint64_t sum = 0;
		for (uint32_t i = 0; i < d.by_id_cap; i++)
			if (d.by_id[i])
				sum += dir_record_hash(&d.by_id[i]->rec);
		CHECK(sum == d.records_sum && sum != 0);
	}
	dir_free(&d);
}

int main(void)
{
	struct store *st;
	char cmd[300];

	if (crypto_init() < 0 || !mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/state.db", dir);
	CHECK_EQ(test_store_prepare(path), 0);
	CHECK_EQ(store_open(path, true, &st), 0);
	test_registration(st);
	test_relays(st);
	store_close(st);
	/* reopened: everything persisted */
	CHECK_EQ(store_open(path, false, &st), 0);
	test_visibility(st);
	test_pending(st);
	store_close(st);
	test_reg_limit();
	test_files();
	test_presence();
	test_reserve();
	test_on_demand();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_report("test_coord_store");
}
