/* Store records as JSON (records.h). */
#include "server/admin/records.h"

#include <cjson/cJSON.h>

bool admin_relay_online(const struct store_relay *rl, int64_t now)
{
	return rl->online && now - rl->load_at < ADMIN_RELAY_ONLINE_S;
}

cJSON *admin_relay_json(const struct store_relay *rl, int64_t now)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", rl->id);
	cJSON_AddStringToObject(o, "name", rl->name);
	cJSON_AddStringToObject(o, "url", rl->url);
	cJSON_AddStringToObject(o, "region", rl->region);
	cJSON_AddBoolToObject(o, "registered", rl->registered);
	cJSON_AddBoolToObject(o, "online", admin_relay_online(rl, now));
	cJSON_AddNumberToObject(o, "clients", (double)rl->clients);
	cJSON_AddNumberToObject(o, "pps", (double)rl->pps);
	cJSON_AddNumberToObject(o, "bps", (double)rl->bps);
	cJSON_AddNumberToObject(o, "dropped", (double)rl->dropped);
	cJSON_AddNumberToObject(o, "load_at", (double)rl->load_at);
	return o;
}

const char *admin_key_state(const struct store_key *k, int64_t now)
{
	return k->revoked ? "revoked"
	       : (k->expires_at && k->expires_at <= now) ? "expired"
	       : (!k->reusable && k->uses) ? "used"
	       : "valid";
}

cJSON *admin_key_json(struct store *st, const struct store_key *k, int64_t now)
{
	char name[COORD_NAME_MAX + 1];
	cJSON *o = cJSON_CreateObject(), *groups;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", k->id);
	cJSON_AddBoolToObject(o, "reusable", k->reusable);
	cJSON_AddStringToObject(o, "state", admin_key_state(k, now));
	cJSON_AddNumberToObject(o, "uses", k->uses);
	cJSON_AddNumberToObject(o, "created", (double)k->created);
	cJSON_AddNumberToObject(o, "expires_at", (double)k->expires_at);
	groups = cJSON_AddArrayToObject(o, "groups");
	for (size_t i = 0; groups && i < k->groups_count; i++) {
		if (store_group_name(st, k->groups[i], name) == 0)
			cJSON_AddItemToArray(groups, cJSON_CreateString(name));
	}
	return o;
}
