/* roam-server's runtime: one libevent loop serving HTTPS (evhttp over
 * bufferevent_openssl), the UDP socket (BINDING, RELAY) and the timers
 * (presence, stream pings) and the admin socket (server/admin/). Single-threaded: the directory
 * needs no locks. */
#ifndef ROAM_SERVER_SERVER_H
#define ROAM_SERVER_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "coord/replay.h"
#include "net/udp.h"
#include "server/conn_limit.h"
#include "server/directory.h"
#include "server/admin/stats.h"
#include "server/events/events.h"
#include "server/events/paths.h"
#include "server/identity.h"
#include "server/links/links.h"
#include "server/reg_limit.h"
#include "server/netcheck.h"
#include "server/pushchan/push_chan.h"
#include "server/relay.h"
#include "server/relays.h"
#include "server/reply_auth.h"
#include "server/store.h"
#include "server/ticket_serials.h"
#include "server/view.h"

struct event_base;
struct evhttp;
struct event;
struct evconnlistener;
struct http_conn;
struct evbuffer;
struct evhttp_request;
struct evbuffer_cb_entry;
typedef struct ssl_ctx_st SSL_CTX;

#define SERVER_PORT_DEFAULT 443
#define SERVER_REPLAY_CAPACITY 262144   /* authenticated requests per 2 min */
/* Keys the server has not approved (unknown, or waiting) have a replay
 * space of their own: a flood of self-made keys fills only this one. Every
 * new node's registration goes through it too, so it bounds how fast nodes
 * join: 65 536 per 2 min generation (~550/s, about what one core admits;
 * 8 192 made 100 000 nodes take 17 min, issue 14). 2 x 131 072 slots of 16
 * bytes: 4 MB. */
#define SERVER_REPLAY_UNKNOWN_CAPACITY 65536
/* Anonymous registrations (defaults of the server_config fields below). */
#define SERVER_PENDING_MAX 1000          /* nodes waiting for approval, in all */
#define SERVER_PENDING_TTL_S (24 * 3600) /* a waiting node is forgotten after this */
#define SERVER_PENDING_BURST 10          /* per source address (IPv6: /64) ... */
#define SERVER_PENDING_REFILL_S 360      /* ... then one every 6 min */
#define SERVER_STREAM_OUTPUT_MAX (16 * 1024 * 1024) /* a slower reader is cut off */
#define SERVER_STREAM_INPUT_MAX (64 * 1024)         /* nodes only listen: more is discarded */
#define SERVER_ACCEPT_BACKOFF_MS 100                /* out of fds: pause accept() this long */
#define SERVER_HTTP_TIMEOUT_S 30
#define SERVER_PRESENCE_STORE_S 30      /* last_seen in the store while online */
/* Shutting down: streams get a goodbye with a retry-after spread over
 * streams x SERVER_READMIT_US (what a node's readmission costs, measured:
 * ~1.4 ms; doubled), between 1 s and COORD_GOODBYE_MAX_MS. */
#define SERVER_READMIT_US 3000
#define SERVER_GOODBYE_FLUSH_MS 500
/* A group of more members is big: its members are not in each other's
 * views (a group of 10 000 forming would push ~50 million peer lines, more
 * than a core seals; issue 14), they ask for the peers they talk to. */
#define SERVER_GROUP_VIEW_MAX 1000

struct server_config {
	const char *state_dir;
	uint16_t port;                 /* 0: the one stored by init */
	unsigned binding_lifetime_s;   /* COORD_BINDING_LIFETIME_S */
	unsigned grace_s;              /* COORD_BINDING_GRACE_S */
	/* 0: the SERVER_PENDING_* default */
	unsigned pending_max, pending_ttl_s, pending_burst, pending_refill_s;
	struct conn_limit_config conn; /* 0 fields: sized from RLIMIT_NOFILE (conn_limit.h) */
	/* roam-server relay: no store, nodes by ticket (server/relayonly/) */
	bool relay_only;
	struct relayonly *relay;
	uint64_t rate_limit_bytes_s; /* --rate-limit; 0: none */
	unsigned event_retention_days; /* --event-retention; 0: EVENTS_RETENTION_DAYS_DEFAULT */
	const char *admin_listen;      /* --admin-listen ADDR:PORT, "none"; NULL: the default (server/admin/) */
	/* files for offline nodes (server/files/cache.h); 0: the defaults */
	uint64_t files_node_quota, files_total_quota, files_expiry_s;
	const char *public_url; /* --public-url: this server's https:// URL, listed for the nodes' failover */
	/* --group-view-max: groups with more members are big, their members
	 * learn each other on demand (GET /v1/peer). 0: SERVER_GROUP_VIEW_MAX;
	 * SIZE_MAX: no group is big. */
	size_t group_view_max;
};

struct srv_stream {
	struct server *srv;
	struct evhttp_request *req;
	struct dir_node *node;
	struct srv_stream *prev, *next;
	struct evbuffer *input;          /* the connection's input, drained past SERVER_STREAM_INPUT_MAX */
	struct evbuffer_cb_entry *input_cb;
	struct event *drain_ev;
	uint64_t input_discarded;
	struct reply_auth reply_auth; /* on: a mac line after each line */
	struct stream_poll *poll;     /* polled (GET /v1/stream?poll=1): req is NULL, no input */
	struct push_stream *push;     /* over UDP (the push channel, server/pushchan/): req is NULL, no input */
};

struct server_stats {
	uint64_t connections, requests, rejected_auth, accept_paused, stream_input_discarded, bindings, bindings_bad, relayed, relay_dropped, udp_other;
	/* relay drops by reason (they add up to relay_dropped) */
	uint64_t relay_drop_malformed, relay_drop_not_wg, relay_drop_bad_size, relay_drop_sender, relay_drop_dest,
		relay_drop_send, relay_drop_slow, relay_drop_rate;
	uint64_t relay_pongs, relay_pings_dropped; /* RELAY_PING on the UDP port */
	uint64_t relayed_probes;        /* of relayed: path probes (PING, PONG, CALLME) */
	uint64_t relayed_bytes;         /* of relayed: their bytes (relay headers included) */
	uint64_t challenges, takeovers; /* endpoint return-routability checks */
	uint64_t replay_unknown_full;   /* unknown keys refused: their replay space was full */
	uint64_t registrations_limited; /* pending registrations refused (rate or cap) */
	uint64_t pending_expired;
	uint64_t tickets; /* relay tickets issued */
	uint64_t peer_asks; /* GET /v1/peer answered (peers on demand) */
	uint64_t udp_handback_dropped; /* relay_thread.c: its queue to the main loop was full */
	uint64_t udp_handed_back;      /* relay_thread.c: datagrams it handed to the main loop */
	uint64_t udp_handback_wakes;   /* ... and the main loop's wakes for them (coalesced when busy) */
	uint64_t presence_batches, presence_rows; /* presence_batch.c: store transactions, rows in them */
	uint64_t relay_snapshots; /* relay_thread.c: snapshots of the directory built for the relay thread */
	uint64_t relay_snapshot_patches; /* of them: the last one patched with the few nodes that changed */
	/* the push channel (server/pushchan/) */
	uint64_t push_streams;  /* opened */
	uint64_t push_data;     /* PUSH_DATA sent, resends included */
	uint64_t push_resent;   /* of push_data: chunks sent again */
	uint64_t push_acks;     /* PUSH_ACKs accepted */
	uint64_t push_keeps;    /* of which KEEPs: each refreshed the node's binding */
	uint64_t push_bad;      /* PUSH_ACKs refused (mac, stale, replayed, other source, offset never sent) */
	uint64_t push_too_big;  /* streams ended with TOO_BIG */
	uint64_t push_dead;     /* streams closed: retransmissions unanswered */
};

/* libevent priorities (server_open; docs/architecture.md, "The push
 * channel, as built"): the UDP socket's work (BINDINGs, PUSH_ACKs handed
 * back by the relay thread, the push channel's sends and resends) before
 * everything else, so that a flood of TLS handshakes and registrations on
 * the same loop delays a KEEP's answer by a few callbacks at most
 * (SERVER_DISPATCH_MAX in server.c), not by the whole backlog: a late answer makes nodes leave the push channel for TLS
 * streams, which adds to the flood. Events created without a priority get
 * SERVER_PRIO_DEFAULT. */
enum server_prio {
	SERVER_PRIO_UDP = 0,
	SERVER_PRIO_DEFAULT = 1,
	SERVER_PRIO_COUNT = 2,
};

struct server {
	struct server_config cfg;
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ssl;
	int ssl_conn_index;              /* SSL ex_data slot of a connection's struct http_conn */
	struct conn_limit conns;
	struct http_conn *conns_pending; /* accepted this loop turn, not yet admitted */
	struct event *conns_check_ev;
	struct evconnlistener *listener;
	unsigned fd_budget;              /* soft RLIMIT_NOFILE after raising it */
	struct store *store;
	struct directory dir;
	struct coord_replay replay, replay_unknown;
	struct reg_limit *reg_limit;
	struct server_identity id;
	struct udp_socket udp;
	struct udp_batch *batch;
	struct udp_sendq relay_tx;       /* relay_udp.c: sends during a receive batch */
	struct relay relay;
	struct relay_thread *rt; /* relay_thread.c; NULL: the main loop reads the UDP socket */
	struct server_netcheck netcheck;
	struct event *udp_ev, *ping_ev, *sigint_ev, *sigterm_ev;
	struct evbuffer *scratch;
	struct srv_stream *streams;
	size_t streams_count;
	int64_t data_version;
	struct server_stats stats;
	struct server_links links;
	struct ticket_serials serials;                 /* tickets.c */
	struct srv_relays *relays;                     /* relays.c (control server) */
	struct relayonly *ro;                          /* relay-only mode, or NULL */
	struct admin_sock *admin;                      /* server/admin/sock.c */
	struct server_events events;                   /* server/events/ */
	struct admin_http *admin_http;                 /* server/admin/: the console, the admin API */
	struct server_paths paths;                     /* server/events/paths.c: nodes' path reports */
	struct cluster_watch *cluster;                 /* server/cluster/: other servers' changes (PostgreSQL) */
	struct srv_view view;                          /* server/view.h: view versions, the removal log */
	struct push_chan push;                         /* server/pushchan/: the push streams' deadlines */
	struct event *push_ev;                         /* ... and their one timer */
	bool stopping;                                 /* a signal came: goodbyes sent, the loop ends soon */
	struct presence_batch *presence;               /* presence_batch.c: presence rows waiting for one commit */
	int64_t pending_swept_at;                      /* api.c: the last second waiting nodes were expired */
	struct admin_route_stats node_api[NODE_ROUTE_COUNT]; /* the nodes' API by route, for /metrics */
};

/* server.c */
int server_open(struct server *s, const struct server_config *cfg);
int server_run(struct server *s);
void server_close(struct server *s);
int64_t server_wall_now(void);                                      /* unix seconds */
uint64_t server_wall_now_ns(void);
void server_presence_refresh(struct server *s, struct dir_node *n); /* re-arm its offline timer */
/* Writes n's presence to the store for admin commands: on a change, and
 * while online at most every SERVER_PRESENCE_STORE_S. */
void server_presence_store(struct server *s, struct dir_node *n);
void server_node_forget(struct server *s, struct dir_node *n);      /* stream, timer, then directory */
/* presence_batch.c: a presence row for the store, written with the others
 * in one transaction: within PRESENCE_BATCH_MS when soon (an online state
 * changed), else within PRESENCE_REFRESH_MS; flushed at close. */
int presence_batch_add(struct server *s, uint32_t id, bool online, int64_t last_seen, bool soon);
void presence_batch_flush(struct server *s);
void presence_batch_close(struct server *s);

/* push.c: turning directory changes into stream lines */
void server_push_peer(struct server *s, struct dir_node *n);        /* n changed: tell its viewers */
void server_push_self(struct server *s, struct dir_node *n);        /* n's own "self" line */
int server_send_view(struct server *s, struct dir_node *n);         /* "self" + full "peers" to n */
/* "self" + what changed since the version the node holds (server/view.h),
 * or the full view when the version is not one a delta can start from. */
int server_send_view_since(struct server *s, struct dir_node *n, const char *version);
int server_send_view_version(struct server *s, struct dir_node *n); /* the "view" line: what n holds now */
void server_push_peer_now(struct server *s, struct dir_node *n); /* server_push_peer without the restart batch */
void stream_goodbye_all(struct server *s); /* stream.c: every stream's retry-after, spread */
/* server/view_state.c: view versions across restarts */
int view_state_load(struct server *s);  /* after the directory is loaded */
int view_state_start(struct server *s); /* the restart window's timer, once the loop exists */
int view_state_save(struct server *s);
void view_state_journal(struct server *s, const struct dir_node *n); /* after a push: its version, on disk */
bool view_state_defer(struct server *s, struct dir_node *n); /* true: its push waits for the batch */
void view_state_close(struct server *s);
int server_reload(struct server *s);                                /* admin changes from the store */
/* Reload if an admin command wrote the store itself since we last looked
 * (it found no server answering); done before a registration. */
void server_sync_admin_changes(struct server *s);
int server_load_all(struct server *s);
/* Groups that became big (or stopped): their members get their new views
 * (tell), or the list is only emptied. */
void server_groups_flipped(struct server *s, bool tell);
/* GET /v1/peer: asker and peer hold each other on demand; peer is pushed
 * the asker's line when the pair is new. 0, -ENOMEM. */
int server_peer_ask(struct server *s, struct dir_node *asker, struct dir_node *peer);
/* n's pairs that no longer share a group (after a regroup): forgotten,
 * both ends told the other is gone. */
void server_od_prune(struct server *s, struct dir_node *n);
struct coord_endpoints_req;
void server_endpoints_store(struct server *s, struct dir_node *n, const struct coord_endpoints_req *req);

/* tickets.c: relay tickets on the node streams */
int server_tickets_open(struct server *s);                         /* the serial from the store */
int server_ticket_serial_next(struct server *s, uint64_t *out);
/* The serial below which node_id's tickets are void after a change (relays.c). */
int server_ticket_floor(struct server *s, uint32_t node_id, uint64_t *out);
int server_ticket_build(struct server *s, const struct dir_node *n, int64_t now, uint8_t *out, size_t cap,
			uint64_t *serial);
void server_ticket_send(struct server *s, struct dir_node *n); /* on its stream, if it has one */
void server_tickets_tick(struct server *s);                    /* re-issue those due */

/* stream.c */
/* ra (may be NULL): prove each line to a node behind a TLS-intercepting proxy */
int stream_open(struct server *s, struct dir_node *n, struct evhttp_request *req, const struct reply_auth *ra);
int stream_send(struct srv_stream *st, const char *line, size_t len); /* -EPIPE: closed (too slow) */
void stream_close(struct srv_stream *st);                              /* ends the reply */
void stream_ping_all(struct server *s);
void stream_attach(struct server *s, struct dir_node *n, struct srv_stream *st); /* n's stream from now */
/* What every stream begins with: the relay map, the servers, the view (since
 * version: "" or one no delta starts from is the full view), files waiting. */
int stream_start(struct server *s, struct dir_node *n, const char *version);
void stream_push_close_node(struct dir_node *n); /* its push stream, if it has one (binding gone) */

/* server/pushchan/push_srv.c: the push channel (the stream over UDP) */
int push_srv_open(struct server *s);
void push_srv_close(struct server *s); /* after the streams */
void push_srv_ack(void *ctx, struct dir_node *n, const struct coord_push_ack *a); /* relay_ops.push_ack */
int push_srv_send(struct srv_stream *st, const char *line, size_t len);
void push_srv_stream_free(struct srv_stream *st);

/* stream_poll.c: the stream as polls, where responses are buffered */
#define SERVER_STREAM_POLL_LINES_MAX 4096 /* unacknowledged; beyond: a resync */
#define SERVER_STREAM_POLL_BYTES_MAX SERVER_STREAM_OUTPUT_MAX
#define SERVER_STREAM_POLL_IDLE_S 60 /* no poll this long (two missed): the session ends */
int stream_poll_request(struct server *s, struct dir_node *n, struct evhttp_request *req, const struct reply_auth *ra);
int stream_poll_queue(struct srv_stream *st, const char *text, size_t len);
void stream_poll_free(struct srv_stream *st); /* a held poll is answered */

/* http.c: TLS, the listener and connection admission */
int http_open(struct server *s);
void http_close(struct server *s);
/* The request's connection completed a request authenticated as a known
 * node: it leaves the unauthenticated (MaxStartups) count. */
void http_conn_authenticated(struct server *s, struct evhttp_request *req);
/* A request of req's connection was read whole and gets a plain reply: the
 * next one's body limit follows its own request line (http.c). */
void http_conn_next_request(struct server *s, struct evhttp_request *req);
/* Ends a streamed (chunked) reply for good and closes its connection rather
 * than keep it for another request: libevent 2.1's OpenSSL bufferevent runs
 * its write callback deferred, so one still pending from the last chunk can
 * complete the reply before the final chunk is written; evhttp then waits
 * for a next request with writing disabled and the client never sees the
 * end (the "deaf node" of issue 14). With "close" evhttp frees the
 * connection instead, and the client sees the end either way. */
void http_stream_end(struct evhttp_request *req);

/* api.c: the evhttp adapter over api_handle (api.h) */
void api_dispatch(struct evhttp_request *req, void *arg);
int server_auth_init(struct server *s); /* replay caches, registration limits */
void server_auth_free(struct server *s);

/* relay.c: the UDP socket */
int relay_open(struct server *s);
void relay_close(struct server *s);
/* One datagram from the UDP port, as the main loop handles it (relay_input
 * or NETCHECK); between udp_sendq_cork(&s->relay_tx) and relay_udp_flush(). */
void relay_udp_datagram(struct server *s, uint8_t *buf, size_t len, const struct sockaddr_any *from,
			uint64_t now_ns);
void relay_udp_flush(struct server *s); /* sends relay_tx's queue, counts what the socket refused */

/* netcheck_udp.c: NETCHECK answers on the UDP socket (server/netcheck.h) */
int server_netcheck_open(struct server *s); /* after the socket is open */
void server_netcheck_input_now(struct server *s, const uint8_t *buf, size_t len, const struct sockaddr_any *from);
void server_netcheck_close(struct server *s);

#endif
