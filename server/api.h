/* The HTTPS API's core, without a socket: a parsed request goes in (method,
 * target, headers, body, the time), a status and a JSON body come out.
 * api_dispatch (api.c) is the thin evhttp adapter over it; fuzz/fuzz_api.c
 * drives it directly against an in-memory server. */
#ifndef ROAM_SERVER_API_H
#define ROAM_SERVER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/reply_auth.h"

struct server;
struct dir_node;

#define API_HEADERS_MAX 64   /* a request with more is refused (431) */
#define API_STATUS_STREAM 0  /* open node's stream: the adapter starts the reply */
#define API_STATUS_HANDOFF 1 /* the adapter hands the request to server/links (handoff) */

/* Requests the HTTPS adapter hands to the relay links (server/links/). */
enum api_handoff {
	API_HANDOFF_NONE,
	API_HANDOFF_RELAY_TLS,  /* GET /v1/relay, Upgrade: roam-relay/1, authenticated */
	API_HANDOFF_RELAY_WS,   /* GET /v1/relay, Upgrade: websocket, authenticated */
	API_HANDOFF_POLL_OPEN,  /* POST /v1/relay/poll, authenticated */
	API_HANDOFF_POLL_GET,   /* GET /v1/relay/poll?...: Roam-Session, checked by links */
	API_HANDOFF_POLL_SEND,  /* POST /v1/relay/poll/send: Roam-Session, checked by links */
	API_HANDOFF_RELAY_CONTROL, /* GET /v1/relay/control from a relay-only server (relay_id) */
};

struct api_header {
	const char *name, *value;
};

struct api_request {
	const char *method; /* "GET", "POST", ... */
	const char *target;
	const struct api_header *headers;
	size_t headers_count;
	const char *body;
	size_t body_len;
	int64_t now;        /* unix seconds */
	const struct sockaddr *peer; /* the client's address, or NULL */
};

struct api_response {
	int status;             /* HTTP status, or API_STATUS_STREAM */
	char *body;             /* JSON (malloc'd, with a final newline), or NULL */
	bool binary;            /* body is body_len bytes of application/octet-stream instead */
	size_t body_len;
	bool close;             /* the connection cannot be trusted further (framing) */
	struct reply_auth reply_auth; /* on: prove the reply (Roam-Want-Server-Auth) */
	struct dir_node *node;  /* set when the request authenticated as a known node */
	unsigned retry_after_s; /* > 0: a Retry-After header */
	enum api_handoff handoff;  /* with API_STATUS_HANDOFF */
	char ws_accept[32];        /* API_HANDOFF_RELAY_WS: Sec-WebSocket-Accept */
	uint32_t relay_id;         /* API_HANDOFF_RELAY_CONTROL: which relay */
};

void api_handle(struct server *s, const struct api_request *rq, struct api_response *out);
void api_response_free(struct api_response *out);

#endif
