#include "daemon/node_settings.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/node_state.h"

#define NS_PER_MS 1000000ull
#define TUNING_MS_MAX 60000

/* The thresholds by their JSON names: ms values are uint64 ns, the others
 * uint32 permille. */
static const struct {
	const char *key;
	size_t off;
	bool ms;
} tuning_keys[] = {
	{ "suspect_min_ms", offsetof(struct path_tuning, suspect_min_ns), true },
	{ "rtt_enter_ms", offsetof(struct path_tuning, rtt_enter_ns), true },
	{ "rtt_leave_ms", offsetof(struct path_tuning, rtt_leave_ns), true },
	{ "loss_enter", offsetof(struct path_tuning, loss_enter_permille), false },
	{ "loss_leave", offsetof(struct path_tuning, loss_leave_permille), false },
	/* Tamper detection (lib/path/path_tamper.c): a count, not permille. */
	{ "tamper_threshold", offsetof(struct path_tuning, tamper_threshold), false },
	{ "tamper_window_ms", offsetof(struct path_tuning, tamper_window_ns), true },
	{ "quarantine_ms", offsetof(struct path_tuning, quarantine_ns), true },
};
#define TUNING_KEYS (sizeof(tuning_keys) / sizeof(tuning_keys[0]))

void node_settings_default(struct node_settings *s)
{
	memset(s, 0, sizeof(*s));
	path_tuning_default(&s->tuning);
}

/* name's index, or n_ifaces if it has no setting. */
static unsigned iface_index(const struct node_settings *s, const char *name)
{
	unsigned i;
	for (i = 0; i < s->n_ifaces && strcmp(s->ifaces[i].name, name) != 0; i++)
		;
	return i;
}

const struct node_iface_setting *node_settings_iface(const struct node_settings *s, const char *name)
{
	unsigned i = iface_index(s, name);
	return i < s->n_ifaces ? &s->ifaces[i] : NULL;
}

static bool iface_name_ok(const char *n)
{
	size_t len = strlen(n);
	if (!len || len >= IF_NAMESIZE || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (n[i] == '/' || n[i] == ':' || n[i] <= ' ' || n[i] > '~')
			return false;
	return true;
}

static int merge_iface(struct node_settings *s, const cJSON *e, char *why, size_t why_size)
{
	const cJSON *cost = cJSON_GetObjectItemCaseSensitive(e, "cost_ms");
	const cJSON *metered = cJSON_GetObjectItemCaseSensitive(e, "metered");
	if (!cJSON_IsObject(e) || !e->string || !iface_name_ok(e->string)) {
		snprintf(why, why_size, "not an interface name: '%.20s'", e->string ? e->string : "");
		return -EINVAL;
	}
	if ((cost && !cJSON_IsNull(cost) &&
	     (!cJSON_IsNumber(cost) || cost->valuedouble < 0 || cost->valuedouble > NODE_SETTINGS_COST_MAX_MS ||
	      cost->valuedouble != (double)(int32_t)cost->valuedouble)) ||
	    (metered && !cJSON_IsBool(metered))) {
		snprintf(why, why_size, "%s: cost_ms must be a whole number of ms, 0..%d; metered true or false",
			 e->string, NODE_SETTINGS_COST_MAX_MS);
		return -EINVAL;
	}
	unsigned i = iface_index(s, e->string);
	struct node_iface_setting *f = &s->ifaces[i];
	if (i == s->n_ifaces) {
		if (s->n_ifaces == NODE_SETTINGS_IFACES) {
			snprintf(why, why_size, "settings for at most %d interfaces", NODE_SETTINGS_IFACES);
			return -EINVAL;
		}
		s->n_ifaces++;
		snprintf(f->name, sizeof(f->name), "%s", e->string);
		f->cost_ms = NODE_SETTINGS_COST_CLASS;
		f->metered = false;
	}
	if (cost)
		f->cost_ms = cJSON_IsNull(cost) ? NODE_SETTINGS_COST_CLASS : (int32_t)cost->valuedouble;
	if (metered)
		f->metered = cJSON_IsTrue(metered);
	if (f->cost_ms == NODE_SETTINGS_COST_CLASS && !f->metered) /* back to nothing set: forget it */
		*f = s->ifaces[--s->n_ifaces];
	return 0;
}

static int merge_tuning(struct path_tuning *t, const cJSON *obj, char *why, size_t why_size)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, obj) {
		size_t i;
		for (i = 0; i < TUNING_KEYS && (!e->string || strcmp(e->string, tuning_keys[i].key) != 0); i++)
			;
		unsigned max = i < TUNING_KEYS && tuning_keys[i].ms ? TUNING_MS_MAX : 1000;
		if (i == TUNING_KEYS || !cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > max ||
		    e->valuedouble != (double)(uint32_t)e->valuedouble) {
			snprintf(why, why_size, "threshold %.20s: unknown, or not a whole number in 0..%u",
				 e->string ? e->string : "?", max);
			return -EINVAL;
		}
		char *field = (char *)t + tuning_keys[i].off;
		if (tuning_keys[i].ms) {
			uint64_t ns = (uint64_t)e->valuedouble * NS_PER_MS;
			memcpy(field, &ns, sizeof(ns));
		} else {
			uint32_t v = (uint32_t)e->valuedouble;
			memcpy(field, &v, sizeof(v));
		}
	}
	if (path_tuning_check(t) < 0) {
		snprintf(why, why_size, "inconsistent thresholds: suspect_min_ms 1..10000, loss_leave <= loss_enter "
					"<= 1000, rtt_leave_ms <= rtt_enter_ms, tamper_threshold <= 1000, tamper_window_ms "
					"100..60000, quarantine_ms 1000..60000");
		return -EINVAL;
	}
	return 0;
}

int node_settings_merge(struct node_settings *s, const cJSON *obj, char *why, size_t why_size)
{
	struct node_settings n = *s;
	const cJSON *ifs = cJSON_GetObjectItemCaseSensitive(obj, "interfaces");
	const cJSON *tuning = cJSON_GetObjectItemCaseSensitive(obj, "tuning");
	const cJSON *e;
	int ret;
	if (!cJSON_IsObject(obj) || (ifs && !cJSON_IsObject(ifs)) || (tuning && !cJSON_IsObject(tuning))) {
		snprintf(why, why_size, "settings: expected {\"interfaces\":{...},\"tuning\":{...}}");
		return -EINVAL;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "reset")))
		node_settings_default(&n);
	cJSON_ArrayForEach(e, ifs) {
		if ((ret = merge_iface(&n, e, why, why_size)) < 0)
			return ret;
	}
	if (tuning && (ret = merge_tuning(&n.tuning, tuning, why, why_size)) < 0)
		return ret;
	const cJSON *policy = cJSON_GetObjectItemCaseSensitive(obj, "policy");
	if (policy && (!cJSON_IsString(policy) || path_policy_parse(policy->valuestring, &n.policy) < 0)) {
		snprintf(why, why_size, "policy: latency, cost or redundant");
		return -EINVAL;
	}
	const cJSON *handover = cJSON_GetObjectItemCaseSensitive(obj, "handover");
	if (handover && (!cJSON_IsString(handover) || (strcmp(handover->valuestring, "auto") != 0 &&
						      strcmp(handover->valuestring, "confirm") != 0))) {
		snprintf(why, why_size, "handover: auto or confirm");
		return -EINVAL;
	}
	if (handover)
		n.confirm = strcmp(handover->valuestring, "confirm") == 0;
	*s = n;
	return 0;
}

int node_settings_merge_text(struct node_settings *s, const char *text, size_t len, char *why, size_t why_size)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	int ret;
	if (!root) {
		snprintf(why, why_size, "settings: not JSON");
		return -EINVAL;
	}
	ret = node_settings_merge(s, root, why, why_size);
	cJSON_Delete(root);
	return ret;
}

cJSON *node_settings_json(const struct node_settings *s)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *ifs = cJSON_AddObjectToObject(root, "interfaces");
	cJSON *tuning = cJSON_AddObjectToObject(root, "tuning");
	if (!ifs || !tuning) {
		cJSON_Delete(root);
		return NULL;
	}
	cJSON_AddStringToObject(root, "policy", path_policy_name(s->policy));
	cJSON_AddStringToObject(root, "handover", s->confirm ? "confirm" : "auto");
	for (unsigned i = 0; i < s->n_ifaces; i++) {
		const struct node_iface_setting *f = &s->ifaces[i];
		cJSON *o = cJSON_AddObjectToObject(ifs, f->name);
		if (!o)
			continue;
		if (f->cost_ms == NODE_SETTINGS_COST_CLASS)
			cJSON_AddNullToObject(o, "cost_ms");
		else
			cJSON_AddNumberToObject(o, "cost_ms", f->cost_ms);
		cJSON_AddBoolToObject(o, "metered", f->metered);
	}
	for (size_t i = 0; i < TUNING_KEYS; i++) {
		const char *field = (const char *)&s->tuning + tuning_keys[i].off;
		if (tuning_keys[i].ms) {
			uint64_t ns;
			memcpy(&ns, field, sizeof(ns));
			cJSON_AddNumberToObject(tuning, tuning_keys[i].key, (double)(ns / NS_PER_MS));
		} else {
			uint32_t v;
			memcpy(&v, field, sizeof(v));
			cJSON_AddNumberToObject(tuning, tuning_keys[i].key, v);
		}
	}
	return root;
}

int node_settings_load(const char *dir, struct node_settings *s, char *why, size_t why_size)
{
	char path[512], *text = NULL;
	size_t len;
	node_settings_default(s);
	snprintf(path, sizeof(path), "%s/settings.json", dir);
	int ret = node_state_read_small(path, &text, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		snprintf(why, why_size, "%s: %s", path, strerror(-ret));
		return ret;
	}
	char reason[160];
	ret = node_settings_merge_text(s, text, len, reason, sizeof(reason));
	free(text);
	if (ret < 0)
		snprintf(why, why_size, "%s: damaged (%s); fix or remove it", path, reason);
	return ret;
}

int node_settings_save(const char *dir, const struct node_settings *s)
{
	cJSON *root = node_settings_json(s);
	char *text = root ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	if (!text)
		return -ENOMEM;
	int ret = node_state_write_atomic(dir, "settings.json", text, strlen(text), 0600);
	free(text);
	return ret;
}
