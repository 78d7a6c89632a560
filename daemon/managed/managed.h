/* Managed mode: roamd as a member of a roam network run by roam-server
 * (docs/control-protocol.md). It registers the node's key, asks for the
 * overlay addresses it is given, keeps the server told where the node is
 * (BINDING over the tunnel socket, private endpoints over HTTPS), follows
 * the server's stream of peers that share a group, and turns each into a
 * peer on a direct or relayed path. The server's full view is
 * authoritative: a peer missing from it is removed (but for the peers of
 * big groups held on demand, managed_ondemand.c), and a node the server
 * refuses keeps no peers at all.
 *
 * It runs in roamd's unprivileged agent process (daemon/privsep.h) and
 * reaches the data plane only through struct managed_host_ops. */
#ifndef ROAM_DAEMON_MANAGED_H
#define ROAM_DAEMON_MANAGED_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "coord/json.h"
#include "coord/servers.h"
#include "coord/stream_poll.h"
#include "coord/ticket.h"
#include "ctl/request.h"
#include "path/relay_choice.h"
#include "daemon/http_client.h"
#include "daemon/managed/managed_host.h"
#include "daemon/managed/managed_push_rx.h"
#include "daemon/netcheck.h"
#include "ev/loop.h"
#include "net/addr.h"
#include "util/backoff.h"

struct managed_peer; /* managed_peers.c */
struct relaylink;    /* daemon/relaylink/relaylink.h */

#define MANAGED_PIN_MAX 64 /* "sha256//" + base64 of 32 bytes */

struct managed_peer_table {
	struct managed_peer **buckets;
	size_t nbuckets, count;
	uint32_t view_gen; /* bumped by each full view: who is not in it goes */
};

/* Several relays (managed_relays.c). */
struct managed_relay {
	struct coord_relay info;
	uint8_t k_nr[COORD_KEY_LEN];
	bool have_key;
	uint32_t rtt_us;
	struct sockaddr_any udp;  /* len 0: a name (not resolved yet) */
	uint64_t bind_ts;         /* our latest RELAY_BIND's timestamp (wall ns) */
	uint64_t bind_sent;       /* ... sent at (ev_now); its ACK: the round trip */
	struct managed_rlink *link; /* relay-only: its relay link (managed_relay.c); NULL: none */
	uint64_t wanted_at;       /* ... last wanted (in use, or measured) */
	struct relay_live live;   /* RELAY_PINGs while in use (lib/path/relay_choice.h) */
	bool in_use;              /* our home, or a relay of some peer's paths */
};
struct managed_relays {
	size_t count;
	struct managed_relay r[COORD_RELAYS_MAX];
	uint8_t ticket[TICKET_LEN_MAX];
	size_t ticket_len;
	uint64_t ticket_serial, ticket_expires;
	struct relay_home home;
	struct ev_timer bind_timer; /* RELAY_BINDs: a round trip per relay */
	uint64_t binding_sent;      /* relay 0: our latest BINDING's ev_now */
	struct coord_relay_rtts reported; /* our relay_rtt as the server last heard it */
	struct ev_timer live_timer; /* RELAY_PINGs to the relays in use */
	struct ev_timer links_timer; /* the links to open and close, outside any link's callback */
};

/* Names resolved off the loop (daemon/managed_names.c). */
#define MANAGED_NAMES_REFRESH_S 300
struct managed_names {
	struct resolver *resolver;
	struct ev_timer timer;  /* again every MANAGED_NAMES_REFRESH_S */
	char server[256];       /* the server's host name when proxied; "": none */
	uint16_t server_port;
};

/* The push channel (managed_push.c). */
enum managed_push_state {
	MANAGED_PUSH_OFF,     /* the HTTPS stream; an OPEN after the next BINDING_ACK from retry_at */
	MANAGED_PUSH_OPENING, /* OPEN sent; the HTTPS stream held until the push stream's "view" line */
	MANAGED_PUSH_ON,      /* the stream comes over UDP: no HTTPS stream */
	MANAGED_PUSH_CATCHUP, /* TOO_BIG: the HTTPS stream until its "view" line, then OPEN again */
};
struct managed_push {
	enum managed_push_state state;
	bool have_rx;
	struct managed_push_rx rx;
	uint64_t retry_at;      /* OFF: no OPEN before this (ev_now) */
	struct coord_push_wait wait; /* a BINDING or PUSH_ACK wants a PUSH_DATA (ev_now): asks again, falls back */
	uint64_t open_at;       /* END after the server's goodbye: OPEN then; 0: none */
	bool in_line;           /* the line being taken came over UDP */
	uint64_t line_stream;   /* the push stream of the latest line taken */
	struct ev_timer timer;  /* resends, the fallback, the goodbye delay */
	unsigned keeps;         /* KEEPs alone on the keepalive timer since a BINDING_ACK */
};

/* Peers on demand (managed_ondemand.c): GET /v1/peer for the data plane's
 * questions, and again for the peers we hold on demand after each new
 * stream (the server keeps the pairs in memory only). */
#define MANAGED_ONDEMAND_REQS (ONDEMAND_IN_FLIGHT_MAX + 16)
#define MANAGED_ONDEMAND_REASK_BATCH 8
struct managed_ondemand_req {
	struct managed *m;
	struct http_request *req;
	bool used;
	bool reask; /* asked again after a new stream, not for the data plane */
	uint64_t start_at; /* a key's question waits until then (ev_now); 0: sent */
	struct ondemand_query q;
};
struct managed_ondemand {
	struct managed_ondemand_req r[MANAGED_ONDEMAND_REQS];
	struct ev_timer reask_timer; /* a batch of questions again per tick */
	struct ev_timer wait_timer;  /* the key questions that waited are due */
};

struct managed {
	struct ev_loop *loop;
	const struct managed_host_ops *host;
	void *host_ctx;
	uint8_t public_key[COORD_KEY_LEN];
	uint16_t port;          /* the tunnels' UDP port */
	char ifname[IF_NAMESIZE]; /* our TUN device: never a private endpoint */

	struct managed_membership ms;
	uint8_t control_key[COORD_KEY_LEN]; /* K: proves our key to the server */
	bool has_file_key; /* our file public key (daemon/files/), registered with the server */
	uint8_t file_key[COORD_KEY_LEN];
	/* `roam up` to another network: tried with these before ms is replaced. */
	bool switching;
	struct managed_membership next;
	/* The server's TLS key was not the pinned one and the network allows
	 * interception: requests go without TLS's proof, replies need the
	 * server's mac (st.tls_interception shows it). */
	bool intercepted;
	uint8_t next_key[COORD_KEY_LEN];

	struct managed_status st;
	struct managed_status published; /* what the host last heard */
	bool have_self_addresses;        /* the host was given st.self's addresses */
	bool udp_seen;                   /* a BINDING_ACK arrived */

	struct http_client *http;
	struct http_request *register_req, *stream_req, *logout_req;
	struct sockaddr_any server_udp; /* the address the HTTPS requests reached */
	bool stream_up;
	struct backoff backoff; /* registering, the stream: after a failure */
	struct ev_timer binding_timer, retry_timer;
	uint64_t last_rebind_ns; /* managed_rebind's rate limit */
	struct ev_timer stream_watchdog; /* no line (not even a ping) for too long: reconnect */
	/* managed_stream.c: polls where something buffers the stream's reply */
	struct managed_ctl {
		bool polling;  /* GET /v1/stream?poll=1 rather than the stream */
		bool got_line; /* the stream opened last has delivered a line */
		bool resync;   /* the server dropped lines: a new session */
		char session[COORD_POLL_SESSION_TEXT + 1]; /* "" before the first reply */
		uint64_t have;           /* the session's highest line taken (its ack) */
		/* The view version we hold (server/view.h); "" before the server
		 * sent one: servers that send none get no ?view= either. */
		char view[COORD_VIEW_VERSION_MAX + 1];
		uint32_t goodbye_ms; /* the server's goodbye: come back after this - 1 ms; 0: none */
		/* The stream delivered its opening view (a "view" line ends
		 * the full view or delta): from then on a pushed peer line
		 * without a "view" field is not a view change but the server
		 * telling us of a node that asked for us on demand. */
		bool settled;
		bool line_new_peer; /* the line being taken added this peer */
		uint8_t line_peer[COORD_KEY_LEN];
		unsigned stream_retry_s; /* the stream is tried again after this */
		struct ev_timer first_line, stream_retry;
	} ctl;
	uint64_t binding_ts;             /* timestamp of our latest BINDING */
	uint64_t binding_ack_at;         /* ev_now of the latest BINDING_ACK; 0: none */
	uint64_t kept_at;                /* ev_now of the latest KEPT (a KEEP refreshed the binding); 0: none */
	struct managed_peer_table peers;
	struct managed_netcheck nc;       /* daemon/netcheck.c */
	struct agent_portmap *portmap;    /* daemon/agent_portmap.c; NULL: no port mapping */
	struct sockaddr_any mapped;       /* a usable port mapping, told the server with our endpoints */
	enum coord_mapping mapping_sent;  /* as last told the server */
	struct relaylink *relay;          /* the relay link; NULL: UDP only */
	enum managed_relay_link relay_forced; /* the test knob; NONE: the ladder chooses */
	struct managed_relays relays;     /* the relay map, our ticket, K_nr */
	struct managed_names names;       /* daemon/managed_names.c */
	/* The network's servers, from the stream (several servers on one
	 * PostgreSQL): where registering goes when ours does not answer. */
	struct coord_servers servers;
	unsigned failovers; /* moves since we were last registered: once round the list, then backoff */
	struct managed_push push; /* managed_push.c */
	struct managed_ondemand od; /* managed_ondemand.c */
};

/* The agent's side. managed_init: nothing sent yet; managed_start: resume
 * the membership the node had (ms->joined), using control key k. */
int managed_init(struct managed *m, struct ev_loop *loop, const struct managed_host_ops *host, void *host_ctx,
		 const uint8_t public_key[COORD_KEY_LEN], uint16_t port, const char *ifname);
void managed_start(struct managed *m, const struct managed_membership *ms, const uint8_t k[COORD_KEY_LEN]);
/* Logs out first if asked (a short wait), then frees everything. */
void managed_stop(struct managed *m, bool logout);

/* `roam up`. proxy: NULL keeps the node's, "" clears it, else a URL
 * checked by roamd_proxy_normalize. server NULL: rejoin the known network. Otherwise join
 * server with token t (its control key k, computed by the holder of the
 * private key); a node joined elsewhere switches only with force, and only
 * once the new server accepted it. seq identifies this request in the
 * status (up_seq, up_result). */
/* tls_interception: CTL_TLS_INTERCEPTION_* (KEEP: as the network had it). */
void managed_up(struct managed *m, const char *server, const struct coord_token *t, const uint8_t k[COORD_KEY_LEN],
		const char *name, const char *proxy, bool force, uint8_t tls_interception, uint32_t seq);
/* The proxy every request and relay link of the node goes through
 * (roamd_proxy_apply): the one of the membership being tried or in use. */
const struct roamd_proxy *managed_proxy(const struct managed *m);
/* `roam down`: log out, forget peers, stay down across restarts. */
void managed_down(struct managed *m);

/* From the data plane: a control datagram (BINDING_ACK) that arrived on
 * the tunnels' socket; our local addresses changed. */
void managed_udp_input(struct managed *m, const uint8_t *buf, size_t len, const struct sockaddr_any *from);
void managed_address_changed(struct managed *m);

/* Tells the host the current status if it changed (once per loop turn). */
void managed_publish(struct managed *m);

/* managed_peers.c: the peers we know, and their paths. */
int managed_peers_init(struct managed_peer_table *t);
void managed_peers_free(struct managed_peer_table *t);
int managed_apply_peer(struct managed *m, const struct coord_peer *p, bool full_view);
void managed_adopt_peer(struct managed *m, const struct managed_peer_info *info);
void managed_remove_peer(struct managed *m, const uint8_t public_key[COORD_KEY_LEN]);
void managed_remove_all_peers(struct managed *m);
void managed_view_begin(struct managed *m);
void managed_view_end(struct managed *m); /* removes peers missing from the view (not those on demand) */
/* A peer the server gave on demand (GET /v1/peer): kept across full views. */
int managed_apply_peer_on_demand(struct managed *m, const struct coord_peer *p);
bool managed_peer_is_on_demand(struct managed *m, const uint8_t public_key[COORD_KEY_LEN]);
bool managed_peer_held(struct managed *m, const uint8_t public_key[COORD_KEY_LEN]);
/* A peer with this overlay address (4 or 16 bytes of family)? */
bool managed_peer_held_at(struct managed *m, int family, const uint8_t *addr);
void managed_peer_mark_on_demand(struct managed *m, const uint8_t public_key[COORD_KEY_LEN]);
/* Marks every on-demand peer to be asked for again; how many. */
size_t managed_peers_reask_mark(struct managed *m);
/* One marked peer's key (unmarked); false: none left. */
bool managed_peers_reask_next(struct managed *m, uint8_t public_key[COORD_KEY_LEN]);
void managed_repath_all(struct managed *m);
/* Each peer's view line (several relays: which relays are in use). */
void managed_peers_foreach(struct managed *m, void (*fn)(struct managed *m, const struct coord_peer *p));

/* The netcheck found the mapping kind: tell the server (with our
 * endpoints) if it changed. */
void managed_mapping_changed(struct managed *m, enum coord_mapping mapping);
/* The port mapping changed: ext is the external endpoint to offer peers,
 * or NULL (none, or not reachable from outside). */
void managed_portmap_changed(struct managed *m, const struct sockaddr_any *ext);

/* The auth header ("Roam-Auth: ...") of a request, and the pin of the
 * server's key ("sha256//..." or ""), as the requests make them. */
int managed_auth_header(const struct managed *m, const char *method, const char *target, const char *body,
			size_t body_len, char *out, size_t cap);
void managed_pin(const struct managed *m, char out[MANAGED_PIN_MAX]);

/* managed_relay.c: the relay link (daemon/relaylink/), driven by the
 * membership and the BINDINGs. */
int managed_relay_init(struct managed *m);
void managed_relay_start(struct managed *m); /* registered: climb the ladder */
void managed_relay_stop(struct managed *m);  /* not a member any more */
void managed_relay_interception(struct managed *m); /* m->intercepted changed */
void managed_relay_free(struct managed *m);
void managed_relay_udp_ack(struct managed *m);
void managed_relay_udp_probe(struct managed *m); /* a BINDING went out */
void managed_relay_address_changed(struct managed *m);
void managed_relay_status(struct managed *m); /* before publishing: UDP blocked? */
/* From the data plane (the datagram pair): a RELAY for the server. */
/* A datagram from the data plane: its relay's byte, then a RELAY. */
void managed_relay_output(struct managed *m, const uint8_t *d, size_t len);
/* Relay-only servers' links (several relays): one per relay in use (and,
 * up to 4, the others, to measure them), each with its own ladder; closed
 * 30 s after they were last wanted (daemon/relaylink/link_plan.h). */
void managed_relay_links_update(struct managed *m);
void managed_relay_links_free(struct managed *m);
void managed_relay_link_close(struct managed *m, struct managed_relay *r);
/* relay id's link: a RELAY_BIND went out / its ACK came. */
void managed_relay_link_bind_sent(struct managed *m, uint8_t id);
void managed_relay_link_bind_ack(struct managed *m, uint8_t id);
/* A RELAY_PING on relay id's TCP link: 0, or -ENOTCONN (none carries). */
int managed_relay_link_ping(struct managed *m, uint8_t id, uint64_t now);
enum managed_relay_link managed_relay_link_of(const struct managed *m, uint8_t id);
/* Tell the data plane relay id's link and liveness. */
void managed_relay_link_tell(struct managed *m, uint8_t id);
void managed_relay_flush(struct managed *m); /* the end of the loop turn */
unsigned managed_relay_binding_interval_s(const struct managed *m);

/* managed_relays.c: several relays. */
struct ticket;
void managed_relays_init(struct managed *m);
void managed_relays_reset(struct managed *m); /* wipes keys and ticket */
/* A datagram from a relay-only server's UDP address? Handled if so. */
bool managed_relays_udp_input(struct managed *m, const uint8_t *buf, size_t len, const struct sockaddr_any *from);
int managed_relays_map(struct managed *m, const struct coord_relay_map *map);
int managed_relays_ticket(struct managed *m, const uint8_t *t, size_t len, const struct ticket *parsed);
void managed_relays_key(struct managed *m, const uint8_t relay_pub[COORD_KEY_LEN], const uint8_t k_nr[COORD_KEY_LEN],
			bool ok);
void managed_relays_rtt(struct managed *m, uint8_t id, uint32_t rtt_us);
/* Liveness: a RELAY_PONG from relay id (over its TCP link, or UDP);
 * relay id's TCP link went down (nothing else carries). */
void managed_relays_pong(struct managed *m, uint8_t id, uint64_t echo);
void managed_relays_rebind(struct managed *m, uint8_t id); /* a RELAY_BIND to it now */
/* A relay's UDP address changed (its name resolved): to the data plane. */
void managed_relays_addrs_changed(struct managed *m);

/* managed_names.c: host names resolved off the loop. */
int managed_names_init(struct managed *m);
void managed_names_free(struct managed *m);
void managed_names_relay(struct managed *m, struct managed_relay *r); /* its udp_host is a name */
/* Through a proxy: the server's URL names host (not an address). */
void managed_names_server(struct managed *m, const char *host, uint16_t port);
void managed_names_server_clear(struct managed *m);
void managed_names_refresh(struct managed *m); /* a network change: again */
void managed_relays_link_down(struct managed *m, uint8_t id);
bool managed_relays_dead(const struct managed *m, uint8_t id);
bool managed_relays_in_use(const struct managed *m, uint8_t id);
struct managed_relay *managed_relays_get(struct managed *m, uint8_t id);
void managed_relays_status(struct managed *m); /* the home relay; fills st.relays */
/* The relays to reach a peer through (its relay_rtt report): the meeting
 * relay, our home, its home, our next best, relay 0; 0 when there is
 * nothing to choose. */
size_t managed_relays_for_peer(const struct managed *m, const struct coord_relay_rtts *peer,
			       uint8_t out[MANAGED_PEER_RELAYS_MAX]);
/* Our relay_rtt for POST /v1/endpoints. */
void managed_relays_report(const struct managed *m, struct coord_relay_rtts *out);
void managed_send_endpoints(struct managed *m); /* managed.c */
void managed_register(struct managed *m);       /* managed_register.c: unless in flight */
/* managed_register.c: registers again after a jittered backoff, or the
 * server's Retry-After (hint_s, 0: none); returns the wait in ms. */
uint32_t managed_retry_later(struct managed *m, unsigned hint_s);
void managed_retry_in(struct managed *m, uint64_t ms); /* registers again then: a wait the server chose */
/* A busy server's 429 or 503 says when to come back (Retry-After): in
 * seconds, 0 if it did not (valid during the reply's on_done). */
unsigned managed_retry_hint(const struct managed *m, long status);
bool managed_fail_over_silent(struct managed *m); /* managed_register.c: our stream went silent; true: moved */
const char *managed_transport_error(struct managed *m, int err); /* managed.c: valid until the next call */
/* managed.c: an authenticated request to the server (o: method, body,
 * callbacks, limits) */
int managed_request(struct managed *m, struct http_request_opts *o, const char *target, struct http_request **out);
/* managed.c: managed_request with a 10 s limit (none for a stream: on_line) */
int managed_server_request(struct managed *m, const char *method, const char *target, const char *body,
			   void (*on_line)(void *, const char *, size_t),
			   void (*on_done)(void *, int, long, const char *, size_t), struct http_request **out);
/* managed.c: the membership requests are made with (the one being tried
 * while switching networks, else the current one); it to state.json; the
 * error `roam status` shows. */
const struct managed_membership *managed_active(const struct managed *m);
void managed_save(struct managed *m);
__attribute__((format(printf, 2, 3))) void managed_set_error(struct managed *m, const char *fmt, ...);
/* managed_register.c: its timers (managed_init); registering from the
 * start (a cancelled request, no backoff). */
void managed_register_init(struct managed *m);
void managed_register_restart(struct managed *m);

/* managed_stream.c: the server's stream (or polls) */
void managed_stream_init(struct managed *m);
void managed_stream_open(struct managed *m);
/* Drops the one we have, opens a new one; new_route (another network or
 * proxy): the stream is tried first again, even where we polled. */
void managed_stream_restart(struct managed *m, bool new_route);
void managed_stream_stop(struct managed *m); /* and the push channel */
void managed_stream_tls_stop(struct managed *m); /* the HTTPS stream (or poll) only */
/* The server's word came (the stream is up); a line of the stream. */
void managed_stream_heard(struct managed *m);
void managed_stream_take_line(struct managed *m, const char *line, size_t len);

/* managed_push.c: the push channel (the stream over the tunnels' UDP socket). */
void managed_push_init(struct managed *m);
void managed_push_stop(struct managed *m);            /* off, forgotten (down, refused, stop) */
void managed_push_binding_sent(struct managed *m);    /* a BINDING went out */
void managed_push_binding_ack(struct managed *m);     /* its BINDING_ACK came: OPEN or KEEP */
bool managed_push_keep(struct managed *m);            /* the keepalive timer: a KEEP alone? true: sent */
void managed_push_input(struct managed *m, const uint8_t *buf, size_t len); /* a PUSH_DATA from the server */
void managed_push_view(struct managed *m);            /* a "view" line was taken */
void managed_push_servers(struct managed *m);         /* the server list changed */
void managed_push_address_changed(struct managed *m); /* a network change: "it worked" forgotten */
void managed_push_flush(struct managed *m);           /* the end of the loop turn: the batch's PUSH_ACK */
bool managed_push_holds(const struct managed *m);     /* OPENING or ON */
bool managed_push_tls_closed(struct managed *m);      /* the server closed the HTTPS stream: push carries on? */
bool managed_push_on(const struct managed *m);        /* the stream comes over UDP */
/* An authenticated POST whose answer does not matter (managed.c); -errno. */
int managed_post(struct managed *m, const char *target, const char *body);
/* managed_paths.c: the data plane's summary of our peers' paths to the
 * server (POST /v1/paths), while connected. */
struct coord_paths_report;
void managed_paths_send(struct managed *m, const struct coord_paths_report *r);

/* managed_ondemand.c: peers on demand */
void managed_ondemand_init(struct managed *m);
/* Cancels what is in flight; answer_failed: tells the data plane (not when
 * the agent stops: the data plane forgets them itself). */
void managed_ondemand_stop(struct managed *m, bool answer_failed);
void managed_ondemand_ask(struct managed *m, const struct ondemand_query *q); /* the data plane's question */
void managed_ondemand_idle(struct managed *m, const uint8_t public_key[COORD_KEY_LEN]); /* unused: drop it */
void managed_ondemand_stream_new(struct managed *m); /* a new stream: ask again for the ones we hold */

/* managed_udp.c */
void managed_send_binding(struct managed *m);
void managed_rebind(struct managed *m); /* the relay stopped answering: a BINDING now (rate-limited) */
/* Is addr one of this host's own addresses (no NAT between us and whoever saw it)? */
bool managed_is_local_address(const struct sockaddr_any *addr);
void managed_on_binding_ack(struct managed *m, const uint8_t *buf, size_t len);

#endif
