/* Managed mode's requests, applied to the data plane (the privileged side
 * of daemon/privsep.h): overlay addresses and the routes that keep overlay
 * traffic from ever leaving in the clear, peers in the engine, control
 * datagrams on the tunnels' socket, the node's state on disk. Everything
 * here comes from the unprivileged agent and has been checked by
 * privsep_msg_check(); this file decides what it may change. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/udp.h"
#include "crypto/crypto.h"
#include "daemon/files/file_service.h"
#include "daemon/paths/paths.h"
#include "daemon/privsep.h"
#include "daemon/roamd.h"
#include "util/log.h"

/* Behind the device routes (metric 0..1024 in practice): used only while
 * they are gone, i.e. while roam0 is down or being reconfigured. */
#define OVERLAY_FALLBACK_METRIC 0x7fffffff


/* One family's overlay address: each independently, so a host with IPv6
 * disabled still gets a working IPv4 overlay (and says so). */
static void set_family(struct roamd *d, int i, const struct ip_prefix *addr, const struct ip_prefix *net)
{
	struct roamd_overlay_addr *a = &d->host.addr[i];
	char text[IP_PREFIX_STRLEN];
	struct ip_prefix shown = *addr;
	shown.cidr = net->cidr;
	ip_prefix_format(&shown, text, sizeof(text));
	a->wanted = true;
	a->addr = *addr;
	a->network = *net;
	/* The unreachable fallback first: there is never a moment when the
	 * overlay prefix has no route of ours. */
	int ret = netlink_route_unreachable_add(d->nl, net->family, net->addr, net->cidr, OVERLAY_FALLBACK_METRIC);
	a->fallback = ret == 0;
	if (ret < 0 && !(net->family == AF_INET6 && (ret == -EACCES || ret == -EAFNOSUPPORT)))
		log_warn("cannot add the fallback route for %s: %s", text, strerror(-ret));
	ret = netlink_addr_add(d->nl, d->ifname, addr->family, addr->addr, net->cidr);
	if (ret < 0 && addr->family == AF_INET6 && (ret == -EACCES || ret == -EPERM || ret == -EAFNOSUPPORT)) {
		/* disable_ipv6=1 on the device: the kernel refuses IPv6 there. */
		a->err = -EAFNOSUPPORT;
		log_warn("IPv6 is disabled on this host: running the overlay over IPv4 only (%s not set)", text);
		return;
	}
	a->err = ret;
	if (ret < 0)
		log_err("cannot set overlay address %s on %s: %s", text, d->ifname, strerror(-ret));
	else
		log_info("overlay address %s on %s", text, d->ifname);
}

/* An overlay network is what roam-server hands out: a ULA (fc00::/7) of
 * /16 or longer, and IPv4 inside 100.64.0.0/10 (RFC 6598); the address in
 * it. Anything else (a /1 that would pull half the internet into roam0) is
 * refused, whoever asks. */
bool roamd_overlay_ok(const struct ip_prefix *addr, const struct ip_prefix *net)
{
	struct ip_prefix a = *addr, n = *net, limit;
	if (addr->family != net->family)
		return false;
	if (net->family == AF_INET6)
		limit = (struct ip_prefix){ .family = AF_INET6, .cidr = 7, .addr = { 0xfc } };
	else
		limit = (struct ip_prefix){ .family = AF_INET, .cidr = 10, .addr = { 100, 64 } };
	if (n.cidr < limit.cidr + (net->family == AF_INET6 ? 9 : 0) || n.cidr > (net->family == AF_INET ? 30 : 126))
		return false;
	/* net inside limit, addr inside net */
	n.cidr = limit.cidr;
	ip_prefix_mask(&n);
	if (!ip_prefix_equal(&n, &limit))
		return false;
	a.cidr = net->cidr;
	ip_prefix_mask(&a);
	n = *net;
	ip_prefix_mask(&n);
	return ip_prefix_equal(&a, &n);
}

void roamd_host_set_addresses(struct roamd *d, const struct coord_node *self)
{
	if (!roamd_overlay_ok(&self->ipv6, &self->network6) || !roamd_overlay_ok(&self->ipv4, &self->network4)) {
		log_err("refusing overlay addresses outside fc00::/7 and 100.64.0.0/10 (from the agent)");
		return;
	}
	set_family(d, 0, &self->ipv6, &self->network6);
	set_family(d, 1, &self->ipv4, &self->network4);
	roamd_files_view_changed(d);
	if (d->host.addr[0].err < 0 && d->host.addr[1].err < 0)
		log_err("no overlay address could be configured on %s: the overlay does not work on this host",
			d->ifname);
}

static void remove_fallback_routes(struct roamd *d)
{
	for (int i = 0; i < 2; i++) {
		struct roamd_overlay_addr *a = &d->host.addr[i];
		if (a->fallback)
			netlink_route_unreachable_del(d->nl, a->network.family, a->network.addr, a->network.cidr,
						      OVERLAY_FALLBACK_METRIC);
		a->fallback = false;
	}
}

/* peer->user of a managed peer is its struct paths_peer, whose first
 * member is the struct managed_peer_info the agent sent. */
void roamd_host_peer_set(struct roamd *d, const struct managed_peer_info *info)
{
	struct wg_peer *peer = wg_peer_lookup(d->wg, info->public_key);
	struct managed_peer_info *mp;
	int ret;
	if (memcmp(info->public_key, wg_device_public_key(d->wg), COORD_KEY_LEN) == 0)
		return;
	if (!peer) {
		if ((ret = wg_peer_add(d->wg, info->public_key, &peer)) < 0) {
			log_warn("cannot add peer %s: %s", info->name, strerror(-ret));
			return;
		}
		if (!(peer->user = roamd_paths_peer_new(d, peer))) {
			wg_peer_remove(peer);
			log_warn("cannot add peer %s: no memory, or a key unusable for probes", info->name);
			return;
		}
		if ((ret = wg_peer_allow(peer, AF_INET6, info->ipv6.addr, 128)) < 0 ||
		    (ret = wg_peer_allow(peer, AF_INET, info->ipv4.addr, 32)) < 0) {
			roamd_paths_peer_free(d, peer);
			wg_peer_remove(peer);
			log_warn("cannot route peer %s: %s", info->name, strerror(-ret));
			return;
		}
	} else if (!peer->user) {
		return; /* not a managed peer: nothing the agent may change */
	}
	mp = peer->user;
	/* A node's overlay addresses never change; a peer_set that says
	 * otherwise is not believed (its allowed IPs stay as they are). */
	struct ip_prefix v6 = mp->ipv6, v4 = mp->ipv4;
	bool known = mp->name[0] != '\0';
	/* Asked for on demand: that counts as use (the idle sweep's clock). */
	if (info->on_demand && (!known || !mp->on_demand))
		peer->last_data_ns = ev_now(d->loop);
	bool back_online = known && !mp->online && info->online;
	if (!info->online && (!known || mp->online))
		roamd_paths_peer_went_offline(d, peer);
	*mp = *info;
	if (known) {
		mp->ipv6 = v6;
		mp->ipv4 = v4;
	}
	wg_peer_set_persistent_keepalive(peer, info->keepalive_s, ev_now(d->loop));
	/* Its candidates to the path manager, which sets the engine's
	 * endpoint once a path answers. */
	roamd_paths_peer_update(d, peer, mp);
	/* It was offline: it may have restarted (roam down/up, a reboot) and
	 * lost our session, and would drop what we send on it without a word
	 * until our timers give up (15 s). A new handshake now costs one round
	 * trip; packets meanwhile wait for it (staged). Not if the session is
	 * newer than its absence: a new node's first handshake can come before
	 * the server's view says it is online, and would be wiped for nothing. */
	if (back_online && peer->has_endpoint && roamd_paths_session_predates_absence(peer))
		wg_peer_restart_session(peer, ev_now(d->loop));
	/* New to us, but it may have tried already (it heard of us first). */
	if (!known)
		wg_peer_answer_early_initiation(peer, ev_now(d->loop));
	roamd_files_view_changed(d);
}

static void remove_managed_peer(struct roamd *d, struct wg_peer *peer)
{
	roamd_paths_peer_free(d, peer); /* wipes its probe keys */
	wg_peer_remove(peer);           /* wipes its sessions and keys */
}

void roamd_host_peer_remove(struct roamd *d, const uint8_t public_key[32])
{
	struct wg_peer *peer = wg_peer_lookup(d->wg, public_key);
	if (peer && peer->user)
		remove_managed_peer(d, peer);
	roamd_files_view_changed(d);
}

void roamd_host_peers_clear(struct roamd *d)
{
	struct wg_peer *peer = wg_device_first_peer(d->wg);
	while (peer) {
		struct wg_peer *next = wg_device_next_peer(peer);
		if (peer->user)
			remove_managed_peer(d, peer);
		peer = next;
	}
	roamd_files_view_changed(d);
}

void roamd_host_set_server_udp(struct roamd *d, const struct sockaddr_any *server)
{
	d->host.server_udp = *server;
	endpoint_from_sockaddr(&d->host.server_ep, server);
	roamd_paths_view_changed(d); /* the relay is a candidate of every online peer */
}

void roamd_host_send_udp(struct roamd *d, const struct sockaddr_any *to, const uint8_t *msg, size_t len)
{
	/* The agent may send only BINDINGs (plain, or answering a challenge)
	 * and the push channel's PUSH_ACKs, only to the server, and netchecks
	 * (netcheck_host.c says where). */
	bool binding = ((coord_msg_type(msg, len) == COORD_MSG_BINDING &&
			 (len == sizeof(struct coord_msg_binding) || len == sizeof(struct coord_msg_binding_cookie))) ||
			(len == sizeof(struct coord_msg_push_ack) && msg[0] == COORD_MSG_PUSH_ACK)) &&
		       sockaddr_any_equal(to, &d->host.server_udp);
	if (!binding && !roamd_relay_bind_ok(d, to, msg, len) && !roamd_netcheck_send_ok(d, to, msg, len))
		return;
	int ret = udp_send(&d->udp, to, msg, len);
	if (ret < 0)
		log_debug("binding: %s", strerror(-ret));
}

void roamd_host_publish_status(struct roamd *d, const struct managed_status *st)
{
	if (d->host.have_status && st->state != d->host.status.state)
		log_info("managed mode: %s%s%s", managed_state_name(st->state), st->error[0] ? ": " : "", st->error);
	/* The server answered a BINDING from a new public address (the first
	 * one after joining, or our NAT gave us a new mapping): the relay now
	 * forwards to us, and probes lost before it may pass: probe every
	 * path now instead of at the next timeout (up to 1 s away). */
	bool rebound = st->public_endpoint.len &&
		       (!d->host.have_status || !sockaddr_any_equal(&st->public_endpoint, &d->host.status.public_endpoint));
	d->host.status = *st;
	if (rebound && d->host.paths)
		roamd_paths_local_change(d);
	d->host.have_status = true;
	roamd_netcheck_status(d);
}

void roamd_host_membership(const struct roamd *d, struct managed_membership *out)
{
	const struct node_state *st = &d->host.st;
	memset(out, 0, sizeof(*out));
	snprintf(out->server_url, sizeof(out->server_url), "%s", st->server_url);
	out->token = st->token;
	snprintf(out->name, sizeof(out->name), "%s", st->name);
	out->node_id = st->node_id;
	out->joined = st->joined;
	out->allow_tls_interception = st->allow_tls_interception;
	out->proxy.set = st->proxy[0] != '\0';
	snprintf(out->proxy.url, sizeof(out->proxy.url), "%s", st->proxy);
	out->servers = st->servers;
}

void roamd_host_save_membership(struct roamd *d, const struct managed_membership *ms)
{
	struct node_state *st = &d->host.st;
	/* Only what `roam up` accepts goes to disk (the agent is not trusted). */
	if (ms->server_url[0] && strncmp(ms->server_url, "https://", 8) != 0) {
		log_err("refusing to save a membership with a server that is not https://");
		return;
	}
	char proxy[ROAMD_PROXY_URL_MAX], why[160];
	if (ms->proxy.set && (roamd_proxy_normalize(ms->proxy.url, proxy, sizeof(proxy), why, sizeof(why)) < 0 ||
			      strcmp(proxy, ms->proxy.url) != 0)) {
		log_err("refusing to save a membership with a proxy roam up would not accept");
		return;
	}
	snprintf(st->server_url, sizeof(st->server_url), "%s", ms->server_url);
	snprintf(st->proxy, sizeof(st->proxy), "%s", ms->proxy.set ? ms->proxy.url : "");
	st->token = ms->token;
	snprintf(st->name, sizeof(st->name), "%s", ms->name);
	st->node_id = ms->node_id;
	st->joined = ms->joined;
	st->allow_tls_interception = ms->allow_tls_interception;
	/* Only https:// URLs, as the stream's parser takes them. */
	memset(&st->servers, 0, sizeof(st->servers));
	for (size_t i = 0; i < ms->servers.count && i < COORD_SERVERS_MAX; i++)
		(void)coord_servers_add(&st->servers, ms->servers.url[i]);
	int ret = node_state_save(d->host.state_dir, st);
	if (ret < 0)
		log_warn("cannot save %s/state.json: %s", d->host.state_dir, strerror(-ret));
	roamd_files_view_changed(d); /* the file worker's server, proxy and interception setting */
}

int roamd_host_up(struct roamd *d, const char *server, const char *token, const char *name, const char *proxy,
		  bool force, uint8_t tls_interception, uint32_t *seq_out, char *why, size_t why_size)
{
	struct ps_up up;
	int ret;
	memset(&up, 0, sizeof(up));
	if (!d->host.agent) {
		snprintf(why, why_size, "managed mode is not running (its agent could not start; see roamd's log)");
		return -ENOTCONN;
	}
	if (!server != !token) {
		snprintf(why, why_size, "both --server and --token are needed to join a network");
		return -EINVAL;
	}
	if (server) {
		if (strncmp(server, "https://", 8) != 0 || strlen(server) >= sizeof(up.server) || strlen(server) < 9) {
			snprintf(why, why_size, "the server must be an https:// URL");
			return -EINVAL;
		}
		if ((ret = coord_token_decode(token, &up.token)) < 0) {
			snprintf(why, why_size, "%s",
				 ret == -EPROTONOSUPPORT ? "the token is from a newer roam-server"
							 : "the token is malformed (copy it whole, as roam-server printed it)");
			return ret;
		}
		if (coord_control_key(up.control_key, d->host.st.private_key, up.token.server_pub) < 0) {
			crypto_wipe(&up, sizeof(up));
			snprintf(why, why_size, "the token's server key is not usable");
			return -EINVAL;
		}
		up.has_server = 1;
		snprintf(up.server, sizeof(up.server), "%s", server);
	}
	if (name) {
		if (!name[0] || strlen(name) > COORD_NAME_MAX) {
			snprintf(why, why_size, "a node name has 1 to %d bytes", COORD_NAME_MAX);
			return -EINVAL;
		}
		up.has_name = 1;
		snprintf(up.name, sizeof(up.name), "%s", name);
	}
	if (proxy) {
		if (strcmp(proxy, "none") != 0 && (ret = roamd_proxy_normalize(proxy, up.proxy, sizeof(up.proxy), why, why_size)) < 0) {
			crypto_wipe(&up, sizeof(up));
			return ret;
		}
		up.has_proxy = 1;
	}
	up.force = force;
	up.tls_interception = tls_interception;
	up.seq = ++d->host.up_seq;
	privsep_agent_send(d, PS_UP, &up, sizeof(up));
	crypto_wipe(&up, sizeof(up));
	*seq_out = d->host.up_seq;
	return 0;
}

void roamd_host_down(struct roamd *d)
{
	privsep_agent_send(d, PS_DOWN, NULL, 0);
}

/* The agent sends the BINDING (it holds K); at most one request a second. */
void roamd_host_rebind(struct roamd *d)
{
	uint64_t now = ev_now(d->loop);
	if (d->host.rebind_at && now - d->host.rebind_at < EV_NSEC_PER_SEC)
		return;
	d->host.rebind_at = now;
	privsep_agent_send(d, PS_REBIND, NULL, 0);
}

void roamd_host_address_changed(struct roamd *d)
{
	privsep_agent_send(d, PS_ADDR_CHANGED, NULL, 0);
	roamd_paths_local_change(d);
}

int roamd_host_start(struct roamd *d, const struct roamd_options *opt)
{
	int ret;
	d->host.state_dir = opt->state_dir;
	d->host.relay_pair.fd = -1;
	if ((ret = roamd_paths_start(d)) < 0)
		return ret;
	roamd_netcheck_init(d);
	roamd_ondemand_init(d);
	if ((ret = roamd_files_start(d, opt)) < 0)
		return ret;
	return privsep_agent_start(d, opt->agent_user);
}

void roamd_host_stop(struct roamd *d)
{
	privsep_agent_stop(d, true);
	roamd_files_stop(d);
	roamd_netcheck_stop(d);
	roamd_ondemand_stop(d);
	roamd_host_peers_clear(d);
	roamd_paths_stop(d);
	remove_fallback_routes(d);
	node_state_wipe(&d->host.st);
}
