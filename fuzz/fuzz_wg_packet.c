/* Fuzzes everything that parses bytes from the underlay: the four WireGuard
 * message types and, through a real session, the inner IP packet checks.
 * The first byte picks the path:
 *   0: the rest is a raw datagram to a responder that has one peer
 *   1: the rest is an inner packet, encrypted correctly on an established
 *      session, so the fuzzer reaches inner-packet validation; then the same
 *      datagram again (a duplicate from another source, or a replay)
 *   2+: raw datagram to the initiator side mid-handshake */
#include <stdint.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "wg/device.h"

static struct wg_device *dev_a, *dev_b;
static struct wg_peer *peer_ab, *peer_ba;
static uint8_t last_msg[2048];
static size_t last_len;
static uint64_t now = 1000000000ULL;

static void capture_send(void *ctx, struct wg_peer *p, const struct endpoint *to, const uint8_t *msg, size_t len)
{
	(void)ctx, (void)p, (void)to;
	if (len <= sizeof(last_msg)) {
		memcpy(last_msg, msg, len);
		last_len = len;
	}
}
static void ignore_deliver(void *ctx, struct wg_peer *p, const uint8_t *pkt, size_t len) { (void)ctx, (void)p, (void)pkt, (void)len; }
static int64_t fixed_wall(void *ctx) { (void)ctx; return 1700000000LL * 1000000000LL; }
static void on_rejected(void *ctx, struct wg_peer *p, const struct endpoint *src, enum wg_reject why)
{
	(void)ctx, (void)p;
	if (!src || why > WG_REJECT_UNKNOWN_INDEX)
		abort();
}
/* A duplicate names its first copy's source, and that is another one. */
static void on_repeated(void *ctx, struct wg_peer *p, const struct endpoint *src, const struct endpoint *first,
			bool duplicate)
{
	(void)ctx, (void)p;
	if (duplicate && (!first || endpoint_equal(first, src)))
		abort();
}
static const struct wg_device_ops ops = { .send = capture_send, .deliver = ignore_deliver, .wall_clock_ns = fixed_wall,
					  .rejected = on_rejected, .repeated = on_repeated };

static void setup(void)
{
	uint8_t ka[32], kb[32], addr[4] = { 10, 0, 0, 0 };
	struct endpoint ep;
	struct sockaddr_any a = { .in4 = { .sin_family = AF_INET, .sin_port = htons(51820) }, .len = sizeof(a.in4) };
	endpoint_from_sockaddr(&ep, &a);
	crypto_init();
	memset(ka, 1, 32);
	memset(kb, 2, 32);
	wg_device_new(&ops, NULL, &dev_a);
	wg_device_new(&ops, NULL, &dev_b);
	wg_device_set_private_key(dev_a, ka);
	wg_device_set_private_key(dev_b, kb);
	wg_peer_add(dev_a, wg_device_public_key(dev_b), &peer_ab);
	wg_peer_add(dev_b, wg_device_public_key(dev_a), &peer_ba);
	wg_peer_set_endpoint(peer_ab, &ep);
	wg_peer_set_endpoint(peer_ba, &ep);
	wg_peer_allow(peer_ab, AF_INET, addr, 8);
	addr[3] = 1;
	wg_peer_allow(peer_ba, AF_INET, addr, 32);
	/* Handshake A -> B, then confirm with a keepalive B receives. */
	wg_peer_initiate_handshake(peer_ab, now);
	wg_device_udp_input(dev_b, last_msg, last_len, &ep, now);
	wg_device_udp_input(dev_a, last_msg, last_len, &ep, now);
	wg_device_udp_input(dev_b, last_msg, last_len, &ep, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[WG_HEADROOM + 2048 + WG_TAILROOM];
	struct endpoint from;
	struct sockaddr_any from_addr = { .in4 = { .sin_family = AF_INET, .sin_port = htons(1234) },
					  .len = sizeof(struct sockaddr_in) };
	endpoint_from_sockaddr(&from, &from_addr);
	if (!dev_a)
		setup();
	if (size == 0 || size > 2048)
		return 0;
	now += 1000; /* keep the session alive: well under REJECT_AFTER_TIME over a run */
	switch (data[0]) {
	case 0:
		memcpy(buf, data + 1, size - 1);
		wg_device_udp_input(dev_b, buf, size - 1, &from, now);
		break;
	case 1:
		/* Encrypt the rest as an inner packet from A, bypassing A's own
		 * destination check by aiming it at B directly. */
		memset(buf, 0, sizeof(buf));
		memcpy(buf + WG_HEADROOM, data + 1, size - 1);
		if (size - 1 >= 20) {
			buf[WG_HEADROOM] = (uint8_t)((buf[WG_HEADROOM] & 0x0f) | 0x40);
			memcpy(buf + WG_HEADROOM + 16, "\x0a\x00\x00\x01", 4);
		}
		last_len = 0;
		wg_device_tun_input(dev_a, buf, size - 1, sizeof(buf), now);
		if (last_len) {
			uint8_t copy[sizeof(last_msg)];
			size_t copy_len = last_len;
			memcpy(copy, last_msg, copy_len);
			wg_device_udp_input(dev_b, last_msg, last_len, &from, now);
			/* The same datagram again, from another source when the
			 * inner packet's last byte is odd: a duplicate, else a replay. */
			struct endpoint other = from;
			if (data[size - 1] & 1)
				other.bytes[other.len - 1] ^= 1;
			wg_device_udp_input(dev_b, copy, copy_len, &other, now);
		}
		break;
	default:
		memcpy(buf, data + 1, size - 1);
		wg_device_udp_input(dev_a, buf, size - 1, &from, now);
		break;
	}
	wg_device_run_timers(dev_a, now);
	wg_device_run_timers(dev_b, now);
	return 0;
}
