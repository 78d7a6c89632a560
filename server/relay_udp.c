/* The server's UDP socket (same port number as HTTPS), wired to the
 * protocol in relay.c: datagrams in, sends and presence changes out to the
 * socket, the presence timers and the streams. */
#include <errno.h>
#include <event2/event.h>
#include <string.h>

#include "coord/udp.h"
#include "server/relay.h"
#include "server/relay_thread.h"
#include "server/server.h"
#include "util/log.h"

#define RELAY_SLOT_BYTES 65536

/* Inside a receive batch this queues (udp_sendq): the datagrams forwarded
 * from one batch leave together with sendmmsg, runs for one destination as
 * UDP GSO messages; elsewhere (a relay link's input) it sends at once. */
static int relay_send(void *ctx, const struct sockaddr_any *to, const uint8_t *buf, size_t len)
{
	struct server *s = ctx;

	return udp_sendq_send(&s->udp, &s->relay_tx, to, buf, len);
}

static void relay_bound(void *ctx, struct dir_node *n, bool moved)
{
	struct server *s = ctx;
	char text[SOCKADDR_ANY_STRLEN];

	server_presence_refresh(s, n);
	if (!moved)
		return;
	sockaddr_any_format(&n->public_ep, text, sizeof(text));
	/* Named as the node names it (roam status): until its own addresses
	 * arrive the server cannot tell a NAT from none. */
	log_info("node %u (%s) at %s (%s)", n->rec.id, n->rec.name, text,
		 !n->private_count ? "nat unknown until its addresses arrive" : n->nat ? "behind-nat" : "public");
	server_event(s, EV_ENDPOINT, n, NULL, "%s", text);
	dir_node_touch(n);
	server_push_peer(s, n);
	server_push_self(s, n);
}

static void relay_evicted(void *ctx, struct dir_node *other)
{
	struct server *s = ctx;

	log_info("node %u (%s) lost its endpoint to a node that proved it receives there", other->rec.id,
		 other->rec.name);
	stream_push_close_node(other); /* its endpoint is another's now */
	server_push_peer(s, other);
	server_push_self(s, other);
}

/* relay_forward counted these as relayed when they were queued; the socket
 * refused them at the flush (buffer full). A dropped BINDING_ACK or
 * CHALLENGE, queued alike, is counted here too: rare, and retried. */
static void relay_udp_dropped(struct server_stats *st, uint64_t n)
{
	uint64_t relayed = n < st->relayed ? n : st->relayed;

	st->relayed -= relayed;
	st->relay_dropped += n;
	st->relay_drop_send += n;
}

void relay_udp_datagram(struct server *s, uint8_t *buf, size_t len, const struct sockaddr_any *from,
			uint64_t now_ns)
{
	if (coord_msg_type(buf, len) == COORD_MSG_NETCHECK)
		server_netcheck_input_now(s, buf, len, from);
	else
		relay_input(&s->relay, buf, len, from, now_ns);
}

void relay_udp_flush(struct server *s)
{
	int dropped;

	if ((dropped = udp_sendq_uncork(&s->udp, &s->relay_tx)) > 0)
		relay_udp_dropped(&s->stats, (uint64_t)dropped);
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
		udp_sendq_cork(&s->relay_tx);
		for (int i = 0; i < n; i++) {
			struct udp_slot *slot = &s->batch->slots[i];
			size_t seg = slot->segment_size ? slot->segment_size : slot->len;
			if (slot->truncated)
				continue;
			if (!seg) { /* empty: counted as not ours, as ever */
				relay_udp_datagram(s, slot->buf, 0, &slot->addr, now_ns);
				continue;
			}
			/* UDP GRO: one sender's equal datagrams arrive as one. */
			for (size_t off = 0; off < slot->len; off += seg)
				relay_udp_datagram(s, slot->buf + off, slot->len - off < seg ? slot->len - off : seg, &slot->addr,
					     now_ns);
		}
		relay_udp_flush(s);
		/* A short batch emptied the socket: no recvmmsg just to hear EAGAIN. */
		if (n < UDP_BATCH_MAX)
			break;
	}
}

int relay_open(struct server *s)
{
	static const struct relay_ops ops = { relay_send, relay_bound, relay_evicted, server_links_send, push_srv_ack };
	int r;

	relay_init(&s->relay, &s->dir, &s->stats, &ops, s);
	if ((r = udp_open(s->cfg.port, &s->udp)) < 0) {
		log_err("UDP port %u: %s", s->cfg.port, strerror(-r));
		return r;
	}
	/* Slots of RELAY_SLOT_BYTES hold a whole GRO batch; without GRO (old
	 * kernel) datagrams come one by one, as before. */
	udp_enable_gro(&s->udp);
	if ((r = udp_batch_new(RELAY_SLOT_BYTES, &s->batch)) < 0 || (r = udp_sendq_init(&s->relay_tx)) < 0 ||
	    (r = server_netcheck_open(s)) < 0)
		return r;
	/* Forwarding on its own thread (relay_thread.c); if it cannot start,
	 * on the main loop as before. */
	if ((r = relay_thread_start(s)) == 0)
		return 0;
	if (r != -ENOTSUP)
		log_warn("relay thread: %s; relaying on the main loop", strerror(-r));
	s->udp_ev = event_new(s->base, s->udp.fd, EV_READ | EV_PERSIST, udp_readable, s);
	if (!s->udp_ev || event_priority_set(s->udp_ev, SERVER_PRIO_UDP) < 0 || event_add(s->udp_ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

void relay_close(struct server *s)
{
	const struct server_stats *st = &s->stats;

	relay_thread_stop(s); /* folds its counters first */
	if (s->udp.fd >= 0)
		log_info("relay: %llu forwarded (%llu path probes); dropped %llu malformed, %llu not WireGuard, %llu bad size, %llu from "
			 "no bound node, %llu to no reachable peer, %llu send failed; %llu endpoint challenges, "
			 "%llu takeovers",
			 (unsigned long long)st->relayed, (unsigned long long)st->relayed_probes,
			 (unsigned long long)st->relay_drop_malformed,
			 (unsigned long long)st->relay_drop_not_wg, (unsigned long long)st->relay_drop_bad_size,
			 (unsigned long long)st->relay_drop_sender, (unsigned long long)st->relay_drop_dest,
			 (unsigned long long)st->relay_drop_send, (unsigned long long)st->challenges,
			 (unsigned long long)st->takeovers);
	if (s->udp_ev)
		event_free(s->udp_ev);
	s->udp_ev = NULL;
	udp_batch_free(s->batch);
	s->batch = NULL;
	udp_sendq_destroy(&s->relay_tx);
	udp_close(&s->udp);
	server_netcheck_close(s);
	relay_wipe(&s->relay);
}
