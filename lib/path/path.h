/* The path layer: for each peer a set of paths (ways to carry its datagrams),
 * which of them work, and which one carries data. No I/O, no clock, no
 * globals, no allocation: events and the monotonic time (ns) go in, decisions
 * come out through the ops table. The caller embeds one struct path_set per
 * peer and arms one event-loop timer at path_next_deadline().
 *
 * A path is a transport (direct UDP, UDP through the server's relay, later
 * TLS / WebSocket / long-poll relays) plus an opaque address that only the
 * transport interprets (for UDP, a struct sockaddr_any).
 *
 * Each path's state (checked on entry to every handler); the three DEADs
 * are one state:
 *
 *              own probe answered              policy picks it
 *   add -> PROBING -------------------> STANDBY ----------------> ACTIVE
 *           |   ^                        ^   |  <----------------   |
 *  5 probes |   | local address          |   |  a better path       |
 * unanswered|   | change                 |   |  took over           |
 *           v   |   own probe answered   |   | 2 probes lost        | 2 probes lost
 *           DEAD ------------------------+   v in a row             v in a row
 *           (re-probed after 2 s,           DEAD                   DEAD
 *            doubling to 64 s)
 *
 * and, for a path that worked, the fast failover (issue 13):
 *
 *            reply late: nothing authenticated within
 *            max(2 x SRTT, 100 ms) of a probe (or of data
 *            that expects an answer, path_expect_reply)
 *   ACTIVE/STANDBY -----------------------------------> SUSPECT
 *        ^                                              |    |
 *        +------ its probe answered (STANDBY; the ------+    | 2 probes lost
 *                path it fell back from takes over            v in a row
 *                again at once if it still ranks first)      DEAD
 *
 * and tamper detection (path_tamper, path_tamper.c):
 *
 *            tamper_threshold bad packets (failed authentication,
 *            garbage from its source) within tamper_window,
 *            and another path answers
 *   any state ------------------------------------------> QUARANTINED
 *                                                          |
 *       PROBING <------------------------------------------+
 *               after quarantine_ns, doubling up to 10 min
 *               while it is quarantined again within 10 min of leaving
 *
 * A SUSPECT path carries nothing: the policy moves traffic to the next best
 * answered path at once (within one RTT of the late reply), or to none (the
 * caller then holds packets briefly: path_queue.h) until one answers.
 *
 * path_remove() logs the path as DEAD ("removed") and frees its slot.
 * Probe intervals, timeouts and backoff: path_timers.c. The choice of the
 * active path: path_policy.c.
 *
 * Rules the policy (path_policy.c, one function) keeps:
 *  - At most one path is ACTIVE, and only a path whose own probe was answered
 *    (STANDBY or ACTIVE) can become it: a pong is matched by (path, txid), so
 *    an answer can never promote a path other than the one probed.
 *  - No active path: the best answered path takes over at once (so the relay,
 *    which answers first, carries traffic at once).
 *  - A challenger takes over only when better (a direct path over any relay;
 *    within a tier, lower smoothed RTT + cost by a margin) continuously for a
 *    hold time, confirmed by a probe answered after the hold.
 *  - A failed or removed active path is replaced at once by the best answered
 *    path, typically the relay, which stays STANDBY and probed as a fallback.
 *  - A SUSPECT active path (its reply late) is replaced at once too; it takes
 *    over again, with no hold, when a probe of its own is answered and it
 *    still ranks first with a clean loss window.
 *  - A degraded path (struct path_tuning: loss or RTT past the thresholds,
 *    with hysteresis) ranks below every healthy one; then a metered path
 *    below every unmetered one.
 *  - Every state change is reported once through ops->log with its reason,
 *    every change of the active path once through ops->active_changed.
 *
 * The caller's duties: after any call into a set (an event or
 * path_run_timers) re-read path_next_deadline(), which may have moved
 * earlier; send probes as ops->send_probe asks (authenticated, keyed from
 * the node keys); feed back pongs with the path they arrived on. */
#ifndef ROAM_PATH_PATH_H
#define ROAM_PATH_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PATH_MAX_PER_PEER 16 /* candidates a peer may have; path_add refuses more */
#define PATH_ADDR_MAX 64     /* opaque address bytes (a sockaddr_any is 32) */
#define PATH_LOSS_WINDOW 16  /* the last N probes make up the loss figure */
#define PATH_SPREAD_MAX 4    /* the bandwidth policy spreads flows over at most this many paths */
#define PATH_SLOT_NONE 0xff
#define PATH_METER_WINDOW_NS 500000000ULL /* throughput: one sample per half second */

/* Order is preference: a lower value wins over any higher one when both work. */
enum path_transport {
	PATH_TRANSPORT_UDP_DIRECT,
	PATH_TRANSPORT_UDP_RELAY,
	PATH_TRANSPORT_TLS_RELAY,
	PATH_TRANSPORT_WS_RELAY,
	PATH_TRANSPORT_POLL_RELAY,
	PATH_TRANSPORT_COUNT
};

enum path_state {
	PATH_PROBING, /* not answered since added (or since the local address changed) */
	PATH_ACTIVE,  /* carries the peer's data; at most one per set */
	PATH_STANDBY, /* answered, kept probed, ready to take over */
	PATH_DEAD,    /* stopped answering; re-probed with backoff */
	PATH_SUSPECT, /* worked, but a reply is late: carries nothing until a probe is answered */
	PATH_QUARANTINED, /* too many bad packets: carries and probes nothing until quarantine_until_ns */
	PATH_STATE_COUNT
};

/* Why a state or the active path changed (for the log line). */
enum path_reason {
	PATH_REASON_ADDED,
	PATH_REASON_PROBE_ANSWERED,
	PATH_REASON_PROBES_UNANSWERED, /* PROBING gave up */
	PATH_REASON_PROBES_LOST,       /* ACTIVE/STANDBY stopped answering */
	PATH_REASON_REMOVED,
	PATH_REASON_LOCAL_CHANGE,
	PATH_REASON_FIRST_WORKING,     /* no active path; this one answered */
	PATH_REASON_BETTER,            /* a challenger held its lead */
	PATH_REASON_ACTIVE_FAILED,
	PATH_REASON_ACTIVE_REMOVED,
	PATH_REASON_NONE_WORKING,      /* active failed and nothing else answers */
	PATH_REASON_REPLY_LATE,        /* -> SUSPECT */
	PATH_REASON_ACTIVE_SUSPECT,    /* the active path's reply was late: the next best took over */
	PATH_REASON_RECOVERED,         /* the path we fell back from answers again and ranks first */
	PATH_REASON_BETTER_AVAILABLE,  /* confirm mode: a challenger held its lead; announced, not taken */
	PATH_REASON_USER,              /* path_use: the user's choice */
	PATH_REASON_TAMPERED,          /* -> QUARANTINED (and the active path it was, replaced) */
	PATH_REASON_QUARANTINE_OVER,   /* QUARANTINED -> PROBING */
	PATH_REASON_COUNT
};

/* How a set picks its paths (path_policy.c). */
enum path_policy {
	PATH_POLICY_LATENCY,   /* lowest RTT + cost, direct before relays (the default) */
	PATH_POLICY_COST,      /* lowest caller's cost among the healthy, then as latency */
	PATH_POLICY_REDUNDANT, /* as latency, plus a duplicate on the best diverse path */
	PATH_POLICY_BANDWIDTH, /* flows spread over the healthy paths of the best tier (path_choice) */
	PATH_POLICY_COUNT
};

struct path_addr {
	uint8_t len;
	uint8_t bytes[PATH_ADDR_MAX];
};

struct path {
	uint32_t id; /* unique within the set, not reused before 2^32 adds; 0 = none */
	bool in_use;
	enum path_state state;
	enum path_transport transport;
	struct path_addr addr;
	uint32_t cost_us;   /* caller's preference: added to the RTT when comparing */
	uint64_t state_since_ns;
	/* RFC 6298 estimators over probe round trips. */
	bool has_rtt;
	uint64_t srtt_ns, rttvar_ns;
	/* Loss over the last loss_len probes: bit i set = probe i (0 newest) lost. */
	uint16_t loss_bits;
	uint8_t loss_len;
	uint8_t losses_in_row;
	uint64_t jitter_ns; /* RFC 3550-style: mean |difference| of successive RTT samples, gain 1/16 */
	uint64_t last_rtt_ns;
	bool degraded;      /* over the loss or RTT threshold (path_tuning, with hysteresis) */
	bool metered;       /* the caller's: a standby is probed only every 60 s (path_set_metered) */
	uint8_t diversity;  /* the caller's group (its local side): paths of two groups are diverse */
	uint64_t probes_sent, probes_answered; /* lifetime */
	uint64_t suspect_count; /* times it went SUSPECT (lifetime) */
	uint64_t expect_deadline_ns; /* a reply is due by then (0: none expected); past it: SUSPECT */
	uint64_t last_rx_ns, last_tx_ns, last_answer_ns; /* 0 = never */
	/* Probe timer state, owned by path_timers.c. */
	uint64_t txid;             /* outstanding probe; meaningful while probe_deadline_ns */
	uint64_t probe_sent_ns;
	uint64_t probe_deadline_ns; /* 0 = no probe outstanding */
	uint64_t next_probe_ns;     /* 0 = none scheduled */
	uint8_t probe_attempts;     /* unanswered probes while PROBING */
	uint64_t dead_backoff_ns;
	/* Throughput (path_sent_bytes): bytes in the window that began at
	 * meter_start_ns, and the rate of the windows before (bytes/s). */
	uint64_t meter_start_ns, meter_bytes, rate_Bps;
	uint64_t bytes_sent; /* lifetime */
	/* Tamper detection (path_tamper.c). */
	uint32_t tamper_in_window;      /* bad packets since tamper_window_start_ns */
	uint64_t tamper_window_start_ns;
	uint64_t tampered;              /* bad packets, lifetime */
	uint32_t quarantines;           /* times quarantined, lifetime */
	uint64_t quarantine_until_ns;   /* QUARANTINED: probed again then */
	uint64_t quarantine_backoff_ns; /* the last quarantine's length */
	uint64_t quarantine_left_ns;    /* when it last came out; 0 = never quarantined */
	uint64_t copies_won;            /* redundant copies: times its copy came first (path_copy_won) */
};

/* Thresholds of the check activity, per set (path_set_tune). Defaults
 * (path_tuning_default) in parentheses; docs/architecture.md lists them. */
struct path_tuning {
	uint64_t suspect_min_ns;     /* a reply is late after max(suspect_rtt_mult x SRTT, this) (100 ms) */
	uint32_t suspect_rtt_mult;   /* (2) */
	/* A path is degraded (ranks below every healthy path, whatever its
	 * transport) when its loss over the window reaches loss_enter or its
	 * SRTT rtt_enter; healthy again only at or below loss_leave and
	 * rtt_leave: the gap between the two is the hysteresis. */
	uint32_t loss_enter_permille; /* (300: 5 of the last 16 probes; none below 8 samples) */
	uint32_t loss_leave_permille; /* (125: at most 2 of 16) */
	uint64_t rtt_enter_ns;        /* (1500 ms) */
	uint64_t rtt_leave_ns;        /* (1000 ms) */
	/* Tamper detection: tamper_threshold bad packets within
	 * tamper_window_ns quarantine a path for quarantine_ns, doubling (up
	 * to PATH_QUARANTINE_MAX_NS) while it is quarantined again within
	 * that cap of coming out. threshold 0: off. */
	uint32_t tamper_threshold;    /* (32; at most 1000) */
	uint64_t tamper_window_ns;    /* (10 s; 100 ms .. 60 s) */
	uint64_t quarantine_ns;       /* (30 s; 1 s .. 60 s) */
};
#define PATH_QUARANTINE_MAX_NS (600ULL * 1000000000ULL)

struct path_set;

struct path_ops {
	/* Send a probe carrying txid on path p (the daemon builds and MACs it). */
	void (*send_probe)(void *ctx, const struct path *p, uint64_t txid);
	/* The path carrying data changed; from or to may be NULL. */
	void (*active_changed)(void *ctx, const struct path *from, const struct path *to,
			       enum path_reason why);
	/* A path changed state (once per change, never per packet); also once
	 * when added (old_state == state, PATH_REASON_ADDED). */
	void (*log)(void *ctx, const struct path *p, enum path_state old_state, enum path_reason why);
};

/* One per peer, embedded by the caller (4.7 KiB: fixed storage, so a
 * peer's candidates can never make us allocate). */
struct path_set {
	const struct path_ops *ops;
	void *ctx;
	struct path paths[PATH_MAX_PER_PEER];
	uint32_t next_id;
	uint64_t next_txid;
	uint32_t active_id;     /* 0 = none */
	uint32_t challenger_id; /* best path that beats the active one; 0 = none */
	uint64_t challenger_since_ns;
	uint64_t challenger_confirm_ns; /* its lead counts once a probe is answered after this */
	uint32_t fallback_from_id; /* the active path went SUSPECT: this one, until it recovers or dies */
	enum path_policy policy;
	uint32_t duplicate_id;     /* PATH_POLICY_REDUNDANT: the second path; 0 = none */
	/* path_choice, per policy (a class's or a peer's may differ from the
	 * set's): a slot of paths[] or PATH_SLOT_NONE, refreshed after every
	 * event. The set's own policy's is the active path. */
	uint8_t choice_slot[PATH_POLICY_COUNT];
	uint8_t second_slot;                   /* redundant's duplicate of choice_slot[REDUNDANT] */
	uint8_t spread_slot[PATH_SPREAD_MAX];  /* bandwidth: the paths flows spread over */
	uint8_t spread_n;
	bool confirm;              /* path_set_confirm: better paths are announced, not taken */
	uint32_t better_id;        /* confirm mode: the better path announced; 0 = none */
	struct path_tuning tuning;
};

/* txid_seed: random bytes from the caller, so txids differ across restarts. */
void path_set_init(struct path_set *set, const struct path_ops *ops, void *ctx, uint64_t txid_seed);

/* A candidate. Probed at once. Errors: -EINVAL bad transport or address length
 * (0 or > PATH_ADDR_MAX), -EEXIST same transport and address already present,
 * -ENOSPC PATH_MAX_PER_PEER paths already. *id set on success only. */
int path_add(struct path_set *set, enum path_transport transport, const void *addr, size_t addr_len,
	     uint32_t cost_us, uint64_t now, uint32_t *id);
/* -ENOENT unknown id. Removing the active path hands over at once. */
int path_remove(struct path_set *set, uint32_t id, uint64_t now);

/* A pong with txid arrived on path id (authenticated by the caller). Only that
 * path's outstanding probe matches. -ENOENT unknown id, -ESRCH no such probe
 * outstanding on this path (late, replayed or meant for another path). */
int path_probe_answered(struct path_set *set, uint32_t id, uint64_t txid, uint64_t now);
/* Authenticated data arrived / was sent on path id. Never changes the active
 * path by itself: data on a dead path only brings its next probe forward. */
int path_data_received(struct path_set *set, uint32_t id, uint64_t now);
int path_data_sent(struct path_set *set, uint32_t id, uint64_t now);
/* We sent path id something that expects an answer (e.g. a WireGuard
 * handshake initiation): unless an authenticated packet arrives on it
 * within max(2 x SRTT, 100 ms), it is SUSPECT. Only for a path that worked
 * (ACTIVE or STANDBY); a no-op otherwise. -ENOENT unknown id. */
int path_expect_reply(struct path_set *set, uint32_t id, uint64_t now);
/* The caller's preference for path id changed (e.g. an interface's cost):
 * it counts from the next decision on. -ENOENT unknown id. */
int path_set_cost(struct path_set *set, uint32_t id, uint32_t cost_us, uint64_t now);
/* Path id costs money (a metered, e.g. cellular, interface): it ranks below
 * every healthy unmetered path (it carries data only when none meets the
 * thresholds); as a standby it is probed every 60 s instead of 5 s, enough
 * to know it works, not to keep a NAT mapping open. -ENOENT unknown id. */
int path_set_metered(struct path_set *set, uint32_t id, bool metered, uint64_t now);
/* Path id's diversity group (e.g. its interface): two answered paths of
 * different groups, or one direct and one relayed, are diverse: the
 * redundant policy's pair. -ENOENT unknown id. */
int path_set_diversity(struct path_set *set, uint32_t id, uint8_t group, uint64_t now);
/* -EINVAL unknown policy. A change counts at once (a challenger starts over). */
int path_set_policy(struct path_set *set, enum path_policy policy, uint64_t now);
/* The redundant policy's second path (every data packet goes on it too),
 * NULL if none: another policy, or no answered path diverse from the
 * active one (the best one, healthy before degraded). */
const struct path *path_duplicate(const struct path_set *set);
/* Confirm mode (on): a better path is announced (ops->log with
 * PATH_REASON_BETTER_AVAILABLE, and set->better_id) and taken only through
 * path_use; losing the active path (dead, SUSPECT, removed) still hands
 * over at once. Off: a path announced is taken at once. */
void path_set_confirm(struct path_set *set, bool confirm, uint64_t now);
/* Make path id the active one now (id 0: the best answered path, as the
 * automatic mode would). -ENOENT unknown id, -EAGAIN not answered (only a
 * STANDBY or ACTIVE path can carry data). */
int path_use(struct path_set *set, uint32_t id, uint64_t now);
/* Where a data packet whose policy is `policy` (its class's, else the
 * peer's) goes: the path, NULL if none answers; *second (may be NULL) the
 * redundant policy's duplicate path (metered only when the set's own
 * policy is redundant), else NULL. Latency, cost and
 * redundant: the best path by that policy's ranking (the active path for
 * the set's own policy; for another, the best that keeps its place until
 * a path beats it by the margin, so it does not flap). Bandwidth:
 * flow_hash picks one of the spread paths (the healthy, unmetered,
 * answered paths of the best transport tier, the best of each diversity
 * group, at most PATH_SPREAD_MAX) by
 * rendezvous hashing: a flow stays on its path (no TCP reordering) and
 * moves only when that path leaves the spread. O(1) per packet. */
const struct path *path_choice(const struct path_set *set, enum path_policy policy, uint32_t flow_hash,
			       const struct path **second);
/* bytes of data went out on p (a path of this set, as path_choice or
 * path_active gave it): its throughput meter (O(1)). */
void path_sent_bytes(struct path_set *set, const struct path *p, size_t bytes, uint64_t now);
/* p's measured send rate at now, bytes/s: the mean of the last windows'
 * rates (gain 1/2 per PATH_METER_WINDOW_NS window), halving for each
 * window with nothing sent. */
uint64_t path_rate(const struct path *p, uint64_t now);
const char *path_policy_name(enum path_policy p);
int path_policy_parse(const char *name, enum path_policy *out); /* 0 or -EINVAL */

/* A bad packet arrived on path id: it failed authentication, or was
 * garbage from the path's source. Past the set's threshold within its
 * window the path is QUARANTINED: it carries and probes nothing (the
 * policy replaces it at once if it was active) until its quarantine is
 * over, when it is probed again like a new candidate. Never the last path:
 * only while another path is ACTIVE or STANDBY, so forged packets alone
 * can take a peer down to one path, not to none. Returns 1 if the path
 * was quarantined now (the caller starts a new handshake on the path that
 * carries data now), 0 if only counted, -ENOENT unknown id. */
int path_tamper(struct path_set *set, uint32_t id, uint64_t now);
/* The redundant policy's receiver: the first copy of a packet sent twice
 * came on path id (its copies_won, shown to the user). -ENOENT unknown id. */
int path_copy_won(struct path_set *set, uint32_t id);

/* Our underlay address changed: every path is probed again at once. */
void path_local_change(struct path_set *set, uint64_t now);

void path_tuning_default(struct path_tuning *t);
/* -EINVAL unless 0 < suspect_rtt_mult <= 16, suspect_min_ns in 1 ms .. 10 s,
 * loss_leave <= loss_enter <= 1000 and rtt_leave <= rtt_enter. */
int path_set_tune(struct path_set *set, const struct path_tuning *t);
/* The same check alone (roam set validates before anything changes). */
int path_tuning_check(const struct path_tuning *t);
/* The reply deadline of p: max(mult x SRTT, suspect_min) (suspect_min if no RTT yet). */
uint64_t path_suspect_timeout(const struct path_set *set, const struct path *p);

/* Earliest time path_run_timers must run; UINT64_MAX if none. */
uint64_t path_next_deadline(const struct path_set *set);
/* Runs every timer due at now, once each, however late (hours is fine). */
void path_run_timers(struct path_set *set, uint64_t now);

const struct path *path_active(const struct path_set *set); /* NULL if none */
const struct path *path_get(const struct path_set *set, uint32_t id);
const struct path *path_find(const struct path_set *set, enum path_transport transport,
			     const void *addr, size_t addr_len);
unsigned path_count(const struct path_set *set);
unsigned path_loss_permille(const struct path *p); /* over the loss window */

const char *path_state_name(enum path_state s);
const char *path_reason_name(enum path_reason r);
const char *path_transport_name(enum path_transport t);

#endif
