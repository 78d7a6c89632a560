/* roam down: leave the network until the next `roam up`. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

static int down_main(int argc, char *argv[])
{
	const char *socket_path = CTL_DEFAULT_SOCKET_PATH;
	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			cli_usage(stdout, &cli_down);
			return CLI_EXIT_OK;
		}
		if (cli_socket_opt(argc, argv, &i, &socket_path) > 0)
			continue;
		fprintf(stderr, "roam down: unknown argument '%s'\n\n", argv[i]);
		cli_usage(stderr, &cli_down);
		return CLI_EXIT_USAGE;
	}
	cJSON *reply = cli_ctl_call("down", socket_path, "{\"cmd\":\"down\"}");
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
	.usage = "Usage: roam down [--socket PATH]\n"
		 "\n"
		 "Logs this node out of its roam network: peers see it offline at once, its\n"
		 "tunnels close, and roamd stays out (also after a restart) until `roam up`.\n"
		 "The key and overlay addresses are kept.\n",
};
