/* Probes in (PING, PONG, CALLME from dataplane.c's demultiplexer) and
 * CALLME out. The order of checks is lib/coord/probe.h's: exact length and
 * sender key, then the rate limit, then the mac, then replay; nothing is
 * remembered from a message whose mac has not verified, and no address is
 * probed only because an unauthenticated datagram came from it. */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

#include "crypto/crypto.h"
#include "daemon/paths/birthday_roamd.h"
#include "daemon/paths/paths_internal.h"
#include "daemon/roamd.h"
#include "daemon/transport/transport.h"
#include "util/le.h"
#include "util/log.h"

/* Relayed probes have no address of their own: each source node gets a
 * rate-limit bucket keyed by a made-up address in the discard-only prefix
 * 100::/64 (RFC 6666), the node id in its /64. */
static void ratelimit_key(const struct endpoint *src, struct sockaddr_any *out)
{
	memset(out, 0, sizeof(*out));
	if (endpoint_to_sockaddr(src, out) == 0)
		return;
	uint32_t node = endpoint_relay_node(src);
	out->in6.sin6_family = AF_INET6;
	out->in6.sin6_addr.s6_addr[0] = 0x01;
	for (int i = 0; i < 4; i++)
		out->in6.sin6_addr.s6_addr[4 + i] = (uint8_t)(node >> (24 - 8 * i));
	out->len = sizeof(out->in6);
}

/* Is src, a direct address, one the server's view lists for the peer? */
static bool in_view(const struct paths_peer *pp, const struct endpoint *src)
{
	struct endpoint ep;
	endpoint_from_sockaddr(&ep, &pp->info.public_endpoint);
	if (pp->info.public_endpoint.len && endpoint_equal(&ep, src))
		return true;
	for (unsigned i = 0; i < pp->info.private_count && i < COORD_PRIVATE_MAX; i++) {
		endpoint_from_sockaddr(&ep, &pp->info.private_endpoints[i]);
		if (endpoint_equal(&ep, src))
			return true;
	}
	return false;
}

/* A probe on a path that never answered went out this long ago: the
 * peer's own probe on it says it may answer now, so ask again. */
#define REPROBE_AFTER_NS (200 * EV_NSEC_PER_MSEC)
/* A peer's CALLMEs are acted on at most this often (each may make us probe
 * 16 addresses it chose). */
#define CALLME_RX_INTERVAL_NS (1 * EV_NSEC_PER_SEC)

/* Probe ep at once: new, it is probed when added; dead, or probing without
 * an answer yet, it starts over (nothing is lost: it has no RTT). */
static void probe_now(struct paths_peer *pp, const struct endpoint *ep, uint8_t why, uint64_t now)
{
	const struct path *p = paths_find_endpoint(&pp->set, ep);
	uint8_t origin = why;
	uint32_t id;
	bool restart = p && (p->state == PATH_DEAD || (p->state == PATH_PROBING && !p->has_rtt &&
							now - p->probe_sent_ns >= REPROBE_AFTER_NS));
	if (restart) {
		unsigned slot = (unsigned)(p - pp->set.paths);
		origin |= pp->origin[slot];
		pp->origin[slot] = 0;
		path_remove(&pp->set, p->id, now);
		p = NULL;
	}
	if (!p && origin)
		paths_learn(pp, ep, origin, now); /* nothing vouches for it (why 0, not a path): never */
	else if (p && why)
		paths_candidate_add(&pp->set, pp->origin, ep, why, now, &id); /* one more reason to keep it */
}

/* What a peer sends unasked (PING, CALLME): verify_ret is its verify
 * function's; then the replay window (ts and txid are read only after a
 * successful verify). Each refusal is counted. */
static bool accepted(struct paths_peer *pp, int verify_ret, const uint64_t *ts, const uint8_t *txid)
{
	struct paths_drops *drops = &paths_of(pp->d)->drops;
	if (verify_ret < 0) {
		verify_ret == -EKEYREJECTED ? drops->bad_mac++ : drops->malformed++;
		return false;
	}
	if (coord_probe_window_check_and_add(&pp->window, *ts, txid, paths_wall_ns()) < 0) {
		drops->replayed++;
		return false;
	}
	return true;
}

static void ping_input(struct paths_peer *pp, const uint8_t *buf, size_t len, const struct endpoint *src,
		       uint64_t now)
{
	struct roamd *d = pp->d;
	struct roamd_paths *ps = paths_of(d);
	struct coord_probe_ping ping;
	struct sockaddr_any observed;
	uint8_t pong[sizeof(struct coord_msg_probe_pong)];
	if (!accepted(pp, coord_probe_ping_verify(buf, len, &pp->keys, &ping), &ping.timestamp_ns, ping.txid))
		return;
	const struct path *q = paths_find_endpoint(&pp->set, src);
	if (q && q->state == PATH_QUARANTINED) {
		/* Nothing goes out on a quarantined path: unanswered, the
		 * peer's side leaves it too (tamper.c). */
		ps->drops.quarantined++;
		return;
	}
	/* observed: where the PING came from; for a relayed PING that is the
	 * relay (the server's address), which tells the peer nothing new. */
	if (endpoint_to_sockaddr(src, &observed) < 0)
		observed = d->host.server_udp;
	if (!observed.len || coord_probe_pong_build(pong, &pp->keys, ping.txid, paths_send_ts(ps), &observed) < 0)
		return;
	roamd_transport_send(d, src, pong, sizeof(pong));
	if (endpoint_transport(src) == EP_UDP || endpoint_transport(src) == EP_UDP_AUX)
		paths_birthday_ping_seen(pp, src, now);
	const struct path *p = paths_find_endpoint(&pp->set, src);
	if (p && (p->state == PATH_PROBING || p->state == PATH_DEAD))
		probe_now(pp, src, 0, now); /* it hears us there, maybe: ask now, not at the next timer */
	else if (p)
		path_data_received(&pp->set, p->id, now);
	else if (endpoint_transport(src) == EP_UDP && in_view(pp, src))
		paths_learn(pp, src, PATHS_FROM_VIEW, now);
	else if (endpoint_transport(src) == EP_UDP)
		/* An authenticated, fresh PING from where we never heard the
		 * peer: its NAT gave it a new mapping (a restart, a rebinding).
		 * Probed like any candidate: it carries data only once our own
		 * PING there is answered. */
		paths_learn(pp, src, PATHS_FROM_OBSERVED, now);
}

static void pong_input(struct paths_peer *pp, const uint8_t *buf, size_t len, const struct endpoint *src,
		       uint64_t now)
{
	struct roamd_paths *ps = paths_of(pp->d);
	struct coord_probe_pong pong;
	uint64_t tag, sent_ns;
	int ret = coord_probe_pong_verify(buf, len, &pp->keys, &pong);
	if (ret < 0) {
		ret == -EKEYREJECTED ? ps->drops.bad_mac++ : ps->drops.malformed++;
		return;
	}
	if (coord_probe_pending_take(&pp->pending, pong.txid, now, &tag, &sent_ns) < 0) {
		if (paths_birthday_pong(pp, pong.txid, src, now))
			return; /* one of a hard-NAT attempt's PINGs */
		ps->drops.unanswered++;
		return;
	}
	bool direct = endpoint_transport(src) == EP_UDP || endpoint_transport(src) == EP_UDP_AUX;
	if (direct)
		pp->observed = pong.observed; /* our address as this peer sees it */
	if (tag & PATHS_TAG_PING) {
		paths_ping_answered(ps, pp, tag, sent_ns, src, now);
		return;
	}
	const struct path *p = path_get(&pp->set, (uint32_t)tag);
	struct endpoint ep;
	/* An answer counts for the path probed only if it came back on it:
	 * a path carries data only after its own probe succeeded. */
	if (!p || paths_path_endpoint(p, &ep) < 0 || !endpoint_equal(&ep, src)) {
		ps->drops.wrong_path++;
		if (direct)
			paths_learn(pp, src, PATHS_FROM_OBSERVED, now);
		return;
	}
	if (direct)
		paths_trace_observed(pp, p, &pong.observed);
	path_probe_answered(&pp->set, p->id, le64_get(pong.txid), now);
}

static void callme_input(struct paths_peer *pp, const uint8_t *buf, size_t len, const struct endpoint *src,
			 uint64_t now)
{
	struct roamd *d = pp->d;
	struct roamd_paths *ps = paths_of(d);
	struct coord_probe_callme cm;
	/* Only through the server, which checked that we share a group. */
	if (endpoint_transport(src) != EP_RELAY) {
		ps->drops.callme_direct++;
		return;
	}
	if (!accepted(pp, coord_probe_callme_verify(buf, len, &pp->keys, &cm), &cm.timestamp_ns, cm.txid))
		return;
	if (pp->callme_rx_ns && now - pp->callme_rx_ns < CALLME_RX_INTERVAL_NS) {
		ps->drops.ratelimited++;
		return;
	}
	pp->callme_rx_ns = now;
	log_debug("peer %s: call me maybe with %zu endpoints", pp->info.name, cm.count);
	probe_now(pp, src, 0, now); /* the relay it came by, if that never answered yet */
	for (size_t i = 0; i < cm.count; i++) {
		struct endpoint ep;
		endpoint_from_sockaddr(&ep, &cm.endpoints[i]);
		if (ep.len)
			probe_now(pp, &ep, PATHS_FROM_CALLME, now);
	}
}

void roamd_probe_input(struct roamd *d, const uint8_t *buf, size_t len, const struct endpoint *src, uint64_t now)
{
	struct roamd_paths *ps = paths_of(d);
	const uint8_t *sender;
	uint8_t type;
	struct sockaddr_any key;
	if (!ps)
		return;
	if (coord_probe_peek(buf, len, &type, &sender) < 0) {
		ps->drops.malformed++;
		return;
	}
	struct wg_peer *peer = wg_peer_lookup(d->wg, sender);
	struct paths_peer *pp = paths_peer_of(peer);
	if (!peer) {
		ps->drops.unknown++;
		return;
	}
	if (!pp) {
		ps->drops.not_managed++;
		return;
	}
	/* The server names the relayed sender: it must be the key's node. */
	if (endpoint_transport(src) == EP_RELAY && endpoint_relay_node(src) != pp->info.node_id) {
		ps->drops.wrong_path++;
		return;
	}
	ratelimit_key(src, &key);
	if (coord_ratelimit_allow(&ps->rl, &key, now) < 0) {
		ps->drops.ratelimited++;
		return;
	}
	switch (type) {
	case COORD_MSG_PROBE_PING:
		ping_input(pp, buf, len, src, now);
		break;
	case COORD_MSG_PROBE_PONG:
		pong_input(pp, buf, len, src, now);
		break;
	default:
		callme_input(pp, buf, len, src, now);
		break;
	}
	paths_touch(pp);
}

/* Our candidates for a CALLME: the public endpoint the server sees, each
 * interface's own NAT mapping (multihomed), then our local addresses at our
 * port (not loopback, not the tunnel, not IPv6 link-local). */
static size_t own_candidates(const struct roamd *d, struct sockaddr_any *out, size_t max)
{
	struct ifaddrs *ifs;
	size_t n = 0;
	if (d->host.status.public_endpoint.len)
		out[n++] = d->host.status.public_endpoint;
	n = paths_ifaces_own_candidates(d, out, n, max); /* each interface's own mapping */
	if (getifaddrs(&ifs) < 0)
		return n;
	for (struct ifaddrs *i = ifs; i && n < max; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK) ||
		    strcmp(i->ifa_name, d->ifname) == 0)
			continue;
		int family = i->ifa_addr->sa_family;
		socklen_t sl = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		if ((family != AF_INET && family != AF_INET6) || sockaddr_any_from(i->ifa_addr, sl, &out[n]) < 0)
			continue;
		if (family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&out[n].in6.sin6_addr))
			continue;
		if (family == AF_INET)
			out[n].in4.sin_port = htons(d->udp.port);
		else
			out[n].in6.sin6_port = htons(d->udp.port);
		n++;
	}
	freeifaddrs(ifs);
	return n;
}

void paths_callme_maybe(struct paths_peer *pp, uint64_t now)
{
	struct roamd *d = pp->d;
	struct sockaddr_any eps[COORD_CALLME_ENDPOINTS_MAX];
	uint8_t msg[COORD_CALLME_MAX], txid[COORD_PROBE_TXID_LEN];
	struct endpoint relay;
	size_t len;
	if (!pp->info.online || !pp->info.node_id || !d->host.server_udp.len)
		return;
	if (pp->callme_sent_ns && now < pp->callme_sent_ns + PATHS_CALLME_INTERVAL_NS) {
		pp->callme_due = true; /* sent when the interval is over (paths_touch arms it) */
		return;
	}
	pp->callme_due = false;
	size_t n = own_candidates(d, eps, COORD_CALLME_ENDPOINTS_MAX);
	crypto_random(txid, sizeof(txid));
	if (!n || coord_probe_callme_build(msg, &len, &pp->keys, txid, paths_send_ts(paths_of(d)), eps, n) < 0)
		return;
	pp->callme_sent_ns = now;
	endpoint_relay(&relay, 0, pp->info.node_id);
	roamd_transport_send(d, &relay, msg, len);
	/* Probe its candidates now too, so that both NATs open together. */
	for (unsigned i = 0; i < PATH_MAX_PER_PEER; i++) {
		const struct path *p = &pp->set.paths[i];
		struct endpoint ep;
		if (p->in_use && p->state == PATH_DEAD && paths_path_endpoint(p, &ep) == 0)
			probe_now(pp, &ep, 0, now);
	}
}
