/* Where a datagram goes or came from: a transport and an address within it,
 * as one canonical byte string. Equal endpoints have equal bytes, so
 * comparing is memcmp; the WireGuard engine stores endpoints without knowing
 * what transports exist; its cookie MAC2 binds to exactly these bytes (as
 * wireguard-go's Endpoint.DstToBytes); the path layer keys paths by them.
 *
 * Layouts (byte 0 is the transport):
 *   EP_UDP        [1][4][port be16][addr 4]                      8 bytes
 *                 [1][6][port be16][addr 16][scope id le32]     24 bytes
 *   EP_RELAY  [2][relay index][node id le32]                 6 bytes
 *   EP_UDP_AUX    [3][slot] then EP_UDP's bytes 1.. (9 or 25 bytes)
 *
 * Only the functions below build endpoints, so every endpoint in the
 * program has one of these exact layouts. */
#ifndef ROAM_NET_ENDPOINT_H
#define ROAM_NET_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/addr.h"

enum endpoint_transport {
	EP_NONE = 0,
	EP_UDP = 1,       /* direct UDP on the tunnels' socket */
	EP_RELAY = 2, /* through a server's relay (over UDP, TLS, WebSocket or long-poll: the relay link decides), to or from a node id */
	EP_UDP_AUX = 3,   /* direct UDP on one of the extra sockets of hard-NAT probing */
	EP_TRANSPORT_COUNT
};

#define ENDPOINT_MAX 28
/* "relay:4294967295@255", "aux255:[v6%ifname]:65535" and a NUL */
#define ENDPOINT_STRLEN (SOCKADDR_ANY_STRLEN + 16)

struct endpoint {
	uint8_t len; /* 0 = none */
	uint8_t bytes[ENDPOINT_MAX];
};

/* a must be AF_INET or AF_INET6 (normalised); anything else gives len 0. */
void endpoint_from_sockaddr(struct endpoint *ep, const struct sockaddr_any *a);
void endpoint_relay(struct endpoint *ep, uint8_t relay_index, uint32_t node_id);
void endpoint_aux(struct endpoint *ep, uint8_t slot, const struct sockaddr_any *a);

/* EP_NONE for an empty or malformed endpoint. */
enum endpoint_transport endpoint_transport(const struct endpoint *ep);
/* EP_UDP or EP_UDP_AUX: its address; -EINVAL otherwise. */
int endpoint_to_sockaddr(const struct endpoint *ep, struct sockaddr_any *out);
uint32_t endpoint_relay_node(const struct endpoint *ep); /* 0 if not EP_RELAY */
int endpoint_relay_index(const struct endpoint *ep);    /* -EINVAL if not EP_RELAY */
int endpoint_aux_slot(const struct endpoint *ep);       /* -EINVAL if not EP_UDP_AUX */

static inline bool endpoint_equal(const struct endpoint *a, const struct endpoint *b)
{
	return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* Check that len bytes are one of the layouts above (for bytes from
 * elsewhere, e.g. a path layer's opaque address): 0 or -EINVAL. */
int endpoint_from_bytes(struct endpoint *ep, const uint8_t *bytes, size_t len);

/* "203.0.113.5:51820", "[2001:db8::1]:51820", "relay:17" (relay 0) or
 * "relay:17@1", "aux3:203.0.113.5:51820". 0 or -ENOSPC. */
int endpoint_format(const struct endpoint *ep, char *buf, size_t size);
const char *endpoint_transport_name(enum endpoint_transport t); /* "udp", "relay-udp", "udp-aux" */

#endif
