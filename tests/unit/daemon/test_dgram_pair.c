/* The monitor <-> agent datagram pair (daemon/transport/dgram_pair.h) over
 * a real SOCK_SEQPACKET socketpair: datagrams travel packed several to a
 * message and keep their boundaries and order, oversized ones are dropped and counted, malformed messages are
 * dropped whole from the first bad record, a closed end is -ECONNRESET. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../check.h"
#include "daemon/transport/dgram_pair.h"

struct seen {
	size_t count;
	size_t lens[512];
	int bad;
};

static void on_dgram(void *ctx, uint8_t *d, size_t len)
{
	struct seen *s = ctx;
	/* datagram i is a 2-byte header (i) and i % 200 + 1 bytes of i */
	size_t i = s->count;
	if (len < 2 || d[0] != (uint8_t)i || d[1] != 0xee)
		s->bad++;
	for (size_t k = 2; k < len; k++)
		if (d[k] != (uint8_t)i)
			s->bad++;
	if (i < 512)
		s->lens[i] = len;
	s->count++;
}

int main(void)
{
	int sv[2];
	struct dgram_pair a, b;
	struct seen seen = { 0 };
	uint8_t msg[DGRAM_PAIR_SLOT + 1];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	CHECK_EQ(dgram_pair_init(&a, sv[0]), 0);
	CHECK_EQ(dgram_pair_init(&b, sv[1]), 0);

	/* 150 small datagrams: one message */
	for (size_t i = 0; i < 150; i++) {
		uint8_t hdr[2] = { (uint8_t)i, 0xee };
		memset(msg, (int)i, sizeof(msg));
		dgram_pair_queue(&a, hdr, sizeof(hdr), msg, i % 200 + 1);
	}
	CHECK_EQ(a.tx_count, 1);
	dgram_pair_flush(&a);
	CHECK_EQ(a.tx_count, 0);
	int n, total = 0;
	while ((n = dgram_pair_recv(&b, on_dgram, &seen)) > 0)
		total += n;
	CHECK_EQ(n, 0); /* nothing more waits */
	CHECK_EQ(total, 1);
	CHECK_EQ(seen.count, 150);
	CHECK_EQ(seen.bad, 0);
	CHECK_EQ(seen.lens[0], 3);
	CHECK_EQ(seen.lens[149], 2 + 150);

	/* 100 of 1500 bytes: as many whole ones to a message as fit
	 * DGRAM_PAIR_MSG */
	memset(&seen, 0, sizeof(seen));
	for (size_t i = 0; i < 100; i++) {
		uint8_t hdr[2] = { (uint8_t)i, 0xee };
		memset(msg, (int)i, sizeof(msg));
		dgram_pair_queue(&a, hdr, sizeof(hdr), msg, 1498);
	}
	size_t per_msg = DGRAM_PAIR_MSG / (DGRAM_PAIR_REC_HDR + 1500);
	CHECK_EQ(a.tx_count, (100 + per_msg - 1) / per_msg);
	CHECK(a.tx_iov[0].iov_len <= DGRAM_PAIR_MSG);
	dgram_pair_flush(&a);
	total = 0;
	while ((n = dgram_pair_recv(&b, on_dgram, &seen)) > 0)
		total += n;
	CHECK_EQ(total, (100 + per_msg - 1) / per_msg);
	CHECK_EQ(seen.count, 100);
	CHECK_EQ(seen.bad, 0);
	CHECK_EQ(seen.lens[99], 1500);
	CHECK_EQ(a.tx_dropped, 0);

	/* More than the arena holds: it is flushed before it would overflow
	 * (the socket's buffer may drop some: counted, not checked here). */
	bool inside = true;
	for (size_t i = 0; i < 400; i++) {
		dgram_pair_queue(&a, NULL, 0, msg, 1500);
		inside &= a.tx_used <= DGRAM_PAIR_TX_BYTES && a.tx_count <= DGRAM_PAIR_BATCH;
	}
	CHECK(inside);
	dgram_pair_flush(&a);
	while (dgram_pair_recv(&b, on_dgram, &seen) > 0)
		;
	a.tx_dropped = 0;

	/* malformed: the records before the bad one are delivered, the message
	 * counted as dropped */
	uint8_t bad[] = { 3, 0, 0, 0xee, 9, /* a good record (datagram 0) */ 9, 0, 1 /* longer than the rest */ };
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(send(sv[0], bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
	CHECK_EQ(dgram_pair_recv(&b, on_dgram, &seen), 1);
	CHECK_EQ(seen.count, 1);
	CHECK_EQ(b.rx_dropped, 1);
	uint8_t empty_rec[] = { 0, 0, 5 }, short_hdr[] = { 1 }, huge[] = { 0xff, 0xff, 1 };
	CHECK_EQ(dgram_pair_split(empty_rec, sizeof(empty_rec), on_dgram, &seen), -EBADMSG);
	CHECK_EQ(dgram_pair_split(short_hdr, sizeof(short_hdr), on_dgram, &seen), -EBADMSG);
	CHECK_EQ(dgram_pair_split(huge, sizeof(huge), on_dgram, &seen), -EBADMSG);
	CHECK_EQ(dgram_pair_split(bad, 5, on_dgram, &seen), 1);
	CHECK_EQ(seen.count, 2);

	/* too large for the other end's slots, or empty: dropped, counted */
	dgram_pair_queue(&a, NULL, 0, msg, DGRAM_PAIR_SLOT + 1);
	dgram_pair_queue(&a, NULL, 0, msg, 0);
	CHECK_EQ(a.tx_dropped, 2);
	dgram_pair_queue(&a, NULL, 0, msg, DGRAM_PAIR_SLOT); /* the largest: fits */
	CHECK_EQ(a.tx_count, 1);
	dgram_pair_flush(&a);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(dgram_pair_recv(&b, on_dgram, &seen), 1);
	CHECK_EQ(seen.lens[0], DGRAM_PAIR_SLOT);
	CHECK_EQ(a.tx_count, 0);

	/* the other end closes */
	dgram_pair_close(&a);
	dgram_pair_queue(&a, NULL, 0, msg, 10); /* closed: counted, no crash */
	CHECK_EQ(a.tx_dropped, 3);
	CHECK_EQ(dgram_pair_recv(&b, on_dgram, &seen), -ECONNRESET);
	dgram_pair_close(&b);
	dgram_pair_close(&b); /* idempotent */
	printf("test_dgram_pair: %d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}
