/* The server's UDP socket (same port number as HTTPS): BINDING in,
 * BINDING_ACK out (the STUN-style observed endpoint), and the relay, which
 * forwards WireGuard messages it cannot read between bound nodes that share
 * a group. Everything else is dropped and counted. */
#include <errno.h>
#include <event2/event.h>
#include <string.h>

#include "coord/udp.h"
#include "server/server.h"
#include "util/log.h"

#define RELAY_SLOT_BYTES 65536

static void binding_input(struct server *s, const struct udp_slot *slot, uint64_t now_ns)
{
	uint8_t ack[sizeof(struct coord_msg_binding_ack)];
	struct dir_node *n;
	uint64_t ts;
	uint32_t id;
	bool changed;

	if (coord_binding_peek(slot->buf, slot->len, &id) < 0 || !(n = dir_node_get(&s->dir, id)) ||
	    !dir_node_active(n, (int64_t)(now_ns / 1000000000u)) ||
	    coord_binding_verify(slot->buf, slot->len, n->k, &ts) < 0)
		goto bad;
	/* Fresh and newer than the last one: a captured BINDING replayed from
	 * elsewhere cannot move the node's endpoint. */
	if (ts + COORD_BINDING_MAX_SKEW_NS < now_ns || ts > now_ns + COORD_BINDING_MAX_SKEW_NS ||
	    ts <= n->last_binding_ts)
		goto bad;
	n->last_binding_ts = ts;
	changed = !n->online || !n->public_ep.len || !sockaddr_any_equal(&n->public_ep, &slot->addr);
	if (changed && dir_set_public(&s->dir, n, &slot->addr) < 0)
		return;
	n->online = true;
	n->last_seen = (int64_t)(now_ns / 1000000000u);
	server_presence_refresh(s, n);
	if (coord_binding_ack_build(ack, n->k, id, ts, &slot->addr) == 0)
		udp_send(&s->udp, &slot->addr, ack, sizeof(ack));
	s->stats.bindings++;
	if (changed) {
		char text[SOCKADDR_ANY_STRLEN];
		sockaddr_any_format(&slot->addr, text, sizeof(text));
		log_info("node %u (%s) at %s%s", id, n->rec.name, text, n->nat ? " (behind NAT)" : "");
		dir_node_touch(n);
		server_push_peer(s, n);
		server_push_self(s, n);
	}
	return;
bad:
	s->stats.bindings_bad++;
}

static void relay_input(struct server *s, struct udp_slot *slot, int64_t now)
{
	struct dir_node *src, *dst;
	const uint8_t *payload;
	size_t payload_len;
	uint32_t dst_id;

	/* The sender is who its address says: only a node's current bound
	 * endpoint (proved by a BINDING) can use the relay. */
	if (coord_relay_parse(slot->buf, slot->len, &dst_id, &payload, &payload_len) < 0 ||
	    !(src = dir_node_by_endpoint(&s->dir, &slot->addr)) || !src->online || !dir_node_active(src, now) ||
	    !(dst = dir_node_get(&s->dir, dst_id)) || dst == src || !dst->online || !dst->public_ep.len ||
	    !dir_node_active(dst, now) || !dir_share_group(src, dst)) {
		s->stats.relay_dropped++;
		return;
	}
	coord_relay_header_write(slot->buf, src->rec.id);
	if (udp_send(&s->udp, &dst->public_ep, slot->buf, slot->len) == 0)
		s->stats.relayed++;
	else
		s->stats.relay_dropped++;
}

static void udp_readable(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	int n;

	(void)fd;
	(void)what;
	/* Bounded: a few batches per wakeup, then let HTTPS run too. */
	for (int round = 0; round < 8; round++) {
		uint64_t now_ns = server_wall_now_ns();
		if ((n = udp_recv_batch(&s->udp, s->batch)) <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct udp_slot *slot = &s->batch->slots[i];
			if (slot->truncated)
				continue;
			switch (coord_msg_type(slot->buf, slot->len)) {
			case COORD_MSG_BINDING:
				binding_input(s, slot, now_ns);
				break;
			case COORD_MSG_RELAY:
				relay_input(s, slot, (int64_t)(now_ns / 1000000000u));
				break;
			default:
				s->stats.udp_other++;
				break;
			}
		}
	}
}

int relay_open(struct server *s)
{
	int r;

	if ((r = udp_open(s->cfg.port, &s->udp)) < 0) {
		log_err("UDP port %u: %s", s->cfg.port, strerror(-r));
		return r;
	}
	if ((r = udp_batch_new(RELAY_SLOT_BYTES, &s->batch)) < 0)
		return r;
	s->udp_ev = event_new(s->base, s->udp.fd, EV_READ | EV_PERSIST, udp_readable, s);
	if (!s->udp_ev || event_add(s->udp_ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

void relay_close(struct server *s)
{
	if (s->udp_ev)
		event_free(s->udp_ev);
	s->udp_ev = NULL;
	udp_batch_free(s->batch);
	s->batch = NULL;
	udp_close(&s->udp);
}
