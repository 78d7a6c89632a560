/* roam ls PEER [PATH]: what a peer published, from its index on the server
 * (sealed to our groups' members: roamd's file worker opens it), even while
 * the peer is offline (docs/files.md, "The index on the server"). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

enum { LS_OPT_JSON = 1, LS_OPT_THUMBS };

static void render(FILE *out, const cJSON *root)
{
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files"), *f;
	size_t n = 0;
	cJSON_ArrayForEach(f, files) {
		const cJSON *path = cJSON_GetObjectItemCaseSensitive(f, "path");
		const cJSON *hash = cJSON_GetObjectItemCaseSensitive(f, "hash");
		double size = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(f, "size"));
		double mtime = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(f, "mtime"));
		double thumb = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(f, "thumbnail_bytes"));
		char bytes[32], when[32] = "?";
		time_t t = (time_t)mtime;
		struct tm tm;
		cli_human_bytes(size, bytes, sizeof(bytes));
		if (mtime == mtime && localtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
		bool cached = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "cached"));
		fprintf(out, "%10s  %s  %.12s  %s %s  %s\n", bytes, when, cJSON_IsString(hash) ? hash->valuestring : "",
			thumb > 0 ? "[thumb]" : "       ", cached ? "[cached]" : "        ",
			cJSON_IsString(path) ? path->valuestring : "?");
		n++;
	}
	double count = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(root, "count"));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "truncated")))
		fprintf(out, "(%zu of %.0f files shown: the rest does not fit one reply; give a PATH)\n", n, count);
	else if (n == 0)
		fprintf(out, "(nothing published)\n");
}

static int ls_main(const struct cli_global *g, int argc, char *argv[])
{
	static const struct args_opt opts[] = {
		{ "json", 'j', false, LS_OPT_JSON },
		{ "thumbs", 0, false, LS_OPT_THUMBS },
		CLI_SOCKET_OPTION,
	};
	const char *operands[2] = { NULL, NULL }, *socket_path = NULL;
	unsigned n = 0;
	bool json = false, thumbs = false;
	struct args_parser p;
	int c, status = CLI_EXIT_USAGE;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cli_next(&cli_ls, &p, &status)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR: return status;
		case LS_OPT_JSON: json = true; break;
		case LS_OPT_THUMBS: thumbs = true; break;
		case CLI_OPT_SOCKET: socket_path = p.value; break;
		case ARGS_OPERAND:
			if (n == 2)
				return cli_usage_error(&cli_ls, "unexpected argument '%s'", p.value);
			operands[n++] = p.value;
			break;
		default: return cli_usage_error(&cli_ls, "unexpected argument '%s'", p.value);
		}
	}
	if (!operands[0])
		return cli_usage_error(&cli_ls, "give a peer");
	if (thumbs && !json)
		return cli_usage_error(&cli_ls, "--thumbs goes with --json");
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "ls");
	cJSON_AddStringToObject(req, "peer", operands[0]);
	if (operands[1])
		cJSON_AddStringToObject(req, "path", operands[1]);
	cJSON_AddBoolToObject(req, "thumbs", thumbs);
	char *text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	cJSON *reply = text ? cli_ctl_call(g, "ls", socket_path, text) : NULL;
	free(text);
	if (!reply)
		return CLI_EXIT_FAIL;
	int ret = cli_output(reply, json, render);
	cJSON_Delete(reply);
	return ret;
}

const struct cli_command cli_ls = {
	.name = "ls",
	.run = ls_main,
	.summary = "List what a peer published (also while it is offline)",
	.usage = "Usage: roam [-i IFACE] ls PEER [PATH] [--json [--thumbs]] [--socket PATH]\n"
		 "\n"
		 "Lists the files PEER published with roam publish (all, or PATH and what\n"
		 "is under it): size, modification time, the start of the BLAKE2b hash,\n"
		 "[thumb] when the index holds a thumbnail, [cached] when the server keeps\n"
		 "an encrypted copy (the cache option of roam publish), and the path. The index comes\n"
		 "from the server, sealed by PEER to the members of the groups it published\n"
		 "to; roamd opens it with this node's file key, so it works while PEER is\n"
		 "offline, and only for a member of one of those groups.\n"
		 "\n"
		 "  -j, --json        everything as JSON (hash and chunk-tree root in full)\n"
		 "      --thumbs      with --json: the thumbnails too (JPEG, base64)\n"
		 "      --socket PATH control socket to ask (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help        this text\n"
		 "\n"
		 "Exit status: 0 ok, 1 roamd not running, no such peer, nothing published\n"
		 "to a group we share, or the server not reachable, 2 bad usage.\n",
};
