#include "cli/cli.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

void cli_usage(FILE *out, const struct cli_command *cmd)
{
	fputs(cmd->usage, out);
}

int cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

