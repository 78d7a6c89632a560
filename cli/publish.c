/* roam publish DIR | roam unpublish: roamd's file service serves DIR's files
 * to peers that pull them by hash (docs/files.md, "Pull"). */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

static int publish_main(const struct cli_global *g, int argc, char *argv[])
{
	struct cli_args args;
	char dir[PATH_MAX];
	int r;
	if ((r = cli_parse(&cli_publish, CLI_ARG_SOCKET | CLI_ARG_OPERAND, argc, argv, &args)) >= 0)
		return r;
	if (!args.operand)
		return cli_usage_error(&cli_publish, "give a directory");
	/* roamd is not in our working directory: it gets the absolute path. */
	if (!realpath(args.operand, dir)) {
		fprintf(stderr, "roam publish: %s: no such directory\n", args.operand);
		return CLI_EXIT_FAIL;
	}
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "publish");
	cJSON_AddStringToObject(req, "path", dir);
	char *text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	cJSON *reply = text ? cli_ctl_call(g, "publish", args.socket_path, text) : NULL;
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
	.summary = "Serve a directory's files to peers that pull them",
	.usage = "Usage: roam [-i IFACE] publish DIR [--socket PATH]\n"
		 "\n"
		 "roamd's file service serves the regular files under DIR (and symlinks to\n"
		 "files inside DIR; a symlink out of DIR refuses the publish) to peers that\n"
		 "share a group with this node and ask for a file by its hash. Publishing\n"
		 "again replaces what was published; a file changed since is not served\n"
		 "until it is published again. The scan's result is in roamd's log.\n"
		 "\n"
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
		 "roamd's file service stops serving what roam publish published.\n"
		 "\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 ok, 1 roamd not running or it refused, 2 bad usage.\n",
};
