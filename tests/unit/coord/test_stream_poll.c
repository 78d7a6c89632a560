/* lib/coord/stream_poll.c, the poll reply of the node stream: a head the
 * server built parses back; the lines after it come numbered on from the
 * head's seq; a reply cut inside a line, an empty line, a bad head (type,
 * session, seq 0, a fraction, beyond 2^53) fail whole with nothing
 * delivered; a callback's error stops the walk. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "coord/stream_poll.h"

#define SESSION "abcdefghijklmnopqrstu_"

struct got {
	size_t n;
	uint64_t seq[8];
	char line[8][64];
	int fail_at; /* 1-based line whose callback fails; 0: none */
};

static int on_line(void *ctx, uint64_t seq, const char *line, size_t len)
{
	struct got *g = ctx;
	if (g->fail_at && (int)g->n + 1 == g->fail_at)
		return -ECANCELED;
	if (g->n < 8) {
		g->seq[g->n] = seq;
		snprintf(g->line[g->n], sizeof(g->line[0]), "%.*s", (int)len, line);
	}
	g->n++;
	return 0;
}

static int parse(const char *body, struct got *g, struct coord_poll_head *h)
{
	memset(g, 0, sizeof(*g));
	return coord_poll_reply_parse(body, strlen(body), h, on_line, g);
}

static void test_roundtrip(void)
{
	char body[512];
	struct coord_poll_head h;
	struct got g;
	int n = coord_poll_head_build(body, sizeof(body), SESSION, 41);

	CHECK(n > 0 && body[n - 1] == '\n');
	CHECK(coord_poll_head_build(body, 10, SESSION, 41) == -ENOSPC);
	n = coord_poll_head_build(body, sizeof(body), SESSION, 41);
	snprintf(body + n, sizeof(body) - (size_t)n, "{\"type\":\"ping\"}\n%s{\"a\":1}\n", COORD_LINE_RESYNC);
	CHECK(parse(body, &g, &h) == 0);
	CHECK(strcmp(h.session, SESSION) == 0 && h.seq == 41);
	CHECK(g.n == 3 && g.seq[0] == 41 && g.seq[1] == 42 && g.seq[2] == 43);
	CHECK(strcmp(g.line[0], "{\"type\":\"ping\"}") == 0 && strcmp(g.line[1], "{\"type\":\"resync\"}") == 0);
	/* The head alone: an empty reply. */
	body[n] = '\0';
	CHECK(parse(body, &g, &h) == 0 && g.n == 0 && h.seq == 41);
	/* A callback's error stops the walk. */
	snprintf(body + n, sizeof(body) - (size_t)n, "{\"a\":1}\n{\"b\":2}\n");
	memset(&g, 0, sizeof(g));
	g.fail_at = 2;
	CHECK(coord_poll_reply_parse(body, strlen(body), &h, on_line, &g) == -ECANCELED && g.n == 1);
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"",
		"{\"type\":\"poll\",\"session\":\"" SESSION "\",\"seq\":1}",              /* no newline */
		"{\"type\":\"poll\",\"session\":\"" SESSION "\",\"seq\":1}\n{\"a\":1}",    /* cut */
		"{\"type\":\"poll\",\"session\":\"" SESSION "\",\"seq\":1}\n{\"a\":1}\n\n", /* empty line */
		"{\"type\":\"peers\",\"session\":\"" SESSION "\",\"seq\":1}\n",
		"{\"type\":\"poll\",\"session\":\"short\",\"seq\":1}\n",
		"{\"type\":\"poll\",\"session\":\"abcdefghijklmnopqrstu=\",\"seq\":1}\n",
		"{\"type\":\"poll\",\"session\":\"" SESSION "\",\"seq\":0}\n",
		"{\"type\":\"poll\",\"session\":\"" SESSION "\",\"seq\":1.5}\n",
		"{\"type\":\"poll\",\"session\":\"" SESSION "\",\"seq\":9007199254740992}\n",
		"{\"type\":\"poll\",\"session\":\"" SESSION "\"}\n",
		"{\"type\":\"ping\"}\n{\"type\":\"poll\",\"session\":\"" SESSION "\",\"seq\":1}\n",
	};
	struct coord_poll_head h;
	struct got g;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i], &g, &h);
		if (r != -EPROTO || g.n)
			fprintf(stderr, "case %zu: %d, %zu lines\n", i, r, g.n);
		CHECK(r == -EPROTO && g.n == 0);
	}
	/* The last seq exact in JSON numbers takes one line; a second is too far. */
	CHECK(parse("{\"type\":\"poll\",\"session\":\"" SESSION "\",\"seq\":9007199254740991}\n{}\n", &g, &h) == 0);
	CHECK(parse("{\"type\":\"poll\",\"session\":\"" SESSION "\",\"seq\":9007199254740991}\n{}\n{}\n", &g, &h) ==
	      -EPROTO);
}

int main(void)
{
	test_roundtrip();
	test_malformed();
	return check_report("test_stream_poll");
}
