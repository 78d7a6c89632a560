/* Checking privsep messages (daemon/privsep_msg.h): no I/O, fuzzed by
 * fuzz/fuzz_privsep.c. */
#include "daemon/privsep_msg.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ctl/request.h"

static const struct {
	size_t size;
	bool from_agent;
} msg_types[] = {
	[PS_INIT] = { sizeof(struct ps_init), false },
	[PS_PEER_HELD] = { sizeof(struct managed_peer_info), false },
	[PS_START] = { 0, false },
	[PS_UP] = { sizeof(struct ps_up), false },
	[PS_DOWN] = { 0, false },
	[PS_UDP_IN] = { sizeof(struct ps_udp), false },
	[PS_ADDR_CHANGED] = { 0, false },
	[PS_STOP] = { sizeof(struct ps_stop), false },
	[PS_NETCHECK] = { sizeof(struct ps_netcheck), false },
	[PS_REBIND] = { 0, false },
	[PS_RELAY_KEY] = { sizeof(struct ps_relay_key), false },
	[PS_PATHS] = { sizeof(struct coord_paths_report), false },
	[PS_FILE_KEY] = { sizeof(struct ps_key), false },
	[PS_PEER_ASK] = { sizeof(struct ondemand_query), false },
	[PS_PEER_IDLE] = { sizeof(struct ps_key), false },
	[PS_SET_ADDRESSES] = { sizeof(struct coord_node), true },
	[PS_PEER_SET] = { sizeof(struct managed_peer_info), true },
	[PS_PEER_REMOVE] = { sizeof(struct ps_key), true },
	[PS_PEERS_CLEAR] = { 0, true },
	[PS_SET_SERVER_UDP] = { sizeof(struct sockaddr_any), true },
	[PS_UDP_OUT] = { sizeof(struct ps_udp), true },
	[PS_STATUS] = { sizeof(struct managed_status), true },
	[PS_SAVE] = { sizeof(struct managed_membership), true },
	[PS_RELAY_LINK] = { sizeof(struct ps_relay_link), true },
	[PS_RELAY_KEY_REQ] = { sizeof(struct ps_key), true },
	[PS_RELAY_ADDRS] = { sizeof(struct ps_relay_addrs), true },
	[PS_FILES_WAITING] = { 0, true },
	[PS_PEER_ANSWER] = { sizeof(struct ps_peer_answer), true },
};
#define MSG_TYPES_COUNT (sizeof(msg_types) / sizeof(msg_types[0]))

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static bool addr_ok(const struct sockaddr_any *a, bool may_be_empty)
{
	if (a->len == 0)
		return may_be_empty;
	if (a->sa.sa_family == AF_INET)
		return a->len == sizeof(struct sockaddr_in);
	if (a->sa.sa_family == AF_INET6)
		return a->len == sizeof(struct sockaddr_in6);
	return false;
}

static bool prefix_ok(const struct ip_prefix *p, int family)
{
	return p->family == family && p->cidr <= (family == AF_INET ? 32 : 128);
}

static bool node_ok(const struct coord_node *n)
{
	if (!terminated(n->name, sizeof(n->name)) || n->groups_count > COORD_GROUPS_MAX)
		return false;
	for (size_t i = 0; i < n->groups_count; i++)
		if (!terminated(n->groups[i], sizeof(n->groups[i])))
			return false;
	return prefix_ok(&n->ipv6, AF_INET6) && prefix_ok(&n->ipv4, AF_INET) && prefix_ok(&n->network6, AF_INET6) &&
	       prefix_ok(&n->network4, AF_INET);
}

static bool peer_ok(const struct managed_peer_info *p)
{
	if (p->private_count > COORD_PRIVATE_MAX || p->relay_count > MANAGED_PEER_RELAYS_MAX || !addr_ok(&p->public_endpoint, true) ||
	    !addr_ok(&p->mapped_endpoint, true) || (unsigned)p->mapping >= COORD_MAPPING_COUNT || p->has_file_key > 1 ||
	    p->on_demand > 1)
		return false;
	for (size_t i = 0; i < p->private_count; i++)
		if (!addr_ok(&p->private_endpoints[i], false))
			return false;
	return terminated(p->name, sizeof(p->name)) && prefix_ok(&p->ipv6, AF_INET6) && p->ipv6.cidr == 128 &&
	       prefix_ok(&p->ipv4, AF_INET) && p->ipv4.cidr == 32;
}

static bool servers_ok(const struct coord_servers *l)
{
	if (l->count > COORD_SERVERS_MAX)
		return false;
	for (size_t i = 0; i < l->count; i++)
		if (!terminated(l->url[i], sizeof(l->url[i])))
			return false;
	return true;
}

static bool membership_ok(const struct managed_membership *ms)
{
	return terminated(ms->server_url, sizeof(ms->server_url)) && terminated(ms->name, sizeof(ms->name)) &&
	       servers_ok(&ms->servers) &&
	       terminated(ms->proxy.url, sizeof(ms->proxy.url)) && terminated(ms->proxy.no_proxy, sizeof(ms->proxy.no_proxy)) &&
	       ms->allow_tls_interception <= 1;
}

static bool netcheck_ok(const struct managed_status *st)
{
	const struct managed_netcheck_result *n = &st->netcheck;
	return (unsigned)st->udp < MANAGED_UDP_COUNT && (unsigned)n->udp < MANAGED_UDP_COUNT &&
	       (unsigned)n->mapping < COORD_MAPPING_COUNT && addr_ok(&n->answered[0], true) &&
	       addr_ok(&n->answered[1], true) && addr_ok(&n->observed[0], true) && addr_ok(&n->observed[1], true) &&
	       addr_ok(&n->observed6, true) && addr_ok(&n->portmap_external, true) &&
	       terminated(n->portmap_error, sizeof(n->portmap_error));
}

static bool relays_ok(const struct managed_status *st)
{
	if (st->relays_count > COORD_RELAYS_MAX)
		return false;
	for (size_t i = 0; i < st->relays_count; i++)
		if (!terminated(st->relays[i].region, sizeof(st->relays[i].region)) ||
		    st->relays[i].link >= MANAGED_RELAY_LINK_COUNT ||
		    (st->relays[i].flags & ~(MANAGED_RELAY_DEAD | MANAGED_RELAY_IN_USE)))
			return false;
	return true;
}

static bool relay_addrs_ok(const struct ps_relay_addrs *a)
{
	if (a->count > COORD_RELAYS_MAX)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (a->r[i].id == 0 || a->r[i].id > 255 || !addr_ok(&a->r[i].udp, false))
			return false;
	return true;
}

static bool status_ok(const struct managed_status *st)
{
	return relays_ok(st) && (unsigned)st->state < MANAGED_STATE_COUNT && (unsigned)st->nat < MANAGED_NAT_COUNT &&
	       (unsigned)st->up_result < MANAGED_UP_RESULT_COUNT &&
	       (unsigned)st->relay_link < MANAGED_RELAY_LINK_COUNT && st->proxy_bypassed <= 1 &&
	       st->tls_interception <= 1 && st->control_polling <= 1 && st->control_push <= 1 &&
	       terminated(st->error, sizeof(st->error)) &&
	       terminated(st->server_url, sizeof(st->server_url)) && (!st->have_self || node_ok(&st->self)) &&
	       addr_ok(&st->public_endpoint, true) && netcheck_ok(st);
}

static bool payload_ok(enum ps_type type, void *p)
{
	switch (type) {
	case PS_INIT: {
		struct ps_init *in = p;
		return terminated(in->user, sizeof(in->user)) && terminated(in->ifname, sizeof(in->ifname)) &&
		       membership_ok(&in->ms);
	}
	case PS_UP: {
		struct ps_up *up = p;
		return terminated(up->server, sizeof(up->server)) && terminated(up->name, sizeof(up->name)) &&
		       terminated(up->proxy, sizeof(up->proxy)) && up->tls_interception <= CTL_TLS_INTERCEPTION_ALLOW;
	}
	case PS_PEER_HELD:
	case PS_PEER_SET:
		return peer_ok(p);
	case PS_UDP_IN:
	case PS_UDP_OUT: {
		struct ps_udp *u = p;
		return addr_ok(&u->peer, false) && u->len <= PS_UDP_MAX;
	}
	case PS_SET_ADDRESSES:
		return node_ok(p);
	case PS_SET_SERVER_UDP:
		return addr_ok(p, false);
	case PS_STATUS:
		return status_ok(p);
	case PS_SAVE:
		return membership_ok(p);
	case PS_RELAY_LINK:
		return ((const struct ps_relay_link *)p)->link < MANAGED_RELAY_LINK_COUNT &&
		       ((const struct ps_relay_link *)p)->relay <= UINT8_MAX && ((const struct ps_relay_link *)p)->dead <= 1;
	case PS_RELAY_KEY:
		return ((const struct ps_relay_key *)p)->ok <= 1;
	case PS_RELAY_ADDRS:
		return relay_addrs_ok(p);
	case PS_PEER_ASK:
		return ondemand_query_ok(p);
	case PS_PEER_ANSWER: {
		const struct ps_peer_answer *a = p;
		return ondemand_query_ok(&a->q) && a->result >= ONDEMAND_FOUND && a->result <= ONDEMAND_FAILED;
	}
	case PS_PATHS: {
		const struct coord_paths_report *r = p;
		if (r->count > COORD_PATHS_REPORT_MAX)
			return false;
		for (size_t i = 0; i < r->count; i++)
			if (r->e[i].path >= COORD_PATH_KINDS)
				return false;
		return true;
	}
	default:
		return true;
	}
}

int privsep_msg_check(void *buf, size_t n, bool from_agent, struct ps_msg *out)
{
	struct ps_hdr hdr;
	if (n < sizeof(hdr))
		return -EBADMSG;
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.type == 0 || hdr.type >= MSG_TYPES_COUNT || (hdr.type < PS_SET_ADDRESSES && hdr.type >= PS_TO_AGENT_END) ||
	    msg_types[hdr.type].from_agent != from_agent || hdr.len != n - sizeof(hdr) ||
	    hdr.len != msg_types[hdr.type].size)
		return -EBADMSG;
	void *payload = (uint8_t *)buf + sizeof(hdr);
	if (hdr.len && !payload_ok((enum ps_type)hdr.type, payload))
		return -EBADMSG;
	out->type = (enum ps_type)hdr.type;
	out->payload = payload;
	out->len = hdr.len;
	return 0;
}

size_t privsep_msg_build(void *out, enum ps_type type, const void *payload, size_t len)
{
	struct ps_hdr hdr = { .type = type, .len = (uint32_t)len };
	memcpy(out, &hdr, sizeof(hdr));
	if (len)
		memcpy((uint8_t *)out + sizeof(hdr), payload, len);
	return sizeof(hdr) + len;
}

int privsep_udp_fill(struct ps_udp *u, const struct sockaddr_any *peer, const uint8_t *data, size_t len)
{
	if (len > PS_UDP_MAX)
		return -EMSGSIZE;
	memset(u, 0, sizeof(*u));
	u->peer = *peer;
	u->len = (uint16_t)len;
	memcpy(u->data, data, len);
	return 0;
}
