/* relay_client's connections: blocking TLS, a small HTTP/1.1 client
 * (Content-Length and chunked replies) and WebSocket frames, masked or not. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "coord/auth.h"
#include "crypto/crypto.h"
#include "tests/integration/relay_client.h"

_Noreturn void die(const char *what)
{
	fprintf(stderr, "relay_client: %s\n", what);
	exit(2);
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int conn_open(struct conn *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (getaddrinfo(g.host, g.port, &hints, &ai) != 0)
		return -1;
	c->fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	c->ssl = SSL_new(g.ctx);
	c->in = malloc(IN_MAX);
	if (!c->ssl || !c->in || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1)
		return -1;
	return 0;
}

void conn_close(struct conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

int conn_write(struct conn *c, const void *d, size_t n)
{
	return n == 0 || SSL_write(c->ssl, d, (int)n) == (int)n ? 0 : -1;
}

/* More bytes in, waiting at most until deadline: 1, 0 timeout, -1 closed. */
int conn_fill(struct conn *c, int64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int n;

	if (c->in_len == IN_MAX)
		die("input buffer full");
	if (!SSL_pending(c->ssl)) {
		int64_t left = deadline - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return 0;
	}
	n = SSL_read(c->ssl, c->in + c->in_len, (int)(IN_MAX - c->in_len));
	if (n <= 0)
		return -1;
	c->in_len += (size_t)n;
	return 1;
}

int conn_need(struct conn *c, size_t n, int64_t deadline)
{
	int r;
	while (c->in_len < n)
		if ((r = conn_fill(c, deadline)) <= 0)
			return r;
	return 1;
}

void conn_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* The response head: status, Content-Length (-1: none), chunked. */
int http_head(struct conn *c, int64_t deadline, int *status, long *clen, bool *chunked)
{
	char *end, *p;
	int r;

	for (;;) {
		if (c->in_len >= 4 && (end = memmem(c->in, c->in_len, "\r\n\r\n", 4)))
			break;
		if ((r = conn_fill(c, deadline)) <= 0)
			return r < 0 ? -1 : 0;
	}
	*end = '\0';
	*clen = -1;
	*chunked = false;
	if (sscanf((char *)c->in, "HTTP/1.%*d %d", status) != 1)
		return -1;
	for (p = strstr((char *)c->in, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			*clen = strtol(p + 17, NULL, 10);
		if (strncasecmp(p + 2, "Transfer-Encoding: chunked", 26) == 0)
			*chunked = true;
	}
	conn_consume(c, (size_t)(end + 4 - (char *)c->in));
	return 1;
}

/* One chunk's data appended to out (size *n); 0 at the last chunk. */
int http_chunk(struct conn *c, int64_t deadline, uint8_t *out, size_t *n, size_t cap)
{
	char *crlf;
	size_t len;

	while (!(c->in_len && (crlf = memmem(c->in, c->in_len, "\r\n", 2))))
		if (conn_fill(c, deadline) <= 0)
			return -1;
	len = strtoul((char *)c->in, NULL, 16);
	conn_consume(c, (size_t)(crlf + 2 - (char *)c->in));
	if (conn_need(c, len + 2, deadline) <= 0 || *n + len > cap)
		return -1;
	memcpy(out + *n, c->in, len);
	*n += len;
	conn_consume(c, len + 2);
	return len ? 1 : 0;
}

int http_body(struct conn *c, int64_t deadline, long clen, bool chunked, uint8_t *out, size_t *n, size_t cap)
{
	int r;

	*n = 0;
	if (chunked) {
		while ((r = http_chunk(c, deadline, out, n, cap)) > 0)
			;
		return r;
	}
	if (clen <= 0)
		return 0; /* 204, or no body */
	if ((size_t)clen > cap || conn_need(c, (size_t)clen, deadline) <= 0)
		return -1;
	memcpy(out, c->in, (size_t)clen);
	*n = (size_t)clen;
	conn_consume(c, (size_t)clen);
	return 0;
}

/* A request with Roam-Auth (auth) or Roam-Session, and extra headers. */
int http_request(struct conn *c, const char *method, const char *target, bool auth, const char *extra,
			const uint8_t *body, size_t len)
{
	char head[2048], hdr[COORD_AUTH_HEADER_MAX];
	uint8_t nonce[COORD_AUTH_NONCE_LEN];

	crypto_random(nonce, sizeof(nonce));
	if (auth && coord_auth_build(hdr, sizeof(hdr), g.k, g.pub, method, target, (int64_t)time(NULL), nonce, body,
				     len) < 0)
		return -1;
	snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%s%s%s%s%s%s%sContent-Length: %zu\r\n\r\n",
		 method, target, g.server, auth ? "Roam-Auth: " : "", auth ? hdr : "", auth ? "\r\n" : "",
		 g.session[0] && !auth ? "Roam-Session: " : "", g.session[0] && !auth ? g.session : "",
		 g.session[0] && !auth ? "\r\n" : "", auth && g.ticket[0] ? "Roam-Ticket: " : "",
		 auth && g.ticket[0] ? g.ticket : "", auth && g.ticket[0] ? "\r\n" : "", len);
	if (extra)
		snprintf(head + strlen(head) - 2, sizeof(head) - strlen(head) + 2, "%s\r\n\r\n", extra);
	if (conn_write(c, head, strlen(head)) < 0 || conn_write(c, body, len) < 0)
		return -1;
	return 0;
}

int http_simple(struct conn *c, const char *method, const char *target, bool auth, const char *extra,
		       const uint8_t *body, size_t len, uint8_t *out, size_t *n, size_t cap)
{
	int64_t deadline = now_ms() + 30000;
	int status;
	long clen;
	bool chunked;

	if (http_request(c, method, target, auth, extra, body, len) < 0 ||
	    http_head(c, deadline, &status, &clen, &chunked) <= 0 ||
	    http_body(c, deadline, clen, chunked, out, n, cap) < 0)
		return -1;
	out[*n < cap ? *n : cap - 1] = 0;
	return status;
}

/* WebSocket frames, client side: masked (unless told not to). */
int ws_frame(struct conn *c, uint8_t opcode, const uint8_t *d, size_t len, bool masked)
{
	uint8_t h[14], mask[4];
	size_t hl = 2;
	uint8_t *buf = malloc(len + sizeof(h));
	int r;

	if (!buf)
		return -1;
	h[0] = 0x80 | opcode;
	if (len < 126) {
		h[1] = (uint8_t)len;
	} else if (len < 65536) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	if (masked) {
		h[1] |= 0x80;
		crypto_random(mask, sizeof(mask));
		memcpy(h + hl, mask, 4);
		hl += 4;
	}
	memcpy(buf, h, hl);
	for (size_t i = 0; i < len; i++)
		buf[hl + i] = masked ? d[i] ^ mask[i % 4] : d[i];
	r = conn_write(c, buf, hl + len);
	free(buf);
	return r;
}
