/* Reassembles '\n'-separated lines from a byte stream that arrives in chunks
 * cut anywhere (an HTTP body, a socket). No I/O: bytes go in, whole lines come
 * out through a callback. The buffer grows on demand up to the caller's
 * limit, so a peer can make us hold at most max_line + 1 bytes. */
#ifndef ROAM_UTIL_LINEBUF_H
#define ROAM_UTIL_LINEBUF_H

#include <stddef.h>

struct linebuf {
	char *buf;       /* the partial line, NUL-terminated when non-NULL */
	size_t len, cap;
	size_t max_line; /* longest line accepted, newline excluded */
	int err;         /* 0, or the final -EMSGSIZE / -ENOMEM */
};

/* Called once per complete line, without its newline; line[len] == '\0'
 * (the line may hold other NUL bytes). Valid during the call only; cb must
 * not free or re-init lb (linebuf_feed() goes on with the next line). */
typedef void (*linebuf_line_cb)(void *ctx, const char *line, size_t len);

void linebuf_init(struct linebuf *lb, size_t max_line);
/* Feeds n bytes; calls cb for each line they complete. 0, or -EMSGSIZE once
 * a line (complete or not) exceeds max_line, -ENOMEM if growing failed: both
 * are final, later calls return them without reading data. */
int linebuf_feed(struct linebuf *lb, const void *data, size_t n, linebuf_line_cb cb, void *ctx);
/* Bytes held of the line not yet terminated. */
size_t linebuf_pending(const struct linebuf *lb);
void linebuf_free(struct linebuf *lb); /* frees the buffer; lb can be fed again after init */

#endif
