/* roam ip: this node's overlay addresses, one per line (like `tailscale ip`). */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

/* One address a line: IPv4 first, as `tailscale ip` does. */
static void ip_render(FILE *out, const cJSON *addrs)
{
	static const char *const families[] = { "ipv4", "ipv6" };
	const cJSON *item;

	for (size_t i = 0; i < 2; i++) {
		cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(addrs, families[i])) {
			if (cJSON_IsString(item))
				fprintf(out, "%s\n", item->valuestring);
		}
	}
}

static int ip_main(const struct cli_global *g, int argc, char *argv[])
{
	struct cli_args args;
	int r;

	if ((r = cli_parse(&cli_ip, CLI_ARG_FAMILY | CLI_ARG_JSON | CLI_ARG_SOCKET, argc, argv, &args)) >= 0)
		return r;
	if (!args.ipv4 && !args.ipv6)
		args.ipv4 = args.ipv6 = true;
	cJSON *status = cli_ctl_call(g, "ip", args.socket_path, "{\"cmd\":\"status\"}");
	if (!status)
		return CLI_EXIT_FAIL;
	cJSON *addrs = cli_status_addresses(status);
	cJSON_Delete(status);
	if (!addrs)
		return CLI_EXIT_FAIL;
	if (!args.ipv4)
		cJSON_DeleteItemFromObjectCaseSensitive(addrs, "ipv4");
	if (!args.ipv6)
		cJSON_DeleteItemFromObjectCaseSensitive(addrs, "ipv6");
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(addrs, "ipv4")) +
		    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(addrs, "ipv6")) ==
	    0) {
		fputs("roam ip: this node has no overlay address yet (join with `roam up`)\n", stderr);
		r = CLI_EXIT_FAIL;
	} else {
		r = cli_output(addrs, args.json, ip_render);
	}
	cJSON_Delete(addrs);
	return r;
}

const struct cli_command cli_ip = {
	.name = "ip",
	.run = ip_main,
	.summary = "Show this node's overlay addresses, one per line",
	.usage = "Usage: roam [-i IFACE] ip [-4|-6] [--json] [--socket PATH]\n"
		 "\n"
		 "Prints this node's overlay addresses (IPv4 first, then IPv6), one per line,\n"
		 "without prefix length: in managed mode the ones the server gave it, in static\n"
		 "mode the configured Address lines.\n"
		 "\n"
		 "  -4              only the IPv4 address\n"
		 "  -6              only the IPv6 address\n"
		 "  -j, --json      {\"ipv4\": [...], \"ipv6\": [...]}\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 success, 1 no address yet or roamd not running, 2 bad usage.\n",
};
