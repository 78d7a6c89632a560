/* PCP MAP codec (RFC 6887 sections 7, 11). Pure: bytes in, structs out. */
#include "pcp.h"

#include <errno.h>
#include <string.h>

_Static_assert(PCP_MAP_LEN == 60, "PCP MAP request/response is 60 bytes");
_Static_assert(PCP_MAX_LEN % 4 == 0, "PCP messages are multiples of 4 bytes");

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int pcp_map_request_encode(const struct pcp_map_request *req, uint8_t *out, size_t cap, size_t *len)
{
	if (cap < PCP_MAP_LEN)
		return -ENOBUFS;
	memset(out, 0, PCP_MAP_LEN);
	/* Common request header: version, R=0|opcode, 2 reserved, lifetime, client address. */
	out[0] = PCP_VERSION;
	out[1] = PCP_OPCODE_MAP;
	put_be32(out + 4, req->lifetime);
	memcpy(out + 8, req->client_addr, 16);
	/* MAP body: nonce, protocol, 3 reserved, internal port, suggested port and address. */
	uint8_t *body = out + PCP_HEADER_LEN;
	memcpy(body, req->nonce, PCP_NONCE_LEN);
	body[12] = req->protocol;
	put_be16(body + 16, req->internal_port);
	put_be16(body + 18, req->suggested_port);
	memcpy(body + 20, req->suggested_addr, 16);
	*len = PCP_MAP_LEN;
	return 0;
}

/* Options after the body: each a 4-byte header (code, reserved, length)
 * and length bytes padded to 4; together they must end exactly at len.
 * The loop is bounded by len <= PCP_MAX_LEN (at most 260 options). */
static int pcp_skip_options(const uint8_t *buf, size_t off, size_t len, unsigned *count)
{
	unsigned n = 0;

	while (off < len) {
		if (len - off < PCP_OPTION_HEADER_LEN)
			return -EBADMSG;
		size_t opt_len = get_be16(buf + off + 2);
		size_t padded = (opt_len + 3) & ~(size_t)3;
		if (padded > len - off - PCP_OPTION_HEADER_LEN)
			return -EBADMSG;
		off += PCP_OPTION_HEADER_LEN + padded;
		n++;
	}
	*count = n;
	return 0;
}

int pcp_map_response_decode(const uint8_t *buf, size_t len, struct pcp_map_response *out)
{
	struct pcp_map_response r;
	int err;

	/* The version byte decides the format (a NAT-PMP server answers with
	 * version 0 and 8 or so bytes): check it before any length rule. */
	if (len < 2)
		return -EMSGSIZE;
	if (buf[0] != PCP_VERSION)
		return -EPROTONOSUPPORT;
	if (len < PCP_HEADER_LEN || len > PCP_MAX_LEN || len % 4 != 0)
		return -EMSGSIZE;
	if (buf[1] != (PCP_RESPONSE_BIT | PCP_OPCODE_MAP))
		return -EBADMSG;
	memset(&r, 0, sizeof(r));
	r.result = buf[3];
	r.lifetime = get_be32(buf + 4);
	r.epoch = get_be32(buf + 8);
	if (len == PCP_HEADER_LEN) {
		/* Header only: allowed for errors (e.g. UNSUPP_VERSION, MALFORMED_REQUEST). */
		if (r.result == PCP_SUCCESS)
			return -EMSGSIZE;
		*out = r;
		return 0;
	}
	if (len < PCP_MAP_LEN)
		return -EMSGSIZE;
	const uint8_t *body = buf + PCP_HEADER_LEN;
	r.has_map = 1;
	memcpy(r.nonce, body, PCP_NONCE_LEN);
	r.protocol = body[12];
	r.internal_port = get_be16(body + 16);
	r.external_port = get_be16(body + 18);
	memcpy(r.external_addr, body + 20, 16);
	err = pcp_skip_options(buf, PCP_MAP_LEN, len, &r.n_options);
	if (err < 0)
		return err;
	*out = r;
	return 0;
}

int pcp_map_response_matches(const struct pcp_map_response *resp, const struct pcp_map_request *req)
{
	return resp->has_map && memcmp(resp->nonce, req->nonce, PCP_NONCE_LEN) == 0 &&
	       resp->protocol == req->protocol && resp->internal_port == req->internal_port;
}

const char *pcp_result_str(uint8_t result)
{
	static const char *const names[] = {
		"success", "unsupported version", "not authorized", "malformed request",
		"unsupported opcode", "unsupported option", "malformed option", "network failure",
		"no resources", "unsupported protocol", "user exceeded quota",
		"cannot provide external", "address mismatch", "excessive remote peers",
	};

	return result < sizeof(names) / sizeof(names[0]) ? names[result] : "unknown result";
}

void pcp_addr_from_ipv4(uint8_t out[16], uint32_t addr_be)
{
	memset(out, 0, 16);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, &addr_be, 4);
}

int pcp_addr_to_ipv4(const uint8_t in[16], uint32_t *addr_be)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (memcmp(in, prefix, sizeof(prefix)) != 0)
		return -EAFNOSUPPORT;
	memcpy(addr_be, in + 12, 4);
	return 0;
}
