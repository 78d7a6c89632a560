/* roam-server groups: closed user groups. */
#include <errno.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "coord/json.h"
#include "server/cmd.h"

static int list_one(void *arg, const struct store_group *g)
{
	cJSON *list = arg, *o;

	if (!list) {
		printf("%-5u %-24s %zu\n", g->id, g->name, g->members);
		return 0;
	}
	if (!(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(list, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	cJSON_AddNumberToObject(o, "id", g->id);
	cJSON_AddStringToObject(o, "name", g->name);
	cJSON_AddNumberToObject(o, "members", (double)g->members);
	return 0;
}

/* {"groups": [{"id", "name", "members"}]} or a table. */
static int groups_list(struct store *st, bool json)
{
	cJSON *root, *list;
	int r;

	if (!json) {
		printf("%-5s %-24s %s\n", "ID", "NAME", "MEMBERS");
		return store_groups_foreach(st, list_one, NULL);
	}
	root = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(root, "groups");
	r = list ? store_groups_foreach(st, list_one, list) : -ENOMEM;
	if (r == 0)
		r = cmd_print_json(root);
	cJSON_Delete(root);
	return r;
}

static int groups_member(struct store *st, const char *action, const char *group, const char *node)
{
	struct store_group g;
	struct store_node n;
	int r;

	if (store_group_by_name(st, group, &g) < 0) {
		fprintf(stderr, "roam-server groups %s: no group '%s'\n", action, group);
		return -ENOENT;
	}
	if (store_node_by_name(st, node, &n) < 0) {
		fprintf(stderr, "roam-server groups %s: no node '%s'\n", action, node);
		return -ENOENT;
	}
	r = strcmp(action, "add") == 0 ? store_group_add_node(st, g.id, n.id) : store_group_remove_node(st, g.id, n.id);
	if (r == -E2BIG)
		fprintf(stderr, "roam-server groups add: '%s' is in %d groups already\n", node, COORD_GROUPS_MAX);
	else if (r == -ENOENT)
		fprintf(stderr, "roam-server groups remove: '%s' is not in '%s'\n", node, group);
	else if (r < 0)
		fprintf(stderr, "roam-server groups %s: %s\n", action, store_error(st));
	else
		printf("%s %s %s\n", node, strcmp(action, "add") == 0 ? "added to" : "removed from", group);
	return r;
}

static int groups_run(struct store *st, const char *action, bool json, const char *const argv[])
{
	struct store_group g;
	uint32_t id;
	int r;

	if (strcmp(action, "list") == 0)
		return groups_list(st, json);
	if (strcmp(action, "create") == 0) {
		if (!coord_name_valid(argv[1])) {
			fprintf(stderr, "roam-server groups create: '%s' is not a valid name ([A-Za-z0-9._-], 1-63)\n", argv[1]);
			return -EINVAL;
		}
		r = store_group_create(st, argv[1], &id);
		if (r == -EEXIST)
			fprintf(stderr, "roam-server groups create: '%s' exists\n", argv[1]);
		else if (r < 0)
			fprintf(stderr, "roam-server groups create: %s\n", store_error(st));
		else
			printf("group %u: %s\n", id, argv[1]);
		return r;
	}
	if (strcmp(action, "delete") == 0) {
		if ((r = store_group_by_name(st, argv[1], &g)) < 0 || (r = store_group_delete(st, g.id)) < 0)
			fprintf(stderr, "roam-server groups delete: no group '%s'\n", argv[1]);
		return r;
	}
	return groups_member(st, action, argv[1], argv[2]);
}

static int groups_main(int argc, char *argv[])
{
	struct cmd_words w;
	const char *action;
	struct store *st;
	int r, want;
	size_t n;

	if ((r = cmd_parse_words(&cmd_groups, argc, argv, &w)) >= 0)
		return r;
	n = w.count;
	action = w.words[0];
	want = strcmp(action, "list") == 0                                     ? -1
	       : (strcmp(action, "create") == 0 || strcmp(action, "delete") == 0) ? 2
	       : (strcmp(action, "add") == 0 || strcmp(action, "remove") == 0)    ? 3
										  : 0;
	if (want == 0)
		return cmd_usage_error(&cmd_groups, "unknown action '%s' (list, create, delete, add, remove)", action);
	if ((want > 0 && n != (size_t)want) || (want < 0 && n > 1))
		return cmd_usage_error(&cmd_groups, "wrong number of arguments for '%s'", action);
	if (cmd_open_store(&cmd_groups, w.dir, &st) < 0)
		return CMD_EXIT_FAIL;
	r = groups_run(st, action, w.json, w.words);
	store_close(st);
	return r < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

const struct server_cmd cmd_groups = {
	.name = "groups",
	.summary = "Create, list and delete groups; add or remove nodes",
	.usage = "Usage: roam-server groups [--state DIR] [--json] [list]\n"
		 "       roam-server groups [--state DIR] create GROUP\n"
		 "       roam-server groups [--state DIR] delete GROUP\n"
		 "       roam-server groups [--state DIR] add GROUP NODE\n"
		 "       roam-server groups [--state DIR] remove GROUP NODE\n"
		 "\n"
		 "A node sees and reaches only the nodes it shares at least one group with.\n"
		 "\n"
		 "  -s, --state DIR  the server's state (default " SERVER_STATE_DIR_DEFAULT ")\n"
		 "  -j, --json       list as {\"groups\": [{\"id\", \"name\", \"members\"}]}\n"
		 "  -h, --help       this text\n"
		 "\n"
		 "Exit status: 0 done, 1 failure (no such group or node, no state), 2 bad usage.\n",
	.run = groups_main,
};
