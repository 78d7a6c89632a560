/* roam version: this program's version, as text or JSON. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"

#ifndef ROAM_VERSION
#define ROAM_VERSION "unknown"
#endif

static int version_main(const struct cli_global *g, int argc, char *argv[])
{
	static const struct args_opt opts[] = { CLI_JSON_OPTION };
	struct args_parser p;
	bool json = false;
	int c, r = CLI_EXIT_FAIL;

	(void)g;
	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cli_next(&cli_version, &p, &r)) != ARGS_DONE) {
		if (c == ARGS_ERROR)
			return r;
		if (c == CLI_OPT_JSON)
			json = true;
		else
			return cli_usage_error(&cli_version, "unexpected argument '%s'", p.value);
	}
	if (!json) {
		printf("roam %s\n", ROAM_VERSION);
		return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "program", "roam");
	cJSON_AddStringToObject(o, "version", ROAM_VERSION);
	r = cli_print_json(o);
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
