/* The HTTPS API of docs/control-protocol.md: routing, Roam-Auth, and the
 * five requests. Every error is a JSON {"error": "..."} with a 4xx/5xx
 * status; nothing a client sends can stop the server. api_handle is the
 * core (api.h); api_dispatch at the end adapts evhttp to it. */
#include <blake2.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/json.h"
#include "coord/netcheck.h"
#include "coord/peer_query.h"
#include "crypto/crypto.h"
#include "server/api.h"
#include "server/api_internal.h"
#include "server/files/cache.h"
#include "server/files/index.h"
#include "server/links/links.h"
#include "server/relayonly/relayonly.h"
#include "server/server.h"
#include "util/log.h"
#include "util/log_limit.h"

#define API_REPLAY_FULL_RETRY_MIN_S 2 /* Retry-After of a 503 "replay cache full", at least */

/* Seconds until the replay cache has room again. */
static unsigned api_replay_retry_s(const struct coord_replay *r, int64_t now)
{
	int64_t left = coord_replay_turns_in(r, now);

	return left < API_REPLAY_FULL_RETRY_MIN_S ? API_REPLAY_FULL_RETRY_MIN_S : (unsigned)left;
}



void api_reply_json(struct api_req *a, int code, const char *json)
{
	size_t len = json ? strlen(json) : 0;

	a->out->status = code;
	free(a->out->body);
	a->out->binary = false;
	a->out->body = json ? malloc(len + 2) : NULL;
	if (a->out->body) {
		memcpy(a->out->body, json, len);
		memcpy(a->out->body + len, "\n", 2);
	}
}

void api_reply_bytes(struct api_req *a, int code, const uint8_t *buf, size_t len)
{
	free(a->out->body);
	a->out->body = malloc(len ? len : 1);
	if (!a->out->body) {
		api_error(a, 500, "out of memory");
		return;
	}
	memcpy(a->out->body, buf, len);
	a->out->status = code;
	a->out->binary = true;
	a->out->body_len = len;
}

bool api_wants_bytes(const struct api_req *a)
{
	const char *accept = api_header(a, "Accept");
	return accept && strstr(accept, "application/octet-stream");
}

void api_reply_empty(struct api_req *a, int code)
{
	a->out->status = code;
}

/* First header of that name (case-insensitive, as HTTP wants), or NULL. */
const char *api_header(const struct api_req *a, const char *name)
{
	for (size_t i = 0; i < a->rq->headers_count; i++) {
		if (strcasecmp(a->rq->headers[i].name, name) == 0)
			return a->rq->headers[i].value;
	}
	return NULL;
}

void api_error(struct api_req *a, int code, const char *msg)
{
	char json[256], esc[160];
	size_t j = 0;

	/* Messages are ours, but keep the JSON valid whatever they hold. */
	for (size_t i = 0; msg[i] && j < sizeof(esc) - 1; i++)
		esc[j++] = (msg[i] == '"' || msg[i] == '\\' || (unsigned char)msg[i] < 0x20) ? '\'' : msg[i];
	esc[j] = '\0';
	snprintf(json, sizeof(json), "{\"error\":\"%s\"}", esc);
	if (code == 401)
		a->srv->stats.rejected_auth++;
	if (code == 401 || code == 403 || code == 429)
		server_event(a->srv, code == 429 ? EV_REFUSED : EV_AUTH_FAILED, NULL, NULL, "%s %.80s: %s", a->method,
			     a->target, msg);
	log_limited(LOG_DEBUG, "%s %.80s -> %d %s", a->method, a->target, code, msg);
	api_reply_json(a, code, json);
}

static unsigned or_default(unsigned v, unsigned def) { return v ? v : def; }

/* Test builds can shrink the limits so a test reaches them in seconds. */
static size_t test_override(const char *env, size_t v)
{
#ifdef ROAM_TEST_HOOKS
	const char *text = getenv(env);
	if (text && strtoul(text, NULL, 10) > 0)
		return strtoul(text, NULL, 10);
#else
	(void)env;
#endif
	return v;
}

/* The replay caches and the registration limits (server.c calls these). */
int server_auth_init(struct server *s)
{
	int64_t now = server_wall_now();
	int r;

	s->cfg.pending_max = (unsigned)test_override("ROAM_TEST_SERVER_PENDING_MAX",
						     or_default(s->cfg.pending_max, SERVER_PENDING_MAX));
	s->cfg.pending_ttl_s = (unsigned)test_override("ROAM_TEST_SERVER_PENDING_TTL_S",
						       or_default(s->cfg.pending_ttl_s, SERVER_PENDING_TTL_S));
	s->cfg.pending_burst = or_default(s->cfg.pending_burst, SERVER_PENDING_BURST);
	s->cfg.pending_refill_s = or_default(s->cfg.pending_refill_s, SERVER_PENDING_REFILL_S);
	if ((r = coord_replay_init(&s->replay, test_override("ROAM_TEST_SERVER_REPLAY_CAPACITY", SERVER_REPLAY_CAPACITY),
				   now)) < 0 ||
	    (r = coord_replay_init(&s->replay_unknown, SERVER_REPLAY_UNKNOWN_CAPACITY, now)) < 0)
		return r;
	if (!(s->reg_limit = malloc(sizeof(*s->reg_limit))))
		return -ENOMEM;
	reg_limit_init(s->reg_limit, s->cfg.pending_burst, s->cfg.pending_refill_s);
	return 0;
}

void server_auth_free(struct server *s)
{
	coord_replay_free(&s->replay);
	coord_replay_free(&s->replay_unknown);
	free(s->reg_limit);
	s->reg_limit = NULL;
}

/* Roam-Auth: who, fresh, genuine, new; then the node's standing. */
int api_authenticate(struct api_req *a, bool may_be_unknown)
{
	const char *hdr = api_header(a, COORD_AUTH_HEADER);
	bool known;
	int r;

	if (!hdr || coord_auth_parse(hdr, &a->auth) < 0) {
		api_error(a, 401, "missing or malformed Roam-Auth header");
		return -EINVAL;
	}
	/* A relay-only server knows a node by the ticket it shows (the mac,
	 * checked below with K_nr, proves the key is the sender's). */
	if (a->srv->ro) {
		const char *ticket = api_header(a, RELAYONLY_TICKET_HEADER);
		if (!ticket || relayonly_admit(a->srv, ticket, a->auth.node_pub, a->now) < 0) {
			api_error(a, 403, "missing, invalid, expired or voided Roam-Ticket");
			return -EACCES;
		}
	}
	a->node = dir_node_by_key(&a->srv->dir, a->auth.node_pub);
	if (!a->node && !may_be_unknown) {
		api_error(a, 401, "unknown node: register first");
		return -ENOENT;
	}
	if (a->node) {
		if (!a->node->k_ok) {
			api_error(a, 401, "unusable node key");
			return -EKEYREJECTED;
		}
		memcpy(a->k, a->node->k, COORD_KEY_LEN);
	} else if (coord_control_key(a->k, a->srv->id.control_priv, a->auth.node_pub) < 0) {
		api_error(a, 401, "unusable node key");
		return -EKEYREJECTED;
	}
	r = coord_auth_verify(&a->auth, a->k, a->method, a->target, a->body, a->body_len, a->now);
	if (r == -ETIME) {
		api_error(a, 401, "stale timestamp: check the clock (60 s allowed)");
		return r;
	}
	if (r < 0) {
		api_error(a, 401, "bad mac");
		return r;
	}
	/* Genuine: from here every reply can be proved to the node. */
	if ((hdr = api_header(a, COORD_WANT_SERVER_AUTH_HEADER)) && strcmp(hdr, "1") == 0) {
		a->out->reply_auth.on = true;
		memcpy(a->out->reply_auth.k, a->k, COORD_KEY_LEN);
		memcpy(a->out->reply_auth.nonce, a->auth.nonce, COORD_AUTH_NONCE_LEN);
	}
	/* After the mac: forged requests never fill the cache. Anyone can make
	 * a key and a valid mac with it, so keys the server has not approved
	 * use a small space of their own and can never crowd out its nodes. */
	known = a->node && dir_node_active(a->node, a->now);
	r = coord_replay_check_and_add(known ? &a->srv->replay : &a->srv->replay_unknown, a->auth.node_pub,
				       a->auth.nonce, a->now);
	if (r == -ENOBUFS) {
		if (!known)
			a->srv->stats.replay_unknown_full++;
		/* When: room comes back when the cache's generation turns
		 * (lib/coord/replay.h, every COORD_AUTH_REPLAY_WINDOW_S); a
		 * client that waits until then costs no handshake meanwhile
		 * (issue 14: new nodes' registrations go through the unknown
		 * keys' cache, SERVER_REPLAY_UNKNOWN_CAPACITY per window). */
		a->out->retry_after_s = api_replay_retry_s(known ? &a->srv->replay : &a->srv->replay_unknown, a->now);
		api_error(a, 503, "replay cache full, retry later");
		return r;
	}
	if (r < 0) {
		api_error(a, 401, "replayed nonce");
		return r;
	}
	if (a->node && !may_be_unknown && !dir_node_active(a->node, a->now)) {
		api_error(a, a->inactive_status ? a->inactive_status : 401, a->node->rec.approved ? "node expired: register again with a pre-auth key"
							: "node not approved yet");
		return -EACCES;
	}
	return 0;
}

static void api_info(struct api_req *a)
{
	char key[COORD_KEY_B64_LEN + 1], json[160];

	coord_b64_encode(key, sizeof(key), a->srv->id.control_pub, COORD_KEY_LEN, 0);
	if (a->srv->ro)
		snprintf(json, sizeof(json), "{\"version\":%d,\"relay\":true,\"relay_id\":%u,\"relay_key\":\"%s\"}",
			 COORD_PROTOCOL_VERSION, a->srv->ro->relay_id, key);
	else
		snprintf(json, sizeof(json), "{\"version\":%d,\"server_key\":\"%s\"}", COORD_PROTOCOL_VERSION, key);
	api_reply_json(a, 200, json);
}

static const char *register_error(int r)
{
	switch (r) {
	case -EAGAIN:
		return "too many registrations from this address: retry later, or use a pre-auth key";
	case -EDQUOT:
		return "too many nodes waiting for approval: retry later, or use a pre-auth key";
	case -EACCES:
		return "invalid or revoked pre-auth key";
	case -EKEYEXPIRED:
		return "pre-auth key expired";
	case -EUSERS:
		return "single-use pre-auth key already used";
	default:
		return NULL;
	}
}

/* A registered node enters the directory; its viewers hear of it. */
static int register_commit(struct api_req *a, const struct store_node *rec, struct dir_node **out)
{
	struct dir_node *n;
	bool groups_changed, is_new = !dir_node_get(&a->srv->dir, rec->id);
	int r;

	if ((r = dir_node_set(&a->srv->dir, rec, &n, &groups_changed)) < 0)
		return r;
	/* A new node joins its groups' lists at their end (O(groups)); a
	 * regrouped one means a walk of every node. */
	if (groups_changed && (r = is_new ? dir_groups_add_new(&a->srv->dir, n) : dir_groups_rebuild(&a->srv->dir)) < 0)
		return r;
	server_groups_flipped(a->srv, true);
	if (groups_changed || is_new) { /* a version it holds describes other groups, or another node */
		n->view_reset_seq = view_next(&a->srv->view);
		n->view_hash = 0; /* and new viewers need its line */
	}
	if (groups_changed)
		server_od_prune(a->srv, n);
	server_push_peer(a->srv, n);
	if (groups_changed && n->stream)
		server_send_view(a->srv, n);
	*out = n;
	return 0;
}

/* Waiting nodes older than the TTL leave the store, then the directory
 * (the reload removes what the store no longer has). */
static void register_expire_pending(struct server *s, int64_t now)
{
	size_t removed = 0;

	if (now == s->pending_swept_at) /* a second's registrations look once */
		return;
	s->pending_swept_at = now;
	if (store_pending_expire(s->store, now - (int64_t)s->cfg.pending_ttl_s, &removed) < 0 || !removed)
		return;
	s->stats.pending_expired += removed;
	log_info("%zu node(s) waiting for approval for more than %u s forgotten", removed, s->cfg.pending_ttl_s);
	if (server_reload(s) < 0)
		log_err("reloading after expiry: %s", store_error(s->store));
}

/* The request's source address, for the per-address limit. */
static bool register_peer(const struct api_req *a, struct sockaddr_any *out)
{
	const struct sockaddr *sa = a->rq->peer;

	memset(out, 0, sizeof(*out));
	if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return false;
	out->len = sa->sa_family == AF_INET ? sizeof(out->in4) : sizeof(out->in6);
	memcpy(&out->sa, sa, out->len);
	sockaddr_any_normalize(out);
	return true;
}

static void api_register(struct api_req *a)
{
	struct coord_register_req req;
	struct store_register sr = { 0 };
	struct store_node rec;
	struct coord_node *doc = NULL;
	struct dir_node *n;
	struct sockaddr_any peer;
	uint8_t hash[32];
	char *json = NULL;
	bool peer_ok, created_pending = false;
	int r;

	/* A group or key created just now by an admin command must be known
	 * before this node's membership is computed (its viewers depend on it). */
	server_sync_admin_changes(a->srv);

	if (api_authenticate(a, true) < 0)
		return;
	if (coord_register_req_parse(a->body, a->body_len, &req) < 0) {
		api_error(a, 400, "malformed register request");
		return;
	}
	if (req.has_preauth_key)
		blake2s(hash, req.preauth_key, NULL, sizeof(hash), sizeof(req.preauth_key), 0);
	sr.public_key = a->auth.node_pub;
	sr.name = req.name;
	sr.preauth_hash = req.has_preauth_key ? hash : NULL;
	sr.now = a->now;
	sr.network6 = a->srv->dir.network6;
	register_expire_pending(a->srv, a->now);
	peer_ok = register_peer(a, &peer);
	sr.pending_allowed = !peer_ok || reg_limit_allows(a->srv->reg_limit, &peer, a->now);
	sr.pending_max = a->srv->cfg.pending_max;
	sr.created_pending = &created_pending;
	r = store_register_node(a->srv->store, &sr, &rec);
	if (r == -EAGAIN || r == -EDQUOT) {
		a->srv->stats.registrations_limited++;
		a->out->retry_after_s = 60;
		api_error(a, 429, register_error(r));
		return;
	}
	if (r < 0) {
		if (register_error(r))
			api_error(a, 401, register_error(r));
		else
			api_error(a, 500, "cannot store the registration");
		if (!register_error(r))
			log_err("register: %s", store_error(a->srv->store));
		return;
	}
	if (created_pending && peer_ok)
		reg_limit_spend(a->srv->reg_limit, &peer, a->now);
	if (rec.approved && rec.expires_at && rec.expires_at <= a->now) {
		api_error(a, 401, "node expired: register again with a pre-auth key");
		return;
	}
	/* Its file public key, new or changed: peers hear it in its peer line. */
	if (req.has_file_key && (!rec.has_file_key || memcmp(rec.file_key, req.file_key, COORD_KEY_LEN) != 0)) {
		if (store_node_set_file_key(a->srv->store, rec.id, req.file_key) < 0) {
			api_error(a, 500, "cannot store the file key");
			return;
		}
		rec.has_file_key = true;
		memcpy(rec.file_key, req.file_key, COORD_KEY_LEN);
	}
	if ((r = register_commit(a, &rec, &n)) < 0 || !(doc = malloc(sizeof(*doc)))) {
		api_error(a, 500, "out of memory");
		return;
	}
	dir_node_describe(&a->srv->dir, n, doc);
	json = coord_node_to_json(doc);
	log_info("node %u (%s) registered%s", rec.id, rec.name, rec.approved ? "" : ", waiting for approval");
	/* a pending node registers again every few seconds: one event, when it first asks */
	if (rec.approved || created_pending)
		server_event(a->srv, EV_JOIN, n, NULL, "%s", rec.approved ? "registered" : "waiting for approval");
	api_reply_json(a, rec.approved ? 200 : 202, json);
	free(json);
	free(doc);
}

static void api_endpoints(struct api_req *a)
{
	struct coord_endpoints_req req;

	if (api_authenticate(a, false) < 0)
		return;
	if (coord_endpoints_req_parse(a->body, a->body_len, &req) < 0) {
		api_error(a, 400, "malformed endpoints request");
		return;
	}
	server_endpoints_store(a->srv, a->node, &req);
	dir_set_private(a->node, req.endpoints, req.count);
	if (req.mapping != a->node->mapping)
		log_limited(LOG_INFO, "node %u (%s): NAT mapping %s", a->node->rec.id, a->node->rec.name,
			    coord_mapping_name(req.mapping));
	a->node->mapping = req.mapping;
	a->node->mapped_ep = req.mapped;
	/* Peers pick the pair's meeting relay from both sides' reports
	 * (lib/path/relay_choice): an absent relay_rtt clears the old one. */
	a->node->relay_rtt = req.relay_rtt;
	a->node->last_seen = a->now;
	server_push_peer(a->srv, a->node);
	server_push_self(a->srv, a->node);
	api_reply_empty(a, 204);
}

static void api_stream(struct api_req *a)
{
	if (api_authenticate(a, false) < 0)
		return;
	api_reply_empty(a, API_STATUS_STREAM); /* the adapter opens it on its connection */
}

static void api_logout(struct api_req *a)
{
	struct dir_node *n;

	if (api_authenticate(a, false) < 0)
		return;
	n = a->node;
	n->last_seen = a->now;
	links_close_node(a->srv, n);
	dir_set_offline(&a->srv->dir, n, true);
	server_presence_store(a->srv, n);
	log_limited(LOG_INFO, "node %u (%s) logged out", n->rec.id, n->rec.name);
	/* News even in a restart's window, where a node not back yet is
	 * pushed only at the window's end (view_state.c): it left for good. */
	n->view_back = true;
	server_push_peer(a->srv, n);
	if (n->stream)
		stream_close(n->stream);
	api_reply_empty(a, 204);
}

/* token (case-insensitive) in a comma-separated header value. */
static bool api_header_has_token(const char *value, const char *token)
{
	size_t n = strlen(token);

	for (const char *p = value; p && *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *end = p + strcspn(p, ",");
		const char *last = end;
		while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
			last--;
		if ((size_t)(last - p) == n && strncasecmp(p, token, n) == 0)
			return true;
		p = end;
	}
	return false;
}

/* GET /v1/relay with Upgrade: the request is checked before it is
 * authenticated (the cheap refusals first), then handed to server/links. */
static void api_relay(struct api_req *a)
{
	const char *upgrade = api_header(a, "Upgrade"), *conn = api_header(a, "Connection");
	enum api_handoff kind;

	if (!upgrade || !conn || !api_header_has_token(conn, "upgrade")) {
		api_error(a, 400, "not an upgrade: use Upgrade: roam-relay/1 or websocket");
		return;
	}
	if (strcasecmp(upgrade, "roam-relay/1") == 0) {
		kind = API_HANDOFF_RELAY_TLS;
	} else if (strcasecmp(upgrade, "websocket") == 0) {
		const char *key = api_header(a, "Sec-WebSocket-Key"), *version = api_header(a, "Sec-WebSocket-Version");
		const char *proto = api_header(a, "Sec-WebSocket-Protocol");
		if (!version || strcmp(version, "13") != 0 || !proto || !api_header_has_token(proto, "roam-relay.v1") ||
		    !key || link_ws_accept_value(key, a->out->ws_accept, sizeof(a->out->ws_accept)) < 0) {
			api_error(a, 400, "bad WebSocket handshake (version 13, protocol roam-relay.v1, a key)");
			return;
		}
		kind = API_HANDOFF_RELAY_WS;
	} else {
		api_error(a, 400, "unknown Upgrade: use roam-relay/1 or websocket");
		return;
	}
	a->inactive_status = 403; /* a link would carry nothing: not worth retrying */
	if (api_authenticate(a, false) < 0)
		return;
	a->out->status = API_STATUS_HANDOFF;
	a->out->handoff = kind;
}

static void api_relay_poll_open(struct api_req *a)
{
	a->inactive_status = 403;
	if (api_authenticate(a, false) < 0)
		return;
	a->out->status = API_STATUS_HANDOFF;
	a->out->handoff = API_HANDOFF_POLL_OPEN;
}

/* The session id is the credential: server/links checks it. */
static void api_relay_poll_get(struct api_req *a)
{
	a->out->status = API_STATUS_HANDOFF;
	a->out->handoff = API_HANDOFF_POLL_GET;
}

static void api_relay_poll_send(struct api_req *a)
{
	a->out->status = API_STATUS_HANDOFF;
	a->out->handoff = API_HANDOFF_POLL_SEND;
}

struct api_route {
	const char *path;
	const char *method;
	void (*handler)(struct api_req *a);
	bool query; /* the target may carry a query string */
	bool relay; /* a relay-only server serves it too */
};

static const struct api_route routes[] = {
	{ "/v1/info", "GET", api_info, false, true },
	{ "/v1/register", "POST", api_register, false, false },
	{ "/v1/endpoints", "POST", api_endpoints, false, false },
	{ "/v1/paths", "POST", api_paths, false, false },
	{ COORD_PEER_PATH, "GET", api_peer, true, false },
	{ "/v1/stream", "GET", api_stream, true, false }, /* ?poll=1: polled (stream_poll.c) */
	{ "/v1/logout", "POST", api_logout, false, false },
	{ "/v1/relay", "GET", api_relay, false, true },
	{ "/v1/relay/poll", "POST", api_relay_poll_open, false, true },
	{ "/v1/relay/poll", "GET", api_relay_poll_get, true, true },
	{ "/v1/relay/poll/send", "POST", api_relay_poll_send, true, true },
	{ "/v1/relay/register", "POST", api_relay_register, false, false },
	{ "/v1/relay/control", "GET", api_relay_control, false, false },
	{ "/v1/relay/load", "POST", api_relay_load, false, false },
	/* files for offline nodes (server/files/cache_api.c) */
	{ "/v1/files", "POST", api_files_create, false, false },
	{ "/v1/files", "GET", api_files_list, false, false },
	{ "/v1/files", "DELETE", api_files_cancel, true, false },
	{ "/v1/files/data", "PUT", api_files_put, true, false },
	{ "/v1/files/data", "GET", api_files_get, true, false },
	{ "/v1/files/receipt", "POST", api_files_receipt, false, false },
	/* published indexes (server/files/index_api.c) */
	{ "/v1/files/index", "PUT", api_files_index_put, true, false },
	{ "/v1/files/index", "GET", api_files_index_get, true, false },
	{ "/v1/files/index", "DELETE", api_files_index_delete, true, false },
	{ "/v1/files/index/members", "GET", api_files_index_members, true, false },
	{ "/v1/files/index/blob", "POST", api_files_blob_create, true, false },
	{ "/v1/files/index/blob", "PUT", api_files_blob_put, true, false },
	{ "/v1/files/index/blob", "GET", api_files_blob_get, true, false },
	{ "/v1/files/index/blob", "DELETE", api_files_blob_delete, true, false },
};

static bool api_route_matches(const struct api_route *route, const char *target)
{
	size_t n = strlen(route->path);

	if (strncmp(route->path, target, n) != 0)
		return false;
	return target[n] == '\0' || (route->query && target[n] == '?');
}

/* Message framing (RFC 9112 6.3): two Content-Lengths, or one with a
 * Transfer-Encoding, let a proxy and us disagree on where the body ends. */
static const char *api_framing_error(const struct api_request *rq)
{
	size_t content_length = 0, transfer_encoding = 0;

	for (size_t i = 0; i < rq->headers_count; i++) {
		if (strcasecmp(rq->headers[i].name, "Content-Length") == 0)
			content_length++;
		else if (strcasecmp(rq->headers[i].name, "Transfer-Encoding") == 0)
			transfer_encoding++;
	}
	if (content_length > 1)
		return "more than one Content-Length";
	if (content_length && transfer_encoding)
		return "both Content-Length and Transfer-Encoding";
	return NULL;
}

void api_handle(struct server *s, const struct api_request *rq, struct api_response *out)
{
	struct api_req a = { .srv = s, .rq = rq, .out = out, .now = rq->now, .target = rq->target,
			     .method = rq->method };
	const struct api_route *route = NULL;
	const char *framing;

	memset(out, 0, sizeof(*out));
	s->stats.requests++;
	if ((framing = api_framing_error(rq))) {
		out->close = true;
		api_error(&a, 400, framing);
		return;
	}
	if (rq->headers_count > API_HEADERS_MAX) {
		out->close = true;
		api_error(&a, 431, "too many header fields");
		return;
	}
	bool path_known = false;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!api_route_matches(&routes[i], a.target) || (s->ro && !routes[i].relay))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, rq->method) == 0)
			route = &routes[i];
	}
	if (!route) {
		if (path_known)
			api_error(&a, 405, "method not allowed");
		else
			api_error(&a, 404, "no such request");
		return;
	}
	if (rq->body_len > (route->handler == api_files_put ? FCACHE_CHUNK_MAX : COORD_BODY_MAX)) {
		api_error(&a, 413, "body too large");
		return;
	}
	a.body = rq->body ? rq->body : "";
	a.body_len = rq->body ? rq->body_len : 0;
	route->handler(&a);
	crypto_wipe(a.k, sizeof(a.k));
	/* Only a known node that passed Roam-Auth: a new key proves nothing. */
	if (a.node && out->status < 400)
		out->node = a.node;
}

void api_response_free(struct api_response *out)
{
	free(out->body);
	out->body = NULL;
	crypto_wipe(&out->reply_auth, sizeof(out->reply_auth));
}

/* The evhttp adapter. */

static const char *api_method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	default:
		return "OTHER";
	}
}

/* The request's headers as an array; one more than API_HEADERS_MAX at most
 * (api_handle refuses that many). */
static size_t api_collect_headers(struct evhttp_request *req, struct api_header *h)
{
	struct evkeyval *kv;
	size_t n = 0;

	for (kv = evhttp_request_get_input_headers(req)->tqh_first; kv; kv = kv->next.tqe_next) {
		if (n > API_HEADERS_MAX)
			break;
		h[n].name = kv->key;
		h[n].value = kv->value;
		n++;
	}
	return n;
}

static void api_send(struct evhttp_request *req, const struct api_response *out)
{
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	struct evbuffer *b = NULL;

	if (out->close)
		evhttp_add_header(headers, "Connection", "close");
	if (out->retry_after_s) {
		char text[16];
		snprintf(text, sizeof(text), "%u", out->retry_after_s);
		evhttp_add_header(headers, "Retry-After", text);
	}
	size_t len = !out->body ? 0 : out->binary ? out->body_len : strlen(out->body);
	if (out->body) {
		evhttp_add_header(headers, "Content-Type", out->binary ? "application/octet-stream" : "application/json");
		b = evbuffer_new();
		if (b)
			evbuffer_add(b, out->body, len);
	}
	if (out->reply_auth.on) {
		char mac[COORD_SERVER_AUTH_MAX];
		if (reply_auth_value(mac, sizeof(mac), &out->reply_auth, out->status, out->body, len) == 0)
			evhttp_add_header(headers, COORD_SERVER_AUTH_HEADER, mac);
	}
	evhttp_send_reply(req, out->status, NULL, b);
	if (b)
		evbuffer_free(b);
}

static void api_handoff(struct server *s, struct evhttp_request *req, struct api_response *out)
{
	char json[160];
	int r = 0;

	switch (out->handoff) {
	case API_HANDOFF_RELAY_TLS:
	case API_HANDOFF_RELAY_WS:
		r = link_upgrade_take(s, req, out->node, out->handoff == API_HANDOFF_RELAY_WS ? out->ws_accept : NULL,
				      &out->reply_auth);
		break;
	case API_HANDOFF_POLL_OPEN:
		if ((r = link_poll_open(s, out->node, json, sizeof(json))) == 0) {
			out->status = 200;
			out->body = malloc(strlen(json) + 2);
			if (out->body)
				snprintf(out->body, strlen(json) + 2, "%s\n", json);
			api_send(req, out);
		}
		break;
	case API_HANDOFF_POLL_GET:
		link_poll_get(s, req);
		break;
	case API_HANDOFF_POLL_SEND:
		link_poll_send(s, req);
		break;
	case API_HANDOFF_RELAY_CONTROL:
		r = out->relay_id <= STORE_RELAYS_MAX && s->relays->by_id[out->relay_id]
			    ? relays_control_open(s, s->relays->by_id[out->relay_id], req)
			    : -ENOENT;
		break;
	default:
		r = -EINVAL;
		break;
	}
	if (r < 0) {
		free(out->body);
		out->status = 500;
		out->body = strdup("{\"error\":\"cannot open the relay link\"}\n");
		api_send(req, out);
	}
}

void api_dispatch(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	struct api_header headers[API_HEADERS_MAX + 1];
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct api_request rq = { .now = server_wall_now(), .headers = headers };
	struct api_response out;
	uint64_t t0 = admin_stats_now_us();
	int r;

	rq.method = api_method_name(evhttp_request_get_command(req));
	rq.target = evhttp_request_get_uri(req);
	rq.headers_count = api_collect_headers(req, headers);
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	rq.peer = conn ? evhttp_connection_get_addr(conn) : NULL;
	rq.body_len = evbuffer_get_length(in);
	/* Bounded: evhttp's limit, COORD_BODY_MAX or an upload's FCACHE_CHUNK_MAX (http.c). */
	rq.body = rq.body_len && rq.body_len <= FCACHE_CHUNK_MAX ? (const char *)evbuffer_pullup(in, -1) : "";
	if (!rq.body) {
		out = (struct api_response){ .status = 500, .body = strdup("{\"error\":\"out of memory\"}\n") };
		api_send(req, &out);
		api_response_free(&out);
		return;
	}
	api_handle(s, &rq, &out);
	if (out.node)
		http_conn_authenticated(s, req);
	if (out.status == API_STATUS_HANDOFF) {
		api_handoff(s, req, &out);
	} else if (out.status == API_STATUS_STREAM) {
		r = stream_open(s, out.node, req, &out.reply_auth);
		if (r == -ENOTCONN || r == -ENOMEM) {
			out.status = 500;
			out.body = strdup("{\"error\":\"cannot open the stream\"}\n");
			api_send(req, &out);
		}
	} else {
		http_conn_next_request(s, req);
		api_send(req, &out);
	}
	api_response_free(&out);
	admin_stats_observe(&s->node_api[node_route_of(rq.target)], admin_stats_now_us() - t0);
}
