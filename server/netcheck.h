/* The server's answers to NETCHECK (docs/control-protocol.md, "Netcheck"),
 * with no I/O: a request, its source and the time go in, at most one
 * NETCHECK_ACK comes out through send_from. Unauthenticated like STUN, so
 * it changes nothing (not the directory, not a node), answers with no more
 * bytes than it got, and is rate-limited per source address.
 *
 * The server's own addresses (server/netcheck_udp.c finds them) are what
 * makes the mapping kind measurable: a request names the address it was
 * sent to; when that is one of ours the answer leaves from it, and names
 * our other addresses (one per family) to ask next. */
#ifndef ROAM_SERVER_NETCHECK_H
#define ROAM_SERVER_NETCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "coord/ratelimit.h"
#include "net/addr.h"

#define SERVER_NETCHECK_ADDRS_MAX 8

struct server_netcheck_ops {
	/* from: the local address to answer from, or NULL for the kernel's
	 * choice (the request named an address that is not ours). 0, -errno. */
	int (*send_from)(void *ctx, const struct sockaddr_any *from, const struct sockaddr_any *to, const uint8_t *buf,
			 size_t len);
};

struct server_netcheck_stats {
	uint64_t answered, malformed, rate_limited, send_failed;
};

struct server_netcheck {
	struct sockaddr_any addrs[SERVER_NETCHECK_ADDRS_MAX]; /* ours, with the UDP port */
	size_t count;
	struct coord_ratelimit rl;
	struct server_netcheck_ops ops;
	void *ctx;
	struct server_netcheck_stats stats;
};

/* addrs: our addresses (port included), at most SERVER_NETCHECK_ADDRS_MAX
 * used. now_ns: monotonic. 0 or -ENOMEM. */
int server_netcheck_init(struct server_netcheck *nc, const struct sockaddr_any *addrs, size_t count,
			 const struct server_netcheck_ops *ops, void *ctx, uint64_t now_ns);
void server_netcheck_free(struct server_netcheck *nc); /* accepts a zeroed struct */
/* One datagram (coord_msg_type() said NETCHECK) from `from` at now_ns (monotonic). */
void server_netcheck_input(struct server_netcheck *nc, const uint8_t *buf, size_t len,
			   const struct sockaddr_any *from, uint64_t now_ns);

#endif
