/* Host names managed mode must resolve itself (daemon/resolve.h): a relay
 * map's UDP host given by name, and the server's host when the node reaches
 * it through a proxy (libcurl's address is then the proxy's, and the
 * server's UDP address must come from its URL). Resolved off the loop,
 * again on a network change (a new network may have another DNS view) and
 * every MANAGED_NAMES_REFRESH_S (names move); until a name resolves, that
 * relay or server has no UDP address and its relay link goes over TCP. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/managed/managed.h"
#include "daemon/resolve.h"
#include "daemon/test_knob.h"
#include "util/log.h"

#define KEY_SERVER 0u /* relays: 1 + their id */

static void on_resolved(void *ctx, unsigned key, int err, const struct sockaddr_any *addr)
{
	struct managed *m = ctx;
	char text[80] = "";
	if (key == KEY_SERVER) {
		if (err < 0) {
			log_info("the server's name %s: %s (no UDP to it until it resolves)", m->names.server,
				 strerror(-err));
			return;
		}
		sockaddr_any_format(addr, text, sizeof(text));
		if (sockaddr_any_equal(addr, &m->server_udp))
			return;
		log_info("the server's name %s is %s: its UDP address", m->names.server, text);
		m->server_udp = *addr;
		m->host->set_server_udp(m->host_ctx, addr);
		managed_send_binding(m);
		return;
	}
	struct managed_relay *r = managed_relays_get(m, (uint8_t)(key - 1));
	if (!r || key - 1 == 0)
		return;
	if (err < 0) {
		log_info("relay %u: its name %s: %s (no UDP to it until it resolves)", r->info.id, r->info.udp_host,
			 strerror(-err));
		return;
	}
	if (sockaddr_any_equal(addr, &r->udp))
		return;
	sockaddr_any_format(addr, text, sizeof(text));
	log_info("relay %u: its name %s is %s", r->info.id, r->info.udp_host, text);
	r->udp = *addr;
	managed_relays_addrs_changed(m);
}

static void on_refresh(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	managed_names_refresh(t->data);
}

int managed_names_init(struct managed *m)
{
	ev_timer_init(&m->names.timer, on_refresh, m);
	return resolver_new(m->loop, on_resolved, m, &m->names.resolver);
}

void managed_names_free(struct managed *m)
{
	ev_timer_stop(m->loop, &m->names.timer);
	resolver_free(m->names.resolver);
	m->names.resolver = NULL;
	m->names.server[0] = '\0';
}

/* ROAMD_TEST_NAMES_REFRESH_S (test builds): a test sees a name move
 * without waiting the 5 minutes. */
static uint64_t refresh_s(void)
{
	return test_knob_s("ROAMD_TEST_NAMES_REFRESH_S", MANAGED_NAMES_REFRESH_S, MANAGED_NAMES_REFRESH_S);
}

static void refresh_later(struct managed *m)
{
	uint64_t at = ev_now(m->loop) + refresh_s() * EV_NSEC_PER_SEC;
	if (!ev_timer_pending(&m->names.timer) || ev_timer_deadline(&m->names.timer) > at)
		ev_timer_start(m->loop, &m->names.timer, at);
}

static void lookup(struct managed *m, unsigned key, const char *host, uint16_t port)
{
	int ret = m->names.resolver ? resolver_lookup(m->names.resolver, key, host, port) : -ENOTSUP;
	if (ret < 0)
		log_warn("cannot resolve %s: %s", host, strerror(-ret));
	refresh_later(m);
}

void managed_names_relay(struct managed *m, struct managed_relay *r)
{
	if (r->info.id != 0)
		lookup(m, 1u + r->info.id, r->info.udp_host, r->info.udp_port);
}

void managed_names_server(struct managed *m, const char *host, uint16_t port)
{
	if (strcmp(host, m->names.server) != 0 || port != m->names.server_port)
		log_info("the server is %s through a proxy: resolving it for UDP", host);
	snprintf(m->names.server, sizeof(m->names.server), "%s", host);
	m->names.server_port = port;
	lookup(m, KEY_SERVER, host, port);
}

void managed_names_server_clear(struct managed *m)
{
	if (m->names.resolver)
		resolver_cancel(m->names.resolver, KEY_SERVER);
	m->names.server[0] = '\0';
}

void managed_names_refresh(struct managed *m)
{
	struct sockaddr_any a;
	char text[COORD_RELAY_HOST_MAX + 16];
	if (m->names.server[0])
		lookup(m, KEY_SERVER, m->names.server, m->names.server_port);
	for (size_t i = 0; i < m->relays.count; i++) {
		struct managed_relay *r = &m->relays.r[i];
		bool v6 = strchr(r->info.udp_host, ':') != NULL;
		snprintf(text, sizeof(text), "%s%s%s:%u", v6 ? "[" : "", r->info.udp_host, v6 ? "]" : "",
			 r->info.udp_port);
		if (r->info.id != 0 && r->info.udp_host[0] && sockaddr_any_parse(text, &a) < 0)
			managed_names_relay(m, r);
	}
}
