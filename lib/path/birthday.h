/* Birthday probing: the plan of one hard-NAT traversal attempt. No I/O, no
 * clock, no globals, no allocation, like the rest of lib/path: the caller
 * passes the monotonic time (ns) and a random function in, asks "what now?"
 * (birthday_poll) and gets actions back, then arms one timer at
 * birthday_next_deadline().
 *
 * Why: between a per-destination ("symmetric") NAT and an endpoint-
 * independent one that filters by address and port, ordinary hole punching
 * fails: the easy side would have to send to exactly the port the hard NAT
 * picked for the flow towards it, which nobody knows. So
 *  - the HARD side (behind the per-destination NAT) opens N extra sockets
 *    and PINGs the easy side's public endpoint from each: each flow gets its
 *    own random external port, and its NAT now lets the easy endpoint in
 *    on that port;
 *  - the EASY side sprays M PINGs at random ports of the hard side's public
 *    address, each opening its own NAT's filter for that address:port.
 * A spray PING that hits one of the N mapped ports reaches the hard side on
 * that socket; with N = 256 and M = 1024 over 64 512 ports that happens in
 * 1 - (1 - 256/64512)^1024 = 98 % of attempts (tests/unit/path/
 * test_birthday.c simulates it). The hard side then PINGs again from the
 * socket that was hit (birthday_hint), and the first PONG ends the attempt
 * (birthday_won): on the hard side the path is that socket to the easy
 * endpoint, on the easy side the hard address at the port that answered.
 *
 * The easy side starts spraying spray_delay_ns after its start, so that the
 * hard side's mappings (made in its first open_ns) already exist; the hard
 * side PINGs from every socket again each round_ns, in case the two starts
 * (both told by one CALLME through the server) are apart.
 *
 * Bounds: at most BIRTHDAY_SOCKETS_MAX sockets and BIRTHDAY_PROBES_MAX PINGs
 * per attempt, whatever the caller does; sends are paced (no more than one
 * tick's share at once); an attempt ends at its timeout; a peer gets at most
 * one attempt per BIRTHDAY_BACKOFF_NS; after a failure one quick retry
 * (BIRTHDAY_RETRY_NS), then waits doubling from BIRTHDAY_BACKOFF_NS. */
#ifndef ROAM_PATH_BIRTHDAY_H
#define ROAM_PATH_BIRTHDAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BIRTHDAY_SOCKETS_MAX 256
#define BIRTHDAY_PROBES_MAX 1024
/* Ports a NAT maps to: Linux's default range for "snat fully-random" and
 * what most NATs use; the easy side sprays only there. */
#define BIRTHDAY_PORT_MIN 1024
#define BIRTHDAY_PORT_COUNT (65536 - BIRTHDAY_PORT_MIN)
#define BIRTHDAY_NS_PER_MS UINT64_C(1000000)
#define BIRTHDAY_NS_PER_SEC UINT64_C(1000000000)
/* One attempt per peer per BACKOFF. After the first failure in a row the
 * next one comes RETRY later: an attempt fails 2 % of the time by chance
 * alone (the ports missed), so one quick retry makes that 0.03 %. After
 * k >= 2 failures in a row the next waits BACKOFF * 2^(k-2), at most
 * BACKOFF_MAX. */
#define BIRTHDAY_RETRY_NS (3 * BIRTHDAY_NS_PER_SEC)
#define BIRTHDAY_BACKOFF_NS (30 * BIRTHDAY_NS_PER_SEC)
#define BIRTHDAY_BACKOFF_MAX_NS (480 * BIRTHDAY_NS_PER_SEC)

enum birthday_role {
	BIRTHDAY_HARD, /* behind the per-destination NAT: many sockets, one destination */
	BIRTHDAY_EASY, /* behind the endpoint-independent NAT: one socket, many ports */
};

enum birthday_state {
	BIRTHDAY_RUNNING,
	BIRTHDAY_WON,       /* birthday_won(): a PONG came back */
	BIRTHDAY_TIMED_OUT, /* timeout_ns passed without one */
	BIRTHDAY_STOPPED,   /* birthday_stop(): the caller gave up (peer gone, ...) */
};

struct birthday_config {
	uint16_t sockets;        /* HARD: extra sockets, 1..BIRTHDAY_SOCKETS_MAX */
	uint16_t probes;         /* PINGs of either role, 1..BIRTHDAY_PROBES_MAX */
	uint8_t hard_rounds;     /* HARD: PINGs from each socket (hints come on top, within probes) */
	uint64_t open_ns;        /* HARD: one round (and the opening of the sockets) spreads over this */
	uint64_t round_ns;       /* HARD: from one round's start to the next */
	uint64_t spray_delay_ns; /* EASY: from start to the first PING */
	uint64_t spray_ns;       /* EASY: the PINGs spread over this */
	uint64_t timeout_ns;     /* from start to giving up */
	uint64_t tick_ns;        /* deadlines at least this far apart: sends go in batches */
};

/* 256 sockets x 3 rounds over 250 ms each, 1 s apart; 1024 PINGs over 1 s
 * after 300 ms; 5 s to win; 5 ms ticks. */
void birthday_config_default(struct birthday_config *c);
/* -EINVAL if a figure is 0 or over its bound, or the hard side's rounds
 * alone would exceed probes. */
int birthday_config_check(const struct birthday_config *c);

enum birthday_action_kind {
	BIRTHDAY_ACT_OPEN,      /* HARD: open socket `slot` (then a PING from it follows) */
	BIRTHDAY_ACT_PING_FROM, /* HARD: PING the easy endpoint from socket `slot` */
	BIRTHDAY_ACT_PING_TO,   /* EASY: PING the hard address at `port` */
};

struct birthday_action {
	enum birthday_action_kind kind;
	uint16_t slot; /* OPEN, PING_FROM */
	uint16_t port; /* PING_TO */
};

/* A uniform random number in [0, upper), like libsodium's randombytes_uniform. */
typedef uint32_t (*birthday_uniform_fn)(void *ctx, uint32_t upper);

struct birthday_attempt {
	struct birthday_config cfg;
	enum birthday_role role;
	enum birthday_state state;
	uint64_t start_ns, end_ns; /* end_ns: when it left RUNNING */
	uint64_t last_poll_ns;
	birthday_uniform_fn uniform;
	void *uniform_ctx;
	uint32_t scheduled;    /* HARD: round PINGs handed out (round * sockets + slot); EASY: PINGs */
	uint32_t probes_sent;  /* every PING handed out, hints included */
	uint16_t opened;       /* HARD: sockets handed out as OPEN */
	uint16_t open_failed;  /* HARD: of which the caller could not open */
	uint16_t hints_queued; /* HARD: hinted sockets waiting for their PING */
	uint16_t winner;       /* HARD: the socket; EASY: the port (once WON) */
	uint8_t dead[BIRTHDAY_SOCKETS_MAX / 8];   /* HARD: sockets that failed to open */
	uint8_t hinted[BIRTHDAY_SOCKETS_MAX / 8]; /* HARD: sockets hinted (once each) */
	uint8_t hint_due[BIRTHDAY_SOCKETS_MAX / 8];
	uint64_t tried[65536 / 64]; /* EASY: ports sprayed (a port is never sprayed twice) */
};

/* Starts an attempt at now. cfg is copied; -EINVAL if it fails
 * birthday_config_check, the role is unknown or uniform is NULL. */
int birthday_start(struct birthday_attempt *a, const struct birthday_config *cfg, enum birthday_role role,
		   birthday_uniform_fn uniform, void *uniform_ctx, uint64_t now);

/* The actions due at now, at most max, in order; call again while it
 * returns max. Past the timeout the attempt becomes TIMED_OUT and 0 comes
 * back. Never more than cfg.sockets OPENs nor cfg.probes PINGs in all. */
size_t birthday_poll(struct birthday_attempt *a, uint64_t now, struct birthday_action *out, size_t max);
/* When birthday_poll must run next; UINT64_MAX once the attempt is over. */
uint64_t birthday_next_deadline(const struct birthday_attempt *a);

/* HARD: the caller could not open socket slot (a cap, EMFILE): no PINGs
 * from it. -EINVAL not an opened slot of a hard attempt. */
int birthday_open_failed(struct birthday_attempt *a, uint16_t slot);
/* HARD: a PING from the easy side arrived on socket slot, so the easy
 * side's NAT is open towards it: PING back from it at the next poll (once
 * per socket). -EINVAL not an open slot of a running hard attempt,
 * -EALREADY hinted before. */
int birthday_hint(struct birthday_attempt *a, uint16_t slot);
/* A PONG to one of the attempt's PINGs came back: on socket `which`
 * (HARD) or from port `which` of the hard address (EASY). The attempt is
 * over. -EINVAL not running, or not a socket / port this attempt used. */
int birthday_won(struct birthday_attempt *a, uint16_t which, uint64_t now);
/* EASY: a PING from the hard side came in from `port` of its address: our
 * NAT lets that flow in already (the hard side reached us first: a spray
 * of an earlier attempt, or its PINGs before our spray started), so that
 * port is the path. The attempt is over (WON). -EINVAL not a running easy
 * attempt or port 0. */
int birthday_reached(struct birthday_attempt *a, uint16_t port, uint64_t now);
void birthday_stop(struct birthday_attempt *a, uint64_t now);

/* Which role, if any: exactly one side maps per destination (and has no
 * port mapping, which would make it easy). -EOPNOTSUPP for none or both. */
int birthday_role_pick(bool we_per_destination, bool peer_per_destination, enum birthday_role *out);

/* Per peer, zero-initialised: one attempt per BIRTHDAY_BACKOFF_NS. */
struct birthday_backoff {
	uint64_t not_before_ns;
	uint8_t failures; /* in a row */
};
bool birthday_backoff_allows(const struct birthday_backoff *b, uint64_t now);
void birthday_backoff_started(struct birthday_backoff *b, uint64_t now);
void birthday_backoff_ended(struct birthday_backoff *b, bool won, uint64_t now);

const char *birthday_role_name(enum birthday_role r);
const char *birthday_state_name(enum birthday_state s);

#endif
