#include "bench/sim_http.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static int buf_add(struct sim_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > SIM_LINE_MAX * 2 || !(d = realloc(b->data, cap)))
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static void buf_consume(struct sim_buf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	if (b->data)
		b->data[b->len] = '\0';
}

SSL_CTX *sim_http_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx) {
		/* Trust comes from the pin, checked after the handshake. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
					      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	return ctx;
}

int sim_http_connect(struct sim_http *h, SSL_CTX *ctx, const struct sockaddr_any *server, const uint8_t pin[32],
		     const struct sockaddr_any *local)
{
	int fd = socket(server->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	/* A source address: its port chosen at connect, per destination
	 * (IP_BIND_ADDRESS_NO_PORT), not reserved at bind for every one. */
	if (local && (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) < 0 ||
		      bind(fd, &local->sa, local->len) < 0)) {
		int r = -errno;
		close(fd);
		return r;
	}
	if (connect(fd, &server->sa, server->len) < 0 && errno != EINPROGRESS) {
		int r = -errno;
		close(fd);
		return r;
	}
	h->fd = fd;
	h->ssl = SSL_new(ctx);
	if (!h->ssl) {
		close(fd);
		return -ENOMEM;
	}
	SSL_set_fd(h->ssl, fd);
	SSL_set_connect_state(h->ssl);
	memcpy(h->pin, pin, 32);
	h->state = SIM_CONNECTING;
	return 0;
}

void sim_http_close(struct sim_http *h, const char *why)
{
	if (h->state == SIM_CLOSED)
		return;
	h->state = SIM_CLOSED;
	if (h->ssl)
		SSL_free(h->ssl);
	h->ssl = NULL;
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	free(h->out.data);
	free(h->in.data);
	free(h->line.data);
	memset(&h->out, 0, sizeof(h->out));
	memset(&h->in, 0, sizeof(h->in));
	memset(&h->line, 0, sizeof(h->line));
	if (h->ops->closed)
		h->ops->closed(h, why);
}

int sim_http_request(struct sim_http *h, const char *method, const char *target, const char *host,
		     const char *auth, const char *body, size_t body_len)
{
	char head[1024];
	int n;

	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		     method, target, host, auth ? "Roam-Auth: " : "", auth ? auth : "", auth ? "\r\n" : "", body_len);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -ENOSPC;
	if (buf_add(&h->out, head, (size_t)n) < 0 || buf_add(&h->out, body ? body : "", body_len) < 0)
		return -ENOMEM;
	return 0;
}

int sim_http_upgrade(struct sim_http *h, const char *target, const char *host, const char *auth,
		     const char *protocol)
{
	char head[1024];
	int n = snprintf(head, sizeof(head),
			 "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: %s\r\nRoam-Auth: %s\r\n\r\n",
			 target, host, protocol, auth);

	if (n < 0 || (size_t)n >= sizeof(head))
		return -ENOSPC;
	return buf_add(&h->out, head, (size_t)n);
}

int sim_http_write(struct sim_http *h, const void *data, size_t len)
{
	return buf_add(&h->out, data, len);
}

static int check_pin(struct sim_http *h)
{
	X509 *cert = SSL_get1_peer_certificate(h->ssl);
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int len, ok = 0;

	if (cert && (len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der)) > 0 &&
	    EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) && mdlen == 32)
		ok = memcmp(md, h->pin, 32) == 0;
	OPENSSL_free(der);
	X509_free(cert);
	return ok ? 0 : -EPERM;
}

static bool header_has(const char *headers, const char *name, const char *value)
{
	const char *p = headers;
	size_t nlen = strlen(name);

	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			const char *v = p + nlen + 1;
			while (*v == ' ')
				v++;
			return value ? strncasecmp(v, value, strlen(value)) == 0 : true;
		}
	}
	return false;
}

static long header_long(const char *headers, const char *name)
{
	const char *p = headers;
	size_t nlen = strlen(name);

	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':')
			return strtol(p + nlen + 1, NULL, 10);
	}
	return -1;
}

static void deliver_lines(struct sim_http *h)
{
	char *nl;

	while ((nl = memchr(h->line.data, '\n', h->line.len))) {
		size_t n = (size_t)(nl - h->line.data);
		*nl = '\0';
		h->ops->line(h, h->line.data, n);
		if (h->state == SIM_CLOSED)
			return;
		buf_consume(&h->line, n + 1);
	}
}

/* One step of the response parser; 1 if it made progress. */
static int parse_step(struct sim_http *h)
{
	char *end;
	long cl, ra;

	switch (h->parse) {
	case 0:
		if (!(end = strstr(h->in.data ? h->in.data : "", "\r\n\r\n")))
			return 0;
		end[2] = '\0';
		if (sscanf(h->in.data, "HTTP/1.%*d %d", &h->status) != 1) {
			sim_http_close(h, "bad status line");
			return 0;
		}
		h->chunked = header_has(h->in.data, "Transfer-Encoding", "chunked");
		cl = header_long(h->in.data, "Content-Length");
		ra = header_long(h->in.data, "Retry-After");
		h->retry_after_s = ra > 0 && ra < 3600 ? (unsigned)ra : 0;
		buf_consume(&h->in, (size_t)(end + 4 - h->in.data));
		if (h->status == 101) {
			h->parse = 5;
			if (h->ops->stream_start)
				h->ops->stream_start(h, h->status);
			return h->state != SIM_CLOSED;
		}
		if (h->chunked) {
			h->parse = 2;
			if (h->ops->stream_start)
				h->ops->stream_start(h, h->status);
		} else {
			h->body_left = cl > 0 ? (size_t)cl : 0;
			h->parse = 1;
		}
		return 1;
	case 1:
		if (h->in.len < h->body_left)
			return 0;
		{
			char *body = malloc(h->body_left + 1);
			size_t n = h->body_left;
			if (!body) {
				sim_http_close(h, "out of memory");
				return 0;
			}
			memcpy(body, h->in.data, n);
			body[n] = '\0';
			buf_consume(&h->in, n);
			h->parse = 0;
			h->ops->response(h, h->status, body, n);
			free(body);
		}
		return h->state != SIM_CLOSED;
	case 2:
		if (!(end = strstr(h->in.data ? h->in.data : "", "\r\n")))
			return 0;
		h->body_left = strtoul(h->in.data, NULL, 16);
		buf_consume(&h->in, (size_t)(end + 2 - h->in.data));
		if (h->body_left == 0) {
			sim_http_close(h, "stream ended by the server");
			return 0;
		}
		h->parse = 3;
		return 1;
	case 3:
		if (h->in.len < h->body_left + 2)
			return 0;
		if (buf_add(&h->line, h->in.data, h->body_left) < 0) {
			sim_http_close(h, "line too long");
			return 0;
		}
		buf_consume(&h->in, h->body_left + 2);
		h->parse = 2;
		deliver_lines(h);
		return h->state != SIM_CLOSED;
	case 5:
		if (!h->in.len)
			return 0;
		if (h->ops->raw)
			h->ops->raw(h, (const uint8_t *)h->in.data, h->in.len);
		if (h->state != SIM_CLOSED)
			buf_consume(&h->in, h->in.len);
		return 0;
	default:
		return 0;
	}
}

static uint32_t want_events(struct sim_http *h) { return EPOLLIN | (h->out.len ? EPOLLOUT : 0); }

static int tls_error(struct sim_http *h, int ret, uint32_t *ev)
{
	int e = SSL_get_error(h->ssl, ret);

	if (e == SSL_ERROR_WANT_READ) {
		*ev = EPOLLIN;
		return 0;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		*ev = EPOLLIN | EPOLLOUT;
		return 0;
	}
	return -1;
}

uint32_t sim_http_io(struct sim_http *h)
{
	char buf[65536];
	uint32_t ev = 0;
	int n;

	if (h->state == SIM_CONNECTING || h->state == SIM_HANDSHAKE) {
		h->state = SIM_HANDSHAKE;
		n = SSL_connect(h->ssl);
		if (n != 1) {
			if (tls_error(h, n, &ev) == 0)
				return ev;
			sim_http_close(h, "TLS handshake failed");
			return 0;
		}
		if (check_pin(h) < 0) {
			sim_http_close(h, "server certificate does not match the pin");
			return 0;
		}
		h->state = SIM_READY;
		h->ops->ready(h);
		if (h->state == SIM_CLOSED)
			return 0;
	}
	while (h->out.len) {
		n = SSL_write(h->ssl, h->out.data, (int)h->out.len);
		if (n <= 0) {
			if (tls_error(h, n, &ev) == 0)
				break;
			sim_http_close(h, "write failed");
			return 0;
		}
		buf_consume(&h->out, (size_t)n);
	}
	for (;;) {
		n = SSL_read(h->ssl, buf, sizeof(buf));
		if (n <= 0) {
			if (tls_error(h, n, &ev) == 0)
				break;
			sim_http_close(h, "connection closed");
			return 0;
		}
		if (buf_add(&h->in, buf, (size_t)n) < 0) {
			sim_http_close(h, "response too large");
			return 0;
		}
		while (h->state != SIM_CLOSED && parse_step(h))
			;
		if (h->state == SIM_CLOSED)
			return 0;
	}
	return want_events(h);
}
