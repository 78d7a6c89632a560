/* The console and the admin API: roam-server's second HTTPS listener,
 * 127.0.0.1:ADMIN_PORT_DEFAULT unless --admin-listen says otherwise, never
 * the nodes' port (docs/admin-api.md). */
#ifndef ROAM_SERVER_ADMIN_H
#define ROAM_SERVER_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/admin/auth.h"
#include "server/admin/stats.h"
#include "server/events/events.h"

#define ADMIN_LISTEN_DEFAULT "127.0.0.1:8444"
#define ADMIN_CONNS_MAX 64 /* open connections; the listener pauses at this */
#define ADMIN_BODY_MAX (64 * 1024)
#define ADMIN_HEADERS_MAX (16 * 1024)
#define ADMIN_TIMEOUT_S 30
#define ADMIN_PER_PAGE_MAX 200
#define ADMIN_SSE_MAX 32 /* live-update streams at once */
#define ADMIN_SSE_OUTPUT_MAX (1024 * 1024)

struct server;
struct evhttp_request;
struct cJSON;

/* The routes the metrics count (admin_route_names). */
enum admin_route {
	ADMIN_ROUTE_CONSOLE,
	ADMIN_ROUTE_LOGIN,
	ADMIN_ROUTE_LOGOUT,
	ADMIN_ROUTE_SESSION,
	ADMIN_ROUTE_OVERVIEW,
	ADMIN_ROUTE_NODES,
	ADMIN_ROUTE_GROUPS,
	ADMIN_ROUTE_KEYS,
	ADMIN_ROUTE_RELAYS,
	ADMIN_ROUTE_CONNECTIONS,
	ADMIN_ROUTE_EVENTS,
	ADMIN_ROUTE_STREAM,
	ADMIN_ROUTE_OPS,
	ADMIN_ROUTE_METRICS,
	ADMIN_ROUTE_OTHER,
	ADMIN_ROUTE_COUNT
};
extern const char *const admin_route_names[ADMIN_ROUTE_COUNT];


/* One request as the handlers see it. */
struct admin_req {
	struct admin_http *ah;
	struct server *srv;
	struct evhttp_request *rq;
	const char *method;
	const char *path;
	const char *query; /* NULL: none */
	char *body;        /* NUL-terminated copy, or NULL */
	size_t body_len;
	int64_t now;
	char source[48];                 /* the peer's address, for limits and the log */
	char admin[COORD_NAME_MAX + 1];  /* who, once authenticated */
	struct admin_session *session;   /* NULL: by token */
};

struct admin_sse;

/* Relay 0's counters at the last sample, and the rates since (load.c). */
struct admin_load {
	uint64_t at_us; /* admin_stats_now_us(); 0: no sample yet */
	uint64_t datagrams, bytes;
	double datagrams_per_s, bytes_per_s;
};

struct admin_http {
	struct server *srv;
	struct evhttp *http;
	struct evconnlistener *listener; /* evhttp's, paused at ADMIN_CONNS_MAX */
	int conn_index;                  /* SSL ex_data slot: counts connections */
	unsigned conns;
	bool closing;
	char listen[80];
	struct admin_auth auth;
	struct admin_route_stats routes[ADMIN_ROUTE_COUNT];
	struct admin_sse *sse;
	size_t sse_count;
	struct event *sse_ping_ev;
	struct events_follower follower; /* events to the live-update streams */
	struct admin_load load;
};

/* server side */
int admin_http_open(struct server *s);  /* unless --admin-listen none */
void admin_http_close(struct server *s); /* stops listening, ends streams */
void admin_http_free(struct server *s);  /* after the event base is gone */

/* http.c: replies */
void admin_reply_json(struct admin_req *r, int code, struct cJSON *body); /* takes body */
void admin_reply_error(struct admin_req *r, int code, const char *msg);
void admin_reply_bytes(struct admin_req *r, int code, const char *type, const void *data, size_t len);
/* A query parameter (decoded) into out: 0, -ENOENT, -E2BIG. */
int admin_query(const struct admin_req *r, const char *key, char *out, size_t size);
const char *admin_header(const struct admin_req *r, const char *name);

/* load.c: {"pairs_direct", "pairs_relayed", "relayed_datagrams_per_s",
 * "relayed_bytes_per_s", "relays": [{"name", "online", "clients",
 * "datagrams_per_s", "bytes_per_s"}]}, sampled now. */
struct cJSON *admin_load_json(struct admin_http *ah, int64_t now);

/* api.c: the JSON API under /api/v1/ */
void admin_api_overview(struct admin_req *r);
void admin_api_nodes(struct admin_req *r);
void admin_api_groups(struct admin_req *r);
void admin_api_keys(struct admin_req *r);
void admin_api_relays(struct admin_req *r);
void admin_api_connections(struct admin_req *r);
void admin_api_events(struct admin_req *r);
void admin_api_ops(struct admin_req *r);
void admin_api_login(struct admin_req *r);
void admin_api_logout(struct admin_req *r);
void admin_api_session(struct admin_req *r);

/* sse.c: live updates (server-sent events) */
void admin_sse_open(struct admin_req *r);
void admin_sse_close_all(struct admin_http *ah);
void admin_sse_event(void *ctx, const struct store_event *ev); /* an events_follower */

/* console.c: the pages (embedded assets) */
void admin_console_serve(struct admin_req *r);

/* metrics.c */
void admin_metrics(struct admin_req *r);

/* The page of nodes the console shows: search in names and addresses,
 * sort, page; exposed for bench/ and tests. */
struct admin_nodes_query {
	const char *search; /* NULL or "": all */
	const char *state;  /* NULL: all; "online", "offline", "pending" */
	const char *sort;   /* "name" (default), "id", "last_seen" */
	size_t page, per_page;
};
struct cJSON *admin_nodes_page(struct server *s, const struct admin_nodes_query *q, int64_t now);
struct dir_node;
/* How a node reaches the server now: "udp" (a binding), a relay link's
 * kind ("tls", ...), or NULL (offline). */
const char *admin_node_via(const struct dir_node *n);

#endif
