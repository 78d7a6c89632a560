/* links.h: the per-node link table, presence, delivery, input, sweep. */
#include "server/links/links.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord/udp.h"
#include "server/server.h"
#include "util/log.h"
#include "util/log_limit.h"

int64_t links_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

const char *links_kind_name(enum dir_link_kind kind)
{
	switch (kind) {
	case DIR_LINK_TLS:
		return "tls";
	case DIR_LINK_WS:
		return "websocket";
	case DIR_LINK_POLL:
		return "long-poll";
	default:
		return "?";
	}
}

/* Peers hear at once when a node becomes reachable or stops being so. */
static void links_presence_changed(struct server *s, struct dir_node *n)
{
	n->last_seen = server_wall_now();
	dir_node_touch(n);
	server_presence_store(s, n);
	server_push_peer(s, n);
	server_push_self(s, n);
}

void links_attach(struct server *s, struct relay_link *l, struct dir_node *n, enum dir_link_kind kind,
		  const struct relay_link_ops *ops)
{
	l->srv = s;
	l->kind = kind;
	l->ops = ops;
	l->last_rx = l->last_tx = links_now();
	struct relay_link *old = n->links[kind];
	l->node = n;
	n->links[kind] = l;
	dir_relay_touch(&s->dir, n->rec.id);
	l->next = s->links.all;
	if (l->next)
		l->next->prev = l;
	s->links.all = l;
	s->links.count[kind]++;
	s->links.st.opened[kind]++;
	log_limited(LOG_DEBUG, "node %u (%s): relay link %s open", n->rec.id, n->rec.name, links_kind_name(kind));
	server_event(s, EV_RELAY, n, NULL, "relay link %s open", links_kind_name(kind));
	/* After the new one is in place: the node never looks offline between. */
	if (old)
		links_kill(old, LINKS_CLOSE_REPLACED);
	if (!n->online) {
		n->online = true;
		links_presence_changed(s, n);
	}
}

void links_kill(struct relay_link *l, enum links_close_reason why)
{
	struct server *s = l->srv;
	struct dir_node *n = l->node;

	if (l->dead)
		return;
	l->dead = true;
	l->node = NULL;
	s->links.st.closed[why]++;
	s->links.count[l->kind]--;
	if (l->prev)
		l->prev->next = l->next;
	else
		s->links.all = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->prev = l->next = NULL;
	/* Freed from the loop, never from inside one of its own callbacks
	 * (a bufferevent may report an error from within a write). */
	l->next_dead = s->links.dead;
	s->links.dead = l;
	if (s->links.reap_ev)
		event_active(s->links.reap_ev, EV_TIMEOUT, 0);
	if (!n)
		return;
	if (n->links[l->kind] == l) {
		n->links[l->kind] = NULL;
		dir_relay_touch(&s->dir, n->rec.id);
	}
	log_limited(LOG_DEBUG, "node %u (%s): relay link %s closed", n->rec.id, n->rec.name, links_kind_name(l->kind));
	server_event(s, EV_RELAY, n, NULL, "relay link %s closed", links_kind_name(l->kind));
	/* The last way to reach it is gone and it has no binding: offline now,
	 * not at the end of a binding's lifetime. */
	if (n->online && !n->public_ep.len && !dir_node_linked(n)) {
		n->online = false;
		links_presence_changed(s, n);
	}
}

void links_close_node(struct server *s, struct dir_node *n)
{
	(void)s;
	for (int k = 0; k < DIR_LINK_KINDS; k++)
		if (n->links[k])
			links_kill(n->links[k], LINKS_CLOSE_NODE);
}

static void links_reap(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct relay_link *l;

	(void)fd;
	(void)what;
	while ((l = s->links.dead)) {
		s->links.dead = l->next_dead;
		l->ops->destroy(l);
	}
}

int server_links_send(void *ctx, struct dir_node *n, const uint8_t *buf, size_t len)
{
	struct server *s = ctx;

	for (int k = 0; k < DIR_LINK_KINDS; k++) {
		struct relay_link *l = n->links[k];
		if (!l || l->dead)
			continue;
		int rc = l->ops->send(l, buf, len);
		if (rc == 0) {
			l->last_tx = links_now();
			s->links.st.tx++;
		}
		return rc;
	}
	return -ENOTCONN;
}

void links_input(struct relay_link *l, uint8_t *d, size_t len)
{
	struct server *s = l->srv;
	uint8_t pong[sizeof(struct relay_msg_ping)], type;
	uint64_t echo;

	if (l->dead || !l->node)
		return;
	l->last_rx = links_now();
	s->links.st.rx++;
	switch (len ? d[0] : 0) { /* coord_msg_type knows only the UDP protocol's types */
	case COORD_MSG_RELAY:
		relay_forward(&s->relay, l->node, d, len, server_wall_now());
		return;
	case COORD_MSG_RELAY_PING:
		if (relay_ping_parse(d, len, &type, &echo) == 0 && type == COORD_MSG_RELAY_PING) {
			relay_ping_build(pong, COORD_MSG_RELAY_PONG, echo);
			if (l->ops->send(l, pong, sizeof(pong)) == 0) {
				l->last_tx = links_now();
				s->links.st.pongs++;
			}
			return;
		}
		break;
	case COORD_MSG_RELAY_KEEPALIVE:
		if (relay_keepalive_is(d, len)) {
			s->links.st.keepalives_rx++;
			return;
		}
		break;
	default:
		break;
	}
	s->links.st.drop_unknown++;
}

/* Keepalives after RELAY_LINK_KEEPALIVE_S without sending; a link that
 * received nothing for the idle timeout is dead. */
static void links_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	int64_t now = links_now();

	(void)fd;
	(void)what;
	for (struct relay_link *l = s->links.all, *next; l; l = next) {
		next = l->next;
		if (now - l->last_rx >= (int64_t)s->links.idle_s) {
			links_kill(l, LINKS_CLOSE_IDLE);
			continue;
		}
		if (now - l->last_tx >= RELAY_LINK_KEEPALIVE_S) {
			l->ops->keepalive(l);
			l->last_tx = now;
		}
	}
}

int links_open(struct server *s)
{
	struct timeval tick = { RELAY_LINK_TICK_S, 0 };
	int r;

	s->links.idle_s = RELAY_LINK_IDLE_TIMEOUT_S;
#ifdef ROAM_TEST_HOOKS
	const char *idle = getenv("ROAM_TEST_RELAY_LINK_IDLE_S");
	if (idle && atoi(idle) > 0)
		s->links.idle_s = (unsigned)atoi(idle);
#endif
	s->links.tick_ev = event_new(s->base, -1, EV_PERSIST, links_tick, s);
	s->links.reap_ev = event_new(s->base, -1, 0, links_reap, s);
	if (!s->links.tick_ev || !s->links.reap_ev || event_add(s->links.tick_ev, &tick) < 0)
		return -ENOMEM;
	if ((r = link_poll_init(s)) < 0)
		return r;
	return 0;
}

void links_close(struct server *s)
{
	const struct links_stats *st = &s->links.st;

	if (!s->links.tick_ev)
		return;
	s->links.shutting_down = true;
	while (s->links.all)
		links_kill(s->links.all, LINKS_CLOSE_NODE);
	links_reap(-1, 0, s);
	link_upgrade_linger_free(s);
	log_info("relay links: %llu tls, %llu websocket, %llu long-poll opened; closed %llu by the node, %llu idle, "
		 "%llu replaced, %llu protocol errors, %llu node gone; %llu datagrams in, %llu out, %llu pongs; "
		 "dropped %llu unknown, %llu duplicate poll records, %llu over poll queue caps, %llu malformed "
		 "batches, %llu unknown sessions; %llu too slow (all links and UDP)",
		 (unsigned long long)st->opened[DIR_LINK_TLS], (unsigned long long)st->opened[DIR_LINK_WS],
		 (unsigned long long)st->opened[DIR_LINK_POLL], (unsigned long long)st->closed[LINKS_CLOSE_PEER],
		 (unsigned long long)st->closed[LINKS_CLOSE_IDLE], (unsigned long long)st->closed[LINKS_CLOSE_REPLACED],
		 (unsigned long long)st->closed[LINKS_CLOSE_PROTOCOL], (unsigned long long)st->closed[LINKS_CLOSE_NODE],
		 (unsigned long long)st->rx, (unsigned long long)st->tx, (unsigned long long)st->pongs,
		 (unsigned long long)st->drop_unknown, (unsigned long long)st->poll_dup,
		 (unsigned long long)st->poll_queue_full, (unsigned long long)st->poll_bad_batch,
		 (unsigned long long)st->poll_no_session, (unsigned long long)s->stats.relay_drop_slow);
	link_poll_free(s);
	event_free(s->links.tick_ev);
	if (s->links.reap_ev)
		event_free(s->links.reap_ev);
	s->links.tick_ev = s->links.reap_ev = NULL;
}
