/* roam publish DIR | roam unpublish: roamd's file service serves DIR's files
 * to peers that pull them by hash (docs/files.md, "Pull"). */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

enum { PUBLISH_OPT_GROUP = 1, PUBLISH_OPT_CACHE };

static int publish_main(const struct cli_global *g, int argc, char *argv[])
{
	static const struct args_opt opts[] = {
		{ "group", 'g', true, PUBLISH_OPT_GROUP },
		{ "cache", 0, false, PUBLISH_OPT_CACHE },
		CLI_SOCKET_OPTION,
	};
	const char *operand = NULL, *group = NULL, *socket_path = NULL;
	char dir[PATH_MAX];
	bool cache = false;
	struct args_parser p;
	int c, status = CLI_EXIT_USAGE;
	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cli_next(&cli_publish, &p, &status)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR: return status;
		case PUBLISH_OPT_GROUP: group = p.value; break;
		case PUBLISH_OPT_CACHE: cache = true; break;
		case CLI_OPT_SOCKET: socket_path = p.value; break;
		case ARGS_OPERAND:
			if (operand)
				return cli_usage_error(&cli_publish, "unexpected argument '%s'", p.value);
			operand = p.value;
			break;
		default: return cli_usage_error(&cli_publish, "unexpected argument '%s'", p.value);
		}
	}
	if (!operand)
		return cli_usage_error(&cli_publish, "give a directory");
	/* roamd is not in our working directory: it gets the absolute path. */
	if (!realpath(operand, dir)) {
		fprintf(stderr, "roam publish: %s: no such directory\n", operand);
		return CLI_EXIT_FAIL;
	}
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "publish");
	cJSON_AddStringToObject(req, "path", dir);
	if (group)
		cJSON_AddStringToObject(req, "group", group);
	if (cache)
		cJSON_AddBoolToObject(req, "cache", true);
	char *text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	cJSON *reply = text ? cli_ctl_call(g, "publish", socket_path, text) : NULL;
	free(text);
	if (!reply)
		return CLI_EXIT_FAIL;
	cJSON_Delete(reply);
	printf("publishing %s (roamd's log says how many files, or why not)\n", dir);
	return CLI_EXIT_OK;
}

static int unpublish_main(const struct cli_global *g, int argc, char *argv[])
{
	struct cli_args args;
	int r;
	if ((r = cli_parse(&cli_unpublish, CLI_ARG_SOCKET, argc, argv, &args)) >= 0)
		return r;
	cJSON *reply = cli_ctl_call(g, "unpublish", args.socket_path, "{\"cmd\":\"unpublish\"}");
	cJSON_Delete(reply);
	return reply ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

const struct cli_command cli_publish = {
	.name = "publish",
	.run = publish_main,
	.summary = "Publish a directory: its index to a group, its files to peers that pull them",
	.usage = "Usage: roam [-i IFACE] publish DIR [--group G] [--cache] [--socket PATH]\n"
		 "\n"
		 "roamd's file service serves the regular files under DIR (and symlinks to\n"
		 "files inside DIR; a symlink out of DIR refuses the publish) to peers that\n"
		 "share a group with this node and ask for a file by its hash. Publishing\n"
		 "again replaces what was published; a file changed since is not served\n"
		 "until it is published again. The scan's result is in roamd's log.\n"
		 "\n"
		 "The index (paths, sizes, times, hashes, thumbnails of JPEG photos) is\n"
		 "sealed to the members of group G, or of every group this node is in\n"
		 "when no --group is given, and kept on the server, which cannot read it:\n"
		 "they list it with roam ls, also while this node is offline. A member who\n"
		 "joins later gets it sealed again at this node's next view change.\n"
		 "\n"
		 "With --cache each file is also uploaded to the server, encrypted under a\n"
		 "key of its own that only the sealed index holds (one copy per group), so\n"
		 "members can pull it while this node is offline; it counts in this node's\n"
		 "quota on the server, and a later publish or unpublish deletes it.\n"
		 "\n"
		 "  -g, --group G   seal the index to G's members only\n"
		 "      --cache     upload the files' encrypted copies too\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 ok, 1 roamd not running or it refused, 2 bad usage.\n",
};

const struct cli_command cli_unpublish = {
	.name = "unpublish",
	.run = unpublish_main,
	.summary = "Stop serving the published directory",
	.usage = "Usage: roam [-i IFACE] unpublish [--socket PATH]\n"
		 "\n"
		 "roamd's file service stops serving what roam publish published, and\n"
		 "its index is deleted from the server.\n"
		 "\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 ok, 1 roamd not running or it refused, 2 bad usage.\n",
};
