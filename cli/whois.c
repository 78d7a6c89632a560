/* roam whois NAME|ADDRESS: which node (a peer, or this node) has that name
 * or overlay address, from roamd's status. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

static int whois_main(const struct cli_global *g, int argc, char *argv[])
{
	struct cli_args args;
	int r;

	if ((r = cli_parse(&cli_whois, CLI_ARG_JSON | CLI_ARG_SOCKET | CLI_ARG_OPERAND, argc, argv, &args)) >= 0)
		return r;
	if (!args.operand)
		return cli_usage_error(&cli_whois, "give a node's name or overlay address");
	cJSON *status = cli_ctl_call(g, "whois", args.socket_path, "{\"cmd\":\"status\"}");
	if (!status)
		return CLI_EXIT_FAIL;
	cJSON *who = cli_status_find(status, args.operand);
	cJSON_Delete(status);
	if (!who) {
		fprintf(stderr, "roam whois: no node named or addressed '%s' in this node's view "
				"(`roam status` lists the peers it shares a group with)\n", args.operand);
		return CLI_EXIT_FAIL;
	}
	r = cli_output(who, args.json, cli_render_whois);
	cJSON_Delete(who);
	return r;
}

const struct cli_command cli_whois = {
	.name = "whois",
	.run = whois_main,
	.summary = "Show which node has a name or overlay address (peers and this node)",
	.usage = "Usage: roam [-i IFACE] whois NAME|ADDRESS [--json] [--socket PATH]\n"
		 "\n"
		 "Names the node that has NAME, or owns ADDRESS (an overlay IPv6 or IPv4\n"
		 "address): this node itself, or a peer with whether it is online, how we\n"
		 "reach it, its overlay addresses, public key and current endpoint. Only\n"
		 "peers sharing a group with this node are known.\n"
		 "\n"
		 "  -j, --json      the node as a JSON object (\"self\": true for this node)\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 found, 1 not found or roamd not running, 2 bad usage.\n",
};
