/* Shared state of coord_sim and roam-loadtest, both linking libroam_sim
 * (coord_sim.c: loop and UDP; sim_node.c: the protocol steps and the
 * one-node mode; sim_bench.c: setup and the benchmark; coord_sim_main.c:
 * coord_sim's options; loadtest/: roam-loadtest). */
#ifndef ROAM_BENCH_COORD_SIM_H
#define ROAM_BENCH_COORD_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/sim_http.h"
#include "coord/json.h"
#include "coord/messages.h"
#include "coord/push.h"
#include "coord/token.h"
#include "net/addr.h"

/* SIM_PUSH: its stream is the push channel (sim_push.c), no TCP connection */
enum sim_phase { SIM_REGISTER, SIM_ENDPOINTS, SIM_STREAM, SIM_STREAMING, SIM_LINK, SIM_LINKED, SIM_LOGOUT, SIM_DONE,
		 SIM_PUSH };

struct sim_node {
	int idx;
	char name[COORD_NAME_MAX + 1];
	uint8_t priv[COORD_KEY_LEN], pub[COORD_KEY_LEN], k[COORD_KEY_LEN];
	const struct coord_token *token;
	uint32_t id;
	uint8_t ipv6[16]; /* its overlay address, from the registration's answer */
	enum sim_phase phase;
	struct sim_http http;
	int udp_fd;
	struct sockaddr_any local;
	uint64_t last_ts;
	bool bound, has_view;
	uint64_t link_sent_ns; /* links: when the last keepalive went */
	uint32_t seen_move; /* bench: the last move whose endpoint reached us */
	size_t group;
	/* roam-loadtest: when the node lost its view, when it tries again */
	uint64_t down_ns, retry_ns, stall_until_ns;
	uint32_t backoff_ms;
	uint8_t lt_flags;
	uint32_t lt_gen; /* connections this node lost (roam-loadtest) */
	bool keep_udp; /* keep the UDP socket after the ack (relayed traffic) */
	char view[COORD_VIEW_VERSION_MAX + 1]; /* the view version held (server/view.h); "": none */
	uint32_t goodbye_ms; /* the server's goodbye: come back after this - 1 ms; 0: none */
	/* the push channel (sim_push.c; g_sim.push) */
	bool push_switch;      /* its TLS connection gives way to the push channel after this I/O */
	bool push_tls;         /* on TLS until its "view" line (TOO_BIG), then the push channel again */
	bool push_fallen;      /* the push channel did not answer: TLS from now on */
	bool push_ack_due;     /* new bytes: one PUSH_ACK after this receive batch */
	uint8_t push_wait_flags; /* the OPEN or KEEP waiting for an answer */
	uint64_t push_ts;      /* the newest PUSH_ACK timestamp sent */
	uint64_t keep_ns;
	uint8_t keeps; /* KEEPs alone since the last with a BINDING (COORD_PUSH_BINDING_EVERY) */
	struct coord_push_wait push_wait; /* the OPEN or KEEP's answer: resends, the fallback */
	uint8_t push_key[COORD_KEY_LEN];
	struct coord_push_rx prx;
	struct sim_buf push_line; /* a line that began in an earlier PUSH_DATA */
};

/* Callbacks for a driver that keeps nodes alive across faults (loadtest/);
 * coord_sim's own modes leave them NULL. */
struct sim_hooks {
	void (*closed)(struct sim_node *n, bool had_view); /* the node's connection ended */
	void (*view)(struct sim_node *n);                  /* its first "peers" line arrived */
	void (*registered)(struct sim_node *n, uint32_t old_id, int status);
	void (*relay)(struct sim_node *n, uint32_t from, const uint8_t *payload, size_t len);
	void (*tick)(void); /* every turn of sim_setup's loop: retries */
	/* push channel: a KEEP answered wait_ns after it first went out
	 * (resends included): how long the server kept the node waiting */
	void (*keep_answered)(struct sim_node *n, uint64_t wait_ns);
	/* a {"type":"peer"} line on n's stream (a change, or a peer on demand) */
	void (*peer_line)(struct sim_node *n, const char *line, size_t len);
};

struct sim_args {
	const char *token, *tokens_file, *name, *key_file;
	size_t nodes, group_size, moves; /* flood: moves is --count; links: --hold seconds */
	bool new_keys, keyed;
};

struct sim {
	int epfd;
	SSL_CTX *ctx;
	struct sockaddr_any server;
	char host[160];
	uint8_t pin[32];
	struct sim_node *nodes;
	size_t count;
	size_t in_flight, ready;
	size_t connect_window; /* nodes started (TLS) and not yet holding a view, at most (0: SIM_CONNECT_WINDOW) */
	uint64_t start_after_ns; /* no start before (sim_mono_ns): the server said it is busy (Retry-After) */
	bool verbose;
	bool full_views;   /* never ask for a delta (?view=): the old behaviour, to compare */
	size_t views_full, views_delta; /* views that arrived whole, or as what changed */
	size_t big_group;  /* roam-loadtest --big-group: group 0's size (sim_group_of) */
	size_t total;      /* roam-loadtest: nodes over all workers (0: this process's only) */
	bool links;        /* links mode: a relay link instead of the stream */
	size_t links_open;
	/* bench: the move being measured */
	uint32_t move, move_node_id;
	char move_endpoint[SOCKADDR_ANY_STRLEN + 8];
	size_t move_expected, move_seen;
	uint64_t move_done_ns;
	const struct sim_hooks *hooks;
	size_t name_base; /* roam-loadtest's worker processes: names sim-<name_base + i> */
	size_t id_changed; /* a node registered again and got another id */
	/* the push channel: nodes use it (roam-loadtest --push udp) */
	bool push;
	unsigned keep_s; /* BINDING + KEEP every keep_s seconds (COORD_PUSH_KEEPALIVE_S) */
	size_t push_fallbacks, push_too_big, push_ends; /* nodes that fell back to TLS; streams ended */
	/* Source addresses (roam-loadtest against a loopback server): node
	 * name_base + idx binds to src_base + (name_base + idx) / src_per, so
	 * that no address runs out of its ephemeral ports (~28 000 on Linux,
	 * shared by every UDP socket and every TCP connection to the server).
	 * src_per 0: the kernel's choice. */
	struct in_addr src_base;
	size_t src_per;
};

extern struct sim g_sim;
extern const struct sim_http_ops sim_node_http_ops;

int sim_parse_server(const char *text); /* numeric HOST:PORT into g_sim */
/* The source address of n's sockets (port 0): false when the kernel chooses. */
bool sim_source(const struct sim_node *n, struct sockaddr_any *out);
uint64_t sim_now_ns(void);
uint64_t sim_mono_ns(void);
int sim_udp_open(struct sim_node *n);
void sim_send_binding(struct sim_node *n, const uint8_t *cookie); /* cookie: NULL or a CHALLENGE's */
size_t sim_binding_build(struct sim_node *n, const uint8_t *cookie, uint8_t msg[sizeof(struct coord_msg_binding_cookie)]);
/* node mode: this node's BINDING with a forged IPv4 source (raw socket). */
int sim_send_spoofed_binding(struct sim_node *n, const char *source);
void sim_send_relay(struct sim_node *n, uint32_t dst, const char *text);
int sim_node_start(struct sim_node *n);
void sim_node_rearm(struct sim_node *n);
void sim_poll(int timeout_ms);
void sim_stdin_readable(void);
int sim_node_keys(struct sim_node *n, const char *key_file);
int sim_request(struct sim_node *n, const char *method, const char *target, const char *body);
/* A request on h (a connection of another's, e.g. roam-loadtest's fault or
 * ask slots) signed with signer's keys, its clock off by skew_s; auth
 * (COORD_AUTH_HEADER_MAX) keeps the Roam-Auth header. */
int sim_request_signed(struct sim_http *h, const struct sim_node *signer, const char *method, const char *target,
		       const char *body, int64_t skew_s, char *auth);
int sim_stream_request(struct sim_node *n); /* GET /v1/stream, ?view= the version it holds */

/* Setup shared by the benchmark modes and roam-loadtest (sim_bench.c). */
#define SIM_CONNECT_WINDOW 128 /* registrations in flight at once (per process) */
/* Another node may start its registration now (g_sim.connect_window). */
bool sim_may_start(void);
int sim_load_tokens(const char *path, struct coord_token **out, size_t *count);
void sim_raise_fd_limit(size_t nodes);
/* Names, keys, groups of nodes [0, count); starts and polls until all hold
 * their view (or timeout_s passes: -ETIMEDOUT). */
int sim_setup(size_t count, size_t group_size, const struct coord_token *tokens, size_t ntokens,
	      unsigned timeout_s);

int sim_move_start(struct sim_node *n, size_t expected);
/* Groups by node index: group 0 of g_sim.big_group nodes spread over all
 * g_sim.total (if any), the others of group_size each, in order. */
size_t sim_group_of(size_t idx, size_t group_size);

int sim_node_main(const struct sim_args *a);
int sim_bench_main(const struct sim_args *a);
int sim_flood_main(const struct sim_args *a);
int sim_links_main(const struct sim_args *a);
/* links mode: the relay link (TLS stream, roam-relay/1) on the node's connection. */
void sim_link_open(struct sim_node *n);
void sim_link_keepalives(void);

/* sim_node.c: n lost its stream (connection closed, push channel ended):
 * the driver's closed hook, or (no driver) nothing more. */
void sim_node_down(struct sim_node *n);
void sim_node_line(struct sim_node *n, const char *line, size_t len); /* one stream line, however it came */

/* sim_push.c: the push channel (docs/control-protocol.md, "Push channel") */
void sim_push_open(struct sim_node *n, bool binding); /* an OPEN (after a BINDING) */
void sim_push_reopen(struct sim_node *n);               /* a node that lost it: BINDING + OPEN */
void sim_push_keep(struct sim_node *n);                 /* a KEEP (after a BINDING of its own) */
void sim_push_switch(struct sim_node *n);               /* TLS closed, the push channel opened */
void sim_push_input(struct sim_node *n, const uint8_t *buf, size_t len); /* a PUSH_DATA */
void sim_push_flush(struct sim_node *n);                 /* after a receive batch: the PUSH_ACK */
void sim_push_tick(struct sim_node *n, uint64_t now);   /* KEEP, resends, the fallback */
void sim_push_drop(struct sim_node *n);                 /* forgets its stream (a fault): down, then OPEN */

#endif
