/* Shared by the HTTPS API's files (api.c, api_relays.c); not part of api.h. */
#ifndef ROAM_SERVER_API_INTERNAL_H
#define ROAM_SERVER_API_INTERNAL_H

#include <stdint.h>

#include "coord/auth.h"
#include "server/api.h"

struct api_req {
	struct server *srv;
	const struct api_request *rq;
	struct api_response *out;
	const char *target;
	const char *method;
	const char *body;
	size_t body_len;
	int64_t now;
	struct coord_auth auth;
	uint8_t k[COORD_KEY_LEN];
	struct dir_node *node; /* the authenticated node (NULL: not yet registered) */
	int inactive_status;   /* for a known node not approved or expired: 401, relay links 403 */
};

void api_reply_json(struct api_req *a, int code, const char *json);
/* len bytes as application/octet-stream (the files' binary downloads). */
void api_reply_bytes(struct api_req *a, int code, const uint8_t *buf, size_t len);
/* The request asks for application/octet-stream (Accept): a binary reply. */
bool api_wants_bytes(const struct api_req *a);
/* First header of that name (case-insensitive), or NULL. */
const char *api_header(const struct api_req *a, const char *name);
/* Roam-Auth: the node (a->node) and its key; on failure the error reply
 * is made. may_be_unknown: a key the server has not seen may pass. */
int api_authenticate(struct api_req *a, bool may_be_unknown);
/* {"error": msg} with that status. */
void api_error(struct api_req *a, int code, const char *msg);

void api_reply_empty(struct api_req *a, int code);
/* The request's node, from its Authorization (may_be_unknown: a key not
 * yet registered passes); on failure the error reply is sent: < 0. */
int api_authenticate(struct api_req *a, bool may_be_unknown);
/* api_paths.c: POST /v1/paths; GET /v1/peer */
void api_paths(struct api_req *a);
void api_peer(struct api_req *a);

/* api_relays.c: the control server's requests from relay-only servers */
void api_relay_register(struct api_req *a);
void api_relay_control(struct api_req *a);
void api_relay_load(struct api_req *a);

#endif
