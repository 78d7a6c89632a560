#include "util/args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int args_fail(struct args_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int args_fail(struct args_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	return ARGS_ERROR;
}

void args_init(struct args_parser *p, const struct args_opt *opts, size_t opts_count, int argc, char **argv,
	       int first)
{
	memset(p, 0, sizeof(*p));
	p->opts = opts;
	p->opts_count = opts_count;
	p->argc = argc;
	p->argv = argv;
	p->index = first;
}

/* Edit distance, capped: a typo is one or two edits away. */
static size_t args_distance(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b), prev[64], cur[64];

	if (alen >= 63 || blen >= 63)
		return 99;
	for (size_t j = 0; j <= blen; j++)
		prev[j] = j;
	for (size_t i = 1; i <= alen; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= blen; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (blen + 1) * sizeof(prev[0]));
	}
	return prev[blen];
}

static const char *args_suggest(const struct args_parser *p, const char *name, size_t len)
{
	const char *best = strncmp(name, "help", len) == 0 && len ? "help" : NULL;
	size_t best_d = best ? 0 : 3;

	for (size_t i = 0; i < p->opts_count; i++) {
		const char *o = p->opts[i].name;
		size_t d;
		if (!o)
			continue;
		d = len && strncmp(o, name, len) == 0 ? 1 : args_distance(name, len, o);
		if (d < best_d) {
			best_d = d;
			best = o;
		}
	}
	return best;
}

static int args_long_option(struct args_parser *p, const char *arg)
{
	const char *name = arg + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);

	if (len == 4 && strncmp(name, "help", 4) == 0)
		return eq ? args_fail(p, "option '--help' takes no value") : ARGS_HELP;
	for (size_t i = 0; i < p->opts_count; i++) {
		const struct args_opt *o = &p->opts[i];
		if (!o->name || strlen(o->name) != len || strncmp(o->name, name, len) != 0)
			continue;
		if (!o->has_value && eq)
			return args_fail(p, "option '--%s' takes no value", o->name);
		if (o->has_value && eq) {
			p->value = eq + 1;
		} else if (o->has_value) {
			if (p->index >= p->argc)
				return args_fail(p, "option '--%s' needs a value", o->name);
			p->value = p->argv[p->index++];
		}
		return o->id;
	}
	const char *hint = args_suggest(p, name, len);
	if (hint)
		return args_fail(p, "unknown option '--%.*s' (did you mean --%s?)", (int)len, name, hint);
	return args_fail(p, "unknown option '--%.*s'", (int)len, name);
}

static int args_short_option(struct args_parser *p)
{
	char c = *p->short_rest++;

	if (c == 'h') {
		p->short_rest = NULL;
		return ARGS_HELP;
	}
	for (size_t i = 0; i < p->opts_count; i++) {
		const struct args_opt *o = &p->opts[i];
		if (o->short_name != c)
			continue;
		if (o->has_value) {
			if (*p->short_rest) {
				p->value = p->short_rest;
			} else if (p->index < p->argc) {
				p->value = p->argv[p->index++];
			} else {
				p->short_rest = NULL;
				return args_fail(p, "option '-%c' needs a value", c);
			}
			p->short_rest = NULL;
		} else if (!*p->short_rest) {
			p->short_rest = NULL;
		}
		return o->id;
	}
	p->short_rest = NULL;
	return args_fail(p, "unknown option '-%c'", c);
}

int args_next(struct args_parser *p)
{
	const char *arg;

	p->value = NULL;
	if (p->short_rest && *p->short_rest)
		return args_short_option(p);
	if (p->index >= p->argc)
		return ARGS_DONE;
	arg = p->argv[p->index];
	if (p->only_operands || arg[0] != '-' || arg[1] == '\0') {
		if (p->stop_at_operand)
			return ARGS_DONE;
		p->index++;
		p->value = arg;
		return ARGS_OPERAND;
	}
	p->index++;
	if (strcmp(arg, "--") == 0) {
		p->only_operands = true;
		return args_next(p);
	}
	if (arg[1] == '-')
		return args_long_option(p, arg);
	p->short_rest = arg + 1;
	return args_short_option(p);
}

int args_long(struct args_parser *p, const char *option, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = p->value ? strtol(p->value, &end, 10) : 0;
	if (!p->value || !*p->value || errno || *end || v < min || v > max) {
		args_fail(p, "%s wants a number in %ld..%ld, not '%s'", option, min, max, p->value ? p->value : "");
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int args_double(struct args_parser *p, const char *option, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = p->value ? strtod(p->value, &end) : 0;
	/* Hex forms ("0x1p3"), "inf" and "nan" are not decimal numbers. */
	if (!p->value || !*p->value || errno || *end || v < min || v > max ||
	    strpbrk(p->value, "xXiInN")) {
		args_fail(p, "%s wants a number in %.10g..%.10g, not '%s'", option, min, max, p->value ? p->value : "");
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int args_usage_verror(const char *program, const char *command, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s %s: ", program, command);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n(`%s %s --help` lists its options)\n", program, command);
	return 2;
}

int args_usage_error(const char *program, const char *command, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = args_usage_verror(program, command, fmt, ap);
	va_end(ap);
	return r;
}

int args_next_command(struct args_parser *p, const char *program, const char *command, const char *usage,
		      int *status)
{
	int c = args_next(p);

	if (c == ARGS_HELP) {
		fputs(usage, stdout);
		*status = fflush(stdout) == 0 ? 0 : 1;
		return ARGS_ERROR;
	}
	if (c == ARGS_ERROR)
		*status = args_usage_error(program, command, "%s", p->error);
	return c;
}

int args_next_program(struct args_parser *p, const char *program, const char *version, void (*usage)(FILE *out),
		      int *status)
{
	int c = args_next(p);

	if (c == ARGS_HELP || c == ARGS_OPT_VERSION) {
		if (c == ARGS_HELP)
			usage(stdout);
		else
			printf("%s %s\n", program, version);
		*status = fflush(stdout) == 0 ? 0 : 1;
		return ARGS_ERROR;
	}
	if (c == ARGS_ERROR || c == ARGS_OPERAND) {
		fprintf(stderr, "%s: %s (`%s help` lists commands and options)\n", program, p->error, program);
		*status = 2;
		return ARGS_ERROR;
	}
	return c;
}
