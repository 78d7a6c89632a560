/* The relay link's I/O side (relaylink.h): the ladder (ladder.c) decides,
 * this file opens and closes the links it names, sends keepalives, passes
 * datagrams between the data plane and the link that carries, and tells
 * managed mode which one that is. */
#include "daemon/relaylink/relaylink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/relay_link.h"
#include "daemon/http_client.h"
#include "daemon/relaylink/ladder.h"
#include "daemon/relaylink/relaylink_internal.h"
#include "crypto/crypto.h"
#include "util/log.h"

struct rl_slot {
	struct rl_link *link;
	bool dead;        /* failed: freed at the next run */
	uint64_t last_tx; /* a RELAY_PING after RELAY_LINK_KEEPALIVE_S of silence */
	uint32_t rtt_us;  /* its latest PONG's round trip; 0: none yet */
};

struct relaylink {
	struct ev_loop *loop;
	const struct relaylink_ops *ops;
	void *ctx;
	struct http_client *http; /* long-poll's requests */
	char url[MANAGED_URL_MAX];
	char pin[64];
	bool server_auth; /* through a TLS-intercepting proxy: K proves the server */
	bool pin_fallback; /* allowed interception: a failed pin turns server_auth on */
	uint8_t server_k[COORD_KEY_LEN];
	struct roamd_proxy proxy;
	struct ladder ladder;
	struct ev_timer timer;
	struct rl_slot slots[MANAGED_RELAY_LINK_COUNT];
	enum managed_relay_link reported;
	bool reprobe_due; /* the ladder asked for a BINDING: sent after its run */
	uint64_t dropped_tx, dropped_rx;
};

static const struct rl_link_class *class_of(enum managed_relay_link kind)
{
	return kind == MANAGED_RELAY_LINK_LONG_POLL ? &rl_poll_class : &rl_stream_class;
}

static const char *kind_name(enum managed_relay_link kind)
{
	return managed_relay_link_name(kind);
}

static void schedule(struct relaylink *rl, uint64_t at)
{
	if (at == LADDER_NEVER)
		ev_timer_stop(rl->loop, &rl->timer);
	else if (!ev_timer_pending(&rl->timer) || ev_timer_deadline(&rl->timer) != at)
		ev_timer_start(rl->loop, &rl->timer, at);
}

static void op_open(void *ctx, enum managed_relay_link kind)
{
	struct relaylink *rl = ctx;
	struct rl_slot *s = &rl->slots[kind];
	s->dead = false;
	s->last_tx = ev_now(rl->loop);
	int ret = class_of(kind)->open(rl, kind, &s->link);
	if (ret < 0) {
		log_debug("relay link %s: cannot open: %s", kind_name(kind), strerror(-ret));
		s->link = NULL;
		s->dead = true; /* the ladder hears of it at the next run */
		schedule(rl, ev_now(rl->loop));
		return;
	}
	log_debug("relay link %s: opening", kind_name(kind));
}

static void op_close(void *ctx, enum managed_relay_link kind)
{
	struct relaylink *rl = ctx;
	struct rl_slot *s = &rl->slots[kind];
	if (s->link)
		class_of(kind)->close(s->link);
	s->link = NULL;
	s->dead = false;
}

/* Not from inside ladder_run: the BINDING's send comes back to us
 * (relaylink_udp_probe). */
static void op_reprobe(void *ctx)
{
	((struct relaylink *)ctx)->reprobe_due = true;
}

static const struct ladder_ops ladder_ops = { op_open, op_close, op_reprobe };

/* Keepalives on every link that is up: the server and proxies must hear
 * from us every RELAY_LINK_KEEPALIVE_S. A RELAY_PING does that and its PONG
 * measures the link's round trip (one right after the link comes up). */
static uint64_t keepalives(struct relaylink *rl, uint64_t now)
{
	const uint64_t every = RELAY_LINK_KEEPALIVE_S * EV_NSEC_PER_SEC;
	uint64_t next = LADDER_NEVER;
	for (int k = MANAGED_RELAY_LINK_TLS; k < MANAGED_RELAY_LINK_COUNT; k++) {
		struct rl_slot *s = &rl->slots[k];
		if (!s->link || s->dead || rl->ladder.l[k].state != LADDER_UP)
			continue;
		if (now - s->last_tx >= every) {
			uint8_t ping[sizeof(struct relay_msg_ping)];
			relay_ping_build(ping, COORD_MSG_RELAY_PING, now);
			class_of((enum managed_relay_link)k)->send(s->link, ping, sizeof(ping));
			s->last_tx = now;
		}
		if (s->last_tx + every < next)
			next = s->last_tx + every;
	}
	return next;
}

static void run(struct relaylink *rl)
{
	uint64_t now = ev_now(rl->loop);
	for (int k = MANAGED_RELAY_LINK_TLS; k < MANAGED_RELAY_LINK_COUNT; k++) {
		struct rl_slot *s = &rl->slots[k];
		if (!s->dead)
			continue;
		if (s->link)
			class_of((enum managed_relay_link)k)->close(s->link);
		s->link = NULL;
		s->dead = false;
		ladder_link_failed(&rl->ladder, (enum managed_relay_link)k, now);
	}
	uint64_t next = ladder_run(&rl->ladder, now, &ladder_ops, rl);
	uint64_t ka = keepalives(rl, now);
	schedule(rl, ka < next ? ka : next);
	if (rl->reprobe_due) {
		rl->reprobe_due = false;
		if (rl->ops->reprobe)
			rl->ops->reprobe(rl->ctx);
	}
	enum managed_relay_link cur = ladder_current(&rl->ladder);
	if (cur != rl->reported) {
		log_info("relay link: %s%s", kind_name(cur), rl->ladder.forced ? " (forced by ROAMD_TEST_RELAY_LINK)" : "");
		rl->reported = cur;
		rl->ops->changed(rl->ctx, cur);
	}
}

static void on_timer(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	run(t->data);
}

/* --- the links' callbacks ----------------------------------------------- */

void relaylink_on_up(struct relaylink *rl, enum managed_relay_link kind)
{
	log_debug("relay link %s: up", kind_name(kind));
	ladder_link_up(&rl->ladder, kind, ev_now(rl->loop));
	rl->slots[kind].last_tx = 0; /* a PING at once: its round trip */
	rl->slots[kind].rtt_us = 0;
	/* Not run() here: it may close this very link, inside its callback. */
	schedule(rl, ev_now(rl->loop));
}

void relaylink_on_rx(struct relaylink *rl, enum managed_relay_link kind, const uint8_t *d, size_t len)
{
	ladder_link_rx(&rl->ladder, kind, ev_now(rl->loop));
	uint8_t type = len ? d[0] : 0, ptype;
	uint64_t echo, now = ev_now(rl->loop);
	if (type == COORD_MSG_RELAY && len > sizeof(struct coord_msg_relay_header)) {
		rl->ops->deliver(rl->ctx, d, len);
	} else if (type == COORD_MSG_RELAY_PONG) {
		/* Our own clock echoed: believed only if it could be ours. */
		if (relay_ping_parse(d, len, &ptype, &echo) == 0 && ptype == COORD_MSG_RELAY_PONG && echo <= now &&
		    now - echo < (uint64_t)RELAY_LINK_IDLE_TIMEOUT_S * EV_NSEC_PER_SEC) {
			rl->slots[kind].rtt_us = (uint32_t)((now - echo) / 1000) + 1;
			if (rl->ops->pong && kind == ladder_current(&rl->ladder))
				rl->ops->pong(rl->ctx, echo);
		}
	} else if (type != COORD_MSG_RELAY_KEEPALIVE) {
		rl->dropped_rx++;
	}
}

void relaylink_on_failed(struct relaylink *rl, enum managed_relay_link kind, int err)
{
	struct rl_slot *s = &rl->slots[kind];
	if (s->dead || !s->link)
		return;
	log_debug("relay link %s: %s", kind_name(kind), strerror(err < 0 ? -err : EIO));
	s->dead = true;
	schedule(rl, ev_now(rl->loop));
}

struct ev_loop *relaylink_loop(const struct relaylink *rl)
{
	return rl->loop;
}

void relaylink_url(const struct relaylink *rl, const char *target, char *out, size_t cap)
{
	size_t n = strlen(rl->url);
	while (n && rl->url[n - 1] == '/')
		n--;
	snprintf(out, cap, "%.*s%s", (int)n, rl->url, target);
}

void relaylink_set_server_auth(struct relaylink *rl, const uint8_t k[COORD_KEY_LEN])
{
	if (!rl)
		return;
	rl->server_auth = k != NULL;
	rl->pin_fallback = false;
	if (k)
		memcpy(rl->server_k, k, COORD_KEY_LEN);
	else
		crypto_wipe(rl->server_k, sizeof(rl->server_k));
}

void relaylink_set_server_auth_fallback(struct relaylink *rl, const uint8_t k[COORD_KEY_LEN])
{
	if (!rl || rl->server_auth)
		return;
	relaylink_set_server_auth(rl, NULL);
	if (!k)
		return;
	memcpy(rl->server_k, k, COORD_KEY_LEN);
	rl->pin_fallback = true;
}

bool relaylink_pin_failed(struct relaylink *rl)
{
	if (!rl->pin_fallback || rl->server_auth)
		return false;
	rl->server_auth = true;
	log_warn("relay %s: its TLS key is not the pinned one (a TLS-intercepting proxy on the way to this relay "
		 "only?): interception allowed, the relay now proves itself inside",
		 rl->url);
	return true;
}

const uint8_t *relaylink_server_auth(const struct relaylink *rl)
{
	return rl->server_auth ? rl->server_k : NULL;
}

const char *relaylink_pin(const struct relaylink *rl)
{
	return rl->pin[0] ? rl->pin : NULL;
}

int relaylink_auth(const struct relaylink *rl, const char *method, const char *target, char *out, size_t cap)
{
	return rl->ops->auth(rl->ctx, method, target, out, cap);
}

int relaylink_headers(const struct relaylink *rl, char *out, size_t cap)
{
	if (!cap)
		return -ENOSPC;
	out[0] = '\0';
	return rl->ops->headers ? rl->ops->headers(rl->ctx, out, cap) : 0;
}

struct http_client *relaylink_http(const struct relaylink *rl)
{
	return rl->http;
}

const struct roamd_proxy *relaylink_proxy(const struct relaylink *rl)
{
	return &rl->proxy;
}

/* --- the API ------------------------------------------------------------ */

int relaylink_new(struct ev_loop *loop, const struct relaylink_ops *ops, void *ctx, struct relaylink **out)
{
	struct relaylink *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return -ENOMEM;
	rl->loop = loop;
	rl->ops = ops;
	rl->ctx = ctx;
	int ret = http_client_new(loop, &rl->http);
	if (ret < 0) {
		free(rl);
		return ret;
	}
	ev_timer_init(&rl->timer, on_timer, rl);
	*out = rl;
	return 0;
}

void relaylink_stop(struct relaylink *rl)
{
	if (!rl)
		return;
	if (rl->dropped_tx || rl->dropped_rx)
		log_info("relay links: %llu datagrams dropped on the way out (no link up, or one too far behind), %llu "
			 "received that were not ours", (unsigned long long)rl->dropped_tx,
			 (unsigned long long)rl->dropped_rx);
	rl->dropped_tx = rl->dropped_rx = 0;
	ladder_stop(&rl->ladder, &ladder_ops, rl);
	for (int k = 0; k < MANAGED_RELAY_LINK_COUNT; k++)
		op_close(rl, (enum managed_relay_link)k);
	ev_timer_stop(rl->loop, &rl->timer);
	if (rl->reported != MANAGED_RELAY_LINK_NONE) {
		rl->reported = MANAGED_RELAY_LINK_NONE;
		rl->ops->changed(rl->ctx, MANAGED_RELAY_LINK_NONE);
	}
}

bool relaylink_runs_with(const struct relaylink *rl, const char *url, const struct roamd_proxy *proxy)
{
	struct roamd_proxy none = { .set = false };
	if (!proxy)
		proxy = &none;
	return rl->ladder.running && strcmp(rl->url, url) == 0 && rl->proxy.set == proxy->set &&
	       (!proxy->set ||
		(strcmp(rl->proxy.url, proxy->url) == 0 && strcmp(rl->proxy.no_proxy, proxy->no_proxy) == 0));
}

void relaylink_free(struct relaylink *rl)
{
	if (!rl)
		return;
	relaylink_stop(rl);
	crypto_wipe(&rl->proxy, sizeof(rl->proxy)); /* may hold the proxy's password */
	http_client_free(rl->http);
	free(rl);
}

int relaylink_start(struct relaylink *rl, const char *url, const char *pin, const struct roamd_proxy *proxy,
		    enum managed_relay_link forced)
{
	if (strlen(url) >= sizeof(rl->url) || (pin && strlen(pin) >= sizeof(rl->pin)))
		return -EINVAL;
	relaylink_stop(rl);
	snprintf(rl->url, sizeof(rl->url), "%s", url);
	snprintf(rl->pin, sizeof(rl->pin), "%s", pin ? pin : "");
	memset(&rl->proxy, 0, sizeof(rl->proxy));
	if (proxy)
		rl->proxy = *proxy;
	ladder_start(&rl->ladder, ev_now(rl->loop), forced);
	run(rl);
	return 0;
}

void relaylink_udp_ack(struct relaylink *rl)
{
	if (!rl->ladder.running)
		return;
	ladder_udp_ack(&rl->ladder, ev_now(rl->loop));
	run(rl);
}

void relaylink_udp_probe(struct relaylink *rl)
{
	if (!rl->ladder.running || rl->ladder.udp_probe_at)
		return;
	ladder_udp_probe(&rl->ladder, ev_now(rl->loop));
	run(rl);
}

void relaylink_udp_blocked(struct relaylink *rl, bool blocked)
{
	if (!rl->ladder.running || blocked == rl->ladder.udp_blocked)
		return;
	ladder_udp_blocked(&rl->ladder, blocked);
	run(rl);
}

void relaylink_send(struct relaylink *rl, const uint8_t *d, size_t len)
{
	/* The link that carries; while UDP takes over, the TCP links still
	 * open take what the data plane sent before it heard. */
	for (int k = MANAGED_RELAY_LINK_TLS; k < MANAGED_RELAY_LINK_COUNT; k++) {
		struct rl_slot *s = &rl->slots[k];
		if (!s->link || s->dead || rl->ladder.l[k].state != LADDER_UP)
			continue;
		if (class_of((enum managed_relay_link)k)->send(s->link, d, len) < 0)
			rl->dropped_tx++;
		else
			s->last_tx = ev_now(rl->loop);
		return;
	}
	rl->dropped_tx++;
}

void relaylink_flush(struct relaylink *rl)
{
	for (int k = MANAGED_RELAY_LINK_TLS; k < MANAGED_RELAY_LINK_COUNT; k++) {
		struct rl_slot *s = &rl->slots[k];
		if (s->link && !s->dead && class_of((enum managed_relay_link)k)->flush)
			class_of((enum managed_relay_link)k)->flush(s->link);
	}
}

int relaylink_ping(struct relaylink *rl, uint64_t now)
{
	enum managed_relay_link cur = ladder_current(&rl->ladder);
	struct rl_slot *s = &rl->slots[cur];
	uint8_t ping[sizeof(struct relay_msg_ping)];
	if (!ladder_is_tcp(cur) || !s->link || s->dead)
		return -ENOTCONN;
	relay_ping_build(ping, COORD_MSG_RELAY_PING, now);
	int ret = class_of(cur)->send(s->link, ping, sizeof(ping));
	if (ret == 0)
		s->last_tx = now;
	return ret;
}

uint32_t relaylink_rtt_us(const struct relaylink *rl)
{
	enum managed_relay_link cur = ladder_current(&rl->ladder);
	return ladder_is_tcp(cur) ? rl->slots[cur].rtt_us : 0;
}

bool relaylink_short_polls(const struct relaylink *rl)
{
	enum managed_relay_link cur = ladder_current(&rl->ladder);
	const struct rl_slot *s = &rl->slots[cur];
	return cur > MANAGED_RELAY_LINK_UDP && s->link && class_of(cur)->short_polls &&
	       class_of(cur)->short_polls(s->link);
}

enum managed_relay_link relaylink_current(const struct relaylink *rl)
{
	return ladder_current(&rl->ladder);
}

unsigned relaylink_binding_interval_s(const struct relaylink *rl, unsigned normal_s)
{
	return ladder_binding_interval_s(&rl->ladder, normal_s);
}
