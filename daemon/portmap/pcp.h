/* PCP (RFC 6887) MAP opcode: the wire format and a pure codec, no I/O.
 *
 * A request is the 24-byte common header plus the 36-byte MAP body (60
 * bytes, no options). A response is parsed with exact lengths: the 24-byte
 * header, then (for the MAP opcode) the 36-byte body, then options whose
 * declared lengths must tile the rest of the datagram exactly. Error
 * responses may stop after the header. The socket part is portmap_pcp.c. */
#ifndef ROAM_PORTMAP_PCP_H
#define ROAM_PORTMAP_PCP_H

#include <stddef.h>
#include <stdint.h>

#define PCP_PORT 5351
#define PCP_VERSION 2
#define PCP_OPCODE_MAP 1
#define PCP_RESPONSE_BIT 0x80
#define PCP_HEADER_LEN 24
#define PCP_MAP_BODY_LEN 36
#define PCP_MAP_LEN (PCP_HEADER_LEN + PCP_MAP_BODY_LEN) /* 60 */
#define PCP_MAX_LEN 1100 /* RFC 6887 section 7 */
#define PCP_OPTION_HEADER_LEN 4
#define PCP_NONCE_LEN 12
#define PCP_PROTO_UDP 17

/* Result codes (RFC 6887 section 7.4). */
enum pcp_result {
	PCP_SUCCESS = 0,
	PCP_UNSUPP_VERSION = 1,
	PCP_NOT_AUTHORIZED = 2,
	PCP_MALFORMED_REQUEST = 3,
	PCP_UNSUPP_OPCODE = 4,
	PCP_UNSUPP_OPTION = 5,
	PCP_MALFORMED_OPTION = 6,
	PCP_NETWORK_FAILURE = 7,
	PCP_NO_RESOURCES = 8,
	PCP_UNSUPP_PROTOCOL = 9,
	PCP_USER_EX_QUOTA = 10,
	PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	PCP_ADDRESS_MISMATCH = 12,
	PCP_EXCESSIVE_REMOTE_PEERS = 13,
};

struct pcp_map_request {
	uint32_t lifetime; /* seconds; 0 deletes the mapping */
	uint8_t client_addr[16]; /* our address as the server sees it (IPv4-mapped) */
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol; /* IANA number, PCP_PROTO_UDP */
	uint16_t internal_port;
	uint16_t suggested_port;
	uint8_t suggested_addr[16]; /* ::ffff:0.0.0.0 asks for any IPv4 address */
};

struct pcp_map_response {
	uint8_t result; /* enum pcp_result */
	uint32_t lifetime; /* of the mapping, or of the error */
	uint32_t epoch;
	int has_map; /* the MAP body was present (always when result is 0) */
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol;
	uint16_t internal_port;
	uint16_t external_port;
	uint8_t external_addr[16];
	unsigned n_options; /* options that followed the body (skipped) */
};

/* Writes the 60-byte request into out (cap >= PCP_MAP_LEN); *len = 60.
 * Returns 0 or -ENOBUFS. */
int pcp_map_request_encode(const struct pcp_map_request *req, uint8_t *out, size_t cap, size_t *len);

/* Parses a response of exactly len bytes. Returns 0, -EMSGSIZE (length not
 * allowed for what the header says), -EPROTONOSUPPORT (not PCP version 2, as
 * a NAT-PMP-only server answers), -EBADMSG (not a MAP response, or options
 * that do not tile the datagram). *out is set only on success. */
int pcp_map_response_decode(const uint8_t *buf, size_t len, struct pcp_map_response *out);

/* 1 if a decoded response answers req (same nonce, protocol, internal
 * port), else 0: anything else is a stale or foreign answer. */
int pcp_map_response_matches(const struct pcp_map_response *resp, const struct pcp_map_request *req);

/* A short, fixed description of a result code. */
const char *pcp_result_str(uint8_t result);

/* addr (network order IPv4) as PCP carries it: ::ffff:a.b.c.d. */
void pcp_addr_from_ipv4(uint8_t out[16], uint32_t addr_be);
/* 0 and *addr_be if in is IPv4-mapped, else -EAFNOSUPPORT. */
int pcp_addr_to_ipv4(const uint8_t in[16], uint32_t *addr_be);

#endif
