/* Path reports (paths_report.h): strict, one bad entry refuses the report. */
#include "coord/paths_report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"

static const char *const kind_names[COORD_PATH_KINDS] = { "none", "direct", "relayed" };

const char *coord_path_kind_name(enum coord_path_kind k)
{
	return (unsigned)k < COORD_PATH_KINDS ? kind_names[k] : "none";
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
	}
	if (list)
		text = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return text;
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
	return 0;
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
