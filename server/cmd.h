/* roam-server's subcommands: one file each (cmd_*.c), shared helpers in
 * cmd_common.c. Exit codes: 0 ok, 1 failure, 2 usage. */
#ifndef ROAM_SERVER_CMD_H
#define ROAM_SERVER_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "server/identity.h"
#include "server/store.h"

#define CMD_EXIT_OK 0
#define CMD_EXIT_FAIL 1
#define CMD_EXIT_USAGE 2

struct server_cmd {
	const char *name;
	const char *summary;
	const char *usage; /* full help text */
	int (*run)(int argc, char *argv[]);
};

extern const struct server_cmd cmd_init, cmd_run, cmd_nodes, cmd_groups, cmd_keys;

int cmd_usage_error(const struct server_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool cmd_is_help(const char *arg);

/* Opens <state>/state.db, printing a clear error naming the file. */
int cmd_open_store(const char *state_dir, struct store **out);
/* "3600", "90s", "30m", "24h", "7d" -> seconds; -EINVAL. */
int cmd_parse_duration(const char *text, int64_t *out);
/* "2024-01-02 03:04" style UTC time or "never" */
void cmd_format_time(int64_t t, char *buf, size_t size);
/* Prints "roam up --server https://HOST:PORT --token roam1...." with the
 * state's identity and the given pre-auth key (NULL: none, wait for approval). */
int cmd_print_join(FILE *out, const char *state_dir, struct store *st, const uint8_t *preauth_key);
/* A new pre-auth key: stored (hash only), printed as a join command. */
int cmd_key_create(const char *state_dir, struct store *st, bool reusable, int64_t expires_in,
		   const char *const *groups, size_t groups_count);

#endif
