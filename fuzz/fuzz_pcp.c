/* Fuzzes the PCP MAP response parser (daemon/portmap/pcp.c) as the port
 * mapping client meets it: any datagram from the gateway's port 5351.
 * Whatever decodes must obey the length rules (the body only when the
 * datagram holds it, no more options than fit), and the fields must
 * survive a request encode with the nonce that would match it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/portmap/pcp.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcp_map_response resp;
	struct pcp_map_request req;
	uint8_t out[PCP_MAP_LEN];
	size_t len;
	uint32_t addr;

	if (pcp_map_response_decode(data, size, &resp) < 0)
		return 0;
	if (size < PCP_HEADER_LEN || size > PCP_MAX_LEN || size % 4 != 0)
		abort();
	if (resp.has_map != (size >= PCP_MAP_LEN) || (resp.result == PCP_SUCCESS && !resp.has_map))
		abort();
	if (resp.has_map && resp.n_options > (size - PCP_MAP_LEN) / PCP_OPTION_HEADER_LEN)
		abort();
	(void)pcp_result_str(resp.result);
	(void)pcp_addr_to_ipv4(resp.external_addr, &addr);
	memset(&req, 0, sizeof(req));
	memcpy(req.nonce, resp.nonce, sizeof(req.nonce));
	req.protocol = resp.protocol;
	req.internal_port = resp.internal_port;
	req.lifetime = resp.lifetime;
	if (pcp_map_response_matches(&resp, &req) != resp.has_map)
		abort();
	if (pcp_map_request_encode(&req, out, sizeof(out), &len) < 0 || len != PCP_MAP_LEN)
		abort();
	/* A request is never taken for a response. */
	if (pcp_map_response_decode(out, len, &resp) != -EBADMSG)
		abort();
	return 0;
}
