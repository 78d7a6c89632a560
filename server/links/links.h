/* Relay links on roam-server (docs/control-protocol.md, "Relay links"):
 * nodes that cannot use the UDP relay carry the same datagrams over their
 * HTTPS connection, as a TLS stream (Upgrade: roam-relay/1), a WebSocket,
 * or long-poll requests. A node has at most one link of each kind (a new
 * one replaces the old); datagrams to it go out on its best open link
 * (TLS > WebSocket > long-poll), else to its UDP binding (relay.c).
 *
 * links.c: the per-node table, presence, delivery, what a link receives,
 * the keepalive/idle sweep. link_upgrade.c: taking an upgraded connection
 * over from evhttp, and TLS-stream framing. link_ws.c: WebSocket (wslay).
 * link_poll.c: long-poll sessions. */
#ifndef ROAM_SERVER_LINKS_H
#define ROAM_SERVER_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/relay_link.h"
#include "server/directory.h"

struct reply_auth;
struct server;
struct event;
struct evhttp_request;
struct relay_link;
struct poll_table;

#define RELAY_LINK_OUTPUT_MAX (1024 * 1024) /* bytes queued to one link; beyond: drop (relay_drop_slow) */
#define RELAY_LINK_TICK_S 1                 /* keepalive and idle sweep: a walk over the links */

struct relay_link_ops {
	/* Queue one datagram to the node: 0, -ENOBUFS (output full), -EPIPE. */
	int (*send)(struct relay_link *l, const uint8_t *d, size_t len);
	void (*keepalive)(struct relay_link *l);
	/* Release the transport and free l (after links_kill, from the loop). */
	void (*destroy)(struct relay_link *l);
};

struct relay_link {
	struct server *srv;
	struct dir_node *node;         /* NULL once killed */
	enum dir_link_kind kind;
	const struct relay_link_ops *ops;
	struct relay_link *prev, *next; /* live links */
	struct relay_link *next_dead;
	bool dead;
	int64_t last_rx, last_tx;       /* monotonic seconds */
};

enum links_close_reason {
	LINKS_CLOSE_PEER,     /* the node closed it, or the connection failed */
	LINKS_CLOSE_IDLE,     /* nothing received for RELAY_LINK_IDLE_TIMEOUT_S */
	LINKS_CLOSE_REPLACED, /* a new link of the same kind */
	LINKS_CLOSE_PROTOCOL, /* framing error */
	LINKS_CLOSE_NODE,     /* the node logged out, was removed or disabled */
	LINKS_CLOSE_REASONS
};

struct links_stats {
	uint64_t opened[DIR_LINK_KINDS], closed[LINKS_CLOSE_REASONS];
	uint64_t rx, tx, keepalives_rx, pongs;
	uint64_t drop_unknown;    /* not a RELAY, keepalive or PING */
	uint64_t poll_dup;        /* uplink records already seen or too old */
	uint64_t poll_queue_full; /* downlink datagrams over the session's caps */
	uint64_t poll_bad_batch;  /* malformed uplink bodies (400) */
	uint64_t poll_no_session; /* unknown or expired session (404) */
};

struct server_links {
	struct relay_link *all, *dead;
	size_t count[DIR_LINK_KINDS];
	struct event *tick_ev, *reap_ev;
	struct poll_table *poll;
	unsigned idle_s; /* RELAY_LINK_IDLE_TIMEOUT_S (test builds: ROAM_TEST_RELAY_LINK_IDLE_S) */
	bool shutting_down;
	struct relay_link *lingering; /* killed links still flushing their last bytes */
	struct links_stats st;
};

/* links.c */
int links_open(struct server *s);
void links_close(struct server *s); /* every link, before evhttp_free */
int64_t links_now(void);            /* monotonic seconds */
/* relay_ops.link_send: n's best link, -ENOTCONN if it has none. */
int server_links_send(void *ctx, struct dir_node *n, const uint8_t *buf, size_t len);
/* l (filled by the transport) becomes n's link of its kind. */
void links_attach(struct server *s, struct relay_link *l, struct dir_node *n, enum dir_link_kind kind,
		  const struct relay_link_ops *ops);
/* Detach l from its node (presence) and free it from the loop soon; safe
 * from l's own callbacks and more than once. */
void links_kill(struct relay_link *l, enum links_close_reason why);
void links_close_node(struct server *s, struct dir_node *n);
/* One datagram the node sent on l; d is rewritten in place. */
void links_input(struct relay_link *l, uint8_t *d, size_t len);
const char *links_kind_name(enum dir_link_kind kind);

/* link_upgrade.c / link_ws.c: the evhttp adapter hands an authenticated
 * GET /v1/relay over. ws_accept: the Sec-WebSocket-Accept value (NULL: TLS
 * stream). 0 (the connection is ours) or -errno (the adapter answers 500). */
int link_upgrade_take(struct server *s, struct evhttp_request *req, struct dir_node *n, const char *ws_accept,
		      const struct reply_auth *ra);
int link_ws_accept_value(const char *key, char *out, size_t size); /* RFC 6455 4.2.2 */
void link_upgrade_linger_free(struct server *s); /* at shutdown */

/* link_poll.c */
int link_poll_init(struct server *s);
void link_poll_free(struct server *s);
/* POST /v1/relay/poll: a new session for n (replacing its old one); the
 * reply's JSON in json. */
int link_poll_open(struct server *s, struct dir_node *n, char *json, size_t size);
void link_poll_get(struct server *s, struct evhttp_request *req);  /* GET /v1/relay/poll?... */
void link_poll_send(struct server *s, struct evhttp_request *req); /* POST /v1/relay/poll/send */

#endif
