#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"

#define CLI_START_HINT "start it with `systemctl start roamd` or `roamd &`"

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = args_usage_verror("roam", cmd->name, fmt, ap);
	va_end(ap);
	return r;
}

int cli_next(const struct cli_command *cmd, struct args_parser *p, int *status)
{
	return args_next_command(p, "roam", cmd->name, cmd->usage, status);
}

int cli_parse(const struct cli_command *cmd, unsigned flags, int argc, char *argv[], struct cli_args *out)
{
	enum { OPT_JSON = 1, OPT_4, OPT_6 };
	static const struct args_opt all[] = {
		{ "json", 'j', false, OPT_JSON }, CLI_SOCKET_OPTION, { NULL, '4', false, OPT_4 }, { NULL, '6', false, OPT_6 },
	};
	static const unsigned needs[] = { CLI_ARG_JSON, CLI_ARG_SOCKET, CLI_ARG_FAMILY, CLI_ARG_FAMILY };
	struct args_opt opts[sizeof(all) / sizeof(all[0])];
	struct args_parser p;
	size_t n = 0;
	int c, r = CLI_EXIT_FAIL;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (flags & needs[i])
			opts[n++] = all[i];
	}
	memset(out, 0, sizeof(*out));
	args_init(&p, opts, n, argc, argv, 1);
	while ((c = cli_next(cmd, &p, &r)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR: return r;
		case OPT_JSON: out->json = true; break;
		case OPT_4: out->ipv4 = true; break;
		case OPT_6: out->ipv6 = true; break;
		case CLI_OPT_SOCKET: out->socket_path = p.value; break;
		default:
			if (!(flags & CLI_ARG_OPERAND) || out->operand)
				return cli_usage_error(cmd, "unexpected argument '%s'", p.value);
			out->operand = p.value;
			break;
		}
	}
	return -1;
}

int cli_output(const cJSON *value, bool json, void (*render)(FILE *out, const cJSON *value))
{
	char *text;

	if (!json) {
		render(stdout, value);
	} else {
		if (!(text = cJSON_Print(value)))
			return CLI_EXIT_FAIL;
		puts(text);
		cJSON_free(text);
	}
	return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* d_type is DT_UNKNOWN on some file systems: ask lstat then. */
static bool cli_is_socket(DIR *dir, const struct dirent *e)
{
	struct stat st;

	if (e->d_type != DT_UNKNOWN)
		return e->d_type == DT_SOCK;
	return fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode);
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
		if (len <= 5 || strcmp(e->d_name + len - 5, ".sock") != 0 || !cli_is_socket(dir, e))
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

void cli_human_bytes(double v, char *buf, size_t size)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	int u = 0;
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void cli_render_progress(FILE *out, const char *name, double size, double bytes, double rate, bool done,
			 const char *state)
{
	char have[16], total[16], speed[16], eta[48] = "";
	int width = 24, fill = size > 0 ? (int)(width * bytes / size) : width;
	char bar[32];
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = '\0';
	cli_human_bytes(bytes, have, sizeof(have));
	cli_human_bytes(size, total, sizeof(total));
	cli_human_bytes(rate, speed, sizeof(speed));
	if (!done && rate > 0) {
		long s = (long)((size - bytes) / rate);
		snprintf(eta, sizeof(eta), " ETA %ld:%02ld", s / 60, s % 60);
	}
	fprintf(out, "\r\033[K%-24.24s [%s] %3.0f%% %9s/%-9s %9s/s%s %s\n", name, bar, size > 0 ? 100 * bytes / size : 100.0,
		have, total, speed, eta, done ? state : "");
}

double cli_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *cli_jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : "";
}

double cli_jnum(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}
