/* PCP MAP codec (daemon/portmap/pcp.c): known-answer bytes laid out by hand
 * from RFC 6887 (section 7.1 request header, 7.2 response header, 11.1 MAP
 * body, 7.3 options), then a table of responses that must be refused for
 * their exact length, version, opcode or options. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "check.h"
#include "daemon/portmap/pcp.h"

/* MAP request, lifetime 7200, client ::ffff:192.0.2.33, nonce 01..0c, UDP,
 * internal port 51820, suggested port 51820 and address ::ffff:0.0.0.0. */
static const char request_hex[] = "0201" "0000" "00001c20" "00000000000000000000ffffc0000221"
				  "0102030405060708090a0b0c" "11" "000000" "ca6c" "ca6c"
				  "00000000000000000000ffff00000000";
/* Its success response: lifetime 3600, epoch 123, assigned 203.0.113.10:51821. */
static const char response_hex[] = "0281" "00" "00" "00000e10" "0000007b" "000000000000000000000000"
				   "0102030405060708090a0b0c" "11" "000000" "ca6c" "ca6d"
				   "00000000000000000000ffffcb00710a";

static struct pcp_map_request sample_request(void)
{
	struct pcp_map_request req = { .lifetime = 7200, .protocol = PCP_PROTO_UDP,
				       .internal_port = 51820, .suggested_port = 51820 };

	pcp_addr_from_ipv4(req.client_addr, inet_addr("192.0.2.33"));
	pcp_addr_from_ipv4(req.suggested_addr, 0);
	for (int i = 0; i < PCP_NONCE_LEN; i++)
		req.nonce[i] = (uint8_t)(i + 1);
	return req;
}

static void test_encode(void)
{
	struct pcp_map_request req = sample_request();
	uint8_t want[PCP_MAP_LEN], got[PCP_MAP_LEN + 8];
	size_t len = 0;

	CHECK_EQ(check_hex(want, sizeof(want), request_hex), 0);
	CHECK_EQ(pcp_map_request_encode(&req, got, sizeof(got), &len), 0);
	CHECK_EQ(len, PCP_MAP_LEN);
	CHECK_MEM(got, want, PCP_MAP_LEN);
	CHECK_EQ(pcp_map_request_encode(&req, got, PCP_MAP_LEN - 1, &len), -ENOBUFS);
}

static void test_decode_success(void)
{
	struct pcp_map_request req = sample_request();
	struct pcp_map_response resp;
	uint8_t buf[PCP_MAP_LEN];
	uint32_t ext = 0;

	CHECK_EQ(check_hex(buf, sizeof(buf), response_hex), 0);
	CHECK_EQ(pcp_map_response_decode(buf, sizeof(buf), &resp), 0);
	CHECK_EQ(resp.result, PCP_SUCCESS);
	CHECK_EQ(resp.lifetime, 3600);
	CHECK_EQ(resp.epoch, 123);
	CHECK_EQ(resp.has_map, 1);
	CHECK_EQ(resp.protocol, 17);
	CHECK_EQ(resp.internal_port, 51820);
	CHECK_EQ(resp.external_port, 51821);
	CHECK_EQ(resp.n_options, 0);
	CHECK_EQ(pcp_addr_to_ipv4(resp.external_addr, &ext), 0);
	CHECK_EQ(ext, inet_addr("203.0.113.10"));
	CHECK_EQ(pcp_map_response_matches(&resp, &req), 1);
	req.nonce[11] ^= 1;
	CHECK_EQ(pcp_map_response_matches(&resp, &req), 0);
	req = sample_request();
	req.internal_port++;
	CHECK_EQ(pcp_map_response_matches(&resp, &req), 0);
}

struct decode_case {
	const char *name;
	size_t len; /* the response above, cut or zero-extended to this length */
	int patch_at; /* -1: none */
	uint8_t patch[4];
	int patch_len;
	int ret;
	unsigned n_options;
};

static const struct decode_case cases[] = {
	{ "empty", 0, -1, { 0 }, 0, -EMSGSIZE, 0 },
	{ "one byte", 1, -1, { 0 }, 0, -EMSGSIZE, 0 },
	{ "NAT-PMP version 0", 60, 0, { 0 }, 1, -EPROTONOSUPPORT, 0 },
	{ "version 1", 60, 0, { 1 }, 1, -EPROTONOSUPPORT, 0 },
	{ "short of a header", 20, -1, { 0 }, 0, -EMSGSIZE, 0 },
	{ "header only, success", 24, -1, { 0 }, 0, -EMSGSIZE, 0 },
	{ "header only, error", 24, 3, { PCP_UNSUPP_VERSION }, 1, 0, 0 },
	{ "between header and body", 40, 3, { PCP_NOT_AUTHORIZED }, 1, -EMSGSIZE, 0 },
	{ "body cut", 56, -1, { 0 }, 0, -EMSGSIZE, 0 },
	{ "not a multiple of 4", 61, -1, { 0 }, 0, -EMSGSIZE, 0 },
	{ "over 1100 bytes", 1104, -1, { 0 }, 0, -EMSGSIZE, 0 },
	{ "a request (R bit clear)", 60, 1, { PCP_OPCODE_MAP }, 1, -EBADMSG, 0 },
	{ "PEER response", 60, 1, { 0x82 }, 1, -EBADMSG, 0 },
	{ "ANNOUNCE response", 60, 1, { 0x80 }, 1, -EBADMSG, 0 },
	{ "empty option", 64, -1, { 0 }, 0, 0, 1 },
	{ "option of 16 bytes", 80, 62, { 0, 16 }, 2, 0, 1 },
	{ "option of 5 bytes, padded to 8", 72, 62, { 0, 5 }, 2, 0, 1 },
	{ "option of 5 bytes, no padding", 72, 62, { 0, 9 }, 2, -EBADMSG, 0 },
	{ "option longer than the datagram", 68, 62, { 0, 8 }, 2, -EBADMSG, 0 },
	{ "option length 0xffff", 1100, 62, { 0xff, 0xff }, 2, -EBADMSG, 0 },
	{ "maximum: 260 empty options", 1100, -1, { 0 }, 0, 0, 260 },
	{ "error with body", 60, 3, { PCP_NO_RESOURCES }, 1, 0, 0 },
};

static void test_decode_table(void)
{
	uint8_t base[PCP_MAP_LEN];

	CHECK_EQ(check_hex(base, sizeof(base), response_hex), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct decode_case *c = &cases[i];
		static uint8_t buf[PCP_MAX_LEN + 8];
		struct pcp_map_response resp = { .n_options = 99 };
		memset(buf, 0, sizeof(buf));
		memcpy(buf, base, c->len < sizeof(base) ? c->len : sizeof(base));
		if (c->patch_at >= 0)
			memcpy(buf + c->patch_at, c->patch, (size_t)c->patch_len);
		int ret = pcp_map_response_decode(buf, c->len, &resp);
		if (ret != c->ret)
			fprintf(stderr, "case '%s'\n", c->name);
		CHECK_EQ(ret, c->ret);
		/* Output untouched on failure, filled on success. */
		CHECK_EQ(resp.n_options, ret == 0 ? c->n_options : 99);
	}
}

static void test_misc(void)
{
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	uint32_t addr = 7;

	CHECK_EQ(pcp_addr_to_ipv4(v6, &addr), -EAFNOSUPPORT);
	CHECK_EQ(addr, 7);
	CHECK(strcmp(pcp_result_str(PCP_NOT_AUTHORIZED), "not authorized") == 0);
	CHECK(strcmp(pcp_result_str(PCP_EXCESSIVE_REMOTE_PEERS), "excessive remote peers") == 0);
	CHECK(strcmp(pcp_result_str(200), "unknown result") == 0);
}

int main(void)
{
	test_encode();
	test_decode_success();
	test_decode_table();
	test_misc();
	return check_report("test_pcp");
}
