/* roam path use PEER ID|--auto: the user's choice of the path a peer's
 * data takes (with `roam set --handover confirm`, better paths wait for it). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

enum { PATH_OPT_AUTO = 1 };

static int path_main(const struct cli_global *g, int argc, char *argv[])
{
	static const struct args_opt opts[] = {
		{ "auto", 0, false, PATH_OPT_AUTO },
		CLI_SOCKET_OPTION,
	};
	const char *operands[3] = { NULL, NULL, NULL }, *socket_path = NULL;
	unsigned n = 0;
	bool automatic = false;
	struct args_parser p;
	int c, status = CLI_EXIT_USAGE;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cli_next(&cli_path, &p, &status)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR: return status;
		case PATH_OPT_AUTO: automatic = true; break;
		case CLI_OPT_SOCKET: socket_path = p.value; break;
		case ARGS_OPERAND:
			if (n == 3)
				return cli_usage_error(&cli_path, "unexpected argument '%s'", p.value);
			operands[n++] = p.value;
			break;
		default: return cli_usage_error(&cli_path, "unexpected argument '%s'", p.value);
		}
	}
	if (!operands[0] || strcmp(operands[0], "use") != 0 || !operands[1] || (!operands[2] == !automatic))
		return cli_usage_error(&cli_path, "give: use PEER ID, or use PEER --auto");
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "path_use");
	cJSON_AddStringToObject(req, "peer", operands[1]);
	cJSON_AddStringToObject(req, "id", automatic ? "auto" : operands[2]);
	char *text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!text)
		return CLI_EXIT_FAIL;
	cJSON *reply = cli_ctl_call(g, "path", socket_path, text);
	free(text);
	if (!reply)
		return CLI_EXIT_FAIL;
	cJSON_Delete(reply);
	return CLI_EXIT_OK;
}

const struct cli_command cli_path = {
	.name = "path",
	.run = path_main,
	.summary = "Choose the path a peer's data takes (roam path use PEER ID|--auto)",
	.usage = "Usage: roam [-i IFACE] path use PEER ID|--auto [--socket PATH]\n"
		 "\n"
		 "Makes path ID (its \"id\" in roam status's JSON) carry the data to PEER\n"
		 "(a name, overlay address or public key) now; --auto: the best path, as the\n"
		 "automatic mode would pick it. When roamd's settings say handover confirm\n"
		 "(roam set), a better path is only announced (roamd's log, \"better_path\"\n"
		 "in roam status's JSON) until this command takes it; a path that fails is\n"
		 "still replaced at once. Only a path that answers now can be chosen.\n"
		 "\n"
		 "      --auto         the best path\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help         this text\n"
		 "\n"
		 "Exit status: 0 switched (or already on it), 1 roamd not running, no such\n"
		 "peer or path, or the path does not answer, 2 bad usage.\n",
};
