/* The admin API's handlers (docs/admin-api.md): lists from the running
 * server's directory (live presence) or the store, and changes through
 * server_admin_apply, the one code path the CLI's socket uses too. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coord/auth.h"
#include "coord/ticket.h"
#include "coord/token.h"
#include "crypto/crypto.h"
#include "server/admin/admin.h"
#include "server/admin/records.h"
#include "server/admin/sock.h"
#include "server/server.h"

/* --- sessions --- */

static void set_cookie(struct admin_req *r, const char *value, int max_age)
{
	char header[256];

	snprintf(header, sizeof(header), ADMIN_COOKIE_NAME "=%s; Path=/; Max-Age=%d; HttpOnly; Secure; SameSite=Strict",
		 value, max_age);
	evhttp_add_header(evhttp_request_get_output_headers(r->rq), "Set-Cookie", header);
}

static cJSON *session_json(const struct admin_req *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "admin", r->admin);
	if (r->session)
		cJSON_AddStringToObject(o, "csrf", r->session->csrf);
	else
		cJSON_AddNullToObject(o, "csrf");
	return o;
}

void admin_api_login(struct admin_req *r)
{
	cJSON *body = r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "name"));
	const char *password = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "password"));
	char cookie[ADMIN_SECRET_B64_LEN + 1];
	int ret;

	if (!name || !password) {
		admin_reply_error(r, 400, "wants {\"name\": ..., \"password\": ...}");
		goto out;
	}
	ret = admin_login(&r->ah->auth, r->srv->store, r->source, name, password, r->now, &r->session, cookie);
	if (ret == -EAGAIN) {
		server_event_named(r->srv, EV_REFUSED, NULL, NULL, "console login for '%.63s' from %s: too many failures",
				   name, r->source);
		evhttp_add_header(evhttp_request_get_output_headers(r->rq), "Retry-After", "60");
		admin_reply_error(r, 429, "too many failed logins from your address: wait a few minutes");
	} else if (ret < 0) {
		server_event_named(r->srv, EV_AUTH_FAILED, NULL, NULL, "console login for '%.63s' from %s: wrong name or password",
				   name, r->source);
		admin_reply_error(r, 401, "wrong name or password");
	} else {
		memcpy(r->admin, r->session->admin, sizeof(r->admin));
		server_event_named(r->srv, EV_LOGIN, NULL, r->admin, "console login from %s", r->source);
		set_cookie(r, cookie, ADMIN_SESSION_MAX_S);
		admin_reply_json(r, 200, session_json(r));
	}
	crypto_wipe(cookie, sizeof(cookie));
out:
	if (password)
		crypto_wipe(cJSON_GetObjectItemCaseSensitive(body, "password")->valuestring, strlen(password));
	cJSON_Delete(body);
}

void admin_api_logout(struct admin_req *r)
{
	if (r->session) {
		server_event_named(r->srv, EV_LOGOUT, NULL, r->admin, "console logout from %s", r->source);
		admin_session_end(r->session);
		r->session = NULL;
	}
	set_cookie(r, "", 0);
	admin_reply_json(r, 200, cJSON_CreateObject());
}

void admin_api_session(struct admin_req *r) { admin_reply_json(r, 200, session_json(r)); }

/* --- nodes --- */

static const char *node_state(const struct dir_node *n, int64_t now)
{
	return !n->rec.approved ? "pending" : (n->rec.expires_at && n->rec.expires_at <= now) ? "expired" : "approved";
}

/* How the node reaches the server now: "udp" (a binding), a relay link's
 * kind, or NULL (offline). */
const char *admin_node_via(const struct dir_node *n)
{
	if (!n->online)
		return NULL;
	if (n->public_ep.len)
		return "udp";
	for (int k = 0; k < DIR_LINK_KINDS; k++)
		if (n->links[k])
			return links_kind_name((enum dir_link_kind)k);
	return NULL;
}

static cJSON *node_json(struct server *s, const struct dir_node *n, int64_t now)
{
	char v6[INET6_ADDRSTRLEN], v4[INET_ADDRSTRLEN], ep[SOCKADDR_ANY_STRLEN], key[COORD_KEY_B64_LEN + 1];
	cJSON *o = cJSON_CreateObject(), *groups;
	const char *via = admin_node_via(n);

	inet_ntop(AF_INET6, n->rec.ipv6, v6, sizeof(v6));
	inet_ntop(AF_INET, n->rec.ipv4, v4, sizeof(v4));
	coord_b64_encode(key, sizeof(key), n->rec.public_key, COORD_KEY_LEN, 0);
	cJSON_AddNumberToObject(o, "id", n->rec.id);
	cJSON_AddStringToObject(o, "name", n->rec.name);
	cJSON_AddStringToObject(o, "state", node_state(n, now));
	cJSON_AddBoolToObject(o, "online", n->online);
	cJSON_AddNumberToObject(o, "last_seen", (double)(n->online ? now : n->last_seen ? n->last_seen : n->rec.last_seen));
	cJSON_AddStringToObject(o, "ipv4", v4);
	cJSON_AddStringToObject(o, "ipv6", v6);
	cJSON_AddStringToObject(o, "public_key", key);
	if (n->public_ep.len && sockaddr_any_format(&n->public_ep, ep, sizeof(ep)) == 0)
		cJSON_AddStringToObject(o, "endpoint", ep);
	else
		cJSON_AddNullToObject(o, "endpoint");
	cJSON_AddBoolToObject(o, "nat", n->nat);
	if (via)
		cJSON_AddStringToObject(o, "via", via);
	else
		cJSON_AddNullToObject(o, "via");
	cJSON_AddNumberToObject(o, "created", (double)n->rec.created);
	cJSON_AddNumberToObject(o, "expires_at", (double)n->rec.expires_at);
	groups = cJSON_AddArrayToObject(o, "groups");
	for (size_t i = 0; i < n->rec.groups_count; i++) {
		const char *g = dir_group_name(&s->dir, n->rec.groups[i]);
		if (g)
			cJSON_AddItemToArray(groups, cJSON_CreateString(g));
	}
	return o;
}

static bool node_matches(const struct dir_node *n, const struct admin_nodes_query *q, int64_t now)
{
	char text[INET6_ADDRSTRLEN];

	if (q->state && q->state[0]) {
		if (strcmp(q->state, "online") == 0 ? !n->online
		    : strcmp(q->state, "offline") == 0 ? n->online
		    : strcmp(node_state(n, now), q->state) != 0)
			return false;
	}
	if (!q->search || !q->search[0] || strcasestr(n->rec.name, q->search))
		return true;
	/* addresses only when the search could be one */
	if (!strpbrk(q->search, ".:"))
		return false;
	inet_ntop(AF_INET, n->rec.ipv4, text, sizeof(text));
	if (strstr(text, q->search))
		return true;
	inet_ntop(AF_INET6, n->rec.ipv6, text, sizeof(text));
	return strstr(text, q->search) != NULL;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((*(struct dir_node *const *)a)->rec.name, (*(struct dir_node *const *)b)->rec.name);
}

static int cmp_seen(const void *a, const void *b)
{
	const struct dir_node *x = *(struct dir_node *const *)a, *y = *(struct dir_node *const *)b;

	/* online first, then the most recently seen */
	if (x->online != y->online)
		return x->online ? -1 : 1;
	return x->last_seen > y->last_seen ? -1 : x->last_seen < y->last_seen ? 1 : cmp_name(a, b);
}

cJSON *admin_nodes_page(struct server *s, const struct admin_nodes_query *q, int64_t now)
{
	struct dir_node **hits = malloc((s->dir.count + 1) * sizeof(*hits));
	size_t count = 0, first;
	cJSON *o, *list;

	if (!hits)
		return NULL;
	for (size_t id = 0; id < s->dir.by_id_cap && count < s->dir.count; id++) {
		struct dir_node *n = s->dir.by_id[id];
		if (n && node_matches(n, q, now))
			hits[count++] = n;
	}
	/* by_id is already in id order */
	if (q->sort && strcmp(q->sort, "last_seen") == 0)
		qsort(hits, count, sizeof(*hits), cmp_seen);
	else if (!q->sort || strcmp(q->sort, "id") != 0)
		qsort(hits, count, sizeof(*hits), cmp_name);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "total", (double)count);
	cJSON_AddNumberToObject(o, "page", (double)q->page);
	cJSON_AddNumberToObject(o, "per_page", (double)q->per_page);
	list = cJSON_AddArrayToObject(o, "nodes");
	first = (q->page - 1) * q->per_page;
	for (size_t i = first; list && i < count && i < first + q->per_page; i++)
		cJSON_AddItemToArray(list, node_json(s, hits[i], now));
	free(hits);
	return o;
}

/* A positive number query parameter within 1..max, or def. */
static size_t query_size(const struct admin_req *r, const char *key, size_t def, size_t max)
{
	char text[24], *end;
	unsigned long v;

	if (admin_query(r, key, text, sizeof(text)) < 0)
		return def;
	v = strtoul(text, &end, 10);
	return *end || v < 1 ? def : v > max ? max : v;
}

void admin_api_nodes(struct admin_req *r)
{
	char search[COORD_NAME_MAX + 1] = "", state[16] = "", sort[16] = "";
	struct admin_nodes_query q = { .search = search, .state = state, .sort = sort };

	admin_query(r, "q", search, sizeof(search));
	admin_query(r, "state", state, sizeof(state));
	admin_query(r, "sort", sort, sizeof(sort));
	q.per_page = query_size(r, "per_page", 50, ADMIN_PER_PAGE_MAX);
	q.page = query_size(r, "page", 1, 1000000);
	admin_reply_json(r, 200, admin_nodes_page(r->srv, &q, r->now));
}

/* --- groups, keys, relays --- */

void admin_api_groups(struct admin_req *r)
{
	struct directory *d = &r->srv->dir;
	cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "groups");

	for (size_t i = 0; list && i < d->groups_count; i++) {
		cJSON *g = cJSON_CreateObject(), *members;
		cJSON_AddItemToArray(list, g);
		cJSON_AddNumberToObject(g, "id", d->groups[i].id);
		cJSON_AddStringToObject(g, "name", d->groups[i].name);
		members = cJSON_AddArrayToObject(g, "members");
		for (size_t m = 0; m < d->groups[i].count; m++) {
			const struct dir_node *n = dir_node_get(d, d->groups[i].members[m]);
			if (n)
				cJSON_AddItemToArray(members, cJSON_CreateString(n->rec.name));
		}
	}
	admin_reply_json(r, 200, o);
}

struct list_ctx {
	struct server *srv;
	cJSON *list;
	int64_t now;
};

static int list_add(cJSON *list, cJSON *o)
{
	if (!o || !cJSON_AddItemToArray(list, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	return 0;
}

static int key_one(void *arg, const struct store_key *k)
{
	struct list_ctx *c = arg;

	return list_add(c->list, admin_key_json(c->srv->store, k, c->now));
}

static int relay_one(void *arg, const struct store_relay *rl)
{
	struct list_ctx *c = arg;

	return list_add(c->list, admin_relay_json(rl, c->now));
}

static void list_reply(struct admin_req *r, const char *name, int (*each)(struct store *, struct list_ctx *))
{
	struct list_ctx c = { .srv = r->srv, .now = r->now };
	cJSON *o = cJSON_CreateObject();

	c.list = cJSON_AddArrayToObject(o, name);
	if (!c.list || each(r->srv->store, &c) < 0) {
		cJSON_Delete(o);
		admin_reply_error(r, 500, store_error(r->srv->store));
		return;
	}
	admin_reply_json(r, 200, o);
}

static int keys_each(struct store *st, struct list_ctx *c) { return store_keys_foreach(st, key_one, c); }
static int relays_each(struct store *st, struct list_ctx *c) { return store_relays_foreach(st, relay_one, c); }

void admin_api_keys(struct admin_req *r) { list_reply(r, "keys", keys_each); }
void admin_api_relays(struct admin_req *r) { list_reply(r, "relays", relays_each); }
