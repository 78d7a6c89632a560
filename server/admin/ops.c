/* The admin operations on the store (ops.h): a table of handlers, each
 * checking its arguments before it touches anything. */
#include "server/admin/ops.h"

#include <blake2.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/json.h"
#include "coord/ticket.h"
#include "crypto/crypto.h"

struct op_ctx {
	struct store *st;
	const cJSON *req;
	cJSON *reply;
	int64_t now;
	unsigned changed;
};

struct admin_op {
	const char *name;
	int (*run)(struct op_ctx *c);
	unsigned changes; /* ADMIN_CHANGED_* on success */
};

__attribute__((format(printf, 3, 4))) static int op_fail(struct op_ctx *c, int r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_DeleteItemFromObject(c->reply, "error");
	cJSON_AddStringToObject(c->reply, "error", msg);
	return r < 0 ? r : -EINVAL;
}

/* A string argument of at most max bytes, or NULL. */
static const char *op_str(const struct op_ctx *c, const char *key, size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->req, key);

	if (!cJSON_IsString(v) || !v->valuestring || strlen(v->valuestring) > max)
		return NULL;
	return v->valuestring;
}

static int op_node(struct op_ctx *c, struct store_node *n)
{
	const char *name = op_str(c, "node", COORD_NAME_MAX);

	if (!name)
		return op_fail(c, -EINVAL, "wants \"node\": a node's name");
	if (store_node_by_name(c->st, name, n) < 0)
		return op_fail(c, -ENOENT, "no node named '%s'", name);
	cJSON_AddNumberToObject(c->reply, "id", n->id);
	return 0;
}

static int op_group(struct op_ctx *c, struct store_group *g)
{
	const char *name = op_str(c, "group", COORD_NAME_MAX);

	if (!name)
		return op_fail(c, -EINVAL, "wants \"group\": a group's name");
	if (store_group_by_name(c->st, name, g) < 0)
		return op_fail(c, -ENOENT, "no group '%s'", name);
	return 0;
}

static int op_store(struct op_ctx *c, int r)
{
	return r < 0 ? op_fail(c, r, "%s", store_error(c->st)) : 0;
}

static int nodes_approve(struct op_ctx *c)
{
	struct store_node n;
	int r;

	return (r = op_node(c, &n)) < 0 ? r : op_store(c, store_node_approve(c->st, n.id));
}

static int nodes_remove(struct op_ctx *c)
{
	struct store_node n;
	int r;

	return (r = op_node(c, &n)) < 0 ? r : op_store(c, store_node_remove(c->st, n.id));
}

static int nodes_expire(struct op_ctx *c)
{
	struct store_node n;
	int r;

	return (r = op_node(c, &n)) < 0 ? r : op_store(c, store_node_set_expiry(c->st, n.id, c->now));
}

/* A valid name in field key, or NULL with the reason in the reply. */
static const char *op_name(struct op_ctx *c, const char *key)
{
	const char *name = op_str(c, key, COORD_NAME_MAX);

	if (name && coord_name_valid(name))
		return name;
	op_fail(c, -EINVAL, "'%s' is not a valid name ([A-Za-z0-9._-], 1-63)", name ? name : "");
	return NULL;
}

static int nodes_rename(struct op_ctx *c)
{
	struct store_node n;
	const char *to;
	int r;

	if ((r = op_node(c, &n)) < 0)
		return r;
	if (!(to = op_name(c, "new_name")))
		return -EINVAL;
	if ((r = store_node_rename(c->st, n.id, to)) == -EEXIST)
		return op_fail(c, r, "'%s' is taken", to);
	return op_store(c, r);
}

static int groups_create(struct op_ctx *c)
{
	const char *name = op_name(c, "group");
	uint32_t id;
	int r;

	if (!name)
		return -EINVAL;
	if ((r = store_group_create(c->st, name, &id)) == -EEXIST)
		return op_fail(c, r, "'%s' exists", name);
	if (r == 0)
		cJSON_AddNumberToObject(c->reply, "id", id);
	return op_store(c, r);
}

static int groups_delete(struct op_ctx *c)
{
	struct store_group g;
	int r;

	return (r = op_group(c, &g)) < 0 ? r : op_store(c, store_group_delete(c->st, g.id));
}

static int groups_rename(struct op_ctx *c)
{
	struct store_group g;
	const char *to;
	int r;

	if ((r = op_group(c, &g)) < 0)
		return r;
	if (!(to = op_name(c, "new_name")))
		return -EINVAL;
	if ((r = store_group_rename(c->st, g.id, to)) == -EEXIST)
		return op_fail(c, r, "'%s' exists", to);
	return op_store(c, r);
}

static int groups_member(struct op_ctx *c, bool add)
{
	struct store_group g;
	struct store_node n;
	int r;

	if ((r = op_group(c, &g)) < 0 || (r = op_node(c, &n)) < 0)
		return r;
	r = add ? store_group_add_node(c->st, g.id, n.id) : store_group_remove_node(c->st, g.id, n.id);
	if (r == -E2BIG)
		return op_fail(c, r, "'%s' is in %d groups already", n.name, COORD_GROUPS_MAX);
	if (r == -ENOENT)
		return op_fail(c, r, "'%s' is not in '%s'", n.name, g.name);
	return op_store(c, r);
}

static int groups_add(struct op_ctx *c) { return groups_member(c, true); }
static int groups_remove(struct op_ctx *c) { return groups_member(c, false); }

/* A secret into the reply as base64url; only its hash is stored. */
static void op_secret(struct op_ctx *c, const uint8_t *secret, size_t len, uint8_t hash[32])
{
	char text[64];

	coord_b64_encode(text, sizeof(text), secret, len, 1);
	cJSON_AddStringToObject(c->reply, "secret", text);
	crypto_wipe(text, sizeof(text));
	blake2s(hash, secret, NULL, 32, len, 0);
}

static int keys_create(struct op_ctx *c)
{
	const cJSON *groups = cJSON_GetObjectItemCaseSensitive(c->req, "groups"), *g;
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c->req, "expires_in");
	uint32_t ids[COORD_GROUPS_MAX], id;
	uint8_t key[COORD_PREAUTH_KEY_LEN], hash[32];
	size_t count = 0;
	int64_t expires_at = 0;
	struct store_group sg;
	int r;

	if (groups && !cJSON_IsArray(groups))
		return op_fail(c, -EINVAL, "\"groups\" is a list of names");
	if (exp && (!cJSON_IsNumber(exp) || exp->valuedouble < 0 || exp->valuedouble > 100.0 * 365 * 86400))
		return op_fail(c, -EINVAL, "\"expires_in\": seconds, 0 for never");
	if (exp && exp->valuedouble > 0)
		expires_at = c->now + (int64_t)exp->valuedouble;
	cJSON_ArrayForEach(g, groups)
	{
		if (count == COORD_GROUPS_MAX)
			return op_fail(c, -E2BIG, "at most %d groups per key", COORD_GROUPS_MAX);
		if (!cJSON_IsString(g) || store_group_by_name(c->st, g->valuestring, &sg) < 0)
			return op_fail(c, -ENOENT, "no group '%s'", cJSON_IsString(g) ? g->valuestring : "");
		ids[count++] = sg.id;
	}
	crypto_random(key, sizeof(key));
	op_secret(c, key, sizeof(key), hash);
	crypto_wipe(key, sizeof(key));
	r = store_key_create(c->st, hash, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->req, "reusable")),
			     expires_at, ids, count, c->now, &id);
	if (r < 0)
		return op_fail(c, r, "cannot store the key: %s", store_error(c->st));
	cJSON_AddNumberToObject(c->reply, "id", id);
	cJSON_AddNumberToObject(c->reply, "expires_at", (double)expires_at);
	return 0;
}

static int keys_revoke(struct op_ctx *c)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(c->req, "id");

	if (!cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble > UINT32_MAX)
		return op_fail(c, -EINVAL, "wants \"id\": a key's number");
	if (store_key_revoke(c->st, (uint32_t)id->valuedouble) < 0)
		return op_fail(c, -ENOENT, "no key %u", (unsigned)id->valuedouble);
	return 0;
}

bool admin_ops_relay_text_ok(const char *text)
{
	for (const char *p = text; p && *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return false;
	return true;
}

static int relays_add(struct op_ctx *c)
{
	const char *name = op_str(c, "name", COORD_NAME_MAX), *url = op_str(c, "url", 255);
	const char *region = op_str(c, "region", 63);
	uint8_t secret[RELAY_SECRET_LEN], hash[32];
	uint32_t id;
	int r;

	if (!name || !name[0])
		return op_fail(c, -EINVAL, "wants \"name\" (at most %d characters)", COORD_NAME_MAX);
	if (!url || strncmp(url, "https://", 8) != 0 || !url[8] || !admin_ops_relay_text_ok(url) ||
	    !admin_ops_relay_text_ok(region))
		return op_fail(c, -EINVAL, "wants \"url\": https://HOST:PORT, and \"region\": printable ASCII, "
					   "no spaces, quotes or backslashes");
	crypto_random(secret, sizeof(secret));
	op_secret(c, secret, sizeof(secret), hash);
	crypto_wipe(secret, sizeof(secret));
	r = store_relay_add(c->st, name, url, region ? region : "", hash, c->now, &id);
	if (r == -EEXIST)
		return op_fail(c, r, "a relay named '%s' exists", name);
	if (r == -ENOSPC)
		return op_fail(c, r, "%d relays already", STORE_RELAYS_MAX);
	if (r < 0)
		return op_fail(c, r, "cannot store the relay: %s", store_error(c->st));
	cJSON_AddNumberToObject(c->reply, "id", id);
	return 0;
}

static int relays_remove(struct op_ctx *c)
{
	const char *name = op_str(c, "name", COORD_NAME_MAX);

	if (!name || store_relay_remove(c->st, name) < 0)
		return op_fail(c, -ENOENT, "no relay '%s'", name ? name : "");
	return 0;
}

static const struct admin_op ops[] = {
	{ "nodes.approve", nodes_approve, ADMIN_CHANGED_NODES },
	{ "nodes.rename", nodes_rename, ADMIN_CHANGED_NODES },
	{ "nodes.remove", nodes_remove, ADMIN_CHANGED_NODES },
	{ "nodes.expire", nodes_expire, ADMIN_CHANGED_NODES },
	{ "groups.create", groups_create, ADMIN_CHANGED_NODES },
	{ "groups.delete", groups_delete, ADMIN_CHANGED_NODES },
	{ "groups.rename", groups_rename, ADMIN_CHANGED_NODES },
	{ "groups.add", groups_add, ADMIN_CHANGED_NODES },
	{ "groups.remove", groups_remove, ADMIN_CHANGED_NODES },
	{ "keys.create", keys_create, ADMIN_CHANGED_NODES }, /* its groups: known before a node registers */
	{ "keys.revoke", keys_revoke, 0 },
	{ "relays.add", relays_add, ADMIN_CHANGED_RELAYS },
	{ "relays.remove", relays_remove, ADMIN_CHANGED_RELAYS },
};

const char *admin_ops_name(const cJSON *req)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(req, "op");

	return cJSON_IsString(op) && op->valuestring ? op->valuestring : "?";
}

int admin_ops_apply(struct store *st, const cJSON *req, int64_t now, cJSON **reply, unsigned *changed)
{
	struct op_ctx c = { .st = st, .req = req, .now = now };
	const char *name = admin_ops_name(req);
	int r = -EOPNOTSUPP;

	*changed = 0;
	if (!(c.reply = cJSON_CreateObject()))
		return -ENOMEM;
	*reply = c.reply;
	if (!cJSON_IsObject(req))
		return op_fail(&c, -EINVAL, "a request is a JSON object");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(ops[i].name, name) != 0)
			continue;
		if ((r = ops[i].run(&c)) == 0) {
			*changed = ops[i].changes;
			cJSON_AddBoolToObject(c.reply, "ok", true);
		}
		return r;
	}
	return op_fail(&c, r, "unknown operation '%s'", name);
}
