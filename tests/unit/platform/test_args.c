/* lib/util/args: the one command-line parser of roam, roamd and
 * roam-server, table-driven: each case is an argv and the sequence of
 * results it must give. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "util/args.h"

enum { O_SERVER = 1, O_FORCE, O_FOUR, O_SIX, O_NAME };

static const struct args_opt opts[] = {
	{ "server", 's', true, O_SERVER }, { "force", 'f', false, O_FORCE }, { NULL, '4', false, O_FOUR },
	{ NULL, '6', false, O_SIX },       { "name", 'n', true, O_NAME },
};

struct step {
	int result;
	const char *value; /* value, operand, or a piece of the error */
};

struct args_case {
	const char *argv[8];
	bool stop_at_operand;
	struct step steps[8]; /* up to and including ARGS_DONE or ARGS_ERROR */
};

static const struct args_case cases[] = {
	{ { "x", "--server", "u", NULL }, false, { { O_SERVER, "u" }, { ARGS_DONE, NULL } } },
	{ { "x", "--server=u=v", NULL }, false, { { O_SERVER, "u=v" }, { ARGS_DONE, NULL } } },
	{ { "x", "--server=", NULL }, false, { { O_SERVER, "" }, { ARGS_DONE, NULL } } },
	{ { "x", "-s", "u", NULL }, false, { { O_SERVER, "u" }, { ARGS_DONE, NULL } } },
	{ { "x", "-su", NULL }, false, { { O_SERVER, "u" }, { ARGS_DONE, NULL } } },
	{ { "x", "-46f", NULL }, false, { { O_FOUR, NULL }, { O_SIX, NULL }, { O_FORCE, NULL }, { ARGS_DONE, NULL } } },
	{ { "x", "-4sv", NULL }, false, { { O_FOUR, NULL }, { O_SERVER, "v" }, { ARGS_DONE, NULL } } },
	{ { "x", "a", "--force", "b", NULL }, false,
	  { { ARGS_OPERAND, "a" }, { O_FORCE, NULL }, { ARGS_OPERAND, "b" }, { ARGS_DONE, NULL } } },
	{ { "x", "--", "--force", "-", NULL }, false,
	  { { ARGS_OPERAND, "--force" }, { ARGS_OPERAND, "-" }, { ARGS_DONE, NULL } } },
	{ { "x", "-f", "cmd", "--force", NULL }, true, { { O_FORCE, NULL }, { ARGS_DONE, NULL } } },
	{ { "x", "--help", NULL }, false, { { ARGS_HELP, NULL } } },
	{ { "x", "-fh", NULL }, false, { { O_FORCE, NULL }, { ARGS_HELP, NULL } } },
	{ { "x", "--sever", "u", NULL }, false, { { ARGS_ERROR, "unknown option '--sever' (did you mean --server?)" } } },
	{ { "x", "--serv", NULL }, false, { { ARGS_ERROR, "(did you mean --server?)" } } },
	{ { "x", "--fprce", NULL }, false, { { ARGS_ERROR, "(did you mean --force?)" } } },
	{ { "x", "--zzzzzzzz", NULL }, false, { { ARGS_ERROR, "unknown option '--zzzzzzzz'" } } },
	{ { "x", "--server", NULL }, false, { { ARGS_ERROR, "option '--server' needs a value" } } },
	{ { "x", "-s", NULL }, false, { { ARGS_ERROR, "option '-s' needs a value" } } },
	{ { "x", "--force=yes", NULL }, false, { { ARGS_ERROR, "option '--force' takes no value" } } },
	{ { "x", "-x", NULL }, false, { { ARGS_ERROR, "unknown option '-x'" } } },
	{ { "x", "--help=1", NULL }, false, { { ARGS_ERROR, "option '--help' takes no value" } } },
};

static void run_case(const struct args_case *c)
{
	struct args_parser p;
	int argc = 0;

	while (c->argv[argc])
		argc++;
	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, (char **)(uintptr_t)c->argv, 1);
	p.stop_at_operand = c->stop_at_operand;
	for (size_t i = 0; i < 8; i++) {
		const struct step *s = &c->steps[i];
		int r = args_next(&p);
		CHECK_INT(r, ==, s->result);
		if (r == ARGS_ERROR) {
			CHECK_CONTAINS(p.error, s->value);
			return;
		}
		if (s->value)
			CHECK_STR(p.value, s->value);
		if (r == ARGS_DONE || r == ARGS_HELP)
			return;
	}
	CHECK(!"case without an end");
}

static void test_long(void)
{
	char *argv[] = { (char *)(uintptr_t)"x", (char *)(uintptr_t)"--name", (char *)(uintptr_t)"70000", NULL };
	struct args_parser p;
	long v = 0;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), 3, argv, 1);
	CHECK_INT(args_next(&p), ==, O_NAME);
	CHECK_INT(args_long(&p, "--name", 0, 65535, &v), ==, -EINVAL);
	CHECK_STR(p.error, "--name wants a number in 0..65535, not '70000'");
	CHECK_INT(args_long(&p, "--name", 0, 70000, &v), ==, 0);
	CHECK_INT(v, ==, 70000);
}

/* Rates: decimal numbers in a range; no hex, inf or nan, no trailing junk. */
static void test_double(void)
{
	static const struct {
		const char *text;
		int result;
		double value;
	} nums[] = {
		{ "2", 0, 2.0 },      { "0.5", 0, 0.5 },  { "1e2", 0, 100.0 }, { "0", 0, 0.0 },  { "abc", -EINVAL, 0 },
		{ "", -EINVAL, 0 },   { "2x", -EINVAL, 0 }, { "-1", -EINVAL, 0 }, { "1001", -EINVAL, 0 },
		{ "inf", -EINVAL, 0 }, { "nan", -EINVAL, 0 }, { "0x10", -EINVAL, 0 }, { "1e999", -EINVAL, 0 },
	};
	char *argv[] = { (char *)(uintptr_t)"x", (char *)(uintptr_t)"--name", NULL, NULL };
	struct args_parser p;

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		double v = -1.0;
		argv[2] = (char *)(uintptr_t)nums[i].text;
		args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), 3, argv, 1);
		CHECK_INT(args_next(&p), ==, O_NAME);
		CHECK_INT(args_double(&p, "--rate", 0, 1000, &v), ==, nums[i].result);
		if (nums[i].result == 0)
			CHECK(v >= nums[i].value && v <= nums[i].value);
		else
			CHECK_CONTAINS(p.error, "--rate wants a number in 0..1000, not '");
	}
}

/* A program's own options before its subcommand: -V, -h, errors. */
static void test_program(void)
{
	static const struct args_opt prog_opts[] = { { "version", 'V', false, ARGS_OPT_VERSION } };
	char *argv[] = { (char *)(uintptr_t)"x", (char *)(uintptr_t)"--", (char *)(uintptr_t)"cmd", NULL };
	struct args_parser p;
	int status = -1;

	args_init(&p, prog_opts, 1, 3, argv, 1);
	p.stop_at_operand = true;
	CHECK_INT(args_next_program(&p, "x", "1.0", NULL, &status), ==, ARGS_DONE);
	CHECK_INT(p.index, ==, 2);
	argv[1] = (char *)(uintptr_t)"--vrsion";
	args_init(&p, prog_opts, 1, 3, argv, 1);
	p.stop_at_operand = true;
	CHECK_INT(args_next_program(&p, "x", "1.0", NULL, &status), ==, ARGS_ERROR);
	CHECK_INT(status, ==, 2);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_long();
	test_double();
	test_program();
	return 0;
}
