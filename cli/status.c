/* roam status: ask roamd over the control socket and show the answer, as a
 * table for people (like `wg show`) or as JSON for scripts. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

static int status_main(const struct cli_global *g, int argc, char *argv[])
{
	struct cli_args args;
	int r;

	if ((r = cli_parse(&cli_status, CLI_ARG_JSON | CLI_ARG_SOCKET, argc, argv, &args)) >= 0)
		return r;
	cJSON *root = cli_ctl_call(g, "status", args.socket_path, "{\"cmd\":\"status\"}");
	if (!root)
		return CLI_EXIT_FAIL;
	r = cli_output(root, args.json, cli_render_status);
	cJSON_Delete(root);
	return r;
}

const struct cli_command cli_status = {
	.name = "status",
	.run = status_main,
	.summary = "Show the running roamd's interface, network, peers and drop counters",
	.usage = "Usage: roam [-i IFACE] status [--json] [--socket PATH]\n"
		 "\n"
		 "Asks the running roamd for its state: the interface (public key, listening\n"
		 "port, MTU, addresses, drop counters), in managed mode the network (server,\n"
		 "state, error if any, this node's name and overlay addresses, public endpoint,\n"
		 "NAT), and each peer (name, online or offline, direct or relayed, endpoint,\n"
		 "allowed IPs, latest handshake, bytes transferred, persistent keepalive, drops).\n"
		 "\n"
		 "  -j, --json      print roamd's JSON reply (snake_case keys, times in unix\n"
		 "                  seconds), indented, instead of the table\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Needs root. Exit status: 0 success, 1 failure (roamd not running, ...),\n"
		 "2 bad usage.\n",
};
