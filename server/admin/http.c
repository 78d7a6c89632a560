/* The admin listener (admin.h): HTTPS with the server's certificate, its
 * own evhttp, a cap on connections, security headers on every reply, and
 * the authentication every route but login and the pages' assets needs: a
 * session cookie (then a CSRF token on every change) or an API token. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/ssl.h>
#include <sys/queue.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "server/admin/admin.h"
#include "server/server.h"
#include "util/log.h"
#include "util/log_limit.h"

const char *const admin_route_names[ADMIN_ROUTE_COUNT] = {
	"console", "login", "logout", "session", "overview", "nodes", "groups", "keys",
	"relays", "connections", "events", "stream", "ops", "metrics", "other",
};

enum route_auth {
	ROUTE_OPEN,   /* no one needs to be logged in */
	ROUTE_READ,   /* a session or a token */
	ROUTE_CHANGE, /* and with a session, its CSRF token */
};

struct route {
	const char *method, *path;
	enum admin_route id;
	enum route_auth auth;
	void (*handler)(struct admin_req *r);
};

static const struct route routes[] = {
	{ "POST", "/api/v1/login", ADMIN_ROUTE_LOGIN, ROUTE_OPEN, admin_api_login },
	{ "POST", "/api/v1/logout", ADMIN_ROUTE_LOGOUT, ROUTE_CHANGE, admin_api_logout },
	{ "GET", "/api/v1/session", ADMIN_ROUTE_SESSION, ROUTE_READ, admin_api_session },
	{ "GET", "/api/v1/overview", ADMIN_ROUTE_OVERVIEW, ROUTE_READ, admin_api_overview },
	{ "GET", "/api/v1/nodes", ADMIN_ROUTE_NODES, ROUTE_READ, admin_api_nodes },
	{ "GET", "/api/v1/groups", ADMIN_ROUTE_GROUPS, ROUTE_READ, admin_api_groups },
	{ "GET", "/api/v1/keys", ADMIN_ROUTE_KEYS, ROUTE_READ, admin_api_keys },
	{ "GET", "/api/v1/relays", ADMIN_ROUTE_RELAYS, ROUTE_READ, admin_api_relays },
	{ "GET", "/api/v1/connections", ADMIN_ROUTE_CONNECTIONS, ROUTE_READ, admin_api_connections },
	{ "GET", "/api/v1/events", ADMIN_ROUTE_EVENTS, ROUTE_READ, admin_api_events },
	{ "GET", "/api/v1/stream", ADMIN_ROUTE_STREAM, ROUTE_READ, admin_sse_open },
	{ "POST", "/api/v1/ops", ADMIN_ROUTE_OPS, ROUTE_CHANGE, admin_api_ops },
	{ "GET", "/metrics", ADMIN_ROUTE_METRICS, ROUTE_READ, admin_metrics },
};

/* --- replies --- */

static void security_headers(struct evkeyvalq *h)
{
	evhttp_add_header(h, "Content-Security-Policy",
			  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
			  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Strict-Transport-Security", "max-age=31536000");
}

void admin_reply_bytes(struct admin_req *r, int code, const char *type, const void *data, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->rq);
	struct evbuffer *out = evbuffer_new();

	security_headers(h);
	evhttp_add_header(h, "Content-Type", type);
	if (!evhttp_find_header(h, "Cache-Control"))
		evhttp_add_header(h, "Cache-Control", "no-store");
	if (out)
		evbuffer_add(out, data, len);
	evhttp_send_reply(r->rq, code, NULL, out);
	if (out)
		evbuffer_free(out);
}

void admin_reply_json(struct admin_req *r, int code, cJSON *body)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;

	if (!text) {
		static const char oom[] = "{\"error\":\"out of memory\"}";
		admin_reply_bytes(r, 500, "application/json", oom, sizeof(oom) - 1);
	} else {
		admin_reply_bytes(r, code, "application/json", text, strlen(text));
	}
	cJSON_free(text);
	cJSON_Delete(body);
}

void admin_reply_error(struct admin_req *r, int code, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "error", msg);
	admin_reply_json(r, code, o);
}

const char *admin_header(const struct admin_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->rq), name);
}

int admin_query(const struct admin_req *r, const char *key, char *out, size_t size)
{
	struct evkeyvalq q;
	const char *v;
	int ret = -ENOENT;

	if (!r->query)
		return ret;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(r->query, &q) == 0 && (v = evhttp_find_header(&q, key))) {
		ret = strlen(v) < size ? 0 : -E2BIG;
		if (ret == 0)
			memcpy(out, v, strlen(v) + 1);
	}
	evhttp_clear_headers(&q);
	return ret;
}

/* --- authentication --- */

static int authenticate(struct admin_req *r, enum route_auth need)
{
	struct server *s = r->srv;
	const char *authz = admin_header(r, "Authorization"), *cookies = admin_header(r, "Cookie");
	char cookie[ADMIN_SECRET_B64_LEN + 2];
	struct store_admin who;

	if (need == ROUTE_OPEN)
		return 0;
	if (authz) {
		/* A token: no cookie, so no CSRF to fear. */
		if (strncmp(authz, "Bearer ", 7) != 0 || admin_token_check(s->store, authz + 7, &who) < 0) {
			r->ah->auth.token_refused++;
			server_event(s, EV_AUTH_FAILED, NULL, NULL, "admin API token refused (%s %s from %s)", r->method,
				     r->path, r->source);
			admin_reply_error(r, 401, "unknown or revoked token");
			return -EACCES;
		}
		memcpy(r->admin, who.name, sizeof(r->admin));
		return 0;
	}
	if (!cookies || admin_cookie_find(cookies, ADMIN_COOKIE_NAME, cookie, sizeof(cookie)) < 0 ||
	    !(r->session = admin_session_find(&r->ah->auth, cookie, r->now))) {
		admin_reply_error(r, 401, "log in first");
		return -EACCES;
	}
	if (store_admin_by_name(s->store, r->session->admin, &who) < 0) {
		admin_session_end(r->session); /* `roam-server admins remove` ends it */
		r->session = NULL;
		admin_reply_error(r, 401, "this account no longer exists");
		return -EACCES;
	}
	if (!admin_session_password_current(r->session, who.password_hash)) {
		crypto_wipe(&who, sizeof(who));
		admin_session_end(r->session);
		r->session = NULL;
		server_event(s, EV_REFUSED, NULL, NULL, "console session ended: the password changed (from %s)", r->source);
		admin_reply_error(r, 401, "your password was changed since you logged in");
		return -EACCES;
	}
	crypto_wipe(&who, sizeof(who));
	memcpy(r->admin, r->session->admin, sizeof(r->admin));
	if (need == ROUTE_CHANGE && !admin_csrf_ok(r->session, admin_header(r, "X-CSRF-Token"))) {
		r->ah->auth.csrf_refused++;
		server_event(s, EV_REFUSED, NULL, r->admin, "%s %s without a valid CSRF token (from %s)", r->method,
			     r->path, r->source);
		admin_reply_error(r, 403, "missing or wrong CSRF token (X-CSRF-Token)");
		return -EACCES;
	}
	return 0;
}

/* --- dispatch --- */

static void request_source(struct evhttp_request *rq, char *out, size_t size)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(rq);
	const struct sockaddr *sa = conn ? evhttp_connection_get_addr(conn) : NULL;

	snprintf(out, size, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)size);
}

static const char *method_name(enum evhttp_cmd_type t)
{
	return t == EVHTTP_REQ_GET ? "GET" : t == EVHTTP_REQ_POST ? "POST" : t == EVHTTP_REQ_HEAD ? "HEAD" : "OTHER";
}

static int request_body(struct admin_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->rq);
	size_t len = evbuffer_get_length(in);

	if (len > ADMIN_BODY_MAX)
		return -E2BIG;
	if (!(r->body = malloc(len + 1)))
		return -ENOMEM;
	evbuffer_copyout(in, r->body, len);
	r->body[len] = '\0';
	r->body_len = len;
	return 0;
}

static void admin_dispatch(struct evhttp_request *rq, void *arg)
{
	struct admin_http *ah = arg;
	struct admin_req r = { .ah = ah, .srv = ah->srv, .rq = rq, .now = server_wall_now() };
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(rq);
	const struct route *route = NULL;
	enum admin_route id = ADMIN_ROUTE_OTHER;
	uint64_t t0 = admin_stats_now_us();

	r.method = method_name(evhttp_request_get_command(rq));
	r.path = uri ? evhttp_uri_get_path(uri) : NULL;
	r.query = uri ? evhttp_uri_get_query(uri) : NULL;
	request_source(rq, r.source, sizeof(r.source));
	if (!r.path || request_body(&r) < 0) {
		admin_reply_error(&r, 400, "bad request");
		goto out;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, r.path) == 0) {
			route = &routes[i];
			id = route->id;
			if (strcmp(route->method, r.method) == 0)
				break;
		}
	}
	if (!route && strncmp(r.path, "/api/", 5) != 0) {
		id = ADMIN_ROUTE_CONSOLE;
		admin_console_serve(&r);
	} else if (!route) {
		admin_reply_error(&r, 404, "no such API route");
	} else if (strcmp(route->method, r.method) != 0) {
		evhttp_add_header(evhttp_request_get_output_headers(rq), "Allow", route->method);
		admin_reply_error(&r, 405, "method not allowed");
	} else if (authenticate(&r, route->auth) == 0) {
		route->handler(&r);
	}
out:
	admin_stats_observe(&ah->routes[id], admin_stats_now_us() - t0);
	free(r.body);
}

/* --- the listener --- */

static void conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct admin_http *ah = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (!ah)
		return;
	ah->conns--;
	if (!ah->closing && ah->conns + 1 == ADMIN_CONNS_MAX && ah->listener)
		evconnlistener_enable(ah->listener);
}

static struct bufferevent *admin_new_bev(struct event_base *base, void *arg)
{
	struct admin_http *ah = arg;
	SSL *ssl = SSL_new(ah->srv->ssl);
	struct bufferevent *bev;

	/* NULL would make evhttp serve plain HTTP: never. */
	if (!ssl || !SSL_set_ex_data(ssl, ah->conn_index, ah)) {
		log_err("admin connection: out of memory");
		abort();
	}
	if (!(bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE))) {
		log_err("admin connection: out of memory");
		abort();
	}
	if (++ah->conns >= ADMIN_CONNS_MAX && ah->listener)
		evconnlistener_disable(ah->listener); /* until one closes */
	return bev;
}

/* "ADDR:PORT", "[ADDR6]:PORT" */
static int parse_listen(const char *text, char *addr, size_t size, uint16_t *port)
{
	const char *colon = strrchr(text, ':');
	const char *a = text;
	size_t alen;
	char *end;
	long p;

	if (!colon)
		return -EINVAL;
	alen = (size_t)(colon - text);
	if (*a == '[' && alen >= 2 && a[alen - 1] == ']') {
		a++;
		alen -= 2;
	}
	p = strtol(colon + 1, &end, 10);
	if (*end || p < 1 || p > 65535 || alen == 0 || alen >= size)
		return -EINVAL;
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	*port = (uint16_t)p;
	return 0;
}

static int admin_bind(struct admin_http *ah, const char *listen)
{
	struct server *s = ah->srv;
	struct evhttp_bound_socket *b;
	char addr[64];
	uint16_t port;

	if (parse_listen(listen, addr, sizeof(addr), &port) < 0) {
		log_err("--admin-listen %s: not ADDR:PORT", listen);
		return -EINVAL;
	}
	if (port == s->cfg.port) {
		log_err("--admin-listen %s: that is the nodes' port; the console has its own", listen);
		return -EINVAL;
	}
	if (!(b = evhttp_bind_socket_with_handle(ah->http, addr, port)))
		return -EADDRINUSE;
	ah->listener = evhttp_bound_socket_get_listener(b);
	/* as a URL's host:port: an IPv6 address in brackets, however given */
	snprintf(ah->listen, sizeof(ah->listen), "%s%s%s:%u", strchr(addr, ':') ? "[" : "", addr,
		 strchr(addr, ':') ? "]" : "", port);
	return 0;
}

int admin_http_open(struct server *s)
{
	const char *listen = s->cfg.admin_listen ? s->cfg.admin_listen : ADMIN_LISTEN_DEFAULT;
	struct admin_http *ah;
	int r;

	if (strcmp(listen, "none") == 0)
		return 0;
	if (!(ah = calloc(1, sizeof(*ah))))
		return -ENOMEM;
	s->admin_http = ah;
	ah->srv = s;
	ah->conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_ex_free);
	if (ah->conn_index < 0 || !(ah->http = evhttp_new(s->base)))
		return -ENOMEM;
	evhttp_set_bevcb(ah->http, admin_new_bev, ah);
	evhttp_set_gencb(ah->http, admin_dispatch, ah);
	evhttp_set_max_body_size(ah->http, ADMIN_BODY_MAX);
	evhttp_set_max_headers_size(ah->http, ADMIN_HEADERS_MAX);
	evhttp_set_timeout(ah->http, ADMIN_TIMEOUT_S);
	evhttp_set_allowed_methods(ah->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	ah->follower.cb = admin_sse_event;
	ah->follower.ctx = ah;
	if ((r = events_follow(s, &ah->follower)) < 0)
		return r;
	if ((r = admin_bind(ah, listen)) == -EADDRINUSE && !s->cfg.admin_listen) {
		/* The default is a convenience: a second server on this host
		 * runs without a console rather than not at all. */
		log_warn("console: %s is in use; no console (give --admin-listen)", listen);
		return 0;
	}
	if (r < 0) {
		if (r == -EADDRINUSE)
			log_err("--admin-listen %s: cannot listen there (in use, or no such address)", listen);
		return r;
	}
	log_info("console and admin API on https://%s/ (roam-server admins add NAME for an account)", ah->listen);
	return 0;
}

void admin_http_close(struct server *s)
{
	struct admin_http *ah = s->admin_http;

	if (!ah)
		return;
	ah->closing = true;
	admin_sse_close_all(ah);
	events_unfollow(s, &ah->follower);
	if (ah->http)
		evhttp_free(ah->http);
	ah->http = NULL;
	ah->listener = NULL;
}

void admin_http_free(struct server *s)
{
	struct admin_http *ah = s->admin_http;

	if (!ah)
		return;
	for (size_t i = 0; i < ADMIN_SESSIONS_MAX; i++)
		admin_session_end(&ah->auth.sessions[i]);
	free(ah);
	s->admin_http = NULL;
}
