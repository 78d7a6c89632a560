/* roam ip: this node's overlay addresses, one per line (like `tailscale ip`). */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

enum { IP_OPT_4 = 1, IP_OPT_6 };

static void ip_print(const cJSON *list)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, list) {
		if (cJSON_IsString(item))
			puts(item->valuestring);
	}
}

static int ip_main(const struct cli_global *g, int argc, char *argv[])
{
	static const struct args_opt opts[] = {
		{ NULL, '4', false, IP_OPT_4 }, { NULL, '6', false, IP_OPT_6 }, CLI_JSON_OPTION, CLI_SOCKET_OPTION,
	};
	const char *socket_path = NULL;
	struct args_parser p;
	bool json = false, want4 = false, want6 = false;
	int c, r = CLI_EXIT_FAIL;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cli_next(&cli_ip, &p, &r)) != ARGS_DONE) {
		if (c == ARGS_ERROR)
			return r;
		if (c == IP_OPT_4)
			want4 = true;
		else if (c == IP_OPT_6)
			want6 = true;
		else if (c == CLI_OPT_JSON)
			json = true;
		else if (c == CLI_OPT_SOCKET)
			socket_path = p.value;
		else
			return cli_usage_error(&cli_ip, "unexpected argument '%s'", p.value);
	}
	if (!want4 && !want6)
		want4 = want6 = true;
	cJSON *status = cli_ctl_call(g, "ip", socket_path, "{\"cmd\":\"status\"}");
	if (!status)
		return CLI_EXIT_FAIL;
	cJSON *addrs = cli_status_addresses(status);
	cJSON_Delete(status);
	if (!addrs)
		return CLI_EXIT_FAIL;
	cJSON *v4 = cJSON_GetObjectItemCaseSensitive(addrs, "ipv4"), *v6 = cJSON_GetObjectItemCaseSensitive(addrs, "ipv6");
	if (cJSON_GetArraySize(want4 ? v4 : NULL) + cJSON_GetArraySize(want6 ? v6 : NULL) == 0) {
		fputs("roam ip: this node has no overlay address yet (join with `roam up`)\n", stderr);
		cJSON_Delete(addrs);
		return CLI_EXIT_FAIL;
	}
	if (!want4)
		cJSON_DeleteItemFromObjectCaseSensitive(addrs, "ipv4");
	if (!want6)
		cJSON_DeleteItemFromObjectCaseSensitive(addrs, "ipv6");
	if (json) {
		r = cli_print_json(addrs);
	} else {
		ip_print(cJSON_GetObjectItemCaseSensitive(addrs, "ipv4"));
		ip_print(cJSON_GetObjectItemCaseSensitive(addrs, "ipv6"));
		r = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
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
