/* Polling the node stream (docs/control-protocol.md, "Polling the
 * stream"): GET /v1/stream?poll=1 answers a plain reply whose first line
 * names the poll session and the seq of the line after it; the lines that
 * follow are the stream's own, numbered from there. */
#ifndef ROAM_COORD_STREAM_POLL_H
#define ROAM_COORD_STREAM_POLL_H

#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"

#define COORD_POLL_SESSION_LEN 16 /* random bytes */
#define COORD_POLL_SESSION_TEXT 22 /* base64url, unpadded */
#define COORD_POLL_WAIT_MS 25000   /* the default and longest hold: below common proxy idle timeouts */
#define COORD_POLL_REPLY_LINES_BYTES (1024 * 1024) /* lines per reply beyond the first */
/* A reply holds one line of any size (a full view) or lines up to the
 * above: a node accepts this much. */
#define COORD_POLL_REPLY_MAX (COORD_STREAM_LINE_MAX + COORD_POLL_REPLY_LINES_BYTES + 256)
#define COORD_POLL_SEQ_MAX (1ull << 53) /* exact in JSON numbers */
/* The server dropped lines the node had not taken (its queue overflowed):
 * the node starts a new session, which begins with the full state. */
#define COORD_LINE_RESYNC "{\"type\":\"resync\"}\n"

struct coord_poll_head {
	char session[COORD_POLL_SESSION_TEXT + 1];
	uint64_t seq; /* of the first line after the head; >= 1 */
};

/* Server: the head line ("\n"-terminated) into buf: its length, or -ENOSPC. */
int coord_poll_head_build(char *buf, size_t size, const char *session, uint64_t seq);

/* Node: the whole reply is checked first (a valid head, then lines each
 * ending in "\n", none empty, at most COORD_POLL_REPLY_MAX bytes), then
 * on_line is called per line (without its "\n") with its seq. Malformed:
 * -EPROTO, and nothing is delivered. A callback's negative return stops
 * the walk and is returned. *head is set on success. */
int coord_poll_reply_parse(const char *body, size_t len, struct coord_poll_head *head,
			   int (*on_line)(void *ctx, uint64_t seq, const char *line, size_t len), void *ctx);

#endif
