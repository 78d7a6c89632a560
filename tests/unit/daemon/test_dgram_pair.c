/* The monitor <-> agent datagram pair (daemon/transport/dgram_pair.h) over
 * a real SOCK_SEQPACKET socketpair: batches keep datagram boundaries and
 * order, a full batch leaves by itself, oversized ones are dropped and
 * counted, a closed end is -ECONNRESET. */
#include <errno.h>
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

	/* 150 datagrams: two full batches leave on their own, the rest on flush */
	for (size_t i = 0; i < 150; i++) {
		uint8_t hdr[2] = { (uint8_t)i, 0xee };
		memset(msg, (int)i, sizeof(msg));
		dgram_pair_queue(&a, hdr, sizeof(hdr), msg, i % 200 + 1);
	}
	CHECK_EQ(a.tx_count, 150 - 2 * DGRAM_PAIR_BATCH);
	dgram_pair_flush(&a);
	CHECK_EQ(a.tx_count, 0);
	int n, total = 0;
	while ((n = dgram_pair_recv(&b, on_dgram, &seen)) > 0)
		total += n;
	CHECK_EQ(n, 0); /* nothing more waits */
	CHECK_EQ(total, 150);
	CHECK_EQ(seen.count, 150);
	CHECK_EQ(seen.bad, 0);
	CHECK_EQ(seen.lens[0], 3);
	CHECK_EQ(seen.lens[149], 2 + 150);

	/* too large for the other end's slots, or empty: dropped, counted */
	dgram_pair_queue(&a, NULL, 0, msg, DGRAM_PAIR_SLOT + 1);
	dgram_pair_queue(&a, NULL, 0, msg, 0);
	CHECK_EQ(a.tx_dropped, 2);
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
