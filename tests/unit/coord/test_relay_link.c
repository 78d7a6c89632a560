/* The relay links' codecs (lib/coord/relay_link.c): TLS-stream frames in
 * every chunking, long-poll bodies (validated whole before anything is
 * delivered), the uplink duplicate window, and the link's own messages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "coord/relay_link.h"

struct got {
	size_t n;
	size_t lens[64];
	uint64_t seqs[64];
	uint8_t first[64];
	int fail_at; /* return -EIO on this call (1-based), 0: never */
};

static int on_dgram(void *ctx, uint8_t *d, size_t len)
{
	struct got *g = ctx;
	if (g->n < 64) {
		g->lens[g->n] = len;
		g->first[g->n] = d[0];
	}
	g->n++;
	return g->fail_at && (int)g->n == g->fail_at ? -EIO : 0;
}

static int on_rec(void *ctx, uint64_t seq, uint8_t *d, size_t len)
{
	struct got *g = ctx;
	if (g->n < 64)
		g->seqs[g->n] = seq;
	return on_dgram(ctx, d, len);
}

/* Three frames (1 byte, 300 bytes, the maximum) fed in chunks of every
 * size from 1 to 7 and whole: the same three datagrams every time. */
static void test_frames(void)
{
	static uint8_t stream[3 * 2 + 1 + 300 + RELAY_LINK_DGRAM_MAX];
	static uint8_t buf[RELAY_LINK_DGRAM_MAX];
	static const size_t lens[3] = { 1, 300, RELAY_LINK_DGRAM_MAX };
	size_t off = 0;

	for (int i = 0; i < 3; i++) {
		relay_frame_header(stream + off, lens[i]);
		off += 2;
		memset(stream + off, 0x10 + i, lens[i]);
		off += lens[i];
	}
	CHECK_EQ(off, sizeof(stream));
	size_t chunks[] = { 1, 2, 3, 7, 4096, sizeof(stream) };
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct relay_frame_reader r;
		struct got g = { 0 };
		relay_frame_reader_init(&r, buf);
		for (size_t o = 0; o < sizeof(stream); o += chunks[c]) {
			size_t n = sizeof(stream) - o < chunks[c] ? sizeof(stream) - o : chunks[c];
			CHECK_EQ(relay_frame_feed(&r, stream + o, n, on_dgram, &g), n);
		}
		CHECK_EQ(g.n, 3);
		for (int i = 0; i < 3; i++) {
			CHECK_EQ(g.lens[i], lens[i]);
			CHECK_EQ(g.first[i], 0x10 + i);
		}
	}
	/* A length of 0 is a protocol error, even split across two feeds. */
	struct relay_frame_reader r;
	struct got g = { 0 };
	uint8_t bad[] = { 1, 0, 0xAA, 0, 0, 5 };
	relay_frame_reader_init(&r, buf);
	CHECK_EQ(relay_frame_feed(&r, bad, 4, on_dgram, &g), 4);
	CHECK_EQ(relay_frame_feed(&r, bad + 4, 2, on_dgram, &g), -EPROTO);
	CHECK_EQ(g.n, 1);
	/* The header alone, as roam-server reads frames in place. */
	CHECK_EQ(relay_frame_len(bad), 1);
	CHECK_EQ(relay_frame_len(bad + 3), -EPROTO);
	static const uint8_t max[2] = { 0xff, 0xff };
	CHECK_EQ(relay_frame_len(max), RELAY_LINK_DGRAM_MAX);
	/* The callback's error stops the feed. */
	struct got h = { .fail_at = 1 };
	uint8_t two[] = { 1, 0, 1, 1, 0, 2 };
	relay_frame_reader_init(&r, buf);
	CHECK_EQ(relay_frame_feed(&r, two, sizeof(two), on_dgram, &h), -EIO);
	CHECK_EQ(h.n, 1);
}

static void test_poll(void)
{
	static uint8_t body[RELAY_POLL_BATCH_MAX];
	uint8_t d[100];
	size_t n = 0, w;

	memset(d, 0x83, sizeof(d));
	w = relay_poll_record_write(body + n, sizeof(body) - n, 1, d, 100);
	CHECK_EQ(w, 110);
	n += w;
	n += relay_poll_record_write(body + n, sizeof(body) - n, UINT64_MAX, d, 1);
	CHECK_EQ(n, 121);
	CHECK_EQ(relay_poll_record_write(body, 10, 1, d, 1), 0);  /* does not fit */
	CHECK_EQ(relay_poll_record_write(body, 111, 1, d, 0), 0); /* empty */
	CHECK_EQ(relay_poll_record_write(body, 11, 1, d, 1), 11);
	/* rebuild the body overwritten by the last call */
	n = relay_poll_record_write(body, sizeof(body), 1, d, 100);
	n += relay_poll_record_write(body + n, sizeof(body) - n, UINT64_MAX, d, 1);

	struct got g = { 0 };
	CHECK_EQ(relay_poll_parse(body, n, on_rec, &g), 0);
	CHECK_EQ(g.n, 2);
	CHECK_EQ(g.seqs[0], 1);
	CHECK(g.seqs[1] == UINT64_MAX);
	CHECK_EQ(g.lens[0], 100);
	CHECK_EQ(g.lens[1], 1);
	/* Empty body: nothing, no error. */
	memset(&g, 0, sizeof(g));
	CHECK_EQ(relay_poll_parse(body, 0, on_rec, &g), 0);
	CHECK_EQ(g.n, 0);
	/* Any truncation, or a trailing byte: -EPROTO and nothing delivered. */
	for (size_t cut = 1; cut < n; cut++) {
		if (cut == 110)
			continue; /* a whole first record */
		memset(&g, 0, sizeof(g));
		CHECK_EQ(relay_poll_parse(body, cut, on_rec, &g), -EPROTO);
		CHECK_EQ(g.n, 0);
	}
	memset(&g, 0, sizeof(g));
	CHECK_EQ(relay_poll_parse(body, n + 1, on_rec, &g), -EPROTO);
	CHECK_EQ(g.n, 0);
	/* A record of length 0 after a good one: nothing delivered. */
	uint8_t zero[10 + 1 + 10] = { 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x83, 2 };
	memset(&g, 0, sizeof(g));
	CHECK_EQ(relay_poll_parse(zero, sizeof(zero), on_rec, &g), -EPROTO);
	CHECK_EQ(g.n, 0);
	/* The callback's error stops the walk. */
	struct got h = { .fail_at = 1 };
	CHECK_EQ(relay_poll_parse(body, n, on_rec, &h), -EIO);
	CHECK_EQ(h.n, 1);
}

static void test_seq_window(void)
{
	struct relay_seq_window w;

	memset(&w, 0, sizeof(w));
	CHECK(!relay_seq_accept(&w, 0));
	CHECK(relay_seq_accept(&w, 1));
	CHECK(!relay_seq_accept(&w, 1));
	CHECK(relay_seq_accept(&w, 3)); /* out of order */
	CHECK(relay_seq_accept(&w, 2));
	CHECK(!relay_seq_accept(&w, 2));
	CHECK(!relay_seq_accept(&w, 3));
	CHECK(relay_seq_accept(&w, 1026));  /* 1026 - 3 = 1023 ahead: 3 stays known */
	CHECK(!relay_seq_accept(&w, 3));
	CHECK(!relay_seq_accept(&w, 2));    /* 1024 behind: too old */
	CHECK(relay_seq_accept(&w, 1000));  /* within the window, not seen */
	CHECK(!relay_seq_accept(&w, 1000));
	CHECK(relay_seq_accept(&w, 1025));
	CHECK(relay_seq_accept(&w, 5000));  /* a jump clears the window */
	CHECK(!relay_seq_accept(&w, 1026));
	CHECK(relay_seq_accept(&w, 4999));
	CHECK(relay_seq_accept(&w, 3977));  /* exactly 1023 behind */
	CHECK(!relay_seq_accept(&w, 3976));
	CHECK(!relay_seq_accept(&w, 5000));
	/* Every seq of a long run in random order within the window: each once. */
	struct relay_seq_window v;
	memset(&v, 0, sizeof(v));
	size_t accepted = 0;
	srand(7);
	for (uint64_t base = 1; base < 20000; base += 256) {
		uint64_t order[256];
		for (int i = 0; i < 256; i++)
			order[i] = base + (uint64_t)i;
		for (int i = 255; i > 0; i--) {
			int j = rand() % (i + 1);
			uint64_t t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < 256; i++) {
			accepted += relay_seq_accept(&v, order[i]);
			CHECK(!relay_seq_accept(&v, order[i]));
		}
	}
	CHECK_EQ(accepted, 79 * 256);
}

static void test_messages(void)
{
	uint8_t k[RELAY_KEEPALIVE_LEN], p[12], t;
	uint64_t echo;

	relay_keepalive_build(k);
	CHECK_EQ(k[0], 0x8A);
	CHECK(relay_keepalive_is(k, 4));
	CHECK(!relay_keepalive_is(k, 5));
	k[3] = 1;
	CHECK(!relay_keepalive_is(k, 4));
	relay_ping_build(p, COORD_MSG_RELAY_PING, UINT64_C(0x0102030405060708));
	static const uint8_t want[12] = { 0x8B, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1 };
	CHECK_MEM(p, want, 12);
	CHECK_EQ(relay_ping_parse(p, 12, &t, &echo), 0);
	CHECK_EQ(t, 0x8B);
	CHECK(echo == UINT64_C(0x0102030405060708));
	relay_ping_build(p, COORD_MSG_RELAY_PONG, 9);
	CHECK_EQ(relay_ping_parse(p, 12, &t, &echo), 0);
	CHECK_EQ(t, 0x8C);
	CHECK_EQ(echo, 9);
	CHECK_EQ(relay_ping_parse(p, 11, &t, &echo), -EBADMSG);
	p[2] = 1;
	CHECK_EQ(relay_ping_parse(p, 12, &t, &echo), -EBADMSG);
	p[2] = 0;
	p[0] = 0x83;
	CHECK_EQ(relay_ping_parse(p, 12, &t, &echo), -EBADMSG);
}

int main(void)
{
	test_frames();
	test_poll();
	test_seq_window();
	test_messages();
	return check_report("test_relay_link");
}
