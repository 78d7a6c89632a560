/* Fuzzes the poll reply of the node stream (lib/coord/stream_poll.c), what
 * roamd reads from GET /v1/stream?poll=1: a reply either parses whole or
 * fails with nothing delivered; the lines delivered are the body after the
 * head, each once, numbered on from the head's seq, none empty, none with
 * a newline inside.
 *
 * Input: the reply's body. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coord/stream_poll.h"
#include "fuzz/fuzz.h"

struct walk {
	const char *body;
	size_t len, next_off, lines;
	uint64_t next_seq;
};

static int on_line(void *ctx, uint64_t seq, const char *line, size_t len)
{
	struct walk *w = ctx;

	if (w->lines && seq != w->next_seq)
		abort();
	if (!len || memchr(line, '\n', len) || line < w->body || line + len >= w->body + w->len || line[len] != '\n')
		abort();
	if (w->lines && (size_t)(line - w->body) != w->next_off)
		abort();
	w->next_seq = seq + 1;
	w->next_off = (size_t)(line - w->body) + len + 1;
	w->lines++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coord_poll_head head;
	struct walk w = { .body = (const char *)data, .len = size };
	int rc = coord_poll_reply_parse((const char *)data, size, &head, on_line, &w);

	if (rc < 0 && (rc != -EPROTO || w.lines))
		abort();
	if (rc == 0) {
		if (head.seq < 1 || strlen(head.session) != COORD_POLL_SESSION_TEXT)
			abort();
		if (w.lines && (w.next_off != size || w.next_seq - w.lines != head.seq))
			abort();
	}
	return 0;
}
