/* Transports: the ways a datagram can travel to a peer, behind one table.
 * The engine and the path layer name where a datagram goes with a struct
 * endpoint (lib/net/endpoint.h), whose first byte picks the transport here.
 *
 *   EP_UDP        udp.c        the tunnels' own UDP socket (batched, GSO)
 *   EP_RELAY  relay_udp.c  the same socket, to a relay (the server's or a
 *                              relay-only server's) with an 8-byte RELAY
 *                              header naming the peer's node (or, when that
 *                              relay's link is TLS, WebSocket or long-poll,
 *                              through the datagram pair to the agent that
 *                              runs that link)
 *   EP_UDP_AUX    aux          an extra socket of hard-NAT probing
 *
 * Sending queues; what is queued leaves in the last phase of the loop turn
 * (roamd_dataplane_flush from ev_loop_set_prepare) or when a batch fills.
 * Receiving: every datagram, whatever socket or relay brought it, goes
 * through roamd_datagram_input, which hands it to the engine, the path
 * layer's probes or the agent. */
#ifndef ROAM_DAEMON_TRANSPORT_H
#define ROAM_DAEMON_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/managed/managed_host.h"
#include "net/endpoint.h"

struct roamd;

struct roamd_transport {
	const char *name;
	void (*send)(struct roamd *d, const struct endpoint *to, const uint8_t *msg, size_t len);
};

/* Send msg to ep by its transport; an endpoint of no known transport is
 * counted as a send error. */
void roamd_transport_send(struct roamd *d, const struct endpoint *to, const uint8_t *msg, size_t len);

/* One received datagram (decrypted in place if it is WireGuard's): from the
 * tunnels' socket, an extra socket, or unwrapped from a relay. */
void roamd_datagram_input(struct roamd *d, uint8_t *buf, size_t len, const struct endpoint *src, uint64_t now);

/* udp.c: queue one datagram, with an optional header in front (the relay's),
 * on the tunnels' socket. */
void roamd_udp_queue(struct roamd *d, const struct sockaddr_any *to, const uint8_t *hdr, size_t hdr_len,
		     const uint8_t *msg, size_t len);
void roamd_udp_transport_send(struct roamd *d, const struct endpoint *to, const uint8_t *msg, size_t len);

/* relay_udp.c */
void roamd_relay_transport_send(struct roamd *d, const struct endpoint *to, const uint8_t *msg, size_t len);
/* A control datagram (type >= 0x80) from the server: RELAY is unwrapped and
 * fed back through roamd_datagram_input, the rest goes to the agent. */
/* A datagram from relay `relay` (0: the server) at from. */
void roamd_relay_server_input(struct roamd *d, uint8_t relay, const struct sockaddr_any *from, uint8_t *buf, size_t len,
			      uint8_t type, uint64_t now);
bool roamd_from_server(const struct roamd *d, const struct endpoint *src);
/* The relay-only server src is (its id), or -1. */
int roamd_relay_of(const struct roamd *d, const struct endpoint *src);
struct ps_relay_addrs;
void roamd_relay_set_addrs(struct roamd *d, const struct ps_relay_addrs *a);
/* May the agent send this RELAY_BIND to `to`? */
bool roamd_relay_bind_ok(const struct roamd *d, const struct sockaddr_any *to, const uint8_t *msg, size_t len);
/* The datagram pair to the agent (PRIVSEP_RELAY_FD's other end): started
 * with each agent, stopped when it goes (the link is then NONE: UDP). */
int roamd_relay_pair_start(struct roamd *d, int fd); /* takes fd */
void roamd_relay_pair_stop(struct roamd *d);
struct ps_relay_link;
void roamd_relay_set_link(struct roamd *d, const struct ps_relay_link *l);
bool roamd_relay_over_pair(const struct roamd *d); /* relay 0's */
bool roamd_relay_over_pair_of(const struct roamd *d, uint8_t relay);

/* The extra sockets of hard-NAT probing (daemon/paths/aux_sockets.c). */
void roamd_aux_transport_send(struct roamd *d, const struct endpoint *to, const uint8_t *msg, size_t len);

/* The path layer's probes (daemon/paths/): PING, PONG, CALLME, direct or
 * relayed. */
void roamd_probe_input(struct roamd *d, const uint8_t *buf, size_t len, const struct endpoint *src, uint64_t now);

#endif
