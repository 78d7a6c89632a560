/* The admin API's overview, connections, events and changes (admin.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/ticket.h"
#include "coord/token.h"
#include "crypto/crypto.h"
#include "server/admin/admin.h"
#include "server/admin/sock.h"
#include "server/server.h"

static int event_add(void *arg, const struct store_event *ev)
{
	cJSON *o = events_to_json(ev);

	if (!o || !cJSON_AddItemToArray(arg, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	return 0;
}

/* A filter from the query: kind, node, since (unix s), after (an id), limit. */
void admin_api_events(struct admin_req *r)
{
	char kind[STORE_EVENT_KIND_MAX + 1], node[COORD_NAME_MAX + 1], num[24];
	struct store_event_filter f = { .limit = 100, .newest_first = true };
	cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "events");

	if (admin_query(r, "kind", kind, sizeof(kind)) == 0 && kind[0])
		f.kind = kind;
	if (admin_query(r, "node", node, sizeof(node)) == 0 && node[0])
		f.node = node;
	if (admin_query(r, "since", num, sizeof(num)) == 0)
		f.since = strtoll(num, NULL, 10);
	if (admin_query(r, "after", num, sizeof(num)) == 0)
		f.after_id = strtoll(num, NULL, 10);
	if (admin_query(r, "limit", num, sizeof(num)) == 0) {
		long long v = strtoll(num, NULL, 10);
		f.limit = v < 1 ? 1 : v > 1000 ? 1000 : (size_t)v;
	}
	if (!list || store_events_foreach(r->srv->store, &f, event_add, list) < 0) {
		cJSON_Delete(o);
		admin_reply_error(r, 500, store_error(r->srv->store));
		return;
	}
	admin_reply_json(r, 200, o);
}

/* Who is reachable now, and how: a binding's endpoint or a relay link. */
void admin_api_connections(struct admin_req *r)
{
	struct directory *d = &r->srv->dir;
	cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "connections");
	char ep[SOCKADDR_ANY_STRLEN];

	for (size_t id = 0; list && id < d->by_id_cap; id++) {
		const struct dir_node *n = d->by_id[id];
		cJSON *c;
		if (!n || !n->online)
			continue;
		c = cJSON_CreateObject();
		cJSON_AddItemToArray(list, c);
		cJSON_AddStringToObject(c, "node", n->rec.name);
		cJSON_AddStringToObject(c, "via", admin_node_via(n) ? admin_node_via(n) : "?");
		if (n->public_ep.len && sockaddr_any_format(&n->public_ep, ep, sizeof(ep)) == 0)
			cJSON_AddStringToObject(c, "endpoint", ep);
		else
			cJSON_AddNullToObject(c, "endpoint");
		cJSON_AddBoolToObject(c, "nat", n->nat);
		cJSON_AddBoolToObject(c, "stream", n->stream != NULL);
		cJSON_AddNumberToObject(c, "last_seen", (double)n->last_seen);
	}
	server_paths_json(r->srv, o); /* and how the nodes reach each other */
	admin_reply_json(r, 200, o);
}

static int overview_relay(void *arg, const struct store_relay *rl)
{
	cJSON *o = arg;
	cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "relays"), *c = cJSON_GetObjectItemCaseSensitive(o, "relay_clients");

	cJSON_SetNumberValue(n, n->valuedouble + 1);
	cJSON_SetNumberValue(c, c->valuedouble + (double)rl->clients);
	return 0;
}

void admin_api_overview(struct admin_req *r)
{
	struct server *s = r->srv;
	size_t online = 0, pending = 0, udp = 0, relayed = 0;
	struct store_event_filter f = { .limit = 10, .newest_first = true };
	cJSON *o = cJSON_CreateObject(), *recent;

	for (size_t id = 0; id < s->dir.by_id_cap; id++) {
		const struct dir_node *n = s->dir.by_id[id];
		if (!n)
			continue;
		pending += !n->rec.approved;
		online += n->online;
		udp += n->online && n->public_ep.len;
		relayed += n->online && !n->public_ep.len;
	}
	cJSON_AddNumberToObject(o, "nodes", (double)s->dir.count);
	cJSON_AddNumberToObject(o, "online", (double)online);
	cJSON_AddNumberToObject(o, "offline", (double)(s->dir.count - online));
	cJSON_AddNumberToObject(o, "pending", (double)pending);
	cJSON_AddNumberToObject(o, "via_udp", (double)udp);
	cJSON_AddNumberToObject(o, "via_relay_link", (double)relayed);
	cJSON_AddNumberToObject(o, "streams", (double)s->streams_count);
	cJSON_AddNumberToObject(o, "relayed_datagrams", (double)s->stats.relayed);
	cJSON_AddNumberToObject(o, "relayed_bytes", (double)s->stats.relayed_bytes);
	cJSON_AddNumberToObject(o, "relays", 0);
	cJSON_AddNumberToObject(o, "relay_clients", 0);
	store_relays_foreach(s->store, overview_relay, o);
	cJSON_AddItemToObject(o, "load", admin_load_json(r->ah, r->now));
	recent = cJSON_AddArrayToObject(o, "recent_events");
	store_events_foreach(s->store, &f, event_add, recent);
	admin_reply_json(r, 200, o);
}

/* What a node runs to join with a new key, as `roam-server keys create`
 * prints it. */
static void add_join_command(struct server *s, cJSON *reply, const uint8_t key[COORD_PREAUTH_KEY_LEN])
{
	char host[256], port[16], token[COORD_TOKEN_STRLEN + 1], cmd[COORD_TOKEN_STRLEN + 400];
	struct coord_token t;

	if (store_meta_get(s->store, "host", host, sizeof(host)) < 0 || store_meta_get(s->store, "port", port, sizeof(port)) < 0)
		return;
	memset(&t, 0, sizeof(t));
	memcpy(t.tls_pin, s->id.tls_pin, sizeof(t.tls_pin));
	memcpy(t.server_pub, s->id.control_pub, sizeof(t.server_pub));
	memcpy(t.preauth_key, key, COORD_PREAUTH_KEY_LEN);
	if (coord_token_encode(&t, token, sizeof(token)) == 0) {
		snprintf(cmd, sizeof(cmd), "roam up --server https://%s%s%s:%s --token %s", strchr(host, ':') ? "[" : "",
			 host, strchr(host, ':') ? "]" : "", port, token);
		cJSON_AddStringToObject(reply, "join", cmd);
		crypto_wipe(cmd, sizeof(cmd));
	}
	crypto_wipe(&t, sizeof(t));
	crypto_wipe(token, sizeof(token));
}

static void add_relay_token(struct server *s, cJSON *reply, const uint8_t secret[RELAY_SECRET_LEN])
{
	char token[RELAY_TOKEN_STRLEN + 1];
	struct relay_token t;

	memcpy(t.tls_pin, s->id.tls_pin, sizeof(t.tls_pin));
	memcpy(t.server_pub, s->id.control_pub, sizeof(t.server_pub));
	memcpy(t.secret, secret, sizeof(t.secret));
	if (relay_token_encode(&t, token, sizeof(token)) == 0)
		cJSON_AddStringToObject(reply, "token", token);
	crypto_wipe(&t, sizeof(t));
	crypto_wipe(token, sizeof(token));
}

/* The operation's secret becomes what an admin can use (a join command, a
 * relay token); the bare secret leaves the reply. */
static void ops_finish(struct server *s, const char *op, cJSON *reply)
{
	cJSON *secret = cJSON_DetachItemFromObjectCaseSensitive(reply, "secret");
	uint8_t bin[32];
	size_t len = strcmp(op, "keys.create") == 0 ? COORD_PREAUTH_KEY_LEN : RELAY_SECRET_LEN;

	if (!secret)
		return;
	if (cJSON_IsString(secret) &&
	    coord_b64_decode(bin, len, secret->valuestring, strlen(secret->valuestring), 1) == 0) {
		if (strcmp(op, "keys.create") == 0)
			add_join_command(s, reply, bin);
		else
			add_relay_token(s, reply, bin);
	}
	crypto_wipe(bin, sizeof(bin));
	if (cJSON_IsString(secret))
		crypto_wipe(secret->valuestring, strlen(secret->valuestring));
	cJSON_Delete(secret);
}

void admin_api_ops(struct admin_req *r)
{
	cJSON *req = r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL, *reply = NULL;
	int ret;

	if (!cJSON_IsObject(req)) {
		admin_reply_error(r, 400, "the body is a JSON object {\"op\": ...}");
		cJSON_Delete(req);
		return;
	}
	ret = server_admin_apply(r->srv, req, r->admin, &reply);
	if (ret == 0)
		ops_finish(r->srv, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "op")), reply);
	admin_reply_json(r, ret == 0 ? 200 : ret == -ENOENT ? 404 : ret == -EEXIST ? 409 : ret == -ENOMEM ? 500 : 400,
			 reply);
	cJSON_Delete(req);
}
