/* Shared by the files of daemon/paths only. */
#ifndef ROAM_DAEMON_PATHS_INTERNAL_H
#define ROAM_DAEMON_PATHS_INTERNAL_H

#include "coord/probe.h"
#include "coord/ratelimit.h"
#include "daemon/paths/candidates.h"
#include "daemon/paths/ifaces.h"
#include "daemon/paths/paths.h"
#include "ev/loop.h"
#include "path/path_class.h"
#include "path/path_queue.h"
#include "util/heap.h"

/* At most one CALLME per peer this often (docs/control-protocol.md). */
#define PATHS_BIRTHDAY_RETRY_NS (250 * EV_NSEC_PER_MSEC) /* hard-NAT probing not possible yet: ask again */
#define PATHS_CALLME_INTERVAL_NS (5 * EV_NSEC_PER_SEC)

/* A managed peer (wg_peer->user). info comes first: the rest of roamd reads
 * peer->user as the struct managed_peer_info the agent sent. */
struct paths_peer {
	struct managed_peer_info info;
	struct roamd *d;
	struct wg_peer *peer;
	struct path_set set;
	uint8_t origin[PATH_MAX_PER_PEER]; /* enum paths_origin bits per slot of set.paths */
	struct coord_probe_keys keys;
	struct coord_probe_window window;    /* its PINGs and CALLMEs */
	struct coord_probe_pending pending;  /* our PINGs */
	uint8_t txid_salt[COORD_PROBE_TXID_LEN - 8];
	struct heap_node node;               /* keyed by path_next_deadline(&set) */
	struct sockaddr_any observed;        /* our address as it sees us (a direct PONG) */
	enum path_reason active_why;
	uint64_t active_since_ns;
	uint64_t direct_since_ns;            /* the active path direct since (a switch between direct paths keeps it); 0: not direct */
	uint64_t callme_sent_ns;             /* 0 = never */
	uint64_t callme_rx_ns;               /* the last CALLME acted on; 0 = never */
	bool callme_due;                     /* a CALLME waits for the 5 s limit */
	uint64_t birthday_retry_ns;          /* hard-NAT probing not yet possible: ask again then (0: no) */
	uint64_t offline_since_ns;           /* the view last said offline; 0 = never */
	/* handover.c: the check fed by traffic, and the queue across a switch. */
	uint64_t data_check_ns;              /* traffic last reported to the path layer */
	uint64_t seen_rx_packets;            /* peer->rx_packets then */
	struct path_queue queue;             /* valid while queue_buf */
	uint8_t *queue_buf;                  /* allocated when first needed */
	uint64_t dup_sent;                   /* data packets also sent on the redundant policy's second path */
	/* Per application class (index 0: none matched, i + 1: the node's
	 * class i): data packets sent, and copies of them. */
	uint64_t class_packets[PATH_CLASS_MAX + 1], class_dups[PATH_CLASS_MAX + 1];
	/* tamper.c: the receiver's side of redundancy, and quarantines. */
	uint64_t dup_received;               /* second copies from another path, shortly after */
	uint64_t replays;                    /* second copies from the same source, or long after */
	uint64_t quarantine_event_ns;        /* the last quarantine; 0 = none */
	uint32_t quarantine_event_path;      /* its path's id */
	/* trace.c: our address as the peer saw it, per slot of set.paths. */
	struct {
		uint32_t path_id; /* the path it was seen on; 0: none */
		struct sockaddr_any addr;
	} mapping[PATH_MAX_PER_PEER];
};

/* Why probes were dropped: "probe_drops" in `roam status --json`. */
struct paths_drops {
	uint64_t malformed, unknown, not_managed, ratelimited, bad_mac, replayed, unanswered, wrong_path,
		callme_direct, quarantined;
};

struct paths_ping {
	bool used;
	struct paths_peer *pp;
	paths_ping_cb cb;
	void *ctx;
	struct ev_timer timer;
	uint64_t started_ns;
	struct paths_ping_result r;
};

struct roamd_paths {
	struct roamd *d;
	struct heap heap;        /* struct paths_peer.node */
	size_t peers;            /* the heap has room for every one */
	struct ev_timer timer;   /* the earliest deadline in heap */
	struct coord_ratelimit rl;
	struct paths_drops drops;
	struct paths_ping pings[PATHS_PING_MAX];
	uint64_t last_ts_ns; /* the timestamp of the last probe we sent */
	struct paths_ifaces *ifaces; /* multihoming (ifaces.h); NULL: off */
	/* tamper.c: bad packets from sources that are no path of a peer's,
	 * and the budget of lookups for those that name no peer. */
	uint64_t tamper_unattributed;
	uint64_t tamper_lookup_start_ns;
	unsigned tamper_lookups;
};

/* A pending PING's tag: the path layer's probes carry the path id; roam
 * ping's carry this bit, the ping slot and the path id. */
#define PATHS_TAG_PING (UINT64_C(1) << 63)

struct roamd_paths *paths_of(const struct roamd *d);
struct paths_peer *paths_peer_of(const struct wg_peer *peer); /* NULL: not managed */
/* After any call into pp's set: its place in the heap follows its deadline. */
void paths_touch(struct paths_peer *pp);
uint64_t paths_wall_ns(void);
/* Why the active path changed, as one word: the log's and "why" in
 * `roam status --json` ("first_working", "better", "active_failed", ...). */
const char *paths_why_name(enum path_reason why);
/* A timestamp for a probe we send: wall clock, never lower than the last. */
uint64_t paths_send_ts(struct roamd_paths *ps);
/* A PING with a fresh txid on ep, remembered under tag. */
void paths_send_ping(struct paths_peer *pp, const struct endpoint *ep, const uint8_t txid[COORD_PROBE_TXID_LEN],
		     uint64_t tag, uint64_t now);
/* A candidate learned from the network (CALLME, an authenticated source). */
void paths_learn(struct paths_peer *pp, const struct endpoint *ep, uint8_t why, uint64_t now);

/* handover.c */
void paths_handover_active_changed(struct paths_peer *pp, const struct endpoint *to, uint64_t now);
void paths_handover_peer_free(struct paths_peer *pp);
void paths_handover_settings_changed(struct paths_peer *pp); /* the class counters start over */

/* trace.c: a direct PONG on path p said where it saw us; `roam status
 * --json` gets the path's "local" side and "mapping" (for `roam trace`). */
void paths_trace_observed(struct paths_peer *pp, const struct path *p, const struct sockaddr_any *observed);
void paths_trace_path_json(const struct roamd *d, const struct paths_peer *pp, const struct path *p, cJSON *o);

/* probe_rx.c */
void paths_callme_maybe(struct paths_peer *pp, uint64_t now);

/* ping.c */
void paths_ping_answered(struct roamd_paths *ps, struct paths_peer *pp, uint64_t tag, uint64_t sent_ns,
			 const struct endpoint *src, uint64_t now);
void paths_ping_peer_gone(struct roamd_paths *ps, struct paths_peer *pp);

#endif
