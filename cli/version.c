/* roam version: this program's version, as text or JSON. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "cli/cli.h"

#ifndef ROAM_VERSION
#define ROAM_VERSION "unknown"
#endif

static void version_render(FILE *out, const cJSON *v)
{
	fprintf(out, "roam %s\n", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "version")));
}

static int version_main(const struct cli_global *g, int argc, char *argv[])
{
	struct cli_args args;
	int r;

	(void)g;
	if ((r = cli_parse(&cli_version, CLI_ARG_JSON, argc, argv, &args)) >= 0)
		return r;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "program", "roam");
	cJSON_AddStringToObject(o, "version", ROAM_VERSION);
	r = cli_output(o, args.json, version_render);
	cJSON_Delete(o);
	return r;
}

const struct cli_command cli_version = {
	.name = "version",
	.run = version_main,
	.summary = "Show roam's version (also `roam --version`)",
	.usage = "Usage: roam version [--json]\n"
		 "\n"
		 "Prints \"roam VERSION\", or {\"program\": \"roam\", \"version\": VERSION}.\n"
		 "\n"
		 "  -j, --json      as JSON\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 success, 2 bad usage.\n",
};
