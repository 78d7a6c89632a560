/* roam down: leave the network until the next `roam up`. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

static int down_main(const struct cli_global *g, int argc, char *argv[])
{
	struct cli_args args;
	int r;

	if ((r = cli_parse(&cli_down, CLI_ARG_SOCKET, argc, argv, &args)) >= 0)
		return r;
	cJSON *reply = cli_ctl_call(g, "down", args.socket_path, "{\"cmd\":\"down\"}");
	if (!reply)
		return CLI_EXIT_FAIL;
	cJSON_Delete(reply);
	puts("left the network; `roam up` rejoins it");
	return CLI_EXIT_OK;
}

const struct cli_command cli_down = {
	.name = "down",
	.run = down_main,
	.summary = "Leave the roam network (peers see this node offline at once)",
	.usage = "Usage: roam [-i IFACE] down [--socket PATH]\n"
		 "\n"
		 "Logs this node out of its roam network: peers see it offline at once, its\n"
		 "tunnels close, and roamd stays out (also after a restart) until `roam up`.\n"
		 "The key and overlay addresses are kept.\n"
		 "\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 left, 1 failure (roamd not running, static mode), 2 bad usage.\n",
};
