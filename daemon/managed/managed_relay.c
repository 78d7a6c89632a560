/* Managed mode's side of the relay links (daemon/relaylink/relaylink.h).
 * Relay 0 (the control server): the ladder starts once the node is
 * registered (it needs the server, its key pin and our control key for
 * Roam-Auth), hears of every BINDING_ACK, restarts on address changes,
 * and stops when the node is no member. Each relay-only server in use has
 * a link of its own (several relays): the same ladder (UDP = its
 * RELAY_BIND answered), Roam-Auth under K_nr plus our Roam-Ticket, its TLS
 * key pinned from the relay map, the node's proxy. Each link's kind goes
 * to the data plane (which then sends that relay's EP_RELAY datagrams
 * through the datagram pair, behind the relay's byte) and to `roam
 * status`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord/auth.h"
#include "crypto/crypto.h"
#include "daemon/managed/managed.h"
#include "daemon/relaylink/ladder.h"
#include "daemon/relaylink/link_plan.h"
#include "daemon/relaylink/relaylink.h"
#include "daemon/test_knob.h"
#include "util/log.h"

/* A relay-only server knows a node by its ticket (server/relayonly/). */
#define RELAY_TICKET_HEADER "Roam-Ticket"

static int op_auth(void *ctx, const char *method, const char *target, char *out, size_t cap)
{
	return managed_auth_header(ctx, method, target, "", 0, out, cap);
}

static void op_deliver(void *ctx, const uint8_t *d, size_t len)
{
	struct managed *m = ctx;
	if (m->host->relay_deliver)
		m->host->relay_deliver(m->host_ctx, 0, d, len);
}

static void op_changed(void *ctx, enum managed_relay_link link)
{
	struct managed *m = ctx;
	enum managed_relay_link was = m->st.relay_link;
	bool was_udp = was == MANAGED_RELAY_LINK_UDP || was == MANAGED_RELAY_LINK_NONE;
	m->st.relay_link = link;
	/* A TCP link lost with nothing else carrying: the relay is dead for
	 * us now (its process went: FIN or RST), not after a PING's wait. */
	if (ladder_is_tcp(was) && link == MANAGED_RELAY_LINK_NONE)
		managed_relays_link_down(m, 0);
	managed_relay_link_tell(m, 0);
	/* Off UDP: BINDINGs more often, to notice UDP coming back. */
	if (was_udp && ev_timer_pending(&m->binding_timer)) {
		uint64_t soon = ev_now(m->loop) + managed_relay_binding_interval_s(m) * EV_NSEC_PER_SEC;
		if (soon < ev_timer_deadline(&m->binding_timer))
			ev_timer_start(m->loop, &m->binding_timer, soon);
	}
}

static void op_pong(void *ctx, uint64_t echo)
{
	managed_relays_pong(ctx, 0, echo);
}

static void op_reprobe(void *ctx)
{
	managed_send_binding(ctx);
}

static const struct relaylink_ops relay_ops = {
	.auth = op_auth,
	.deliver = op_deliver,
	.changed = op_changed,
	.pong = op_pong,
	.reprobe = op_reprobe,
};

/* --- relay-only servers' links (several relays) ------------------------- */

struct managed_rlink {
	struct managed *m;
	uint8_t id;
	bool closing; /* relaylink_free's last changed(NONE) is no news */
	struct relaylink *rl;
	enum managed_relay_link link;
};

/* Roam-Auth with K_nr (the monitor derived it for RELAY_BIND: the agent
 * holds it already, so a link costs no round trip to the monitor; it is
 * bound by its label to relay links and proves nothing else). */
static int rl_auth(void *ctx, const char *method, const char *target, char *out, size_t cap)
{
	struct managed_rlink *l = ctx;
	const struct managed_relay *r = managed_relays_get(l->m, l->id);
	uint8_t nonce[COORD_AUTH_NONCE_LEN];
	size_t n = strlen(COORD_AUTH_HEADER ": ");
	if (!r || !r->have_key)
		return -ENOKEY;
	if (cap <= n)
		return -ENOSPC;
	crypto_random(nonce, sizeof(nonce));
	strcpy(out, COORD_AUTH_HEADER ": ");
	return coord_auth_build(out + n, cap - n, r->k_nr, l->m->public_key, method, target, (int64_t)time(NULL), nonce,
				"", 0);
}

static int rl_headers(void *ctx, char *out, size_t cap)
{
	struct managed_rlink *l = ctx;
	const struct managed_relays *rs = &l->m->relays;
	int n = snprintf(out, cap, "%s: ", RELAY_TICKET_HEADER);
	if (!rs->ticket_len)
		return -ENOKEY;
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return coord_b64_encode(out + n, cap - (size_t)n, rs->ticket, rs->ticket_len, 0) < 0 ? -ENOSPC : 0;
}

static void rl_deliver(void *ctx, const uint8_t *d, size_t len)
{
	struct managed_rlink *l = ctx;
	if (l->m->host->relay_deliver)
		l->m->host->relay_deliver(l->m->host_ctx, l->id, d, len);
}

static void rl_changed(void *ctx, enum managed_relay_link link)
{
	struct managed_rlink *l = ctx;
	enum managed_relay_link was = l->link;
	if (l->closing)
		return;
	l->link = link;
	log_info("relay %u: link %s", l->id, managed_relay_link_name(link));
	if (ladder_is_tcp(was) && link == MANAGED_RELAY_LINK_NONE)
		managed_relays_link_down(l->m, l->id);
	managed_relay_link_tell(l->m, l->id);
}

static void rl_pong(void *ctx, uint64_t echo)
{
	struct managed_rlink *l = ctx;
	managed_relays_pong(l->m, l->id, echo);
}

static void rl_reprobe(void *ctx)
{
	struct managed_rlink *l = ctx;
	managed_relays_rebind(l->m, l->id);
}

static const struct relaylink_ops rlink_ops = {
	.auth = rl_auth,
	.headers = rl_headers,
	.deliver = rl_deliver,
	.changed = rl_changed,
	.pong = rl_pong,
	.reprobe = rl_reprobe,
};

void managed_relay_link_close(struct managed *m, struct managed_relay *r)
{
	if (!r->link)
		return;
	log_info("relay %u: link closed", r->info.id);
	r->link->closing = true;
	relaylink_free(r->link->rl);
	free(r->link);
	r->link = NULL;
	managed_relay_link_tell(m, r->info.id);
}

static int rlink_open(struct managed *m, struct managed_relay *r)
{
	char pin[MANAGED_PIN_MAX] = "sha256//";
	struct managed_rlink *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->m = m;
	l->id = r->info.id;
	int ret = relaylink_new(m->loop, &rlink_ops, l, &l->rl);
	if (ret < 0) {
		free(l);
		return ret;
	}
	coord_b64_encode(pin + 8, sizeof(pin) - 8, r->info.tls_pin, sizeof(r->info.tls_pin), 0);
	r->link = l;
	/* Behind a TLS-intercepting proxy (found on the control server, with
	 * roam up --allow-tls-interception): the relay's TLS key cannot match
	 * its pin either; the relay proves itself inside with K_nr instead (the
	 * 101, the long-poll session's answer), as the control server does
	 * with K. */
	relaylink_set_server_auth(l->rl, m->intercepted ? r->k_nr : NULL);
	/* Allowed but not met on the control server: a proxy may intercept
	 * the relays only; the link finds out when the pin fails. */
	if (!m->intercepted && managed_active(m)->allow_tls_interception)
		relaylink_set_server_auth_fallback(l->rl, r->k_nr);
	if ((ret = relaylink_start(l->rl, r->info.url, pin, &m->ms.proxy, m->relay_forced)) < 0) {
		managed_relay_link_close(m, r);
		return ret;
	}
	relaylink_udp_blocked(l->rl, m->st.udp == MANAGED_UDP_BLOCKED || !r->udp.len);
	log_info("relay %u: link to %s", r->info.id, r->info.url);
	return 0;
}

/* May a link to r open: its key, a ticket, a URL. */
static bool rlink_possible(const struct managed *m, const struct managed_relay *r)
{
	return r->info.id != 0 && r->have_key && m->relays.ticket_len && r->info.url[0];
}

void managed_relay_links_update(struct managed *m)
{
	struct link_plan_relay p[COORD_RELAYS_MAX];
	enum link_plan_action act[COORD_RELAYS_MAX];
	size_t n = m->relays.count < COORD_RELAYS_MAX ? m->relays.count : COORD_RELAYS_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct managed_relay *r = &m->relays.r[i];
		p[i] = (struct link_plan_relay){ .possible = rlink_possible(m, r),
						 .in_use = r->in_use,
						 .has_link = r->link != NULL,
						 .wanted_at = r->wanted_at };
	}
	link_plan(p, n, ev_now(m->loop), act);
	for (size_t i = 0; i < n; i++) {
		struct managed_relay *r = &m->relays.r[i];
		r->wanted_at = p[i].wanted_at;
		if (act[i] == LINK_PLAN_CLOSE)
			managed_relay_link_close(m, r);
		else if (act[i] == LINK_PLAN_OPEN)
			rlink_open(m, r); /* failed: tried again at the next update */
	}
}

void managed_relay_links_free(struct managed *m)
{
	for (size_t i = 0; i < m->relays.count; i++)
		managed_relay_link_close(m, &m->relays.r[i]);
}

static struct relaylink *link_of(const struct managed *m, uint8_t id)
{
	if (id == 0)
		return m->relay;
	for (size_t i = 0; i < m->relays.count; i++)
		if (m->relays.r[i].info.id == id)
			return m->relays.r[i].link ? m->relays.r[i].link->rl : NULL;
	return NULL;
}

void managed_relay_link_bind_sent(struct managed *m, uint8_t id)
{
	struct relaylink *rl = link_of(m, id);
	if (rl && id)
		relaylink_udp_probe(rl);
}

void managed_relay_link_bind_ack(struct managed *m, uint8_t id)
{
	struct relaylink *rl = link_of(m, id);
	if (rl && id)
		relaylink_udp_ack(rl);
}

int managed_relay_link_ping(struct managed *m, uint8_t id, uint64_t now)
{
	struct relaylink *rl = link_of(m, id);
	return rl ? relaylink_ping(rl, now) : -ENOTCONN;
}

enum managed_relay_link managed_relay_link_of(const struct managed *m, uint8_t id)
{
	struct relaylink *rl = link_of(m, id);
	return rl ? relaylink_current(rl) : MANAGED_RELAY_LINK_NONE;
}

void managed_relay_link_tell(struct managed *m, uint8_t id)
{
	if (m->host->relay_link)
		m->host->relay_link(m->host_ctx, id, managed_relay_link_of(m, id), managed_relays_dead(m, id));
}

int managed_relay_init(struct managed *m)
{
	m->relay_forced = relaylink_test_forced();
	managed_relays_init(m);
	int ret = managed_names_init(m);
	if (ret < 0)
		return ret;
	ret = relaylink_new(m->loop, &relay_ops, m, &m->relay);
	if (ret < 0) {
		log_warn("relay links off: %s", strerror(-ret));
		m->relay = NULL;
	}
	return 0;
}

void managed_relay_start(struct managed *m)
{
	char pin[MANAGED_PIN_MAX];
	if (!m->relay)
		return;
	managed_pin(m, pin);
	/* Registering again (the stream came back) keeps a ladder that runs
	 * the same way; a new server or proxy starts it again. */
	relaylink_set_server_auth(m->relay, m->intercepted ? m->control_key : NULL);
	/* Relay-only links through an old proxy: closed, reopened by the
	 * next update through the new one. */
	for (size_t i = 0; i < m->relays.count; i++) {
		struct managed_relay *r = &m->relays.r[i];
		if (r->link && !relaylink_runs_with(r->link->rl, r->info.url, &m->ms.proxy)) {
			managed_relay_link_close(m, r);
			ev_timer_start(m->loop, &m->relays.links_timer, ev_now(m->loop));
		}
	}
	if (relaylink_runs_with(m->relay, m->ms.server_url, &m->ms.proxy))
		return;
	if (relaylink_start(m->relay, m->ms.server_url, pin[0] ? pin : NULL, &m->ms.proxy, m->relay_forced) < 0)
		log_warn("relay link: cannot start (server URL too long)");
	if (m->st.udp == MANAGED_UDP_OK && m->binding_ack_at)
		relaylink_udp_ack(m->relay);
}

/* Interception found (or no longer allowed): links opened from now on
 * prove the server inside; a ladder already running climbs again. */
void managed_relay_interception(struct managed *m)
{
	char pin[MANAGED_PIN_MAX];
	if (!m->relay)
		return;
	relaylink_set_server_auth(m->relay, m->intercepted ? m->control_key : NULL);
	/* Relay-only links: closed, reopened by the next update the new way. */
	for (size_t i = 0; i < m->relays.count; i++)
		if (m->relays.r[i].link) {
			managed_relay_link_close(m, &m->relays.r[i]);
			ev_timer_start(m->loop, &m->relays.links_timer, ev_now(m->loop));
		}
	if (relaylink_current(m->relay) <= MANAGED_RELAY_LINK_UDP)
		return;
	managed_pin(m, pin);
	relaylink_start(m->relay, m->ms.server_url, pin[0] ? pin : NULL, &m->ms.proxy, m->relay_forced);
}

void managed_relay_stop(struct managed *m)
{
	relaylink_stop(m->relay);
	managed_relays_reset(m);
}

void managed_relay_free(struct managed *m)
{
	relaylink_free(m->relay);
	m->relay = NULL;
	managed_relays_reset(m);
	managed_names_free(m);
}

void managed_relay_udp_ack(struct managed *m)
{
	if (m->relay)
		relaylink_udp_ack(m->relay);
}

void managed_relay_udp_probe(struct managed *m)
{
	if (m->relay)
		relaylink_udp_probe(m->relay);
}

/* A TCP link may be bound to the address we lost: climb again (a BINDING
 * went out already and may bring UDP back first). */
void managed_relay_address_changed(struct managed *m)
{
	char pin[MANAGED_PIN_MAX];
	managed_names_refresh(m); /* another network may see other addresses */
	/* Relay-only links on TCP: closed, reopened (UDP first) by the next
	 * update. */
	for (size_t i = 0; i < m->relays.count; i++) {
		struct managed_relay *r = &m->relays.r[i];
		if (r->link && relaylink_current(r->link->rl) > MANAGED_RELAY_LINK_UDP) {
			managed_relay_link_close(m, r);
			ev_timer_start(m->loop, &m->relays.links_timer, ev_now(m->loop));
		}
	}
	if (!m->relay || relaylink_current(m->relay) <= MANAGED_RELAY_LINK_UDP)
		return;
	managed_pin(m, pin);
	relaylink_start(m->relay, m->ms.server_url, pin[0] ? pin : NULL, &m->ms.proxy, m->relay_forced);
}

void managed_relay_status(struct managed *m)
{
	if (!m->relay)
		return;
	relaylink_udp_blocked(m->relay, m->st.udp == MANAGED_UDP_BLOCKED);
	m->st.relay_rtt_us = relaylink_rtt_us(m->relay);
	m->st.relay_short_polls = relaylink_short_polls(m->relay);
	/* Relay 0's round trip: the TCP link's while one carries (over UDP:
	 * BINDING -> BINDING_ACK, managed_udp.c). */
	if (relaylink_current(m->relay) > MANAGED_RELAY_LINK_UDP)
		managed_relays_rtt(m, 0, relaylink_rtt_us(m->relay));
	managed_relays_status(m);
}

void managed_relay_output(struct managed *m, const uint8_t *d, size_t len)
{
	struct relaylink *rl = len > 1 ? link_of(m, d[0]) : NULL;
	if (rl)
		relaylink_send(rl, d + 1, len - 1);
}

void managed_relay_flush(struct managed *m)
{
	if (m->relay)
		relaylink_flush(m->relay);
	for (size_t i = 0; i < m->relays.count; i++)
		if (m->relays.r[i].link)
			relaylink_flush(m->relays.r[i].link->rl);
}

/* ROAMD_TEST_KEEPALIVE_S (t_push_keepalive.sh): several keepalive timers
 * (KEEPs alone, then a BINDING) in seconds, not minutes. */
static unsigned keepalive_s(void)
{
	return test_knob_s("ROAMD_TEST_KEEPALIVE_S", COORD_BINDING_REFRESH_S, COORD_BINDING_REFRESH_S);
}

unsigned managed_relay_binding_interval_s(const struct managed *m)
{
	return m->relay ? relaylink_binding_interval_s(m->relay, keepalive_s()) : keepalive_s();
}
