/* roamd's receiving side of the push channel (daemon/managed/managed_push_rx.c)
 * on a fake clock and a fake server (lib/coord/push.c's sender): lines cut
 * anywhere across datagrams come out whole, a new stream resets the line
 * splitter, acknowledgements are owed once per batch and at once for a
 * gap (once per hole), not for the empty answer to a KEEP, the PUSH_ACK timestamps only go up, and a stream
 * the node never asked for is refused. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "crypto/crypto.h"
#include "daemon/managed/managed_push_rx.h"

#define MS (UINT64_C(1000000))
#define NODE 9

static uint8_t k[COORD_KEY_LEN], pk[COORD_KEY_LEN];
static char got[4096];
static size_t lines;

static void on_line(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	size_t n = strlen(got);
	snprintf(got + n, sizeof(got) - n, "[%.*s]", (int)len, line);
	lines++;
}

/* One PUSH_DATA of stream id (opened at ts) for [off, off + len) of text. */
static size_t datagram(uint8_t *out, uint64_t id, uint64_t ts, uint64_t off, const char *text, size_t len,
		       uint8_t flags)
{
	struct coord_push_data d = { .flags = flags, .node_id = NODE, .stream_id = id, .opened_ts = ts, .offset = off,
				     .data = (const uint8_t *)text, .len = len };
	int n = coord_push_data_build(out, pk, &d);
	CHECK(n > 0);
	return n > 0 ? (size_t)n : 0;
}

static int input(struct managed_push_rx *p, const uint8_t *b, size_t n)
{
	return managed_push_rx_input(p, b, n, on_line, NULL);
}

/* The PUSH_ACK the node would send now, parsed back. */
static struct coord_push_ack ack(struct managed_push_rx *p, uint8_t flags, const char *view, uint64_t wall)
{
	uint8_t m[sizeof(struct coord_msg_push_ack)];
	struct coord_push_ack a = { 0 };
	CHECK(managed_push_rx_ack(p, flags, view, wall, m) == 0);
	CHECK(coord_push_ack_parse(m, sizeof(m), k, &a) == 0);
	return a;
}

static void test_lines_across_datagrams(void)
{
	struct managed_push_rx p;
	uint8_t b[COORD_PUSH_DATA_MAX];
	const char *s = "{\"a\":1}\n{\"bb\":22}\n{\"c\":3}\n";
	managed_push_rx_init(&p, k, NODE);
	struct coord_push_ack o = ack(&p, COORD_PUSH_ACK_OPEN, "", 1000);
	CHECK(o.flags == COORD_PUSH_ACK_OPEN && o.stream_id == 0 && o.offset == 0 && o.timestamp_ns == 1000);
	got[0] = '\0';
	lines = 0;
	/* Cut mid-line, twice, then the rest: three datagrams, three lines. */
	CHECK_EQ(input(&p, b, datagram(b, 77, 1000, 0, s, 3, 0)), MANAGED_PUSH_IN_TAKEN | MANAGED_PUSH_IN_NEW);
	CHECK_EQ(lines, 0);
	CHECK_EQ(input(&p, b, datagram(b, 77, 1000, 3, s + 3, 10, 0)), MANAGED_PUSH_IN_TAKEN);
	CHECK(strcmp(got, "[{\"a\":1}]") == 0);
	CHECK(p.ack_due && !p.ack_now);
	/* A resend overlapping what we hold gives only the new bytes. */
	CHECK_EQ(input(&p, b, datagram(b, 77, 1000, 8, s + 8, strlen(s) - 8, 0)), MANAGED_PUSH_IN_TAKEN);
	CHECK(strcmp(got, "[{\"a\":1}][{\"bb\":22}][{\"c\":3}]") == 0);
	CHECK_EQ(lines, 3);
	/* Three datagrams, one acknowledgement at the batch's end: everything. */
	struct coord_push_ack a = ack(&p, 0, "e.5", 999); /* the wall clock went back: still newer */
	CHECK(a.stream_id == 77 && a.offset == strlen(s) && a.timestamp_ns == 1001 && strcmp(a.view, "e.5") == 0);
	CHECK(!p.ack_due && !p.ack_now);
	/* The empty answer to a KEEP: taken (the channel lives), owed no ack. */
	CHECK_EQ(input(&p, b, datagram(b, 77, 1000, strlen(s), NULL, 0, 0)), MANAGED_PUSH_IN_TAKEN);
	CHECK(!p.ack_due && !p.ack_now);
	/* Flagged KEPT: the server had our KEEP (the binding holds). */
	CHECK_EQ(input(&p, b, datagram(b, 77, 1000, strlen(s), NULL, 0, COORD_PUSH_DATA_KEPT)),
		 MANAGED_PUSH_IN_TAKEN | MANAGED_PUSH_IN_KEPT);
	CHECK(!p.ack_due && !p.ack_now);
	/* ... but not from a stream we do not hold */
	CHECK_EQ(input(&p, b, datagram(b, 78, 900, 0, NULL, 0, COORD_PUSH_DATA_KEPT)), 0);
	/* A duplicate (our ack was lost) is owed an ack again, and no line. */
	CHECK_EQ(input(&p, b, datagram(b, 77, 1000, 0, s, 8, 0)), MANAGED_PUSH_IN_TAKEN);
	CHECK(p.ack_due && lines == 3);
	managed_push_rx_free(&p);
}

static void test_gap_acked_at_once(void)
{
	struct managed_push_rx p;
	uint8_t b[COORD_PUSH_DATA_MAX];
	managed_push_rx_init(&p, k, NODE);
	ack(&p, COORD_PUSH_ACK_OPEN, "", 5000);
	got[0] = '\0';
	CHECK_EQ(input(&p, b, datagram(b, 5, 5000, 0, "abc", 3, 0)), MANAGED_PUSH_IN_TAKEN | MANAGED_PUSH_IN_NEW);
	ack(&p, 0, "", 5001);
	/* [3, 6) lost: [6, 9) and [9, 12) beyond the gap. The first is acked at
	 * once, the second waits (one at-once ack per hole). */
	CHECK_EQ(input(&p, b, datagram(b, 5, 5000, 6, "ghi", 3, 0)), MANAGED_PUSH_IN_GAP);
	CHECK(p.ack_now && p.rx.offset == 3);
	struct coord_push_ack a = ack(&p, 0, "", 5002);
	CHECK(a.offset == 3);
	CHECK_EQ(input(&p, b, datagram(b, 5, 5000, 9, "jkl", 3, 0)), 0);
	CHECK(!p.ack_now);
	/* The resend fills the hole; the next hole is acked at once again. */
	CHECK_EQ(input(&p, b, datagram(b, 5, 5000, 3, "def", 3, 0)), MANAGED_PUSH_IN_TAKEN);
	CHECK_EQ(input(&p, b, datagram(b, 5, 5000, 12, "mno\n", 4, 0)), MANAGED_PUSH_IN_GAP);
	CHECK(p.ack_now && p.rx.offset == 6);
	managed_push_rx_free(&p);
}

static void test_new_stream_resets_lines(void)
{
	struct managed_push_rx p;
	uint8_t b[COORD_PUSH_DATA_MAX];
	managed_push_rx_init(&p, k, NODE);
	ack(&p, COORD_PUSH_ACK_OPEN, "", 100);
	got[0] = '\0';
	lines = 0;
	CHECK(input(&p, b, datagram(b, 1, 100, 0, "{\"half", 6, 0)) > 0);
	/* The server restarted: our OPEN|KEEP at 200 opened stream 2. Its
	 * first line must not be glued to stream 1's half line. */
	ack(&p, COORD_PUSH_ACK_OPEN | COORD_PUSH_ACK_KEEP, "e.1", 200);
	CHECK_EQ(input(&p, b, datagram(b, 2, 200, 0, "{\"x\":1}\n", 8, 0)), MANAGED_PUSH_IN_TAKEN | MANAGED_PUSH_IN_NEW);
	CHECK(strcmp(got, "[{\"x\":1}]") == 0);
	/* Stream 1 again (a late resend or a replay): refused, as is a stream
	 * opened after our newest PUSH_ACK (never asked for). */
	CHECK_EQ(input(&p, b, datagram(b, 1, 100, 6, "x\"}\n", 4, 0)), 0);
	CHECK_EQ(input(&p, b, datagram(b, 3, 300, 0, "{}\n", 3, 0)), 0);
	CHECK(p.rx.stream_id == 2 && lines == 1);
	/* Not ours: another key, another node. */
	uint8_t other[COORD_KEY_LEN];
	memcpy(other, pk, sizeof(other));
	pk[0] ^= 1;
	CHECK_EQ(input(&p, b, datagram(b, 2, 200, 8, "{}\n", 3, 0)), -EKEYREJECTED);
	memcpy(pk, other, sizeof(pk));
	struct coord_push_data d = { .node_id = NODE + 1, .stream_id = 2, .opened_ts = 200, .offset = 8 };
	int n = coord_push_data_build(b, pk, &d);
	CHECK_EQ(input(&p, b, (size_t)n), -EBADMSG);
	managed_push_rx_free(&p);
}

static void test_end_and_too_big(void)
{
	struct managed_push_rx p;
	uint8_t b[COORD_PUSH_DATA_MAX];
	managed_push_rx_init(&p, k, NODE);
	ack(&p, COORD_PUSH_ACK_OPEN, "", 10);
	CHECK_EQ(input(&p, b, datagram(b, 4, 10, 0, "{}\n", 3, COORD_PUSH_DATA_END)),
		 MANAGED_PUSH_IN_TAKEN | MANAGED_PUSH_IN_NEW | MANAGED_PUSH_IN_END);
	/* Forgotten: the next OPEN names no stream; the ended one stays refused. */
	managed_push_rx_forget(&p);
	struct coord_push_ack a = ack(&p, COORD_PUSH_ACK_OPEN, "", 11);
	CHECK(a.stream_id == 0 && a.offset == 0);
	CHECK_EQ(input(&p, b, datagram(b, 4, 10, 0, "{}\n", 3, COORD_PUSH_DATA_END)), 0);
	CHECK_EQ(input(&p, b, datagram(b, 6, 11, 0, NULL, 0, COORD_PUSH_DATA_END | COORD_PUSH_DATA_TOO_BIG)),
		 MANAGED_PUSH_IN_TAKEN | MANAGED_PUSH_IN_NEW | MANAGED_PUSH_IN_END | MANAGED_PUSH_IN_TOO_BIG);
	managed_push_rx_free(&p);
}

/* A whole stream from the real sender through a link that loses every
 * third datagram, the node acking once per "turn": every line arrives once. */
static void test_through_lossy_link(void)
{
	struct managed_push_rx p;
	struct coord_push_tx t;
	uint8_t b[COORD_PUSH_DATA_MAX];
	char text[3000];
	size_t n = 0, want = 0;
	for (int i = 0; n + 40 < sizeof(text); i++, want++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"peer\":%d,\"pad\":\"xxxxxxxxxx\"}\n", i);
	managed_push_rx_init(&p, k, NODE);
	ack(&p, COORD_PUSH_ACK_OPEN, "", 50);
	coord_push_tx_init(&t, 8, 50);
	CHECK(coord_push_tx_queue(&t, text, n) == 0);
	got[0] = '\0';
	lines = 0;
	uint64_t now = 0;
	unsigned sent = 0;
	for (int turn = 0; turn < 50 && !coord_push_tx_idle(&t); turn++, now += 1100 * MS) {
		struct coord_push_data d;
		while (coord_push_tx_next(&t, now, &d)) {
			uint8_t plain[COORD_PUSH_CHUNK_MAX];
			memcpy(plain, d.data, d.len);
			d.data = plain;
			d.node_id = NODE;
			int len = coord_push_data_build(b, pk, &d);
			if (++sent % 3 != 0)
				input(&p, b, (size_t)len);
		}
		if (p.ack_due || p.ack_now)
			coord_push_tx_ack(&t, ack(&p, 0, "", 51 + (uint64_t)turn).offset, now);
	}
	CHECK(coord_push_tx_idle(&t));
	CHECK_EQ(lines, want);
	CHECK_EQ(p.rx.offset, n);
	coord_push_tx_free(&t);
	managed_push_rx_free(&p);
}

int main(void)
{
	CHECK(crypto_init() == 0);
	crypto_random(k, sizeof(k));
	coord_push_key(pk, k);
	test_lines_across_datagrams();
	test_gap_acked_at_once();
	test_new_stream_resets_lines();
	test_end_and_too_big();
	test_through_lossy_link();
	return check_report("test_managed_push_rx");
}
