/* The server's UDP relay, on the tunnels' socket. A message for an
 * EP_RELAY endpoint leaves with an 8-byte RELAY header naming the node,
 * to the server's UDP address; a RELAY from the server is unwrapped and
 * its payload comes in again with src = EP_RELAY(source node), so the
 * engine (and its cookie MAC2) and the probes tell relayed peers apart.
 * The server can route these but holds no key to read them. Other control
 * datagrams from the server (BINDING_ACK, CHALLENGE) are managed mode's:
 * they go to the agent, rate-limited.
 *
 * Each relay (0: the control server, or a relay-only server) has its own
 * relay link. When a relay's link is a TCP one (TLS, WebSocket, long-poll:
 * the agent runs it and says which, PS_RELAY_LINK), the same datagram,
 * RELAY header and all, goes to the agent through the datagram pair
 * instead, behind one byte naming the relay; datagrams from the pair carry
 * that byte too and come in here as if that relay's UDP had brought them.
 * The agent also says which relays stopped answering its RELAY_PINGs:
 * their paths are dropped at once (daemon/paths/). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "coord/relay_link.h"
#include "coord/ticket.h"
#include "coord/udp.h"
#include "daemon/privsep_msg.h"
#include "daemon/paths/paths.h"
#include "daemon/privsep.h"
#include "daemon/roamd.h"
#include "daemon/transport/transport.h"
#include "util/log.h"

/* Control datagrams forwarded to the agent per second: the server answers
 * a BINDING every 25 s; anything beyond this is noise or an attack. */
#define FORWARD_PER_SECOND 50
/* The push channel's PUSH_DATA (the server's stream over UDP): a full
 * window (COORD_PUSH_INFLIGHT_MAX) is ~30 datagrams, a big view several
 * windows a second. */
#define FORWARD_PUSH_PER_SECOND 1000

bool roamd_from_server(const struct roamd *d, const struct endpoint *src)
{
	return d->host.server_ep.len && endpoint_equal(src, &d->host.server_ep);
}

static const struct roamd_relay_addr *relay_addr_of(const struct roamd *d, uint8_t id)
{
	for (size_t i = 0; i < d->host.relays_count; i++)
		if (d->host.relays[i].id == id)
			return &d->host.relays[i];
	return NULL;
}

void roamd_relay_transport_send(struct roamd *d, const struct endpoint *to, const uint8_t *msg, size_t len)
{
	/* The pair's relay byte, then the RELAY header (UDP: without the byte). */
	uint8_t hdr[1 + sizeof(struct coord_msg_relay_header)];
	uint32_t node = endpoint_relay_node(to);
	uint8_t index = endpoint_relay_index(to);
	const struct roamd_relay_addr *r = index ? relay_addr_of(d, index) : NULL;
	const struct sockaddr_any *udp = index ? (r ? &r->udp : NULL) : &d->host.server_udp;
	if (!node) {
		d->stats.udp_send_errors++;
		return;
	}
	hdr[0] = index;
	coord_relay_header_write(hdr + 1, node);
	if (roamd_relay_over_pair_of(d, index))
		dgram_pair_queue(&d->host.relay_pair, hdr, sizeof(hdr), msg, len);
	else if (udp && udp->len)
		roamd_udp_queue(d, udp, hdr + 1, sizeof(hdr) - 1, msg, len);
	else
		d->stats.udp_send_errors++;
}

bool roamd_relay_over_pair_of(const struct roamd *d, uint8_t relay)
{
	enum managed_relay_link l = relay ? (enum managed_relay_link)d->host.relay_links[relay] : d->host.relay_link;
	return l > MANAGED_RELAY_LINK_UDP && d->host.relay_pair.fd >= 0;
}

bool roamd_relay_over_pair(const struct roamd *d)
{
	return roamd_relay_over_pair_of(d, 0);
}

int roamd_relay_of(const struct roamd *d, const struct endpoint *src)
{
	for (size_t i = 0; i < d->host.relays_count; i++)
		if (endpoint_equal(src, &d->host.relays[i].ep))
			return d->host.relays[i].id;
	return -1;
}

void roamd_relay_set_addrs(struct roamd *d, const struct ps_relay_addrs *a)
{
	d->host.relays_count = 0;
	for (size_t i = 0; i < a->count && i < COORD_RELAYS_MAX; i++) {
		struct roamd_relay_addr *r = &d->host.relays[d->host.relays_count++];
		r->id = (uint8_t)a->r[i].id;
		r->udp = a->r[i].udp;
		endpoint_from_sockaddr(&r->ep, &r->udp);
	}
}

bool roamd_relay_bind_ok(const struct roamd *d, const struct sockaddr_any *to, const uint8_t *msg, size_t len)
{
	/* A RELAY_PING (liveness) to the server or a relay-only server. */
	bool ping = len == sizeof(struct relay_msg_ping) && msg[0] == COORD_MSG_RELAY_PING;
	if (ping && d->host.server_udp.len && sockaddr_any_equal(to, &d->host.server_udp))
		return true;
	/* coord_msg_type knows only what comes to the tunnels' socket. */
	if (!ping && (len < RELAY_BIND_HDR_LEN || len > RELAY_BIND_LEN_MAX || msg[0] != COORD_MSG_RELAY_BIND))
		return false;
	for (size_t i = 0; i < d->host.relays_count; i++)
		if (sockaddr_any_equal(to, &d->host.relays[i].udp))
			return true;
	return false;
}

static void forward_to_agent(struct roamd *d, const struct sockaddr_any *from, const uint8_t *buf, size_t len,
			     uint64_t now)
{
	struct ps_udp u;
	if (now - d->host.forward_window_start >= EV_NSEC_PER_SEC) {
		d->host.forward_window_start = now;
		d->host.forward_count = 0;
		d->host.forward_push_count = 0;
	}
	bool over = len && buf[0] == COORD_MSG_PUSH_DATA ? ++d->host.forward_push_count > FORWARD_PUSH_PER_SECOND
							 : ++d->host.forward_count > FORWARD_PER_SECOND;
	if (over || privsep_udp_fill(&u, from, buf, len) < 0) {
		d->host.forward_dropped++;
		return;
	}
	privsep_agent_send(d, PS_UDP_IN, &u, sizeof(u));
}

void roamd_relay_server_input(struct roamd *d, uint8_t relay, const struct sockaddr_any *from, uint8_t *buf, size_t len,
			      uint8_t type, uint64_t now)
{
	const uint8_t *payload;
	size_t payload_len;
	uint32_t source;
	if (type != COORD_MSG_RELAY) {
		forward_to_agent(d, from, buf, len, now);
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
	endpoint_relay(&src, relay, source);
	roamd_datagram_input(d, buf + (payload - buf), payload_len, &src, now);
}

/* --- the datagram pair -------------------------------------------------- */

/* The agent passes on only what a relay sent on its link; the monitor
 * checks it as it checks a relay's UDP: from a relay the agent runs a link
 * to (or relay 0), a RELAY, well-formed, carrying WireGuard or a probe. */
static void on_pair_dgram(void *ctx, uint8_t *buf, size_t len)
{
	struct roamd *d = ctx;
	static const struct sockaddr_any none;
	uint8_t relay = len ? buf[0] : 0;
	const struct roamd_relay_addr *r = relay ? relay_addr_of(d, relay) : NULL;
	if (len < 2 || coord_msg_type(buf + 1, len - 1) != COORD_MSG_RELAY ||
	    (relay && !r && d->host.relay_links[relay] == MANAGED_RELAY_LINK_NONE)) {
		d->host.relay_dropped++;
		return;
	}
	roamd_relay_server_input(d, relay, relay ? (r ? &r->udp : &none) : &d->host.server_udp, buf + 1, len - 1,
				 COORD_MSG_RELAY, ev_now(d->loop));
}

static void on_pair_readable(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct roamd *d = io->data;
	(void)revents;
	/* A few batches a wakeup, so the link cannot starve TUN and UDP. */
	for (int i = 0; i < 4; i++) {
		int n = dgram_pair_recv(&d->host.relay_pair, on_pair_dgram, d);
		if (n < 0) {
			/* The agent is gone; privsep.c notices on its own channel. */
			ev_io_stop(loop, io);
			return;
		}
		if (n < DGRAM_PAIR_BATCH)
			return;
	}
}

int roamd_relay_pair_start(struct roamd *d, int fd)
{
	roamd_relay_pair_stop(d);
	int ret = dgram_pair_init(&d->host.relay_pair, fd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	ev_io_init(&d->host.relay_io, fd, EPOLLIN, on_pair_readable, d);
	if ((ret = ev_io_start(d->loop, &d->host.relay_io)) < 0)
		dgram_pair_close(&d->host.relay_pair);
	return ret;
}

void roamd_relay_pair_stop(struct roamd *d)
{
	if (d->host.relay_pair.fd >= 0)
		ev_io_stop(d->loop, &d->host.relay_io);
	dgram_pair_close(&d->host.relay_pair);
	/* Without an agent there is no TCP link: back to the UDP relay; and
	 * no liveness news: every relay alive again. */
	d->host.relay_link = MANAGED_RELAY_LINK_NONE;
	memset(d->host.relay_links, 0, sizeof(d->host.relay_links));
	memset(d->host.relay_dead, 0, sizeof(d->host.relay_dead));
}

void roamd_relay_set_link(struct roamd *d, const struct ps_relay_link *l)
{
	uint8_t relay = (uint8_t)l->relay;
	bool was_pair = roamd_relay_over_pair_of(d, relay), was_dead = d->host.relay_dead[relay];
	if (relay)
		d->host.relay_links[relay] = (uint8_t)l->link;
	else
		d->host.relay_link = (enum managed_relay_link)l->link;
	d->host.relay_dead[relay] = l->dead != 0;
	if (!d->host.paths)
		return;
	/* Dead: its paths go now (the next relay's path takes over), not
	 * after the path layer's own probes time out. Alive again: the view
	 * lists them again. */
	if (l->dead && !was_dead) {
		log_info("relay %u stopped answering: its paths dropped", relay);
		roamd_paths_relay_dead(d, relay);
	} else if (!l->dead && was_dead) {
		log_info("relay %u answers again", relay);
		roamd_paths_view_changed(d);
	}
	/* Relayed paths now leave another way (UDP <-> the pair): probe them
	 * at once rather than wait for their timers (a PING lost to the
	 * switch). Not for none <-> udp: the same socket either way. */
	if (was_pair != roamd_relay_over_pair_of(d, relay))
		roamd_paths_local_change(d);
}
