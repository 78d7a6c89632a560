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

/* On unless deleted: VoIP (RTP's usual UDP ports, or DSCP EF) on two
 * paths at once, interactive SSH on the lowest round trip, traffic marked
 * CS1 ("lower effort", RFC 3662) spread for bandwidth. They change nothing
 * while a peer has one working path: every policy picks it. */
static const struct path_class_rule builtin_classes[] = {
	{ "voip", 17, -1, 16384, 32767, PATH_POLICY_REDUNDANT },
	{ "voip-ef", 0, 46, 0, 0, PATH_POLICY_REDUNDANT },
	{ "ssh", 6, -1, 22, 22, PATH_POLICY_LATENCY },
	{ "bulk", 0, 8, 0, 0, PATH_POLICY_BANDWIDTH },
};
#define BUILTINS (sizeof(builtin_classes) / sizeof(builtin_classes[0]))

const struct path_class_rule *node_settings_builtin(unsigned i)
{
	return i < BUILTINS ? &builtin_classes[i] : NULL;
}

static int builtin_index(const char *name)
{
	for (unsigned i = 0; i < BUILTINS; i++)
		if (strcmp(builtin_classes[i].name, name) == 0)
			return (int)i;
	return -1;
}

void node_settings_default(struct node_settings *s)
{
	memset(s, 0, sizeof(*s));
	path_tuning_default(&s->tuning);
	memcpy(s->classes, builtin_classes, sizeof(builtin_classes));
	s->n_classes = BUILTINS;
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

static unsigned class_index(const struct node_settings *s, const char *name)
{
	unsigned i;
	for (i = 0; i < s->n_classes && strcmp(s->classes[i].name, name) != 0; i++)
		;
	return i;
}

static int class_delete(struct node_settings *s, const char *name, char *why, size_t why_size)
{
	unsigned i = class_index(s, name);
	int b = builtin_index(name);
	if (b >= 0)
		s->builtin_deleted |= 1u << b;
	if (i == s->n_classes) {
		if (b >= 0)
			return 0; /* a built-in deleted before */
		snprintf(why, why_size, "no class called '%.30s'", name);
		return -EINVAL;
	}
	memmove(&s->classes[i], &s->classes[i + 1], (s->n_classes - i - 1) * sizeof(s->classes[0]));
	s->n_classes--;
	return 0;
}

/* A class's definition: every field optional but its policy. */
static int class_parse(const cJSON *e, struct path_class_rule *r, char *why, size_t why_size)
{
	const cJSON *f;
	memset(r, 0, sizeof(*r));
	r->dscp = -1;
	if (strlen(e->string) >= sizeof(r->name)) {
		snprintf(why, why_size, "class name '%.30s': at most %d bytes", e->string, PATH_CLASS_NAME_MAX - 1);
		return -EINVAL;
	}
	snprintf(r->name, sizeof(r->name), "%s", e->string);
	cJSON_ArrayForEach(f, e) {
		const char *k = f->string ? f->string : "";
		bool ok;
		if (strcmp(k, "proto") == 0)
			ok = cJSON_IsString(f) && path_class_proto_parse(f->valuestring, &r->proto) == 0;
		else if (strcmp(k, "ports") == 0 && cJSON_IsNumber(f))
			ok = f->valuedouble >= 1 && f->valuedouble <= 65535 &&
			     f->valuedouble == (double)(uint16_t)f->valuedouble &&
			     (r->port_lo = r->port_hi = (uint16_t)f->valuedouble, true);
		else if (strcmp(k, "ports") == 0)
			ok = cJSON_IsNull(f) ||
			     (cJSON_IsString(f) && path_class_ports_parse(f->valuestring, &r->port_lo, &r->port_hi) == 0);
		else if (strcmp(k, "dscp") == 0)
			ok = cJSON_IsNull(f) || (cJSON_IsNumber(f) && f->valuedouble >= 0 && f->valuedouble <= 63 &&
						 f->valuedouble == (double)(int8_t)f->valuedouble &&
						 (r->dscp = (int8_t)f->valuedouble, true));
		else if (strcmp(k, "policy") == 0)
			ok = cJSON_IsString(f) && path_policy_parse(f->valuestring, &r->policy) == 0;
		else
			ok = false;
		if (!ok) {
			snprintf(why, why_size, "class %.30s: bad %.20s (proto tcp|udp|icmp|any|0..255, ports N or N-M "
						"in 1..65535, dscp 0..63, policy latency|bandwidth|cost|redundant)",
				 r->name, k);
			return -EINVAL;
		}
	}
	if (!cJSON_GetObjectItemCaseSensitive(e, "policy") || path_class_rule_check(r) < 0) {
		snprintf(why, why_size, "class %.30s: needs a policy, and a name of a-z 0-9 . _ -", r->name);
		return -EINVAL;
	}
	return 0;
}

static int merge_class(struct node_settings *s, const cJSON *e, char *why, size_t why_size)
{
	struct path_class_rule r;
	int ret;
	if (!e->string) /* an array member: the caller refused arrays */
		return -EINVAL;
	if (cJSON_IsNull(e))
		return class_delete(s, e->string, why, why_size);
	if (!cJSON_IsObject(e)) {
		snprintf(why, why_size, "class %.30s: an object, or null to delete it", e->string);
		return -EINVAL;
	}
	if ((ret = class_parse(e, &r, why, why_size)) < 0)
		return ret;
	unsigned i = class_index(s, r.name);
	int b = builtin_index(r.name);
	if (b >= 0)
		s->builtin_deleted &= ~(1u << b);
	if (i == s->n_classes) {
		if (s->n_classes == PATH_CLASS_MAX) {
			snprintf(why, why_size, "at most %d classes", PATH_CLASS_MAX);
			return -EINVAL;
		}
		/* The user's after the user's own, before the built-ins; a
		 * built-in back in its place among them (so that a saved file
		 * loads in the same order onto the defaults). */
		for (i = 0; i < s->n_classes && builtin_index(s->classes[i].name) <= b; i++)
			;
		memmove(&s->classes[i + 1], &s->classes[i], (s->n_classes - i) * sizeof(s->classes[0]));
		s->n_classes++;
	}
	s->classes[i] = r;
	return 0;
}

static bool peer_name_ok(const char *n)
{
	size_t len = strlen(n);
	if (!len || len >= NODE_SETTINGS_PEER_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (n[i] <= ' ' || n[i] > '~')
			return false;
	return true;
}

static int merge_peer(struct node_settings *s, const cJSON *e, char *why, size_t why_size)
{
	enum path_policy pol = PATH_POLICY_LATENCY;
	unsigned i;
	if (!e->string || !peer_name_ok(e->string) ||
	    !(cJSON_IsNull(e) || (cJSON_IsString(e) && path_policy_parse(e->valuestring, &pol) == 0))) {
		snprintf(why, why_size, "peer '%.30s': a policy (latency, bandwidth, cost, redundant) or null",
			 e->string ? e->string : "");
		return -EINVAL;
	}
	for (i = 0; i < s->n_peers && strcmp(s->peers[i].name, e->string) != 0; i++)
		;
	if (cJSON_IsNull(e)) {
		if (i < s->n_peers)
			s->peers[i] = s->peers[--s->n_peers];
		return 0;
	}
	if (i == s->n_peers) {
		if (s->n_peers == NODE_SETTINGS_PEERS) {
			snprintf(why, why_size, "a policy of their own for at most %d peers", NODE_SETTINGS_PEERS);
			return -EINVAL;
		}
		snprintf(s->peers[s->n_peers++].name, NODE_SETTINGS_PEER_NAME_MAX, "%s", e->string);
	}
	s->peers[i].policy = pol;
	return 0;
}

enum path_policy node_settings_peer_policy(const struct node_settings *s, const char *name)
{
	for (unsigned i = 0; name && *name && i < s->n_peers; i++)
		if (strcmp(s->peers[i].name, name) == 0)
			return s->peers[i].policy;
	return s->policy;
}

/* "classes" and "peers": objects of entries, each merged in order. */
static int merge_lists(struct node_settings *n, const cJSON *obj, char *why, size_t why_size)
{
	const cJSON *classes = cJSON_GetObjectItemCaseSensitive(obj, "classes");
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(obj, "peers");
	const cJSON *e;
	int ret;
	if ((classes && !cJSON_IsObject(classes)) || (peers && !cJSON_IsObject(peers))) {
		snprintf(why, why_size, "settings: \"classes\" and \"peers\" are objects");
		return -EINVAL;
	}
	cJSON_ArrayForEach(e, classes) {
		if ((ret = merge_class(n, e, why, why_size)) < 0)
			return ret;
	}
	cJSON_ArrayForEach(e, peers) {
		if ((ret = merge_peer(n, e, why, why_size)) < 0)
			return ret;
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
	if ((ret = merge_lists(&n, obj, why, why_size)) < 0)
		return ret;
	const cJSON *policy = cJSON_GetObjectItemCaseSensitive(obj, "policy");
	if (policy && (!cJSON_IsString(policy) || path_policy_parse(policy->valuestring, &n.policy) < 0)) {
		snprintf(why, why_size, "policy: latency, bandwidth, cost or redundant");
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

/* One class as the request shape has it: what it does not set is absent. */
static cJSON *class_json(const struct path_class_rule *r)
{
	cJSON *o = cJSON_CreateObject();
	char num[4], ports[12];
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "proto", path_class_proto_name(r->proto, num));
	if (r->port_hi) {
		if (r->port_lo == r->port_hi)
			snprintf(ports, sizeof(ports), "%u", r->port_lo);
		else
			snprintf(ports, sizeof(ports), "%u-%u", r->port_lo, r->port_hi);
		cJSON_AddStringToObject(o, "ports", ports);
	}
	if (r->dscp >= 0)
		cJSON_AddNumberToObject(o, "dscp", r->dscp);
	cJSON_AddStringToObject(o, "policy", path_policy_name(r->policy));
	return o;
}

static int lists_json(cJSON *root, const struct node_settings *s)
{
	cJSON *classes = cJSON_AddObjectToObject(root, "classes");
	cJSON *peers = cJSON_AddObjectToObject(root, "peers");
	if (!classes || !peers)
		return -ENOMEM;
	/* Deleted built-ins first, as null: they stay deleted, and their room
	 * is free before the user's classes load onto the defaults. */
	for (unsigned i = 0; i < BUILTINS; i++)
		if (s->builtin_deleted & (1u << i))
			cJSON_AddNullToObject(classes, builtin_classes[i].name);
	for (unsigned i = 0; i < s->n_classes; i++) {
		cJSON *c = class_json(&s->classes[i]);
		if (!c)
			return -ENOMEM;
		cJSON_AddItemToObject(classes, s->classes[i].name, c);
	}
	for (unsigned i = 0; i < s->n_peers; i++)
		cJSON_AddStringToObject(peers, s->peers[i].name, path_policy_name(s->peers[i].policy));
	return 0;
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
	if (lists_json(root, s) < 0) {
		cJSON_Delete(root);
		return NULL;
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
