/* The roam command line: a table of subcommands, one file each. */
#ifndef ROAM_CLI_CLI_H
#define ROAM_CLI_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "crypto/crypto.h"

#define CLI_KEY_LEN 32
#define CLI_KEY_B64_LEN CRYPTO_KEY_B64_LEN

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
extern const struct cli_command cli_up;
extern const struct cli_command cli_down;
extern const struct cli_command cli_whois;

void cli_usage(FILE *out, const struct cli_command *cmd);
int cli_is_help(const char *arg); /* "-h" or "--help" */

/* One request to roamd over the control socket. Returns the parsed reply
 * object (the caller cJSON_Delete()s it), or NULL after printing why, as
 * `roam NAME: ...`, on stderr: roamd not running, permission, timeout, or
 * an {"error": ...} reply. */
struct cJSON;
struct cJSON *cli_ctl_call(const char *name, const char *socket_path, const char *request);
/* "--socket PATH" / "--socket=PATH" at argv[*i]: 1 if consumed, 0 if not
 * that option, -1 if PATH is missing. */
int cli_socket_opt(int argc, char *argv[], int *i, const char **path);

#endif
