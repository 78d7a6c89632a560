/* Stream line reassembly (lib/util/linebuf.c), table-driven: each case is a
 * stream cut into chunks, the line limit, the lines that must come out and
 * the final result. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "util/linebuf.h"

struct got {
	char text[256]; /* lines joined with '|' */
	size_t count;
};

static void on_line(void *ctx, const char *line, size_t len)
{
	struct got *g = ctx;
	size_t used = strlen(g->text);
	CHECK_EQ(line[len], '\0');
	if (used + len + 2 < sizeof(g->text)) {
		if (g->count)
			g->text[used++] = '|';
		memcpy(g->text + used, line, len);
		g->text[used + len] = '\0';
	}
	g->count++;
}

struct lb_case {
	const char *name;
	size_t max_line;
	const char *chunks[6]; /* NULL-terminated */
	const char *lines;     /* expected, joined with '|' */
	size_t count;
	int ret;               /* of the last feed */
	size_t pending;
};

static const struct lb_case cases[] = {
	{ "one line, one chunk", 64, { "{\"type\":\"ping\"}\n" }, "{\"type\":\"ping\"}", 1, 0, 0 },
	{ "split anywhere", 64, { "ab", "c\nd", "", "ef\n\n" }, "abc|def|", 3, 0, 0 },
	{ "partial tail kept", 64, { "a\nbc" }, "a", 1, 0, 2 },
	{ "empty lines", 64, { "\n\n" }, "|", 2, 0, 0 },
	{ "exactly the limit", 3, { "abc\n" }, "abc", 1, 0, 0 },
	{ "one over the limit", 3, { "ab", "cd\n" }, "", 0, -EMSGSIZE, 2 },
	{ "over the limit without a newline", 3, { "a\nbcde" }, "a", 1, -EMSGSIZE, 0 },
	{ "nothing after an overflow", 2, { "abc\n", "d\n" }, "", 0, -EMSGSIZE, 0 },
	{ "zero limit takes empty lines only", 0, { "\n", "x" }, "", 1, -EMSGSIZE, 0 },
};

static void run_case(const struct lb_case *c)
{
	struct linebuf lb;
	struct got g = { .text = "" };
	int ret = 0;

	linebuf_init(&lb, c->max_line);
	for (size_t i = 0; c->chunks[i]; i++)
		ret = linebuf_feed(&lb, c->chunks[i], strlen(c->chunks[i]), on_line, &g);
	if (strcmp(g.text, c->lines) != 0 || g.count != c->count || ret != c->ret)
		fprintf(stderr, "%s: lines \"%s\" (%zu) ret %d\n", c->name, g.text, g.count, ret);
	CHECK(strcmp(g.text, c->lines) == 0);
	CHECK_EQ(g.count, c->count);
	CHECK_EQ(ret, c->ret);
	if (ret == 0)
		CHECK_EQ(linebuf_pending(&lb), c->pending);
	CHECK(lb.cap <= c->max_line + 1);
	linebuf_free(&lb);
}

/* A long line grows the buffer on demand, never past the limit. */
static void test_growth(void)
{
	static char big[100000];
	struct linebuf lb;
	struct got g = { .text = "" };

	memset(big, 'x', sizeof(big));
	linebuf_init(&lb, sizeof(big));
	CHECK_EQ(lb.cap, 0);
	for (size_t off = 0; off < sizeof(big); off += 1000)
		CHECK_EQ(linebuf_feed(&lb, big + off, 1000, on_line, &g), 0);
	CHECK_EQ(linebuf_pending(&lb), sizeof(big));
	CHECK(lb.cap <= sizeof(big) + 1);
	CHECK_EQ(linebuf_feed(&lb, "\n", 1, on_line, &g), 0);
	CHECK_EQ(g.count, 1);
	CHECK_EQ(linebuf_feed(&lb, big, sizeof(big), on_line, &g), 0);
	CHECK_EQ(linebuf_feed(&lb, "y", 1, on_line, &g), -EMSGSIZE);
	CHECK_EQ(linebuf_feed(&lb, "\n", 1, on_line, &g), -EMSGSIZE);
	CHECK_EQ(g.count, 1);
	linebuf_free(&lb);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_growth();
	return check_report("test_linebuf");
}
