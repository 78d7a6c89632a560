/* The agent's netcheck (docs/architecture.md, "Netcheck"): what the network
 * between this node and the server allows, measured from the tunnels' own
 * socket (the monitor sends and receives for us) so that it is the very
 * NAT mapping the tunnels use:
 *   1. NETCHECK to the server's UDP address: UDP works, our public endpoint,
 *      the round trip (the relay is the same address and port);
 *   2. then, in parallel: to the server's other address of the same family
 *      (the same endpoint seen: endpoint-independent mapping, else per
 *      destination), to its address of the other family (IPv6), and to our
 *      own public endpoint (hairpinning: it comes back to us).
 * Each request is sent up to NETCHECK_TRIES times; the run ends when all
 * are answered or at NETCHECK_DEADLINE_MS. It runs when the node registers,
 * every NETCHECK_PERIOD_S, when our addresses change, and on demand. */
#ifndef ROAM_DAEMON_NETCHECK_H
#define ROAM_DAEMON_NETCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/netcheck.h"
#include "ev/loop.h"

#define NETCHECK_TRIES 4
#define NETCHECK_RESEND_MS 500
#define NETCHECK_DEADLINE_MS 2000
#define NETCHECK_PERIOD_S 300

enum netcheck_probe_kind { NC_SERVER, NC_OTHER, NC_OTHER_FAMILY, NC_HAIRPIN, NC_PROBES };

struct netcheck_probe {
	bool active, answered;
	uint8_t tries;
	uint8_t txid[COORD_NETCHECK_TXID_LEN];
	struct sockaddr_any to;
	uint64_t sent_at, rtt_ns; /* CLOCK_MONOTONIC of the latest send; its answer's delay */
	struct coord_netcheck_ack ack;
};

struct managed;

struct managed_netcheck {
	bool running;
	uint32_t want_seq;     /* the latest on-demand request */
	uint32_t run_seq;      /* the request the running netcheck answers */
	uint64_t deadline;
	struct ev_timer tick;  /* resends and the deadline */
	struct ev_timer period;
	struct netcheck_probe probes[NC_PROBES];
};

void managed_netcheck_init(struct managed *m);
/* Starts a netcheck unless one runs; seq > 0: on demand (the result says
 * it answers seq). Without a server address the result is at once "UDP
 * unknown". */
void managed_netcheck_start(struct managed *m, uint32_t seq);
void managed_netcheck_stop(struct managed *m);
/* A NETCHECK_ACK, or a NETCHECK (our own hairpinned request). */
void managed_netcheck_input(struct managed *m, const uint8_t *buf, size_t len, const struct sockaddr_any *from);

#endif
