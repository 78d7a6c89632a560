/* The push channel's core (lib/coord/push.c) on a fake clock: the codec
 * (a bit flipped anywhere is refused), a stream through a lossy "link"
 * arrives whole and in order, the window and the retransmission timer,
 * END and TOO_BIG, a dead stream, and a node that refuses old streams. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "coord/push.h"
#include "crypto/crypto.h"

#define MS (UINT64_C(1000000))

static uint8_t k[COORD_KEY_LEN], pk[COORD_KEY_LEN];

static void test_ack_codec(void)
{
	struct coord_push_ack a = { .flags = COORD_PUSH_ACK_OPEN, .node_id = 7, .timestamp_ns = 123456789,
				    .stream_id = 42, .offset = 1000 }, b;
	uint8_t m[sizeof(struct coord_msg_push_ack)];
	uint32_t id;

	strcpy(a.view, "0123456789abcdef.1f");
	CHECK(coord_push_ack_build(m, k, &a) == 0);
	CHECK(coord_push_ack_peek(m, sizeof(m), &id) == 0 && id == 7);
	CHECK(coord_push_ack_parse(m, sizeof(m), k, &b) == 0);
	CHECK(b.flags == a.flags && b.node_id == 7 && b.timestamp_ns == a.timestamp_ns && b.stream_id == 42 &&
	      b.offset == 1000 && strcmp(b.view, a.view) == 0);
	CHECK(coord_push_ack_parse(m, sizeof(m) - 1, k, &b) == -EBADMSG);
	for (size_t i = 0; i < sizeof(m); i++) {
		m[i] ^= 0x20;
		CHECK(coord_push_ack_parse(m, sizeof(m), k, &b) < 0);
		m[i] ^= 0x20;
	}
	/* A view with a control character, or bytes after its NUL: refused even with a good mac. */
	struct coord_msg_push_ack raw;
	memcpy(&raw, m, sizeof(raw));
	raw.view[2] = '\n';
	blake2s_mac(raw.mac, k, COORD_KEY_LEN, &raw, offsetof(struct coord_msg_push_ack, mac));
	CHECK(coord_push_ack_parse((uint8_t *)&raw, sizeof(raw), k, &b) == -EBADMSG);
	memcpy(&raw, m, sizeof(raw));
	raw.view[COORD_PUSH_VIEW_LEN - 1] = 'x';
	blake2s_mac(raw.mac, k, COORD_KEY_LEN, &raw, offsetof(struct coord_msg_push_ack, mac));
	CHECK(coord_push_ack_parse((uint8_t *)&raw, sizeof(raw), k, &b) == -EBADMSG);
	memset(a.view, 'v', sizeof(a.view)); /* not terminated within the field */
	CHECK(coord_push_ack_build(m, k, &a) == -EINVAL);
}

static void test_data_codec(void)
{
	uint8_t out[COORD_PUSH_DATA_MAX], plain[COORD_PUSH_CHUNK_MAX], other[COORD_KEY_LEN];
	const char text[] = "{\"type\":\"ping\"}\n";
	struct coord_push_data d = { .flags = COORD_PUSH_DATA_END, .node_id = 9, .stream_id = 5, .opened_ts = 77,
				     .offset = 100, .data = (const uint8_t *)text, .len = sizeof(text) - 1 }, e;
	int n = coord_push_data_build(out, pk, &d);

	CHECK(n == (int)(sizeof(struct coord_msg_push_data_header) + d.len + COORD_MAC_LEN));
	CHECK(coord_push_data_parse(out, (size_t)n, pk, 9, plain, &e) == 0);
	CHECK(e.flags == d.flags && e.stream_id == 5 && e.opened_ts == 77 && e.offset == 100 && e.len == d.len &&
	      memcmp(e.data, text, d.len) == 0);
	CHECK(coord_push_data_parse(out, (size_t)n, pk, 10, plain, &e) == -EBADMSG); /* another node's */
	memset(other, 1, sizeof(other));
	CHECK(coord_push_data_parse(out, (size_t)n, other, 9, plain, &e) == -EKEYREJECTED);
	for (int i = 0; i < n; i++) {
		out[i] ^= 1;
		CHECK(coord_push_data_parse(out, (size_t)n, pk, 9, plain, &e) < 0);
		out[i] ^= 1;
	}
	CHECK(coord_push_data_parse(out, sizeof(struct coord_msg_push_data_header) + 15, pk, 9, plain, &e) ==
	      -EBADMSG);
	d.len = COORD_PUSH_CHUNK_MAX + 1;
	CHECK(coord_push_data_build(out, pk, &d) == -EINVAL);
	/* The same bytes sent twice differ on the wire (a random nonce each time). */
	uint8_t again[COORD_PUSH_DATA_MAX];
	d.len = sizeof(text) - 1;
	n = coord_push_data_build(out, pk, &d);
	CHECK(coord_push_data_build(again, pk, &d) == n && memcmp(out, again, (size_t)n) != 0);
}

/* Everything the sender has now, each datagram through the codec, dropped
 * when drop(i) says so; what arrives in order goes to got. Returns the
 * node's offset (what it acks). */
static uint8_t got[600 * 1024];
static size_t got_len;
static unsigned sent_count;

static uint64_t pump(struct coord_push_tx *t, struct coord_push_rx *r, uint64_t now, bool (*drop)(unsigned))
{
	struct coord_push_data d, e;
	uint8_t wire[COORD_PUSH_DATA_MAX], plain[COORD_PUSH_CHUNK_MAX];
	size_t skip;

	while (coord_push_tx_next(t, now, &d)) {
		int n;
		d.node_id = 3;
		n = coord_push_data_build(wire, pk, &d);
		CHECK(n > 0);
		if (drop && drop(sent_count++))
			continue;
		CHECK(coord_push_data_parse(wire, (size_t)n, pk, 3, plain, &e) == 0);
		enum coord_push_rx_verdict v = coord_push_rx_accept(r, &e, t->opened_ts, &skip);
		if (v == COORD_PUSH_RX_NEW)
			got_len = 0;
		if (v != COORD_PUSH_RX_DROP && e.len > skip) {
			CHECK(got_len + e.len - skip <= sizeof(got));
			memcpy(got + got_len, e.data + skip, e.len - skip);
			got_len += e.len - skip;
		}
	}
	return r->offset;
}

/* A third of the datagrams, at random (a fixed seed): a periodic pattern
 * could hit the same place of each resent window forever. */
static bool drop_every_third(unsigned i)
{
	static uint32_t x = 12345;
	(void)i;
	x = x * 1103515245u + 12345u;
	return (x >> 16) % 3 == 0;
}

static void test_lossy_stream(void)
{
	static uint8_t data[200 * 1024];
	struct coord_push_tx t;
	struct coord_push_rx r = { 0 };
	uint64_t now = 1000 * MS;
	bool dead;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	coord_push_tx_init(&t, 99, 500);
	CHECK(coord_push_tx_queue(&t, data, sizeof(data)) == 0);
	got_len = 0;
	sent_count = 0;
	/* The first burst is the window, not everything. */
	struct coord_push_data d;
	size_t burst = 0;
	struct coord_push_tx probe;
	coord_push_tx_init(&probe, 1, 1);
	CHECK(coord_push_tx_queue(&probe, data, sizeof(data)) == 0);
	while (coord_push_tx_next(&probe, now, &d))
		burst += d.len;
	CHECK(burst == COORD_PUSH_INFLIGHT_MAX);
	CHECK(coord_push_tx_deadline(&probe, &dead) == now + COORD_PUSH_RTO_NS && !dead);
	coord_push_tx_free(&probe);

	for (int round = 0; round < 2000 && r.offset < sizeof(data); round++) {
		uint64_t off = pump(&t, &r, now, drop_every_third);
		if (round % 2) { /* an ack every other round; the timer covers the rest */
			CHECK(coord_push_tx_ack(&t, off, now) >= 0);
		} else {
			uint64_t due = coord_push_tx_deadline(&t, &dead);
			CHECK(!dead && due);
			if (due > now)
				now = due;
		}
	}
	CHECK(r.offset == sizeof(data) && got_len == sizeof(data) && memcmp(got, data, sizeof(data)) == 0);
	CHECK(coord_push_tx_ack(&t, r.offset, now) >= 0);
	CHECK(coord_push_tx_idle(&t) && coord_push_tx_deadline(&t, &dead) == 0 && !dead);
	CHECK(coord_push_tx_ack(&t, r.offset + 1, now) == -EINVAL); /* never sent */
	CHECK(coord_push_tx_ack(&t, 10, now) == 0);                 /* old */
	coord_push_tx_free(&t);
}

static void test_end_and_limits(void)
{
	static uint8_t big[COORD_PUSH_QUEUE_MAX];
	struct coord_push_tx t;
	struct coord_push_rx r = { 0 };
	struct coord_push_data d;
	uint64_t now = 5000 * MS;
	bool dead;

	coord_push_tx_init(&t, 11, 600);
	CHECK(coord_push_tx_queue(&t, big, sizeof(big)) == 0);
	CHECK(coord_push_tx_queue(&t, "x", 1) == -ENOBUFS);
	coord_push_tx_free(&t);

	/* END on the last chunk; nothing can be queued after it. */
	coord_push_tx_init(&t, 12, 700);
	CHECK(coord_push_tx_queue(&t, "hello\n", 6) == 0);
	coord_push_tx_end(&t, true);
	CHECK(coord_push_tx_queue(&t, "x", 1) == -EPIPE);
	got_len = 0;
	pump(&t, &r, now, NULL);
	CHECK(r.ended && r.too_big && got_len == 6 && memcmp(got, "hello\n", 6) == 0);
	CHECK(coord_push_tx_ack(&t, 6, now) == 1 && coord_push_tx_idle(&t));
	coord_push_tx_free(&t);

	/* An END with nothing queued goes out empty, once. */
	memset(&r, 0, sizeof(r));
	coord_push_tx_init(&t, 13, 800);
	coord_push_tx_end(&t, false);
	CHECK(coord_push_tx_next(&t, now, &d) && d.len == 0 && d.flags == COORD_PUSH_DATA_END);
	CHECK(!coord_push_tx_next(&t, now, &d));
	coord_push_tx_free(&t);

	/* Unanswered: doubling timeouts, then dead. */
	coord_push_tx_init(&t, 14, 900);
	CHECK(coord_push_tx_queue(&t, "abc", 3) == 0);
	CHECK(coord_push_tx_next(&t, now, &d) && d.len == 3);
	uint64_t rto = COORD_PUSH_RTO_NS;
	for (int i = 0; i < COORD_PUSH_RETRIES; i++) {
		uint64_t due = coord_push_tx_deadline(&t, &dead);
		CHECK(!dead && due == now + rto);
		now = due;
		CHECK(coord_push_tx_next(&t, now, &d) && d.offset == 0 && d.len == 3); /* sent again */
		CHECK(!coord_push_tx_next(&t, now, &d));
		rto = rto * 2 > COORD_PUSH_RTO_MAX_NS ? COORD_PUSH_RTO_MAX_NS : rto * 2;
	}
	now = coord_push_tx_deadline(&t, &dead);
	CHECK(!coord_push_tx_next(&t, now, &d));
	coord_push_tx_deadline(&t, &dead);
	CHECK(dead);
	coord_push_tx_free(&t);
}

static void test_rx_streams(void)
{
	struct coord_push_rx r = { 0 };
	struct coord_push_data d = { .stream_id = 50, .opened_ts = 1000, .offset = 0,
				     .data = (const uint8_t *)"abcdef", .len = 6 };
	size_t skip;

	CHECK(coord_push_rx_accept(&r, &d, 999, &skip) == COORD_PUSH_RX_DROP); /* opened after our newest ack */
	CHECK(coord_push_rx_accept(&r, &d, 1000, &skip) == COORD_PUSH_RX_NEW && skip == 0 && r.offset == 6);
	CHECK(coord_push_rx_accept(&r, &d, 1000, &skip) == COORD_PUSH_RX_BYTES && skip == 6); /* a duplicate */
	d.offset = 4; /* overlapping: only the new part */
	CHECK(coord_push_rx_accept(&r, &d, 1000, &skip) == COORD_PUSH_RX_BYTES && skip == 2 && r.offset == 10);
	d.offset = 20; /* a gap */
	CHECK(coord_push_rx_accept(&r, &d, 1000, &skip) == COORD_PUSH_RX_DROP && r.offset == 10);
	/* An older stream replayed, or a newer one not from its start: refused. */
	struct coord_push_data old = { .stream_id = 49, .opened_ts = 900, .offset = 0, .data = d.data, .len = 6 };
	CHECK(coord_push_rx_accept(&r, &old, 5000, &skip) == COORD_PUSH_RX_DROP && r.stream_id == 50);
	struct coord_push_data mid = { .stream_id = 51, .opened_ts = 2000, .offset = 6, .data = d.data, .len = 6 };
	CHECK(coord_push_rx_accept(&r, &mid, 5000, &skip) == COORD_PUSH_RX_DROP && r.stream_id == 50);
	mid.offset = 0;
	CHECK(coord_push_rx_accept(&r, &mid, 5000, &skip) == COORD_PUSH_RX_NEW && r.stream_id == 51 && r.offset == 6);
}

/* Runs w from now until it falls back, answering nothing; counts the asks
 * and checks their spacing. Returns when it fell back (ns after start). */
static uint64_t wait_until_fallback(struct coord_push_wait *w, uint64_t start, uint32_t rnd, unsigned *asks)
{
	uint64_t now = start, last = start, gap_max = 0;

	*asks = 0;
	coord_push_wait_start(w, start);
	for (int i = 0; i < 1000; i++) {
		uint64_t due = coord_push_wait_due(w);
		CHECK(due > now);
		now = due;
		enum coord_push_wait_act a = coord_push_wait_tick(w, now, rnd);
		if (a == COORD_PUSH_WAIT_FALLBACK) {
			CHECK(coord_push_wait_due(w) == 0 && coord_push_wait_tick(w, now + 1, rnd) == COORD_PUSH_WAIT_NONE);
			return now - start;
		}
		CHECK(a == COORD_PUSH_WAIT_ASK);
		CHECK(now - last >= 750 * MS); /* never more often than the first step's jitter allows */
		if (now - last > gap_max)
			gap_max = now - last;
		last = now;
		(*asks)++;
	}
	CHECK(!"no fallback");
	return 0;
}

/* The node's fallback (issue 14): a channel that never answered is left
 * after COORD_PUSH_FALLBACK_S; one that worked is asked again with doubling,
 * jittered gaps, and left only after COORD_PUSH_BUSY_FALLBACK_S; a network
 * change forgets that it worked. */
static void test_wait(void)
{
	struct coord_push_wait w;
	unsigned asks;
	uint64_t t0 = 1000 * MS, took;

	memset(&w, 0, sizeof(w));
	CHECK(coord_push_wait_tick(&w, t0, 0) == COORD_PUSH_WAIT_NONE && coord_push_wait_due(&w) == 0);
	/* Never answered (UDP blocked): 10 s, asked again at 1, 3, 7 s or so. */
	took = wait_until_fallback(&w, t0, 0, &asks);
	CHECK(took == (uint64_t)COORD_PUSH_FALLBACK_S * 1000 * MS);
	CHECK(asks >= 3 && asks <= 4);
	/* A second question while waiting does not restart the clock. */
	coord_push_wait_start(&w, t0);
	coord_push_wait_start(&w, t0 + 5000 * MS);
	CHECK(w.since_ns == t0);
	/* Cancelled (the stream went): no wait, and nothing learnt. */
	coord_push_wait_cancel(&w);
	CHECK(!w.since_ns && !w.worked && coord_push_wait_due(&w) == 0);
	coord_push_wait_start(&w, t0);
	/* Answered: it worked; the next wait lasts COORD_PUSH_BUSY_FALLBACK_S. */
	coord_push_wait_answered(&w);
	CHECK(w.worked && coord_push_wait_due(&w) == 0);
	for (uint32_t rnd = 0; rnd < 4; rnd++) {
		uint32_t r = rnd * 0x3fffffffu;
		took = wait_until_fallback(&w, t0, r, &asks);
		CHECK(took == (uint64_t)COORD_PUSH_BUSY_FALLBACK_S * 1000 * MS);
		/* 1 s, then about 2, 4, 8, 16, 16 ...: not once a second, not once. */
		CHECK(asks >= 5 && asks <= 9);
		CHECK(w.worked); /* still: a busy server is no reason to forget */
	}
	coord_push_wait_start(&w, t0);
	coord_push_wait_cancel(&w);
	CHECK(w.worked && coord_push_wait_due(&w) == 0); /* a cancel keeps it */
	/* Jitter: two nodes that began together ask again at different times. */
	struct coord_push_wait a = { .worked = true }, b = { .worked = true };
	coord_push_wait_start(&a, t0);
	coord_push_wait_start(&b, t0);
	CHECK(coord_push_wait_tick(&a, t0 + 1000 * MS, 1) == COORD_PUSH_WAIT_ASK);
	CHECK(coord_push_wait_tick(&b, t0 + 1000 * MS, 700000000u) == COORD_PUSH_WAIT_ASK);
	CHECK(coord_push_wait_due(&a) != coord_push_wait_due(&b));
	CHECK(coord_push_wait_due(&a) >= t0 + 2500 * MS && coord_push_wait_due(&b) <= t0 + 3500 * MS);
	/* A network change: back to the short bound, for a wait running too. */
	coord_push_wait_reset(&w);
	CHECK(!w.worked);
	took = wait_until_fallback(&w, t0, 0, &asks);
	CHECK(took == (uint64_t)COORD_PUSH_FALLBACK_S * 1000 * MS);
	coord_push_wait_answered(&w);
	coord_push_wait_start(&w, t0);
	CHECK(coord_push_wait_tick(&w, t0 + 15000 * MS, 0) == COORD_PUSH_WAIT_ASK); /* worked: 15 s is not the end */
	coord_push_wait_reset(&w);
	CHECK(coord_push_wait_due(&w) == t0 + (uint64_t)COORD_PUSH_FALLBACK_S * 1000 * MS);
	CHECK(coord_push_wait_tick(&w, t0 + 15000 * MS, 0) == COORD_PUSH_WAIT_FALLBACK);
}

int main(void)
{
	CHECK(crypto_init() == 0);
	crypto_random(k, sizeof(k));
	coord_push_key(pk, k);
	CHECK(memcmp(pk, k, sizeof(k)) != 0);
	test_ack_codec();
	test_data_codec();
	test_lossy_stream();
	test_end_and_limits();
	test_rx_streams();
	test_wait();
	return check_report("test_push");
}
