/* Netcheck in roamd's monitor (the privileged data plane): what the agent
 * may send and receive for its netcheck on the tunnels' socket, and the
 * `netcheck` control command, answered when the agent's result comes back.
 * The agent's side is daemon/netcheck.c. */
#ifndef ROAM_DAEMON_NETCHECK_HOST_H
#define ROAM_DAEMON_NETCHECK_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ev/loop.h"
#include "net/addr.h"

#define ROAMD_NETCHECK_WAITERS 8    /* `roam netcheck` clients waiting at once */
/* Then the reply says what is known: before the control connection's own
 * deadline (5 s), and after the agent's run (NETCHECK_DEADLINE_MS, twice
 * when a run was under way when asked). */
#define ROAMD_NETCHECK_TIMEOUT_MS 4500
#define ROAMD_NETCHECK_FORWARD_PER_S 20

struct roamd;

struct roamd_netcheck {
	/* The server's other addresses, as named by NETCHECK_ACKs from its
	 * main one: the agent may ask them too. */
	struct sockaddr_any servers[2];
	uint32_t seq; /* the latest request to the agent */
	struct {
		uint64_t ticket; /* roamd_control_defer()'s; 0: free */
		uint32_t seq;
		uint64_t deadline;
	} waiters[ROAMD_NETCHECK_WAITERS];
	struct ev_timer timeout; /* the earliest waiter's deadline */
	uint64_t window_start;
	unsigned window_count;
	uint64_t dropped;
};

void roamd_netcheck_init(struct roamd *d);
void roamd_netcheck_stop(struct roamd *d); /* waiters get no answer: their connections close */

/* A NETCHECK or NETCHECK_ACK arrived on the tunnels' socket: forwarded to
 * the agent if it may concern it (an ACK from the server's addresses, a
 * request from our own public address: hairpinning), rate-limited. */
void roamd_netcheck_datagram(struct roamd *d, const uint8_t *buf, size_t len, const struct sockaddr_any *from,
			     uint64_t now);
/* May the agent send this NETCHECK to `to`: the server's addresses, or our
 * own public address, any port (the hairpinning test)? */
bool roamd_netcheck_send_ok(const struct roamd *d, const struct sockaddr_any *to, const uint8_t *msg, size_t len);
/* `roam netcheck`, deferred with ticket: asks the agent (0), or -EBUSY /
 * -ENOTCONN (answer at once with roamd_netcheck_json). */
int roamd_netcheck_command(struct roamd *d, uint64_t ticket);
/* The agent published a status: answer the waiters it satisfies. */
void roamd_netcheck_status(struct roamd *d);
/* The latest result as the control protocol's JSON (malloc'ed). */
char *roamd_netcheck_json(const struct roamd *d, bool timed_out);

#endif
