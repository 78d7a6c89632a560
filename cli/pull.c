/* roam pull PEER PATH [DEST]: roamd's file service fetches a file PEER
 * published, from every online peer of our groups that holds it, at once;
 * we start the pull and follow it by polling `files`, with a progress bar
 * on a terminal or one JSON line per event with --json. Ctrl-C cancels it:
 * what arrived stays, and pulling the same file again continues it. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ctl/ctl.h"


enum { PULL_OPT_JSON = 1, PULL_OPT_HASH, PULL_OPT_ROOT, PULL_OPT_SIZE, PULL_OPT_NAME };

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}


/* "p1 20.0 MB, h2 10.0 MB, h3 (dropped) 1.2 MB" */
static void sources_text(const cJSON *o, char *buf, size_t size)
{
	const cJSON *s;
	size_t at = 0;
	buf[0] = '\0';
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(o, "sources")) {
		char b[16];
		cli_human_bytes(cli_jnum(s, "bytes"), b, sizeof(b));
		int n = snprintf(buf + at, size - at, "%s%s%s %s", at ? ", " : "", cli_jstr(s, "peer"),
				 strcmp(cli_jstr(s, "state"), "active") == 0 ? "" : " (dropped)", b);
		if (n < 0 || (size_t)n >= size - at)
			break;
		at += (size_t)n;
	}
}

static void json_event(const char *event, const cJSON *o)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "event", event);
	const char *keys[] = { "id", "name", "peer", "state", "path", "error" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (*cli_jstr(o, keys[i]))
			cJSON_AddStringToObject(e, keys[i], cli_jstr(o, keys[i]));
	cJSON_AddNumberToObject(e, "size", cli_jnum(o, "size"));
	cJSON_AddNumberToObject(e, "bytes", cli_jnum(o, "bytes"));
	cJSON_AddNumberToObject(e, "rate", cli_jnum(o, "rate"));
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "sources");
	if (src)
		cJSON_AddItemToObject(e, "sources", cJSON_Duplicate(src, true));
	char *text = cJSON_PrintUnformatted(e);
	if (text)
		printf("%s\n", text);
	fflush(stdout);
	free(text);
	cJSON_Delete(e);
}

static void cancel(const struct cli_global *g, const char *sock, const char *id)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cmd", "files_cancel");
	cJSON_AddStringToObject(o, "id", id);
	char *req = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	cJSON *r = req ? cli_ctl_call(g, "pull", sock, req) : NULL;
	cJSON_Delete(r);
	free(req);
}

static bool ended(const char *state)
{
	return strcmp(state, "received") == 0 || strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0;
}

/* Follows the pull id until it ends: 0 received, 1 not. */
static int follow(const struct cli_global *g, const char *sock, const char *id, bool json)
{
	bool tty = !json && isatty(STDOUT_FILENO), first = true, drawn = false;
	double t0 = cli_now_s(), last_event = 0, size = 0, bytes = 0, speed = 0;
	for (;;) {
		long ms = cli_files_poll_ms(cli_now_s() - t0, size, bytes, speed);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		if (!first)
			nanosleep(&ts, NULL);
		if (interrupted) {
			cancel(g, sock, id);
			fprintf(stderr, "roam pull: interrupted: cancelled (pulling again continues where it stopped)\n");
			return 130;
		}
		cJSON *r = cli_ctl_call(g, "pull", sock, "{\"cmd\":\"files\"}"), *o, *mine = NULL;
		if (!r)
			return CLI_EXIT_FAIL;
		cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(r, "files"))
			if (strcmp(cli_jstr(o, "id"), id) == 0)
				mine = o;
		if (!mine && cli_now_s() - t0 < 3) { /* the worker reports every 200 ms */
			cJSON_Delete(r);
			first = false;
			continue;
		}
		if (!mine) {
			cJSON_Delete(r);
			fprintf(stderr, "roam pull: roamd no longer lists %s (restarted?): see roam files\n", id);
			return CLI_EXIT_FAIL;
		}
		const char *state = cli_jstr(mine, "state");
		bool done = ended(state), ok = strcmp(state, "received") == 0;
		size = cli_jnum(mine, "size");
		bytes = cli_jnum(mine, "bytes");
		speed = cli_jnum(mine, "rate");
		char src[512];
		sources_text(mine, src, sizeof(src));
		if (json && (done || cli_now_s() - last_event >= 1.0)) {
			json_event(done ? state : "progress", mine);
			last_event = cli_now_s();
		} else if (tty) {
			if (drawn)
				printf("\033[2A");
			drawn = true;
			cli_render_progress(stdout, cli_jstr(mine, "name"), cli_jnum(mine, "size"), cli_jnum(mine, "bytes"),
					    cli_jnum(mine, "rate"), done, state);
			printf("\r\033[K  %s%s\n", src[0] ? "from " : strcmp(state, "connecting") == 0 ? "finding holders" : "",
			       src);
			fflush(stdout);
		}
		first = false;
		if (done && !json) {
			char b[16], rate[16];
			double secs = cli_now_s() - t0;
			cli_human_bytes(cli_jnum(mine, "size"), b, sizeof(b));
			cli_human_bytes(secs > 0 ? cli_jnum(mine, "size") / secs : 0, rate, sizeof(rate));
			if (ok)
				printf("pulled %s (%s in %.1f s, %s/s) from %s -> %s\n", cli_jstr(mine, "name"), b, secs, rate,
				       src, cli_jstr(mine, "path"));
			else
				fprintf(stderr, "roam pull: %s: %s%s%s\n", cli_jstr(mine, "name"), state,
					*cli_jstr(mine, "error") ? ": " : "", cli_jstr(mine, "error"));
		}
		cJSON_Delete(r);
		if (done)
			return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
}

static int pull_main(const struct cli_global *g, int argc, char *argv[])
{
	static const struct args_opt opts[] = {
		{ "json", 'j', false, PULL_OPT_JSON }, { "hash", 0, true, PULL_OPT_HASH },
		{ "root", 0, true, PULL_OPT_ROOT },    { "size", 0, true, PULL_OPT_SIZE },
		{ "name", 0, true, PULL_OPT_NAME },    CLI_SOCKET_OPTION,
	};
	const char *operands[3], *sock = NULL, *hash = NULL, *root = NULL, *size = NULL, *name = NULL;
	int n = 0, c, status = CLI_EXIT_FAIL;
	bool json = false;
	struct args_parser p;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cli_next(&cli_pull, &p, &status)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR: return status;
		case PULL_OPT_JSON: json = true; break;
		case PULL_OPT_HASH: hash = p.value; break;
		case PULL_OPT_ROOT: root = p.value; break;
		case PULL_OPT_SIZE: size = p.value; break;
		case PULL_OPT_NAME: name = p.value; break;
		case CLI_OPT_SOCKET: sock = p.value; break;
		case ARGS_OPERAND:
			if (n == 3)
				return cli_usage_error(&cli_pull, "unexpected argument '%s'", p.value);
			operands[n++] = p.value;
			break;
		default: return cli_usage_error(&cli_pull, "unexpected argument '%s'", p.value);
		}
	}
	bool by_hash = hash || root || size;
	if (by_hash && !(hash && root && size))
		return cli_usage_error(&cli_pull, "--hash, --root and --size go together");
	if (n < (by_hash ? 1 : 2))
		return cli_usage_error(&cli_pull, by_hash ? "give a peer" : "give a peer and a path");
	if (n > (by_hash ? 2 : 3))
		return cli_usage_error(&cli_pull, "unexpected argument '%s'", operands[n - 1]);
	char *end = NULL, dest[PATH_MAX];
	double bytes = size ? strtod(size, &end) : 0;
	if (size && (!*size || *end || bytes < 0))
		return cli_usage_error(&cli_pull, "--size: a number of bytes");
	const char *dest_arg = n > (by_hash ? 1 : 2) ? operands[n - 1] : NULL;
	if (dest_arg && !realpath(dest_arg, dest)) {
		fprintf(stderr, "roam pull: %s: no such directory\n", dest_arg);
		return CLI_EXIT_FAIL;
	}
	cJSON *req = cJSON_CreateObject(), *a;
	cJSON_AddStringToObject(req, "cmd", "pull");
	a = cJSON_AddObjectToObject(req, "args");
	cJSON_AddStringToObject(a, "peer", operands[0]);
	if (by_hash) {
		cJSON_AddStringToObject(a, "hash", hash);
		cJSON_AddStringToObject(a, "root", root);
		cJSON_AddNumberToObject(a, "size", bytes);
	} else {
		cJSON_AddStringToObject(a, "path", operands[1]);
	}
	if (name)
		cJSON_AddStringToObject(a, "name", name);
	if (dest_arg)
		cJSON_AddStringToObject(a, "dest", dest);
	char *text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	cJSON *r = text ? cli_ctl_call(g, "pull", sock, text) : NULL; /* prints why on failure */
	free(text);
	if (!r)
		return CLI_EXIT_FAIL;
	char id[16];
	snprintf(id, sizeof(id), "%s", cli_jstr(r, "id"));
	cJSON_Delete(r);
	return follow(g, sock, id, json);
}

const struct cli_command cli_pull = {
	.name = "pull",
	.run = pull_main,
	.summary = "Fetch a file a peer published, from every peer holding it",
	.usage = "Usage: roam [-i IFACE] pull PEER PATH [DEST] [--json] [--socket PATH]\n"
		 "       roam [-i IFACE] pull PEER --hash H --root R --size N [--name NAME] [DEST]\n"
		 "\n"
		 "Fetches the file PEER publishes at PATH (roam publish; PATH relative to the\n"
		 "published directory, as roam ls shows it), found in PEER's sealed index on\n"
		 "the server (so PEER may be offline), else asked of PEER. PEER must share a\n"
		 "group with this node. Every online peer of our groups that holds a file\n"
		 "with the same hash (it published, pulled or was pushed it) serves chunks\n"
		 "of it at once; each chunk is checked against the file's hash tree, a\n"
		 "source that stops or lies is dropped, and the pull finishes while one\n"
		 "remains; with no holder online, a file published with the cache option comes from\n"
		 "its encrypted copy on the server. The file lands in DEST (a directory the\n"
		 "file service's user may write) or the inbox (INBOX/PEER/), never over an\n"
		 "existing file (\"NAME (1)\").\n"
		 "A broken pull, Ctrl-C, or a restart of roamd (it continues by itself)\n"
		 "keeps what arrived; pulling the same file again continues it.\n"
		 "\n"
		 "  -j, --json      one JSON object per line: \"progress\" (at most once a\n"
		 "                  second, with the sources), then \"received\", \"failed\" or\n"
		 "                  \"cancelled\"\n"
		 "      --hash H --root R --size N  the file by its BLAKE2b-256, its chunk tree's\n"
		 "                  root (hex) and its size, from any holder (PEER first)\n"
		 "      --name NAME    the name to store it under (default: PATH's last part)\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 received, 1 refused or failed (not published, no holder\n"
		 "online, no peer sharing a group), 2 bad usage, 130 interrupted.\n",
};
