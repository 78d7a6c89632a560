/* roam-server: the coordination server ("home agent"). A subcommand table,
 * one file per subcommand (cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "server/cmd.h"
#include "server/privdrop.h"

#ifndef ROAM_VERSION
#define ROAM_VERSION "unknown"
#endif

static const struct server_cmd *const commands[] = {
	&cmd_init, &cmd_run, &cmd_nodes, &cmd_groups, &cmd_keys,
};
#define COMMANDS_COUNT (sizeof(commands) / sizeof(commands[0]))

static void show_usage(FILE *out)
{
	fputs("Usage: roam-server <command> [<args>]\n\nCommands:\n", out);
	for (size_t i = 0; i < COMMANDS_COUNT; i++)
		fprintf(out, "  %-7s %s\n", commands[i]->name, commands[i]->summary);
	fputs("  help    This text, or `roam-server help <command>`\n"
	      "\nEvery command takes --state DIR (default /var/lib/roam-server) and --help.\n", out);
}

int main(int argc, char *argv[])
{
	const char *name = argc > 1 ? argv[1] : NULL;

	if (!name) {
		show_usage(stderr);
		return CMD_EXIT_USAGE;
	}
	if (strcmp(name, "--version") == 0) {
		printf("roam-server %s\n", ROAM_VERSION);
		return CMD_EXIT_OK;
	}
	if (cmd_is_help(name) || strcmp(name, "help") == 0) {
		for (size_t i = 0; argc > 2 && i < COMMANDS_COUNT; i++) {
			if (strcmp(commands[i]->name, argv[2]) == 0) {
				fputs(commands[i]->usage, stdout);
				return CMD_EXIT_OK;
			}
		}
		show_usage(argc > 2 ? stderr : stdout);
		return argc > 2 ? CMD_EXIT_USAGE : CMD_EXIT_OK;
	}
	if (privdrop_to_state_owner(argc - 1, argv + 1) < 0)
		return CMD_EXIT_FAIL;
	for (size_t i = 0; i < COMMANDS_COUNT; i++) {
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i]->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "roam-server: unknown command '%s'\n\n", name);
	show_usage(stderr);
	return CMD_EXIT_USAGE;
}
