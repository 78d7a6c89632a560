/* The server's UDP relay, on the tunnels' socket. A message for an
 * EP_RELAY endpoint leaves with an 8-byte RELAY header naming the node,
 * to the server's UDP address; a RELAY from the server is unwrapped and
 * its payload comes in again with src = EP_RELAY(source node), so the
 * engine (and its cookie MAC2) and the probes tell relayed peers apart.
 * The server can route these but holds no key to read them. Other control
 * datagrams from the server (BINDING_ACK, CHALLENGE) are managed mode's:
 * they go to the agent, rate-limited. */
#include <string.h>

#include "coord/udp.h"
#include "daemon/privsep.h"
#include "daemon/roamd.h"
#include "daemon/transport/transport.h"

/* Control datagrams forwarded to the agent per second: the server answers
 * a BINDING every 25 s; anything beyond this is noise or an attack. */
#define FORWARD_PER_SECOND 50

bool roamd_from_server(const struct roamd *d, const struct endpoint *src)
{
	return d->host.server_ep.len && endpoint_equal(src, &d->host.server_ep);
}

void roamd_relay_transport_send(struct roamd *d, const struct endpoint *to, const uint8_t *msg, size_t len)
{
	uint8_t hdr[sizeof(struct coord_msg_relay_header)];
	uint32_t node = endpoint_relay_node(to);
	/* Relay 0 is our server; more relays come with issue 10. */
	if (!node || endpoint_relay_index(to) != 0 || !d->host.server_udp.len) {
		d->stats.udp_send_errors++;
		return;
	}
	coord_relay_header_write(hdr, node);
	roamd_udp_queue(d, &d->host.server_udp, hdr, sizeof(hdr), msg, len);
}

static void forward_to_agent(struct roamd *d, const uint8_t *buf, size_t len, uint64_t now)
{
	struct ps_udp u;
	if (now - d->host.forward_window_start >= EV_NSEC_PER_SEC) {
		d->host.forward_window_start = now;
		d->host.forward_count = 0;
	}
	if (++d->host.forward_count > FORWARD_PER_SECOND || privsep_udp_fill(&u, &d->host.server_udp, buf, len) < 0) {
		d->host.forward_dropped++;
		return;
	}
	privsep_agent_send(d, PS_UDP_IN, &u, sizeof(u));
}

void roamd_relay_server_input(struct roamd *d, uint8_t *buf, size_t len, uint8_t type, uint64_t now)
{
	const uint8_t *payload;
	size_t payload_len;
	uint32_t source;
	if (type != COORD_MSG_RELAY) {
		forward_to_agent(d, buf, len, now);
		return;
	}
	if (coord_relay_parse(buf, len, &source, &payload, &payload_len) < 0) {
		d->stats.control_dropped++;
		return;
	}
	/* A relay carries peers' WireGuard messages and probes, never a relay
	 * inside a relay nor anything the server itself would say. */
	uint8_t inner = coord_msg_type(payload, payload_len);
	if (inner && inner != COORD_MSG_PROBE_PING && inner != COORD_MSG_PROBE_PONG && inner != COORD_MSG_PROBE_CALLME) {
		d->stats.control_dropped++;
		return;
	}
	struct endpoint src;
	endpoint_relay(&src, 0, source);
	roamd_datagram_input(d, buf + (payload - buf), payload_len, &src, now);
}
