/* relay_load: paced UDP load through a relay, the loss at each rate and the
 * relay process's CPU time (bench/relay.sh). relay_load.c: the blaster and
 * the rate steps; relay_load_roam.c: roam-server's UDP relay (BINDING, then
 * RELAY datagrams); relay_load_turn.c: a TURN server (RFC 8656 Allocate and
 * ChannelBind without authentication, then ChannelData). */
#ifndef ROAM_BENCH_RELAY_LOAD_H
#define ROAM_BENCH_RELAY_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/addr.h"

#define RELAY_LOAD_MSG_MAX 2048

/* What to send and what counts as arrived. */
struct relay_load_flow {
	int tx_fd;                  /* connected to the relay */
	int rx_fd;                  /* where the relay delivers */
	uint8_t msg[RELAY_LOAD_MSG_MAX];
	size_t len;                 /* bytes of msg sent per datagram */
	size_t rx_len;              /* a datagram of this length counts */
	uint8_t rx_first;           /* ... and this first byte */
};

struct relay_load_args {
	const char *server, *token, *key_a, *key_b;
	uint32_t id_a, id_b;
	size_t size;                /* payload bytes (WireGuard message / ChannelData body) */
	double seconds;             /* per rate step */
	uint32_t rate_first, rate_max;
	int pid;                    /* the relay's process, for its CPU time */
	int segs;                   /* >1: send with UDP GSO, this many datagrams per send */
	int senders;                /* threads sending on the one socket, sharing the rate */
};
#define LOAD_SENDERS_MAX 8

/* A UDP socket connected to server (the load tool's side of the relay),
 * with big buffers (root lifts net.core.[rw]mem_max). -errno on failure. */
int relay_load_socket(const struct sockaddr_any *server);
/* Receive one datagram within timeout_ms: its length, or -errno. */
ssize_t relay_load_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms);

uint64_t relay_load_mono_ns(void); /* CLOCK_MONOTONIC */
/* CPU nanoseconds of every thread of pid (0 if unknown). */
uint64_t relay_load_cpu_ns(int pid);
/* turn-tls: the whole measurement (relay_load_tls.c). 0 or -errno. */
int relay_load_turn_tls_main(const struct relay_load_args *a);

/* Prepare a flow: roam-server (BINDING both nodes) or TURN (allocate). */
int relay_load_roam_setup(const struct relay_load_args *a, struct relay_load_flow *f);
int relay_load_turn_setup(const struct relay_load_args *a, struct relay_load_flow *f);

#endif
