/* roam whois ADDRESS: which peer owns an overlay address. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

static const char *member(const cJSON *o, const char *name, const char *fallback)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : fallback;
}

static int whois_main(int argc, char *argv[])
{
	const char *socket_path = CTL_DEFAULT_SOCKET_PATH, *address = NULL;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			cli_usage(stdout, &cli_whois);
			return CLI_EXIT_OK;
		}
		if (cli_socket_opt(argc, argv, &i, &socket_path) > 0)
			continue;
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (argv[i][0] != '-' && !address) {
			address = argv[i];
		} else {
			fprintf(stderr, "roam whois: unexpected argument '%s'\n\n", argv[i]);
			cli_usage(stderr, &cli_whois);
			return CLI_EXIT_USAGE;
		}
	}
	if (!address) {
		cli_usage(stderr, &cli_whois);
		return CLI_EXIT_USAGE;
	}
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "whois");
	cJSON_AddStringToObject(req, "address", address);
	char *text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	cJSON *peer = text ? cli_ctl_call("whois", socket_path, text) : NULL;
	free(text);
	if (!peer)
		return CLI_EXIT_FAIL;
	if (json) {
		char *pretty = cJSON_Print(peer);
		puts(pretty ? pretty : "{}");
		free(pretty);
	} else {
		const cJSON *online = cJSON_GetObjectItemCaseSensitive(peer, "online");
		printf("%s: %s (%s, %s)\n  overlay: %s, %s\n  public key: %s\n  endpoint: %s\n", address,
		       member(peer, "name", "?"), cJSON_IsTrue(online) ? "online" : "offline", member(peer, "path", "?"),
		       member(peer, "ipv6", "?"), member(peer, "ipv4", "?"), member(peer, "public_key", "?"),
		       member(peer, "endpoint", "(none)"));
	}
	cJSON_Delete(peer);
	return CLI_EXIT_OK;
}

const struct cli_command cli_whois = {
	.name = "whois",
	.run = whois_main,
	.summary = "Show which peer owns an overlay address",
	.usage = "Usage: roam whois ADDRESS [--json] [--socket PATH]\n"
		 "\n"
		 "Names the peer that owns ADDRESS (an overlay IPv6 or IPv4 address in this\n"
		 "node's network): its name, whether it is online, how we reach it, its\n"
		 "overlay addresses, public key and current endpoint. Only peers sharing a\n"
		 "group with this node are known.\n",
};
