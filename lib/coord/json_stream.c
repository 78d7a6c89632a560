/* The stream's lines (docs/control-protocol.md, "The stream"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/json.h"
#include "coord/json_internal.h"

char *coord_line_self(const struct coord_node *node, const struct sockaddr_any *public_endpoint, bool nat)
{
	cJSON *root = cJSON_CreateObject();

	if (!root)
		return NULL;
	cJSON_AddStringToObject(root, "type", "self");
	cJSON_AddItemToObject(root, "node", coord_json_node_build(node));
	cJSON_AddItemToObject(root, "public_endpoint", coord_json_endpoint_build(public_endpoint));
	cJSON_AddBoolToObject(root, "nat", nat);
	return coord_json_print_line(root);
}

/* Peer objects are spliced in as text: they were rendered once per change. */
static char *line_splice(const char *head, const char *const *parts, size_t n, const char *tail)
{
	size_t len = strlen(head) + strlen(tail) + 2, off;
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(parts[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	off = strlen(head);
	memcpy(s, head, off);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(parts[i]);
		if (i)
			s[off++] = ',';
		memcpy(s + off, parts[i], l);
		off += l;
	}
	strcpy(s + off, tail);
	return s;
}

char *coord_line_peer(const char *peer_json)
{
	return line_splice("{\"type\":\"peer\",\"peer\":", &peer_json, 1, "}\n");
}

bool coord_view_version_valid(const char *text)
{
	size_t len = text ? strlen(text) : 0;

	if (!len || len > COORD_VIEW_VERSION_MAX || strspn(text, "0123456789abcdef.") != len)
		return false;
	return true;
}

char *coord_line_peer_at(const char *peer_json, const char *version)
{
	char tail[sizeof(",\"view\":\"\"}\n") + COORD_VIEW_VERSION_MAX];

	if (!coord_view_version_valid(version))
		return NULL;
	snprintf(tail, sizeof(tail), ",\"view\":\"%s\"}\n", version);
	return line_splice("{\"type\":\"peer\",\"peer\":", &peer_json, 1, tail);
}

char *coord_line_view(const char *version)
{
	size_t len = sizeof("{\"type\":\"view\",\"version\":\"\"}\n") + COORD_VIEW_VERSION_MAX;
	char *s;

	if (!coord_view_version_valid(version) || !(s = malloc(len)))
		return NULL;
	snprintf(s, len, "{\"type\":\"view\",\"version\":\"%s\"}\n", version);
	return s;
}

char *coord_line_goodbye(uint32_t retry_after_ms)
{
	size_t len = sizeof("{\"type\":\"goodbye\",\"retry_after_ms\":4294967295}\n");
	char *s = malloc(len);

	if (s)
		snprintf(s, len, "{\"type\":\"goodbye\",\"retry_after_ms\":%u}\n",
			 retry_after_ms > COORD_GOODBYE_MAX_MS ? COORD_GOODBYE_MAX_MS : retry_after_ms);
	return s;
}

static int stream_goodbye(const cJSON *root, const struct coord_stream_handler *h, void *ctx)
{
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(root, "retry_after_ms");

	if (!cJSON_IsNumber(ms) || ms->valuedouble < 0 || ms->valuedouble > COORD_GOODBYE_MAX_MS)
		return -EINVAL;
	return h->goodbye ? h->goodbye(ctx, (uint32_t)ms->valuedouble) : 0;
}

/* A version where the line has one; absent is fine (older servers). */
static int stream_view(const cJSON *item, const struct coord_stream_handler *h, void *ctx)
{
	if (!item)
		return 0;
	if (!cJSON_IsString(item) || !coord_view_version_valid(item->valuestring))
		return -EINVAL;
	return h->view ? h->view(ctx, item->valuestring) : 0;
}

char *coord_line_peers(const char *const *peer_jsons, size_t n)
{
	return line_splice("{\"type\":\"peers\",\"peers\":[", peer_jsons, n, "]}\n");
}

char *coord_line_peer_removed(const uint8_t public_key[COORD_KEY_LEN])
{
	char key[COORD_KEY_B64_LEN + 1], *s;
	size_t len = sizeof("{\"type\":\"peer_removed\",\"public_key\":\"\"}\n") + COORD_KEY_B64_LEN;

	coord_b64_encode(key, sizeof(key), public_key, COORD_KEY_LEN, 0);
	s = malloc(len);
	if (s)
		snprintf(s, len, "{\"type\":\"peer_removed\",\"public_key\":\"%s\"}\n", key);
	return s;
}

static int stream_peers(const cJSON *root, const struct coord_stream_handler *h, void *ctx)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "peers"), *it;
	struct coord_peer peer;
	int r, n;

	if (!cJSON_IsArray(arr))
		return -EINVAL;
	n = cJSON_GetArraySize(arr);
	if (n < 0 || n > COORD_PEERS_MAX)
		return -EINVAL;
	/* Validate everything before the first callback: all or nothing. */
	cJSON_ArrayForEach(it, arr) {
		if (coord_json_peer_from(it, &peer) < 0)
			return -EINVAL;
	}
	if (h->peers_begin && (r = h->peers_begin(ctx, (size_t)n)) < 0)
		return r;
	cJSON_ArrayForEach(it, arr) {
		coord_json_peer_from(it, &peer);
		if (h->peer && (r = h->peer(ctx, &peer, true)) < 0)
			return r;
	}
	return h->peers_end ? h->peers_end(ctx) : 0;
}

static int stream_self(const cJSON *root, const struct coord_stream_handler *h, void *ctx)
{
	struct coord_node *node;
	struct sockaddr_any ep;
	const cJSON *nat = cJSON_GetObjectItemCaseSensitive(root, "nat");
	int r;

	if (!cJSON_IsBool(nat) ||
	    coord_json_endpoint_from(cJSON_GetObjectItemCaseSensitive(root, "public_endpoint"), true, &ep) < 0)
		return -EINVAL;
	node = malloc(sizeof(*node));
	if (!node)
		return -ENOMEM;
	r = coord_json_node_from(cJSON_GetObjectItemCaseSensitive(root, "node"), node);
	if (r == 0 && h->self)
		r = h->self(ctx, node, &ep, cJSON_IsTrue(nat));
	free(node);
	return r;
}

int coord_stream_line_parse(const char *line, size_t len, const struct coord_stream_handler *h, void *ctx)
{
	cJSON *root;
	const cJSON *type;
	struct coord_peer peer;
	uint8_t key[COORD_KEY_LEN];
	int r = -EINVAL;

	if (len > COORD_STREAM_LINE_MAX)
		return -EINVAL;
	root = cJSON_ParseWithLength(line, len);
	if (!root)
		return -EINVAL;
	type = cJSON_GetObjectItemCaseSensitive(root, "type");
	if (!cJSON_IsObject(root) || !cJSON_IsString(type))
		goto out;
	if (strcmp(type->valuestring, "self") == 0) {
		r = stream_self(root, h, ctx);
	} else if (strcmp(type->valuestring, "peers") == 0) {
		r = stream_peers(root, h, ctx);
	} else if (strcmp(type->valuestring, "peer") == 0) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "view");
		r = coord_json_peer_from(cJSON_GetObjectItemCaseSensitive(root, "peer"), &peer);
		if (r == 0 && v && (!cJSON_IsString(v) || !coord_view_version_valid(v->valuestring)))
			r = -EINVAL; /* checked first: all or nothing */
		if (r == 0 && h->peer)
			r = h->peer(ctx, &peer, false);
		if (r == 0)
			r = stream_view(v, h, ctx);
	} else if (strcmp(type->valuestring, "peer_removed") == 0) {
		r = coord_json_key_from(cJSON_GetObjectItemCaseSensitive(root, "public_key"), key);
		if (r == 0 && h->peer_removed)
			r = h->peer_removed(ctx, key);
	} else if (strcmp(type->valuestring, "relays") == 0) {
		r = coord_stream_relays(root, h, ctx);
	} else if (strcmp(type->valuestring, "ticket") == 0) {
		r = coord_stream_ticket(root, h, ctx);
	} else if (strcmp(type->valuestring, "ping") == 0) {
		r = h->ping ? h->ping(ctx) : 0;
	} else if (strcmp(type->valuestring, "servers") == 0) {
		r = coord_stream_servers(root, h, ctx);
	} else if (strcmp(type->valuestring, "view") == 0) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");
		r = v ? stream_view(v, h, ctx) : -EINVAL;
	} else if (strcmp(type->valuestring, "goodbye") == 0) {
		r = stream_goodbye(root, h, ctx);
	} else if (strcmp(type->valuestring, "files") == 0) {
		r = h->files ? h->files(ctx) : 0;
	} else {
		r = 0;
	}
out:
	cJSON_Delete(root);
	return r;
}
