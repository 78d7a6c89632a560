/* The transport table and the one demultiplexer every received datagram
 * goes through (transport.h). */
#include "coord/relay_link.h"
#include "coord/udp.h"
#include "daemon/paths/ifaces.h"
#include "daemon/roamd.h"
#include "daemon/transport/transport.h"

static const struct roamd_transport transports[EP_TRANSPORT_COUNT] = {
	[EP_UDP] = { "udp", roamd_udp_transport_send },
	[EP_RELAY] = { "relay-udp", roamd_relay_transport_send },
	[EP_UDP_AUX] = { "udp-aux", roamd_aux_transport_send },
};

void roamd_transport_send(struct roamd *d, const struct endpoint *to, const uint8_t *msg, size_t len)
{
	enum endpoint_transport t = endpoint_transport(to);
	if (t == EP_NONE || !transports[t].send) {
		d->stats.udp_send_errors++;
		return;
	}
	transports[t].send(d, to, msg, len);
}

static bool is_probe(uint8_t type)
{
	return type == COORD_MSG_PROBE_PING || type == COORD_MSG_PROBE_PONG || type == COORD_MSG_PROBE_CALLME;
}

void roamd_datagram_input(struct roamd *d, uint8_t *buf, size_t len, const struct endpoint *src, uint64_t now)
{
	/* Static mode speaks only WireGuard: the engine counts the rest. */
	uint8_t type = d->is_managed ? coord_msg_type(buf, len) : 0;
	/* A relay's answer to the agent's RELAY_PING (liveness): the agent's,
	 * like BINDING_ACK (never a WireGuard message: those start 1..4). */
	if (d->is_managed && len == sizeof(struct relay_msg_ping) && buf[0] == COORD_MSG_RELAY_PONG)
		type = COORD_MSG_RELAY_PONG;
	if (!type) {
		wg_device_udp_input(d->wg, buf, len, src, now);
		return;
	}
	if (is_probe(type)) {
		roamd_probe_input(d, buf, len, src, now);
		return;
	}
	/* Netchecks: the server's addresses answer, our NAT hairpins
	 * (daemon/netcheck_host.c decides); never through a relay. */
	if (type == COORD_MSG_NETCHECK || type == COORD_MSG_NETCHECK_ACK) {
		struct sockaddr_any from;
		if (endpoint_transport(src) == EP_UDP && endpoint_to_sockaddr(src, &from) == 0)
			roamd_netcheck_datagram(d, buf, len, &from, now);
		else if (endpoint_transport(src) == EP_UDP_AUX && endpoint_to_sockaddr(src, &from) == 0)
			paths_ifaces_netcheck_input(d, (uint8_t)endpoint_aux_slot(src), buf, len, &from, now);
		else
			d->stats.control_dropped++;
		return;
	}
	/* The other control messages only the server sends us, directly
	 * (never inside a relay: the relay carries peers' messages). */
	int relay;
	struct sockaddr_any from;
	if (endpoint_transport(src) != EP_UDP || endpoint_to_sockaddr(src, &from) < 0)
		d->stats.control_dropped++;
	else if (roamd_from_server(d, src))
		roamd_relay_server_input(d, 0, &from, buf, len, type, now);
	else if ((relay = roamd_relay_of(d, src)) > 0)
		roamd_relay_server_input(d, (uint8_t)relay, &from, buf, len, type, now);
	else
		d->stats.control_dropped++;
}
