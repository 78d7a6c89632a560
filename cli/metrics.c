/* roam metrics: this node's counters as Prometheus text, from roamd's
 * status over the control socket (local only: no port is opened). */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

static int metrics_main(const struct cli_global *g, int argc, char *argv[])
{
	struct cli_args args;
	cJSON *status;
	int r;

	if ((r = cli_parse(&cli_metrics, CLI_ARG_SOCKET, argc, argv, &args)) >= 0)
		return r;
	if (!(status = cli_ctl_call(g, "metrics", args.socket_path, "{\"cmd\":\"status\"}")))
		return CLI_EXIT_FAIL;
	cli_render_metrics(stdout, status);
	cJSON_Delete(status);
	return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

const struct cli_command cli_metrics = {
	.name = "metrics",
	.run = metrics_main,
	.summary = "Print this node's metrics in Prometheus text format",
	.usage = "Usage: roam [-i IFACE] metrics [--socket PATH]\n"
		 "\n"
		 "Per-peer bytes and packets, last handshakes, path state, and drops by\n"
		 "reason, as Prometheus text (docs/admin-api.md, \"Metrics\"). roamd opens no\n"
		 "port for them: run this from a node_exporter textfile collector, e.g.\n"
		 "  roam metrics > /var/lib/prometheus/node-exporter/roam.prom\n"
		 "\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 printed, 1 roamd not running, 2 bad usage.\n",
};
