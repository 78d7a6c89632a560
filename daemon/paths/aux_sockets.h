/* The extra UDP sockets of birthday probing (lib/path/birthday.h): the hard
 * side of an attempt opens up to BIRTHDAY_SOCKETS_MAX of them, each PINGs
 * the easy side from its own port (so the per-destination NAT gives each its
 * own mapping), and the one whose PING got through carries the peer's data
 * from then on, as endpoint EP_UDP_AUX(slot, easy endpoint).
 *
 * A slot number names a socket in endpoints, so there are AUX_SLOTS of them
 * (the endpoint's slot byte) for the whole daemon; the table caps how many
 * are open at once below that. Slots are reference-counted: aux_socket_open
 * gives the opener (the attempt) one reference; the path that uses a winner
 * takes another (aux_socket_hold); the socket closes with its last
 * aux_socket_release. Every datagram received on slot k goes to the input
 * callback with k and its source; nothing here parses it.
 *
 * Program code (daemon), over lib/ev; no allocation after aux_sockets_new. */
#ifndef ROAM_DAEMON_PATHS_AUX_SOCKETS_H
#define ROAM_DAEMON_PATHS_AUX_SOCKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ev/loop.h"
#include "net/addr.h"

#define AUX_SLOTS 256
/* Datagrams read from one socket per wakeup before the loop turns again. */
#define AUX_RX_PER_WAKEUP 64

struct aux_sockets;

/* buf is writable (decryption is in place) and valid during the call only. */
typedef void (*aux_input_fn)(void *ctx, uint8_t slot, uint8_t *buf, size_t len, const struct sockaddr_any *from,
			     uint64_t now);

/* After the datagrams of one wakeup (a batch's end: the caller flushes what
 * it coalesced, as the tunnels' socket does after each batch). */
typedef void (*aux_input_done_fn)(void *ctx);

struct aux_sockets_stats {
	unsigned open_now;
	unsigned open_max;      /* the cap */
	uint64_t opened_total;
	uint64_t open_failures; /* cap reached or the kernel refused (EMFILE, ...) */
	uint64_t sent, send_errors;
	uint64_t received, truncated;
};

/* max_open: at most this many open at once (1..AUX_SLOTS); -EINVAL
 * otherwise. done may be NULL. */
int aux_sockets_new(struct ev_loop *loop, unsigned max_open, aux_input_fn input, aux_input_done_fn done, void *ctx,
		    struct aux_sockets **out);
void aux_sockets_free(struct aux_sockets *s); /* closes every socket; NULL is fine */

/* A non-blocking UDP socket like the tunnels' (lib/net/udp.h: dual-stack,
 * large buffers) on an ephemeral port, watched for input. *slot_out set on
 * success only. -ENOSPC at the cap or out of slots, or -errno from
 * socket/bind (-EMFILE). */
int aux_socket_open(struct aux_sockets *s, uint8_t *slot_out);
/* The same, bound to one interface (SO_BINDTODEVICE): the sockets of
 * multihoming (daemon/paths/ifaces.c). ifname NULL: aux_socket_open. */
int aux_socket_open_dev(struct aux_sockets *s, const char *ifname, uint8_t *slot_out);
/* -EBADF if slot is not open. */
int aux_socket_hold(struct aux_sockets *s, uint8_t slot);
/* Drops a reference; the last one closes the socket. -EBADF if not open. */
int aux_socket_release(struct aux_sockets *s, uint8_t slot);
bool aux_socket_is_open(const struct aux_sockets *s, uint8_t slot);
unsigned aux_sockets_free_slots(const struct aux_sockets *s); /* how many more may open now */
/* The local port slot is bound to (host order); 0 if not open. */
uint16_t aux_socket_port(const struct aux_sockets *s, uint8_t slot);

/* One datagram now, from slot to `to`. 0, -EBADF not open, or -errno from
 * udp_send (-EAGAIN: dropped, as WireGuard drops on a full socket). */
int aux_socket_send(struct aux_sockets *s, uint8_t slot, const struct sockaddr_any *to, const void *msg, size_t len);

void aux_sockets_get_stats(const struct aux_sockets *s, struct aux_sockets_stats *out);

#endif
