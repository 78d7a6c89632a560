/* roam-loadtest: simulated nodes (libroam_sim) under load and faults.
 * loadtest.c: worker processes, the restart; lt_opts.c: the options (no
 * I/O); lt_run.c: keeping nodes alive, moves, logouts, drops, stalls;
 * lt_probe.c: the malformed, replayed and skewed requests and stalled
 * connections; lt_ask.c: a big group's members asking for each other
 * (GET /v1/peer), lt_od.c: who holds whom (pure); lt_stats.c: histograms,
 * /proc, the report. */
#ifndef ROAM_LOADTEST_LT_H
#define ROAM_LOADTEST_LT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/args.h"

/* LT_OP_KEEP: a push channel KEEP's answer (from its first send);
 * LT_OP_WHOIS: a GET /v1/peer's answer (from the request, the TLS handshake
 * of its connection not counted); LT_OP_MOVE_BIG: a big group's member's
 * move, to the peers of its worker holding it on demand (LT_OP_MOVE: to
 * its group peers); LT_OP_MOVE_RESTART: a move begun from 2 s before the
 * server's restart until its worker's nodes are all back (their peers wait
 * for the new server's view; LT_OP_MOVE and LT_OP_MOVE_BIG are the rest) */
enum lt_op { LT_OP_ADMIT, LT_OP_MOVE, LT_OP_REJOIN, LT_OP_RECONNECT, LT_OP_RELAY, LT_OP_KEEP, LT_OP_WHOIS,
	     LT_OP_MOVE_BIG, LT_OP_MOVE_RESTART, LT_OP_COUNT };

enum lt_err {
	LT_ERR_CONNECT,       /* a connection closed before the node held its view */
	LT_ERR_REGISTER,      /* register answered neither 200 nor 202 (after a 503/429: retried) */
	LT_ERR_ID_CHANGED,    /* a node registered again and got another id: a registration lost */
	LT_ERR_MOVE_TIMEOUT,  /* a group peer holding its view never saw a move */
	LT_ERR_PROBE_UNEXPECTED, /* a fault request got an answer it must not get */
	LT_ERR_RELAY_LOST,    /* a relayed datagram did not come back within the bound */
	LT_ERR_LOST,          /* a node without its view longer than --lost-after */
	LT_ERR_PUSH_FALLBACK, /* the push channel answered no OPEN or KEEP in time: the TLS stream */
	LT_ERR_WHOIS_404,     /* GET /v1/peer: 404 for a member of its group (both holding their view) */
	LT_ERR_WHOIS_BUSY,    /* GET /v1/peer: 503 or 429 (asked again after its Retry-After) */
	LT_ERR_WHOIS,         /* GET /v1/peer: another status, no answer, an answer for another node */
	LT_ERR_COUNT
};

/* struct sim_node.lt_flags */
/* LT_FL_BACK: it got a view after the restart (from the new server) */
enum { LT_FL_LOGGED_OUT = 1, LT_FL_LOST = 2, LT_FL_ADMIT = 4, LT_FL_CLOSE = 8, LT_FL_BACK = 16 };

#define LT_PROCS_MAX 64
#define LT_NODES_PER_SOURCE 10000 /* against a loopback server: nodes per source address */

/* log2 buckets, 8 per doubling, from 1 us: up to ~2^40 us. */
#define LT_BUCKETS 320

struct lt_hist {
	uint64_t count, max_ns;
	uint64_t bucket[LT_BUCKETS];
};

/* What one worker process measured; the parent adds them up. */
struct lt_stats {
	struct lt_hist op[LT_OP_COUNT];
	uint64_t err[LT_ERR_COUNT];
	uint64_t faults[8]; /* by enum lt_fault */
	uint64_t nodes, with_view_end, lost, probes_ok;
	uint64_t admit_after_restart_ns; /* max over workers */
	uint64_t setup_ns;
	uint64_t views_full, views_delta; /* views received whole, or as deltas (?view=) */
	uint64_t goodbyes; /* reconnects at the time the server's goodbye said */
	/* the push channel: nodes holding their view over it at the end, over
	 * TLS; its streams ended (END), with TOO_BIG */
	uint64_t push_udp, push_tcp, push_ends, push_too_big;
	double setup_cpu_s; /* the parent's: the server's CPU seconds until every worker was set up */
	/* peers on demand: the big group is big (--group-view-max); pairs the
	 * asks made; asked nodes that learned the asker from a pushed line */
	uint64_t od_big, od_held, od_learned;
};

enum lt_fault { LT_F_DROP, LT_F_STALL, LT_F_SLOW, LT_F_MALFORMED, LT_F_REPLAY, LT_F_SKEW, LT_F_LOGOUT, LT_F_RESTART };

struct lt_opts {
	const char *tokens_file, *restart_cmd, *pid_file, *server_text;
	size_t nodes, group_size, procs;
	unsigned duration_s, settle_s, lost_after_s, setup_timeout_s, restart_at_s, stall_s;
	double move_rate, relay_rate, rejoin_rate, drop_rate, stall_rate, slow_rate, malformed_rate, replay_rate,
		skew_rate;
	int skew_s;
	long server_pid;
	bool json;
	bool full_views; /* --full-views: no ?view= (deltas off), to compare */
	size_t big_group; /* --big-group N: the first N nodes are one group (0: none) */
	bool push_tcp;    /* --push tcp: the TLS stream, not the push channel (udp) */
	unsigned keep_s;  /* --keep-interval: a node's BINDING + KEEP on the push channel */
	size_t group_view_max; /* --group-view-max: the server's (0: no limit); a bigger big group is "big" */
	size_t ask;            /* --ask K: a big group's member asks for K members of its worker */
};

/* lt_opts.c: the options (lib/util/args), no I/O. */
#define LT_GROUP_VIEW_MAX_DEFAULT 1000 /* roam-server run's default */
#define LT_ASK_DEFAULT 4
#define LT_ASK_MAX 64
enum { LT_OPTS_HELP = 1 };
extern const struct args_opt lt_opt_table[];
extern const size_t lt_opt_count;
extern const char lt_usage_text[];
void lt_opts_defaults(struct lt_opts *o);
/* 0, LT_OPTS_HELP (--help), or -EINVAL with the reason in error (o untouched). */
int lt_opts_parse(int argc, char **argv, struct lt_opts *o, char *error, size_t error_len);

extern struct lt_stats g_lt;

void lt_hist_add(struct lt_hist *h, uint64_t ns);
double lt_hist_pct(const struct lt_hist *h, double pct); /* ms */
void lt_stats_merge(struct lt_stats *into, const struct lt_stats *from);
/* steady_pct: the server's CPU (% of a core) before any restart */
void lt_report(const struct lt_opts *o, const struct lt_stats *s, long pid, double cpu_s, double run_s,
	       double steady_pct);
int lt_proc_sample(long pid, double *cpu_s, uint64_t *rss_kb, uint64_t *hwm_kb);
long lt_server_pid(const struct lt_opts *o);

/* One worker: nodes [base, base + count) of the whole run; go_fd
 * non-blocking. Its figures are in g_lt. */
int lt_run(const struct lt_opts *o, size_t base, size_t count, int ready_fd, int go_fd);
struct sim_node;
struct sim_http_ops;
bool lt_node_free(const struct sim_node *n);
struct sim_node *lt_pick(void);
uint32_t lt_rnd(uint32_t bound); /* uniform in [0, bound) (0 for 0) */
/* When a 503/429 with Retry-After s lets a worker try again (jittered). */
uint64_t lt_retry_at(unsigned retry_after_s);
/* Slots: sim_nodes after the nodes, each a connection of its own. */
void lt_slot_reset(struct sim_node *slot, const struct sim_http_ops *ops);
int lt_slot_connect(struct sim_node *slot, const struct sim_http_ops *ops);
void lt_probe_init(size_t first_slot, size_t slots);
void lt_probe_start(enum lt_fault kind, const struct lt_opts *o);
void lt_probe_tick(void);
bool lt_probe_idle(void);

/* lt_ask.c: a big group's members ask for each other (GET /v1/peer). */
#define LT_ASK_SLOTS 16u /* asks in flight per worker */
int lt_ask_init(const struct lt_opts *o, size_t count, size_t first_slot);
bool lt_ask_member(const struct sim_node *n); /* of a big group (that is big) */
void lt_ask_registered(struct sim_node *n);
/* n holds its view: its first (first), or the restarted server's (back) */
void lt_ask_view(struct sim_node *n, bool first, bool back);
void lt_ask_peer_line(struct sim_node *n, const char *line, size_t len);
/* current: a node that can see a change now */
void lt_ask_tick(uint64_t now, uint64_t restart_ns, bool (*current)(const struct sim_node *n));
bool lt_ask_pair(const struct sim_node *a, const struct sim_node *b);
size_t lt_ask_holders(const struct sim_node *n, bool (*current)(const struct sim_node *n));
bool lt_ask_idle(void);
void lt_ask_report(void);

#endif
