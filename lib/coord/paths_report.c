/* Path reports (paths_report.h): strict, one bad entry refuses the report. */
#include "coord/paths_report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"

static const char *const kind_names[COORD_PATH_KINDS] = { "none", "direct", "relayed" };

static const char *const transport_names[COORD_TRANSPORTS] = {
	"unknown", "direct", "udp-relay", "tls-relay", "websocket-relay", "long-poll-relay",
};

const char *coord_path_kind_name(enum coord_path_kind k)
{
	return (unsigned)k < COORD_PATH_KINDS ? kind_names[k] : "none";
}

const char *coord_path_transport_name(enum coord_path_transport t)
{
	return (unsigned)t < COORD_TRANSPORTS ? transport_names[t] : "unknown";
}

enum coord_path_transport coord_path_transport_parse(const char *name)
{
	for (unsigned t = 1; name && t < COORD_TRANSPORTS; t++)
		if (strcmp(name, transport_names[t]) == 0)
			return (enum coord_path_transport)t;
	return COORD_TRANSPORT_UNKNOWN;
}

char *coord_paths_report_to_json(const struct coord_paths_report *r)
{
	cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "paths");
	char key[COORD_KEY_B64_LEN + 1], *text = NULL;

	for (size_t i = 0; list && i < r->count && i < COORD_PATHS_REPORT_MAX; i++) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(list, o))
			goto out;
		coord_b64_encode(key, sizeof(key), r->e[i].peer, COORD_KEY_LEN, 0);
		cJSON_AddStringToObject(o, "peer", key);
		cJSON_AddStringToObject(o, "path", coord_path_kind_name((enum coord_path_kind)r->e[i].path));
		cJSON_AddNumberToObject(o, "rtt_ms", r->e[i].rtt_ms);
		if (r->e[i].transport == COORD_TRANSPORT_UNKNOWN || r->e[i].transport >= COORD_TRANSPORTS)
			continue;
		cJSON_AddStringToObject(o, "transport", coord_path_transport_name((enum coord_path_transport)r->e[i].transport));
		cJSON_AddNumberToObject(o, "relay", r->e[i].relay);
		cJSON_AddNumberToObject(o, "active_s", r->e[i].active_s);
	}
	if (list)
		text = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return text;
}

/* An optional whole number in [0, max]: 0 (absent: 0), or -EINVAL. */
static int optional_uint(const cJSON *o, const char *name, double max, uint32_t *out)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = 0;
	if (!n)
		return 0;
	if (!cJSON_IsNumber(n) || !(n->valuedouble >= 0 && n->valuedouble <= max))
		return -EINVAL;
	*out = (uint32_t)n->valuedouble;
	return 0;
}

/* The active path's transport, relay and age: all or none, since a
 * relay or an age means nothing without the transport. */
static int transport_parse(const cJSON *o, struct coord_path_entry *e)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "transport");
	uint32_t relay, age;

	if (!t)
		return 0;
	if (!cJSON_IsString(t) || (e->transport = (uint8_t)coord_path_transport_parse(t->valuestring)) == 0 ||
	    optional_uint(o, "relay", UINT8_MAX, &relay) < 0 || optional_uint(o, "active_s", COORD_PATH_ACTIVE_S_MAX, &age) < 0)
		return -EINVAL;
	e->relay = (uint8_t)relay;
	e->active_s = age;
	return 0;
}

static int entry_parse(const cJSON *o, struct coord_path_entry *e)
{
	const char *peer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "peer"));
	const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "path"));
	const cJSON *rtt = cJSON_GetObjectItemCaseSensitive(o, "rtt_ms");

	if (!peer || !path || coord_b64_decode(e->peer, COORD_KEY_LEN, peer, strlen(peer), 0) < 0)
		return -EINVAL;
	e->path = COORD_PATH_KINDS;
	for (unsigned k = 0; k < COORD_PATH_KINDS; k++)
		if (strcmp(path, kind_names[k]) == 0)
			e->path = (uint8_t)k;
	if (e->path == COORD_PATH_KINDS)
		return -EINVAL;
	if (rtt && (!cJSON_IsNumber(rtt) || rtt->valuedouble < 0 || rtt->valuedouble > 600000))
		return -EINVAL;
	e->rtt_ms = rtt ? (uint32_t)rtt->valuedouble : 0;
	return transport_parse(o, e);
}

int coord_paths_report_parse(const char *text, size_t len, struct coord_paths_report *out)
{
	cJSON *root = len <= COORD_PATHS_REPORT_BODY_MAX ? cJSON_ParseWithLength(text, len) : NULL;
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "paths"), *o;
	struct coord_paths_report *r = calloc(1, sizeof(*r));
	int ret = -EINVAL;

	if (!r || !cJSON_IsArray(list) || cJSON_GetArraySize(list) > COORD_PATHS_REPORT_MAX)
		goto out;
	cJSON_ArrayForEach(o, list)
	{
		if (!cJSON_IsObject(o) || entry_parse(o, &r->e[r->count]) < 0)
			goto out;
		r->count++;
	}
	*out = *r;
	ret = 0;
out:
	free(r);
	cJSON_Delete(root);
	return ret;
}
