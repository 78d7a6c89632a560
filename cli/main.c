/* roam: the command-line tool (after wireguard-tools src/wg.c). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#ifndef ROAM_VERSION
#define ROAM_VERSION "unknown"
#endif

static const struct cli_command *const commands[] = {
	&cli_up,
	&cli_down,
	&cli_status,
	&cli_whois,
	&cli_genkey,
	&cli_pubkey,
};
#define COMMANDS_COUNT (sizeof(commands) / sizeof(commands[0]))

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < COMMANDS_COUNT; i++) {
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	}
	return NULL;
}

static void show_usage(FILE *out)
{
	fputs("Usage: roam <command> [<args>]\n\nCommands:\n", out);
	for (size_t i = 0; i < COMMANDS_COUNT; i++)
		fprintf(out, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fputs("  help     Show this text, or `roam help <command>` for one command\n"
	      "\nOptions: -h, --help   this text;  --version   print the version\n", out);
}

/* `roam help [command]` */
static int help_main(int argc, char *argv[])
{
	const struct cli_command *cmd;

	if (argc < 2) {
		show_usage(stdout);
		return CLI_EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (!cmd || argc > 2) {
		fprintf(stderr, "roam help: unknown command '%s'\n\n", argv[1]);
		show_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	cli_usage(stdout, cmd);
	return CLI_EXIT_OK;
}

int main(int argc, char *argv[])
{
	const struct cli_command *cmd;

	if (argc < 2) {
		show_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (cli_is_help(argv[1]))
		return help_main(argc - 1, argv + 1) == CLI_EXIT_OK ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if (strcmp(argv[1], "help") == 0)
		return help_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "--version") == 0) {
		printf("roam %s\n", ROAM_VERSION);
		return CLI_EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "roam: unknown command '%s'\n\n", argv[1]);
		show_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	return cmd->run(argc - 1, argv + 1);
}
