/* The roam command line: a table of subcommands, one file each. */
#ifndef ROAM_CLI_CLI_H
#define ROAM_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto/crypto.h"
#include "util/args.h"

#define CLI_KEY_LEN 32
#define CLI_KEY_B64_LEN CRYPTO_KEY_B64_LEN

/* Exit codes: success, failure, bad usage (as getopt-style tools do). */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* Options given before the subcommand: `roam -i IFACE CMD ...`. */
struct cli_global {
	const char *interface; /* NULL: the only roamd there is */
};

struct cli_command {
	const char *name;
	/* argv[0] is the subcommand name */
	int (*run)(const struct cli_global *g, int argc, char *argv[]);
	const char *summary; /* one line for `roam help` */
	const char *usage;   /* full text for `roam help CMD` and `roam CMD --help` */
};

extern const struct cli_command cli_up, cli_down, cli_status, cli_ip, cli_whois, cli_ping, cli_version, cli_genkey,
	cli_pubkey, cli_netcheck, cli_push, cli_files, cli_publish, cli_unpublish, cli_pull;
extern const struct cli_command cli_metrics; /* cli/metrics.c */
extern const struct cli_command cli_set;     /* cli/set.c */
extern const struct cli_command cli_path;    /* cli/path.c */
extern const struct cli_command cli_ls;      /* cli/ls.c */
extern const struct cli_command cli_policy;  /* cli/policy.c */
extern const struct cli_command cli_trace;   /* cli/trace.c */

/* The `--socket PATH` entry every subcommand that talks to roamd has. */
#define CLI_OPT_SOCKET 100
#define CLI_SOCKET_OPTION { "socket", 0, true, CLI_OPT_SOCKET }

/* What the simple subcommands take, chosen with flags, parsed by cli_parse(). */
enum { CLI_ARG_JSON = 1, CLI_ARG_SOCKET = 2, CLI_ARG_OPERAND = 4, CLI_ARG_FAMILY = 8 };
struct cli_args {
	bool json;               /* -j, --json */
	bool ipv4, ipv6;         /* -4, -6 */
	const char *socket_path; /* --socket PATH, or NULL */
	const char *operand;     /* the one operand, or NULL */
};
/* -1 to go on, or the exit status after -h (0) or a usage error (2). */
int cli_parse(const struct cli_command *cmd, unsigned flags, int argc, char *argv[], struct cli_args *out);

/* args_next() for a subcommand: -h prints its usage on stdout and a usage
 * error prints "roam CMD: ERROR" and a hint on stderr; both then return
 * ARGS_ERROR with the exit status in *status (0 or 2). */
int cli_next(const struct cli_command *cmd, struct args_parser *p, int *status);
/* "roam CMD: MESSAGE" and the help hint on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One request to roamd over the control socket: --socket PATH if given,
 * else /run/roam/IFACE.sock for `roam -i IFACE`, else the only socket in
 * /run/roam. Returns the parsed reply object (the caller cJSON_Delete()s
 * it), or NULL after printing why, as `roam NAME: ...`: roamd not running
 * (and how to start it), a stale socket (removed), permission, timeout, or
 * an {"error": ...} reply. */
struct cJSON;
struct cJSON *cli_ctl_call(const struct cli_global *g, const char *name, const char *socket_path,
			   const char *request);
/* value on stdout: as indented JSON, or as render() puts it for people;
 * CLI_EXIT_OK, or CLI_EXIT_FAIL if stdout failed. */
int cli_output(const struct cJSON *value, bool json, void (*render)(FILE *out, const struct cJSON *value));

/* A byte count for people: "950 B", "20.0 MB" (powers of 1000). */
void cli_human_bytes(double v, char *buf, size_t size);
double cli_now_s(void); /* CLOCK_MONOTONIC, in seconds */
/* cli/files.c: how long `roam push`/`roam pull` wait before asking roamd
 * again about a transfer elapsed_s old at bytes of size, rate bytes/s. */
long cli_files_poll_ms(double elapsed_s, double size, double bytes, double rate);
/* A reply's member: the string ("" when absent), the number (0 when absent). */
const char *cli_jstr(const struct cJSON *o, const char *name);
double cli_jnum(const struct cJSON *o, const char *name);
/* One progress line (roam push, roam pull): name, a bar, bytes, rate, time left. */
void cli_render_progress(FILE *out, const char *name, double size, double bytes, double rate, bool done,
			 const char *state);

/* ---- rendering roamd's replies (cli/render.c; fuzzed by fuzz_cli_reply) ---- */

/* `roam status` for people, from roamd's status JSON. */
void cli_render_status(FILE *out, const struct cJSON *root);
/* The node or peer in a status reply whose name or overlay address is
 * query (a copy the caller deletes, with "self" true for this node), or
 * NULL. */
struct cJSON *cli_status_find(const struct cJSON *status, const char *query);
void cli_render_whois(FILE *out, const struct cJSON *who);
/* `roam metrics`: the status reply as Prometheus text (cli/render_metrics.c). */
void cli_render_metrics(FILE *out, const struct cJSON *status);
/* `roam netcheck` for people, from roamd's netcheck reply. */
void cli_render_netcheck(FILE *out, const struct cJSON *nc);

/* `roam trace`: the segments of each path to the peer query names, built
 * from a status reply (cli/render_trace.c); NULL: no such peer. */
struct cJSON *cli_trace_build(const struct cJSON *status, const char *query);
void cli_render_trace(FILE *out, const struct cJSON *trace);
/* This node's overlay addresses (without prefix length), as {"ipv4":[...],
 * "ipv6":[...]}; from "managed", or in static mode from "addresses". */
struct cJSON *cli_status_addresses(const struct cJSON *status);

#endif
