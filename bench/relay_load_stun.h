/* relay_load's TURN client pieces (RFC 8656 over RFC 8489 STUN), shared by
 * the UDP load (relay_load_turn.c) and the TLS flow (relay_load_tls.c). No
 * authentication: the anchor's server runs with no-auth. */
#ifndef ROAM_BENCH_RELAY_LOAD_STUN_H
#define ROAM_BENCH_RELAY_LOAD_STUN_H

#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"

#define STUN_COOKIE 0x2112A442u
#define STUN_ALLOCATE 0x0003
#define STUN_CHANNEL_BIND 0x0009
#define STUN_SUCCESS 0x0100
#define ATTR_CHANNEL_NUMBER 0x000C
#define ATTR_XOR_PEER_ADDRESS 0x0012
#define ATTR_XOR_RELAYED_ADDRESS 0x0016
#define ATTR_REQUESTED_TRANSPORT 0x0019
#define TURN_CHANNEL 0x4000

struct stun_msg {
	uint8_t buf[256];
	size_t len;
};

static inline uint16_t stun_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t stun_be32(const uint8_t *p) { return (uint32_t)stun_be16(p) << 16 | stun_be16(p + 2); }

void stun_begin(struct stun_msg *m, uint16_t type); /* a request with a random transaction id */
void stun_attr(struct stun_msg *m, uint16_t type, const uint8_t *val, uint16_t len);
void stun_xor_addr4(uint8_t out[8], const struct sockaddr_any *a);
int stun_xor_addr4_decode(const uint8_t in[8], struct sockaddr_any *a); /* -EAFNOSUPPORT: not IPv4 */
/* The answer to req in buf? -EAGAIN: another transaction's; -EPERM: an
 * error response; 0: success, attribute want (8 bytes) copied to val. */
int stun_answer(const uint8_t *buf, size_t n, const struct stun_msg *req, uint16_t want, uint8_t val[8]);

#endif
