/* The server's UDP relay as the data plane sees it: WireGuard messages for
 * a relayed peer leave with an 8-byte RELAY header naming it, and relayed
 * messages arrive with one naming their source. The server can route them
 * but has no key to read them. Other control datagrams (BINDING_ACK) are
 * managed mode's: they go to the agent, rate-limited. */
#include <string.h>

#include "coord/udp.h"
#include "daemon/privsep.h"
#include "daemon/roamd.h"

/* Control datagrams forwarded to the agent per second: the server answers
 * a BINDING every 25 s; anything beyond this is noise or an attack. */
#define FORWARD_PER_SECOND 50

static bool is_server(const struct roamd *d, const struct sockaddr_any *a)
{
	return d->host.server_udp.len && sockaddr_any_equal(a, &d->host.server_udp);
}

uint32_t roamd_relay_target(struct roamd *d, const struct wg_peer *peer, const struct wg_endpoint *to)
{
	struct sockaddr_any dst = { .len = to->addr.sa.sa_family == AF_INET ? sizeof(struct sockaddr_in)
									  : sizeof(struct sockaddr_in6) };
	memcpy(&dst.sa, &to->addr, dst.len);
	if (!is_server(d, &dst))
		return 0;
	if (peer && peer->user) {
		const struct managed_peer_info *mp = peer->user;
		return mp->relay_node_id ? mp->relay_node_id : mp->node_id;
	}
	/* A cookie reply names no peer: it goes back to the relayed source. */
	return d->host.relay_source;
}

static void forward_to_agent(struct roamd *d, const uint8_t *buf, size_t len, const struct sockaddr_any *from,
			     uint64_t now)
{
	struct ps_udp u;
	if (now - d->host.forward_window_start >= EV_NSEC_PER_SEC) {
		d->host.forward_window_start = now;
		d->host.forward_count = 0;
	}
	if (++d->host.forward_count > FORWARD_PER_SECOND || privsep_udp_fill(&u, from, buf, len) < 0) {
		d->host.forward_dropped++;
		return;
	}
	privsep_agent_send(d, PS_UDP_IN, &u, sizeof(u));
}

bool roamd_control_input(struct roamd *d, uint8_t *buf, size_t len, const struct sockaddr_any *from, uint64_t now)
{
	uint8_t type = coord_msg_type(buf, len);
	const uint8_t *payload;
	size_t payload_len;
	uint32_t source;
	if (!type)
		return false;
	if (type == COORD_MSG_NETCHECK || type == COORD_MSG_NETCHECK_ACK) {
		roamd_netcheck_datagram(d, buf, len, from, now);
		return true;
	}
	/* Only the server speaks these to us. */
	if (!is_server(d, from))
		return true;
	if (type != COORD_MSG_RELAY) {
		forward_to_agent(d, buf, len, from, now);
		return true;
	}
	if (coord_relay_parse(buf, len, &source, &payload, &payload_len) < 0)
		return true;
	struct wg_endpoint ep;
	memset(&ep, 0, sizeof(ep));
	memcpy(&ep.addr, &from->sa, from->len);
	/* The engine sees the relay as the peer's endpoint; replies to it
	 * (even cookie replies, which name no peer) go back to source. */
	d->host.relay_source = source;
	wg_device_udp_input(d->wg, buf + (payload - buf), payload_len, &ep, now);
	d->host.relay_source = 0;
	return true;
}
