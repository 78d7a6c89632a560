/* The server's side of the push channel (server/relay.c's PUSH_ACK checks,
 * server/pushchan/push_chan.c) against an in-memory directory, with fake
 * sends and a fake clock: an OPEN from the node's bound endpoint opens a
 * stream that carries its view (read back with the node's receiver); from
 * another address, with a stale or replayed timestamp, a bad mac, or
 * before any BINDING, nothing is sent; acknowledgements free the queue;
 * unacknowledged chunks are sent again on the timer and a stream whose
 * retransmissions go unanswered is closed; a view over the queue cap ends
 * with TOO_BIG; a KEEP is answered (flagged KEPT, also on the first chunk
 * when bytes go out anyway) and refreshes the binding; a stream the server does not hold is
 * told it ended. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "coord/auth.h"
#include "coord/push.h"
#include "coord/udp.h"
#include "crypto/crypto.h"
#include "server/directory.h"
#include "server/pushchan/push_chan.h"
#include "server/relay.h"
#include "server/server.h"

#define NOW_NS (UINT64_C(1700000000) * 1000000000u)
#define MS UINT64_C(1000000)
#define SENT_MAX 512

struct sent {
	struct sockaddr_any to;
	uint8_t buf[COORD_PUSH_DATA_MAX];
	size_t len;
};

static struct sent g_sent[SENT_MAX];
static size_t g_nsent;
static struct push_chan g_pc;
static struct push_stream *g_cur[4]; /* by node id */
static size_t g_opened, g_over, g_bound, g_view_len = 3000;
static uint64_t g_mono = 1000 * MS, g_armed;
static char g_view_asked[COORD_PUSH_VIEW_LEN];

static int rec_send(void *ctx, const struct sockaddr_any *to, const uint8_t *buf, size_t len)
{
	(void)ctx;
	if (g_nsent < SENT_MAX) {
		g_sent[g_nsent].to = *to;
		g_sent[g_nsent].len = len;
		memcpy(g_sent[g_nsent].buf, buf, len);
	}
	g_nsent++;
	return 0;
}

static void rec_bound(void *ctx, struct dir_node *n, bool moved)
{
	(void)ctx;
	(void)n;
	(void)moved;
	g_bound++;
}

static void rec_evicted(void *ctx, struct dir_node *n)
{
	(void)ctx;
	(void)n;
}

/* The stream begins with g_view_len bytes of "view": lines of 99 x + \n. */
static int rec_open(void *ctx, struct dir_node *n, struct push_stream *ps, const char *view)
{
	char line[100];

	(void)ctx;
	memset(line, 'x', sizeof(line) - 1);
	line[99] = '\n';
	push_stream_free(&g_pc, g_cur[n->rec.id]);
	g_cur[n->rec.id] = ps;
	g_opened++;
	snprintf(g_view_asked, sizeof(g_view_asked), "%s", view);
	for (size_t off = 0; off < g_view_len; off += sizeof(line))
		if (push_stream_queue(&g_pc, ps, line, sizeof(line), g_mono) < 0)
			break;
	return 0;
}

static void rec_over(void *ctx, struct push_stream *ps)
{
	(void)ctx;
	g_over++;
	g_cur[ps->node->rec.id] = NULL;
	push_stream_free(&g_pc, ps);
}

static void rec_arm(void *ctx, uint64_t due_ns)
{
	(void)ctx;
	g_armed = due_ns;
}

static void rec_push_ack(void *ctx, struct dir_node *n, const struct coord_push_ack *a)
{
	(void)ctx;
	push_chan_input(&g_pc, n, g_cur[n->rec.id], a, g_mono);
}

struct tnode {
	uint8_t priv[32], pub[32], k[32], push_key[32];
	uint32_t id;
	uint64_t ts, push_ts;
	struct coord_push_rx rx;
	size_t got;
	uint8_t flags; /* of the last PUSH_DATA */
};

static struct tnode nodes[2];

static void setup(struct directory *d, const uint8_t srv_priv[32], const uint8_t srv_pub[32])
{
	static const uint8_t net6[16] = { 0xfd, 1 };
	struct store_group groups[1] = { { .id = 1, .name = "g1" } };

	CHECK_EQ(dir_init(d, srv_priv, net6), 0);
	for (uint32_t i = 0; i < 2; i++) {
		struct store_node rec = { .id = i + 1, .approved = true, .groups_count = 1 };
		struct dir_node *n;
		bool changed;
		crypto_random(nodes[i].priv, 32);
		x25519_clamp(nodes[i].priv);
		x25519_public(nodes[i].pub, nodes[i].priv);
		CHECK_EQ(coord_control_key(nodes[i].k, nodes[i].priv, srv_pub), 0);
		coord_push_key(nodes[i].push_key, nodes[i].k);
		nodes[i].id = i + 1;
		nodes[i].ts = nodes[i].push_ts = NOW_NS - 1000;
		memcpy(rec.public_key, nodes[i].pub, 32);
		rec.groups[0] = 1;
		CHECK_EQ(dir_node_set(d, &rec, &n, &changed), 0);
	}
	CHECK_EQ(dir_groups_set(d, groups, 1), 0);
}

static void bind_from(struct relay *r, struct tnode *t, const char *from)
{
	uint8_t msg[sizeof(struct coord_msg_binding)], nonce[8] = { 0 };
	struct sockaddr_any a;

	CHECK_EQ(sockaddr_any_parse(from, &a), 0);
	coord_binding_build(msg, t->k, t->id, ++t->ts, nonce);
	relay_input(r, msg, sizeof(msg), &a, NOW_NS);
}

/* A PUSH_ACK from t (key: whose mac), ts 0: its next timestamp. */
static void ack_from(struct relay *r, struct tnode *t, const uint8_t *key, const char *from, uint8_t flags,
		     uint64_t ts)
{
	struct coord_push_ack a = { .flags = flags, .node_id = t->id, .stream_id = t->rx.stream_id,
				    .offset = t->rx.offset };
	uint8_t msg[sizeof(struct coord_msg_push_ack)];
	struct sockaddr_any src;

	a.timestamp_ns = ts ? ts : ++t->push_ts;
	strcpy(a.view, "1a.2");
	CHECK_EQ(coord_push_ack_build(msg, key, &a), 0);
	CHECK_EQ(sockaddr_any_parse(from, &src), 0);
	relay_input(r, msg, sizeof(msg), &src, NOW_NS);
}

/* What the node makes of the datagrams sent since `first`: 0 or -errno. */
static int node_read(struct tnode *t, size_t first)
{
	uint8_t plain[COORD_PUSH_CHUNK_MAX];
	struct coord_push_data d;
	size_t skip;
	int r;

	for (size_t i = first; i < g_nsent && i < SENT_MAX; i++) {
		if ((r = coord_push_data_parse(g_sent[i].buf, g_sent[i].len, t->push_key, t->id, plain, &d)) < 0)
			return r;
		t->flags = d.flags;
		if (coord_push_rx_accept(&t->rx, &d, t->push_ts, &skip) == COORD_PUSH_RX_DROP)
			continue;
		for (size_t j = skip; j < d.len; j++)
			if (d.data[j] != ((t->got + j - skip) % 100 == 99 ? '\n' : 'x'))
				return -EBADMSG;
		t->got += d.len - skip;
	}
	return 0;
}

static bool sent_to(size_t i, const char *ep)
{
	struct sockaddr_any a;

	sockaddr_any_parse(ep, &a);
	return sockaddr_any_equal(&g_sent[i].to, &a);
}

static void test_refused(struct relay *r, struct server_stats *st)
{
	struct tnode *A = &nodes[0], *B = &nodes[1];
	uint64_t bad = st->push_bad;

	/* before any BINDING: no endpoint proved, nothing sent */
	g_nsent = 0;
	ack_from(r, A, A->k, "198.51.100.11:4000", COORD_PUSH_ACK_OPEN, 0);
	CHECK_EQ(g_nsent, 0);
	CHECK_EQ(g_opened, 0);
	bind_from(r, A, "198.51.100.11:4000");
	bind_from(r, B, "198.51.100.12:4000");
	g_nsent = 0;
	/* from another address than A's bound one */
	ack_from(r, A, A->k, "198.51.100.99:4000", COORD_PUSH_ACK_OPEN, 0);
	/* stale (beyond the skew), from the future, with B's mac */
	ack_from(r, A, A->k, "198.51.100.11:4000", COORD_PUSH_ACK_OPEN, NOW_NS - COORD_BINDING_MAX_SKEW_NS - 1);
	ack_from(r, A, A->k, "198.51.100.11:4000", COORD_PUSH_ACK_OPEN, NOW_NS + COORD_BINDING_MAX_SKEW_NS + 1);
	ack_from(r, A, B->k, "198.51.100.11:4000", COORD_PUSH_ACK_OPEN, 0);
	push_chan_run(&g_pc, g_mono);
	CHECK_EQ(g_nsent, 0);
	CHECK_EQ(g_opened, 0);
	CHECK_EQ(st->push_bad, bad + 5);
}

static void test_open(struct relay *r, struct server_stats *st)
{
	struct tnode *A = &nodes[0];
	uint64_t ts;

	g_nsent = 0;
	ack_from(r, A, A->k, "198.51.100.11:4000", COORD_PUSH_ACK_OPEN, 0);
	CHECK_EQ(g_opened, 1);
	CHECK(g_cur[A->id] != NULL);
	CHECK(strcmp(g_view_asked, "1a.2") == 0);
	CHECK_EQ(g_nsent, 0); /* sent at the turn's run, in full chunks */
	CHECK_EQ(g_armed, g_mono);
	push_chan_run(&g_pc, g_mono);
	CHECK_EQ(g_nsent, 3); /* 3000 bytes: 1100 + 1100 + 800 */
	CHECK(sent_to(0, "198.51.100.11:4000") && sent_to(2, "198.51.100.11:4000"));
	CHECK_EQ(node_read(A, 0), 0);
	CHECK(!(A->flags & COORD_PUSH_DATA_KEPT)); /* an OPEN alone is no KEEP */
	CHECK_EQ(A->got, 3000);
	CHECK_EQ(A->rx.opened_ts, A->push_ts);
	CHECK_EQ(st->push_streams, 1);
	CHECK_EQ(st->push_data, 3);
	CHECK_EQ(g_armed, g_mono + COORD_PUSH_RTO_NS); /* the retransmission timer */
	/* a replay of the OPEN (same timestamp) does nothing */
	ts = A->push_ts;
	ack_from(r, A, A->k, "198.51.100.11:4000", COORD_PUSH_ACK_OPEN, ts);
	CHECK_EQ(g_opened, 1);
	/* the node acknowledges it all: the queue is empty, no timer */
	ack_from(r, A, A->k, "198.51.100.11:4000", 0, 0);
	CHECK_EQ(g_cur[A->id]->tx.len, 0);
	CHECK_EQ(g_cur[A->id]->tx.acked, 3000);
	CHECK(!heap_node_queued(&g_cur[A->id]->timer));
	CHECK(g_cur[A->id]->tx.buf == NULL); /* an idle stream holds no buffer */
	/* an offset never sent is refused */
	A->rx.offset = 5000;
	ack_from(r, A, A->k, "198.51.100.11:4000", 0, 0);
	A->rx.offset = 3000;
	CHECK_EQ(st->push_bad, 7); /* and the replay */
	/* KEEP with nothing to send: one empty PUSH_DATA at the offset,
	 * flagged KEPT; the KEEP refreshed the binding as a BINDING would */
	g_nsent = 0;
	size_t bound = g_bound;
	struct dir_node *An = dir_node_get(r->dir, A->id);
	An->last_seen = 1;
	ack_from(r, A, A->k, "198.51.100.11:4000", COORD_PUSH_ACK_KEEP, 0);
	CHECK_EQ(g_nsent, 1);
	CHECK_EQ(g_sent[0].len, sizeof(struct coord_msg_push_data_header) + COORD_MAC_LEN);
	CHECK_EQ(node_read(A, 0), 0);
	CHECK_EQ(A->rx.offset, 3000);
	CHECK(A->flags & COORD_PUSH_DATA_KEPT);
	CHECK_EQ(st->push_keeps, 1);
	CHECK_EQ(g_bound, bound + 1);
	CHECK_EQ(An->last_seen, (int64_t)(NOW_NS / 1000000000u));
	/* an acknowledgement alone is no KEEP: no answer, no refresh */
	g_nsent = 0;
	ack_from(r, A, A->k, "198.51.100.11:4000", 0, 0);
	CHECK_EQ(g_nsent, 0);
	CHECK_EQ(st->push_keeps, 1);
	CHECK_EQ(g_bound, bound + 1);
	/* KEEP while bytes are queued: no empty answer, the chunk says KEPT */
	CHECK_EQ(push_stream_queue(&g_pc, g_cur[A->id], "xxxx", 4, g_mono), 0);
	ack_from(r, A, A->k, "198.51.100.11:4000", COORD_PUSH_ACK_KEEP, 0);
	CHECK_EQ(g_nsent, 0);
	push_chan_run(&g_pc, g_mono);
	CHECK_EQ(g_nsent, 1);
	CHECK_EQ(node_read(A, 0), 0);
	CHECK(A->flags & COORD_PUSH_DATA_KEPT);
	CHECK_EQ(A->rx.offset, 3004);
	ack_from(r, A, A->k, "198.51.100.11:4000", 0, 0);
	/* the next chunk, with no KEEP before it, does not */
	CHECK_EQ(push_stream_queue(&g_pc, g_cur[A->id], "xxxx", 4, g_mono), 0);
	g_nsent = 0;
	push_chan_run(&g_pc, g_mono);
	CHECK_EQ(g_nsent, 1);
	CHECK_EQ(node_read(A, 0), 0);
	CHECK(!(A->flags & COORD_PUSH_DATA_KEPT));
	ack_from(r, A, A->k, "198.51.100.11:4000", 0, 0);
	CHECK_EQ(g_cur[A->id]->tx.len, 0);
	/* the node moves: its pushes go to its new endpoint */
	bind_from(r, A, "198.51.100.11:5000");
	g_nsent = 0;
	CHECK_EQ(push_stream_queue(&g_pc, g_cur[A->id], "xxxxxxxxx", 9, g_mono), 0); /* not a line: only read as bytes */
	push_chan_run(&g_pc, g_mono);
	CHECK_EQ(g_nsent, 1);
	CHECK(sent_to(0, "198.51.100.11:5000"));
	A->rx.offset += 9; /* taken as read */
	A->got += 9;
	ack_from(r, A, A->k, "198.51.100.11:4000", 0, 0); /* the old endpoint: refused */
	CHECK_EQ(st->push_bad, 8);
	ack_from(r, A, A->k, "198.51.100.11:5000", 0, 0);
	CHECK_EQ(g_cur[A->id]->tx.len, 0);
}

static void test_resend_dead(struct relay *r, struct server_stats *st)
{
	struct tnode *A = &nodes[0];
	struct push_stream *ps = g_cur[A->id];
	uint64_t t = g_mono;
	size_t over = g_over;

	/* unanswered: sent again on the timer, doubling, then closed */
	g_nsent = 0;
	CHECK_EQ(push_stream_queue(&g_pc, ps, "0123456789", 10, t), 0);
	push_chan_run(&g_pc, t);
	CHECK_EQ(g_nsent, 1);
	push_chan_run(&g_pc, t + COORD_PUSH_RTO_NS - 1);
	CHECK_EQ(g_nsent, 1);
	for (unsigned i = 0; i < COORD_PUSH_RETRIES; i++) {
		t = g_armed;
		push_chan_run(&g_pc, t);
		CHECK_EQ(g_nsent, 2 + i);
	}
	CHECK_EQ(st->push_resent, COORD_PUSH_RETRIES);
	CHECK_EQ(g_over, over);
	push_chan_run(&g_pc, g_armed);
	CHECK_EQ(g_over, over + 1);
	CHECK(g_cur[A->id] == NULL);
	CHECK_EQ(st->push_dead, 1);
	CHECK_EQ(g_pc.timers.len, 0);
	/* the node names the stream we closed: told it ended, at its offset */
	g_nsent = 0;
	ack_from(r, A, A->k, "198.51.100.11:5000", COORD_PUSH_ACK_KEEP, 0);
	CHECK_EQ(g_nsent, 1);
	CHECK_EQ(node_read(A, 0), 0);
	CHECK(A->rx.ended && !A->rx.too_big);
	CHECK(g_cur[A->id] == NULL);
}

static void test_too_big(struct relay *r, struct server_stats *st)
{
	struct tnode *B = &nodes[1];

	g_pc.queue_max = 4096;
	g_view_len = 5000;
	g_nsent = 0;
	ack_from(r, B, B->k, "198.51.100.12:4000", COORD_PUSH_ACK_OPEN, 0);
	CHECK_EQ(st->push_too_big, 1);
	push_chan_run(&g_pc, g_mono);
	CHECK_EQ(node_read(B, 0), 0);
	CHECK_EQ(B->got, 4000); /* the lines that fit, then the end */
	CHECK(B->rx.ended && B->rx.too_big);
	CHECK(B->flags & COORD_PUSH_DATA_TOO_BIG);
	/* acknowledged whole: the ended stream goes */
	ack_from(r, B, B->k, "198.51.100.12:4000", 0, 0);
	CHECK(g_cur[B->id] == NULL);
	g_pc.queue_max = COORD_PUSH_QUEUE_MAX;
	/* OPEN again (as after taking the view over HTTPS): a new stream */
	g_view_len = 200;
	g_nsent = 0;
	B->push_ts++;
	ack_from(r, B, B->k, "198.51.100.12:4000", COORD_PUSH_ACK_OPEN, 0);
	push_chan_run(&g_pc, g_mono);
	B->got = 0;
	CHECK_EQ(node_read(B, 0), 0);
	CHECK_EQ(B->got, 200);
	CHECK(!B->rx.ended);
}

/* An OPEN sent again (same view) before anything was acknowledged: the
 * stream the server opened goes again from its start, no new one; asking
 * another view, or after an acknowledgement, opens a new one. */
static void test_open_again(struct relay *r)
{
	struct tnode *B = &nodes[1];
	uint64_t held = B->rx.stream_id, id;
	size_t opened = g_opened;

	/* unacknowledged and the same view: the OPEN resends it */
	ack_from(r, B, B->k, "198.51.100.12:4000", COORD_PUSH_ACK_OPEN, 0);
	CHECK_EQ(g_opened, opened);
	/* acknowledged: an OPEN naming no stream opens a new one */
	ack_from(r, B, B->k, "198.51.100.12:4000", 0, 0);
	B->rx.stream_id = 0; /* as a node whose stream ended: it names none */
	ack_from(r, B, B->k, "198.51.100.12:4000", COORD_PUSH_ACK_OPEN, 0);
	CHECK_EQ(g_opened, opened + 1);
	/* asked again before the loop sent anything of it (a busy server
	 * after a restart): still that stream, not a new one (each new one
	 * builds the view again, and the asking went on) */
	id = g_cur[B->id]->tx.stream_id;
	ack_from(r, B, B->k, "198.51.100.12:4000", COORD_PUSH_ACK_OPEN, 0);
	CHECK_EQ(g_opened, opened + 1);
	CHECK_EQ(g_cur[B->id]->tx.stream_id, id);
	g_nsent = 0;
	push_chan_run(&g_pc, g_mono);
	CHECK_EQ(g_nsent, 1);
	B->rx.stream_id = 0;
	ack_from(r, B, B->k, "198.51.100.12:4000", COORD_PUSH_ACK_OPEN, 0);
	CHECK_EQ(g_opened, opened + 1);
	CHECK_EQ(g_cur[B->id]->tx.stream_id, id);
	push_chan_run(&g_pc, g_mono);
	CHECK_EQ(g_nsent, 2); /* the same bytes again */
	CHECK_MEM(g_sent[1].buf + 8, g_sent[0].buf + 8, 24); /* stream id, opened_ts, offset 0 */
	B->rx.stream_id = held;
}

int main(void)
{
	static const struct relay_ops ops = { rec_send, rec_bound, rec_evicted, NULL, rec_push_ack };
	static const struct push_stream_ops pops = { rec_send, rec_open, rec_over, rec_arm };
	uint8_t srv_priv[32], srv_pub[32];
	struct server_stats st = { 0 };
	struct directory d;
	struct relay r;

	if (crypto_init() < 0)
		return 1;
	crypto_random(srv_priv, 32);
	x25519_clamp(srv_priv);
	x25519_public(srv_pub, srv_priv);
	setup(&d, srv_priv, srv_pub);
	relay_init(&r, &d, &st, &ops, NULL);
	push_chan_init(&g_pc, &pops, NULL, &st);
	test_refused(&r, &st);
	test_open(&r, &st);
	test_resend_dead(&r, &st);
	test_too_big(&r, &st);
	test_open_again(&r);
	for (size_t i = 0; i < 4; i++)
		push_stream_free(&g_pc, g_cur[i]);
	push_chan_free(&g_pc);
	relay_wipe(&r);
	dir_free(&d);
	return check_report("test_push_srv");
}
