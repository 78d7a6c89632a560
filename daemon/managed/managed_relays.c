/* Several relays, the node's side (docs/control-protocol.md, "Several
 * relays"): the relay map and our ticket from the stream, K_nr for each
 * relay-only server (asked of the monitor, which holds node.key), each
 * relay's round trip and the home relay (lib/path/relay_choice.h), the
 * liveness of the relays in use (RELAY_PING every 2 s over the relay's
 * link, whatever kind: a silent one is dead and its paths go at once), and
 * what `roam status` shows of them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "coord/relay_link.h"
#include "coord/ticket.h"
#include "coord/udp.h"
#include "crypto/crypto.h"
#include "daemon/managed/managed.h"
#include "daemon/relaylink/ladder.h"
#include "path/relay_choice.h"
#include "util/log.h"

#define BIND_EVERY_S 10 /* a RELAY_BIND (and so a round trip) per relay this often */

static void send_binds(struct managed *m);
static void relays_round(struct managed *m);
static size_t own_rtts(const struct managed *m, uint32_t rtt[RELAY_CHOICE_MAX]);
static void relay_addr(struct managed *m, struct managed_relay *r, const struct sockaddr_any *was);
static void tell_addrs(struct managed *m);
static void relays_choose(struct managed *m);
static void live_run(struct managed *m);

static void on_live_timer(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	live_run(t->data);
}

static void on_links_timer(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	managed_relay_links_update(t->data);
}

static void on_bind_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	relays_round(m);
	send_binds(m);
	ev_timer_start(loop, t, ev_now(loop) + BIND_EVERY_S * EV_NSEC_PER_SEC);
}

void managed_relays_init(struct managed *m)
{
	memset(&m->relays, 0, sizeof(m->relays));
	relay_home_init(&m->relays.home);
	ev_timer_init(&m->relays.bind_timer, on_bind_timer, m);
	ev_timer_init(&m->relays.live_timer, on_live_timer, m);
	ev_timer_init(&m->relays.links_timer, on_links_timer, m);
}

void managed_relays_reset(struct managed *m)
{
	managed_relay_links_free(m);
	ev_timer_stop(m->loop, &m->relays.bind_timer);
	ev_timer_stop(m->loop, &m->relays.live_timer);
	ev_timer_stop(m->loop, &m->relays.links_timer);
	if (m->relays.count && m->host->relay_addrs)
		m->host->relay_addrs(m->host_ctx, NULL, NULL, 0);
	crypto_wipe(&m->relays, sizeof(m->relays));
	managed_relays_init(m);
}

/* Soon: a new ticket or key may admit us where we were not. */
static void binds_soon(struct managed *m)
{
	ev_timer_start(m->loop, &m->relays.bind_timer, ev_now(m->loop));
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A RELAY_BIND to r if we can: its address known, K_nr from the monitor,
 * a ticket not expired. */
static void send_bind(struct managed *m, struct managed_relay *r, uint64_t now, uint64_t wall)
{
	uint8_t msg[RELAY_BIND_LEN_MAX], nonce[8];
	if (!r->udp.len || !r->have_key || !m->relays.ticket_len || m->relays.ticket_expires <= wall / 1000000000u)
		return;
	r->bind_ts = wall > r->bind_ts ? wall : r->bind_ts + 1;
	crypto_random(nonce, sizeof(nonce));
	int len = relay_bind_build(msg, sizeof(msg), m->ms.node_id, r->bind_ts, nonce, m->relays.ticket,
				   m->relays.ticket_len, r->k_nr);
	if (len < 0)
		return;
	r->bind_sent = now;
	m->host->send_udp(m->host_ctx, &r->udp, msg, (size_t)len);
	managed_relay_link_bind_sent(m, r->info.id);
}

/* Its link's ladder lost a RELAY_BIND: one more now (ladder.h). */
void managed_relays_addrs_changed(struct managed *m)
{
	tell_addrs(m);
	binds_soon(m);
}

void managed_relays_rebind(struct managed *m, uint8_t id)
{
	struct managed_relay *r = managed_relays_get(m, id);
	if (r && id)
		send_bind(m, r, ev_now(m->loop), wall_ns());
}

/* A RELAY_BIND to every relay-only server we can. The ACK gives its round
 * trip; no ACK for a round: its round trip is unknown (0) until one comes. */
static void send_binds(struct managed *m)
{
	uint64_t now = ev_now(m->loop), wall = wall_ns();
	for (size_t i = 0; i < m->relays.count; i++) {
		struct managed_relay *r = &m->relays.r[i];
		if (r->info.id == 0)
			continue;
		/* The last one got no answer: silent (unless its RELAY_PINGs
		 * over a TCP link or while in use say more). */
		if (r->bind_sent && r->bind_sent + BIND_EVERY_S * EV_NSEC_PER_SEC <= now + EV_NSEC_PER_MSEC &&
		    !r->in_use && !ladder_is_tcp(managed_relay_link_of(m, r->info.id)))
			r->rtt_us = 0;
		send_bind(m, r, now, wall);
	}
}

bool managed_relays_udp_input(struct managed *m, const uint8_t *buf, size_t len, const struct sockaddr_any *from)
{
	struct managed_relay *r = NULL;
	uint8_t type;
	uint64_t echo;
	/* A RELAY_PONG from the server or a relay-only server (liveness). */
	if (len && buf[0] == COORD_MSG_RELAY_PONG) {
		if (relay_ping_parse(buf, len, &type, &echo) < 0 || type != COORD_MSG_RELAY_PONG)
			return true;
		for (size_t i = 0; i < m->relays.count; i++) {
			const struct managed_relay *x = &m->relays.r[i];
			const struct sockaddr_any *a = x->info.id ? &x->udp : &m->server_udp;
			if (a->len && sockaddr_any_equal(from, a))
				managed_relays_pong(m, x->info.id, echo);
		}
		return true;
	}
	for (size_t i = 0; i < m->relays.count && !r; i++)
		if (m->relays.r[i].info.id != 0 && m->relays.r[i].udp.len && sockaddr_any_equal(from, &m->relays.r[i].udp))
			r = &m->relays.r[i];
	if (!r)
		return false;
	struct sockaddr_any observed;
	uint64_t ts;
	if (coord_msg_type(buf, len) != COORD_MSG_BINDING_ACK || !r->have_key ||
	    coord_binding_ack_parse(buf, len, r->k_nr, m->ms.node_id, &ts, &observed) < 0 || ts != r->bind_ts ||
	    !r->bind_sent)
		return true; /* forged, stale, or not for us */
	uint64_t rtt = ev_now(m->loop) - r->bind_sent;
	bool first = !r->rtt_us;
	if (!r->in_use) /* in use: its RELAY_PINGs measure it */
		r->rtt_us = (uint32_t)(rtt / 1000) + 1;
	r->bind_sent = 0;
	managed_relay_link_bind_ack(m, r->info.id);
	if (first)
		relays_choose(m); /* a relay we can use now: tell peers (via the server) at once */
	return true;
}

/* The relay's UDP address: its host if it is an address; a name is
 * resolved off the loop (managed_names.c), the address it had meanwhile
 * (was: the same host and port in the map before) kept. */
static void relay_addr(struct managed *m, struct managed_relay *r, const struct sockaddr_any *was)
{
	char text[COORD_RELAY_HOST_MAX + 16];
	bool v6 = strchr(r->info.udp_host, ':') != NULL;
	snprintf(text, sizeof(text), "%s%s%s:%u", v6 ? "[" : "", r->info.udp_host, v6 ? "]" : "", r->info.udp_port);
	if (sockaddr_any_parse(text, &r->udp) == 0)
		return;
	memset(&r->udp, 0, sizeof(r->udp));
	if (was && was->len) {
		r->udp = *was;
		return; /* the refresh timer looks it up again */
	}
	if (r->info.id != 0 && r->info.udp_host[0])
		managed_names_relay(m, r);
}

static void tell_addrs(struct managed *m)
{
	uint8_t ids[COORD_RELAYS_MAX];
	struct sockaddr_any addrs[COORD_RELAYS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < m->relays.count; i++)
		if (m->relays.r[i].info.id != 0 && m->relays.r[i].udp.len) {
			ids[n] = m->relays.r[i].info.id;
			addrs[n++] = m->relays.r[i].udp;
		}
	if (m->host->relay_addrs)
		m->host->relay_addrs(m->host_ctx, ids, addrs, n);
}

static struct managed_relay *relay_by_id(struct managed *m, uint8_t id)
{
	for (size_t i = 0; i < m->relays.count; i++)
		if (m->relays.r[i].info.id == id)
			return &m->relays.r[i];
	return NULL;
}

int managed_relays_map(struct managed *m, const struct coord_relay_map *map)
{
	struct managed_relays old = m->relays;
	m->relays.count = 0;
	for (size_t i = 0; i < map->count; i++) {
		struct managed_relay *r = &m->relays.r[m->relays.count++];
		const struct sockaddr_any *was = NULL;
		memset(r, 0, sizeof(*r));
		r->info = map->relays[i];
		/* Same relay, same key: keep K_nr and the round trip; and its
		 * link and liveness if it is at the same URL. */
		for (size_t j = 0; j < old.count; j++)
			if (old.r[j].info.id == r->info.id && memcmp(old.r[j].info.key, r->info.key, COORD_KEY_LEN) == 0) {
				memcpy(r->k_nr, old.r[j].k_nr, sizeof(r->k_nr));
				r->have_key = old.r[j].have_key;
				r->rtt_us = old.r[j].rtt_us;
				r->live = old.r[j].live;
				r->in_use = old.r[j].in_use;
				if (strcmp(old.r[j].info.udp_host, r->info.udp_host) == 0 &&
				    old.r[j].info.udp_port == r->info.udp_port)
					was = &old.r[j].udp;
				if (strcmp(old.r[j].info.url, r->info.url) == 0 &&
				    memcmp(old.r[j].info.tls_pin, r->info.tls_pin, COORD_KEY_LEN) == 0) {
					r->link = old.r[j].link;
					r->wanted_at = old.r[j].wanted_at;
					old.r[j].link = NULL;
				}
			}
		relay_addr(m, r, was);
		/* Relay 0 is the control server: K, not K_nr. */
		if (r->info.id != 0 && !r->have_key && m->host->relay_key_request)
			m->host->relay_key_request(m->host_ctx, r->info.key);
	}
	for (size_t j = 0; j < old.count; j++)
		managed_relay_link_close(m, &old.r[j]); /* gone, moved or rekeyed */
	crypto_wipe(&old, sizeof(old));
	log_info("relay map: %zu relay(s)", m->relays.count);
	tell_addrs(m);
	binds_soon(m);
	managed_relay_links_update(m);
	return 0;
}

int managed_relays_ticket(struct managed *m, const uint8_t *t, size_t len, const struct ticket *parsed)
{
	if (len > sizeof(m->relays.ticket) || parsed->node_id != m->ms.node_id ||
	    memcmp(parsed->node_pub, m->public_key, COORD_KEY_LEN) != 0)
		return 0; /* not ours: relays would refuse it anyway */
	if (m->relays.ticket_len && parsed->serial < m->relays.ticket_serial)
		return 0;
	memcpy(m->relays.ticket, t, len);
	m->relays.ticket_len = len;
	m->relays.ticket_serial = parsed->serial;
	m->relays.ticket_expires = parsed->expires;
	binds_soon(m);
	managed_relay_links_update(m);
	log_debug("relay ticket: serial %llu, %u group(s)", (unsigned long long)parsed->serial, parsed->group_count);
	return 0;
}

void managed_relays_key(struct managed *m, const uint8_t relay_pub[COORD_KEY_LEN], const uint8_t k_nr[COORD_KEY_LEN],
			bool ok)
{
	for (size_t i = 0; i < m->relays.count; i++) {
		struct managed_relay *r = &m->relays.r[i];
		if (memcmp(r->info.key, relay_pub, COORD_KEY_LEN) != 0)
			continue;
		if (!ok) {
			log_warn("relay %u: its key is unusable (low order): not used", r->info.id);
			continue;
		}
		memcpy(r->k_nr, k_nr, COORD_KEY_LEN);
		r->have_key = true;
		binds_soon(m);
	}
	managed_relay_links_update(m);
}

void managed_relays_rtt(struct managed *m, uint8_t id, uint32_t rtt_us)
{
	struct managed_relay *r = relay_by_id(m, id);
	if (r)
		r->rtt_us = rtt_us;
}

/* Is our report worth sending again: a relay came or went, or a round
 * trip moved by more than a quarter (and 2 ms)? */
static bool report_changed(const struct coord_relay_rtts *a, const struct coord_relay_rtts *b)
{
	if (a->count != b->count)
		return true;
	for (size_t i = 0; i < a->count; i++) {
		uint32_t x = a->us[i], y = b->us[i];
		uint32_t d = x > y ? x - y : y - x;
		if (a->id[i] != b->id[i] || (d > 2000 && (uint64_t)d * 4 > (uint64_t)(x > y ? y : x)))
			return true;
	}
	return false;
}

/* One measurement round (the bind timer, every BIND_EVERY_S): the home
 * relay; peers' relays again when it or the set of relays we reach
 * changed; our report to the server when it changed. */
static void relays_round(struct managed *m)
{
	/* Relay 0 over UDP: a BINDING unanswered for 5 s is silence (over a
	 * TCP link, its RELAY_PINGs measure it: managed_relay_status). */
	if (m->st.relay_link <= MANAGED_RELAY_LINK_UDP && m->relays.binding_sent &&
	    ev_now(m->loop) - m->relays.binding_sent > 5 * EV_NSEC_PER_SEC && !managed_relays_in_use(m, 0))
		managed_relays_rtt(m, 0, 0);
	relays_choose(m);
}

/* Which relays some peer's paths go through (and our home): those get
 * RELAY_PINGs every 2 s, a link each, and their round trips from those. */
static void mark_peer(struct managed *m, const struct coord_peer *p)
{
	uint8_t out[MANAGED_PEER_RELAYS_MAX];
	size_t n = managed_relays_for_peer(m, &p->relay_rtt, out);
	for (size_t i = 0; i < n; i++) {
		struct managed_relay *r = managed_relays_get(m, out[i]);
		if (r)
			r->in_use = true;
	}
}

static void mark_in_use(struct managed *m)
{
	for (size_t i = 0; i < m->relays.count; i++)
		m->relays.r[i].in_use = (int)m->relays.r[i].info.id == m->relays.home.home;
	if (m->relays.count > 1)
		managed_peers_foreach(m, mark_peer);
}

/* After a round, or a relay died or came back: the home relay, peers'
 * relays again when it or the set of relays we reach changed, our report
 * to the server when it changed, the links, the liveness timer. */
static void relays_choose(struct managed *m)
{
	uint32_t rtt[RELAY_CHOICE_MAX];
	size_t n = own_rtts(m, rtt);
	int old_home = m->relays.home.home;
	relay_home_update(&m->relays.home, rtt, n);
	struct coord_relay_rtts now;
	managed_relays_report(m, &now);
	bool set_changed = now.count != m->relays.reported.count;
	for (size_t i = 0; !set_changed && i < now.count; i++)
		set_changed = now.id[i] != m->relays.reported.id[i];
	if (m->relays.home.home != old_home)
		log_info("home relay: %d", m->relays.home.home);
	if (m->relays.count > 1 && (set_changed || m->relays.home.home != old_home))
		managed_repath_all(m);
	if (report_changed(&now, &m->relays.reported) && m->st.state == MANAGED_CONNECTED) {
		m->relays.reported = now;
		managed_send_endpoints(m);
	}
	mark_in_use(m);
	/* Not here: this may run inside a link's own callback (a PONG, its
	 * closing), and the update may close that link. */
	ev_timer_start(m->loop, &m->relays.links_timer, ev_now(m->loop));
	managed_relays_status(m);
	if (m->relays.count > 1)
		ev_timer_start(m->loop, &m->relays.live_timer, ev_now(m->loop));
}

/* What status shows. */
void managed_relays_status(struct managed *m)
{
	int home = m->relays.home.home;
	m->st.relays_count = (uint8_t)m->relays.count;
	m->st.relay_ticket = m->relays.ticket_len != 0;
	for (size_t i = 0; i < m->relays.count; i++) {
		const struct managed_relay *r = &m->relays.r[i];
		struct managed_relay_status *s = &m->st.relays[i];
		s->id = r->info.id;
		memcpy(s->region, r->info.region, sizeof(s->region));
		s->rtt_us = r->rtt_us;
		s->home = home == (int)r->info.id;
		s->have_key = r->info.id == 0 || r->have_key;
		s->link = (uint8_t)managed_relay_link_of(m, r->info.id);
		s->flags = (uint8_t)((r->live.dead ? MANAGED_RELAY_DEAD : 0) | (r->in_use ? MANAGED_RELAY_IN_USE : 0));
	}
}

/* Our round trips by relay id (0: unknown or dead). */
static size_t own_rtts(const struct managed *m, uint32_t rtt[RELAY_CHOICE_MAX])
{
	size_t n = 0;
	memset(rtt, 0, RELAY_CHOICE_MAX * sizeof(rtt[0]));
	for (size_t i = 0; i < m->relays.count; i++) {
		const struct managed_relay *r = &m->relays.r[i];
		/* A relay-only server we reach neither over UDP nor a TCP link
		 * is no choice; nor is a dead relay. */
		if ((r->info.id != 0 && (!r->have_key || (!r->udp.len && !ladder_is_tcp(managed_relay_link_of(m, r->info.id))))) ||
		    r->live.dead)
			continue;
		rtt[r->info.id] = r->rtt_us;
		if ((size_t)r->info.id + 1 > n)
			n = (size_t)r->info.id + 1;
	}
	return n;
}

size_t managed_relays_for_peer(const struct managed *m, const struct coord_relay_rtts *peer,
			       uint8_t out[MANAGED_PEER_RELAYS_MAX])
{
	uint32_t mine[RELAY_CHOICE_MAX], theirs[RELAY_CHOICE_MAX] = { 0 };
	size_t n_mine = own_rtts(m, mine), n_theirs = 0;
	if (m->relays.count < 2)
		return 0; /* the control server alone: relay 0, as always */
	for (size_t i = 0; i < peer->count && i < COORD_RELAYS_MAX; i++) {
		theirs[peer->id[i]] = peer->us[i];
		if ((size_t)peer->id[i] + 1 > n_theirs)
			n_theirs = (size_t)peer->id[i] + 1;
	}
	/* Both sides compute the same meeting relay from the same reports; a
	 * peer that reports nothing (yet) gets our home, where it is bound
	 * too (every node binds to every relay). */
	int meeting = relay_meeting(mine, n_mine, theirs, n_theirs);
	if (meeting < 0)
		meeting = m->relays.home.home;
	int their_home = relay_best(theirs, n_theirs);
	if (their_home >= 0 && (size_t)their_home < n_mine && !mine[their_home] && their_home != 0)
		their_home = -1; /* not one we can reach */
	uint8_t c[RELAY_PAIR_CANDIDATES_MAX];
	size_t k = relay_pair_candidates(meeting, m->relays.home.home, their_home, c), count = 0;
	for (size_t i = 0; i < k; i++)
		out[count++] = c[i];
	/* The next best we reach, a standby to fail over to when the others
	 * are one relay (both homes there), then the control server. */
	for (size_t i = 0; i < count; i++)
		mine[out[i]] = 0;
	int next = relay_best(mine, n_mine);
	if (next >= 0 && count < MANAGED_PEER_RELAYS_MAX - 1)
		out[count++] = (uint8_t)next;
	for (size_t i = 0; i < count; i++)
		if (out[i] == 0)
			return count;
	out[count++] = 0;
	return count;
}

void managed_relays_report(const struct managed *m, struct coord_relay_rtts *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < m->relays.count && out->count < COORD_RELAYS_MAX; i++)
		if (m->relays.r[i].rtt_us) {
			out->id[out->count] = m->relays.r[i].info.id;
			out->us[out->count++] = m->relays.r[i].rtt_us;
		}
}

/* --- liveness: RELAY_PING to the relays in use --------------------------- */

struct managed_relay *managed_relays_get(struct managed *m, uint8_t id)
{
	return relay_by_id(m, id);
}

bool managed_relays_in_use(const struct managed *m, uint8_t id)
{
	for (size_t i = 0; i < m->relays.count; i++)
		if (m->relays.r[i].info.id == id)
			return m->relays.r[i].in_use;
	return false;
}

bool managed_relays_dead(const struct managed *m, uint8_t id)
{
	for (size_t i = 0; i < m->relays.count; i++)
		if (m->relays.r[i].info.id == id)
			return m->relays.r[i].live.dead;
	return false;
}

/* Over its TCP link if one carries; over UDP (the relay answers a node
 * bound there) while UDP is its link; else not now (a link still
 * climbing the ladder says nothing of the relay). */
static bool live_ping(struct managed *m, const struct managed_relay *r, uint64_t now)
{
	enum managed_relay_link link = managed_relay_link_of(m, r->info.id);
	const struct sockaddr_any *to = r->info.id ? &r->udp : &m->server_udp;
	uint8_t ping[sizeof(struct relay_msg_ping)];
	if (ladder_is_tcp(link))
		return managed_relay_link_ping(m, r->info.id, now) == 0;
	bool udp = link == MANAGED_RELAY_LINK_UDP || (r->info.id == 0 && !m->relay && m->st.udp == MANAGED_UDP_OK);
	if (!udp || !to->len)
		return false;
	relay_ping_build(ping, COORD_MSG_RELAY_PING, now);
	m->host->send_udp(m->host_ctx, to, ping, sizeof(ping));
	return true;
}

static void relay_died(struct managed *m, struct managed_relay *r, const char *why)
{
	log_info("relay %u: dead (%s): its paths go", r->info.id, why);
	r->rtt_us = 0;
	managed_relay_link_tell(m, r->info.id);
	relays_choose(m);
}

static void live_run(struct managed *m)
{
	uint64_t now = ev_now(m->loop), next = UINT64_MAX;
	if (m->st.state != MANAGED_CONNECTED || m->relays.count < 2)
		return;
	for (size_t i = 0; i < m->relays.count; i++) {
		struct managed_relay *r = &m->relays.r[i];
		if (!r->in_use && !r->live.dead) {
			relay_live_init(&r->live); /* watched again from scratch */
			continue;
		}
		if (relay_live_check(&r->live, now)) {
			char why[64];
			snprintf(why, sizeof(why), "no RELAY_PONG within %llu ms",
				 (unsigned long long)(relay_live_wait_ns(&r->live) / EV_NSEC_PER_MSEC));
			relay_died(m, r, why); /* may change in_use: the next run sees it */
		}
		if (relay_live_ping_due(&r->live, now)) {
			if (live_ping(m, r, now))
				relay_live_sent(&r->live, now, RELAY_LIVE_PING_NS);
			else
				r->live.next_ping = now + RELAY_LIVE_PING_NS;
		}
		uint64_t d = relay_live_deadline(&r->live);
		if (d < next)
			next = d;
	}
	if (next != UINT64_MAX)
		ev_timer_start(m->loop, &m->relays.live_timer, next > now ? next : now + EV_NSEC_PER_MSEC);
}

void managed_relays_pong(struct managed *m, uint8_t id, uint64_t echo)
{
	struct managed_relay *r = relay_by_id(m, id);
	uint64_t now = ev_now(m->loop);
	if (!r || echo > now || now - echo > (uint64_t)RELAY_LINK_IDLE_TIMEOUT_S * EV_NSEC_PER_SEC)
		return; /* not our clock's */
	/* The round trip we report for a relay in use (or reached over a TCP
	 * link, where no RELAY_BIND answers) comes from these. */
	bool first = !r->rtt_us;
	r->rtt_us = (uint32_t)((now - echo) / 1000) + 1;
	if (relay_live_pong(&r->live, echo, now)) {
		log_info("relay %u: answers again", id);
		managed_relay_link_tell(m, id);
		relays_choose(m);
	} else if (first && m->relays.count > 1) {
		relays_choose(m); /* a relay we can use now: tell peers (via the server) at once */
	}
}

void managed_relays_link_down(struct managed *m, uint8_t id)
{
	struct managed_relay *r = relay_by_id(m, id);
	if (!r || m->relays.count < 2 || !r->in_use || r->live.dead)
		return;
	r->live.dead = true;
	r->live.unanswered_at = ev_now(m->loop);
	relay_died(m, r, "its TCP link closed");
}
