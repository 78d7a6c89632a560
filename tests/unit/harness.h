/* An in-memory network of wg_device engines with a fake clock: datagrams
 * queue between nodes by endpoint, time moves only when a test says so. */
#ifndef ROAM_TEST_HARNESS_H
#define ROAM_TEST_HARNESS_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "wg/device.h"

#define H_MAX_NODES 4
#define H_QUEUE 512

struct h_node {
	struct wg_device *dev;
	struct endpoint ep;
	uint8_t priv[32], pub[32];
	int delivered;
	uint8_t last[2048];
	size_t last_len;
	int sent_by_type[5];
	int events[8];
	/* With seen_hook set, the engine reports sources instead of roaming. */
	bool seen_hook;
	int seen_calls;
	struct endpoint seen_last;
};

struct h_dgram {
	uint8_t buf[2048];
	size_t len;
	struct endpoint from;
	int to;
};

static struct h_node h_nodes[H_MAX_NODES];
static int h_nnodes;
static uint64_t h_now = 1000000000ULL;
static struct h_dgram h_queue[H_QUEUE];
static int h_qhead, h_qlen;
static bool h_drop_all;
static struct h_dgram h_captured; /* the latest datagram sent, for replay tests */

static void h_endpoint(struct endpoint *ep, const char *ip, uint16_t port)
{
	struct sockaddr_any a;
	memset(&a, 0, sizeof(a));
	if (strchr(ip, ':')) {
		a.in6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &a.in6.sin6_addr);
		a.in6.sin6_port = htons(port);
		a.len = sizeof(a.in6);
	} else {
		a.in4.sin_family = AF_INET;
		inet_pton(AF_INET, ip, &a.in4.sin_addr);
		a.in4.sin_port = htons(port);
		a.len = sizeof(a.in4);
	}
	endpoint_from_sockaddr(ep, &a);
}

static int h_find(const struct endpoint *to)
{
	for (int i = 0; i < h_nnodes; i++)
		if (endpoint_equal(&h_nodes[i].ep, to))
			return i;
	return -1;
}

static void h_send(void *ctx, struct wg_peer *peer, const struct endpoint *to, const uint8_t *msg, size_t len)
{
	struct h_node *n = ctx;
	(void)peer;
	if (msg[0] >= 1 && msg[0] <= 4)
		n->sent_by_type[msg[0]]++;
	memcpy(h_captured.buf, msg, len);
	h_captured.len = len;
	h_captured.from = n->ep;
	h_captured.to = h_find(to);
	if (h_drop_all || h_captured.to < 0 || h_qlen == H_QUEUE)
		return;
	h_queue[(h_qhead + h_qlen++) % H_QUEUE] = h_captured;
}

static void h_deliver(void *ctx, struct wg_peer *peer, const uint8_t *pkt, size_t len)
{
	struct h_node *n = ctx;
	(void)peer;
	n->delivered++;
	memcpy(n->last, pkt, len);
	n->last_len = len;
}

static int64_t h_wall(void *ctx)
{
	(void)ctx;
	return 1700000000LL * 1000000000LL + (int64_t)h_now;
}

static void h_event(void *ctx, struct wg_peer *peer, enum wg_event ev)
{
	(void)peer;
	((struct h_node *)ctx)->events[ev]++;
}

static void h_endpoint_seen(void *ctx, struct wg_peer *peer, const struct endpoint *src)
{
	struct h_node *n = ctx;
	n->seen_calls++;
	n->seen_last = *src;
	if (!n->seen_hook)
		wg_peer_set_endpoint(peer, src); /* what the engine does without the callback */
}

static const struct wg_device_ops h_ops = {
	.send = h_send, .deliver = h_deliver, .wall_clock_ns = h_wall, .event = h_event,
};
static const struct wg_device_ops h_ops_seen = {
	.send = h_send, .deliver = h_deliver, .wall_clock_ns = h_wall, .event = h_event,
	.endpoint_seen = h_endpoint_seen,
};

static struct h_node *h_add_node(const char *ip, uint16_t port, uint8_t seed)
{
	struct h_node *n = &h_nodes[h_nnodes++];
	memset(n, 0, sizeof(*n));
	wg_device_new(&h_ops, n, &n->dev);
	memset(n->priv, seed, 32);
	wg_device_set_private_key(n->dev, n->priv);
	memcpy(n->pub, wg_device_public_key(n->dev), 32);
	h_endpoint(&n->ep, ip, port);
	return n;
}

/* a gets b as a peer owning `allowed`, reachable at b's endpoint. */
static struct wg_peer *h_connect(struct h_node *a, struct h_node *b, const char *allowed, uint8_t cidr)
{
	struct wg_peer *p;
	uint8_t addr[16];
	int fam = strchr(allowed, ':') ? AF_INET6 : AF_INET;
	wg_peer_add(a->dev, b->pub, &p);
	wg_peer_set_endpoint(p, &b->ep);
	inet_pton(fam, allowed, addr);
	wg_peer_allow(p, fam, addr, cidr);
	return p;
}

static int h_pump(void)
{
	int n = 0;
	while (h_qlen && n < 10000) {
		struct h_dgram d = h_queue[h_qhead];
		h_qhead = (h_qhead + 1) % H_QUEUE;
		h_qlen--;
		wg_device_udp_input(h_nodes[d.to].dev, d.buf, d.len, &d.from, h_now);
		n++;
	}
	return n;
}

static void h_advance(uint64_t ns)
{
	uint64_t end = h_now + ns;
	/* Step through every timer deadline on the way, as the event loop would. */
	for (;;) {
		uint64_t next = UINT64_MAX;
		for (int i = 0; i < h_nnodes; i++) {
			uint64_t d = wg_device_next_deadline(h_nodes[i].dev);
			if (d < next)
				next = d;
		}
		if (next > end)
			break;
		if (next > h_now)
			h_now = next;
		for (int i = 0; i < h_nnodes; i++)
			wg_device_run_timers(h_nodes[i].dev, h_now);
		h_pump();
	}
	h_now = end;
}

/* Builds an IPv4 (or IPv6) UDP-ish packet src -> dst with payload bytes. */
static size_t h_ip_packet(uint8_t *out, const char *src, const char *dst, size_t payload)
{
	if (strchr(src, ':')) {
		memset(out, 0, 40 + payload);
		out[0] = 0x60;
		out[4] = (uint8_t)(payload >> 8);
		out[5] = (uint8_t)payload;
		out[6] = 17;
		out[7] = 64;
		inet_pton(AF_INET6, src, out + 8);
		inet_pton(AF_INET6, dst, out + 24);
		for (size_t i = 0; i < payload; i++)
			out[40 + i] = (uint8_t)i;
		return 40 + payload;
	}
	memset(out, 0, 20 + payload);
	out[0] = 0x45;
	out[2] = (uint8_t)((20 + payload) >> 8);
	out[3] = (uint8_t)(20 + payload);
	out[8] = 64;
	out[9] = 17;
	inet_pton(AF_INET, src, out + 12);
	inet_pton(AF_INET, dst, out + 16);
	for (size_t i = 0; i < payload; i++)
		out[20 + i] = (uint8_t)i;
	return 20 + payload;
}

static void h_send_ip(struct h_node *n, const char *src, const char *dst, size_t payload)
{
	static uint8_t buf[WG_HEADROOM + 2048 + WG_TAILROOM];
	size_t len = h_ip_packet(buf + WG_HEADROOM, src, dst, payload);
	wg_device_tun_input(n->dev, buf, len, sizeof(buf), h_now);
}

static void h_reset(void)
{
	for (int i = 0; i < h_nnodes; i++)
		wg_device_free(h_nodes[i].dev);
	h_nnodes = 0;
	h_qhead = h_qlen = 0;
	h_drop_all = false;
}

#endif
