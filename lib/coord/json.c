#include "coord/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/json_internal.h"
#include "coord/netcheck.h"

bool coord_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > COORD_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int json_uint(const cJSON *obj, const char *name, double max, uint64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	double v;

	if (!cJSON_IsNumber(it))
		return -EINVAL;
	v = it->valuedouble;
	/* In range first, so the cast is defined; then whole (no libm needed). */
	if (!(v >= 0 && v <= max) || (double)(uint64_t)v != v)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

/* An optional "port" member: absent means 0 (not given). */
static int json_port(const cJSON *obj, uint16_t *out)
{
	uint64_t port = 0;
	if (cJSON_GetObjectItemCaseSensitive(obj, "port") && json_uint(obj, "port", 65535, &port) < 0)
		return -EINVAL;
	*out = (uint16_t)port;
	return 0;
}

static int json_name(const cJSON *obj, const char *field, char out[COORD_NAME_MAX + 1])
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);

	if (!cJSON_IsString(it) || !coord_name_valid(it->valuestring))
		return -EINVAL;
	strcpy(out, it->valuestring); /* length checked by coord_name_valid */
	return 0;
}

static int json_bool(const cJSON *obj, const char *field, bool *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);

	if (!cJSON_IsBool(it))
		return -EINVAL;
	*out = cJSON_IsTrue(it);
	return 0;
}

/* A host address ("fd00::7") or a network ("fd00::/48"), family checked. */
static int json_prefix(const cJSON *obj, const char *field, int family, struct ip_prefix *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);
	struct ip_prefix p;

	if (!cJSON_IsString(it) || strlen(it->valuestring) >= IP_PREFIX_STRLEN ||
	    ip_prefix_parse(it->valuestring, &p) < 0 || p.family != family)
		return -EINVAL;
	*out = p;
	return 0;
}

int coord_json_key_from(const cJSON *item, uint8_t key[COORD_KEY_LEN])
{
	if (!cJSON_IsString(item))
		return -EINVAL;
	return coord_b64_decode(key, COORD_KEY_LEN, item->valuestring, strlen(item->valuestring), 0);
}

int coord_json_endpoint_from(const cJSON *item, bool nullable, struct sockaddr_any *out)
{
	struct sockaddr_any a;

	if (nullable && cJSON_IsNull(item)) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	if (!cJSON_IsString(item) || strlen(item->valuestring) >= SOCKADDR_ANY_STRLEN ||
	    sockaddr_any_parse(item->valuestring, &a) < 0)
		return -EINVAL;
	*out = a;
	return 0;
}

/* "mapping": optional (older nodes and servers send none); an unknown
 * name is "unknown", so a later kind does not make the object invalid. */
static int json_mapping(const cJSON *obj, enum coord_mapping *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "mapping");
	if (!it) {
		*out = COORD_MAPPING_UNKNOWN;
		return 0;
	}
	if (!cJSON_IsString(it))
		return -EINVAL;
	*out = coord_mapping_from_name(it->valuestring);
	return 0;
}

/* An endpoint that may be absent or null (len 0 then). */
static int json_optional_endpoint(const cJSON *obj, const char *field, struct sockaddr_any *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);
	if (!it) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	return coord_json_endpoint_from(it, true, out);
}

static int json_endpoints(const cJSON *arr, struct sockaddr_any eps[COORD_PRIVATE_MAX], size_t *count)
{
	const cJSON *it;
	size_t n = 0;

	if (!cJSON_IsArray(arr))
		return -EINVAL;
	cJSON_ArrayForEach(it, arr) {
		if (n == COORD_PRIVATE_MAX || coord_json_endpoint_from(it, false, &eps[n]) < 0)
			return -EINVAL;
		n++;
	}
	*count = n;
	return 0;
}

cJSON *coord_json_endpoint_build(const struct sockaddr_any *a)
{
	char text[SOCKADDR_ANY_STRLEN];

	if (!a->len || sockaddr_any_format(a, text, sizeof(text)) < 0)
		return cJSON_CreateNull();
	return cJSON_CreateString(text);
}

static cJSON *json_prefix_build(const struct ip_prefix *p, bool host)
{
	char text[IP_PREFIX_STRLEN];
	char *slash;

	if (ip_prefix_format(p, text, sizeof(text)) < 0)
		return cJSON_CreateNull();
	slash = strchr(text, '/');
	if (host && slash)
		*slash = '\0';
	return cJSON_CreateString(text);
}

static cJSON *json_key_build(const uint8_t key[COORD_KEY_LEN])
{
	char text[COORD_KEY_B64_LEN + 1];

	coord_b64_encode(text, sizeof(text), key, COORD_KEY_LEN, 0);
	return cJSON_CreateString(text);
}

static char *json_print(cJSON *root)
{
	char *s = root ? cJSON_PrintUnformatted(root) : NULL;

	cJSON_Delete(root);
	return s;
}

char *coord_json_print_line(cJSON *root)
{
	char *s = json_print(root), *line;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

static cJSON *json_parse_object(const char *text, size_t len)
{
	cJSON *root;

	if (len > COORD_STREAM_LINE_MAX)
		return NULL;
	root = cJSON_ParseWithLength(text, len);
	if (root && !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

char *coord_register_req_to_json(const struct coord_register_req *req)
{
	cJSON *root = cJSON_CreateObject();
	char key[32];

	if (!root)
		return NULL;
	cJSON_AddStringToObject(root, "name", req->name);
	if (req->has_preauth_key) {
		coord_b64_encode(key, sizeof(key), req->preauth_key, COORD_PREAUTH_KEY_LEN, 1);
		cJSON_AddStringToObject(root, "preauth_key", key);
	} else {
		cJSON_AddNullToObject(root, "preauth_key");
	}
	cJSON_AddNumberToObject(root, "port", req->port);
	if (req->has_file_key)
		cJSON_AddItemToObject(root, "file_key", json_key_build(req->file_key));
	return json_print(root);
}

/* An optional "file_key": absent or null is no key; anything else must be one. */
static int json_file_key(const cJSON *obj, bool *has, uint8_t key[COORD_KEY_LEN])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "file_key");
	*has = false;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (coord_json_key_from(v, key) < 0)
		return -EINVAL;
	*has = true;
	return 0;
}

int coord_register_req_parse(const char *text, size_t len, struct coord_register_req *out)
{
	struct coord_register_req req;
	cJSON *root = json_parse_object(text, len);
	const cJSON *key;
	int r = -EINVAL;

	if (!root)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	if (json_name(root, "name", req.name) < 0)
		goto out;
	key = cJSON_GetObjectItemCaseSensitive(root, "preauth_key");
	if (cJSON_IsString(key)) {
		if (coord_b64_decode(req.preauth_key, COORD_PREAUTH_KEY_LEN, key->valuestring,
				     strlen(key->valuestring), 1) < 0)
			goto out;
		req.has_preauth_key = true;
	} else if (key && !cJSON_IsNull(key)) {
		goto out;
	}
	if (json_port(root, &req.port) < 0 || json_file_key(root, &req.has_file_key, req.file_key) < 0)
		goto out;
	*out = req;
	r = 0;
out:
	cJSON_Delete(root);
	return r;
}

char *coord_endpoints_req_to_json(const struct coord_endpoints_req *req)
{
	cJSON *root = cJSON_CreateObject(), *arr;

	if (!root)
		return NULL;
	arr = cJSON_AddArrayToObject(root, "private");
	for (size_t i = 0; arr && i < req->count; i++)
		cJSON_AddItemToArray(arr, coord_json_endpoint_build(&req->endpoints[i]));
	cJSON_AddNumberToObject(root, "port", req->port);
	cJSON_AddStringToObject(root, "mapping", coord_mapping_name(req->mapping));
	if (req->mapped.len)
		cJSON_AddItemToObject(root, "mapped", coord_json_endpoint_build(&req->mapped));
	coord_json_relay_rtt_add(root, &req->relay_rtt);
	return json_print(root);
}

int coord_endpoints_req_parse(const char *text, size_t len, struct coord_endpoints_req *out)
{
	struct coord_endpoints_req req;
	cJSON *root = json_parse_object(text, len);
	int r = -EINVAL;

	if (!root)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	if (json_endpoints(cJSON_GetObjectItemCaseSensitive(root, "private"), req.endpoints, &req.count) < 0)
		goto out;
	if (json_port(root, &req.port) < 0 || json_mapping(root, &req.mapping) < 0 ||
	    json_optional_endpoint(root, "mapped", &req.mapped) < 0 || coord_json_relay_rtt_from(root, &req.relay_rtt) < 0)
		goto out;
	*out = req;
	r = 0;
out:
	cJSON_Delete(root);
	return r;
}

cJSON *coord_json_node_build(const struct coord_node *node)
{
	cJSON *root = cJSON_CreateObject(), *groups;

	if (!root)
		return NULL;
	cJSON_AddNumberToObject(root, "node_id", node->node_id);
	cJSON_AddStringToObject(root, "name", node->name);
	cJSON_AddItemToObject(root, "public_key", json_key_build(node->public_key));
	cJSON_AddItemToObject(root, "ipv6", json_prefix_build(&node->ipv6, true));
	cJSON_AddItemToObject(root, "ipv4", json_prefix_build(&node->ipv4, true));
	cJSON_AddItemToObject(root, "network6", json_prefix_build(&node->network6, false));
	cJSON_AddItemToObject(root, "network4", json_prefix_build(&node->network4, false));
	groups = cJSON_AddArrayToObject(root, "groups");
	for (size_t i = 0; groups && i < node->groups_count; i++)
		cJSON_AddItemToArray(groups, cJSON_CreateString(node->groups[i]));
	cJSON_AddBoolToObject(root, "approved", node->approved);
	return root;
}

char *coord_node_to_json(const struct coord_node *node) { return json_print(coord_json_node_build(node)); }

int coord_json_node_from(const cJSON *obj, struct coord_node *out)
{
	struct coord_node *n;
	const cJSON *groups, *it;
	uint64_t id;
	int r = -EINVAL;

	n = calloc(1, sizeof(*n)); /* 2 KiB of group names: keep it off small stacks */
	if (!n)
		return -ENOMEM;
	if (!cJSON_IsObject(obj) || json_uint(obj, "node_id", UINT32_MAX, &id) < 0 || json_name(obj, "name", n->name) < 0 ||
	    coord_json_key_from(cJSON_GetObjectItemCaseSensitive(obj, "public_key"), n->public_key) < 0 ||
	    json_prefix(obj, "ipv6", AF_INET6, &n->ipv6) < 0 || json_prefix(obj, "ipv4", AF_INET, &n->ipv4) < 0 ||
	    json_prefix(obj, "network6", AF_INET6, &n->network6) < 0 ||
	    json_prefix(obj, "network4", AF_INET, &n->network4) < 0 || json_bool(obj, "approved", &n->approved) < 0)
		goto out;
	n->node_id = (uint32_t)id;
	groups = cJSON_GetObjectItemCaseSensitive(obj, "groups");
	if (!cJSON_IsArray(groups))
		goto out;
	cJSON_ArrayForEach(it, groups) {
		if (n->groups_count == COORD_GROUPS_MAX || !cJSON_IsString(it) || !coord_name_valid(it->valuestring))
			goto out;
		strcpy(n->groups[n->groups_count++], it->valuestring);
	}
	*out = *n;
	r = 0;
out:
	free(n);
	return r;
}

int coord_node_parse(const char *text, size_t len, struct coord_node *out)
{
	cJSON *root = json_parse_object(text, len);
	int r;

	if (!root)
		return -EINVAL;
	r = coord_json_node_from(root, out);
	cJSON_Delete(root);
	return r;
}

char *coord_peer_to_json(const struct coord_peer *peer)
{
	cJSON *root = cJSON_CreateObject(), *arr;

	if (!root)
		return NULL;
	cJSON_AddNumberToObject(root, "node_id", peer->node_id);
	cJSON_AddStringToObject(root, "name", peer->name);
	cJSON_AddItemToObject(root, "public_key", json_key_build(peer->public_key));
	cJSON_AddItemToObject(root, "ipv6", json_prefix_build(&peer->ipv6, true));
	cJSON_AddItemToObject(root, "ipv4", json_prefix_build(&peer->ipv4, true));
	cJSON_AddItemToObject(root, "public_endpoint", coord_json_endpoint_build(&peer->public_endpoint));
	arr = cJSON_AddArrayToObject(root, "private_endpoints");
	for (size_t i = 0; arr && i < peer->private_count; i++)
		cJSON_AddItemToArray(arr, coord_json_endpoint_build(&peer->private_endpoints[i]));
	cJSON_AddBoolToObject(root, "nat", peer->nat);
	cJSON_AddBoolToObject(root, "online", peer->online);
	cJSON_AddNumberToObject(root, "last_seen", (double)peer->last_seen);
	cJSON_AddStringToObject(root, "mapping", coord_mapping_name(peer->mapping));
	if (peer->mapped_endpoint.len)
		cJSON_AddItemToObject(root, "mapped_endpoint", coord_json_endpoint_build(&peer->mapped_endpoint));
	coord_json_relay_rtt_add(root, &peer->relay_rtt);
	if (peer->has_file_key)
		cJSON_AddItemToObject(root, "file_key", json_key_build(peer->file_key));
	return json_print(root);
}

int coord_json_peer_from(const cJSON *obj, struct coord_peer *out)
{
	struct coord_peer p;
	uint64_t id, seen;

	memset(&p, 0, sizeof(p));
	if (!cJSON_IsObject(obj) || json_uint(obj, "node_id", UINT32_MAX, &id) < 0 || json_name(obj, "name", p.name) < 0 ||
	    coord_json_key_from(cJSON_GetObjectItemCaseSensitive(obj, "public_key"), p.public_key) < 0 ||
	    json_prefix(obj, "ipv6", AF_INET6, &p.ipv6) < 0 || json_prefix(obj, "ipv4", AF_INET, &p.ipv4) < 0 ||
	    coord_json_endpoint_from(cJSON_GetObjectItemCaseSensitive(obj, "public_endpoint"), true,
				     &p.public_endpoint) < 0 ||
	    json_endpoints(cJSON_GetObjectItemCaseSensitive(obj, "private_endpoints"), p.private_endpoints,
			   &p.private_count) < 0 ||
	    json_bool(obj, "nat", &p.nat) < 0 || json_bool(obj, "online", &p.online) < 0 ||
	    json_uint(obj, "last_seen", 1e15, &seen) < 0 || json_mapping(obj, &p.mapping) < 0 ||
	    json_optional_endpoint(obj, "mapped_endpoint", &p.mapped_endpoint) < 0 ||
	    coord_json_relay_rtt_from(obj, &p.relay_rtt) < 0 || json_file_key(obj, &p.has_file_key, p.file_key) < 0)
		return -EINVAL;
	p.node_id = (uint32_t)id;
	p.last_seen = (int64_t)seen;
	*out = p;
	return 0;
}

int coord_peer_parse(const char *text, size_t len, struct coord_peer *out)
{
	cJSON *root = json_parse_object(text, len);
	int r;

	if (!root)
		return -EINVAL;
	r = coord_json_peer_from(root, out);
	cJSON_Delete(root);
	return r;
}
