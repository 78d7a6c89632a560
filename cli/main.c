/* roam: the command-line tool (after wireguard-tools src/wg.c). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

#ifndef ROAM_VERSION
#define ROAM_VERSION "unknown"
#endif

static const struct cli_command *const commands[] = {
	&cli_up, &cli_down, &cli_status, &cli_ip, &cli_whois, &cli_ping, &cli_netcheck, &cli_version, &cli_genkey,
	&cli_pubkey, &cli_metrics, &cli_push, &cli_pull, &cli_files, &cli_publish, &cli_unpublish, &cli_ls, &cli_set, &cli_path, &cli_policy, &cli_trace,
};
#define COMMANDS_COUNT (sizeof(commands) / sizeof(commands[0]))

enum { MAIN_OPT_INTERFACE = 1 };

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
	fputs("Usage: roam [-i IFACE] <command> [<options>]\n"
	      "\n"
	      "The commands (`roam help CMD` or `roam CMD --help` gives a command's options\n"
	      "and exit status):\n",
	      out);
	for (size_t i = 0; i < COMMANDS_COUNT; i++)
		fprintf(out, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fputs("  help     This list of commands, or `roam help CMD` for one command's options\n"
	      "\n"
	      "Options:\n"
	      "  -i, --interface IFACE  the roamd to talk to, by its interface (its socket is\n"
	      "                         " CTL_SOCKET_DIR "/IFACE.sock); needed only when several run\n"
	      "  -h, --help             this text\n"
	      "  -V, --version          print the version\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 bad usage.\n",
	      out);
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
		fprintf(stderr, "roam help: unknown command '%s' (`roam help` lists them)\n", argv[argc > 2 ? 2 : 1]);
		return CLI_EXIT_USAGE;
	}
	fputs(cmd->usage, stdout);
	return CLI_EXIT_OK;
}

int main(int argc, char *argv[])
{
	static const struct args_opt opts[] = {
		{ "interface", 'i', true, MAIN_OPT_INTERFACE },
		{ "version", 'V', false, ARGS_OPT_VERSION },
	};
	struct cli_global g = { .interface = NULL };
	const struct cli_command *cmd;
	struct args_parser p;
	int c, r;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	p.stop_at_operand = true;
	while ((c = args_next_program(&p, "roam", ROAM_VERSION, show_usage, &r)) != ARGS_DONE) {
		if (c == ARGS_ERROR)
			return r;
		g.interface = p.value; /* -i, --interface */
	}
	if (p.index >= argc) {
		show_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	argc -= p.index;
	argv += p.index;
	if (strcmp(argv[0], "help") == 0)
		return help_main(argc, argv);
	cmd = find_command(argv[0]);
	if (!cmd) {
		fprintf(stderr, "roam: unknown command '%s' (`roam help` lists them)\n", argv[0]);
		return CLI_EXIT_USAGE;
	}
	return cmd->run(&g, argc, argv);
}
