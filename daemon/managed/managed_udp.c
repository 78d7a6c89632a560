/* The UDP side of managed mode: BINDINGs, sent from the tunnels' own
 * socket (through the data plane) so that the server sees the very NAT
 * mapping the tunnels use, and their BINDING_ACKs, which tell us that
 * mapping. The relay itself is the data plane's (daemon/relay_path.c). */
#include <errno.h>
#include <ifaddrs.h>
#include <string.h>
#include <time.h>

#include "coord/udp.h"
#include "crypto/crypto.h"
#include "daemon/managed/managed.h"
#include "util/log.h"

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* cookie: NULL, or a CHALLENGE's to echo (the 56-byte form). */
static void send_binding(struct managed *m, const uint8_t *cookie)
{
	uint8_t msg[sizeof(struct coord_msg_binding_cookie)], nonce[COORD_BINDING_NONCE_LEN];
	size_t len = sizeof(struct coord_msg_binding);
	if (!m->ms.node_id || !m->server_udp.len ||
	    (m->st.state != MANAGED_CONNECTED && m->st.state != MANAGED_CONNECTING))
		return;
	crypto_random(nonce, sizeof(nonce));
	/* Strictly increasing: the server ignores a BINDING not newer than the last. */
	uint64_t ts = wall_ns();
	m->binding_ts = ts > m->binding_ts ? ts : m->binding_ts + 1;
	if (cookie) {
		coord_binding_cookie_build(msg, m->control_key, m->ms.node_id, m->binding_ts, nonce, cookie);
		len = sizeof(struct coord_msg_binding_cookie);
	} else {
		coord_binding_build(msg, m->control_key, m->ms.node_id, m->binding_ts, nonce);
	}
	m->relays.binding_sent = ev_now(m->loop);
	m->host->send_udp(m->host_ctx, &m->server_udp, msg, len);
	managed_relay_udp_probe(m); /* unanswered for 1 s while UDP carries: climb */
	managed_push_binding_sent(m);
}

void managed_send_binding(struct managed *m)
{
	send_binding(m, NULL);
}

/* The monitor saw the relay stop answering: our NAT may have given us a new
 * mapping (a restart, a flushed conntrack) that the server does not know,
 * so it relays to the old one. A BINDING now instead of at the next 25 s
 * timer; at most one a second, whatever the monitor asks. */
void managed_rebind(struct managed *m)
{
	uint64_t now = ev_now(m->loop);
	if (m->last_rebind_ns && now - m->last_rebind_ns < EV_NSEC_PER_SEC)
		return;
	m->last_rebind_ns = now;
	send_binding(m, NULL);
}

/* Our address:port is still bound to another node at the server (a NAT
 * handed us its old mapping): prove we receive here. Only a challenge that
 * answers our latest BINDING counts, so each BINDING gets one answer. */
static void on_challenge(struct managed *m, const uint8_t *buf, size_t len)
{
	uint8_t cookie[COORD_COOKIE_LEN];
	uint64_t ts;
	if (coord_challenge_parse(buf, len, m->control_key, m->ms.node_id, &ts, cookie) < 0 || ts != m->binding_ts)
		return;
	log_debug("the server asks us to prove our endpoint: answering");
	send_binding(m, cookie);
}

/* Is addr one of this host's own addresses? Then no NAT stands between us
 * and the server. */
bool managed_is_local_address(const struct sockaddr_any *addr)
{
	struct ifaddrs *ifs, *i;
	bool found = false;
	if (getifaddrs(&ifs) < 0)
		return false;
	for (i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != addr->sa.sa_family)
			continue;
		if (addr->sa.sa_family == AF_INET)
			found = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr == addr->in4.sin_addr.s_addr;
		else
			found = memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, &addr->in6.sin6_addr,
				       16) == 0;
	}
	freeifaddrs(ifs);
	return found;
}

void managed_on_binding_ack(struct managed *m, const uint8_t *buf, size_t len)
{
	struct sockaddr_any observed;
	uint64_t ts;
	if (coord_binding_ack_parse(buf, len, m->control_key, m->ms.node_id, &ts, &observed) < 0 ||
	    ts != m->binding_ts)
		return; /* forged, stale or not ours */
	m->st.udp = MANAGED_UDP_OK;
	m->binding_ack_at = ev_now(m->loop);
	/* Relay 0's round trip over UDP (several relays: the home relay). */
	if (m->relays.binding_sent)
		managed_relays_rtt(m, 0, (uint32_t)((m->binding_ack_at - m->relays.binding_sent) / 1000) + 1);
	m->relays.binding_sent = 0;
	managed_relay_udp_ack(m);
	managed_push_binding_ack(m); /* the server bound this endpoint: the push channel may use it */
	enum managed_nat nat = managed_is_local_address(&observed) ? MANAGED_NAT_PUBLIC : MANAGED_NAT_BEHIND;
	if (sockaddr_any_equal(&observed, &m->st.public_endpoint) && nat == m->st.nat)
		return;
	char text[SOCKADDR_ANY_STRLEN];
	sockaddr_any_format(&observed, text, sizeof(text));
	log_info("the server sees us at %s (%s)", text, managed_nat_name(nat));
	m->st.public_endpoint = observed;
	m->st.nat = nat;
	managed_repath_all(m);
}

void managed_udp_input(struct managed *m, const uint8_t *buf, size_t len, const struct sockaddr_any *from)
{
	uint8_t type = coord_msg_type(buf, len);
	if (m->st.state == MANAGED_NOT_JOINED)
		return;
	/* The server's other addresses, or our own hairpinned request: the
	 * netcheck matches each answer to the address it asked. */
	if (type == COORD_MSG_NETCHECK || type == COORD_MSG_NETCHECK_ACK) {
		managed_netcheck_input(m, buf, len, from);
		return;
	}
	if (managed_relays_udp_input(m, buf, len, from))
		return;
	/* Only the server speaks these to us. */
	if (!sockaddr_any_equal(from, &m->server_udp))
		return;
	if (type == COORD_MSG_BINDING_ACK)
		managed_on_binding_ack(m, buf, len);
	else if (type == COORD_MSG_CHALLENGE)
		on_challenge(m, buf, len);
	else if (type == COORD_MSG_PUSH_DATA)
		managed_push_input(m, buf, len);
}
