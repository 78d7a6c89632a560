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

#include <stdbool.h>
#include <stddef.h>

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

#endif
