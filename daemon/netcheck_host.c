/* Netcheck in roamd's monitor (daemon/netcheck_host.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coord/netcheck.h"
#include "coord/udp.h"
#include "daemon/privsep.h"
#include "daemon/roamd.h"

static bool same_address(const struct sockaddr_any *a, const struct sockaddr_any *b)
{
	if (!a->len || !b->len || a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

static bool is_server(const struct roamd *d, const struct sockaddr_any *a)
{
	const struct roamd_netcheck *nc = &d->host.nc;
	return (d->host.server_udp.len && sockaddr_any_equal(a, &d->host.server_udp)) ||
	       (nc->servers[0].len && sockaddr_any_equal(a, &nc->servers[0])) ||
	       (nc->servers[1].len && sockaddr_any_equal(a, &nc->servers[1]));
}

/* The server's main address names its others: remember them (at most two,
 * replaced by each answer, so a forged one lasts until the next). */
static void learn_servers(struct roamd *d, const uint8_t *buf, size_t len, const struct sockaddr_any *from)
{
	struct coord_netcheck_ack ack;
	if (!d->host.server_udp.len || !sockaddr_any_equal(from, &d->host.server_udp) ||
	    coord_netcheck_ack_parse(buf, len, &ack) < 0)
		return;
	memcpy(d->host.nc.servers, ack.other, sizeof(ack.other));
}

void roamd_netcheck_datagram(struct roamd *d, const uint8_t *buf, size_t len, const struct sockaddr_any *from,
			     uint64_t now)
{
	struct roamd_netcheck *nc = &d->host.nc;
	uint8_t type = coord_msg_type(buf, len);
	struct ps_udp u;
	if (type == COORD_MSG_NETCHECK_ACK) {
		if (!is_server(d, from))
			return;
		learn_servers(d, buf, len, from);
	} else if (type != COORD_MSG_NETCHECK || !same_address(from, &d->host.status.public_endpoint)) {
		return; /* we answer no netcheck: we are not a server */
	}
	if (now - nc->window_start >= EV_NSEC_PER_SEC) {
		nc->window_start = now;
		nc->window_count = 0;
	}
	if (++nc->window_count > ROAMD_NETCHECK_FORWARD_PER_S || privsep_udp_fill(&u, from, buf, len) < 0) {
		nc->dropped++;
		return;
	}
	privsep_agent_send(d, PS_UDP_IN, &u, sizeof(u));
}

bool roamd_netcheck_send_ok(const struct roamd *d, const struct sockaddr_any *to, const uint8_t *msg, size_t len)
{
	if (coord_msg_type(msg, len) != COORD_MSG_NETCHECK || len != sizeof(struct coord_msg_netcheck))
		return false;
	/* Our NAT's public address at any port: the netcheck's answer may
	 * name another port than the BINDING's (a per-destination NAT). */
	return is_server(d, to) || same_address(to, &d->host.status.public_endpoint);
}

static void answer(struct roamd *d, int i, bool timed_out)
{
	uint64_t ticket = d->host.nc.waiters[i].ticket;
	d->host.nc.waiters[i].ticket = 0;
	roamd_control_answer(d, ticket, roamd_netcheck_json(d, timed_out));
}

static void rearm(struct roamd *d)
{
	struct roamd_netcheck *nc = &d->host.nc;
	uint64_t next = 0;
	for (int i = 0; i < ROAMD_NETCHECK_WAITERS; i++)
		if (nc->waiters[i].ticket && (!next || nc->waiters[i].deadline < next))
			next = nc->waiters[i].deadline;
	if (next)
		ev_timer_start(d->loop, &nc->timeout, next);
	else
		ev_timer_stop(d->loop, &nc->timeout);
}

static void on_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	struct roamd *d = t->data;
	for (int i = 0; i < ROAMD_NETCHECK_WAITERS; i++)
		if (d->host.nc.waiters[i].ticket && d->host.nc.waiters[i].deadline <= ev_now(loop))
			answer(d, i, true);
	rearm(d);
}

void roamd_netcheck_init(struct roamd *d)
{
	ev_timer_init(&d->host.nc.timeout, on_timeout, d);
}

void roamd_netcheck_stop(struct roamd *d)
{
	ev_timer_stop(d->loop, &d->host.nc.timeout);
	memset(d->host.nc.waiters, 0, sizeof(d->host.nc.waiters));
}

int roamd_netcheck_command(struct roamd *d, uint64_t ticket)
{
	struct roamd_netcheck *nc = &d->host.nc;
	struct ps_netcheck req;
	int slot = -1;
	if (!d->host.agent || !ticket)
		return -ENOTCONN;
	for (int i = 0; i < ROAMD_NETCHECK_WAITERS && slot < 0; i++)
		if (!nc->waiters[i].ticket)
			slot = i;
	if (slot < 0)
		return -EBUSY;
	req.seq = ++nc->seq;
	nc->waiters[slot].seq = req.seq;
	nc->waiters[slot].ticket = ticket;
	nc->waiters[slot].deadline = ev_now(d->loop) + ROAMD_NETCHECK_TIMEOUT_MS * EV_NSEC_PER_MSEC;
	rearm(d);
	privsep_agent_send(d, PS_NETCHECK, &req, sizeof(req));
	return 0;
}

void roamd_netcheck_status(struct roamd *d)
{
	struct roamd_netcheck *nc = &d->host.nc;
	uint32_t done = d->host.status.netcheck.seq;
	bool any = false;
	for (int i = 0; i < ROAMD_NETCHECK_WAITERS; i++) {
		if (nc->waiters[i].ticket && nc->waiters[i].seq <= done) {
			answer(d, i, false);
			any = true;
		}
	}
	if (any)
		rearm(d);
}

static void add_tristate(cJSON *o, const char *name, int8_t v)
{
	if (v < 0)
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddBoolToObject(o, name, v > 0);
}

static const char *const portmap_names[] = { NULL, "pcp", "nat-pmp", "upnp-igd" };

char *roamd_netcheck_json(const struct roamd *d, bool timed_out)
{
	const struct managed_status *st = &d->host.status;
	const struct managed_netcheck_result *r = &st->netcheck;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "udp", managed_udp_name(st->udp));
	cJSON *servers = cJSON_AddArrayToObject(o, "answered_by");
	for (int i = 0; i < 2; i++) {
		char text[SOCKADDR_ANY_STRLEN];
		if (r->answered[i].len && sockaddr_any_format(&r->answered[i], text, sizeof(text)) == 0)
			cJSON_AddItemToArray(servers, cJSON_CreateString(text));
	}
	roamd_json_add_endpoint(o, "public", &r->observed[0]);
	roamd_json_add_endpoint(o, "public_other", &r->observed[1]);
	cJSON_AddStringToObject(o, "mapping", coord_mapping_name(r->mapping));
	add_tristate(o, "hairpinning", r->hairpin);
	add_tristate(o, "ipv6", r->ipv6);
	roamd_json_add_endpoint(o, "public6", &r->observed6);
	if (r->server_rtt_us)
		cJSON_AddNumberToObject(o, "server_rtt_ms", r->server_rtt_us / 1000.0);
	else
		cJSON_AddNullToObject(o, "server_rtt_ms");
	/* The relay is the server's UDP port itself. */
	cJSON_AddStringToObject(o, "relay", "the server's UDP address and port (same latency)");
	cJSON *pm = cJSON_AddObjectToObject(o, "portmap");
	if (r->portmap_proto > 0 && r->portmap_proto < sizeof(portmap_names) / sizeof(portmap_names[0]))
		cJSON_AddStringToObject(pm, "protocol", portmap_names[r->portmap_proto]);
	else
		cJSON_AddNullToObject(pm, "protocol");
	roamd_json_add_endpoint(pm, "external", &r->portmap_external);
	add_tristate(pm, "verified", r->portmap_verified);
	if (r->portmap_error[0])
		cJSON_AddStringToObject(pm, "error", r->portmap_error);
	cJSON_AddNumberToObject(o, "runs", r->runs);
	cJSON_AddNumberToObject(o, "at", (double)r->at);
	cJSON_AddBoolToObject(o, "timed_out", timed_out);
	if (!d->host.agent)
		cJSON_AddStringToObject(o, "error", "managed-mode agent not running (restarting; see roamd's log)");
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}
