/* A small non-blocking HTTPS/1.1 client for the simulated nodes of
 * coord_sim: one TLS connection, one request at a time, responses with
 * Content-Length or chunked bodies; a chunked body is split into lines (the
 * control stream). Pins the server by the SHA-256 of its certificate's
 * SubjectPublicKeyInfo, as roamd does. Test and benchmark code only. */
#ifndef ROAM_BENCH_SIM_HTTP_H
#define ROAM_BENCH_SIM_HTTP_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"

#define SIM_LINE_MAX (64 * 1024 * 1024)

enum sim_http_state { SIM_CONNECTING, SIM_HANDSHAKE, SIM_READY, SIM_CLOSED };

struct sim_buf {
	char *data;
	size_t len, cap;
};

struct sim_http;

struct sim_http_ops {
	void (*ready)(struct sim_http *h);                       /* TLS up, pin checked */
	void (*response)(struct sim_http *h, int status, const char *body, size_t len); /* whole */
	void (*stream_start)(struct sim_http *h, int status);   /* chunked reply began */
	void (*line)(struct sim_http *h, const char *line, size_t len);
	void (*closed)(struct sim_http *h, const char *why);
	/* After a 101 (stream_start with 101): bytes of the upgraded stream. */
	void (*raw)(struct sim_http *h, const uint8_t *data, size_t len);
};

struct sim_http {
	int fd;
	SSL *ssl;
	enum sim_http_state state;
	const struct sim_http_ops *ops;
	void *user;
	uint8_t pin[32];
	struct sim_buf out, in, line;
	/* response parser */
	int parse; /* 0 headers, 1 fixed body, 2 chunk size, 3 chunk data, 4 chunk crlf, 5 upgraded */
	int status;
	size_t body_left;
	bool chunked;
	unsigned retry_after_s; /* the last response's Retry-After (0: none); the driver clears it */
};

/* local: the source address to bind first (port 0), or NULL. */
int sim_http_connect(struct sim_http *h, SSL_CTX *ctx, const struct sockaddr_any *server, const uint8_t pin[32],
		     const struct sockaddr_any *local);
/* Queue one request; method/target/headers/body as given. */
int sim_http_request(struct sim_http *h, const char *method, const char *target, const char *host,
		     const char *auth, const char *body, size_t body_len);
/* Drive I/O after epoll said the fd is ready. Returns the epoll events to
 * wait for next (EPOLLIN, plus EPOLLOUT while there is something to write),
 * or 0 once closed. */
uint32_t sim_http_io(struct sim_http *h);
/* An HTTP/1.1 Upgrade request (GET, no body) for protocol. */
int sim_http_upgrade(struct sim_http *h, const char *target, const char *host, const char *auth,
		     const char *protocol);
/* Queue bytes on an upgraded connection. */
int sim_http_write(struct sim_http *h, const void *data, size_t len);
void sim_http_close(struct sim_http *h, const char *why);
SSL_CTX *sim_http_ctx(void);

#endif
