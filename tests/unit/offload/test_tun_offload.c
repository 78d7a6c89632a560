/* TUN offloads without a kernel: split super-packets built exactly as a TSO
 * read returns them and check every segment from scratch; feed segments to
 * the GRO coalescer and get the super-packet back; refusals; malformed vnet
 * headers; a randomised split -> coalesce -> split identity. */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "gro_events.h"
#include "tcp_build.h"

#define MAX_SEGS 512
#define SEG_CAP 2048
#define HEADROOM 16

static uint8_t seg_store[MAX_SEGS][SEG_CAP];
static uint8_t *segs[MAX_SEGS];
static size_t seg_lens[MAX_SEGS];
static uint8_t payload[70000];
static uint8_t super_buf[TUN_OFFLOAD_READ_MAX];

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void fill_payload(size_t n)
{
	for (size_t i = 0; i < n; i++)
		payload[i] = (uint8_t)rng();
}

static const uint8_t *seg_ip(size_t i)
{
	return segs[i] + HEADROOM;
}

/* ---- (a) split ----------------------------------------------------------- */

/* Every segment against the spec it came from: lengths, sequence numbers,
 * IDs, flags, options, checksums from scratch, payload in order. */
static void check_tcp_segments(const struct tcp_spec *s, size_t plen, uint16_t mss, size_t n)
{
	size_t l3 = spec_l3_len(s), hdr = l3 + spec_l4_hdr_len(s), done = 0;

	CHECK_EQ(n, (plen + mss - 1) / mss);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *ip = seg_ip(i), *th = ip + l3;
		size_t want = plen - done < mss ? plen - done : mss;
		uint8_t flags = s->flags;

		CHECK_EQ(seg_lens[i], hdr + want);
		CHECK(ref_checksums_ok(ip, seg_lens[i]));
		if (s->version == 4) {
			CHECK_EQ(rd16(ip + 2), seg_lens[i]);
			CHECK_EQ(rd16(ip + 4), (uint16_t)(s->ip_id + i));
		} else {
			CHECK_EQ(rd16(ip + 4), seg_lens[i] - 40);
			CHECK_EQ(ip[1] & 0x0f, 0x0a); /* flow label kept */
		}
		CHECK_EQ(rd32(th + 4), (uint32_t)(s->seq + done));
		CHECK_EQ(rd32(th + 8), s->ack);
		if (i + 1 < n)
			flags &= (uint8_t)~(TH_FIN | TH_PSH);
		if (i > 0)
			flags &= (uint8_t)~TH_CWR;
		CHECK_EQ(th[13], flags);
		if (s->ts)
			CHECK_EQ(rd32(th + 24), s->tsval);
		CHECK_MEM(ip + hdr, payload + done, want);
		done += want;
	}
	CHECK_EQ(done, plen);
}

static size_t split_super(size_t len)
{
	size_t n = 0;
	int r = tun_offload_split(super_buf, len, segs, MAX_SEGS, SEG_CAP, HEADROOM, seg_lens, &n);
	CHECK_EQ(r, 0);
	return r == 0 ? n : 0;
}

static void test_split_tcp(uint8_t version, uint8_t flags, size_t plen, uint16_t mss)
{
	struct tcp_spec s;
	size_t len, n;

	spec_default(&s, version);
	s.flags = flags;
	s.seq = 0xfffff000u; /* wraps inside the packet */
	s.ip_id = 0xfffe;
	fill_payload(plen);
	len = build_super(&s, payload, plen, mss, super_buf);
	memset(seg_store, 0xa5, sizeof(seg_store));
	n = split_super(len);
	check_tcp_segments(&s, plen, mss, n);
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ(segs[i][0], 0xa5); /* headroom untouched */
		CHECK_EQ(segs[i][HEADROOM + seg_lens[i]], 0xa5);
	}
}

static void test_split_udp(uint8_t version)
{
	struct tcp_spec s;
	size_t len, n, done = 0;

	spec_default(&s, version);
	s.proto = 17;
	fill_payload(4000);
	len = build_super(&s, payload, 4000, 1200, super_buf);
	n = split_super(len);
	CHECK_EQ(n, 4);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *ip = seg_ip(i), *uh = ip + spec_l3_len(&s);
		size_t want = i < 3 ? 1200 : 400;
		CHECK_EQ(seg_lens[i], spec_l3_len(&s) + 8 + want);
		CHECK_EQ(rd16(uh + 4), 8 + want);
		CHECK(ref_checksums_ok(ip, seg_lens[i]));
		if (version == 4)
			CHECK_EQ(rd16(ip + 4), (uint16_t)(s.ip_id + i));
		CHECK_MEM(uh + 8, payload + done, want);
		done += want;
	}
}

/* gso_type NONE: a partial checksum to finish, or a packet to copy as is. */
static void test_split_none(void)
{
	struct virtio_net_hdr h = { 0 };
	struct tcp_spec s;
	size_t len, n;

	for (uint8_t proto = 6; proto <= 17; proto += 11) {
		for (uint8_t v = 4; v <= 6; v += 2) {
			spec_default(&s, v);
			s.proto = proto;
			fill_payload(301); /* odd: the last byte is a half word */
			len = build_super(&s, payload, 301, 1400, super_buf);
			memcpy(&h, super_buf, sizeof(h));
			h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
			h.gso_size = 0;
			memcpy(super_buf, &h, sizeof(h));
			n = split_super(len);
			CHECK_EQ(n, 1);
			CHECK_EQ(seg_lens[0], len - TUN_VNET_HDR_LEN);
			CHECK(ref_checksums_ok(seg_ip(0), seg_lens[0]));
		}
	}
	/* Not NEEDS_CSUM: copied byte for byte, even if it is not IP at all. */
	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	memcpy(super_buf, &h, sizeof(h));
	memcpy(super_buf + TUN_VNET_HDR_LEN, "\x00\x01\x02", 3);
	n = split_super(TUN_VNET_HDR_LEN + 3);
	CHECK_EQ(n, 1);
	CHECK_EQ(seg_lens[0], 3);
	CHECK_MEM(seg_ip(0), "\x00\x01\x02", 3);
}

/* IPv6 with a hop-by-hop options header: carried into every segment. */
static void test_split_ipv6_hbh(void)
{
	struct virtio_net_hdr h;
	struct tcp_spec s;
	uint8_t *ip = super_buf + TUN_VNET_HDR_LEN;
	size_t len, n;

	spec_default(&s, 6);
	fill_payload(3000);
	len = build_super(&s, payload, 3000, 1000, super_buf);
	memmove(ip + 48, ip + 40, len - TUN_VNET_HDR_LEN - 40);
	memcpy(ip + 40, (const uint8_t[]){ 6, 0, 1, 4, 0, 0, 0, 0 }, 8); /* next TCP, PadN */
	ip[6] = 0; /* hop-by-hop */
	wr16(ip + 4, rd16(ip + 4) + 8);
	len += 8;
	memcpy(&h, super_buf, sizeof(h));
	h.csum_start = 48;
	h.hdr_len = (uint16_t)(h.hdr_len + 8);
	memcpy(super_buf, &h, sizeof(h));
	n = split_super(len);
	CHECK_EQ(n, 3);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *o = seg_ip(i);
		size_t l4 = seg_lens[i] - 48;
		CHECK_EQ(seg_lens[i], 48 + 32 + 1000);
		CHECK_EQ(o[6], 0);
		CHECK_EQ(rd16(o + 4), seg_lens[i] - 40);
		CHECK_EQ(ref_fold(ref_sum(o + 48, l4, ref_pseudo(o, 6, l4))), 0xffff);
	}
}

/* ---- (b) GRO round trip -------------------------------------------------- */

/* Split the super-packet, coalesce its segments, compare with the original. */
static void test_gro_roundtrip(uint8_t version, bool df, size_t plen, uint16_t mss)
{
	static uint8_t again[MAX_SEGS][SEG_CAP];
	struct tcp_spec s;
	size_t len, n, n2 = 0;
	uint8_t *bufs2[MAX_SEGS];
	size_t lens2[MAX_SEGS];

	spec_default(&s, version);
	s.flags = TH_ACK | TH_PSH;
	s.df = df;
	fill_payload(plen);
	len = build_super(&s, payload, plen, mss, super_buf);
	n = split_super(len);
	CHECK(n > 1);
	tun_gro_init(&gro, on_emit, NULL);
	for (size_t i = 0; i < n; i++)
		gro_feed(seg_ip(i), seg_lens[i], TUN_GRO_HELD);
	CHECK_EQ(n_events, 0); /* PSH on the last closes the flow; it stays held */
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, 1);
	if (n_events != 1)
		return;
	CHECK_EQ(events[0].len, len);
	CHECK_MEM(events[0].data, super_buf, len); /* byte for byte the TSO read */
	for (size_t i = 0; i < MAX_SEGS; i++)
		bufs2[i] = again[i];
	CHECK_EQ(tun_offload_split(events[0].data, events[0].len, bufs2, MAX_SEGS, SEG_CAP, HEADROOM, lens2, &n2), 0);
	CHECK_EQ(n2, n);
	for (size_t i = 0; i < n && i < n2; i++) {
		CHECK_EQ(lens2[i], seg_lens[i]);
		CHECK_MEM(bufs2[i] + HEADROOM, seg_ip(i), seg_lens[i]);
	}
	events_reset();
}

/* FIN on the last segment: all but it merge, it goes on its own after them. */
static void test_gro_fin(void)
{
	struct tcp_spec s;
	size_t len, n;

	spec_default(&s, 4);
	s.flags = TH_ACK | TH_PSH | TH_FIN;
	fill_payload(5000);
	len = build_super(&s, payload, 5000, 1000, super_buf);
	n = split_super(len);
	CHECK_EQ(n, 5);
	tun_gro_init(&gro, on_emit, NULL);
	for (size_t i = 0; i < n; i++)
		gro_feed(seg_ip(i), seg_lens[i], i + 1 < n ? TUN_GRO_HELD : TUN_GRO_PASS);
	tun_gro_flush(&gro);
	CHECK_EQ(n_events, 2);
	if (n_events == 2) {
		struct virtio_net_hdr h = event_hdr(0);
		CHECK(!events[0].pass && events[1].pass);
		CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
		CHECK_EQ(h.gso_size, 1000);
		CHECK_EQ(h.hdr_len, 20 + 32);
		CHECK_EQ(h.csum_start, 20);
		CHECK_EQ(h.csum_offset, 16);
		CHECK_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		CHECK_EQ(events[0].len, TUN_VNET_HDR_LEN + 52 + 4000);
		CHECK_EQ(events[1].data[20 + 13], TH_ACK | TH_PSH | TH_FIN);
	}
	events_reset();
}


/* ---- (d) malformed reads ------------------------------------------------- */

enum mutation {
	MUT_NONE, MUT_SHORT, MUT_HDR_ONLY, MUT_GSO_SIZE_0, MUT_HDR_LEN_BEYOND, MUT_HDR_LEN_0,
	MUT_CSUM_START_BEYOND, MUT_CSUM_START_WRONG, MUT_CSUM_OFFSET_WRONG, MUT_NO_NEEDS_CSUM,
	MUT_NONE_CSUM_BEYOND, MUT_NONE_CSUM_LAST, MUT_V6_GSO_ON_V4, MUT_PROTO_UDP, MUT_IHL_4,
	MUT_IHL_15, MUT_DOFF_4, MUT_DOFF_15, MUT_FRAGMENT, MUT_NO_PAYLOAD, MUT_UFO, MUT_GSO_7,
	MUT_VERSION_5, MUT_ECN, MUT_TOO_LONG,
};

static const struct {
	enum mutation m;
	int want;
} malformed_cases[] = {
	{ MUT_NONE, 0 },
	{ MUT_SHORT, -EINVAL },
	{ MUT_HDR_ONLY, -EINVAL },
	{ MUT_GSO_SIZE_0, -EINVAL },
	{ MUT_HDR_LEN_BEYOND, -EINVAL },
	{ MUT_HDR_LEN_0, 0 }, /* a hint, not a promise */
	{ MUT_CSUM_START_BEYOND, -EINVAL },
	{ MUT_CSUM_START_WRONG, -EINVAL },
	{ MUT_CSUM_OFFSET_WRONG, -EINVAL },
	{ MUT_NO_NEEDS_CSUM, 0 }, /* forwarded GRO packets: DATA_VALID, no csum_start */
	{ MUT_NONE_CSUM_BEYOND, -EINVAL },
	{ MUT_NONE_CSUM_LAST, 0 },
	{ MUT_V6_GSO_ON_V4, -EINVAL },
	{ MUT_PROTO_UDP, -EINVAL },
	{ MUT_IHL_4, -EINVAL },
	{ MUT_IHL_15, -EINVAL },
	{ MUT_DOFF_4, -EINVAL },
	{ MUT_DOFF_15, -EINVAL },
	{ MUT_FRAGMENT, -EINVAL },
	{ MUT_NO_PAYLOAD, -EINVAL },
	{ MUT_UFO, -EOPNOTSUPP },
	{ MUT_GSO_7, -EINVAL },
	{ MUT_VERSION_5, -EINVAL },
	{ MUT_ECN, 0 },
	{ MUT_TOO_LONG, -EINVAL },
};

/* Apply m to a valid IPv4 TSO read of 40 payload bytes in super_buf. */
static size_t mutate(enum mutation m, size_t len)
{
	struct virtio_net_hdr h;
	uint8_t *ip = super_buf + TUN_VNET_HDR_LEN;
	size_t ip_len = len - TUN_VNET_HDR_LEN;

	memcpy(&h, super_buf, sizeof(h));
	switch (m) {
	case MUT_NONE: break;
	case MUT_SHORT: return 5;
	case MUT_HDR_ONLY: return TUN_VNET_HDR_LEN;
	case MUT_GSO_SIZE_0: h.gso_size = 0; break;
	case MUT_HDR_LEN_BEYOND: h.hdr_len = (uint16_t)(ip_len + 1); break;
	case MUT_HDR_LEN_0: h.hdr_len = 0; break;
	case MUT_CSUM_START_BEYOND: h.csum_start = 0xfff0; break;
	case MUT_CSUM_START_WRONG: h.csum_start = 21; break;
	case MUT_CSUM_OFFSET_WRONG: h.csum_offset = 6; break;
	case MUT_NO_NEEDS_CSUM: h.flags = VIRTIO_NET_HDR_F_DATA_VALID; h.csum_start = 0; h.csum_offset = 0; break;
	case MUT_NONE_CSUM_BEYOND: h.gso_type = 0; h.csum_start = (uint16_t)(ip_len - 17); break;
	case MUT_NONE_CSUM_LAST: h.gso_type = 0; h.csum_start = (uint16_t)(ip_len - 18); break;
	case MUT_V6_GSO_ON_V4: h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6; break;
	case MUT_PROTO_UDP: ip[9] = 17; break;
	case MUT_IHL_4: ip[0] = 0x44; break;
	case MUT_IHL_15: ip[0] = 0x4f; break;
	case MUT_DOFF_4: ip[20 + 12] = 0x40; break;
	case MUT_DOFF_15: ip[20 + 12] = 0xf0; len -= 20; break; /* 60-byte header, 52 there */
	case MUT_FRAGMENT: ip[6] |= 0x20; break;
	case MUT_NO_PAYLOAD: len -= 40; break;
	case MUT_UFO: h.gso_type = VIRTIO_NET_HDR_GSO_UDP; break;
	case MUT_GSO_7: h.gso_type = 7; break;
	case MUT_VERSION_5: ip[0] = 0x55; break;
	case MUT_ECN: h.gso_type |= VIRTIO_NET_HDR_GSO_ECN; break;
	case MUT_TOO_LONG: len = TUN_VNET_HDR_LEN + 65536; break;
	}
	memcpy(super_buf, &h, sizeof(h));
	return len;
}

static void test_malformed_table(void)
{
	for (size_t i = 0; i < sizeof(malformed_cases) / sizeof(malformed_cases[0]); i++) {
		struct tcp_spec s;
		struct tun_offload_pkt p;
		size_t len;
		int r;

		spec_default(&s, 4);
		fill_payload(40);
		len = mutate(malformed_cases[i].m, build_super(&s, payload, 40, 16, super_buf));
		r = tun_offload_parse(super_buf, len, &p);
		CHECK_EQ(r, malformed_cases[i].want);
		if (r != malformed_cases[i].want)
			fprintf(stderr, "  (mutation %d)\n", (int)malformed_cases[i].m);
	}
}

/* IPv6 extension headers: a routing header would change the pseudo-header,
 * a fragment header has no business in a GSO packet. */
static void test_malformed_ipv6(void)
{
	for (uint8_t ext = 43; ext <= 44; ext++) {
		struct tcp_spec s;
		struct tun_offload_pkt p;
		uint8_t *ip = super_buf + TUN_VNET_HDR_LEN;
		size_t len;

		spec_default(&s, 6);
		fill_payload(100);
		len = build_super(&s, payload, 100, 30, super_buf);
		memmove(ip + 48, ip + 40, len - TUN_VNET_HDR_LEN - 40);
		memcpy(ip + 40, (const uint8_t[]){ 6, 0, 0, 0, 0, 0, 0, 0 }, 8);
		ip[6] = ext;
		CHECK_EQ(tun_offload_parse(super_buf, len + 8, &p), ext == 43 ? -EOPNOTSUPP : -EINVAL);
	}
}

/* Not enough room: -ENOBUFS, and nothing reported. */
static void test_malformed_room(void)
{
	struct tcp_spec s;
	struct tun_offload_pkt p;
	size_t len, n = 12345, one;

	spec_default(&s, 4);
	fill_payload(2900);
	len = build_super(&s, payload, 2900, 1000, super_buf);
	CHECK_EQ(tun_offload_split(super_buf, len, segs, 2, SEG_CAP, HEADROOM, seg_lens, &n), -ENOBUFS);
	CHECK_EQ(tun_offload_split(super_buf, len, segs, 3, 52 + 1000 + HEADROOM - 1, HEADROOM, seg_lens, &n),
		 -ENOBUFS);
	CHECK_EQ(tun_offload_split(super_buf, len, segs, 3, 8, HEADROOM, seg_lens, &n), -ENOBUFS);
	CHECK_EQ(n, 12345);
	CHECK_EQ(tun_offload_split(super_buf, len, segs, 3, 52 + 1000 + HEADROOM, HEADROOM, seg_lens, &n), 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(tun_offload_parse(super_buf, len, &p), 0);
	CHECK_EQ(tun_offload_segment(&p, 3, seg_store[0], SEG_CAP, &one), -EINVAL);
	CHECK_EQ(tun_offload_segment(&p, 2, seg_store[0], 52 + 999, &one), 0); /* the short last one */
	CHECK_EQ(one, 52 + 900);
	CHECK_EQ(tun_offload_segment(&p, 1, seg_store[0], 52 + 999, &one), -ENOBUFS);
}

/* Every prefix of a valid read, and random damage to its headers, in
 * exact-size heap copies: ASan catches any read past the end. Whatever
 * parses must come out as packets whose checksums verify. */
static void parse_copy_and_check(const uint8_t *src, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct tun_offload_pkt p;
	size_t n;

	memcpy(copy, src, len);
	if (tun_offload_parse(copy, len, &p) == 0 && p.segments <= MAX_SEGS &&
	    tun_offload_split(copy, len, segs, MAX_SEGS, SEG_CAP, HEADROOM, seg_lens, &n) == 0) {
		bool plain_v6 = p.ip_version == 4 || (p.ip_version == 6 && p.l3_len == 40);
		for (size_t i = 0; i < n && p.kind >= TUN_OFFLOAD_TCP && plain_v6; i++)
			CHECK(ref_checksums_ok(seg_ip(i), seg_lens[i]));
	}
	free(copy);
}

static void test_truncations(void)
{
	static uint8_t pristine[4096];

	for (uint8_t v = 4; v <= 6; v += 2) {
		struct tcp_spec s;
		size_t len;

		spec_default(&s, v);
		fill_payload(2000);
		len = build_super(&s, payload, 2000, 500, pristine);
		for (size_t cut = 0; cut <= len; cut++)
			parse_copy_and_check(pristine, cut);
		for (int round = 0; round < 20000; round++) {
			memcpy(super_buf, pristine, len);
			for (int k = 0; k < 1 + round % 4; k++)
				super_buf[rng() % (TUN_VNET_HDR_LEN + 100)] = (uint8_t)rng();
			parse_copy_and_check(super_buf, len - rng() % 600);
		}
	}
}

/* ---- randomised: split -> coalesce -> split is the identity -------------- */

/* Segments of two flows, interleaved at random, through the coalescer; the
 * kernel-side view (passes and re-split writes) per flow is the original. */
static void random_round(void)
{
	static uint8_t again[MAX_SEGS][SEG_CAP];
	struct tcp_spec s[2];
	size_t n[2], fed[2] = { 0, 0 }, seen[2] = { 0, 0 };
	const uint8_t flag_pick[] = { 0, TH_PSH, TH_FIN, TH_CWR, TH_PSH | TH_FIN, TH_CWR | TH_ECE | TH_PSH };

	for (int f = 0; f < 2; f++) {
		size_t plen = 1 + rng() % 20000, len;
		uint16_t mss = (uint16_t)(536 + rng() % 1000);
		spec_default(&s[f], rng() % 2 ? 4 : 6);
		s[f].sport = (uint16_t)(1000 + f);
		s[f].ts = rng() % 2;
		s[f].df = rng() % 2;
		s[f].seq = rng();
		s[f].ip_id = (uint16_t)rng();
		s[f].window = (uint16_t)rng();
		s[f].flags = TH_ACK | flag_pick[rng() % sizeof(flag_pick)];
		fill_payload(plen);
		len = build_super(&s[f], payload, plen, mss, super_buf);
		CHECK_EQ(tun_offload_split(super_buf, len, segs + (f ? n[0] : 0), MAX_SEGS / 2, SEG_CAP, HEADROOM,
					   seg_lens + (f ? n[0] : 0), &n[f]), 0);
		if (f == 0)
			check_tcp_segments(&s[0], plen, mss, n[0]);
	}
	tun_gro_init(&gro, on_emit, NULL);
	while (fed[0] < n[0] || fed[1] < n[1]) {
		int f = fed[1] == n[1] || (fed[0] < n[0] && rng() % 2) ? 0 : 1;
		size_t i = (f ? n[0] : 0) + fed[f]++;
		if (tun_gro_add(&gro, seg_ip(i), seg_lens[i]) == TUN_GRO_PASS)
			log_event(true, seg_ip(i), seg_lens[i]);
	}
	tun_gro_flush(&gro);
	for (size_t e = 0; e < n_events; e++) {
		uint8_t *bufs[MAX_SEGS];
		size_t lens[MAX_SEGS], got = 1;
		for (size_t i = 0; i < MAX_SEGS; i++)
			bufs[i] = again[i];
		if (events[e].pass) {
			memcpy(again[0], events[e].data, events[e].len);
			lens[0] = events[e].len;
		} else {
			CHECK_EQ(tun_offload_split(events[e].data, events[e].len, bufs, MAX_SEGS, SEG_CAP, 0, lens, &got), 0);
		}
		for (size_t i = 0; i < got; i++) {
			int f = rd16(again[i] + ((again[i][0] >> 4) == 4 ? 20 : 40)) == 1001;
			size_t k = (f ? n[0] : 0) + seen[f]++;
			CHECK(seen[f] <= n[f] && lens[i] == seg_lens[k] && !memcmp(again[i], seg_ip(k), lens[i]));
		}
	}
	CHECK(seen[0] == n[0] && seen[1] == n[1]);
	events_reset();
}

static void test_random_identity(void)
{
	for (int round = 0; round < 400; round++)
		random_round();
}

static void test_malformed(void)
{
	test_malformed_table();
	test_malformed_ipv6();
	test_malformed_room();
}

int main(void)
{
	for (size_t i = 0; i < MAX_SEGS; i++)
		segs[i] = seg_store[i];

	test_split_tcp(4, TH_ACK | TH_PSH | TH_FIN, 10000, 1388);
	test_split_tcp(6, TH_ACK | TH_PSH | TH_FIN, 10000, 1368);
	test_split_tcp(4, TH_ACK | TH_CWR | TH_ECE | TH_PSH, 4000, 1000); /* exact multiple */
	test_split_tcp(6, TH_ACK, 1, 1368);
	test_split_tcp(4, TH_ACK, 65535 - 52, 1448);
	test_split_udp(4);
	test_split_udp(6);
	test_split_none();
	test_split_ipv6_hbh();

	test_gro_roundtrip(4, true, 10000, 1388);
	test_gro_roundtrip(6, true, 10000, 1368);
	test_gro_roundtrip(4, false, 7000, 1000); /* no DF: IDs run on */
	test_gro_roundtrip(4, true, 65535 - 52, 1448);
	test_gro_roundtrip(6, true, 1369, 1368);
	test_gro_fin();

	test_malformed();
	test_truncations();
	test_random_identity();
	return check_report("test_tun_offload");
}
