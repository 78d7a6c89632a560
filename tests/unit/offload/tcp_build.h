/* Test-side packet builders and an independent checksum for the TUN offload
 * tests: TCP/UDP packets with full checksums, and super-packets with the
 * virtio_net_hdr and partial checksum exactly as the kernel's TSO/USO path
 * hands them over (tcp_v4_send_check(): the check field holds the
 * uncomplemented pseudo-header sum over the whole TCP length). Deliberately
 * naive code: it is the oracle the library is checked against. */
#ifndef ROAM_TEST_TCP_BUILD_H
#define ROAM_TEST_TCP_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "net/tun_offload.h"

struct tcp_spec {
	uint8_t version;  /* 4 or 6 */
	uint8_t proto;    /* 6 TCP (default when 0) or 17 UDP */
	uint8_t flags;    /* TCP flags */
	bool ts;          /* NOP, NOP, timestamps: 12 option bytes */
	bool df;
	uint8_t ttl, tos;
	uint16_t ip_id;
	uint16_t window;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint32_t tsval, tsecr;
	uint8_t src[16], dst[16]; /* first 4 bytes for IPv4 */
};

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20
#define TH_ECE 0x40
#define TH_CWR 0x80

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

/* RFC 1071, one 16-bit word at a time. */
static inline uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static inline uint16_t ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static inline size_t spec_l3_len(const struct tcp_spec *s)
{
	return s->version == 4 ? 20 : 40;
}

static inline size_t spec_l4_hdr_len(const struct tcp_spec *s)
{
	if (s->proto == 17)
		return 8;
	return s->ts ? 32 : 20;
}

/* Pseudo-header sum of ip (v4 or v6 without extension headers). */
static inline uint32_t ref_pseudo(const uint8_t *ip, uint8_t proto, size_t l4_len)
{
	uint32_t sum = (ip[0] >> 4) == 4 ? ref_sum(ip + 12, 8, 0) : ref_sum(ip + 8, 32, 0);
	return sum + proto + (uint32_t)l4_len;
}

/* True when the IPv4 header checksum (if any) and the L4 checksum verify. */
static inline bool ref_checksums_ok(const uint8_t *ip, size_t len)
{
	size_t l3 = (ip[0] >> 4) == 4 ? (ip[0] & 0x0fu) * 4 : 40;
	uint8_t proto = (ip[0] >> 4) == 4 ? ip[9] : ip[6];

	if (len < l3 || ((ip[0] >> 4) == 4 && ref_fold(ref_sum(ip, l3, 0)) != 0xffff))
		return false;
	if (proto == 17 && len >= l3 + 8 && rd16(ip + l3 + 6) == 0)
		return false; /* we always want a UDP checksum */
	return ref_fold(ref_sum(ip + l3, len - l3, ref_pseudo(ip, proto, len - l3))) == 0xffff;
}

/* IP + TCP/UDP headers for total_len bytes, no L4 checksum; returns their length. */
static inline size_t build_headers(const struct tcp_spec *s, uint8_t *out, size_t total_len)
{
	size_t l3 = spec_l3_len(s), l4 = spec_l4_hdr_len(s);
	uint8_t proto = s->proto ? s->proto : 6;
	uint8_t *th = out + l3;

	memset(out, 0, l3 + l4);
	if (s->version == 4) {
		out[0] = 0x45;
		out[1] = s->tos;
		wr16(out + 2, (uint32_t)total_len);
		wr16(out + 4, s->ip_id);
		out[6] = s->df ? 0x40 : 0;
		out[8] = s->ttl;
		out[9] = proto;
		memcpy(out + 12, s->src, 4);
		memcpy(out + 16, s->dst, 4);
		wr16(out + 10, (uint16_t)~ref_fold(ref_sum(out, 20, 0)));
	} else {
		out[0] = (uint8_t)(0x60 | s->tos >> 4);
		out[1] = (uint8_t)(s->tos << 4 | 0x0a); /* and a flow label */
		out[2] = 0xbc;
		out[3] = 0xde;
		wr16(out + 4, (uint32_t)(total_len - 40));
		out[6] = proto;
		out[7] = s->ttl;
		memcpy(out + 8, s->src, 16);
		memcpy(out + 24, s->dst, 16);
	}
	wr16(th, s->sport);
	wr16(th + 2, s->dport);
	if (proto == 17) {
		wr16(th + 4, (uint32_t)(total_len - l3));
		return l3 + l4;
	}
	wr32(th + 4, s->seq);
	wr32(th + 8, s->ack);
	th[12] = (uint8_t)(l4 / 4 << 4);
	th[13] = s->flags;
	wr16(th + 14, s->window);
	if (s->ts) {
		th[20] = 1;
		th[21] = 1;
		th[22] = 8;
		th[23] = 10;
		wr32(th + 24, s->tsval);
		wr32(th + 28, s->tsecr);
	}
	return l3 + l4;
}

/* A complete packet with valid checksums; returns its length. */
static inline size_t build_packet(const struct tcp_spec *s, const uint8_t *payload, size_t plen, uint8_t *out)
{
	size_t hdr = spec_l3_len(s) + spec_l4_hdr_len(s), l3 = spec_l3_len(s), len = hdr + plen;
	uint8_t proto = s->proto ? s->proto : 6;
	size_t at = proto == 17 ? 6 : 16;
	uint16_t sum;

	build_headers(s, out, len);
	if (plen)
		memcpy(out + hdr, payload, plen);
	sum = ref_fold(ref_sum(out + l3, len - l3, ref_pseudo(out, proto, len - l3)));
	wr16(out + l3 + at, sum == 0xffff ? 0xffff : (uint16_t)~sum); /* UDP: 0 means none */
	return len;
}

/* vnet header + super-packet as a TSO/USO read returns it; returns the length. */
static inline size_t build_super(const struct tcp_spec *s, const uint8_t *payload, size_t plen, uint16_t mss,
				 uint8_t *out)
{
	struct virtio_net_hdr h = { 0 };
	uint8_t *ip = out + TUN_VNET_HDR_LEN;
	size_t hdr = spec_l3_len(s) + spec_l4_hdr_len(s), l3 = spec_l3_len(s), len = hdr + plen;
	uint8_t proto = s->proto ? s->proto : 6;

	build_headers(s, ip, len);
	memcpy(ip + hdr, payload, plen);
	wr16(ip + l3 + (proto == 17 ? 6 : 16), ref_fold(ref_pseudo(ip, proto, len - l3)));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = proto == 17 ? VIRTIO_NET_HDR_GSO_UDP_L4
				 : (s->version == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6);
	h.hdr_len = (uint16_t)hdr;
	h.gso_size = mss;
	h.csum_start = (uint16_t)l3;
	h.csum_offset = proto == 17 ? 6 : 16;
	memcpy(out, &h, sizeof(h));
	return TUN_VNET_HDR_LEN + len;
}

static inline void spec_default(struct tcp_spec *s, uint8_t version)
{
	static const uint8_t a6[16] = { 0xfd, 0x00, 0x72, 0x6f, 0x61, 0x6d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

	memset(s, 0, sizeof(*s));
	s->version = version;
	s->proto = 6;
	s->flags = TH_ACK;
	s->ts = true;
	s->df = true;
	s->ttl = 64;
	s->window = 502;
	s->sport = 40000;
	s->dport = 5201;
	s->seq = 1000;
	s->ack = 77;
	s->tsval = 0x01020304;
	s->tsecr = 0x0a0b0c0d;
	if (version == 4) {
		memcpy(s->src, (const uint8_t[]){ 10, 9, 0, 1 }, 4);
		memcpy(s->dst, (const uint8_t[]){ 10, 9, 0, 2 }, 4);
	} else {
		memcpy(s->src, a6, 16);
		memcpy(s->dst, a6, 16);
		s->dst[15] = 2;
	}
}

#endif
