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

static int groups_run(const char *dir, const char *action, const char *const argv[])
{
	char what[32], op[32], done[192];
	/* The caller checked the word count; the guards are for the compiler,
	 * which cannot see that (-Wformat-truncation under ASan). */
	const char *a1 = argv[1] ? argv[1] : "", *a2 = argv[1] && argv[2] ? argv[2] : "";

	snprintf(what, sizeof(what), "groups %s", action);
	snprintf(op, sizeof(op), "groups.%s", action);
	if (strcmp(action, "create") == 0 || strcmp(action, "delete") == 0) {
		snprintf(done, sizeof(done), "group %s: %sd", a1, action);
		return cmd_admin_simple(what, dir, done, op, "group", a1, NULL, NULL);
	}
	if (strcmp(action, "rename") == 0) {
		snprintf(done, sizeof(done), "group %s renamed %s", a1, a2);
		return cmd_admin_simple(what, dir, done, op, "group", a1, "new_name", a2);
	}
	snprintf(done, sizeof(done), "%s %s %s", a2, strcmp(action, "add") == 0 ? "added to" : "removed from",
		 a1);
	return cmd_admin_simple(what, dir, done, op, "group", a1, "node", a2);
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
	       : (strcmp(action, "add") == 0 || strcmp(action, "remove") == 0 || strcmp(action, "rename") == 0) ? 3
										  : 0;
	if (want == 0)
		return cmd_usage_error(&cmd_groups, "unknown action '%s' (list, create, rename, delete, add, remove)", action);
	if ((want > 0 && n != (size_t)want) || (want < 0 && n > 1))
		return cmd_usage_error(&cmd_groups, "wrong number of arguments for '%s'", action);
	if (want > 0)
		return groups_run(w.dir, action, w.words) < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
	if (cmd_open_store(&cmd_groups, w.dir, &st) < 0)
		return CMD_EXIT_FAIL;
	r = groups_list(st, w.json);
	store_close(st);
	return r < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

const struct server_cmd cmd_groups = {
	.name = "groups",
	.summary = "Create, list and delete groups; add or remove nodes",
	.usage = "Usage: roam-server groups [--state DIR] [--json] [list]\n"
		 "       roam-server groups [--state DIR] create GROUP\n"
		 "       roam-server groups [--state DIR] delete GROUP\n"
		 "       roam-server groups [--state DIR] rename GROUP NEW-NAME\n"
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
