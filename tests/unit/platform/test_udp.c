/* Underlay socket over loopback: dual-stack bind, batched send and receive
 * in both families, v4 sources normalised, per-slot errors, truncation. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "net/udp.h"

#define SLOT_CAP 2048

static void wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	CHECK_INT(poll(&p, 1, 2000), ==, 1);
}

static struct sockaddr_any loopback(const char *host, uint16_t port)
{
	struct sockaddr_any a;
	char text[64];

	snprintf(text, sizeof(text), "%s:%u", host, port);
	CHECK_INT(sockaddr_any_parse(text, &a), ==, 0);
	return a;
}

/* Receive until want datagrams came, each once (payload "<n>"), checking
 * each one's source address. */
static void receive_all(const struct udp_socket *s, struct udp_batch *b, size_t want, bool *seen,
			const struct sockaddr_any *v4_src, const struct sockaddr_any *v6_src)
{
	size_t got = 0;

	while (got < want) {
		int n;
		wait_readable(s->fd);
		n = udp_recv_batch(s, b);
		CHECK_INT(n, >, 0);
		CHECK_INT(b->count, ==, n);
		for (int i = 0; i < n; i++) {
			struct udp_slot *slot = &b->slots[i];
			unsigned idx;
			CHECK(!slot->truncated);
			CHECK_INT(slot->len, >, 0);
			slot->buf[slot->len] = '\0';
			CHECK_INT(sscanf((char *)slot->buf, "%u", &idx), ==, 1);
			CHECK_INT(idx, <, want);
			CHECK(!seen[idx]);
			seen[idx] = true;
			/* Even slots went over IPv4 and must come back as AF_INET. */
			CHECK(sockaddr_any_equal(&slot->addr, idx % 2 == 0 || !v6_src ? v4_src : v6_src));
			got++;
		}
	}
}

static void test_batches(struct udp_socket *s, bool have_v6)
{
	struct udp_batch *tx = NULL, *rx = NULL;
	struct sockaddr_any to4 = loopback("127.0.0.1", s->port), to6;
	bool seen[UDP_BATCH_MAX] = { false };
	char payload[UDP_BATCH_MAX][8];

	CHECK_INT(udp_batch_new(SLOT_CAP, &tx), ==, 0);
	CHECK_INT(udp_batch_new(SLOT_CAP, &rx), ==, 0);
	if (have_v6)
		to6 = loopback("[::1]", s->port);

	/* A full batch; slots point at the caller's own buffers. */
	for (size_t i = 0; i < UDP_BATCH_MAX; i++) {
		int len = snprintf(payload[i], sizeof(payload[i]), "%zu", i);
		tx->slots[i].buf = (uint8_t *)payload[i];
		tx->slots[i].len = (size_t)len;
		tx->slots[i].addr = (i % 2 == 0 || !have_v6) ? to4 : to6;
	}
	tx->count = UDP_BATCH_MAX;
	CHECK_INT(udp_send_batch(s, tx), ==, UDP_BATCH_MAX);
	for (size_t i = 0; i < UDP_BATCH_MAX; i++)
		CHECK_INT(tx->slots[i].err, ==, 0);

	/* Our own socket sent them, so the source is our port on loopback. */
	receive_all(s, rx, UDP_BATCH_MAX, seen, &to4, have_v6 ? &to6 : NULL);
	CHECK_INT(udp_recv_batch(s, rx), ==, -EAGAIN);

	udp_batch_free(tx);
	udp_batch_free(rx);
}

static void test_slot_errors_and_truncation(struct udp_socket *s)
{
	struct udp_batch *tx = NULL, *rx = NULL;
	struct sockaddr_any to4 = loopback("127.0.0.1", s->port);
	uint8_t big[100] = { 0 };

	CHECK_INT(udp_batch_new(SLOT_CAP, &tx), ==, 0);
	CHECK_INT(udp_batch_new(10, &rx), ==, 0);

	/* Slot 0 has no address: it fails alone, slot 1 still goes. */
	memset(&tx->slots[0].addr, 0, sizeof(tx->slots[0].addr));
	tx->slots[0].len = 1;
	tx->slots[1].addr = to4;
	tx->slots[1].buf = big;
	tx->slots[1].len = sizeof(big);
	tx->count = 2;
	CHECK_INT(udp_send_batch(s, tx), ==, 2);
	CHECK_INT(tx->slots[0].err, ==, -EAFNOSUPPORT);
	CHECK_INT(tx->slots[1].err, ==, 0);

	wait_readable(s->fd);
	CHECK_INT(udp_recv_batch(s, rx), ==, 1);
	CHECK(rx->slots[0].truncated);
	CHECK_INT(rx->slots[0].len, ==, 10);

	/* The single-datagram path. */
	CHECK_INT(udp_send(s, &to4, "x", 1), ==, 0);
	wait_readable(s->fd);
	CHECK_INT(udp_recv_batch(s, rx), ==, 1);
	CHECK_INT(rx->slots[0].len, ==, 1);
	CHECK(!rx->slots[0].truncated);

	udp_batch_free(tx);
	udp_batch_free(rx);
	udp_batch_free(NULL);
}

/* GSO out, GRO in: 40 datagrams of 1000 bytes leave as one UDP_SEGMENT
 * send and every byte arrives, coalesced or not, in order per segment. */
static void test_gso_gro(struct udp_socket *s)
{
	enum { SEG = 1000, N = 40 };
	struct udp_batch *tx, *rx;
	struct sockaddr_any self = loopback("127.0.0.1", s->port);
	int gro = udp_enable_gro(s);

	CHECK_INT(udp_batch_new(UDP_GSO_SLOT_BYTES, &tx), ==, 0);
	CHECK_INT(udp_batch_new(UDP_GSO_SLOT_BYTES, &rx), ==, 0);
	for (size_t i = 0; i < N * SEG; i++)
		tx->slots[0].buf[i] = (uint8_t)(i / SEG);
	tx->slots[0].len = N * SEG;
	tx->slots[0].segment_size = SEG;
	tx->slots[0].addr = self;
	tx->count = 1;
	CHECK_INT(udp_send_batch(s, tx), ==, 1);
	CHECK_INT(tx->slots[0].err, ==, 0);

	size_t segments = 0, coalesced = 0;
	while (segments < N) {
		wait_readable(s->fd);
		int n = udp_recv_batch(s, rx);
		CHECK_INT(n, >, 0);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct udp_slot *slot = &rx->slots[i];
			size_t seg = slot->segment_size ? slot->segment_size : slot->len;
			CHECK_INT(seg, ==, SEG);
			if (slot->segment_size)
				coalesced++;
			for (size_t off = 0; off < slot->len; off += seg, segments++)
				CHECK_INT(slot->buf[off], ==, (uint8_t)segments);
		}
	}
	CHECK_INT(segments, ==, N);
	printf("gso/gro: gso %s, gro %s, %zu coalesced receive(s)\n", s->gso ? "on" : "off",
	       gro == 0 ? "on" : "off", coalesced);
	udp_batch_free(tx);
	udp_batch_free(rx);
}

/* Receive one datagram into buf (no GRO on r: each arrives alone). */
static size_t recv_one(struct udp_socket *r, struct udp_batch *rx, size_t i, uint8_t *first)
{
	static size_t have, next;

	if (i == 0)
		have = next = 0;
	if (next == have) {
		wait_readable(r->fd);
		int n = udp_recv_batch(r, rx);
		CHECK_INT(n, >, 0);
		have = n > 0 ? (size_t)n : 0;
		next = 0;
		if (!have)
			return 0;
	}
	*first = rx->slots[next].buf[0];
	return rx->slots[next++].len;
}

/* The send queue: corked, equal datagrams for one destination share one
 * GSO slot (a shorter one may end it), another size or destination opens
 * the next slot; the uncork sends them all, in order. Uncorked: at once. */
static void test_sendq(void)
{
	enum { N = 10, SEG = 1000 };
	static const size_t lens[] = { SEG, SEG, SEG, SEG, SEG, SEG, SEG, SEG, SEG, SEG, 500, SEG, 700 };
	struct udp_socket tx, r, other;
	struct udp_sendq q;
	struct udp_batch *rx;
	uint8_t buf[SEG], first;
	size_t count = sizeof(lens) / sizeof(lens[0]);

	CHECK_INT(udp_open(0, &tx), ==, 0);
	CHECK_INT(udp_open(0, &r), ==, 0);
	CHECK_INT(udp_open(0, &other), ==, 0);
	CHECK_INT(udp_sendq_init(&q), ==, 0);
	CHECK_INT(udp_batch_new(SLOT_CAP, &rx), ==, 0);
	struct sockaddr_any to = loopback("127.0.0.1", r.port), elsewhere = loopback("127.0.0.1", other.port);

	udp_sendq_cork(&q);
	for (size_t i = 0; i < count; i++) {
		memset(buf, (int)i, sizeof(buf));
		CHECK_INT(udp_sendq_send(&tx, &q, &to, buf, lens[i]), ==, 0);
	}
	CHECK_INT(udp_sendq_send(&tx, &q, &elsewhere, "x", 1), ==, 0);
	CHECK_INT(udp_sendq_send(&tx, &q, &to, buf, UDP_GSO_SLOT_BYTES + 1), ==, -EMSGSIZE);
	/* 10 x 1000 + 500 | 1000 + 700 | "x" elsewhere */
	CHECK_INT(q.batch->count, ==, 3);
	CHECK_INT(q.batch->slots[0].segment_size, ==, SEG);
	CHECK_INT(q.batch->slots[0].len, ==, N * SEG + 500);
	CHECK_INT(udp_sendq_uncork(&tx, &q), ==, 0);
	CHECK_INT(q.batch->count, ==, 0);
	for (size_t i = 0; i < count; i++) {
		CHECK_INT(recv_one(&r, rx, i, &first), ==, lens[i]);
		CHECK_INT(first, ==, i);
	}
	wait_readable(other.fd);
	CHECK_INT(udp_recv_batch(&other, rx), ==, 1);
	CHECK_INT(rx->slots[0].len, ==, 1);

	/* Uncorked: sent before the call returns, nothing queued. */
	CHECK_INT(udp_sendq_send(&tx, &q, &to, "now", 3), ==, 0);
	CHECK_INT(q.batch->count, ==, 0);
	CHECK_INT(recv_one(&r, rx, 0, &first), ==, 3);
	CHECK_INT(q.dropped, ==, 0);

	/* More than a batch of single datagrams: flushed when full. */
	udp_sendq_cork(&q);
	for (size_t i = 0; i < UDP_BATCH_MAX + 5; i++)
		CHECK_INT(udp_sendq_send(&tx, &q, i % 2 ? &to : &elsewhere, buf, 10), ==, 0);
	CHECK_INT(q.batch->count, ==, 5);
	CHECK_INT(udp_sendq_uncork(&tx, &q), ==, 0);

	udp_batch_free(rx);
	udp_sendq_destroy(&q);
	udp_sendq_destroy(&q);
	udp_close(&tx);
	udp_close(&r);
	udp_close(&other);
}

int main(void)
{
	struct udp_socket s, again;
	struct sockaddr_any probe;
	bool have_v6;

	CHECK_INT(udp_open(0, &s), ==, 0);
	CHECK_INT(s.fd, >=, 0);
	CHECK_INT(s.port, !=, 0);
	probe = loopback("[::1]", 9);
	have_v6 = s.family == AF_INET6 && udp_send(&s, &probe, "", 0) == 0;
	if (!have_v6)
		fprintf(stderr, "note: no IPv6 loopback, IPv4 only\n");

	CHECK_INT(udp_open(s.port, &again), ==, -EADDRINUSE);
	test_batches(&s, have_v6);
	test_slot_errors_and_truncation(&s);
	test_gso_gro(&s);
	test_sendq();

	udp_close(&s);
	CHECK_INT(s.fd, ==, -1);
	udp_close(&s);
	udp_close(NULL);
	return 0;
}
