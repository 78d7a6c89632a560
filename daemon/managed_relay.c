/* Managed mode's side of the relay link (daemon/relaylink/relaylink.h):
 * the ladder starts once the node is registered (it needs the server, its
 * key pin and our control key for Roam-Auth), hears of every BINDING_ACK,
 * restarts on address changes, and stops when the node is no member. The
 * link in use goes to the data plane (which then sends EP_RELAY datagrams
 * through the datagram pair) and to `roam status`. */
#include <errno.h>
#include <string.h>

#include "daemon/managed.h"
#include "daemon/relaylink/relaylink.h"
#include "util/log.h"

static int op_auth(void *ctx, const char *method, const char *target, char *out, size_t cap)
{
	return managed_auth_header(ctx, method, target, "", 0, out, cap);
}

static void op_deliver(void *ctx, const uint8_t *d, size_t len)
{
	struct managed *m = ctx;
	if (m->host->relay_deliver)
		m->host->relay_deliver(m->host_ctx, d, len);
}

static void op_changed(void *ctx, enum managed_relay_link link)
{
	struct managed *m = ctx;
	bool was_udp = m->st.relay_link == MANAGED_RELAY_LINK_UDP || m->st.relay_link == MANAGED_RELAY_LINK_NONE;
	m->st.relay_link = link;
	if (m->host->relay_link)
		m->host->relay_link(m->host_ctx, link);
	/* Off UDP: BINDINGs more often, to notice UDP coming back. */
	if (was_udp && ev_timer_pending(&m->binding_timer)) {
		uint64_t soon = ev_now(m->loop) + managed_relay_binding_interval_s(m) * EV_NSEC_PER_SEC;
		if (soon < ev_timer_deadline(&m->binding_timer))
			ev_timer_start(m->loop, &m->binding_timer, soon);
	}
}

static const struct relaylink_ops relay_ops = {
	.auth = op_auth,
	.deliver = op_deliver,
	.changed = op_changed,
};

int managed_relay_init(struct managed *m)
{
	m->relay_forced = relaylink_test_forced();
	managed_relays_init(m);
	int ret = relaylink_new(m->loop, &relay_ops, m, &m->relay);
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
	if (m->relay)
		relaylink_send(m->relay, d, len);
}

void managed_relay_flush(struct managed *m)
{
	if (m->relay)
		relaylink_flush(m->relay);
}

unsigned managed_relay_binding_interval_s(const struct managed *m)
{
	return m->relay ? relaylink_binding_interval_s(m->relay, COORD_BINDING_REFRESH_S) : COORD_BINDING_REFRESH_S;
}
