/* The packet paths. Each readable event drains a bounded batch: datagrams
 * come in with recvmmsg and are decrypted in place; TUN packets are read one
 * by one (plain TUN has no batch read) and encrypted in place; everything the
 * engine sends goes to its transport (daemon/transport/), which for UDP
 * collects one batch that leaves with sendmmsg. This shape is where UDP
 * GSO/GRO and TUN offloads plug in (docs/performance.md). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "coord/udp.h"
#include "daemon/paths/paths.h"
#include "daemon/roamd.h"
#include "daemon/transport/transport.h"
#include "util/log.h"

/* Upper bounds per wakeup, so one direction cannot starve the other. */
#define RX_BATCHES_PER_WAKEUP 8
#define TUN_READS_PER_WAKEUP 256

static void wg_send(void *ctx, struct wg_peer *peer, const struct endpoint *to, const uint8_t *msg, size_t len)
{
	if (peer && roamd_paths_data_out(ctx, peer, to, msg, len))
		return; /* held for the next path (daemon/paths/handover.c) */
	roamd_transport_send(ctx, to, msg, len);
}

static void wg_deliver(void *ctx, struct wg_peer *peer, const uint8_t *pkt, size_t len)
{
	struct roamd *d = ctx;
	(void)peer;
	if (d->tun_vnet) {
		/* Held for coalescing, or written now behind an empty header. */
		if (tun_gro_add(d->tun_gro, pkt, len) == TUN_GRO_HELD)
			return;
		static uint8_t no_offload[TUN_VNET_HDR_LEN]; /* all zero: no GSO, no checksum to finish */
		/* writev does not write through iov_base; the cast only drops const. */
		struct iovec iov[2] = { { no_offload, sizeof(no_offload) }, { (void *)(uintptr_t)pkt, len } };
		if (writev(d->tun_fd, iov, 2) != (ssize_t)(sizeof(no_offload) + len))
			d->stats.tun_write_errors++;
		return;
	}
	if (write(d->tun_fd, pkt, len) != (ssize_t)len)
		d->stats.tun_write_errors++;
}

static int64_t wg_wall_clock(void *ctx)
{
	struct timespec ts;
	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void peer_name(const struct wg_peer *peer, char out[12])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *k = peer->public_key;
	/* The first 8 base64 characters of the key, as `wg` users know them. */
	for (int i = 0; i < 2; i++) {
		uint32_t v = (uint32_t)k[3 * i] << 16 | (uint32_t)k[3 * i + 1] << 8 | k[3 * i + 2];
		for (int j = 0; j < 4; j++)
			out[4 * i + j] = b64[(v >> (18 - 6 * j)) & 63];
	}
	out[8] = '\0';
}

static void wg_event(void *ctx, struct wg_peer *peer, enum wg_event ev)
{
	static const char *const names[] = {
		[WG_EVENT_HANDSHAKE_INITIATED] = "sent handshake initiation",
		[WG_EVENT_HANDSHAKE_COMPLETE] = "handshake complete, session established",
		[WG_EVENT_HANDSHAKE_GAVE_UP] = "no handshake response, giving up until new traffic",
		[WG_EVENT_KEYS_ZEROED] = "session keys wiped after inactivity",
		[WG_EVENT_ENDPOINT_CHANGED] = "endpoint changed",
		[WG_EVENT_COOKIE_SENT] = "under load: answered with a cookie",
		[WG_EVENT_COOKIE_RECEIVED] = "received a cookie: peer is under load",
	};
	char name[COORD_NAME_MAX + 1] = "-", ep[ENDPOINT_STRLEN] = "";
	(void)ctx;
	if (peer) {
		/* Peers are named alike in every line: the name the network
		 * gave them, else the key prefix `wg` users know. */
		const struct managed_peer_info *mp = peer->user;
		if (mp && mp->name[0])
			snprintf(name, sizeof(name), "%s", mp->name);
		else
			peer_name(peer, name);
		if (peer->has_endpoint)
			endpoint_format(&peer->endpoint, ep, sizeof(ep));
	}
	enum log_level level = ev == WG_EVENT_HANDSHAKE_INITIATED || ev == WG_EVENT_COOKIE_SENT ? LOG_DEBUG : LOG_INFO;
	log_msg(level, "peer %s%s%s: %s", name, *ep ? " at " : "", ep, names[ev]);
}

const struct wg_device_ops roamd_wg_ops = {
	.send = wg_send,
	.deliver = wg_deliver,
	.wall_clock_ns = wg_wall_clock,
	.event = wg_event,
	.no_peer = roamd_ondemand_no_peer,
	.unknown_initiator = roamd_ondemand_unknown_initiator,
};

void roamd_wg_timer_rearm(struct roamd *d)
{
	uint64_t deadline = wg_device_next_deadline(d->wg);
	if (deadline == UINT64_MAX)
		ev_timer_stop(d->loop, &d->wg_timer);
	else if (!ev_timer_pending(&d->wg_timer) || ev_timer_deadline(&d->wg_timer) != deadline)
		ev_timer_start(d->loop, &d->wg_timer, deadline);
}

static void on_udp_readable(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct roamd *d = io->data;
	struct endpoint from;
	(void)revents;
	for (int batch = 0; batch < RX_BATCHES_PER_WAKEUP; batch++) {
		int n = udp_recv_batch(&d->udp, d->rx);
		if (n < 0) {
			if (n != -EAGAIN)
				log_warn("udp receive: %s", strerror(-n));
			break;
		}
		uint64_t now = ev_now(loop);
		for (int i = 0; i < n; i++) {
			struct udp_slot *s = &d->rx->slots[i];
			if (s->truncated) {
				d->stats.udp_truncated++;
				continue;
			}
			endpoint_from_sockaddr(&from, &s->addr);
			/* A GRO slot holds several datagrams of segment_size bytes. */
			size_t seg = s->segment_size ? s->segment_size : s->len;
			for (size_t off = 0; off < s->len; off += seg) {
				size_t len = s->len - off < seg ? s->len - off : seg;
				roamd_datagram_input(d, s->buf + off, len, &from, now);
			}
		}
		/* One coalesced TUN write per flow of this batch. */
		if (d->tun_gro)
			tun_gro_flush(d->tun_gro);
		roamd_dataplane_flush(d);
		if ((size_t)n < UDP_BATCH_MAX)
			break;
	}
	roamd_wg_timer_rearm(d);
}

/* Managed mode: the packet's application class and flow, for the path it
 * takes (daemon/paths/handover.c reads d->tx_flow while the engine sends
 * it). At most PATH_CLASS_MAX rules, first match, no allocation. */
void roamd_tun_input(struct roamd *d, uint8_t *buf, size_t len, size_t cap, uint64_t now)
{
	if (d->is_managed)
		path_classify(d->host.settings.classes, d->host.settings.n_classes, buf + WG_HEADROOM, len,
			      &d->tx_flow);
	wg_device_tun_input(d->wg, buf, len, cap, now);
	d->tx_flow.valid = false;
}

static void tun_input(struct roamd *d, uint8_t *buf, size_t len, uint64_t now)
{
	roamd_tun_input(d, buf, len, d->tun_buf_cap, now);
}

/* Plain TUN: one packet per read, straight into the encryption buffer. */
static bool tun_read_plain(struct roamd *d, uint64_t now)
{
	size_t room = d->tun_buf_cap - WG_HEADROOM - WG_TAILROOM;
	ssize_t n = read(d->tun_fd, d->tun_buf + WG_HEADROOM, room);
	if (n < 0)
		return false;
	tun_input(d, d->tun_buf, (size_t)n, now);
	return true;
}

/* Offload TUN: a read may be a TCP super-packet; each segment is cut into
 * the encryption buffer and sent, and equal-size results leave together as
 * one UDP GSO send. */
static bool tun_read_offload(struct roamd *d, uint64_t now)
{
	struct tun_offload_pkt pkt;
	ssize_t n = read(d->tun_fd, d->tun_read_buf, TUN_OFFLOAD_READ_MAX);
	if (n < 0)
		return false;
	if (tun_offload_parse(d->tun_read_buf, (size_t)n, &pkt) < 0) {
		d->stats.tun_read_errors++;
		return true;
	}
	size_t room = d->tun_buf_cap - WG_HEADROOM - WG_TAILROOM;
	for (size_t i = 0; i < pkt.segments; i++) {
		size_t len;
		if (tun_offload_segment(&pkt, i, d->tun_buf + WG_HEADROOM, room, &len) < 0) {
			d->stats.tun_read_errors++;
			continue;
		}
		tun_input(d, d->tun_buf, len, now);
	}
	return true;
}

static void on_tun_readable(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct roamd *d = io->data;
	(void)revents;
	for (int i = 0; i < TUN_READS_PER_WAKEUP; i++) {
		bool more = d->tun_vnet ? tun_read_offload(d, ev_now(loop)) : tun_read_plain(d, ev_now(loop));
		if (!more) {
			if (errno != EAGAIN && errno != EINTR) {
				d->stats.tun_read_errors++;
				log_warn("tun read: %s", strerror(errno));
			}
			break;
		}
		/* A super-packet can fill the whole batch: send as we go. */
		if (d->tx->count >= UDP_BATCH_MAX / 2)
			roamd_dataplane_flush(d);
	}
	roamd_dataplane_flush(d);
	roamd_wg_timer_rearm(d);
}

static void on_wg_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct roamd *d = t->data;
	wg_device_run_timers(d->wg, ev_now(loop));
	roamd_dataplane_flush(d);
	roamd_wg_timer_rearm(d);
}

/* The last phase of every loop turn: whatever any callback made the engine
 * queue leaves now, and its timer follows its earliest deadline. */
static void on_turn_end(struct ev_loop *loop, void *data)
{
	struct roamd *d = data;
	(void)loop;
	if (d->is_managed)
		roamd_paths_rearm(d);
	roamd_dataplane_flush(d);
	roamd_wg_timer_rearm(d);
}

int roamd_dataplane_start(struct roamd *d)
{
	int ret;
	/* Room for the largest datagram a peer may send us at this MTU. */
	size_t slot_cap = d->cfg->mtu + WG_HEADROOM + WG_TAILROOM + 64;
	if (slot_cap < 2048)
		slot_cap = 2048;
	/* Offloads need room for up to 64 KiB per slot; without them the
	 * kernel hands over single datagrams. */
	if (udp_enable_gro(&d->udp) < 0)
		log_info("UDP GRO unavailable: receiving datagrams one by one");
	size_t rx_cap = d->udp.gro ? UDP_GSO_SLOT_BYTES : slot_cap;
	size_t tx_cap = d->udp.gso ? UDP_GSO_SLOT_BYTES : slot_cap;
	if ((ret = udp_batch_new(rx_cap, &d->rx)) < 0 || (ret = udp_batch_new(tx_cap, &d->tx)) < 0)
		return ret;
	d->tx->count = 0;
	ev_io_init(&d->udp_io, d->udp.fd, EPOLLIN, on_udp_readable, d);
	ev_io_init(&d->tun_io, d->tun_fd, EPOLLIN, on_tun_readable, d);
	ev_timer_init(&d->wg_timer, on_wg_timer, d);
	if ((ret = ev_io_start(d->loop, &d->udp_io)) < 0 || (ret = ev_io_start(d->loop, &d->tun_io)) < 0)
		return ret;
	ev_loop_set_prepare(d->loop, on_turn_end, d);
	roamd_wg_timer_rearm(d);
	return 0;
}

void roamd_dataplane_stop(struct roamd *d)
{
	ev_loop_set_prepare(d->loop, NULL, NULL);
	ev_io_stop(d->loop, &d->udp_io);
	ev_io_stop(d->loop, &d->tun_io);
	ev_timer_stop(d->loop, &d->wg_timer);
	udp_batch_free(d->rx);
	udp_batch_free(d->tx);
	d->rx = d->tx = NULL;
}
