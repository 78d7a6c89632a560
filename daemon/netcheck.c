/* The agent's netcheck (daemon/netcheck.h). */
#include "daemon/netcheck.h"

#include <string.h>
#include <time.h>

#include "coord/udp.h"
#include "crypto/crypto.h"
#include "daemon/managed/managed.h"
#include "util/log.h"

#define TICK_NS (100 * EV_NSEC_PER_MSEC)
/* Two BINDING refreshes and some slack. */
#define BINDING_ANSWER_FRESH_S (2 * COORD_BINDING_REFRESH_S + 10)

/* Round trips are timed with a fresh clock: an answer can arrive within
 * the same loop turn as its request (the agent reads every queued message
 * of the monitor in one go), where ev_now() has not moved. */
static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * EV_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void send_probe(struct managed *m, struct netcheck_probe *p)
{
	uint8_t msg[sizeof(struct coord_msg_netcheck)];
	if (coord_netcheck_build(msg, p->txid, &p->to) < 0) {
		p->active = false;
		return;
	}
	p->tries++;
	p->sent_at = mono_ns();
	m->host->send_udp(m->host_ctx, &p->to, msg, sizeof(msg));
}

static void probe_start(struct managed *m, enum netcheck_probe_kind k, const struct sockaddr_any *to)
{
	struct netcheck_probe *p = &m->nc.probes[k];
	memset(p, 0, sizeof(*p));
	if (!to->len)
		return;
	p->active = true;
	p->to = *to;
	crypto_random(p->txid, sizeof(p->txid));
	send_probe(m, p);
}

static bool all_done(const struct managed_netcheck *nc)
{
	for (int i = 0; i < NC_PROBES; i++)
		if (nc->probes[i].active && !nc->probes[i].answered)
			return false;
	return true;
}

static int8_t probe_said(const struct netcheck_probe *p)
{
	return !p->active ? -1 : p->answered ? 1 : 0;
}

static void log_result(const struct managed_netcheck_result *r)
{
	char pub[SOCKADDR_ANY_STRLEN] = "-";
	if (r->observed[0].len)
		sockaddr_any_format(&r->observed[0], pub, sizeof(pub));
	log_info("netcheck: UDP %s, public %s, mapping %s, hairpinning %s, IPv6 %s, server %.1f ms",
		 managed_udp_name(r->udp), pub, coord_mapping_name(r->mapping),
		 r->hairpin < 0 ? "unknown" : r->hairpin ? "yes" : "no", r->ipv6 < 0 ? "unknown" : r->ipv6 ? "yes" : "no",
		 r->server_rtt_us / 1000.0);
}

/* Both server addresses saw us from one address:port: endpoint-independent
 * mapping; from two: a new mapping per destination. */
static enum coord_mapping mapping_of(const struct netcheck_probe *s, const struct netcheck_probe *o)
{
	return sockaddr_any_equal(&s->ack.observed, &o->ack.observed) ? COORD_MAPPING_EIM : COORD_MAPPING_PER_DEST;
}

static void finish(struct managed *m)
{
	struct managed_netcheck *nc = &m->nc;
	const struct netcheck_probe *s = &nc->probes[NC_SERVER], *o = &nc->probes[NC_OTHER],
				    *f = &nc->probes[NC_OTHER_FAMILY];
	struct managed_netcheck_result r = m->st.netcheck;
	bool was_blocked = m->st.udp == MANAGED_UDP_BLOCKED;

	ev_timer_stop(m->loop, &nc->tick);
	nc->running = false;
	r.runs++;
	r.seq = nc->run_seq > r.seq ? nc->run_seq : r.seq;
	r.at = (int64_t)time(NULL);
	memset(r.answered, 0, sizeof(r.answered));
	memset(r.observed, 0, sizeof(r.observed));
	memset(&r.observed6, 0, sizeof(r.observed6));
	/* A BINDING answered lately, or a KEEP in its place, is proof enough
	 * that UDP works (an older server does not answer netchecks). */
	uint64_t bound_at = m->binding_ack_at > m->kept_at ? m->binding_ack_at : m->kept_at;
	bool binding_answered = bound_at && ev_now(m->loop) - bound_at < BINDING_ANSWER_FRESH_S * EV_NSEC_PER_SEC;
	r.udp = s->answered || binding_answered ? MANAGED_UDP_OK : s->active ? MANAGED_UDP_BLOCKED : MANAGED_UDP_UNKNOWN;
	/* 0 means no answer: a faster one is 1 us. */
	r.server_rtt_us = s->answered ? (uint32_t)(s->rtt_ns / 1000 > 0 ? s->rtt_ns / 1000 : 1) : 0;
	if (s->answered) {
		r.answered[0] = s->ack.server;
		r.observed[0] = s->ack.observed;
	}
	r.mapping = COORD_MAPPING_UNKNOWN;
	if (s->answered && o->answered) {
		r.answered[1] = o->ack.server;
		r.observed[1] = o->ack.observed;
		r.mapping = mapping_of(s, o);
	}
	r.hairpin = probe_said(&nc->probes[NC_HAIRPIN]);
	/* IPv6 works when an answer came over it: the first one if the server
	 * itself is reached over IPv6, else the other-family probe. */
	if (s->answered && s->ack.observed.sa.sa_family == AF_INET6) {
		r.ipv6 = 1;
		r.observed6 = s->ack.observed;
	} else {
		r.ipv6 = probe_said(f);
		if (f->answered && f->ack.observed.sa.sa_family == AF_INET6)
			r.observed6 = f->ack.observed;
	}
	m->st.netcheck = r;
	if (r.udp != MANAGED_UDP_UNKNOWN)
		m->st.udp = r.udp;
	if (m->st.udp == MANAGED_UDP_BLOCKED && !was_blocked)
		log_warn("UDP to the server's port gets no answer: tunnels cannot work until a TCP relay exists");
	log_result(&r);
	managed_mapping_changed(m, r.mapping);
	/* Asked while this one ran: its result must be measured after the ask. */
	if (nc->want_seq > nc->run_seq)
		managed_netcheck_start(m, 0);
}

static void on_tick(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	struct managed_netcheck *nc = &m->nc;
	uint64_t now = ev_now(loop);
	if (now >= nc->deadline || all_done(nc)) {
		finish(m);
		return;
	}
	for (int i = 0; i < NC_PROBES; i++) {
		struct netcheck_probe *p = &nc->probes[i];
		if (p->active && !p->answered && p->tries < NETCHECK_TRIES &&
		    mono_ns() >= p->sent_at + NETCHECK_RESEND_MS * EV_NSEC_PER_MSEC)
			send_probe(m, p);
	}
	ev_timer_start(loop, t, now + TICK_NS);
}

static void on_period(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	managed_netcheck_start(m, 0);
	ev_timer_start(loop, t, ev_now(loop) + NETCHECK_PERIOD_S * EV_NSEC_PER_SEC);
}

void managed_netcheck_init(struct managed *m)
{
	memset(&m->nc, 0, sizeof(m->nc));
	ev_timer_init(&m->nc.tick, on_tick, m);
	ev_timer_init(&m->nc.period, on_period, m);
	m->st.netcheck.hairpin = m->st.netcheck.ipv6 = m->st.netcheck.portmap_verified = -1;
}

void managed_netcheck_start(struct managed *m, uint32_t seq)
{
	struct managed_netcheck *nc = &m->nc;
	if (seq > nc->want_seq)
		nc->want_seq = seq;
	if (!ev_timer_pending(&nc->period))
		ev_timer_start(m->loop, &nc->period, ev_now(m->loop) + NETCHECK_PERIOD_S * EV_NSEC_PER_SEC);
	if (nc->running)
		return; /* finish() starts the next one for seq */
	nc->running = true;
	nc->run_seq = nc->want_seq;
	nc->deadline = ev_now(m->loop) + NETCHECK_DEADLINE_MS * EV_NSEC_PER_MSEC;
	memset(nc->probes, 0, sizeof(nc->probes));
	if (m->server_udp.len && (m->st.state == MANAGED_CONNECTED || m->st.state == MANAGED_CONNECTING))
		probe_start(m, NC_SERVER, &m->server_udp);
	if (!nc->probes[NC_SERVER].active) {
		finish(m);
		return;
	}
	ev_timer_start(m->loop, &nc->tick, ev_now(m->loop) + TICK_NS);
}

void managed_netcheck_stop(struct managed *m)
{
	ev_timer_stop(m->loop, &m->nc.tick);
	ev_timer_stop(m->loop, &m->nc.period);
	m->nc.running = false;
}

/* The first answer: who else to ask. */
static void on_server_answer(struct managed *m, const struct coord_netcheck_ack *a)
{
	const struct sockaddr_any *same = NULL, *other = NULL;
	for (int i = 0; i < 2; i++) {
		const struct sockaddr_any *o = &a->other[i];
		if (!o->len || sockaddr_any_equal(o, &m->server_udp))
			continue;
		if (o->sa.sa_family == m->server_udp.sa.sa_family && !same)
			same = o;
		else if (o->sa.sa_family != m->server_udp.sa.sa_family && !other)
			other = o;
	}
	if (same)
		probe_start(m, NC_OTHER, same);
	if (other)
		probe_start(m, NC_OTHER_FAMILY, other);
	/* Behind a NAT: does it take our own public endpoint back to us? */
	if (!managed_is_local_address(&a->observed))
		probe_start(m, NC_HAIRPIN, &a->observed);
}

void managed_netcheck_input(struct managed *m, const uint8_t *buf, size_t len, const struct sockaddr_any *from)
{
	struct managed_netcheck *nc = &m->nc;
	uint8_t txid[COORD_NETCHECK_TXID_LEN];
	struct coord_netcheck_ack ack;
	struct sockaddr_any claimed;
	if (!nc->running)
		return;
	if (coord_msg_type(buf, len) == COORD_MSG_NETCHECK) {
		struct netcheck_probe *p = &nc->probes[NC_HAIRPIN];
		if (p->active && coord_netcheck_parse(buf, len, txid, &claimed) == 0 &&
		    crypto_equal(txid, p->txid, sizeof(txid)))
			p->answered = true;
		return;
	}
	if (coord_netcheck_ack_parse(buf, len, &ack) < 0)
		return;
	for (int i = NC_SERVER; i < NC_HAIRPIN; i++) {
		struct netcheck_probe *p = &nc->probes[i];
		/* Only the address we asked answers its txid. */
		if (!p->active || p->answered || !crypto_equal(ack.txid, p->txid, sizeof(ack.txid)) ||
		    !sockaddr_any_equal(from, &p->to))
			continue;
		p->answered = true;
		p->ack = ack;
		p->rtt_ns = mono_ns() - p->sent_at;
		if (i == NC_SERVER)
			on_server_answer(m, &ack);
	}
	/* The mapping kind is known once both server addresses answered: tell
	 * the data plane and the server now, not at the end of the run (which
	 * waits up to its deadline for hairpin and IPv6 answers that may never
	 * come): hard-NAT traversal waits for it. */
	const struct netcheck_probe *s = &nc->probes[NC_SERVER], *o = &nc->probes[NC_OTHER];
	if (s->answered && o->answered) {
		enum coord_mapping kind = mapping_of(s, o);
		if (m->st.netcheck.mapping != kind) {
			m->st.netcheck.mapping = kind;
			managed_mapping_changed(m, kind);
		}
	}
	if (all_done(nc))
		finish(m);
}
