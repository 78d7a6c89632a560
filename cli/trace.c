/* roam trace PEER: each path to a peer in segments, like traceroute: the
 * local interface and address, the NAT's public mapping, the relay if any,
 * the peer, with the round trip of each segment that can be measured
 * (cli/render_trace.c builds it from roamd's status). */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

static int trace_main(const struct cli_global *g, int argc, char *argv[])
{
	struct cli_args args;
	int r;

	if ((r = cli_parse(&cli_trace, CLI_ARG_JSON | CLI_ARG_SOCKET | CLI_ARG_OPERAND, argc, argv, &args)) >= 0)
		return r;
	if (!args.operand)
		return cli_usage_error(&cli_trace, "give a peer's name, overlay address or public key");
	cJSON *status = cli_ctl_call(g, "trace", args.socket_path, "{\"cmd\":\"status\"}");
	if (!status)
		return CLI_EXIT_FAIL;
	cJSON *trace = cli_trace_build(status, args.operand);
	cJSON_Delete(status);
	if (!trace) {
		fprintf(stderr, "roam trace: no peer '%s' (roam status lists them)\n", args.operand);
		return CLI_EXIT_FAIL;
	}
	r = cli_output(trace, args.json, cli_render_trace);
	cJSON_Delete(trace);
	return r;
}

const struct cli_command cli_trace = {
	.name = "trace",
	.run = trace_main,
	.summary = "Show each path to a peer in segments, with their round trips",
	.usage = "Usage: roam [-i IFACE] trace PEER [--json] [--socket PATH]\n"
		 "\n"
		 "Shows every path to PEER (a name, an overlay address or a public key), one\n"
		 "block per path, like traceroute: the local interface and source address,\n"
		 "the NAT's public mapping (as the peer saw us on that path, else as the\n"
		 "server's BINDING saw us), the relay if the path is relayed (with the\n"
		 "relay link's round trip to the server), and the peer's address, with the\n"
		 "path's own round trip end to end (from its probes). Segments roamd cannot\n"
		 "measure have no round trip.\n"
		 "\n"
		 "  -j, --json      the same as JSON: {\"peer\",\"paths\":[{\"id\",\"transport\",\n"
		 "                  \"state\",\"segments\":[{\"hop\",\"address\",\"rtt_ms\"...}]}]}\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Managed mode. Exit status: 0 success, 1 failure (roamd not running, no\n"
		 "such peer), 2 bad usage.\n",
};
