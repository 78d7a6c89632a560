/* The protocol engine end to end between in-memory nodes with a fake clock:
 * sessions, both address families, replay, wrong keys, cryptokey routing,
 * malformed input, cookies under load, and every timer. */
#include "check.h"
#include "harness.h"

#define S 1000000000ULL

static struct h_node *A, *B;
static struct wg_peer *AB, *BA; /* A's view of B, B's view of A */

static void setup(void)
{
	h_reset();
	A = h_add_node("192.0.2.1", 51820, 1);
	B = h_add_node("192.0.2.2", 51820, 2);
	AB = h_connect(A, B, "10.0.0.2", 32);
	BA = h_connect(B, A, "10.0.0.1", 32);
	uint8_t v6[16];
	inet_pton(AF_INET6, "fd00::2", v6);
	wg_peer_allow(AB, AF_INET6, v6, 128);
	inet_pton(AF_INET6, "fd00::1", v6);
	wg_peer_allow(BA, AF_INET6, v6, 128);
}

/* setup(), then B's device made again with ops (a program's callbacks). */
static void setup_b_with(const struct wg_device_ops *ops)
{
	setup();
	wg_device_free(B->dev);
	wg_device_new(ops, B, &B->dev);
	wg_device_set_private_key(B->dev, B->priv);
	B->seen_hook = true;
	BA = h_connect(B, A, "10.0.0.1", 32);
}

static const struct wg_drop_counters *drops(struct h_node *n) { return wg_device_drops(n->dev); }

static void test_session_both_ways(void)
{
	setup();
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 100);
	CHECK_EQ(A->sent_by_type[WG_MSG_INITIATION], 1);
	h_pump();
	CHECK_EQ(B->delivered, 1);
	CHECK_EQ(B->last_len, 120);
	CHECK_EQ(B->last[20 + 99], 99);
	h_send_ip(B, "10.0.0.2", "10.0.0.1", 200);
	h_pump();
	CHECK_EQ(A->delivered, 1);
	CHECK_EQ(A->last_len, 220);
	h_send_ip(A, "fd00::1", "fd00::2", 1000);
	h_send_ip(B, "fd00::2", "fd00::1", 1);
	h_pump();
	CHECK_EQ(B->delivered, 2);
	CHECK_EQ(B->last_len, 1040);
	CHECK_EQ(A->delivered, 2);
	CHECK_EQ(A->sent_by_type[WG_MSG_INITIATION], 1); /* one handshake served all */
	CHECK(AB->tx_bytes > 0 && BA->rx_bytes > 0 && BA->last_handshake_unix_ns > 0);
	CHECK(BA->keypair_current && !BA->keypair_next); /* confirmed by data */
}

static void test_handshake_from_responder_side(void)
{
	setup();
	h_send_ip(B, "10.0.0.2", "10.0.0.1", 10);
	h_pump();
	CHECK_EQ(A->delivered, 1);
	CHECK_EQ(B->sent_by_type[WG_MSG_INITIATION], 1);
	CHECK_EQ(A->sent_by_type[WG_MSG_INITIATION], 0);
}

/* Both ends send their first packet at the same moment (a pair that
 * just learnt of each other): both initiations cross. Answering both
 * would wipe both initiations and leave the pair silent until the 5 s
 * retry; one end (the larger key) keeps its own, the other answers it. */
static void test_simultaneous_initiations(void)
{
	setup();
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 60);
	h_send_ip(B, "10.0.0.2", "10.0.0.1", 70);
	CHECK_EQ(A->sent_by_type[WG_MSG_INITIATION], 1);
	CHECK_EQ(B->sent_by_type[WG_MSG_INITIATION], 1);
	h_pump(); /* no time passes */
	CHECK_EQ(B->delivered, 1);
	CHECK_EQ(A->delivered, 1);
	CHECK_EQ(drops(A)->handshake_rejected + drops(B)->handshake_rejected, 0);
	CHECK_EQ(drops(A)->simultaneous_initiation + drops(B)->simultaneous_initiation, 1);
	/* The larger key's initiation was lost over a second ago: it answers
	 * the other's instead of waiting for its own retry. */
	setup();
	bool a_larger = memcmp(wg_device_public_key(A->dev), wg_device_public_key(B->dev), 32) > 0;
	struct h_node *big = a_larger ? A : B, *small = a_larger ? B : A;
	const char *big_ip = a_larger ? "10.0.0.1" : "10.0.0.2", *small_ip = a_larger ? "10.0.0.2" : "10.0.0.1";
	h_drop_all = true;
	h_send_ip(big, big_ip, small_ip, 60);
	h_pump();
	h_drop_all = false;
	h_now += 1500 * 1000000ULL;
	h_send_ip(small, small_ip, big_ip, 70);
	h_pump();
	CHECK_EQ(big->delivered, 1);
	CHECK_EQ(small->delivered, 1); /* big's staged packet, on the new session */
	CHECK_EQ(drops(big)->simultaneous_initiation, 0);
}

/* The first initiation arrives before the responder knows the initiator
 * (the server told the initiator first): kept, and answered the moment
 * the peer is added, not 5 s later on the retry. */
static void test_early_initiation(void)
{
	setup();
	wg_peer_remove(BA);
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 80);
	h_pump();
	CHECK_EQ(B->delivered, 0);
	CHECK_EQ(drops(B)->no_peer, 1);
	h_now += 200 * 1000000ULL;
	BA = h_connect(B, A, "10.0.0.1", 32);
	wg_peer_answer_early_initiation(BA, h_now);
	h_pump();
	CHECK_EQ(B->delivered, 1); /* A's staged packet, at once */
	CHECK_EQ(drops(B)->no_peer, 0);
	CHECK_EQ(A->sent_by_type[WG_MSG_INITIATION], 1);
	/* Too late (after the sender's own retry time): not answered. */
	setup();
	wg_peer_remove(BA);
	h_drop_all = false;
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 80);
	struct h_dgram init = h_captured;
	h_qlen = 0; /* lost on the way */
	wg_device_udp_input(B->dev, init.buf, init.len, &init.from, h_now);
	h_now += 6 * S;
	BA = h_connect(B, A, "10.0.0.1", 32);
	wg_peer_answer_early_initiation(BA, h_now);
	CHECK_EQ(B->sent_by_type[WG_MSG_RESPONSE], 0);
}

/* A sends B two packets (the first makes the session); the second's
 * datagram is kept to be sent again. */
static struct h_dgram two_packets_kept_one(void)
{
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 50);
	h_pump();
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 50);
	struct h_dgram copy = h_captured;
	h_pump();
	CHECK_EQ(B->delivered, 2);
	return copy;
}

static void test_replay_dropped(void)
{
	setup();
	struct h_dgram copy = two_packets_kept_one();
	wg_device_udp_input(B->dev, copy.buf, copy.len, &copy.from, h_now);
	CHECK_EQ(B->delivered, 2);
	CHECK_EQ(drops(B)->replay, 1);
	CHECK_EQ(BA->drops, 1);
}

static void test_wrong_psk(void)
{
	uint8_t psk[32];
	setup();
	memset(psk, 7, 32);
	wg_peer_set_preshared_key(AB, psk);
	psk[0] = 8;
	wg_peer_set_preshared_key(BA, psk);
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 50);
	h_pump();
	CHECK_EQ(B->delivered, 0);
	CHECK_EQ(drops(A)->handshake_rejected, 1); /* the response does not decrypt */
	psk[0] = 7;
	wg_peer_set_preshared_key(BA, psk);
	h_advance(6 * S); /* retransmit with the right key on both sides */
	CHECK_EQ(B->delivered, 1);
}

static void test_wrong_key(void)
{
	setup();
	/* B expects a different public key for A. */
	wg_peer_remove(BA);
	uint8_t other[32];
	memset(other, 9, 32);
	wg_peer_add(B->dev, other, &BA);
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 50);
	h_pump();
	CHECK_EQ(B->delivered, 0);
	CHECK_EQ(drops(B)->no_peer, 1);
	CHECK_EQ(B->sent_by_type[WG_MSG_RESPONSE], 0);
}

static void test_allowed_ips_enforced(void)
{
	setup();
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	/* A spoofs a source B did not allow it. */
	h_send_ip(A, "10.0.0.99", "10.0.0.2", 10);
	h_pump();
	CHECK_EQ(B->delivered, 1);
	CHECK_EQ(drops(B)->allowed_ips, 1);
	/* And no route on A for an unknown destination. */
	h_send_ip(A, "10.0.0.1", "10.9.9.9", 10);
	CHECK_EQ(drops(A)->no_peer, 1);
}

/* Replacing a peer's allowed IPs (static mode's reload): the old prefixes
 * stop routing at once, the new ones work, and the session is kept. */
static void test_allowed_ips_replaced(void)
{
	uint8_t v4[4];

	setup();
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	CHECK_EQ(B->delivered, 1);
	wg_peer_clear_allowed(BA);
	inet_pton(AF_INET, "10.0.0.7", v4);
	CHECK_EQ(wg_peer_allow(BA, AF_INET, v4, 32), 0);
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10); /* source no longer allowed */
	h_pump();
	CHECK_EQ(B->delivered, 1);
	CHECK_EQ(drops(B)->allowed_ips, 1);
	h_send_ip(A, "10.0.0.7", "10.0.0.2", 10);
	h_pump();
	CHECK_EQ(B->delivered, 2);
	h_send_ip(B, "10.0.0.2", "10.0.0.1", 10); /* no route any more */
	CHECK_EQ(drops(B)->no_peer, 1);
	CHECK_EQ(A->sent_by_type[WG_MSG_INITIATION] + B->sent_by_type[WG_MSG_INITIATION], 1);
}

static void test_malformed_datagrams(void)
{
	uint8_t buf[256];
	struct endpoint from;
	setup();
	h_endpoint(&from, "198.51.100.9", 9);
	struct { size_t len; uint8_t first[4]; } cases[] = {
		{ 0, { 0 } }, { 3, { 1, 0, 0 } }, { 148, { 1, 0, 0, 1 } }, { 147, { 1 } }, { 149, { 1 } },
		{ 91, { 2 } }, { 63, { 3 } }, { 31, { 4 } }, { 100, { 9 } }, { 32, { 4 } }, { 148, { 1 } },
		{ 92, { 2 } }, { 64, { 3 } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 0xa5, sizeof(buf));
		memcpy(buf, cases[i].first, 4);
		wg_device_udp_input(B->dev, buf, cases[i].len, &from, h_now);
	}
	const struct wg_drop_counters *d = drops(B);
	CHECK_EQ(d->short_packet, 2);
	CHECK_EQ(d->unknown_type, 2); /* bad reserved bytes, type 9 */
	CHECK_EQ(d->bad_size, 5);
	CHECK_EQ(d->no_keypair, 1);
	CHECK_EQ(d->bad_mac, 2);
	CHECK_EQ(d->handshake_rejected, 1); /* cookie for an unknown index */
	CHECK_EQ(B->delivered, 0);
}

static void test_cookie_under_load(void)
{
	struct wg_timing t;
	setup();
	wg_timing_default(&t);
	t.handshake_load_threshold = 0; /* always under load */
	wg_device_set_timing(B->dev, &t);
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	CHECK_EQ(A->events[WG_EVENT_COOKIE_RECEIVED], 1);
	CHECK_EQ(B->events[WG_EVENT_COOKIE_SENT], 1);
	CHECK_EQ(B->delivered, 0);
	/* The retransmission carries mac2 and is answered. */
	h_advance(6 * S);
	CHECK_EQ(B->delivered, 1);
	CHECK_EQ(B->events[WG_EVENT_COOKIE_SENT], 1);
	/* A forged mac1 is refused before any cookie is spent. */
	uint8_t bogus[148] = { 1 };
	wg_device_udp_input(B->dev, bogus, sizeof(bogus), &A->ep, h_now);
	CHECK_EQ(drops(B)->bad_mac, 1);
}

static void test_replayed_initiation(void)
{
	setup();
	h_drop_all = true;
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	struct h_dgram init = h_captured;
	h_drop_all = false;
	wg_device_udp_input(B->dev, init.buf, init.len, &init.from, h_now);
	CHECK_EQ(B->sent_by_type[WG_MSG_RESPONSE], 1);
	h_now += S;
	wg_device_udp_input(B->dev, init.buf, init.len, &init.from, h_now);
	CHECK_EQ(B->sent_by_type[WG_MSG_RESPONSE], 1);
	CHECK_EQ(drops(B)->handshake_rejected, 1);
	h_qlen = 0;
}

static void test_rekey_after_time(void)
{
	setup();
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	uint32_t first = AB->keypair_current->local_index;
	h_advance(121 * S);
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	CHECK_EQ(A->sent_by_type[WG_MSG_INITIATION], 2);
	CHECK(AB->keypair_current->local_index != first);
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	CHECK_EQ(B->delivered, 3); /* no packet lost across the rekey */
}

static void test_reject_after_time(void)
{
	setup();
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	h_drop_all = true;
	h_advance(181 * S);
	h_drop_all = false;
	/* The old session is dead: data waits for a fresh handshake. */
	int inits = A->sent_by_type[WG_MSG_INITIATION];
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	CHECK_EQ(A->sent_by_type[WG_MSG_DATA] > 0, 1);
	CHECK_EQ(A->sent_by_type[WG_MSG_INITIATION], inits + 1);
	h_pump();
	CHECK_EQ(B->delivered, 2);
}

static void test_retransmit_and_give_up(void)
{
	setup();
	h_drop_all = true;
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_advance(200 * S);
	/* The first try, then retries while attempts <= REKEY_ATTEMPT_TIME /
	 * REKEY_TIMEOUT (0..18, as the kernel counts), then silence. */
	CHECK_EQ(A->sent_by_type[WG_MSG_INITIATION], 2 + 90 / 5);
	CHECK_EQ(A->events[WG_EVENT_HANDSHAKE_GAVE_UP], 1);
	CHECK_EQ(AB->staged_len, 0);
	h_advance(600 * S);
	CHECK_EQ(A->sent_by_type[WG_MSG_INITIATION], 2 + 90 / 5);
}

static void test_keepalive_and_new_handshake(void)
{
	setup();
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	int b_data = B->sent_by_type[WG_MSG_DATA];
	h_advance(11 * S);
	/* B got data and had nothing to say: a keepalive after 10 s. */
	CHECK_EQ(B->sent_by_type[WG_MSG_DATA], b_data + 1);
	/* Now B goes silent: A's data gets no answer, so A re-handshakes
	 * after KEEPALIVE + REKEY_TIMEOUT. */
	h_drop_all = true;
	int inits = A->sent_by_type[WG_MSG_INITIATION];
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_advance(16 * S);
	CHECK_EQ(A->sent_by_type[WG_MSG_INITIATION] >= inits + 1, 1);
	h_drop_all = false;
}

static void test_persistent_keepalive(void)
{
	setup();
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	wg_peer_set_persistent_keepalive(AB, 25, h_now);
	h_pump();
	int sent = A->sent_by_type[WG_MSG_DATA];
	h_advance(100 * S);
	CHECK(A->sent_by_type[WG_MSG_DATA] - sent >= 3);
}

static void test_zero_key_material(void)
{
	setup();
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	CHECK(AB->keypair_current != NULL);
	h_drop_all = true;
	h_advance(3 * 180 * S + S);
	CHECK(AB->keypair_current == NULL && AB->keypair_previous == NULL);
	CHECK(A->events[WG_EVENT_KEYS_ZEROED] >= 1);
	h_drop_all = false;
}

static void test_endpoint_roaming(void)
{
	setup();
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	/* A moves to a new address; B learns it from the next packet. */
	h_endpoint(&A->ep, "203.0.113.77", 40000);
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	struct endpoint want;
	h_endpoint(&want, "203.0.113.77", 40000);
	CHECK(endpoint_equal(&BA->endpoint, &want));
	h_send_ip(B, "10.0.0.2", "10.0.0.1", 10);
	h_pump();
	CHECK_EQ(A->delivered, 1);
	/* Over IPv6 too. */
	h_endpoint(&A->ep, "2001:db8::77", 40001);
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	h_endpoint(&want, "2001:db8::77", 40001);
	CHECK(endpoint_equal(&BA->endpoint, &want));
	h_send_ip(B, "10.0.0.2", "10.0.0.1", 10);
	h_pump();
	CHECK_EQ(A->delivered, 2);
}

/* With ops->endpoint_seen the engine no longer moves a peer by itself: it
 * reports the new source (once per packet from it, never for packets from
 * the current endpoint) and the program decides. */
static void test_endpoint_seen(void)
{
	setup_b_with(&h_ops_seen);
	struct endpoint home = A->ep, away;
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	CHECK_EQ(B->delivered, 1);
	CHECK_EQ(B->seen_calls, 0); /* the handshake and data came from where B sends */
	h_endpoint(&away, "203.0.113.77", 40000);
	A->ep = away;
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	CHECK_EQ(B->delivered, 3);               /* authenticated data is delivered... */
	CHECK_EQ(B->seen_calls, 2);              /* ...and each packet's new source reported */
	CHECK(endpoint_equal(&B->seen_last, &away));
	CHECK(endpoint_equal(&BA->endpoint, &home)); /* but B still sends home */
	CHECK_EQ(B->events[WG_EVENT_ENDPOINT_CHANGED], 0);
	/* The program moves it. */
	wg_peer_set_endpoint(BA, &away);
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	CHECK_EQ(B->seen_calls, 2);
	h_send_ip(B, "10.0.0.2", "10.0.0.1", 10);
	h_pump();
	CHECK_EQ(A->delivered, 1);
}

static void test_rekey_after_messages(void)
{
	struct wg_timing t;
	setup();
	wg_timing_default(&t);
	t.rekey_after_messages = 5;
	wg_device_set_timing(A->dev, &t);
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	h_pump();
	h_advance(6 * S); /* past the one-initiation-per-REKEY_TIMEOUT limit */
	for (int i = 0; i < 9; i++) {
		h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
		h_pump();
	}
	CHECK_EQ(A->sent_by_type[WG_MSG_INITIATION], 2);
	CHECK_EQ(B->delivered, 10);
}

/* ops->repeated and ops->rejected: a second copy from another source
 * within a second is a duplicate (the redundant policy), the same source
 * again or a copy long after is a replay; garbage and forgeries are
 * reported with their source, and with the peer when the index names one. */
static int rep_dup, rep_replay, rep_first_known, rej_malformed, rej_auth, rej_index, rej_with_peer;
static void t_repeated(void *ctx, struct wg_peer *peer, const struct endpoint *src, const struct endpoint *first,
		       bool duplicate)
{
	(void)ctx;
	(void)peer;
	(void)src;
	rep_first_known += first != NULL;
	if (duplicate)
		rep_dup++;
	else
		rep_replay++;
}
static void t_rejected(void *ctx, struct wg_peer *peer, const struct endpoint *src, enum wg_reject why)
{
	(void)ctx;
	(void)src;
	rej_with_peer += peer != NULL;
	if (why == WG_REJECT_AUTH)
		rej_auth++;
	else if (why == WG_REJECT_UNKNOWN_INDEX)
		rej_index++;
	else
		rej_malformed++;
}

static void test_duplicates_and_rejects(void)
{
	static const struct wg_device_ops ops = {
		.send = h_send, .deliver = h_deliver, .wall_clock_ns = h_wall, .event = h_event,
		.endpoint_seen = h_endpoint_seen, .repeated = t_repeated, .rejected = t_rejected,
	};
	setup_b_with(&ops);
	struct h_dgram copy = two_packets_kept_one();
	struct endpoint other;
	h_endpoint(&other, "198.51.100.9", 4000);
	struct h_dgram c = copy;
	h_now += 200 * 1000000ULL;
	wg_device_udp_input(B->dev, c.buf, c.len, &other, h_now); /* the redundant copy */
	CHECK_EQ(rep_dup, 1);
	CHECK_EQ(drops(B)->duplicate, 1);
	CHECK_EQ(drops(B)->replay, 0);
	CHECK_EQ(BA->drops, 0);
	c = copy;
	wg_device_udp_input(B->dev, c.buf, c.len, &copy.from, h_now); /* the first source again */
	CHECK_EQ(rep_replay, 1);
	h_now += 2 * S;
	c = copy;
	wg_device_udp_input(B->dev, c.buf, c.len, &other, h_now); /* long after */
	CHECK_EQ(rep_replay, 2);
	CHECK_EQ(rep_first_known, 3);
	CHECK_EQ(drops(B)->replay, 2);
	CHECK_EQ(drops(B)->duplicate, 1);
	CHECK_EQ(B->delivered, 2);
	/* A forgery under a valid index, then garbage. */
	c = copy;
	c.buf[c.len - 1] ^= 1;
	wg_device_udp_input(B->dev, c.buf, c.len, &other, h_now);
	CHECK_EQ(rej_auth, 1);
	CHECK_EQ(rej_with_peer, 1);
	uint8_t junk[40] = { 9 };
	wg_device_udp_input(B->dev, junk, sizeof(junk), &other, h_now);
	wg_device_udp_input(B->dev, junk, 3, &other, h_now);
	CHECK_EQ(rej_malformed, 2);
	c = copy;
	c.buf[4] ^= 0xff; /* an index B never gave out */
	wg_device_udp_input(B->dev, c.buf, c.len, &other, h_now);
	CHECK_EQ(rej_index, 1);
	CHECK_EQ(rej_with_peer, 1);
}

/* Peers on demand: a packet to an address with no peer and an initiation
 * from an unknown key are reported (before the drop) so the program can
 * learn the peer; once added, the early initiation is answered and the
 * kept packet goes through as if nothing had happened. */
static int np_calls, np_family, ui_calls;
static uint8_t np_dst[16], np_pkt[256], ui_key[32];
static size_t np_len;

static void on_no_peer(void *ctx, int family, const uint8_t *dst, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	np_calls++;
	np_family = family;
	memcpy(np_dst, dst, family == AF_INET ? 4 : 16);
	np_len = len < sizeof(np_pkt) ? len : sizeof(np_pkt);
	memcpy(np_pkt, pkt, np_len);
}

static void on_unknown_initiator(void *ctx, const uint8_t remote_static[32])
{
	(void)ctx;
	ui_calls++;
	memcpy(ui_key, remote_static, 32);
}

static void test_on_demand_hooks(void)
{
	static const struct wg_device_ops ops = {
		.send = h_send, .deliver = h_deliver, .wall_clock_ns = h_wall, .event = h_event,
		.endpoint_seen = h_endpoint_seen, .no_peer = on_no_peer, .unknown_initiator = on_unknown_initiator,
	};
	uint8_t want[16];
	np_calls = ui_calls = 0;
	setup_b_with(&ops);
	B->seen_hook = false;
	wg_peer_remove(BA);
	/* B sends to A, which it has no peer for: reported, then dropped. */
	h_send_ip(B, "10.0.0.2", "10.0.0.1", 40);
	CHECK_EQ(np_calls, 1);
	CHECK_EQ(np_family, AF_INET);
	inet_pton(AF_INET, "10.0.0.1", want);
	CHECK(memcmp(np_dst, want, 4) == 0);
	CHECK_EQ(np_len, 60);
	CHECK_EQ(drops(B)->no_peer, 1);
	h_send_ip(B, "fd00::2", "fd00::1", 8);
	CHECK_EQ(np_calls, 2);
	CHECK_EQ(np_family, AF_INET6);
	inet_pton(AF_INET6, "fd00::1", want);
	CHECK(memcmp(np_dst, want, 16) == 0);
	/* A initiates: B reports the unknown key, and keeps the initiation. */
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 80);
	h_pump();
	CHECK_EQ(ui_calls, 1);
	CHECK(memcmp(ui_key, A->pub, 32) == 0);
	CHECK_EQ(B->delivered, 0);
	/* The program learnt A: the early initiation is answered, and the
	 * packet it kept goes through the engine again. */
	h_now += 100 * 1000000ULL;
	BA = h_connect(B, A, "10.0.0.1", 32);
	wg_peer_allow(BA, AF_INET6, want, 128); /* fd00::1 */
	wg_peer_answer_early_initiation(BA, h_now);
	h_pump();
	CHECK_EQ(B->delivered, 1);
	CHECK_EQ(ui_calls, 1); /* the answered initiation is not reported again */
	uint8_t buf[WG_HEADROOM + 256 + WG_TAILROOM];
	memcpy(buf + WG_HEADROOM, np_pkt, np_len);
	size_t len = np_len;
	wg_device_tun_input(B->dev, buf, len, sizeof(buf), h_now);
	h_pump();
	CHECK_EQ(A->delivered, 1);
	CHECK_EQ(np_calls, 2);
	/* Without the hooks nothing changes (setup uses none). */
	setup();
	wg_peer_remove(AB);
	h_send_ip(A, "10.0.0.1", "10.0.0.2", 10);
	CHECK_EQ(drops(A)->no_peer, 1);
	CHECK_EQ(np_calls, 2);
}

int main(void)
{
	crypto_init();
	test_session_both_ways();
	test_handshake_from_responder_side();
	test_simultaneous_initiations();
	test_early_initiation();
	test_replay_dropped();
	test_wrong_psk();
	test_wrong_key();
	test_allowed_ips_enforced();
	test_allowed_ips_replaced();
	test_malformed_datagrams();
	test_cookie_under_load();
	test_replayed_initiation();
	test_rekey_after_time();
	test_reject_after_time();
	test_retransmit_and_give_up();
	test_keepalive_and_new_handshake();
	test_persistent_keepalive();
	test_zero_key_material();
	test_endpoint_roaming();
	test_endpoint_seen();
	test_duplicates_and_rejects();
	test_rekey_after_messages();
	test_on_demand_hooks();
	h_reset();
	return check_report("test_device");
}
