/* roam-server nodes: list, approve, rename, remove, expire. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "coord/auth.h"
#include "coord/json.h"
#include "server/cmd.h"

struct list_ctx {
	struct store *st;
	bool json;
	bool first;
};

static void groups_text(struct store *st, const struct store_node *n, char *buf, size_t size)
{
	char name[COORD_NAME_MAX + 1];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n->groups_count && off < size; i++) {
		if (store_group_name(st, n->groups[i], name) < 0)
			continue;
		off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? "," : "", name);
	}
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
	groups_text(c->st, n, groups, sizeof(groups));
	state = !n->approved ? "pending" : (n->expires_at && n->expires_at <= now) ? "expired" : "approved";
	if (c->json) {
		printf("%s{\"id\":%u,\"name\":\"%s\",\"public_key\":\"%s\",\"ipv6\":\"%s\",\"ipv4\":\"%s\","
		       "\"state\":\"%s\",\"groups\":\"%s\",\"last_seen\":%lld}",
		       c->first ? "" : ",", n->id, n->name, key, v6, v4, state, groups, (long long)n->last_seen);
	} else {
		cmd_format_time(n->last_seen, seen, sizeof(seen));
		printf("%-5u %-20s %-9s %-15s %-24s %-20s %s\n", n->id, n->name, state, v4, v6, groups[0] ? groups : "-",
		       key);
	}
	c->first = false;
	return 0;
}

static int nodes_list(struct store *st, bool json)
{
	struct list_ctx c = { .st = st, .json = json, .first = true };
	int r;

	if (json)
		printf("[");
	else
		printf("%-5s %-20s %-9s %-15s %-24s %-20s %s\n", "ID", "NAME", "STATE", "IPV4", "IPV6", "GROUPS", "PUBLIC KEY");
	r = store_nodes_foreach(st, list_one, &c);
	if (json)
		printf("]\n");
	return r;
}

static int nodes_action(struct store *st, const char *action, const char *name, const char *arg)
{
	struct store_node n;
	int r;

	if ((r = store_node_by_name(st, name, &n)) < 0) {
		fprintf(stderr, "roam-server nodes %s: no node named '%s'\n", action, name);
		return r;
	}
	if (strcmp(action, "approve") == 0) {
		r = store_node_approve(st, n.id);
	} else if (strcmp(action, "remove") == 0) {
		r = store_node_remove(st, n.id);
	} else if (strcmp(action, "expire") == 0) {
		r = store_node_set_expiry(st, n.id, (int64_t)time(NULL));
	} else { /* rename */
		if (!coord_name_valid(arg)) {
			fprintf(stderr, "roam-server nodes rename: '%s' is not a valid name ([A-Za-z0-9._-], 1-63)\n", arg);
			return -1;
		}
		r = store_node_rename(st, n.id, arg);
		if (r == -EEXIST) {
			fprintf(stderr, "roam-server nodes rename: '%s' is taken\n", arg);
			return r;
		}
	}
	if (r < 0)
		fprintf(stderr, "roam-server nodes %s: %s\n", action, store_error(st));
	else
		printf("node %u (%s): %s done\n", n.id, name, action);
	return r;
}

static int nodes_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },        { NULL, 0, NULL, 0 },
	};
	const char *dir = SERVER_STATE_DIR_DEFAULT, *action;
	struct store *st;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "s:jh", opts, NULL)) != -1) {
		if (c == 's')
			dir = optarg;
		else if (c == 'j')
			json = true;
		else if (c == 'h') {
			fputs(cmd_nodes.usage, stdout);
			return CMD_EXIT_OK;
		} else
			return cmd_usage_error(&cmd_nodes, "bad option");
	}
	action = optind < argc ? argv[optind] : "list";
	argc -= optind;
	argv += optind;
	if (strcmp(action, "list") == 0 ? argc > 1
	    : strcmp(action, "rename") == 0 ? argc != 3
	    : (strcmp(action, "approve") == 0 || strcmp(action, "remove") == 0 || strcmp(action, "expire") == 0) ? argc != 2
	    : true)
		return cmd_usage_error(&cmd_nodes, "bad arguments for '%s'", action);
	if (cmd_open_store(dir, &st) < 0)
		return CMD_EXIT_FAIL;
	r = strcmp(action, "list") == 0 ? nodes_list(st, json) : nodes_action(st, action, argv[1], argc > 2 ? argv[2] : NULL);
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
		 "with a pre-auth key. A running server applies changes within a second.\n",
	.run = nodes_main,
};
