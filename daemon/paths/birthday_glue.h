/* Hard-NAT traversal in roamd's monitor: when a peer's direct paths stay
 * dead while the relay works and exactly one side's NAT maps per
 * destination, run a birthday-probing attempt (lib/path/birthday.h) in the
 * matching role, with the extra sockets of daemon/paths/aux_sockets.h, and
 * hand the path it finds to the path manager as a candidate.
 *
 * The path manager (daemon/paths/) owns the probe keys, the path sets and
 * the probe parsing; this module never parses a datagram. It calls:
 *   birthday_glue_consider()   per peer, after running the peer's path timers
 *                              (cheap when nothing is due);
 *   birthday_glue_pong()       from its PONG handler, for a verified PONG whose
 *                              txid none of its own PINGs has (before counting it
 *                              "unanswered");
 *   birthday_glue_ping_seen()  from its PING handler, after answering a verified
 *                              PING from a direct source (EP_UDP or EP_UDP_AUX):
 *                              on an extra socket the easy side got through (the
 *                              hard side PINGs back from it at once); from the
 *                              hard side's address, the hard side got through
 *                              first (a spray of an earlier attempt still open
 *                              in our NAT), and that flow is the easy side's path;
 *   birthday_glue_peer_gone()  before freeing a peer;
 * and gives us three operations (struct birthday_glue_ops): send a PING with
 * our txid (not remembered as its own pending PING), add a found path as a
 * candidate (it is probed at once like any other, so it carries data only
 * after its own probe is answered), and tell whether a path is still in the
 * peer's set (the winner's socket stays open while it is).
 *
 * Bounds: BIRTHDAY_GLUE_MAX_ATTEMPTS attempts at once, each within
 * lib/path/birthday.h's 256 sockets and 1024 PINGs; the extra sockets of all
 * attempts and winners share one table of at most AUX_SLOTS; one attempt per
 * peer per BIRTHDAY_BACKOFF_NS (doubling after failures), remembered for
 * BIRTHDAY_GLUE_BACKOFF_PEERS peers. */
#ifndef ROAM_DAEMON_PATHS_BIRTHDAY_GLUE_H
#define ROAM_DAEMON_PATHS_BIRTHDAY_GLUE_H

#include <stdbool.h>
#include <stdint.h>

#include "coord/messages.h"
#include "daemon/paths/aux_sockets.h"
#include "ev/loop.h"
#include "net/endpoint.h"
#include "path/birthday.h"
#include "path/path.h"

#define BIRTHDAY_GLUE_MAX_ATTEMPTS 4
#define BIRTHDAY_GLUE_BACKOFF_PEERS 64
/* Direct paths dead or unanswered this long while the relay carries data. */
#define BIRTHDAY_GLUE_STUCK_NS (1 * EV_NSEC_PER_SEC)
/* Fewer free extra sockets than this: not worth an attempt now. */
#define BIRTHDAY_GLUE_MIN_SOCKETS 32
/* How often held winners are checked for a path still using them. */
#define BIRTHDAY_GLUE_KEEP_CHECK_NS (5 * EV_NSEC_PER_SEC)

struct birthday_glue_ops {
	/* Build a PING for peer with txid and send it to `to` (EP_UDP, or
	 * EP_UDP_AUX from an extra socket); not a pending PING of the path
	 * manager's: its PONG comes back through birthday_glue_pong(). */
	void (*send_ping)(void *peer, const struct endpoint *to, const uint8_t txid[COORD_PROBE_TXID_LEN]);
	/* The attempt found path: add it to peer's candidates. */
	void (*path_found)(void *peer, const struct endpoint *path);
	/* Is path still one of peer's paths? */
	bool (*path_in_use)(void *peer, const struct endpoint *path);
};

/* A side's NAT as netcheck found it. Unknown is neither: a side whose
 * netcheck has not answered yet may be hard too, and two hard sides must
 * not spray at all. */
enum birthday_nat {
	BIRTHDAY_NAT_UNKNOWN,
	BIRTHDAY_NAT_EASY, /* no NAT, an endpoint-independent mapping, or a port mapping */
	BIRTHDAY_NAT_HARD, /* maps per destination (COORD_MAPPING_PER_DEST) and no port mapping */
};

/* What the path manager knows of a peer, for birthday_glue_consider(). */
struct birthday_glue_view {
	uint32_t node_id;                /* the peer's, for its backoff; 0: no attempt */
	enum birthday_nat ours, peers;   /* our netcheck; the peer's from the server's view */
	struct sockaddr_any peer_public; /* its public endpoint as the server sees it */
};

struct birthday_glue_stats {
	uint64_t started[2]; /* [BIRTHDAY_HARD], [BIRTHDAY_EASY] */
	uint64_t won, failed, stopped;
	uint64_t probes_sent;
	unsigned running, winners_held;
	uint64_t last_ms;    /* how long the latest won attempt took */
};

struct birthday_glue;

/* aux is the daemon's table of extra sockets (not owned); -EINVAL, -ENOMEM. */
int birthday_glue_new(struct ev_loop *loop, struct aux_sockets *aux, const struct birthday_glue_ops *ops,
		      struct birthday_glue **out);
void birthday_glue_free(struct birthday_glue *g); /* stops every attempt, releases every socket; NULL is fine */

/* Start an attempt for peer if: its set's active path is a relay, it has a
 * direct path and every direct path has been PROBING or DEAD for
 * BIRTHDAY_GLUE_STUCK_NS, exactly one side maps per destination, the peer
 * has a public IPv4/IPv6 endpoint, its backoff allows, and the caps leave
 * room. 0 started, -EALREADY one runs for peer, -EAGAIN not now (conditions,
 * a NAT still unknown, backoff, caps), -EOPNOTSUPP the NATs do not call for
 * it (both easy, or both hard). */
int birthday_glue_consider(struct birthday_glue *g, void *peer, const struct path_set *set,
			   const struct birthday_glue_view *v, uint64_t now);
/* true: txid was one of our PINGs to peer and src the path it tried; the
 * PONG is consumed (the attempt won, or it had already). */
bool birthday_glue_pong(struct birthday_glue *g, void *peer, const uint8_t txid[COORD_PROBE_TXID_LEN],
			const struct endpoint *src, uint64_t now);
void birthday_glue_ping_seen(struct birthday_glue *g, void *peer, const struct endpoint *src, uint64_t now);
void birthday_glue_peer_gone(struct birthday_glue *g, void *peer, uint64_t now);

void birthday_glue_get_stats(const struct birthday_glue *g, struct birthday_glue_stats *out);

#endif
