/* Fuzzes the stream line reassembly (lib/util/linebuf.c) that roamd runs on
 * the server's /v1/stream body: the bytes arrive in chunks cut at random
 * places, and the lines that come out must be exactly the newline-split of
 * the bytes that went in, up to the first line over the limit, which must be
 * reported (and nothing after it delivered).
 *
 * Input: byte 0 picks the line limit (0..254, or 65536 for 0xff), byte 1
 * seeds the chunk boundaries, the rest is the stream. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "util/linebuf.h"

struct expect {
	const char *next; /* where the next expected line starts in the input */
	const char *end;
	size_t lines;
};

static void on_line(void *ctx, const char *line, size_t len)
{
	struct expect *e = ctx;
	const char *nl = memchr(e->next, '\n', (size_t)(e->end - e->next));
	if (!nl || (size_t)(nl - e->next) != len || memcmp(line, e->next, len) != 0 || line[len] != '\0')
		abort();
	e->next = nl + 1;
	e->lines++;
}

/* The first line longer than max, complete or not; NULL if none. */
static const char *first_long_line(const char *p, const char *end, size_t max)
{
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		if ((size_t)(stop - p) > max)
			return p;
		if (!nl)
			break;
		p = nl + 1;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct linebuf lb;
	struct expect e;
	uint32_t rng;
	size_t max, off = 0;
	int ret = 0;

	if (size < 2)
		return 0;
	max = data[0] == 0xff ? 65536 : data[0];
	rng = data[1] * 2654435761u + 1;
	e.next = (const char *)data + 2;
	e.end = (const char *)data + size;
	e.lines = 0;
	linebuf_init(&lb, max);
	while (off < size - 2 && ret == 0) {
		rng ^= rng << 13;
		rng ^= rng >> 17;
		rng ^= rng << 5;
		/* Mostly short chunks, sometimes empty ones, sometimes long ones. */
		size_t chunk = rng % 8 == 0 ? rng % 4096 : rng % 24;
		if (chunk > size - 2 - off)
			chunk = size - 2 - off;
		ret = linebuf_feed(&lb, data + 2 + off, chunk, on_line, &e);
		off += chunk;
	}
	const char *too_long = first_long_line((const char *)data + 2, e.end, max);
	if (too_long) {
		/* Everything before the long line was delivered, then refused. */
		if (ret != -EMSGSIZE || e.next != too_long || linebuf_feed(&lb, "\n", 1, on_line, &e) != -EMSGSIZE)
			abort();
	} else {
		/* Whatever follows the last newline is pending, not delivered. */
		if (ret != 0 || linebuf_pending(&lb) != (size_t)(e.end - e.next) || memchr(e.next, '\n', linebuf_pending(&lb)))
			abort();
	}
	if (lb.cap > max + 1)
		abort();
	linebuf_free(&lb);
	return 0;
}
