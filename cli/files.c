/* roam files [--json] | roam files cancel ID: the transfers roamd's file
 * service knows since it started, sent and received, with their state. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static void render(FILE *out, const cJSON *files)
{
	const cJSON *o;
	if (cJSON_GetArraySize(files) == 0) {
		fprintf(out, "no files sent or received since roamd started\n");
		return;
	}
	fprintf(out, "%-6s %-9s %-16s %-10s %19s  %s\n", "ID", "DIRECTION", "PEER", "STATE", "BYTES", "NAME");
	cJSON_ArrayForEach(o, files) {
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "size");
		const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(o, "bytes");
		char done[16], total[16], amount[40];
		cli_human_bytes(cJSON_IsNumber(bytes) ? bytes->valuedouble : 0, done, sizeof(done));
		cli_human_bytes(cJSON_IsNumber(size) ? size->valuedouble : 0, total, sizeof(total));
		snprintf(amount, sizeof(amount), "%s/%s", done, total);
		fprintf(out, "%-6s %-9s %-16s %-10s %19s  %s", jstr(o, "id"), jstr(o, "direction"), jstr(o, "peer"),
			jstr(o, "state"), amount, jstr(o, "name"));
		if (*jstr(o, "path"))
			fprintf(out, " -> %s", jstr(o, "path"));
		if (*jstr(o, "error"))
			fprintf(out, " (%s)", jstr(o, "error"));
		const cJSON *s;
		int k = 0;
		cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(o, "sources")) { /* a pull's holders */
			const cJSON *b = cJSON_GetObjectItemCaseSensitive(s, "bytes");
			cli_human_bytes(cJSON_IsNumber(b) ? b->valuedouble : 0, done, sizeof(done));
			fprintf(out, "%s%s %s%s", k++ ? ", " : " [from ", jstr(s, "peer"), done,
				strcmp(jstr(s, "state"), "active") == 0 ? "" : " dropped");
		}
		fputs(k ? "]\n" : "\n", out);
	}
}

/* Slow while a transfer runs for long (a progress bar needs no more), fast
 * at its start and near its end: roamd reports an end at once (the file
 * worker's wake), so `roam push` of a small file or the last bytes of a
 * large one are not held up by a quarter of a second. */
#define POLL_SLOW_MS 250
#define POLL_FAST_MS 20
#define POLL_FAST_START_S 1.0 /* small transfers end within it */
#define POLL_FAST_END_S 0.4   /* the time left at the rate so far */

long cli_files_poll_ms(double elapsed_s, double size, double bytes, double rate)
{
	if (elapsed_s < POLL_FAST_START_S || (size > 0 && bytes >= size) || (rate > 0 && (size - bytes) / rate < POLL_FAST_END_S))
		return POLL_FAST_MS;
	return POLL_SLOW_MS;
}

static int files_main(const struct cli_global *g, int argc, char *argv[])
{
	struct cli_args args;
	int r;
	if (argc >= 2 && strcmp(argv[1], "cancel") == 0) {
		if ((r = cli_parse(&cli_files, CLI_ARG_SOCKET | CLI_ARG_OPERAND, argc - 1, argv + 1, &args)) >= 0)
			return r;
		if (!args.operand)
			return cli_usage_error(&cli_files, "files cancel: give a transfer's id");
		cJSON *req = cJSON_CreateObject();
		cJSON_AddStringToObject(req, "cmd", "files_cancel");
		cJSON_AddStringToObject(req, "id", args.operand);
		char *text = cJSON_PrintUnformatted(req);
		cJSON_Delete(req);
		cJSON *reply = text ? cli_ctl_call(g, "files", args.socket_path, text) : NULL;
		free(text);
		cJSON_Delete(reply);
		return reply ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	if ((r = cli_parse(&cli_files, CLI_ARG_JSON | CLI_ARG_SOCKET, argc, argv, &args)) >= 0)
		return r;
	cJSON *reply = cli_ctl_call(g, "files", args.socket_path, "{\"cmd\":\"files\"}");
	if (!reply)
		return CLI_EXIT_FAIL;
	r = cli_output(cJSON_GetObjectItemCaseSensitive(reply, "files"), args.json, render);
	cJSON_Delete(reply);
	return r;
}

const struct cli_command cli_files = {
	.name = "files",
	.run = files_main,
	.summary = "List files sent and received, or cancel a push",
	.usage = "Usage: roam [-i IFACE] files [--json] [--socket PATH]\n"
		 "       roam [-i IFACE] files cancel ID [--socket PATH]\n"
		 "\n"
		 "Lists the files this node's roamd sent (roam push) and received since it\n"
		 "started, the 64 newest: id, direction, peer, state, bytes, name, and where a\n"
		 "received file is in the inbox (a pulled one: its sources and what each\n"
		 "gave). States: hashing, connecting, sending,\n"
		 "waiting (the connection broke: retrying), receiving; for an offline peer\n"
		 "uploading, queued (on the server), downloading; then delivered, received,\n"
		 "failed (with why), cancelled. `files cancel ID` stops a transfer (a queued\n"
		 "file is deleted from the server).\n"
		 "\n"
		 "  -j, --json      the list as a JSON array\n"
		 "      --socket PATH  control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 ok, 1 roamd not running or it refused, 2 bad usage.\n",
};
