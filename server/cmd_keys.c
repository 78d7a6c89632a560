/* roam-server keys: pre-auth keys. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/cmd.h"

#define KEYS_DEFAULT_LIFETIME_S 86400

static int list_one(void *arg, const struct store_key *k)
{
	struct store *st = arg;
	char when[64], groups[1024] = "", name[COORD_NAME_MAX + 1];
	size_t off = 0;
	int64_t now = (int64_t)time(NULL);
	const char *state;

	for (size_t i = 0; i < k->groups_count && off < sizeof(groups); i++) {
		if (store_group_name(st, k->groups[i], name) == 0)
			off += (size_t)snprintf(groups + off, sizeof(groups) - off, "%s%s", off ? "," : "", name);
	}
	cmd_format_time(k->expires_at, when, sizeof(when));
	state = k->revoked ? "revoked"
		: (k->expires_at && k->expires_at <= now) ? "expired"
		: (!k->reusable && k->uses) ? "used"
		: "valid";
	printf("%-5u %-11s %-8s %-5u %-21s %s\n", k->id, k->reusable ? "reusable" : "single-use", state, k->uses, when,
	       groups[0] ? groups : "-");
	return 0;
}

static int keys_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' }, { "reusable", no_argument, NULL, 'r' },
		{ "expires", required_argument, NULL, 'e' }, { "group", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
	};
	const char *dir = SERVER_STATE_DIR_DEFAULT, *action, *groups[COORD_GROUPS_MAX];
	size_t groups_count = 0;
	int64_t expires = KEYS_DEFAULT_LIFETIME_S;
	bool reusable = false;
	struct store *st;
	int c, r;

	while ((c = getopt_long(argc, argv, "s:re:g:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			dir = optarg;
			break;
		case 'r':
			reusable = true;
			break;
		case 'e':
			if (strcmp(optarg, "never") == 0)
				expires = 0;
			else if (cmd_parse_duration(optarg, &expires) < 0 || expires == 0)
				return cmd_usage_error(&cmd_keys, "--expires wants a duration (90s, 30m, 24h, 7d) or never");
			break;
		case 'g':
			if (groups_count == COORD_GROUPS_MAX)
				return cmd_usage_error(&cmd_keys, "at most %d --group", COORD_GROUPS_MAX);
			groups[groups_count++] = optarg;
			break;
		case 'h':
			fputs(cmd_keys.usage, stdout);
			return CMD_EXIT_OK;
		default:
			return cmd_usage_error(&cmd_keys, "bad option");
		}
	}
	action = optind < argc ? argv[optind] : "list";
	argc -= optind;
	if ((strcmp(action, "list") == 0 && argc > 1) || (strcmp(action, "create") == 0 && argc != 1) ||
	    (strcmp(action, "revoke") == 0 && argc != 2) ||
	    (strcmp(action, "list") != 0 && strcmp(action, "create") != 0 && strcmp(action, "revoke") != 0))
		return cmd_usage_error(&cmd_keys, "bad arguments for '%s'", action);
	if (cmd_open_store(dir, &st) < 0)
		return CMD_EXIT_FAIL;
	if (strcmp(action, "create") == 0) {
		r = cmd_key_create(dir, st, reusable, expires, groups, groups_count);
	} else if (strcmp(action, "revoke") == 0) {
		r = store_key_revoke(st, (uint32_t)strtoul(argv[optind + 1], NULL, 10));
		if (r < 0)
			fprintf(stderr, "roam-server keys revoke: no key %s\n", argv[optind + 1]);
		else
			printf("key %s revoked\n", argv[optind + 1]);
	} else {
		printf("%-5s %-11s %-8s %-5s %-21s %s\n", "ID", "KIND", "STATE", "USES", "EXPIRES", "GROUPS");
		r = store_keys_foreach(st, list_one, st);
	}
	store_close(st);
	return r < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

const struct server_cmd cmd_keys = {
	.name = "keys",
	.summary = "Create, list and revoke pre-auth keys",
	.usage = "Usage: roam-server keys [--state DIR] [list]\n"
		 "       roam-server keys [--state DIR] create [--reusable] [--expires DURATION|never]\n"
		 "                                             [--group GROUP]...\n"
		 "       roam-server keys [--state DIR] revoke ID\n"
		 "\n"
		 "create prints the join command carrying a new key: single-use unless\n"
		 "--reusable, valid 24 h unless --expires (90s, 30m, 24h, 7d, never); nodes that\n"
		 "join with it are approved and put in every --group. Only a hash is stored.\n",
	.run = keys_main,
};
