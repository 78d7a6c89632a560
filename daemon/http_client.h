/* HTTPS requests from roamd's event loop, through libcurl's multi interface
 * (sockets and timers handed to our ev loop, never a blocking call): short
 * JSON requests, and long-lived streams delivered line by line. libcurl
 * brings TLS (OpenSSL), public-key pinning and HTTP proxies. */
#ifndef ROAM_DAEMON_HTTP_CLIENT_H
#define ROAM_DAEMON_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"
#include "daemon/proxy.h"
#include "ev/loop.h"

#define HTTP_BODY_MAX (1024 * 1024) /* largest reply body we keep */
/* Longest stream line: the protocol's own limit (a full view of
 * COORD_PEERS_MAX peers), shared with the server. The line buffer grows on
 * demand up to it and shrinks back after a large line. */
#define HTTP_LINE_MAX COORD_STREAM_LINE_MAX
#define HTTP_LINE_KEEP (64 * 1024) /* buffer kept between lines */

struct http_client;
struct http_request;

struct http_request_opts {
	const char *method; /* "GET", "POST" */
	const char *url;
	const char *const *headers; /* NULL-terminated "Name: value" list, may be NULL */
	const char *body;           /* copied; may be NULL */
	size_t body_len;
	const char *pinned_pubkey; /* "sha256//<base64>" or NULL: verify with the system CAs */
	/* Through a TLS-intercepting proxy (roam up --allow-tls-interception):
	 * TLS proves nothing (no pin, no CA check). With server_auth_key (K) the
	 * request must carry Roam-Auth: it asks for Roam-Want-Server-Auth, and a
	 * reply or stream line without the server's mac over that nonce fails
	 * with -EBADMSG (a stream ends at the first one). tls_unverified alone:
	 * for requests whose payload authenticates itself (relay frames). */
	const uint8_t *server_auth_key;
	bool tls_unverified;
	long timeout_ms;           /* whole request; 0 for streams */
	size_t body_max;           /* the reply body kept; 0: HTTP_BODY_MAX */
	const struct roamd_proxy *proxy; /* NULL or unset: the environment's (daemon/proxy.h) */
	/* Streams: each '\n'-terminated line of the body as it arrives (without
	 * the newline); then the body is not kept for on_done. */
	void (*on_line)(void *ctx, const char *line, size_t len);
	/* Binary streams: the body's bytes as they arrive, with the reply's
	 * status; a negative return aborts the request (on_done gets -EMSGSIZE).
	 * The body is not kept for on_done either. */
	int (*on_data)(void *ctx, long status, const uint8_t *data, size_t len);
	/* Keep the connection for the next request of this client (the
	 * relay's long-poll: a TLS handshake per request would be its cost). */
	bool reuse_connection;
	/* Always called once, last: err is 0 or -errno-style (-ETIMEDOUT,
	 * -ECONNREFUSED, -EPROTO for TLS/pin failures, -EMSGSIZE, -EACCES when
	 * the proxy refused the CONNECT: see http_client_proxy_status,
	 * -EKEYREJECTED: the server's key is not the pinned one, -EBADMSG: a
	 * reply without the server's proof under server_auth_key), status the
	 * HTTP status (0 if none). body is NUL-terminated, valid during the call. */
	void (*on_done)(void *ctx, int err, long status, const char *body, size_t len);
	void *ctx;
};

int http_client_new(struct ev_loop *loop, struct http_client **out);
void http_client_free(struct http_client *c); /* cancels everything without callbacks */

/* Starts a request; *out (may be NULL) lets the caller cancel it. */
int http_request_start(struct http_client *c, const struct http_request_opts *o, struct http_request **out);
/* The address the request that just finished talked to (libcurl resolved
 * the name itself, without blocking our loop): valid during its on_done. */
const char *http_client_primary_ip(const struct http_client *c);

/* The proxy's answer to the CONNECT of the request that just finished (407:
 * it wants other credentials), 0 if none: valid during its on_done. */
long http_client_proxy_status(const struct http_client *c);

/* The Retry-After of the reply that just finished (a busy server's 503 or
 * 429 says when to come back), 0 if none: valid during its on_done. */
unsigned http_client_retry_after_s(const struct http_client *c);

/* Stops a request; on_done is not called. No-op for NULL. */
void http_request_cancel(struct http_request *r);

#endif
