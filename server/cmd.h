/* roam-server's subcommands: one file each (cmd_*.c), shared helpers in
 * cmd_common.c. Exit codes: 0 ok, 1 failure, 2 usage. */
#ifndef ROAM_SERVER_CMD_H
#define ROAM_SERVER_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "server/identity.h"
#include "server/store.h"
#include "util/args.h"

#define CMD_EXIT_OK 0
#define CMD_EXIT_FAIL 1
#define CMD_EXIT_USAGE 2

struct server_cmd {
	const char *name;
	const char *summary;
	const char *usage; /* full help text */
	int (*run)(int argc, char *argv[]);
};

extern const struct server_cmd cmd_init, cmd_run, cmd_nodes, cmd_groups, cmd_keys, cmd_relays, cmd_relay;
extern const struct server_cmd cmd_events, cmd_admins; /* issue 12 */

/* The options every subcommand has. */
#define CMD_OPT_STATE 100
#define CMD_STATE_OPTION { "state", 's', true, CMD_OPT_STATE }
#define CMD_OPT_JSON 101
#define CMD_JSON_OPTION { "json", 'j', false, CMD_OPT_JSON }

/* "roam-server CMD: MESSAGE" and a hint on stderr; returns CMD_EXIT_USAGE. */
int cmd_usage_error(const struct server_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* args_next() for a subcommand: -h prints its usage, a usage error the
 * message; both then return ARGS_ERROR with the exit status in *status. */
int cmd_next(const struct server_cmd *cmd, struct args_parser *p, int *status);

/* "CMD [--state DIR] [--json] ACTION ARGS...": the action (default "list")
 * and its arguments in words. */
#define CMD_WORDS_MAX 3
struct cmd_words {
	const char *dir;
	bool json;
	const char *words[CMD_WORDS_MAX];
	size_t count;
};
/* -1 to go on, or the exit status after -h (0) or a usage error (2). */
int cmd_parse_words(const struct server_cmd *cmd, int argc, char *argv[], struct cmd_words *out);
/* A cJSON value on stdout, indented; 0 or -EIO. */
struct cJSON;
int cmd_print_json(const struct cJSON *value);

/* Opens <state>/state.db, printing a clear error naming the file, and for a
 * missing state what to do ("run `roam-server init` first"). */
int cmd_open_store(const struct server_cmd *cmd, const char *state_dir, struct store **out);
/* 0 if <state>/state.db exists; else prints that error and returns -ENOENT. */
int cmd_state_exists(const struct server_cmd *cmd, const char *state_dir);
/* An admin change (server/admin/ops.h): through the running server's admin
 * socket, or on the database when no server runs (st: an open store to
 * use then, or NULL to open one). A refused change is printed as
 * "roam-server WHAT: why". 0 with *reply (the caller frees it), or -errno. */
int cmd_admin_apply(const char *what, const char *state_dir, struct store *st, struct cJSON *req,
		    struct cJSON **reply);
/* The same for a request of string fields: "op", key1: value1 and, unless
 * key2 is NULL, key2: value2; prints "DONE" on success. */
int cmd_admin_simple(const char *what, const char *state_dir, const char *done, const char *op, const char *key1,
		     const char *value1, const char *key2, const char *value2);
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
