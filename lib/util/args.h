/* One small, table-driven command-line parser for roam, roamd and
 * roam-server: `--opt value`, `--opt=value`, `-o value`, `-ovalue`, grouped
 * short flags (`-46`), `--` ending the options, and -h/--help built in.
 * Options and operands may be mixed (GNU style) unless stop_at_operand is
 * set (a program's global options before its subcommand).
 *
 * It never prints: a usage error leaves its message in p->error (e.g.
 * "unknown option '--sever' (did you mean --server?)") and the program
 * prints it with its own prefix and exits 2. */
#ifndef ROAM_UTIL_ARGS_H
#define ROAM_UTIL_ARGS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define ARGS_ERROR_MAX 256

struct args_opt {
	const char *name; /* long name without "--", or NULL */
	char short_name;  /* 0: none */
	bool has_value;
	int id;           /* > 0, returned by args_next() */
};

/* args_next() results besides an option's id. */
enum {
	ARGS_DONE = 0,
	ARGS_OPERAND = -1, /* p->value is the operand */
	ARGS_HELP = -2,    /* -h or --help */
	ARGS_ERROR = -3,   /* p->error says why */
};

struct args_parser {
	const struct args_opt *opts;
	size_t opts_count;
	int argc;
	char **argv;
	int index;            /* next argv element to look at */
	bool stop_at_operand; /* the first operand ends parsing: ARGS_DONE */
	const char *value;    /* the option's value, or the operand */
	char error[ARGS_ERROR_MAX];
	/* internal: where we are inside a group of short options */
	const char *short_rest;
	bool only_operands; /* after "--" */
};

/* Parses argv[first..argc). argv[0] is never looked at by convention. */
void args_init(struct args_parser *p, const struct args_opt *opts, size_t opts_count, int argc, char **argv,
	       int first);
int args_next(struct args_parser *p);

/* Decimal integer in [min, max]: 0 or -EINVAL (sets p->error naming the option). */
int args_long(struct args_parser *p, const char *option, long min, long max, long *out);
/* A decimal number (a rate: "0.5", "2", "1e3") in [min, max], finite:
 * 0 or -EINVAL (sets p->error naming the option). */
int args_double(struct args_parser *p, const char *option, double min, double max, double *out);

/* ---- for programs only (they print, like util/log.h) ---- */

/* "PROGRAM COMMAND: MESSAGE" and where the options are listed, on stderr;
 * returns 2, the usage exit status. */
int args_usage_error(const char *program, const char *command, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int args_usage_verror(const char *program, const char *command, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* args_next() for PROGRAM COMMAND: -h prints usage on stdout, a usage error
 * its message as args_usage_error() does; both then return ARGS_ERROR with
 * the exit status in *status (0, 1 if stdout failed, or 2). */
int args_next_command(struct args_parser *p, const char *program, const char *command, const char *usage,
		      int *status);
/* A program's own options, before its subcommand (set p->stop_at_operand):
 * -h prints usage(stdout), an option with id ARGS_OPT_VERSION prints
 * "PROGRAM VERSION", a usage error "PROGRAM: ERROR"; each then returns
 * ARGS_ERROR with the exit status in *status. ARGS_DONE: the subcommand is
 * at p->index. */
#define ARGS_OPT_VERSION 1000
int args_next_program(struct args_parser *p, const char *program, const char *version, void (*usage)(FILE *out),
		      int *status);

#endif
