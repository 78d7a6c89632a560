#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/ctl.h"

#define CLI_START_HINT "start it with `systemctl start roamd` or `roamd &`"

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "roam %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(`roam %s --help` lists its options)\n", cmd->name);
	return CLI_EXIT_USAGE;
}

int cli_next(const struct cli_command *cmd, struct args_parser *p, int *status)
{
	int c = args_next(p);

	if (c == ARGS_HELP) {
		fputs(cmd->usage, stdout);
		*status = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		return ARGS_ERROR;
	}
	if (c == ARGS_ERROR)
		*status = cli_usage_error(cmd, "%s", p->error);
	return c;
}

int cli_print_json(const cJSON *value)
{
	char *text = cJSON_Print(value);

	if (!text)
		return CLI_EXIT_FAIL;
	puts(text);
	cJSON_free(text);
	return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* The only control socket in CTL_SOCKET_DIR; with several, name them. */
static int cli_find_socket(const char *name, char *buf, size_t size)
{
	char names[512] = "";
	size_t found = 0, off = 0;
	struct dirent *e;
	DIR *dir = opendir(CTL_SOCKET_DIR);

	while (dir && (e = readdir(dir)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len <= 5 || strcmp(e->d_name + len - 5, ".sock") != 0 || e->d_type != DT_SOCK)
			continue;
		if (found++ == 0)
			snprintf(buf, size, "%s/%s", CTL_SOCKET_DIR, e->d_name);
		if (off < sizeof(names))
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%.*s", off ? ", " : "",
						(int)(len - 5), e->d_name);
	}
	if (dir)
		closedir(dir);
	if (found == 1)
		return 0;
	if (found == 0)
		fprintf(stderr, "roam %s: roamd is not running (no control socket in %s): " CLI_START_HINT "\n", name,
			CTL_SOCKET_DIR);
	else
		fprintf(stderr, "roam %s: several roamd are running (%s): choose one with `roam -i IFACE %s`\n", name,
			names, name);
	return -ENOENT;
}

static int cli_socket_path(const struct cli_global *g, const char *name, const char *given, char *buf,
			   size_t size)
{
	int r;

	if (given) {
		snprintf(buf, size, "%s", given);
		return 0;
	}
	if (!g->interface)
		return cli_find_socket(name, buf, size);
	if ((r = ctl_socket_path(buf, size, g->interface)) < 0)
		fprintf(stderr, "roam %s: '%s' is not an interface name\n", name, g->interface);
	return r;
}

static void report_ctl_error(const char *name, int err, const char *path)
{
	struct stat st;

	switch (err) {
	case -ECONNREFUSED:
		/* A socket file nobody listens on: roamd died without removing it. */
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) == 0) {
			fprintf(stderr,
				"roam %s: roamd is not running (it left a stale control socket at %s, now removed): "
				CLI_START_HINT "\n", name, path);
			break;
		}
		/* fall through */
	case -ENOENT:
		fprintf(stderr, "roam %s: roamd is not running (no control socket at %s): " CLI_START_HINT "\n", name,
			path);
		break;
	case -EACCES:
	case -EPERM:
		fprintf(stderr, "roam %s: permission denied on %s: the control socket is for root (try sudo)\n", name,
			path);
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

cJSON *cli_ctl_call(const struct cli_global *g, const char *name, const char *socket_path, const char *request)
{
	char path[CTL_SOCKET_PATH_MAX + 1], *reply = NULL;
	int r;

	if (cli_socket_path(g, name, socket_path, path, sizeof(path)) < 0)
		return NULL;
	if ((r = ctl_request(path, request, &reply)) < 0) {
		report_ctl_error(name, r, path);
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
		fprintf(stderr, "roam %s: %s\n", name, error->valuestring);
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

int cli_no_arguments(const struct cli_command *cmd, int argc, char *argv[])
{
	struct args_parser p;
	int c, r = CLI_EXIT_FAIL;

	args_init(&p, NULL, 0, argc, argv, 1);
	c = cli_next(cmd, &p, &r);
	if (c == ARGS_DONE)
		return -1;
	if (c == ARGS_ERROR)
		return r;
	return cli_usage_error(cmd, "unexpected argument '%s'", p.value);
}
