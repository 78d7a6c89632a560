#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

void cli_usage(FILE *out, const struct cli_command *cmd)
{
	fputs(cmd->usage, out);
}

int cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}


static void report_ctl_error(const char *name, int err, const char *path)
{
	switch (err) {
	case -ENOENT:
	case -ECONNREFUSED:
		fprintf(stderr, "roamd is not running (no control socket at %s)\n", path);
		break;
	case -EACCES:
	case -EPERM:
		fprintf(stderr, "roam %s: permission denied on %s (the control socket is for root)\n", name, path);
		break;
	case -ETIMEDOUT:
		fprintf(stderr, "roam %s: roamd did not answer within %d seconds\n", name, CTL_CLIENT_TIMEOUT_MS / 1000);
		break;
	case -ECONNRESET:
		fprintf(stderr, "roam %s: roamd closed the connection without an answer\n", name);
		break;
	default:
		fprintf(stderr, "roam %s: %s: %s\n", name, path, strerror(-err));
		break;
	}
}

cJSON *cli_ctl_call(const char *name, const char *socket_path, const char *request)
{
	char *reply = NULL;
	int r = ctl_request(socket_path, request, &reply);
	if (r < 0) {
		report_ctl_error(name, r, socket_path);
		return NULL;
	}
	cJSON *root = cJSON_Parse(reply);
	free(reply);
	if (!cJSON_IsObject(root)) {
		fprintf(stderr, "roam %s: roamd sent a reply that is not a JSON object\n", name);
		cJSON_Delete(root);
		return NULL;
	}
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (cJSON_IsString(error)) {
		fprintf(stderr, "roam %s: roamd: %s\n", name, error->valuestring);
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

int cli_socket_opt(int argc, char *argv[], int *i, const char **path)
{
	const char *arg = argv[*i];
	if (strncmp(arg, "--socket=", 9) == 0 && arg[9]) {
		*path = arg + 9;
		return 1;
	}
	if (strcmp(arg, "--socket") != 0)
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*path = argv[++*i];
	return 1;
}
