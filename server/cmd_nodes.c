/* roam-server nodes: list, approve, rename, remove, expire. */
#include <arpa/inet.h>
#include <errno.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "coord/auth.h"
#include "coord/json.h"
#include "server/cmd.h"

struct list_ctx {
	struct store *st;
	cJSON *list; /* NULL: a table */
};

/* Group names: into a JSON array, or comma-separated into buf. */
static void groups_names(struct store *st, const struct store_node *n, cJSON *array, char *buf, size_t size)
{
	char name[COORD_NAME_MAX + 1];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n->groups_count; i++) {
		if (store_group_name(st, n->groups[i], name) < 0)
			continue;
		if (array)
			cJSON_AddItemToArray(array, cJSON_CreateString(name));
		else if (off < size)
			off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? "," : "", name);
	}
}

static int list_json(struct list_ctx *c, const struct store_node *n, const char *state, const char *v6,
		     const char *v4, const char *key)
{
	cJSON *o = cJSON_CreateObject();
	char unused[1];

	if (!o || !cJSON_AddItemToArray(c->list, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	cJSON_AddNumberToObject(o, "id", n->id);
	cJSON_AddStringToObject(o, "name", n->name);
	cJSON_AddStringToObject(o, "public_key", key);
	cJSON_AddStringToObject(o, "ipv4", v4);
	cJSON_AddStringToObject(o, "ipv6", v6);
	cJSON_AddStringToObject(o, "state", state);
	cJSON_AddBoolToObject(o, "online", n->online);
	cJSON_AddNumberToObject(o, "last_seen", (double)n->last_seen);
	cJSON_AddNumberToObject(o, "created", (double)n->created);
	cJSON_AddNumberToObject(o, "expires_at", (double)n->expires_at);
	groups_names(c->st, n, cJSON_AddArrayToObject(o, "groups"), unused, sizeof(unused));
	return 0;
}

static int list_one(void *arg, const struct store_node *n)
{
	struct list_ctx *c = arg;
	char v6[INET6_ADDRSTRLEN], v4[INET_ADDRSTRLEN], key[COORD_KEY_B64_LEN + 1], groups[1024], seen[64];
	const char *state;
	int64_t now = (int64_t)time(NULL);

	inet_ntop(AF_INET6, n->ipv6, v6, sizeof(v6));
	inet_ntop(AF_INET, n->ipv4, v4, sizeof(v4));
	coord_b64_encode(key, sizeof(key), n->public_key, COORD_KEY_LEN, 0);
	state = !n->approved ? "pending" : (n->expires_at && n->expires_at <= now) ? "expired" : "approved";
	if (c->list)
		return list_json(c, n, state, v6, v4, key);
	groups_names(c->st, n, NULL, groups, sizeof(groups));
	cmd_format_time(n->last_seen, seen, sizeof(seen));
	printf("%-5u %-20s %-9s %-8s %-20s %-15s %-24s %-20s %s\n", n->id, n->name, state,
	       n->online ? "online" : "offline", seen, v4, v6, groups[0] ? groups : "-", key);
	return 0;
}

/* {"nodes": [...]} or a table. */
static int nodes_list(struct store *st, bool json)
{
	struct list_ctx c = { .st = st, .list = NULL };
	cJSON *root = NULL;
	int r;

	if (json) {
		root = cJSON_CreateObject();
		if (!(c.list = cJSON_AddArrayToObject(root, "nodes"))) {
			cJSON_Delete(root);
			return -ENOMEM;
		}
	} else {
		printf("%-5s %-20s %-9s %-8s %-20s %-15s %-24s %-20s %s\n", "ID", "NAME", "STATE", "PRESENCE", "LAST SEEN",
		       "IPV4", "IPV6", "GROUPS", "PUBLIC KEY");
	}
	r = store_nodes_foreach(st, list_one, &c);
	if (json && r == 0)
		r = cmd_print_json(root);
	cJSON_Delete(root);
	return r;
}

static int nodes_action(const char *dir, const char *action, const char *name, const char *arg)
{
	char what[32], op[32], done[128];

	snprintf(what, sizeof(what), "nodes %s", action);
	snprintf(op, sizeof(op), "nodes.%s", action);
	snprintf(done, sizeof(done), "node %s: %s done", name, action);
	return cmd_admin_simple(what, dir, done, op, "node", name, arg ? "new_name" : NULL, arg);
}

static int nodes_main(int argc, char *argv[])
{
	struct cmd_words w;
	const char *action;
	struct store *st;
	size_t n, want;
	int r;

	if ((r = cmd_parse_words(&cmd_nodes, argc, argv, &w)) >= 0)
		return r;
	n = w.count;
	action = w.words[0];
	want = strcmp(action, "list") == 0 ? 1
	       : strcmp(action, "rename") == 0 ? 3
	       : (strcmp(action, "approve") == 0 || strcmp(action, "remove") == 0 || strcmp(action, "expire") == 0) ? 2
	       : 0;
	if (want == 0)
		return cmd_usage_error(&cmd_nodes, "unknown action '%s' (list, approve, rename, remove, expire)", action);
	if (n > want || (want > 1 && n != want))
		return cmd_usage_error(&cmd_nodes, "wrong number of arguments for '%s'", action);
	if (want > 1)
		return nodes_action(w.dir, action, w.words[1], w.words[2]) < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
	if (cmd_open_store(&cmd_nodes, w.dir, &st) < 0)
		return CMD_EXIT_FAIL;
	r = nodes_list(st, w.json);
	store_close(st);
	return r < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

const struct server_cmd cmd_nodes = {
	.name = "nodes",
	.summary = "List, approve, rename, remove or expire nodes",
	.usage = "Usage: roam-server nodes [--state DIR] [--json] [list]\n"
		 "       roam-server nodes [--state DIR] approve NAME\n"
		 "       roam-server nodes [--state DIR] rename NAME NEW-NAME\n"
		 "       roam-server nodes [--state DIR] remove NAME\n"
		 "       roam-server nodes [--state DIR] expire NAME\n"
		 "\n"
		 "approve lets a node that joined without a pre-auth key in; remove deletes it\n"
		 "(its addresses are never reused); expire shuts it out until it registers again\n"
		 "with a pre-auth key. A running server applies a change at once (the command\n"
		 "hands it over on its admin socket, <state>/admin.sock).\n"
		 "\n"
		 "list shows each node's state (approved, pending, expired), its presence as the\n"
		 "running server last wrote it (online or offline, written within 0.1 s of a\n"
		 "change; offline while no server runs) and when it was last seen.\n"
		 "\n"
		 "  -s, --state DIR  the server's state (default " SERVER_STATE_DIR_DEFAULT ")\n"
		 "  -j, --json       list as {\"nodes\": [{\"id\", \"name\", \"public_key\", \"ipv4\",\n"
		 "                   \"ipv6\", \"state\", \"online\", \"last_seen\", \"created\",\n"
		 "                   \"expires_at\", \"groups\": [...]}]} (times in unix seconds, 0: never)\n"
		 "  -h, --help       this text\n"
		 "\n"
		 "Exit status: 0 done, 1 failure (no such node, no state), 2 bad usage.\n",
	.run = nodes_main,
};
