/* roam netcheck: what the network between this node and its server allows
 * (UDP, public endpoint, mapping kind, hairpinning, IPv6, port mapping,
 * latency), measured by roamd's agent now. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

static int netcheck_main(const struct cli_global *g, int argc, char *argv[])
{
	struct cli_args args;
	int r;

	if ((r = cli_parse(&cli_netcheck, CLI_ARG_JSON | CLI_ARG_SOCKET, argc, argv, &args)) >= 0)
		return r;
	cJSON *reply = cli_ctl_call(g, "netcheck", args.socket_path, "{\"cmd\":\"netcheck\"}");
	if (!reply)
		return CLI_EXIT_FAIL;
	r = cli_output(reply, args.json, cli_render_netcheck);
	cJSON_Delete(reply);
	return r;
}

const struct cli_command cli_netcheck = {
	.name = "netcheck",
	.run = netcheck_main,
	.summary = "Check what the network allows: UDP, NAT mapping, hairpinning, IPv6, port mapping",
	.usage = "Usage: roam [-i IFACE] netcheck [--json] [--socket PATH]\n"
		 "\n"
		 "Asks roamd to measure, from the tunnels' own UDP socket, what the network\n"
		 "between this node and its roam server allows, and prints it (within about\n"
		 "5 seconds; what is not known by then shows as unknown):\n"
		 "  UDP           whether the server's UDP port answers (without it tunnels\n"
		 "                cannot work until a TCP relay exists)\n"
		 "  Public        the address and port the server sees\n"
		 "  Mapping       endpoint-independent (EIM: one public port for every\n"
		 "                destination, peers can reach it) or per destination\n"
		 "                (symmetric NAT), from the server's two addresses\n"
		 "  Hairpinning   whether our NAT takes a packet to its own public address\n"
		 "                back to us\n"
		 "  IPv6          whether the server answers over IPv6, and our address\n"
		 "  Port mapping  the protocol (PCP, NAT-PMP, UPnP-IGD) that mapped the\n"
		 "                tunnels' port, and the external endpoint\n"
		 "  Server        round trip to the server (the relay is the same port)\n"
		 "Managed mode only (roamd joined to a network with `roam up`).\n"
		 "\n"
		 "  -j, --json      the result as one JSON object\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 measured (even when UDP is blocked), 1 roamd not running or\n"
		 "not in managed mode, 2 bad usage.\n",
};
