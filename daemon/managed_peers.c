/* Peers from the server's stream become WireGuard peers, each on the best
 * path the rules of docs/control-protocol.md ("Paths") allow. A peer's
 * AllowedIPs are exactly its two overlay addresses: a node outside our
 * groups is never added, so its packets find no peer at either end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/managed.h"
#include "daemon/roamd.h"
#include "util/log.h"

/* Keeps NAT mappings towards a peer open while we are behind a NAT. */
#define NAT_KEEPALIVE_S 25

const char *managed_path_name(enum managed_path path)
{
	static const char *const names[] = { "none", "direct", "direct-private", "peer-initiates", "relayed" };
	return names[path];
}

static bool same_ip(const struct sockaddr_any *a, const struct sockaddr_any *b)
{
	if (!a->len || !b->len || a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

static const struct sockaddr_any *private_endpoint(const struct coord_peer *p)
{
	/* IPv4 first: a shared NAT is an IPv4 thing. */
	for (size_t i = 0; i < p->private_count; i++)
		if (p->private_endpoints[i].sa.sa_family == AF_INET)
			return &p->private_endpoints[i];
	return p->private_count ? &p->private_endpoints[0] : NULL;
}

static enum managed_path choose_path(const struct managed *m, const struct coord_peer *p)
{
	bool we_public = m->public_endpoint.len && !m->nat;
	bool it_public = p->public_endpoint.len && !p->nat;
	if (!p->online || !p->public_endpoint.len)
		return PATH_NONE;
	if (we_public && it_public)
		return PATH_DIRECT;
	if (m->public_endpoint.len && same_ip(&m->public_endpoint, &p->public_endpoint) && private_endpoint(p))
		return PATH_DIRECT_PRIVATE;
	if (it_public)
		return PATH_DIRECT; /* we are behind NAT: we initiate */
	if (we_public)
		return PATH_PEER_INITIATES;
	return PATH_RELAY;
}

static void set_endpoint(struct wg_peer *peer, const struct sockaddr_any *a)
{
	struct wg_endpoint ep;
	memset(&ep, 0, sizeof(ep));
	memcpy(&ep.addr, &a->sa, a->len);
	wg_peer_set_endpoint(peer, &ep);
}

static void apply_path(struct managed *m, struct wg_peer *peer, struct managed_peer *mp)
{
	const struct coord_peer *p = &mp->info;
	enum managed_path path = choose_path(m, p);
	uint64_t now = ev_now(m->d->loop);
	if (path == PATH_NONE)
		return; /* offline: keep what we had, tunnels may still work */
	if (path != mp->path) {
		char name[80];
		snprintf(name, sizeof(name), "%s", p->name);
		log_info("peer %s: %s path", name, managed_path_name(path));
	}
	mp->path = path;
	switch (path) {
	case PATH_DIRECT:
		set_endpoint(peer, &p->public_endpoint);
		wg_peer_set_persistent_keepalive(peer, m->nat ? NAT_KEEPALIVE_S : 0, now);
		break;
	case PATH_DIRECT_PRIVATE:
		set_endpoint(peer, private_endpoint(p));
		wg_peer_set_persistent_keepalive(peer, 0, now);
		break;
	case PATH_PEER_INITIATES:
		wg_peer_set_persistent_keepalive(peer, 0, now);
		break;
	case PATH_RELAY:
		set_endpoint(peer, &m->server_udp);
		wg_peer_set_persistent_keepalive(peer, 0, now);
		break;
	case PATH_NONE:
		break;
	}
}

int managed_apply_peer(struct managed *m, const struct coord_peer *p)
{
	struct wg_peer *peer = wg_peer_lookup(m->d->wg, p->public_key);
	struct managed_peer *mp;
	int ret;
	if (!peer) {
		if (!(mp = calloc(1, sizeof(*mp))))
			return -ENOMEM;
		if ((ret = wg_peer_add(m->d->wg, p->public_key, &peer)) < 0) {
			free(mp);
			return ret;
		}
		peer->user = mp;
		if ((ret = wg_peer_allow(peer, AF_INET6, p->ipv6.addr, 128)) < 0 ||
		    (ret = wg_peer_allow(peer, AF_INET, p->ipv4.addr, 32)) < 0) {
			wg_peer_remove(peer);
			free(mp);
			return ret;
		}
	}
	mp = peer->user;
	mp->info = *p;
	apply_path(m, peer, mp);
	return 0;
}

void managed_remove_peer(struct managed *m, const uint8_t public_key[32])
{
	struct wg_peer *peer = wg_peer_lookup(m->d->wg, public_key);
	if (!peer)
		return;
	struct managed_peer *mp = peer->user;
	log_info("peer %s left our groups", mp ? mp->info.name : "?");
	wg_peer_remove(peer);
	free(mp);
}

void managed_remove_all_peers(struct managed *m)
{
	struct wg_peer *peer;
	while ((peer = wg_device_first_peer(m->d->wg))) {
		free(peer->user);
		wg_peer_remove(peer);
	}
}

void managed_repath_all(struct managed *m)
{
	for (struct wg_peer *p = wg_device_first_peer(m->d->wg); p; p = wg_device_next_peer(p))
		if (p->user)
			apply_path(m, p, p->user);
}
