/* roam up: join a roam network (first time: --server and --token as
 * roam-server printed them), or rejoin the one we know. Waits until the
 * node is registered, refused, or waiting for approval, and says which. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

#define UP_WAIT_MS 15000

static const char *member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static double number(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Polls roamd's status until our request (seq) settled; prints the outcome
 * in roamd's own words. */
static int wait_registered(const char *socket_path, double seq)
{
	for (long waited = 0; waited <= UP_WAIT_MS; waited += 100) {
		cJSON *root = cli_ctl_call("up", socket_path, "{\"cmd\":\"status\"}");
		if (!root)
			return CLI_EXIT_FAIL;
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "managed");
		const cJSON *up = cJSON_GetObjectItemCaseSensitive(m, "up");
		const char *state = member(m, "state"), *result = member(up, "result");
		int r = -1;
		if (number(up, "seq") == seq && result && strcmp(result, "failed") == 0) {
			fprintf(stderr, "roam up: %s\n", member(m, "error") ? member(m, "error") : "failed");
			r = CLI_EXIT_FAIL;
		} else if (number(up, "seq") == seq && result && strcmp(result, "done") == 0 && state &&
			   strcmp(state, "waiting-approval") == 0) {
			printf("registered with %s; waiting for an administrator: roam-server nodes approve\n",
			       member(m, "server"));
			r = CLI_EXIT_OK;
		} else if (number(up, "seq") == seq && result && strcmp(result, "done") == 0 && member(m, "name")) {
			const char *v6 = member(m, "ipv6"), *v4 = member(m, "ipv4");
			printf("joined %s as %s: %s%s%s\n", member(m, "server"), member(m, "name"), v6 ? v6 : "",
			       v6 && v4 ? ", " : "", v4 ? v4 : "");
			const cJSON *ov = cJSON_GetObjectItemCaseSensitive(m, "overlay");
			if (!v6 && member(ov, "ipv6"))
				printf("note: no IPv6 overlay address (%s): IPv4 only\n", member(ov, "ipv6"));
			if (!v4 && member(ov, "ipv4"))
				printf("note: no IPv4 overlay address (%s): IPv6 only\n", member(ov, "ipv4"));
			r = v6 || v4 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		}
		cJSON_Delete(root);
		if (r >= 0)
			return r;
		sleep_ms(100);
	}
	fprintf(stderr, "roam up: no answer from the server within %d s; roamd keeps trying (see roam status)\n",
		UP_WAIT_MS / 1000);
	return CLI_EXIT_FAIL;
}

static int up_main(int argc, char *argv[])
{
	const char *socket_path = CTL_DEFAULT_SOCKET_PATH, *server = NULL, *token = NULL, *name = NULL;
	bool force = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force")) {
			force = true;
			continue;
		}
		const char **slot = !strcmp(argv[i], "--server") ? &server
				    : !strcmp(argv[i], "--token") ? &token
				    : !strcmp(argv[i], "--name")  ? &name
								  : NULL;
		int s;
		if (cli_is_help(argv[i])) {
			cli_usage(stdout, &cli_up);
			return CLI_EXIT_OK;
		}
		if (slot && i + 1 < argc) {
			*slot = argv[++i];
			continue;
		}
		if (!slot && (s = cli_socket_opt(argc, argv, &i, &socket_path)) > 0)
			continue;
		fprintf(stderr, "roam up: %s '%s'\n\n", slot ? "missing value after" : "unknown argument", argv[i]);
		cli_usage(stderr, &cli_up);
		return CLI_EXIT_USAGE;
	}
	if (!server != !token) {
		fputs("roam up: --server and --token go together (as roam-server printed them)\n", stderr);
		return CLI_EXIT_USAGE;
	}
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "up");
	if (server) {
		cJSON_AddStringToObject(req, "server", server);
		cJSON_AddStringToObject(req, "token", token);
	}
	if (name)
		cJSON_AddStringToObject(req, "name", name);
	if (force)
		cJSON_AddBoolToObject(req, "force", true);
	char *text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!text)
		return CLI_EXIT_FAIL;
	cJSON *reply = cli_ctl_call("up", socket_path, text);
	free(text);
	if (!reply)
		return CLI_EXIT_FAIL;
	double seq = number(reply, "seq");
	cJSON_Delete(reply);
	return wait_registered(socket_path, seq);
}

const struct cli_command cli_up = {
	.name = "up",
	.run = up_main,
	.summary = "Join a roam network, or rejoin the one this node knows",
	.usage = "Usage: roam up [--server URL --token TOKEN] [--name NAME] [--socket PATH]\n"
		 "\n"
		 "Tells roamd to join the network of a roam-server. The first time, give the\n"
		 "--server and --token exactly as `roam-server init` or `roam-server keys create`\n"
		 "printed them; the token pins the server's identity and may carry a pre-auth\n"
		 "key (without one the node waits for `roam-server nodes approve`). Later runs\n"
		 "need no arguments: roamd remembers the network, its overlay addresses and\n"
		 "its key (which never leaves this machine). Waits up to 15 s for the outcome.\n"
		 "\n"
		 "  --name NAME     this node's name in the network (default: the hostname)\n"
		 "  --socket PATH   roamd's control socket (default " CTL_DEFAULT_SOCKET_PATH ")\n"
		 "\n"
		 "Exit status: 0 joined (or waiting for approval), 1 refused or unreachable,\n"
		 "2 bad usage.\n",
};
