/* Fuzzes the control protocol's UDP parsers (lib/coord/udp.c, netcheck.c) as the server
 * and a node meet them: any datagram on the shared socket. A parse either
 * fails or yields fields within the message's bounds. */
#include <stdlib.h>
#include <string.h>

#include "coord/netcheck.h"
#include "coord/udp.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t k[COORD_KEY_LEN] = { 1, 2, 3 };
	struct sockaddr_any seen;
	const uint8_t *payload, *cookie;
	uint8_t got[COORD_COOKIE_LEN];
	size_t plen;
	uint64_t ts;
	uint32_t id;

	(void)coord_msg_type(data, size);
	if (coord_binding_peek(data, size, &id) == 0 && size != sizeof(struct coord_msg_binding) &&
	    size != sizeof(struct coord_msg_binding_cookie))
		abort();
	if (coord_binding_verify(data, size, k, &ts, &cookie) == 0 && cookie && cookie != data + 24)
		abort();
	(void)coord_challenge_parse(data, size, k, 7, &ts, got);
	(void)coord_wg_message_check(data, size);
	if (coord_binding_ack_parse(data, size, k, 7, &ts, &seen) == 0 &&
	    seen.sa.sa_family != AF_INET && seen.sa.sa_family != AF_INET6)
		abort();
	uint8_t txid[COORD_NETCHECK_TXID_LEN], again[sizeof(struct coord_msg_netcheck_ack)];
	struct coord_netcheck_ack ack;
	/* A parsed NETCHECK or ACK builds back to the same bytes: one encoding each. */
	if (coord_netcheck_parse(data, size, txid, &seen) == 0 &&
	    (coord_netcheck_build(again, txid, &seen) < 0 || memcmp(again, data, size) != 0))
		abort();
	if (coord_netcheck_ack_parse(data, size, &ack) == 0 &&
	    (coord_netcheck_ack_build(again, &ack) < 0 || memcmp(again, data, size) != 0))
		abort();
	if (coord_relay_parse(data, size, &id, &payload, &plen) == 0 &&
	    (payload != data + 8 || plen + 8 != size || plen < COORD_RELAY_PAYLOAD_MIN))
		abort();
	return 0;
}
