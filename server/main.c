/* roam-server: the coordination server ("home agent"). A subcommand table,
 * one file per subcommand (cmd_*.c). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "server/cmd.h"
#include "server/privdrop.h"

#ifndef ROAM_VERSION
#define ROAM_VERSION "unknown"
#endif

static int version_main(int argc, char *argv[]);

static const struct server_cmd cmd_version = {
	.name = "version",
	.summary = "Show roam-server's version (also `roam-server --version`)",
	.usage = "Usage: roam-server version [--json]\n"
		 "\n"
		 "Prints \"roam-server VERSION\", or {\"program\": \"roam-server\", \"version\": VERSION}.\n"
		 "\n"
		 "  -j, --json  as JSON\n"
		 "  -h, --help  this text\n"
		 "\n"
		 "Exit status: 0 success, 2 bad usage.\n",
	.run = version_main,
};

static const struct server_cmd *const commands[] = {
	&cmd_init, &cmd_run, &cmd_nodes, &cmd_groups, &cmd_keys, &cmd_relays, &cmd_relay, &cmd_events, &cmd_admins, &cmd_version,
};
#define COMMANDS_COUNT (sizeof(commands) / sizeof(commands[0]))

static int version_main(int argc, char *argv[])
{
	static const struct args_opt opts[] = { CMD_JSON_OPTION };
	struct args_parser p;
	bool json = false;
	int c, r = CMD_EXIT_FAIL;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cmd_next(&cmd_version, &p, &r)) != ARGS_DONE) {
		if (c == ARGS_ERROR)
			return r;
		if (c != CMD_OPT_JSON)
			return cmd_usage_error(&cmd_version, "unexpected argument '%s'", p.value);
		json = true;
	}
	if (!json) {
		printf("roam-server %s\n", ROAM_VERSION);
		return fflush(stdout) == 0 ? CMD_EXIT_OK : CMD_EXIT_FAIL;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "program", "roam-server");
	cJSON_AddStringToObject(o, "version", ROAM_VERSION);
	r = cmd_print_json(o) < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
	cJSON_Delete(o);
	return r;
}

static void show_usage(FILE *out)
{
	fputs("Usage: roam-server <command> [<options>]\n"
	      "\n"
	      "The commands (`roam-server help CMD` or `roam-server CMD --help` gives a\n"
	      "command's options and exit status):\n",
	      out);
	for (size_t i = 0; i < COMMANDS_COUNT; i++)
		fprintf(out, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fputs("  help     This list of commands, or `roam-server help CMD` for one command's options\n"
	      "\n"
	      "Every command but version takes --state DIR (default " SERVER_STATE_DIR_DEFAULT ").\n"
	      "Options: -h, --help   this text;  -V, --version   print the version\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 bad usage.\n",
	      out);
}

static const struct server_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < COMMANDS_COUNT; i++) {
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	}
	return NULL;
}

/* `roam-server help [command]` */
static int help_main(int argc, char *argv[])
{
	const struct server_cmd *cmd;

	if (argc < 2) {
		show_usage(stdout);
		return CMD_EXIT_OK;
	}
	if (!(cmd = find_command(argv[1])) || argc > 2) {
		fprintf(stderr, "roam-server help: unknown command '%s' (`roam-server help` lists them)\n",
			argv[argc > 2 ? 2 : 1]);
		return CMD_EXIT_USAGE;
	}
	fputs(cmd->usage, stdout);
	return CMD_EXIT_OK;
}

int main(int argc, char *argv[])
{
	static const struct args_opt opts[] = { { "version", 'V', false, ARGS_OPT_VERSION } };
	const struct server_cmd *cmd;
	struct args_parser p;
	int r;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	p.stop_at_operand = true;
	if (args_next_program(&p, "roam-server", ROAM_VERSION, show_usage, &r) != ARGS_DONE)
		return r;
	if (p.index >= argc) {
		show_usage(stderr);
		return CMD_EXIT_USAGE;
	}
	argc -= p.index;
	argv += p.index;
	if (strcmp(argv[0], "help") == 0)
		return help_main(argc, argv);
	if (!(cmd = find_command(argv[0]))) {
		fprintf(stderr, "roam-server: unknown command '%s' (`roam-server help` lists them)\n", argv[0]);
		return CMD_EXIT_USAGE;
	}
	if (privdrop_to_state_owner(argc, argv) < 0)
		return CMD_EXIT_FAIL;
	return cmd->run(argc, argv);
}
