/* A recorder for the GRO coalescer in tests: every emitted write and every
 * packet passed back to the caller, in the order the kernel would see them. */
#ifndef ROAM_TEST_GRO_EVENTS_H
#define ROAM_TEST_GRO_EVENTS_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "net/tun_offload.h"

#define GRO_EVENTS_MAX 1024

struct gro_event {
	bool pass;
	size_t len;
	uint8_t *data; /* vnet header + packet, or the plain packet on pass */
};

static struct gro_event events[GRO_EVENTS_MAX];
static size_t n_events;
static struct tun_gro gro;

static inline void log_event(bool pass, const uint8_t *p, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (n_events == GRO_EVENTS_MAX || !copy)
		abort();
	memcpy(copy, p, len);
	events[n_events].pass = pass;
	events[n_events].len = len;
	events[n_events].data = copy;
	n_events++;
}

static inline void on_emit(void *ctx, const uint8_t *vnet_pkt, size_t len)
{
	(void)ctx;
	log_event(false, vnet_pkt, len);
}

static inline void events_reset(void)
{
	for (size_t i = 0; i < n_events; i++)
		free(events[i].data);
	n_events = 0;
}

static inline void gro_feed(const uint8_t *pkt, size_t len, enum tun_gro_verdict want)
{
	enum tun_gro_verdict v = tun_gro_add(&gro, pkt, len);

	CHECK_EQ(v, want);
	if (v == TUN_GRO_PASS)
		log_event(true, pkt, len);
}

static inline struct virtio_net_hdr event_hdr(size_t i)
{
	struct virtio_net_hdr h;

	memcpy(&h, events[i].data, sizeof(h));
	return h;
}

#endif
