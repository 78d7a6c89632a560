/* Byte-level helpers for the control protocol's UDP messages (udp.c,
 * probe.c): little-endian integers, and the 20-byte endpoint of
 * BINDING_ACK, PONG and CALLME (struct coord_wire_endpoint). */
#ifndef ROAM_COORD_WIRE_H
#define ROAM_COORD_WIRE_H

#include <stdint.h>

#include "coord/messages.h"
#include "net/addr.h"

static inline void coord_le16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void coord_le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void coord_le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t coord_le16_get(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static inline uint32_t coord_le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t coord_le64_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* a (normalised) must be AF_INET or AF_INET6: -EAFNOSUPPORT otherwise. */
int coord_wire_endpoint_put(struct coord_wire_endpoint *w, const struct sockaddr_any *a);

/* Strict, so one endpoint has one encoding: family 4 or 6, reserved byte
 * zero, the unused 12 bytes of an IPv4 address zero, and no IPv4-mapped
 * IPv6 (an IPv4 address is family 4). -EBADMSG otherwise. */
int coord_wire_endpoint_get(const uint8_t p[sizeof(struct coord_wire_endpoint)], struct sockaddr_any *out);

#endif
