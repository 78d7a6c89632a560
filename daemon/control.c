/* The control socket: one JSON request, one JSON reply per connection,
 * driven by the event loop so a slow client never stalls the data path. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/netcheck.h"
#include "ctl/ctl.h"
#include "ctl/request.h"
#include "daemon/files/file_service.h"
#include "daemon/paths/paths.h"
#include "daemon/roamd.h"
#include "util/log.h"

#define CONTROL_MAX_CONNS 16
#define CONTROL_CONN_TIMEOUT_NS (5 * EV_NSEC_PER_SEC)

struct control_conn {
	struct roamd *d;
	struct ctl_conn *conn;
	struct ev_io io;
	struct ev_timer deadline;
	bool in_use;
	bool deferred; /* the request is being answered later (a ticket is out) */
	uint32_t gen;  /* bumped on close: tickets of an earlier connection are stale */
};

static struct control_conn conns[CONTROL_MAX_CONNS];
static struct control_conn *handling; /* the connection whose request runs now */

static void conn_close(struct control_conn *c)
{
	c->gen++;
	c->deferred = false;
	ev_io_stop(c->d->loop, &c->io);
	ev_timer_stop(c->d->loop, &c->deadline);
	ctl_conn_free(c->conn);
	c->conn = NULL;
	c->in_use = false;
}

static void json_add_key(cJSON *obj, const char *name, const uint8_t key[32])
{
	char b64[CRYPTO_KEY_B64_LEN + 1];
	crypto_key_to_base64(b64, key);
	cJSON_AddStringToObject(obj, name, b64);
}

static int add_allowed_ip(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct ip_prefix p = { .family = family, .cidr = cidr };
	char text[IP_PREFIX_STRLEN];
	memcpy(p.addr, addr, ip_prefix_addr_len(family));
	if (ip_prefix_format(&p, text, sizeof(text)) == 0)
		cJSON_AddItemToArray(ctx, cJSON_CreateString(text));
	return 0;
}

static cJSON *peer_json(const struct roamd *d, const struct wg_peer *p)
{
	cJSON *o = cJSON_CreateObject();
	json_add_key(o, "public_key", p->public_key);
	if (p->has_endpoint) {
		char text[ENDPOINT_STRLEN];
		endpoint_format(&p->endpoint, text, sizeof(text));
		cJSON_AddStringToObject(o, "endpoint", text);
	} else {
		cJSON_AddNullToObject(o, "endpoint");
	}
	cJSON *aips = cJSON_AddArrayToObject(o, "allowed_ips");
	wg_peer_walk_allowed(p, add_allowed_ip, aips);
	cJSON_AddNumberToObject(o, "latest_handshake", (double)(p->last_handshake_unix_ns / 1000000000LL));
	cJSON_AddNumberToObject(o, "rx_bytes", (double)p->rx_bytes);
	cJSON_AddNumberToObject(o, "tx_bytes", (double)p->tx_bytes);
	cJSON_AddNumberToObject(o, "rx_packets", (double)p->rx_packets);
	cJSON_AddNumberToObject(o, "tx_packets", (double)p->tx_packets);
	cJSON_AddNumberToObject(o, "drops", (double)p->drops);
	cJSON_AddNumberToObject(o, "persistent_keepalive", p->persistent_keepalive);
	const struct managed_peer_info *mp = p->user;
	if (mp) {
		char text[IP_PREFIX_STRLEN];
		cJSON_AddStringToObject(o, "name", mp->name);
		cJSON_AddNumberToObject(o, "node_id", mp->node_id);
		cJSON_AddBoolToObject(o, "online", mp->online);
		cJSON_AddNumberToObject(o, "last_seen", (double)mp->last_seen);
		cJSON_AddStringToObject(o, "path", roamd_paths_summary(p));
		cJSON_AddBoolToObject(o, "nat", mp->nat);
		if (mp->on_demand)
			cJSON_AddBoolToObject(o, "on_demand", true); /* asked for (a big group), not in our view */
		if (mp->has_file_key)
			json_add_key(o, "file_key", mp->file_key);
		struct ip_prefix a = mp->ipv6;
		a.cidr = 128;
		ip_prefix_format(&a, text, sizeof(text));
		cJSON_AddStringToObject(o, "ipv6", text);
		a = mp->ipv4;
		a.cidr = 32;
		ip_prefix_format(&a, text, sizeof(text));
		cJSON_AddStringToObject(o, "ipv4", text);
		roamd_paths_peer_json(d, p, o);
		/* The relays the agent picked for this peer, the meeting relay first. */
		cJSON *rl = cJSON_AddArrayToObject(o, "relays");
		for (unsigned i = 0; rl && i < mp->relay_count && i < MANAGED_PEER_RELAYS_MAX; i++)
			cJSON_AddItemToArray(rl, cJSON_CreateNumber(mp->relays[i]));
	}
	return o;
}

void roamd_json_add_endpoint(struct cJSON *o, const char *name, const struct sockaddr_any *a)
{
	char text[SOCKADDR_ANY_STRLEN];
	if (a->len && sockaddr_any_format(a, text, sizeof(text)) == 0)
		cJSON_AddStringToObject(o, name, text);
	else
		cJSON_AddNullToObject(o, name);
}

/* One overlay address family, as it actually holds on the device. */
static void overlay_json(cJSON *o, const char *name, const struct roamd_overlay_addr *a)
{
	char text[IP_PREFIX_STRLEN];
	if (!a->wanted || a->err < 0) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	struct ip_prefix shown = a->addr;
	shown.cidr = 128;
	if (shown.family == AF_INET)
		shown.cidr = 32;
	ip_prefix_format(&shown, text, sizeof(text));
	cJSON_AddStringToObject(o, name, text);
}

static const char *overlay_state(const struct roamd_overlay_addr *a, char *buf, size_t size)
{
	if (!a->wanted)
		return "none";
	if (a->err == 0)
		return "configured";
	if (a->err == -EAFNOSUPPORT)
		return "disabled on this host";
	snprintf(buf, size, "failed: %s", strerror(-a->err));
	return buf;
}

/* The proxy the node's TCP goes through, without its credentials:
 * "proxy" (null: direct) and, when roamd's environment names it,
 * "proxy_from" (the variable); "proxy_bypassed" while it cannot be reached
 * and requests go direct. The agent has the same environment. */
static void proxy_json(cJSON *o, const struct roamd_host *h)
{
	struct roamd_proxy p = { .set = h->st.proxy[0] != '\0' };
	char shown[ROAMD_PROXY_URL_MAX];
	const char *env = NULL;
	snprintf(p.url, sizeof(p.url), "%s", h->st.proxy);
	const char *server = h->status.server_url[0] ? h->status.server_url : h->st.server_url;
	if (roamd_proxy_effective(&p, server, shown, sizeof(shown), &env) == ROAMD_PROXY_NONE)
		cJSON_AddNullToObject(o, "proxy");
	else
		cJSON_AddStringToObject(o, "proxy", shown);
	if (env)
		cJSON_AddStringToObject(o, "proxy_from", env);
	if (h->status.proxy_bypassed)
		cJSON_AddBoolToObject(o, "proxy_bypassed", true);
	crypto_wipe(&p, sizeof(p));
}

/* The relay map as the agent last told it (several relays): each relay's
 * round trip and which is home. */
static void add_relays(cJSON *o, const struct managed_status *st)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "relays");
	cJSON_AddBoolToObject(o, "relay_ticket", st && st->relay_ticket);
	for (size_t i = 0; st && arr && i < st->relays_count && i < COORD_RELAYS_MAX; i++) {
		const struct managed_relay_status *r = &st->relays[i];
		cJSON *e = cJSON_CreateObject();
		if (!e || !cJSON_AddItemToArray(arr, e)) {
			cJSON_Delete(e);
			return;
		}
		cJSON_AddNumberToObject(e, "id", r->id);
		cJSON_AddStringToObject(e, "region", r->region);
		if (r->rtt_us)
			cJSON_AddNumberToObject(e, "rtt_ms", r->rtt_us / 1000.0);
		else
			cJSON_AddNullToObject(e, "rtt_ms");
		cJSON_AddBoolToObject(e, "home", r->home);
		cJSON_AddBoolToObject(e, "key", r->have_key);
		cJSON_AddStringToObject(e, "link", managed_relay_link_name((enum managed_relay_link)r->link));
		cJSON_AddBoolToObject(e, "in_use", r->flags & MANAGED_RELAY_IN_USE);
		cJSON_AddBoolToObject(e, "dead", r->flags & MANAGED_RELAY_DEAD);
	}
}

static void managed_json(cJSON *root, const struct roamd_host *h)
{
	cJSON *o = cJSON_AddObjectToObject(root, "managed");
	const struct managed_status *st = &h->status;
	char buf[128];
	cJSON_AddStringToObject(o, "state", managed_state_name(h->have_status ? st->state : MANAGED_NOT_JOINED));
	if (!h->agent)
		cJSON_AddStringToObject(o, "error", "managed-mode agent not running (restarting; see roamd's log)");
	else if (st->error[0])
		cJSON_AddStringToObject(o, "error", st->error);
	cJSON_AddStringToObject(o, "server", st->server_url[0] ? st->server_url : h->st.server_url);
	cJSON_AddBoolToObject(o, "connected", st->state == MANAGED_CONNECTED);
	cJSON *up = cJSON_AddObjectToObject(o, "up");
	cJSON_AddNumberToObject(up, "seq", st->up_seq);
	cJSON_AddStringToObject(up, "result", managed_up_result_name(st->up_result));
	cJSON_AddStringToObject(o, "udp", managed_udp_name(st->udp));
	/* How relayed datagrams reach the server (daemon/relaylink/). */
	cJSON_AddStringToObject(o, "relay_link", managed_relay_link_name(h->agent ? st->relay_link : MANAGED_RELAY_LINK_NONE));
	if (h->agent && st->relay_rtt_us)
		cJSON_AddNumberToObject(o, "relay_link_rtt_ms", st->relay_rtt_us / 1000.0);
	else
		cJSON_AddNullToObject(o, "relay_link_rtt_ms");
	cJSON_AddBoolToObject(o, "relay_short_polls", h->agent && st->relay_short_polls);
	/* How the server's stream reaches us: "udp" (the push channel), "https"
	 * (the stream), "poll" (polls, where replies are buffered). */
	cJSON_AddStringToObject(o, "control", !h->agent ? "https" : st->control_push ? "udp"
							 : st->control_polling ? "poll" : "https");
	add_relays(o, h->agent ? st : NULL);
	/* The datagram pair to the agent that runs a TCP link: what did not fit
	 * (a full socket buffer), and what the agent passed that was no RELAY. */
	cJSON *pair = cJSON_AddObjectToObject(o, "relay_pair");
	cJSON_AddNumberToObject(pair, "tx_dropped", (double)h->relay_pair.tx_dropped);
	cJSON_AddNumberToObject(pair, "rx_dropped", (double)(h->relay_pair.rx_dropped + h->relay_dropped));
	/* No UDP answer: nothing public to claim. */
	cJSON_AddStringToObject(o, "nat", managed_nat_name(st->udp == MANAGED_UDP_BLOCKED ? MANAGED_NAT_UNKNOWN : st->nat));
	roamd_json_add_endpoint(o, "public_endpoint", &st->public_endpoint);
	cJSON_AddStringToObject(o, "mapping", coord_mapping_name(st->netcheck.mapping));
	proxy_json(o, h);
	/* roam up --allow-tls-interception: "off", "allowed" (none met), "in use" */
	cJSON_AddStringToObject(o, "tls_interception", h->agent && st->tls_interception ? "in use"
						       : h->st.allow_tls_interception ? "allowed" : "off");
	cJSON *fam = cJSON_AddObjectToObject(o, "overlay");
	cJSON_AddStringToObject(fam, "ipv6", overlay_state(&h->addr[0], buf, sizeof(buf)));
	cJSON_AddStringToObject(fam, "ipv4", overlay_state(&h->addr[1], buf, sizeof(buf)));
	if (!st->have_self)
		return;
	cJSON_AddStringToObject(o, "name", st->self.name);
	cJSON_AddNumberToObject(o, "node_id", st->self.node_id);
	overlay_json(o, "ipv6", &h->addr[0]);
	overlay_json(o, "ipv4", &h->addr[1]);
}

char *roamd_status_json(const struct roamd *d)
{
	const struct wg_drop_counters *dr = wg_device_drops(d->wg);
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "interface", d->ifname);
	json_add_key(root, "public_key", wg_device_public_key(d->wg));
	cJSON_AddNumberToObject(root, "listen_port", d->udp.port);
	cJSON_AddNumberToObject(root, "mtu", d->cfg->mtu);
	cJSON *addrs = cJSON_AddArrayToObject(root, "addresses");
	for (size_t i = 0; i < d->cfg->addresses_count; i++) {
		char text[IP_PREFIX_STRLEN];
		if (ip_prefix_format(&d->cfg->addresses[i], text, sizeof(text)) == 0)
			cJSON_AddItemToArray(addrs, cJSON_CreateString(text));
	}
	for (int i = 0; d->is_managed && i < 2; i++) {
		/* The overlay addresses that hold, with the network prefix they route. */
		const struct roamd_overlay_addr *a = &d->host.addr[i];
		struct ip_prefix shown = a->addr;
		char text[IP_PREFIX_STRLEN];
		shown.cidr = a->network.cidr;
		if (a->wanted && a->err == 0 && ip_prefix_format(&shown, text, sizeof(text)) == 0)
			cJSON_AddItemToArray(addrs, cJSON_CreateString(text));
	}
	cJSON *drops = cJSON_AddObjectToObject(root, "drops");
	const struct { const char *name; uint64_t value; } counters[] = {
		{ "short", dr->short_packet },
		{ "unknown_type", dr->unknown_type },
		{ "bad_size", dr->bad_size },
		{ "bad_mac", dr->bad_mac },
		{ "no_keypair", dr->no_keypair },
		{ "replay", dr->replay },
		{ "duplicate", dr->duplicate },
		{ "decrypt", dr->decrypt },
		{ "allowed_ips", dr->allowed_ips },
		{ "no_peer", dr->no_peer },
		{ "malformed_inner", dr->malformed_inner },
		{ "handshake_rejected", dr->handshake_rejected },
		{ "rate_limited", dr->rate_limited },
		{ "simultaneous_initiation", dr->simultaneous_initiation },
		{ "udp_send_errors", d->stats.udp_send_errors },
		{ "udp_truncated", d->stats.udp_truncated },
		{ "tun_write_errors", d->stats.tun_write_errors },
	};
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		cJSON_AddNumberToObject(drops, counters[i].name, (double)counters[i].value);
	cJSON_AddStringToObject(root, "mode", d->is_managed ? "managed" : "static");
	if (d->is_managed) {
		managed_json(root, &d->host);
		/* Peers on demand: the questions the data plane asked (ondemand.h). */
		const struct ondemand_stats *os = &d->host.od.stats;
		cJSON *od = cJSON_AddObjectToObject(root, "on_demand");
		const struct { const char *name; uint64_t value; } od_counters[] = {
			{ "asked", os->asked }, { "found", os->found }, { "not_found", os->not_found },
			{ "failed", os->failed }, { "suppressed", os->suppressed }, { "evicted", os->evicted },
			{ "packets_sent", os->packets_sent }, { "packets_expired", os->packets_expired },
			{ "in_flight", d->host.od.in_flight },
		};
		for (size_t i = 0; i < sizeof(od_counters) / sizeof(od_counters[0]); i++)
			cJSON_AddNumberToObject(od, od_counters[i].name, (double)od_counters[i].value);
		roamd_paths_status_json(d, root);
		roamd_files_status_json(d, root);
	}
	cJSON *peers = cJSON_AddArrayToObject(root, "peers");
	for (const struct wg_peer *p = wg_device_first_peer(d->wg); p; p = wg_device_next_peer(p))
		cJSON_AddItemToArray(peers, peer_json(d, p));
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

static char *error_json(const char *message)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", message);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

char *roamd_control_error(const char *message)
{
	return error_json(message);
}

static char *ok_json(void)
{
	return strdup("{\"ok\":true}");
}

/* The managed peer owning an overlay address, or NULL. */
static struct wg_peer *peer_by_address(struct roamd *d, const struct ip_prefix *p)
{
	for (struct wg_peer *peer = wg_device_first_peer(d->wg); peer; peer = wg_device_next_peer(peer)) {
		const struct managed_peer_info *mp = peer->user;
		if (!mp)
			continue;
		const struct ip_prefix *own = p->family == AF_INET ? &mp->ipv4 : &mp->ipv6;
		if (memcmp(own->addr, p->addr, ip_prefix_addr_len(p->family)) == 0)
			return peer;
	}
	return NULL;
}

/* A peer by name, overlay address or public key. */
struct wg_peer *roamd_peer_by_query(struct roamd *d, const char *query)
{
	struct ip_prefix p;
	uint8_t key[32];
	if (ip_prefix_parse(query, &p) == 0)
		return peer_by_address(d, &p);
	if (crypto_key_from_base64(key, query) == 0)
		return wg_peer_lookup(d->wg, key);
	for (struct wg_peer *peer = wg_device_first_peer(d->wg); peer; peer = wg_device_next_peer(peer)) {
		const struct managed_peer_info *mp = peer->user;
		if (mp && strcmp(mp->name, query) == 0)
			return peer;
	}
	return NULL;
}

/* `roam whois ADDRESS`: the peer owning an overlay address. */
static char *whois_json(struct roamd *d, const char *address)
{
	struct ip_prefix p;
	if (!address || ip_prefix_parse(address, &p) < 0)
		return error_json("whois: give an IPv4 or IPv6 address");
	const struct wg_peer *peer = peer_by_address(d, &p);
	if (!peer)
		return error_json("no peer has that address");
	cJSON *o = peer_json(d, peer);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

uint64_t roamd_control_defer(struct roamd *d)
{
	if (!handling)
		return 0;
	handling->deferred = true;
	/* The client has sent its request and shut its side: its EOF would
	 * wake us until the answer; the deadline still runs. */
	ev_io_stop(d->loop, &handling->io);
	return (uint64_t)handling->gen << 32 | (uint64_t)(handling - conns + 1);
}

static void send_reply(struct control_conn *c, char *reply)
{
	int ret = ctl_conn_send_reply(c->conn, reply, strlen(reply)); /* takes reply */
	c->io.events = EPOLLOUT;
	if (ret != -EAGAIN || ev_io_start(c->d->loop, &c->io) < 0)
		conn_close(c);
}

void roamd_control_answer(struct roamd *d, uint64_t ticket, char *json)
{
	uint64_t slot = ticket & 0xffffffffu;
	struct control_conn *c = slot >= 1 && slot <= CONTROL_MAX_CONNS ? &conns[slot - 1] : NULL;
	if (!json)
		json = error_json("out of memory");
	if (!c || !c->in_use || c->d != d || !c->deferred || c->gen != (uint32_t)(ticket >> 32)) {
		free(json);
		return;
	}
	c->deferred = false;
	send_reply(c, json);
}

/* One ping answers the control connection that asked (ctx is its ticket). */
static void on_ping_done(void *ctx, const struct paths_ping_result *r)
{
	struct control_conn *c = &conns[((uintptr_t)ctx & 0xffffffffu) - 1];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "answered", r->answered);
	if (r->answered) {
		char text[ENDPOINT_STRLEN];
		enum endpoint_transport t = endpoint_transport(&r->ep);
		endpoint_format(&r->ep, text, sizeof(text));
		cJSON_AddStringToObject(o, "transport", endpoint_transport_name(t));
		cJSON_AddStringToObject(o, "address", text);
		cJSON_AddBoolToObject(o, "direct", t == EP_UDP || t == EP_UDP_AUX);
		cJSON_AddNumberToObject(o, "rtt_ms", (double)r->rtt_ns / 1e6);
	}
	cJSON_AddNumberToObject(o, "paths_probed", r->probed);
	cJSON_AddNumberToObject(o, "answers", r->answers);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	roamd_control_answer(c->d, (uint64_t)(uintptr_t)ctx, text);
}

#define PING_TIMEOUT_NS (1 * EV_NSEC_PER_SEC)

/* `roam ping PEER`: probe each path of the peer once; answered later. */
static char *ping_request(struct roamd *d, const char *query)
{
	if (!query || !*query)
		return error_json("ping: give a peer's name, overlay address or public key");
	struct wg_peer *peer = roamd_peer_by_query(d, query);
	if (!peer || !peer->user)
		return error_json("no peer by that name, overlay address or public key");
	uint64_t ticket = roamd_control_defer(d);
	int ret = roamd_paths_ping(d, peer, PING_TIMEOUT_NS, on_ping_done, (void *)(uintptr_t)ticket);
	if (ret == 0)
		return NULL;
	handling->deferred = false;
	ev_io_start(d->loop, &handling->io);
	if (ret == -ENOENT)
		return error_json("no path to that peer yet (it is offline, or the server has not told us how to reach it)");
	if (ret == -EBUSY)
		return error_json("too many pings at once: try again in a second");
	return error_json(strerror(-ret));
}

/* `roam netcheck`: the agent measures; answered when its result comes
 * back (daemon/netcheck_host.c), or at once with the last one. */
static char *netcheck_request(struct roamd *d)
{
	uint64_t ticket = roamd_control_defer(d);
	if (roamd_netcheck_command(d, ticket) == 0)
		return NULL;
	handling->deferred = false;
	ev_io_start(d->loop, &handling->io);
	return roamd_netcheck_json(d, false);
}

/* `roam ls PEER`: the file worker fetches the peer's index from the
 * server; answered when it sends the listing back (files_host.c). */
static char *ls_request(struct roamd *d, const struct ctl_command *cmd)
{
	char *error = NULL;
	uint64_t ticket = roamd_control_defer(d);
	if (roamd_files_ls(d, cmd, ticket, &error) == 0)
		return NULL;
	handling->deferred = false;
	ev_io_start(d->loop, &handling->io);
	return error;
}

static char *handle_request(struct roamd *d, const char *req)
{
	struct ctl_command cmd = { .kind = CTL_CMD_UNKNOWN };
	char *reply;
	if (ctl_command_parse(req, strlen(req), &cmd) < 0) {
		reply = error_json("malformed request: expected {\"cmd\":\"...\"}");
	} else if (cmd.kind == CTL_CMD_STATUS) {
		reply = roamd_status_json(d);
	} else if (!d->is_managed && (cmd.kind == CTL_CMD_UP || cmd.kind == CTL_CMD_DOWN || cmd.kind == CTL_CMD_WHOIS ||
				      cmd.kind == CTL_CMD_PING || cmd.kind == CTL_CMD_NETCHECK || cmd.kind == CTL_CMD_PUSH ||
				      cmd.kind == CTL_CMD_FILES || cmd.kind == CTL_CMD_FILES_CANCEL ||
				      cmd.kind == CTL_CMD_PUBLISH || cmd.kind == CTL_CMD_UNPUBLISH || cmd.kind == CTL_CMD_SET ||
				      cmd.kind == CTL_CMD_PATH_USE || cmd.kind == CTL_CMD_PULL || cmd.kind == CTL_CMD_LS)) {
		reply = error_json("roamd runs a static configuration (--config): nothing to join");
	} else if (cmd.kind == CTL_CMD_UP) {
		char why[256], ok[64];
		uint32_t seq = 0;
		int ret = roamd_host_up(d, cmd.server, cmd.token, cmd.name, cmd.proxy, cmd.force, cmd.tls_interception, &seq,
					 why, sizeof(why));
		snprintf(ok, sizeof(ok), "{\"ok\":true,\"seq\":%u}", seq);
		reply = ret < 0 ? error_json(why) : strdup(ok);
	} else if (cmd.kind == CTL_CMD_DOWN) {
		roamd_host_down(d);
		reply = ok_json();
	} else if (cmd.kind == CTL_CMD_WHOIS) {
		reply = whois_json(d, cmd.address);
	} else if (cmd.kind == CTL_CMD_PING) {
		reply = ping_request(d, cmd.peer);
	} else if (cmd.kind == CTL_CMD_NETCHECK) {
		reply = netcheck_request(d);
	} else if (cmd.kind == CTL_CMD_SET) {
		reply = roamd_settings_request(d, cmd.settings);
	} else if (cmd.kind == CTL_CMD_PATH_USE) {
		reply = roamd_path_use_request(d, cmd.peer, cmd.id);
	} else if (cmd.kind == CTL_CMD_LS) {
		reply = ls_request(d, &cmd);
	} else if (cmd.kind == CTL_CMD_PUSH || cmd.kind == CTL_CMD_FILES || cmd.kind == CTL_CMD_FILES_CANCEL ||
		   cmd.kind == CTL_CMD_PUBLISH || cmd.kind == CTL_CMD_UNPUBLISH || cmd.kind == CTL_CMD_PULL) {
		reply = roamd_files_request(d, &cmd);
	} else {
		reply = error_json("unknown command");
	}
	ctl_command_clear(&cmd);
	return reply;
}

static void on_conn_event(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct control_conn *c = io->data;
	const char *req;
	int ret;
	(void)loop;
	if (revents & EPOLLOUT) {
		ret = ctl_conn_flush(c->conn);
		if (ret != -EAGAIN)
			conn_close(c);
		return;
	}
	ret = ctl_conn_read_request(c->conn, &req);
	if (ret == -EAGAIN)
		return;
	if (ret < 0) {
		conn_close(c);
		return;
	}
	handling = c;
	char *reply = handle_request(c->d, req);
	handling = NULL;
	if (reply)
		send_reply(c, reply);
	else if (!c->deferred)
		conn_close(c);
}

static void on_conn_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	conn_close(t->data);
}

static void on_listen_readable(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct roamd *d = io->data;
	(void)revents;
	for (;;) {
		struct ctl_conn *conn;
		int ret = ctl_server_accept(d->ctl_fd, &conn);
		if (ret == -EAGAIN)
			return;
		if (ret == -EPERM) {
			log_warn("control: refused a non-root client");
			continue;
		}
		if (ret < 0) {
			log_warn("control: accept: %s", strerror(-ret));
			return;
		}
		struct control_conn *c = NULL;
		for (int i = 0; i < CONTROL_MAX_CONNS && !c; i++)
			if (!conns[i].in_use)
				c = &conns[i];
		if (!c) {
			ctl_conn_free(conn); /* too many at once: the client retries */
			continue;
		}
		c->d = d;
		c->conn = conn;
		c->in_use = true;
		ev_io_init(&c->io, ctl_conn_fd(conn), EPOLLIN, on_conn_event, c);
		ev_timer_init(&c->deadline, on_conn_timeout, c);
		if (ev_io_start(loop, &c->io) < 0) {
			conn_close(c);
			continue;
		}
		ev_timer_start(loop, &c->deadline, ev_now(loop) + CONTROL_CONN_TIMEOUT_NS);
	}
}

int roamd_control_start(struct roamd *d, const char *path)
{
	int ret = ctl_server_open(path, &d->ctl_fd);
	if (ret < 0) {
		log_err("cannot open control socket %s: %s", path,
			ret == -EADDRINUSE ? "another roamd is using it" : strerror(-ret));
		return ret;
	}
	d->ctl_path = path;
	ev_io_init(&d->ctl_io, d->ctl_fd, EPOLLIN, on_listen_readable, d);
	return ev_io_start(d->loop, &d->ctl_io);
}

void roamd_control_stop(struct roamd *d)
{
	for (int i = 0; i < CONTROL_MAX_CONNS; i++)
		if (conns[i].in_use && conns[i].d == d)
			conn_close(&conns[i]);
	if (d->ctl_fd >= 0) {
		ev_io_stop(d->loop, &d->ctl_io);
		ctl_server_close(d->ctl_fd, d->ctl_path);
	}
	d->ctl_fd = -1;
}
