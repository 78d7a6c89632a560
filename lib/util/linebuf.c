#include "util/linebuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LINEBUF_INITIAL_CAP 4096

void linebuf_init(struct linebuf *lb, size_t max_line)
{
	memset(lb, 0, sizeof(*lb));
	lb->max_line = max_line;
}

/* Append n bytes of the current line; room for the NUL is kept. */
static int linebuf_append(struct linebuf *lb, const char *data, size_t n)
{
	if (n > lb->max_line - lb->len)
		return -EMSGSIZE;
	if (lb->len + n + 1 > lb->cap) {
		size_t cap = lb->cap ? lb->cap : LINEBUF_INITIAL_CAP;
		char *grown;
		while (cap < lb->len + n + 1)
			cap *= 2;
		if (cap > lb->max_line + 1)
			cap = lb->max_line + 1;
		grown = realloc(lb->buf, cap);
		if (!grown)
			return -ENOMEM;
		lb->buf = grown;
		lb->cap = cap;
	}
	memcpy(lb->buf + lb->len, data, n);
	lb->len += n;
	lb->buf[lb->len] = '\0';
	return 0;
}

int linebuf_feed(struct linebuf *lb, const void *data, size_t n, linebuf_line_cb cb, void *ctx)
{
	const char *p = data;
	int ret;

	if (lb->err)
		return lb->err;
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		ret = linebuf_append(lb, p, take);
		if (ret < 0) {
			lb->err = ret;
			return ret;
		}
		if (!nl)
			return 0;
		cb(ctx, lb->buf, lb->len); /* append always leaves a buffer */
		lb->len = 0;
		p += take + 1;
		n -= take + 1;
	}
	return 0;
}

size_t linebuf_pending(const struct linebuf *lb)
{
	return lb->len;
}

void linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
	lb->len = lb->cap = 0;
}
