/* The relay link ladder: which link carries the node's relayed datagrams
 * to the server (docs/architecture.md, "The relay link"). A pure state
 * machine: events and the time go in, opening and closing links comes
 * out through ladder_ops; no I/O, no clock (tests/unit/daemon/test_ladder.c
 * drives it with a fake one).
 *
 *   UDP (a BINDING_ACK within LADDER_UDP_FRESH_NS)  >  TLS  >  WebSocket  >  long-poll
 *
 * - Start: UDP. No BINDING_ACK within LADDER_UDP_GRACE_NS (or UDP known
 *   blocked): open TLS; not up LADDER_WS_AFTER_NS later: WebSocket too; not up
 *   LADDER_POLL_AFTER_NS after TLS: long-poll too.
 * - The best link that is up carries the datagrams; worse TCP links close
 *   as soon as a better one is up. A BINDING_ACK makes UDP the link again
 *   at once, and the TCP links close LADDER_UDP_OVERLAP_NS later (make
 *   before break: the server may still deliver on them meanwhile).
 * - A link that failed is tried again after a backoff: 30 s doubling to
 *   5 min while another link carries the datagrams, 1 s doubling to 30 s
 *   while none does; at once when a worse one comes up (the server, down
 *   for all of them, is back). A TCP link that received nothing for
 *   LADDER_IDLE_NS is dead (both ends send keepalives at 15 s); one that
 *   is not up LADDER_OPEN_TIMEOUT_NS after opening has failed.
 * - UDP carries, but a BINDING goes unanswered for LADDER_UDP_PROBE_NS
 *   (each one sent is a probe: at once on a local address change, 25 s
 *   apart otherwise): one more goes at once (ops->reprobe); if it too goes
 *   unanswered (LADDER_UDP_MISSES in a row), UDP is gone (a new network,
 *   maybe proxy-only): climb at once, as at the start, without waiting
 *   for the freshness. One lost datagram on a lossy network does not
 *   move the link to TCP.
 * - forced (the test knob ROAMD_TEST_RELAY_LINK): that TCP link only, UDP
 *   never carries the relay. */
#ifndef ROAM_DAEMON_RELAYLINK_LADDER_H
#define ROAM_DAEMON_RELAYLINK_LADDER_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/managed/managed_host.h"

#define LADDER_NS_PER_MS UINT64_C(1000000)
#define LADDER_UDP_GRACE_NS (1000 * LADDER_NS_PER_MS)
#define LADDER_WS_AFTER_NS (500 * LADDER_NS_PER_MS)
#define LADDER_POLL_AFTER_NS (1500 * LADDER_NS_PER_MS)
#define LADDER_UDP_FRESH_NS (60000 * LADDER_NS_PER_MS) /* BINDINGs every 5 s: a dozen lost */
#define LADDER_UDP_PROBE_NS (1000 * LADDER_NS_PER_MS)
#define LADDER_UDP_MISSES 2 /* BINDINGs unanswered in a row: UDP is gone */
#define LADDER_UDP_OVERLAP_NS (2000 * LADDER_NS_PER_MS)
#define LADDER_IDLE_NS (60000 * LADDER_NS_PER_MS)
#define LADDER_OPEN_TIMEOUT_NS (15000 * LADDER_NS_PER_MS)
#define LADDER_RETRY_IDLE_NS (1000 * LADDER_NS_PER_MS)    /* no link carries: first retry */
#define LADDER_RETRY_IDLE_MAX_NS (30000 * LADDER_NS_PER_MS)
#define LADDER_RETRY_BUSY_NS (30000 * LADDER_NS_PER_MS)   /* another link carries */
#define LADDER_RETRY_BUSY_MAX_NS (300000 * LADDER_NS_PER_MS)
#define LADDER_BINDING_FAST_S 5 /* BINDING interval while UDP is not the link */
#define LADDER_NEVER UINT64_MAX

enum ladder_link_state {
	LADDER_CLOSED,
	LADDER_OPENING,
	LADDER_UP,
};

struct ladder_link {
	enum ladder_link_state state;
	uint64_t since;     /* OPENING, UP: since when */
	uint64_t last_rx;   /* UP: the latest datagram received */
	uint64_t failed_at; /* CLOSED after a failure */
	unsigned failures;  /* in a row; 0 once it was up */
};

struct ladder {
	bool running;
	enum managed_relay_link forced; /* NONE: the ladder chooses */
	uint64_t udp_ack_at;            /* the latest BINDING_ACK; 0: none */
	uint64_t udp_probe_at;          /* the first BINDING since it; 0: none */
	unsigned udp_misses;            /* BINDINGs unanswered in a row while UDP carries */
	bool udp_blocked;               /* the netcheck says so: no grace */
	uint64_t need_tcp_at;           /* when TLS opens; later ones follow; LADDER_NEVER: not needed */
	uint64_t udp_since;             /* UDP became the link (TCP links close after the overlap) */
	enum managed_relay_link current;
	struct ladder_link l[MANAGED_RELAY_LINK_COUNT]; /* TLS, WEBSOCKET, LONG_POLL used */
};

struct ladder_ops {
	void (*open)(void *ctx, enum managed_relay_link kind);
	/* Close an OPENING or UP link (the ladder already counts it CLOSED). */
	void (*close)(void *ctx, enum managed_relay_link kind);
	/* Send a BINDING now: the last one went unanswered (may be NULL). It
	 * counts as the next probe already: ladder_udp_probe adds nothing. */
	void (*reprobe)(void *ctx);
};

void ladder_start(struct ladder *l, uint64_t now, enum managed_relay_link forced);
/* Closes every link through ops. */
void ladder_stop(struct ladder *l, const struct ladder_ops *ops, void *ctx);

void ladder_udp_ack(struct ladder *l, uint64_t now);
/* A BINDING went out: its BINDING_ACK is due within LADDER_UDP_PROBE_NS. */
void ladder_udp_probe(struct ladder *l, uint64_t now);
void ladder_udp_blocked(struct ladder *l, bool blocked);
void ladder_link_up(struct ladder *l, enum managed_relay_link kind, uint64_t now);
void ladder_link_rx(struct ladder *l, enum managed_relay_link kind, uint64_t now);
/* The link closed or could not open (the caller has freed it: no close). */
void ladder_link_failed(struct ladder *l, enum managed_relay_link kind, uint64_t now);

/* Applies the policy at now: opens and closes links through ops, sets
 * current. Returns when it must run next (LADDER_NEVER: only on an event). */
uint64_t ladder_run(struct ladder *l, uint64_t now, const struct ladder_ops *ops, void *ctx);

static inline enum managed_relay_link ladder_current(const struct ladder *l)
{
	return l->current;
}

/* Seconds between BINDINGs: often while UDP is not the link, so that
 * its return is noticed soon. */
unsigned ladder_binding_interval_s(const struct ladder *l, unsigned normal_s);

static inline bool ladder_is_tcp(enum managed_relay_link kind)
{
	return kind >= MANAGED_RELAY_LINK_TLS && kind < MANAGED_RELAY_LINK_COUNT;
}

#endif
