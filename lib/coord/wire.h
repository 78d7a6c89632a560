/* Byte-level helpers for the control protocol's UDP messages (udp.c,
 * probe.c): little-endian integers (util/le.h), and the 20-byte endpoint of
 * BINDING_ACK, PONG and CALLME (struct coord_wire_endpoint). */
#ifndef ROAM_COORD_WIRE_H
#define ROAM_COORD_WIRE_H

#include <stdint.h>

#include "coord/messages.h"
#include "net/addr.h"
#include "util/le.h"

/* a (normalised) must be AF_INET or AF_INET6: -EAFNOSUPPORT otherwise. */
int coord_wire_endpoint_put(struct coord_wire_endpoint *w, const struct sockaddr_any *a);

/* Strict, so one endpoint has one encoding: family 4 or 6, reserved byte
 * zero, the unused 12 bytes of an IPv4 address zero, and no IPv4-mapped
 * IPv6 (an IPv4 address is family 4). -EBADMSG otherwise. */
int coord_wire_endpoint_get(const uint8_t p[sizeof(struct coord_wire_endpoint)], struct sockaddr_any *out);

#endif
