/* roam-server keys: pre-auth keys. */
#include <errno.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/admin/records.h"
#include "server/cmd.h"

#define KEYS_DEFAULT_LIFETIME_S 86400

struct keys_list_ctx {
	struct store *st;
	cJSON *list; /* NULL: a table */
};

static int list_json(struct keys_list_ctx *c, const struct store_key *k)
{
	cJSON *o = admin_key_json(c->st, k, (int64_t)time(NULL));

	if (!o || !cJSON_AddItemToArray(c->list, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	return 0;
}

static int list_one(void *arg, const struct store_key *k)
{
	struct keys_list_ctx *c = arg;
	char when[64], groups[1024] = "", name[COORD_NAME_MAX + 1];
	size_t off = 0;
	const char *state = admin_key_state(k, (int64_t)time(NULL));

	if (c->list)
		return list_json(c, k);
	for (size_t i = 0; i < k->groups_count && off < sizeof(groups); i++) {
		if (store_group_name(c->st, k->groups[i], name) == 0)
			off += (size_t)snprintf(groups + off, sizeof(groups) - off, "%s%s", off ? "," : "", name);
	}
	cmd_format_time(k->expires_at, when, sizeof(when));
	printf("%-5u %-11s %-8s %-5u %-21s %s\n", k->id, k->reusable ? "reusable" : "single-use", state, k->uses, when,
	       groups[0] ? groups : "-");
	return 0;
}

/* {"keys": [...]} or a table. */
static int keys_list(struct store *st, bool json)
{
	struct keys_list_ctx c = { .st = st, .list = NULL };
	cJSON *root = NULL;
	int r;

	if (json) {
		root = cJSON_CreateObject();
		if (!(c.list = cJSON_AddArrayToObject(root, "keys"))) {
			cJSON_Delete(root);
			return -ENOMEM;
		}
	} else {
		printf("%-5s %-11s %-8s %-5s %-21s %s\n", "ID", "KIND", "STATE", "USES", "EXPIRES", "GROUPS");
	}
	r = store_keys_foreach(st, list_one, &c);
	if (json && r == 0)
		r = cmd_print_json(root);
	cJSON_Delete(root);
	return r;
}

struct keys_options {
	const char *dir, *words[3];
	size_t words_count;
	const char *groups[COORD_GROUPS_MAX];
	size_t groups_count;
	int64_t expires;
	bool reusable, json;
};

static int keys_parse(struct keys_options *o, int argc, char *argv[], int *status)
{
	enum { O_REUSABLE = 1, O_EXPIRES, O_GROUP };
	static const struct args_opt opts[] = {
		CMD_STATE_OPTION, CMD_JSON_OPTION, { "reusable", 'r', false, O_REUSABLE },
		{ "expires", 'e', true, O_EXPIRES }, { "group", 'g', true, O_GROUP },
	};
	struct args_parser p;
	int c;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cmd_next(&cmd_keys, &p, status)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR: return -1;
		case CMD_OPT_STATE: o->dir = p.value; break;
		case CMD_OPT_JSON: o->json = true; break;
		case O_REUSABLE: o->reusable = true; break;
		case O_EXPIRES:
			if (strcmp(p.value, "never") == 0)
				o->expires = 0;
			else if (cmd_parse_duration(p.value, &o->expires) < 0 || o->expires == 0)
				goto usage_expires;
			break;
		case O_GROUP:
			if (o->groups_count == COORD_GROUPS_MAX) {
				*status = cmd_usage_error(&cmd_keys, "at most %d --group", COORD_GROUPS_MAX);
				return -1;
			}
			o->groups[o->groups_count++] = p.value;
			break;
		default:
			if (o->words_count == 3) {
				*status = cmd_usage_error(&cmd_keys, "too many arguments");
				return -1;
			}
			o->words[o->words_count++] = p.value;
			break;
		}
	}
	return 0;
usage_expires:
	*status = cmd_usage_error(&cmd_keys, "--expires wants a duration (90s, 30m, 24h, 7d) or never");
	return -1;
}

static int keys_revoke(const char *dir, const char *id_text)
{
	cJSON *req = cJSON_CreateObject(), *reply = NULL;
	char *end;
	unsigned long id = strtoul(id_text, &end, 10);
	int r = -ENOMEM;

	if (*end || !id || id > UINT32_MAX) {
		fprintf(stderr, "roam-server keys revoke: no key %s\n", id_text);
		r = -EINVAL;
	} else if (req && cJSON_AddStringToObject(req, "op", "keys.revoke") && cJSON_AddNumberToObject(req, "id", (double)id) &&
		   (r = cmd_admin_apply("keys revoke", dir, NULL, req, &reply)) == 0) {
		printf("key %lu revoked\n", id);
	}
	cJSON_Delete(req);
	cJSON_Delete(reply);
	return r;
}

static int keys_main(int argc, char *argv[])
{
	struct keys_options o = { .dir = SERVER_STATE_DIR_DEFAULT, .expires = KEYS_DEFAULT_LIFETIME_S };
	const char *action;
	struct store *st;
	int r = CMD_EXIT_FAIL;
	size_t want;

	if (keys_parse(&o, argc, argv, &r) < 0)
		return r;
	action = o.words_count ? o.words[0] : "list";
	want = strcmp(action, "list") == 0 ? 1 : strcmp(action, "create") == 0 ? 1 : strcmp(action, "revoke") == 0 ? 2 : 0;
	if (want == 0)
		return cmd_usage_error(&cmd_keys, "unknown action '%s' (list, create, revoke)", action);
	if (o.words_count > want || (want == 2 && o.words_count != 2))
		return cmd_usage_error(&cmd_keys, "wrong number of arguments for '%s'", action);
	if (strcmp(action, "revoke") == 0)
		return keys_revoke(o.dir, o.words[1]) < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
	if (cmd_open_store(&cmd_keys, o.dir, &st) < 0)
		return CMD_EXIT_FAIL;
	if (strcmp(action, "create") == 0) {
		r = cmd_key_create(o.dir, st, o.reusable, o.expires, o.groups, o.groups_count);
	} else {
		r = keys_list(st, o.json);
	}
	store_close(st);
	return r < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

const struct server_cmd cmd_keys = {
	.name = "keys",
	.summary = "Create, list and revoke pre-auth keys",
	.usage = "Usage: roam-server keys [--state DIR] [--json] [list]\n"
		 "       roam-server keys [--state DIR] create [--reusable] [--expires DURATION|never]\n"
		 "                                             [--group GROUP]...\n"
		 "       roam-server keys [--state DIR] revoke ID\n"
		 "\n"
		 "create prints the join command carrying a new key: single-use unless\n"
		 "--reusable, valid 24 h unless --expires (90s, 30m, 24h, 7d, never); nodes that\n"
		 "join with it are approved and put in every --group. Only a hash is stored.\n"
		 "\n"
		 "  -s, --state DIR          the server's state (default " SERVER_STATE_DIR_DEFAULT ")\n"
		 "  -r, --reusable           create: the key may be used by many nodes\n"
		 "  -e, --expires DURATION   create: lifetime (default 24h), or never\n"
		 "  -g, --group GROUP        create: put joining nodes in GROUP (repeatable)\n"
		 "  -j, --json               list as {\"keys\": [{\"id\", \"reusable\", \"state\", \"uses\",\n"
		 "                           \"created\", \"expires_at\", \"groups\": [...]}]}\n"
		 "  -h, --help               this text\n"
		 "\n"
		 "Exit status: 0 done, 1 failure (no such key or group, no state), 2 bad usage.\n",
	.run = keys_main,
};
