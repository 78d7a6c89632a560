/* The GRO coalescer's refusals: every packet it must not merge (out of
 * order, other flow fields, flags other than ACK/PSH, IPv4 options and
 * fragments, bad checksums, a segment bigger than the first) goes to the
 * kernel unmerged, and always after the held part of its own flow. */
#include "gro_events.h"
#include "tcp_build.h"

#define SEG_CAP 2048

static uint8_t payload[2048];

static void fill_payload(size_t n)
{
	static uint32_t x = 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		payload[i] = (uint8_t)(x >> 16);
	}
}

static uint8_t pk[12][SEG_CAP];
static size_t pk_len[12];

/* Packet i of a flow: plen bytes at s->seq, then advance seq and IP ID. */
static void make_seg(struct tcp_spec *s, size_t plen, size_t i)
{
	fill_payload(plen);
	pk_len[i] = build_packet(s, payload, plen, pk[i]);
	s->seq += (uint32_t)plen;
	s->ip_id++;
}

static void check_plain(size_t e, size_t i)
{
	static const uint8_t zero[TUN_VNET_HDR_LEN];
	CHECK(e < n_events && !events[e].pass);
	CHECK(e < n_events && events[e].len == TUN_VNET_HDR_LEN + pk_len[i]);
	if (e >= n_events || events[e].len != TUN_VNET_HDR_LEN + pk_len[i])
		return;
	CHECK_MEM(events[e].data, zero, TUN_VNET_HDR_LEN);
	CHECK_MEM(events[e].data + TUN_VNET_HDR_LEN, pk[i], pk_len[i]);
}

static void check_pass(size_t e, size_t i)
{
	CHECK(e < n_events && events[e].pass);
	if (e < n_events)
		CHECK(events[e].len == pk_len[i] && !memcmp(events[e].data, pk[i], pk_len[i]));
}

/* A merged write: splitting it gives back packets first..first+n-1 of pk. */
static void check_merged(size_t e, size_t first, size_t n)
{
	static uint8_t again[64][SEG_CAP];
	uint8_t *bufs[64];
	size_t lens[64], got = 0;

	CHECK(e < n_events && !events[e].pass);
	if (e >= n_events)
		return;
	CHECK(event_hdr(e).gso_type != VIRTIO_NET_HDR_GSO_NONE);
	for (size_t i = 0; i < 64; i++)
		bufs[i] = again[i];
	CHECK_EQ(tun_offload_split(events[e].data, events[e].len, bufs, 64, SEG_CAP, 0, lens, &got), 0);
	CHECK_EQ(got, n);
	for (size_t i = 0; i < got && i < n; i++)
		CHECK(lens[i] == pk_len[first + i] && !memcmp(bufs[i], pk[first + i], lens[i]));
}

static void gro_begin(struct tcp_spec *s, uint8_t version)
{
	events_reset();
	spec_default(s, version);
	tun_gro_init(&gro, on_emit, NULL);
}

/* Recompute an IPv4 header checksum after a test edits the header. */
static void fix_ipv4_csum(uint8_t *ip)
{
	wr16(ip + 10, 0);
	wr16(ip + 10, (uint16_t)~ref_fold(ref_sum(ip, (ip[0] & 0x0fu) * 4, 0)));
}

/* pk[1] continues pk[0] but is not allowed to join it: pk[0] goes out
 * alone first; pk[1] is then held (want_held) or passed. */
static void refuse_second(const char *why, void (*edit)(struct tcp_spec *s), bool want_held)
{
	struct tcp_spec s;

	gro_begin(&s, 4);
	make_seg(&s, 1000, 0);
	edit(&s);
	make_seg(&s, 1000, 1);
	gro_feed(pk[0], pk_len[0], TUN_GRO_HELD);
	gro_feed(pk[1], pk_len[1], want_held ? TUN_GRO_HELD : TUN_GRO_PASS);
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, 2);
	check_plain(0, 0);
	if (want_held)
		check_plain(1, 1);
	else
		check_pass(1, 1);
	if (check_failures)
		fprintf(stderr, "  (after case: %s)\n", why);
}

static void edit_seq_gap(struct tcp_spec *s) { s->seq += 1; }
static void edit_ack(struct tcp_spec *s) { s->ack += 1; }
static void edit_tsval(struct tcp_spec *s) { s->tsval += 1; }
static void edit_ttl(struct tcp_spec *s) { s->ttl -= 1; }
static void edit_tos(struct tcp_spec *s) { s->tos = 0x02; }
static void edit_no_ts(struct tcp_spec *s) { s->ts = false; }
static void edit_syn(struct tcp_spec *s) { s->flags = TH_SYN | TH_ACK; }
static void edit_rst(struct tcp_spec *s) { s->flags = TH_RST | TH_ACK; }
static void edit_urg(struct tcp_spec *s) { s->flags = TH_URG | TH_ACK; }
static void edit_fin(struct tcp_spec *s) { s->flags = TH_FIN | TH_ACK; }
static void edit_cwr(struct tcp_spec *s) { s->flags = TH_CWR | TH_ACK; }
static void edit_ece(struct tcp_spec *s) { s->flags = TH_ECE | TH_ACK; }
static void edit_df(struct tcp_spec *s) { s->df = false; }

/* Packets that pk[0]'s flow must not absorb, edited after building. */
static void refuse_edited(const char *why, void (*edit)(uint8_t *ip, size_t *len), bool same_flow)
{
	struct tcp_spec s;

	gro_begin(&s, 4);
	make_seg(&s, 1000, 0);
	make_seg(&s, 1000, 1);
	edit(pk[1], &pk_len[1]);
	gro_feed(pk[0], pk_len[0], TUN_GRO_HELD);
	gro_feed(pk[1], pk_len[1], TUN_GRO_PASS);
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, 2);
	if (same_flow) { /* the held part goes out before the packet passes */
		check_plain(0, 0);
		check_pass(1, 1);
	} else {
		check_pass(0, 1);
		check_plain(1, 0);
	}
	if (check_failures)
		fprintf(stderr, "  (after case: %s)\n", why);
}

static void edit_ip_options(uint8_t *ip, size_t *len)
{
	memmove(ip + 24, ip + 20, *len - 20);
	memset(ip + 20, 1, 4); /* four NOPs */
	ip[0] = 0x46;
	*len += 4;
	wr16(ip + 2, (uint32_t)*len);
	fix_ipv4_csum(ip);
}

static void edit_fragment(uint8_t *ip, size_t *len)
{
	(void)len;
	ip[6] |= 0x20; /* MF */
	fix_ipv4_csum(ip);
}

static void edit_bad_tcp_csum(uint8_t *ip, size_t *len)
{
	(void)len;
	ip[20 + 16] ^= 0x10;
}

static void edit_bad_ip_csum(uint8_t *ip, size_t *len)
{
	(void)len;
	ip[10] ^= 0x10;
}

static void edit_pure_ack(uint8_t *ip, size_t *len)
{
	*len = 52;
	wr16(ip + 2, 52);
	fix_ipv4_csum(ip);
	wr16(ip + 36, 0);
	wr16(ip + 36, (uint16_t)~ref_fold(ref_sum(ip + 20, 32, ref_pseudo(ip, 6, 32))));
}

static void edit_trailing_bytes(uint8_t *ip, size_t *len)
{
	ip[*len] = 0;
	*len += 1; /* IP total length now says one byte less than we have */
}

static void edit_udp(uint8_t *ip, size_t *len)
{
	struct tcp_spec u;
	spec_default(&u, 4);
	u.proto = 17;
	*len = build_packet(&u, payload, 100, ip);
}

static void test_refusals_simple(void)
{
	refuse_second("out of order", edit_seq_gap, true);
	refuse_second("other ack", edit_ack, true);
	refuse_second("other timestamp", edit_tsval, true);
	refuse_second("other TTL", edit_ttl, true);
	refuse_second("other TOS", edit_tos, true);
	refuse_second("other options length", edit_no_ts, true);
	refuse_second("DF differs", edit_df, true);
	refuse_second("SYN", edit_syn, false);
	refuse_second("RST", edit_rst, false);
	refuse_second("URG", edit_urg, false);
	refuse_second("FIN", edit_fin, false);
	refuse_second("CWR", edit_cwr, false);
	refuse_second("ECE", edit_ece, false);
	refuse_edited("IPv4 options", edit_ip_options, true);
	refuse_edited("fragment", edit_fragment, true);
	refuse_edited("bad TCP checksum", edit_bad_tcp_csum, true);
	refuse_edited("bad IPv4 checksum", edit_bad_ip_csum, true);
	refuse_edited("pure ACK", edit_pure_ack, true);
	refuse_edited("length field disagrees", edit_trailing_bytes, true);
	refuse_edited("UDP is no flow", edit_udp, false);
}

/* Segment sizes: a bigger one cannot follow, a smaller one ends the flow. */
static void test_refusals_sizes(void)
{
	struct tcp_spec s;

	gro_begin(&s, 4);
	make_seg(&s, 1000, 0);
	make_seg(&s, 1200, 1);
	gro_feed(pk[0], pk_len[0], TUN_GRO_HELD);
	gro_feed(pk[1], pk_len[1], TUN_GRO_HELD);
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, 2);
	check_plain(0, 0);
	check_plain(1, 1);

	gro_begin(&s, 6);
	make_seg(&s, 1000, 0);
	make_seg(&s, 500, 1);
	make_seg(&s, 1000, 2);
	for (size_t i = 0; i < 3; i++)
		gro_feed(pk[i], pk_len[i], TUN_GRO_HELD);
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, 2);
	check_merged(0, 0, 2);
	check_plain(1, 2);

	/* PSH ends a flow: what follows starts a new one. */
	gro_begin(&s, 4);
	make_seg(&s, 1000, 0);
	s.flags = TH_ACK | TH_PSH;
	make_seg(&s, 1000, 1);
	s.flags = TH_ACK;
	make_seg(&s, 1000, 2);
	for (size_t i = 0; i < 3; i++)
		gro_feed(pk[i], pk_len[i], TUN_GRO_HELD);
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, 2);
	check_merged(0, 0, 2);
	CHECK(events[0].data[TUN_VNET_HDR_LEN + 20 + 13] == (TH_ACK | TH_PSH));
	check_plain(1, 2);

	/* A lone PSH packet has nothing to merge with. */
	gro_begin(&s, 4);
	s.flags = TH_ACK | TH_PSH;
	make_seg(&s, 1000, 0);
	gro_feed(pk[0], pk_len[0], TUN_GRO_PASS);
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, 1);
}

/* The merged header carries the newest window, as if the kernel had read
 * the segments one by one. */
static void test_window_update(void)
{
	struct tcp_spec s;

	gro_begin(&s, 6);
	for (size_t i = 0; i < 3; i++) {
		s.window = (uint16_t)(100 * (i + 1));
		make_seg(&s, 1000, i);
		gro_feed(pk[i], pk_len[i], TUN_GRO_HELD);
	}
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, 1);
	if (n_events == 1)
		CHECK_EQ(rd16(events[0].data + TUN_VNET_HDR_LEN + 40 + 14), 300);
	events_reset();
}

/* Without DF the IPv4 IDs must be consecutive. */
static void test_refusals_ipid(void)
{
	struct tcp_spec s;

	gro_begin(&s, 4);
	s.df = false;
	make_seg(&s, 1000, 0);
	s.ip_id = 9;
	make_seg(&s, 1000, 1);
	gro_feed(pk[0], pk_len[0], TUN_GRO_HELD);
	gro_feed(pk[1], pk_len[1], TUN_GRO_HELD);
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, 2);
	check_plain(0, 0);
	check_plain(1, 1);

	/* With DF they may be anything (Linux sends 0 or a per-socket counter). */
	gro_begin(&s, 4);
	make_seg(&s, 1000, 0);
	s.ip_id = 9;
	make_seg(&s, 1000, 1);
	gro_feed(pk[0], pk_len[0], TUN_GRO_HELD);
	gro_feed(pk[1], pk_len[1], TUN_GRO_HELD);
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, 1);
}

/* Two flows interleaved merge separately; a ninth flow finds no slot. */
static void test_refusals_flows(void)
{
	struct tcp_spec a, b;

	gro_begin(&a, 4);
	spec_default(&b, 4);
	b.sport = 40001;
	for (size_t i = 0; i < 3; i++) {
		make_seg(&a, 1000, i);
		make_seg(&b, 1000, 3 + i);
	}
	for (size_t i = 0; i < 3; i++) {
		gro_feed(pk[i], pk_len[i], TUN_GRO_HELD);
		gro_feed(pk[3 + i], pk_len[3 + i], TUN_GRO_HELD);
	}
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, 2);
	check_merged(0, 0, 3);
	check_merged(1, 3, 3);

	gro_begin(&a, 6);
	for (size_t i = 0; i <= TUN_GRO_MAX_FLOWS; i++) {
		a.sport = (uint16_t)(50000 + i);
		make_seg(&a, 100, i);
		gro_feed(pk[i], pk_len[i], i < TUN_GRO_MAX_FLOWS ? TUN_GRO_HELD : TUN_GRO_PASS);
	}
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, TUN_GRO_MAX_FLOWS + 1);
	check_pass(0, TUN_GRO_MAX_FLOWS);
	for (size_t i = 0; i < TUN_GRO_MAX_FLOWS; i++)
		check_plain(1 + i, i);
}

/* A merged packet stops short of 65535 bytes of IP. */
static void test_refusals_size_cap(void)
{
	struct tcp_spec s;
	size_t merged = 0;

	gro_begin(&s, 4);
	for (size_t i = 0; i < 50; i++) {
		make_seg(&s, 1448, 0);
		gro_feed(pk[0], pk_len[0], TUN_GRO_HELD);
	}
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, 2);
	for (size_t e = 0; e < n_events; e++) {
		struct tun_offload_pkt p;
		CHECK(events[e].len <= TUN_VNET_HDR_LEN + 65535);
		CHECK_EQ(tun_offload_parse(events[e].data, events[e].len, &p), 0);
		merged += p.segments;
	}
	CHECK_EQ(merged, 50);
	CHECK_EQ(events[0].len, TUN_VNET_HDR_LEN + 52 + 45 * 1448);
	events_reset();
}

int main(void)
{
	test_refusals_simple();
	test_refusals_sizes();
	test_refusals_ipid();
	test_window_update();
	test_refusals_flows();
	test_refusals_size_cap();
	events_reset();
	return check_report("test_tun_gro");
}
