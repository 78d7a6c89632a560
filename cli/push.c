/* roam push FILE... PEER: roamd's file service sends the files over the
 * overlay; we start one push per file, then follow them by polling
 * `files`, with a progress bar per file on a terminal or one JSON line per
 * event with --json. Ctrl-C cancels the pushes this command started: the
 * receiver keeps what it got, and pushing the same file again continues
 * from there. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

#define PUSH_MAX_FILES 16 /* the file service runs at most 16 pushes at once */

enum { PUSH_OPT_JSON = 1 };

struct push_file {
	char path[PATH_MAX];
	char id[16];
	char state[16];
	double size, bytes, rate;
	bool done, ok, queued;
	double last_event; /* --json: when we last printed its progress */
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void bar_line(const struct push_file *f)
{
	cli_render_progress(stdout, base_name(f->path), f->size, f->bytes, f->rate, f->done, f->state);
}

static void json_event(const char *event, const struct push_file *f, const char *error)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", event);
	cJSON_AddStringToObject(o, "id", f->id);
	cJSON_AddStringToObject(o, "file", f->path);
	cJSON_AddStringToObject(o, "state", f->state);
	cJSON_AddNumberToObject(o, "size", f->size);
	cJSON_AddNumberToObject(o, "bytes", f->bytes);
	cJSON_AddNumberToObject(o, "rate", f->rate);
	if (error && *error)
		cJSON_AddStringToObject(o, "error", error);
	char *text = cJSON_PrintUnformatted(o);
	if (text)
		printf("%s\n", text);
	fflush(stdout);
	free(text);
	cJSON_Delete(o);
}

static char *request(const char *cmd, const char *k1, const char *v1, const char *k2, const char *v2)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cmd", cmd);
	if (k1)
		cJSON_AddStringToObject(o, k1, v1);
	if (k2)
		cJSON_AddStringToObject(o, k2, v2);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* Updates the files from a `files` reply; true when every one is done. */
static bool update(struct push_file *files, int n, const cJSON *reply, bool json, bool tty)
{
	bool all = true;
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(reply, "files"), *o;
	for (int i = 0; i < n; i++) {
		struct push_file *f = &files[i];
		if (f->done)
			continue;
		cJSON_ArrayForEach(o, arr) {
			if (strcmp(cli_jstr(o, "id"), f->id) != 0)
				continue;
			snprintf(f->state, sizeof(f->state), "%s", cli_jstr(o, "state"));
			f->size = cli_jnum(o, "size");
			f->bytes = cli_jnum(o, "bytes");
			f->rate = cli_jnum(o, "rate");
			/* queued: on the server for an offline peer; roamd turns its
			 * receipt into "delivered" later (roam files). */
			f->done = strcmp(f->state, "delivered") == 0 || strcmp(f->state, "failed") == 0 ||
				  strcmp(f->state, "cancelled") == 0 || strcmp(f->state, "queued") == 0;
			f->ok = strcmp(f->state, "delivered") == 0 || strcmp(f->state, "queued") == 0;
			f->queued = strcmp(f->state, "queued") == 0;
			if (json && (f->done || cli_now_s() - f->last_event >= 1.0)) {
				json_event(f->done ? f->state : "progress", f, cli_jstr(o, "error"));
				f->last_event = cli_now_s();
			} else if (!json && !tty && f->done) {
				printf("%s: %s%s%s\n", f->path, f->state, *cli_jstr(o, "error") ? ": " : "", cli_jstr(o, "error"));
			}
		}
		all &= f->done;
	}
	return all;
}

static void redraw(const struct push_file *files, int n, bool first)
{
	if (!first)
		printf("\033[%dA", n);
	for (int i = 0; i < n; i++)
		bar_line(&files[i]);
	fflush(stdout);
}

static void cancel_all(const struct cli_global *g, const char *sock, struct push_file *files, int n)
{
	for (int i = 0; i < n; i++) {
		if (files[i].done || !files[i].id[0])
			continue;
		char *req = request("files_cancel", "id", files[i].id, NULL, NULL);
		cJSON *r = req ? cli_ctl_call(g, "push", sock, req) : NULL;
		cJSON_Delete(r);
		free(req);
	}
}

static int push_main(const struct cli_global *g, int argc, char *argv[])
{
	static const struct args_opt opts[] = { { "json", 'j', false, PUSH_OPT_JSON }, CLI_SOCKET_OPTION };
	static struct push_file files[PUSH_MAX_FILES + 1];
	const char *operands[PUSH_MAX_FILES + 1], *sock = NULL;
	int n = 0, c, status = CLI_EXIT_FAIL;
	bool json = false;
	struct args_parser p;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cli_next(&cli_push, &p, &status)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR: return status;
		case PUSH_OPT_JSON: json = true; break;
		case CLI_OPT_SOCKET: sock = p.value; break;
		case ARGS_OPERAND:
			if (n > PUSH_MAX_FILES)
				return cli_usage_error(&cli_push, "at most %d files at once", PUSH_MAX_FILES);
			operands[n++] = p.value;
			break;
		default: return cli_usage_error(&cli_push, "unexpected argument '%s'", p.value);
		}
	}
	if (n < 2)
		return cli_usage_error(&cli_push, "give one or more files and a peer");
	const char *peer = operands[--n];
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (!realpath(operands[i], files[i].path) || stat(files[i].path, &st) < 0 || !S_ISREG(st.st_mode)) {
			fprintf(stderr, "roam push: %s: not a readable regular file\n", operands[i]);
			return CLI_EXIT_FAIL;
		}
	}
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	int started = 0;
	for (int i = 0; i < n; i++, started++) {
		char *req = request("push", "path", files[i].path, "peer", peer);
		cJSON *r = req ? cli_ctl_call(g, "push", sock, req) : NULL; /* prints why on failure */
		free(req);
		if (!r)
			break;
		snprintf(files[i].id, sizeof(files[i].id), "%s", cli_jstr(r, "id"));
		snprintf(files[i].state, sizeof(files[i].state), "hashing");
		cJSON_Delete(r);
	}
	if (started < n) {
		cancel_all(g, sock, files, started);
		return CLI_EXIT_FAIL;
	}
	bool tty = !json && isatty(STDOUT_FILENO);
	double t0 = cli_now_s();
	for (bool first = true, all = false; !all; first = false) {
		long ms = 1000;
		for (int i = 0; i < n; i++)
			if (!files[i].done) {
				long m = cli_files_poll_ms(cli_now_s() - t0, files[i].size, files[i].bytes, files[i].rate);
				ms = m < ms ? m : ms;
			}
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		if (!first)
			nanosleep(&ts, NULL);
		if (interrupted) {
			cancel_all(g, sock, files, n);
			fprintf(stderr, "roam push: interrupted: cancelled (pushing again continues where it stopped)\n");
			return 130;
		}
		cJSON *r = cli_ctl_call(g, "push", sock, "{\"cmd\":\"files\"}");
		if (!r)
			return CLI_EXIT_FAIL;
		all = update(files, n, r, json, tty);
		cJSON_Delete(r);
		if (tty)
			redraw(files, n, first);
	}
	int ok = 0, queued = 0;
	double bytes = 0, secs = cli_now_s() - t0;
	for (int i = 0; i < n; i++) {
		ok += files[i].ok;
		queued += files[i].queued;
		bytes += files[i].ok ? files[i].size : 0;
	}
	if (json) {
		printf("{\"event\":\"summary\",\"delivered\":%d,\"queued\":%d,\"failed\":%d,\"bytes\":%.0f,\"seconds\":%.3f}\n",
		       ok - queued, queued, n - ok, bytes, secs);
	} else {
		char b[16], r[16];
		cli_human_bytes(bytes, b, sizeof(b));
		cli_human_bytes(secs > 0 ? bytes / secs : 0, r, sizeof(r));
		if (queued)
			printf("%d of %d file%s queued on the server for %s (offline; encrypted for it alone): "
			       "`roam files` shows when it is delivered\n", queued, n, n == 1 ? "" : "s", peer);
		if (ok > queued)
			printf("%d of %d file%s delivered to %s: %s in %.1f s (%s/s)\n", ok - queued, n, n == 1 ? "" : "s",
			       peer, b, secs, r);
	}
	return ok == n ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

const struct cli_command cli_push = {
	.name = "push",
	.run = push_main,
	.summary = "Send files to a peer's inbox over the overlay",
	.usage = "Usage: roam [-i IFACE] push FILE... PEER [--json] [--socket PATH]\n"
		 "\n"
		 "Sends each FILE (up to 16) to PEER (a name, an overlay address or a public\n"
		 "key), which must share a group with this node. Online, roamd's file service\n"
		 "sends them over the overlay (inside the WireGuard tunnel) to the peer's file\n"
		 "service, which checks each file's BLAKE2b hash and stores it in its inbox\n"
		 "(INBOX/SENDER/NAME; an existing file is never overwritten: the new one\n"
		 "becomes \"NAME (1).ext\"). A broken connection is retried for two minutes\n"
		 "and continues where it stopped; so does pushing the same file again after\n"
		 "Ctrl-C or a restart.\n"
		 "\n"
		 "Offline, the file is encrypted for PEER alone and uploaded to the server,\n"
		 "which cannot read it or its name and keeps it until PEER is back (7 days by\n"
		 "default, within quotas); the push then ends \"queued\", and `roam files`\n"
		 "shows \"delivered\" once PEER's receipt came back.\n"
		 "\n"
		 "On a terminal: a progress bar per file (bytes, rate, time left) and a\n"
		 "summary. Ctrl-C cancels the pushes.\n"
		 "\n"
		 "  -j, --json      one JSON object per line: \"progress\" (at most once a second\n"
		 "                  per file), \"delivered\", \"queued\", \"failed\" or \"cancelled\"\n"
		 "                  per file, then a \"summary\"\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 all delivered (or queued), 1 a file failed or was refused\n"
		 "(the server's quota: its message), 2 bad usage,\n"
		 "130 interrupted.\n",
};
