/* The roam command line: a table of subcommands, one file each. */
#ifndef ROAM_CLI_CLI_H
#define ROAM_CLI_CLI_H

#include <stdint.h>
#include <stdio.h>

#define CLI_KEY_LEN 32
#define CLI_KEY_B64_LEN 44

/* Exit codes: success, failure, bad usage (as getopt-style tools do). */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

struct cli_command {
	const char *name;
	int (*run)(int argc, char *argv[]); /* argv[0] is the subcommand name */
	const char *summary;                /* one line for `roam --help` */
	const char *usage;                  /* full text for `roam CMD --help` */
};

extern const struct cli_command cli_genkey;
extern const struct cli_command cli_pubkey;
extern const struct cli_command cli_status;

void cli_usage(FILE *out, const struct cli_command *cmd);
int cli_is_help(const char *arg); /* "-h" or "--help" */

/* Base64 of a 32-byte key; decode accepts only the canonical 44 characters. */
void cli_key_to_base64(char out[CLI_KEY_B64_LEN + 1], const uint8_t key[CLI_KEY_LEN]);
int cli_key_from_base64(uint8_t key[CLI_KEY_LEN], const char *text); /* 0 or -EINVAL */

#endif
