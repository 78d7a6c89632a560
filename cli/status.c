/* roam status: ask roamd over the control socket and show the answer, as a
 * table for people (like `wg show`) or as JSON for scripts. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

static int status_main(const struct cli_global *g, int argc, char *argv[])
{
	static const struct args_opt opts[] = { CLI_JSON_OPTION, CLI_SOCKET_OPTION };
	const char *socket_path = NULL;
	struct args_parser p;
	bool json = false;
	int c, r = CLI_EXIT_FAIL;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cli_next(&cli_status, &p, &r)) != ARGS_DONE) {
		if (c == ARGS_ERROR)
			return r;
		if (c == CLI_OPT_JSON)
			json = true;
		else if (c == CLI_OPT_SOCKET)
			socket_path = p.value;
		else
			return cli_usage_error(&cli_status, "unexpected argument '%s'", p.value);
	}
	cJSON *root = cli_ctl_call(g, "status", socket_path, "{\"cmd\":\"status\"}");
	if (!root)
		return CLI_EXIT_FAIL;
	if (json) {
		r = cli_print_json(root);
	} else {
		cli_render_status(stdout, root);
		r = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
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
