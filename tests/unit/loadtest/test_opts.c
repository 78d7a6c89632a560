/* roam-loadtest's options (loadtest/lt_opts.c, on lib/util/args): every
 * number checked against its range, typos named, the checks across options;
 * --help, the man page (argv[1]) and the bash completion (argv[2]) name
 * every option the table takes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../platform/check.h"
#include "loadtest/lt.h"

struct opts_case {
	const char *argv[10];
	int result;
	const char *error; /* a piece of it */
};

#define BASE "x", "--server", "127.0.0.1:443", "--tokens", "t"

static const struct opts_case cases[] = {
	{ { BASE, NULL }, 0, NULL },
	{ { BASE, "--duration", "abc", NULL }, -EINVAL, "--duration wants a number in 0..86400, not 'abc'" },
	{ { BASE, "--big-group", "x", NULL }, -EINVAL, "--big-group wants a number" },
	{ { BASE, "--nodes", "0", NULL }, -EINVAL, "--nodes wants a number in 1..10000000, not '0'" },
	{ { BASE, "--nodes", "-5", NULL }, -EINVAL, "--nodes wants a number" },
	{ { BASE, "--procs", "65", NULL }, -EINVAL, "--procs wants a number in 1..64" },
	{ { BASE, "--move-rate", "2x", NULL }, -EINVAL, "--move-rate wants a number in 0..1000000, not '2x'" },
	{ { BASE, "--drop-rate", "-1", NULL }, -EINVAL, "--drop-rate wants a number" },
	{ { BASE, "--skew", "1e3", NULL }, -EINVAL, "--skew wants a number in -86400..86400" },
	{ { BASE, "--keep-interval", "0", NULL }, -EINVAL, "--keep-interval wants a number in 1..3600" },
	{ { BASE, "--ask", "65", NULL }, -EINVAL, "--ask wants a number in 0..64" },
	{ { BASE, "--push", "sctp", NULL }, -EINVAL, "--push wants udp or tcp, not 'sctp'" },
	{ { BASE, "--duraton", "5", NULL }, -EINVAL, "unknown option '--duraton' (did you mean --duration?)" },
	{ { BASE, "--duration", NULL }, -EINVAL, "option '--duration' needs a value" },
	{ { BASE, "--json=1", NULL }, -EINVAL, "option '--json' takes no value" },
	{ { BASE, "extra", NULL }, -EINVAL, "unexpected argument 'extra'" },
	{ { "x", "--server", "127.0.0.1:443", NULL }, -EINVAL, "--server and --tokens are needed" },
	{ { BASE, "--big-group", "100", NULL }, -EINVAL, "--big-group must be below --nodes" },
	{ { BASE, "--restart-at", "5", NULL }, -EINVAL, "--restart-at needs --restart-cmd or --pid-file" },
	{ { BASE, "--group-view-max", "50", NULL }, -EINVAL, "--group-size above --group-view-max" },
	{ { BASE, "--group-view-max", "0", "--group-size", "2000", NULL }, 0, NULL },
	{ { BASE, "--duration", "abc", "--help", NULL }, -EINVAL, "--duration wants" },
	{ { BASE, "--help", NULL }, LT_OPTS_HELP, NULL },
	{ { "x", "-h", NULL }, LT_OPTS_HELP, NULL },
};

static void run_case(const struct opts_case *c)
{
	struct lt_opts o, before;
	char error[ARGS_ERROR_MAX] = "";
	int argc = 0;

	while (c->argv[argc])
		argc++;
	lt_opts_defaults(&o);
	before = o;
	CHECK_INT(lt_opts_parse(argc, (char **)(uintptr_t)c->argv, &o, error, sizeof(error)), ==, c->result);
	if (c->error)
		CHECK_CONTAINS(error, c->error);
	if (c->result != 0)
		CHECK(memcmp(&o, &before, sizeof(o)) == 0); /* nothing set on an error */
}

/* Every value lands where it belongs. */
static void test_values(void)
{
	const char *argv[] = { BASE, "--nodes", "300", "--duration", "12", "--move-rate", "0.5", "--skew=-30",
			       "--big-group", "200", "--group-view-max", "100", "--ask", "3", "--push", "tcp",
			       "--server-pid", "42", "--full-views", "--json", NULL };
	struct lt_opts o;
	char error[ARGS_ERROR_MAX] = "";

	lt_opts_defaults(&o);
	CHECK_INT(o.ask, ==, LT_ASK_DEFAULT);
	CHECK_INT(o.group_view_max, ==, LT_GROUP_VIEW_MAX_DEFAULT);
	CHECK_INT(lt_opts_parse(sizeof(argv) / sizeof(argv[0]) - 1, (char **)(uintptr_t)argv, &o, error, sizeof(error)),
		  ==, 0);
	CHECK_STR(error, "");
	CHECK_STR(o.server_text, "127.0.0.1:443");
	CHECK_STR(o.tokens_file, "t");
	CHECK_INT(o.nodes, ==, 300);
	CHECK_INT(o.group_size, ==, 100);
	CHECK_INT(o.duration_s, ==, 12);
	CHECK(o.move_rate > 0.49 && o.move_rate < 0.51);
	CHECK_INT(o.skew_s, ==, -30);
	CHECK_INT(o.big_group, ==, 200);
	CHECK_INT(o.group_view_max, ==, 100);
	CHECK_INT(o.ask, ==, 3);
	CHECK(o.push_tcp && o.full_views && o.json);
	CHECK_INT(o.server_pid, ==, 42);
}

static void read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t len = f ? fread(buf, 1, size - 1, f) : 0;

	CHECK(f != NULL);
	if (f)
		fclose(f);
	buf[len] = '\0';
}

/* --help, the man page and the bash completion tell the truth: each names
 * every option. */
static void test_documented(const char *man_path, const char *completion_path)
{
	static char man[65536], completion[8192];

	read_file(man_path, man, sizeof(man));
	read_file(completion_path, completion, sizeof(completion));
	for (size_t i = 0; i < lt_opt_count; i++) {
		char want[64];
		snprintf(want, sizeof(want), "  --%s ", lt_opt_table[i].name);
		CHECK_CONTAINS(lt_usage_text, want);
		snprintf(want, sizeof(want), "*--%s*", lt_opt_table[i].name);
		CHECK_CONTAINS(man, want);
		snprintf(want, sizeof(want), "--%s ", lt_opt_table[i].name);
		CHECK_CONTAINS(completion, want);
	}
	CHECK_CONTAINS(lt_usage_text, "  --help ");
}

int main(int argc, char *argv[])
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_values();
	test_documented(argc > 2 ? argv[1] : "docs/man/roam-loadtest.8.scd",
			argc > 2 ? argv[2] : "contrib/completion/roam-loadtest");
	return 0;
}
