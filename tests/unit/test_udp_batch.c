/* lib/net/udp_linux.c's receive batches over loopback: the headers set up
 * once and restored only where the kernel wrote (a full batch, then a short
 * one), the batch reused for a send in between, and the blocking receive
 * the relay thread uses (MSG_WAITFORONE with a receive timeout). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "net/udp.h"

static struct sockaddr_any loop_to(uint16_t port)
{
	struct sockaddr_any a;
	char text[32];
	snprintf(text, sizeof(text), "127.0.0.1:%u", port);
	if (sockaddr_any_parse(text, &a) < 0)
		memset(&a, 0, sizeof(a));
	return a;
}

/* n datagrams of len bytes, each starting with its index */
static void send_n(const struct udp_socket *from, uint16_t to_port, int n, size_t len)
{
	struct sockaddr_any to = loop_to(to_port);
	uint8_t buf[1500] = { 0 };
	for (int i = 0; i < n; i++) {
		buf[0] = (uint8_t)i;
		CHECK(udp_send(from, &to, buf, len) == 0);
	}
}

/* Everything sent to the loopback is queued before udp_send returns. */
static void check_batch(const struct udp_batch *b, int n, size_t len, uint16_t from_port)
{
	for (int i = 0; i < n; i++) {
		CHECK(b->slots[i].len == len);
		CHECK(!b->slots[i].truncated);
		CHECK(b->slots[i].buf[0] == (uint8_t)i);
		CHECK(sockaddr_any_port(&b->slots[i].addr) == from_port);
	}
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(void)
{
	struct udp_socket rx, tx;
	struct udp_batch *b;

	if (udp_open(0, &rx) < 0 || udp_open(0, &tx) < 0 || udp_batch_new(2048, &b) < 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	CHECK(udp_recv_batch(&rx, b) == -EAGAIN);

	/* A full batch, then a short one: names and lengths restored. */
	send_n(&tx, rx.port, UDP_BATCH_MAX + 3, 100);
	CHECK(udp_recv_batch(&rx, b) == UDP_BATCH_MAX);
	check_batch(b, UDP_BATCH_MAX, 100, tx.port);
	CHECK(udp_recv_batch(&rx, b) == 3);
	CHECK(b->slots[0].buf[0] == UDP_BATCH_MAX && b->slots[2].len == 100);
	CHECK(udp_recv_batch(&rx, b) == -EAGAIN);

	/* The receive batch sends once (its iovecs now hold 20 bytes): the
	 * next receive must see the whole 1000-byte datagrams again. */
	struct sockaddr_any back = loop_to(tx.port);
	b->count = 1;
	b->slots[0].len = 20;
	b->slots[0].addr = back;
	b->slots[0].segment_size = 0;
	CHECK(udp_send_batch(&rx, b) == 1);
	send_n(&tx, rx.port, 2, 1000);
	CHECK(udp_recv_batch(&rx, b) == 2);
	check_batch(b, 2, 1000, tx.port);

	/* Blocking receive: returns what is queued at once ... */
	CHECK(udp_set_blocking_recv(&rx, 100) == 0);
	send_n(&tx, rx.port, 5, 300);
	CHECK(udp_recv_batch_wait(&rx, b) == 5);
	check_batch(b, 5, 300, tx.port);
	/* ... or -EAGAIN after the timeout (generous bounds: a loaded CI) */
	double t0 = now_ms();
	CHECK(udp_recv_batch_wait(&rx, b) == -EAGAIN);
	double waited = now_ms() - t0;
	CHECK(waited >= 80 && waited < 5000);
	/* The non-blocking receive still does not block. */
	t0 = now_ms();
	CHECK(udp_recv_batch(&rx, b) == -EAGAIN);
	CHECK(now_ms() - t0 < 50);

	udp_batch_free(b);
	udp_close(&rx);
	udp_close(&tx);
	return check_report("test_udp_batch");
}
