/* TUN offloads: segmentation of TSO/USO reads, coalescing of TCP writes.
 * Per-segment rules follow Linux tcp_gso_segment()/__udp_gso_segment():
 * IPv4 ID + i, lengths, sequence numbers, FIN/PSH on the last segment only,
 * CWR on the first only, full checksums over the pseudo-header. */
#include "net/tun_offload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#define IPV4_HDR_MIN 20
#define IPV6_HDR_LEN 40
#define IPV6_MAX_EXT_HDRS 8 /* more is no packet of ours: bound the walk */
#define TCP_HDR_MIN 20
#define UDP_HDR_LEN 8
#define TCP_CSUM_OFFSET 16
#define UDP_CSUM_OFFSET 6

#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_FRAG_OFFSET 0x1fff

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- Internet checksum (RFC 1071) ---------------------------------------- */

/* Ones' complement sum of n bytes as big-endian 16-bit words, folded, not
 * complemented. The sum is byte-order independent (RFC 1071 2.B), so add
 * native 64-bit loads split in 32-bit halves (no carries lost below 2^32
 * words) and swap once at the end. */
static uint16_t csum_bytes(const uint8_t *p, size_t n)
{
	uint64_t lo = 0, hi = 0, w0, w1;

	for (; n >= 16; p += 16, n -= 16) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		lo += (w0 & 0xffffffffu) + (w1 & 0xffffffffu);
		hi += (w0 >> 32) + (w1 >> 32);
	}
	if (n >= 8) {
		memcpy(&w0, p, 8);
		lo += w0 & 0xffffffffu;
		hi += w0 >> 32;
		p += 8;
		n -= 8;
	}
	if (n) {
		w0 = 0;
		memcpy(&w0, p, n); /* an odd last byte keeps its place: high half of its word */
		lo += w0 & 0xffffffffu;
		hi += w0 >> 32;
	}
	lo += hi;
	lo = (lo & 0xffffffffu) + (lo >> 32);
	lo = (lo & 0xffffffffu) + (lo >> 32);
	lo = (lo & 0xffff) + (lo >> 16);
	lo = (lo & 0xffff) + (lo >> 16);
	return ntohs((uint16_t)lo);
}

static inline uint16_t csum_add(uint16_t a, uint16_t b)
{
	uint32_t s = (uint32_t)a + b;
	return (uint16_t)((s & 0xffff) + (s >> 16));
}

/* RFC 793 / RFC 8200 8.1 pseudo-header: addresses, protocol, L4 length. */
static uint16_t csum_pseudo(const uint8_t *ip, uint8_t version, uint8_t proto, size_t l4_len)
{
	uint16_t s = version == 4 ? csum_bytes(ip + 12, 8) : csum_bytes(ip + 8, 32);

	s = csum_add(s, proto);
	s = csum_add(s, (uint16_t)(l4_len >> 16));
	return csum_add(s, (uint16_t)l4_len);
}

/* Complemented checksum for the wire; UDP sends 0 as 0xffff (0 = "none"),
 * and for TCP the two are the same ones' complement number. */
static inline uint16_t csum_final(uint16_t sum)
{
	return sum == 0xffff ? 0xffff : (uint16_t)~sum;
}

/* ---- Read side: parse ---------------------------------------------------- */

/* IPv6 extension headers we can carry unchanged into every segment. A
 * routing header would change the pseudo-header's destination: refuse. */
static int offload_ipv6_walk(struct tun_offload_pkt *p, uint8_t proto)
{
	size_t off = IPV6_HDR_LEN;
	uint8_t nh;

	if (p->ip_len < IPV6_HDR_LEN)
		return -EINVAL;
	nh = p->ip[6];
	for (unsigned n = 0; nh != proto; n++) {
		if (nh == IPPROTO_ROUTING)
			return -EOPNOTSUPP;
		if (n >= IPV6_MAX_EXT_HDRS || (nh != IPPROTO_DSTOPTS && !(nh == IPPROTO_HOPOPTS && n == 0)))
			return -EINVAL;
		if (off + 8 > p->ip_len)
			return -EINVAL;
		nh = p->ip[off];
		off += (p->ip[off + 1] + 1u) * 8;
	}
	if (off > p->ip_len)
		return -EINVAL;
	p->l3_len = (uint16_t)off;
	return 0;
}

static int offload_parse_l3(struct tun_offload_pkt *p, uint8_t want_version, uint8_t proto)
{
	const uint8_t *ip = p->ip;
	uint8_t version = ip[0] >> 4;
	size_t ihl = (ip[0] & 0x0fu) * 4;

	if (want_version && version != want_version)
		return -EINVAL;
	p->ip_version = version;
	if (version == 6)
		return offload_ipv6_walk(p, proto);
	if (version != 4 || p->ip_len < IPV4_HDR_MIN || ihl < IPV4_HDR_MIN || ihl > p->ip_len)
		return -EINVAL;
	/* A fragment cannot be segmented: its L4 header may not even be here. */
	if (ip[9] != proto || (get16(ip + 6) & (IPV4_MF | IPV4_FRAG_OFFSET)))
		return -EINVAL;
	p->l3_len = (uint16_t)ihl;
	return 0;
}

static int offload_parse_gso(const struct virtio_net_hdr *h, struct tun_offload_pkt *p)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	uint8_t want_version = 0, proto = IPPROTO_TCP;
	size_t l4_len, csum_offset = TCP_CSUM_OFFSET, payload;
	int r;

	switch (gso) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		want_version = 4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		want_version = 6;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		proto = IPPROTO_UDP;
		csum_offset = UDP_CSUM_OFFSET;
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		return -EOPNOTSUPP; /* UFO: IP fragmentation, never asked for */
	default:
		return -EINVAL;
	}
	if (h->gso_size == 0)
		return -EINVAL;
	if ((r = offload_parse_l3(p, want_version, proto)) < 0)
		return r;
	l4_len = proto == IPPROTO_TCP ? TCP_HDR_MIN : UDP_HDR_LEN;
	if (p->l3_len + l4_len > p->ip_len)
		return -EINVAL;
	if (proto == IPPROTO_TCP) {
		l4_len = (p->ip[p->l3_len + 12] >> 4) * 4u; /* data offset */
		if (l4_len < TCP_HDR_MIN || p->l3_len + l4_len > p->ip_len)
			return -EINVAL;
	}
	/* The kernel's partial checksum must be the real L4 one; we then
	 * recompute it per segment from scratch anyway. Without NEEDS_CSUM
	 * (forwarded GRO packets come as DATA_VALID) there is nothing to check. */
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && (h->csum_start != p->l3_len || h->csum_offset != csum_offset))
		return -EINVAL;
	payload = p->ip_len - p->l3_len - l4_len;
	if (payload == 0)
		return -EINVAL;
	p->kind = proto == IPPROTO_TCP ? TUN_OFFLOAD_TCP : TUN_OFFLOAD_UDP;
	p->hdr_len = (uint16_t)(p->l3_len + l4_len);
	p->gso_size = h->gso_size;
	p->segments = (payload + h->gso_size - 1) / h->gso_size;
	return 0;
}

int tun_offload_parse(const uint8_t *vnet_pkt, size_t len, struct tun_offload_pkt *out)
{
	struct tun_offload_pkt p = { 0 };
	struct virtio_net_hdr h;

	if (len <= TUN_VNET_HDR_LEN || len - TUN_VNET_HDR_LEN > TUN_OFFLOAD_MAX_IP)
		return -EINVAL;
	memcpy(&h, vnet_pkt, sizeof(h));
	p.ip = vnet_pkt + TUN_VNET_HDR_LEN;
	p.ip_len = len - TUN_VNET_HDR_LEN;
	p.segments = 1;
	/* hdr_len is a hint (skb_headlen()), yet never more than the packet. */
	if (h.hdr_len > p.ip_len)
		return -EINVAL;
	if ((h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE) {
		int r = offload_parse_gso(&h, &p);
		if (r < 0)
			return r;
	} else if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if ((size_t)h.csum_start + h.csum_offset + 2 > p.ip_len)
			return -EINVAL;
		p.kind = TUN_OFFLOAD_CSUM;
		p.csum_start = h.csum_start;
		p.csum_offset = h.csum_offset;
	} else {
		p.kind = TUN_OFFLOAD_PLAIN;
	}
	*out = p;
	return 0;
}

/* ---- Read side: segments ------------------------------------------------- */

static size_t offload_segment_len(const struct tun_offload_pkt *p, size_t index)
{
	size_t payload, off;

	if (p->kind == TUN_OFFLOAD_PLAIN || p->kind == TUN_OFFLOAD_CSUM)
		return p->ip_len;
	payload = p->ip_len - p->hdr_len;
	off = index * p->gso_size;
	return p->hdr_len + (payload - off < p->gso_size ? payload - off : p->gso_size);
}

static void offload_fix_l3(const struct tun_offload_pkt *p, uint8_t *out, size_t len, size_t index)
{
	if (p->ip_version == 6) {
		put16(out + 4, (uint32_t)(len - IPV6_HDR_LEN));
		return;
	}
	put16(out + 2, (uint32_t)len);
	put16(out + 4, get16(out + 4) + (uint32_t)index); /* wraps mod 2^16 in put16 */
	put16(out + 10, 0);
	put16(out + 10, (uint16_t)~csum_bytes(out, p->l3_len));
}

static void offload_fix_l4(const struct tun_offload_pkt *p, uint8_t *out, size_t len, size_t index)
{
	uint8_t *l4 = out + p->l3_len;
	size_t l4_len = len - p->l3_len;
	uint16_t sum;

	if (p->kind == TUN_OFFLOAD_TCP) {
		put32(l4 + 4, get32(l4 + 4) + (uint32_t)(index * p->gso_size));
		if (index + 1 < p->segments)
			l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (index > 0)
			l4[13] &= (uint8_t)~TCP_CWR; /* congestion window reduced once, on the first */
		put16(l4 + TCP_CSUM_OFFSET, 0);
		sum = csum_add(csum_pseudo(out, p->ip_version, IPPROTO_TCP, l4_len), csum_bytes(l4, l4_len));
		put16(l4 + TCP_CSUM_OFFSET, csum_final(sum));
	} else {
		put16(l4 + 4, (uint32_t)l4_len);
		put16(l4 + UDP_CSUM_OFFSET, 0);
		sum = csum_add(csum_pseudo(out, p->ip_version, IPPROTO_UDP, l4_len), csum_bytes(l4, l4_len));
		put16(l4 + UDP_CSUM_OFFSET, csum_final(sum));
	}
}

int tun_offload_segment(const struct tun_offload_pkt *p, size_t index, uint8_t *out, size_t cap,
			size_t *len_out)
{
	size_t len;

	if (index >= p->segments)
		return -EINVAL;
	len = offload_segment_len(p, index);
	if (len > cap)
		return -ENOBUFS;
	switch (p->kind) {
	case TUN_OFFLOAD_PLAIN:
		memcpy(out, p->ip, len);
		break;
	case TUN_OFFLOAD_CSUM:
		/* CHECKSUM_PARTIAL: the field holds the pseudo-header sum; sum
		 * from csum_start to the end over it (skb_checksum_help()). */
		memcpy(out, p->ip, len);
		put16(out + p->csum_start + p->csum_offset,
		      csum_final(csum_bytes(out + p->csum_start, len - p->csum_start)));
		break;
	case TUN_OFFLOAD_TCP:
	case TUN_OFFLOAD_UDP:
		memcpy(out, p->ip, p->hdr_len);
		memcpy(out + p->hdr_len, p->ip + p->hdr_len + index * p->gso_size, len - p->hdr_len);
		offload_fix_l3(p, out, len, index);
		offload_fix_l4(p, out, len, index);
		break;
	default:
		return -EINVAL;
	}
	*len_out = len;
	return 0;
}

int tun_offload_split(const uint8_t *vnet_pkt, size_t len, uint8_t *const bufs[], size_t n_bufs,
		      size_t buf_cap, size_t headroom, size_t lens[], size_t *n_out)
{
	struct tun_offload_pkt p;
	int r;

	if ((r = tun_offload_parse(vnet_pkt, len, &p)) < 0)
		return r;
	/* Segment 0 is the longest: if it fits, all fit, and nothing fails half-way. */
	if (p.segments > n_bufs || headroom > buf_cap || offload_segment_len(&p, 0) > buf_cap - headroom)
		return -ENOBUFS;
	for (size_t i = 0; i < p.segments; i++) {
		if ((r = tun_offload_segment(&p, i, bufs[i] + headroom, buf_cap - headroom, &lens[i])) < 0)
			return r;
	}
	*n_out = p.segments;
	return 0;
}

/* ---- Write side: GRO ----------------------------------------------------- */

enum gro_key {
	GRO_KEY_NONE,  /* not TCP: unrelated to any flow */
	GRO_KEY_ADDRS, /* TCP, but ports unknown (fragment, IPv6 extension headers) */
	GRO_KEY_FULL,  /* addresses and ports */
};

/* What tun_gro_add() learnt about one packet; borrows it. */
struct gro_pkt {
	const uint8_t *ip, *tcp;
	size_t len, payload;
	enum gro_key key;
	bool eligible; /* may start or extend a flow */
	uint8_t version, flags;
	uint16_t l3_len, tcp_len;
};

static bool gro_checksums_valid(const struct gro_pkt *g)
{
	size_t l4_len = g->len - g->l3_len;

	/* A merged packet goes up with NEEDS_CSUM, which the kernel never
	 * verifies: a segment with a bad checksum must stay on its own. */
	if (g->version == 4 && csum_bytes(g->ip, g->l3_len) != 0xffff)
		return false;
	return csum_add(csum_pseudo(g->ip, g->version, IPPROTO_TCP, l4_len), csum_bytes(g->tcp, l4_len)) == 0xffff;
}

static void gro_inspect_tcp(struct gro_pkt *g, size_t ip_len_field, bool plain_l3)
{
	const uint8_t *tcp = g->ip + g->l3_len;

	if ((size_t)g->l3_len + TCP_HDR_MIN > g->len)
		return;
	g->key = GRO_KEY_FULL;
	g->tcp = tcp;
	g->flags = tcp[13];
	g->tcp_len = (uint16_t)((tcp[12] >> 4) * 4u);
	if (!plain_l3 || ip_len_field != g->len || g->len > TUN_OFFLOAD_MAX_IP || g->tcp_len < TCP_HDR_MIN ||
	    (size_t)g->l3_len + g->tcp_len >= g->len)
		return;
	g->payload = g->len - g->l3_len - g->tcp_len;
	/* Linux tcp_gro_receive() rules: pure data, PSH only as the end. */
	if (g->flags != TCP_ACK && g->flags != (TCP_ACK | TCP_PSH))
		return;
	g->eligible = gro_checksums_valid(g);
}

static void gro_inspect(const uint8_t *pkt, size_t len, struct gro_pkt *g)
{
	memset(g, 0, sizeof(*g));
	g->ip = pkt;
	g->len = len;
	if (len < IPV4_HDR_MIN)
		return;
	g->version = pkt[0] >> 4;
	if (g->version == 4) {
		size_t ihl = (pkt[0] & 0x0fu) * 4;
		if (ihl < IPV4_HDR_MIN || ihl > len || pkt[9] != IPPROTO_TCP)
			return;
		g->l3_len = (uint16_t)ihl;
		if (get16(pkt + 6) & (IPV4_MF | IPV4_FRAG_OFFSET)) {
			g->key = GRO_KEY_ADDRS;
			return;
		}
		gro_inspect_tcp(g, get16(pkt + 2), ihl == IPV4_HDR_MIN);
	} else if (g->version == 6 && len >= IPV6_HDR_LEN) {
		uint8_t nh = pkt[6];
		if (nh == IPPROTO_UDP || nh == IPPROTO_ICMPV6 || nh == IPPROTO_NONE)
			return;
		g->l3_len = IPV6_HDR_LEN;
		if (nh != IPPROTO_TCP) {
			g->key = GRO_KEY_ADDRS; /* an extension header may hide TCP */
			return;
		}
		gro_inspect_tcp(g, IPV6_HDR_LEN + (size_t)get16(pkt + 4), true);
	}
}

static const uint8_t *gro_flow_ip(const struct tun_gro_flow *f)
{
	return f->buf + TUN_VNET_HDR_LEN;
}

static bool gro_flow_matches(const struct tun_gro_flow *f, const struct gro_pkt *g)
{
	const uint8_t *head = gro_flow_ip(f);
	bool same_addrs;

	if (f->ip_version != g->version)
		return false;
	same_addrs = g->version == 4 ? !memcmp(head + 12, g->ip + 12, 8) : !memcmp(head + 8, g->ip + 8, 32);
	if (!same_addrs)
		return false;
	return g->key == GRO_KEY_ADDRS || !memcmp(head + f->l3_len, g->tcp, 4);
}

static bool gro_can_append(const struct tun_gro_flow *f, const struct gro_pkt *g)
{
	const uint8_t *head = gro_flow_ip(f), *th = head + f->l3_len;

	if (f->closed || !g->eligible || g->l3_len + g->tcp_len != f->hdr_len)
		return false;
	/* Equal segments, a smaller one only as the last (gso_size slices). */
	if (g->payload > f->gso_size || f->ip_len + g->payload > TUN_OFFLOAD_MAX_IP)
		return false;
	if (get32(g->tcp + 4) != f->seq_next || memcmp(g->tcp + 8, th + 8, 4) != 0)
		return false;
	/* Same options bytes (timestamps): the merged packet carries one copy. */
	if (memcmp(g->tcp + TCP_HDR_MIN, th + TCP_HDR_MIN, g->tcp_len - TCP_HDR_MIN) != 0)
		return false;
	if (g->version == 6)
		return !memcmp(g->ip, head, 4) && g->ip[7] == head[7]; /* class, flow label, hop limit */
	if (g->ip[1] != head[1] || g->ip[8] != head[8] || ((g->ip[6] ^ head[6]) & (IPV4_DF >> 8)))
		return false;
	/* Without DF the IDs must run on, as the kernel would re-create them. */
	return (head[6] & (IPV4_DF >> 8)) || get16(g->ip + 4) == f->ipv4_id_next;
}

static void gro_start(struct tun_gro_flow *f, const struct gro_pkt *g)
{
	memcpy(f->buf + TUN_VNET_HDR_LEN, g->ip, g->len);
	f->active = true;
	f->closed = false;
	f->ip_version = g->version;
	f->l3_len = g->l3_len;
	f->hdr_len = (uint16_t)(g->l3_len + g->tcp_len);
	f->gso_size = (uint16_t)g->payload;
	f->segments = 1;
	f->ipv4_id_next = (uint16_t)(get16(g->ip + 4) + 1);
	f->seq_next = get32(g->tcp + 4) + (uint32_t)g->payload;
	f->ip_len = g->len;
}

static void gro_append(struct tun_gro_flow *f, const struct gro_pkt *g)
{
	uint8_t *th = f->buf + TUN_VNET_HDR_LEN + f->l3_len;

	memcpy(f->buf + TUN_VNET_HDR_LEN + f->ip_len, g->tcp + g->tcp_len, g->payload);
	f->ip_len += g->payload;
	f->seq_next += (uint32_t)g->payload;
	f->segments++;
	f->ipv4_id_next++;
	memcpy(th + 14, g->tcp + 14, 2); /* the newest window, as if read in order */
	if (g->flags & TCP_PSH) {
		th[13] |= TCP_PSH;
		f->closed = true;
	}
	if (g->payload < f->gso_size)
		f->closed = true;
}

static void gro_emit(struct tun_gro *gro, struct tun_gro_flow *f)
{
	struct virtio_net_hdr h;
	uint8_t *ip = f->buf + TUN_VNET_HDR_LEN, *th = ip + f->l3_len;

	memset(&h, 0, sizeof(h));
	if (f->segments > 1) {
		if (f->ip_version == 4) {
			put16(ip + 2, (uint32_t)f->ip_len);
			put16(ip + 10, 0);
			put16(ip + 10, (uint16_t)~csum_bytes(ip, f->l3_len));
		} else {
			put16(ip + 4, (uint32_t)(f->ip_len - IPV6_HDR_LEN));
		}
		/* CHECKSUM_PARTIAL convention: the uncomplemented pseudo-header sum. */
		put16(th + TCP_CSUM_OFFSET, csum_pseudo(ip, f->ip_version, IPPROTO_TCP, f->ip_len - f->l3_len));
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.gso_type = f->ip_version == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
		h.hdr_len = f->hdr_len;
		h.gso_size = f->gso_size;
		h.csum_start = f->l3_len;
		h.csum_offset = TCP_CSUM_OFFSET;
	}
	memcpy(f->buf, &h, sizeof(h));
	f->active = false;
	gro->emit(gro->ctx, f->buf, TUN_VNET_HDR_LEN + f->ip_len);
}

void tun_gro_init(struct tun_gro *gro, tun_gro_emit_fn emit, void *ctx)
{
	gro->emit = emit;
	gro->ctx = ctx;
	for (size_t i = 0; i < TUN_GRO_MAX_FLOWS; i++)
		gro->flows[i].active = false;
}

enum tun_gro_verdict tun_gro_add(struct tun_gro *gro, const uint8_t *pkt, size_t len)
{
	struct tun_gro_flow *free_slot = NULL;
	struct gro_pkt g;

	gro_inspect(pkt, len, &g);
	if (g.key == GRO_KEY_NONE)
		return TUN_GRO_PASS;
	/* At most one active slot per 5-tuple: a flow is started only after
	 * every slot it matches was emitted here. */
	for (size_t i = 0; i < TUN_GRO_MAX_FLOWS; i++) {
		struct tun_gro_flow *f = &gro->flows[i];
		if (f->active && gro_flow_matches(f, &g)) {
			if (gro_can_append(f, &g)) {
				gro_append(f, &g);
				return TUN_GRO_HELD;
			}
			gro_emit(gro, f); /* its bytes go before this packet's */
		}
		if (!f->active && !free_slot)
			free_slot = f;
	}
	if (!g.eligible || (g.flags & TCP_PSH) || !free_slot)
		return TUN_GRO_PASS;
	gro_start(free_slot, &g);
	return TUN_GRO_HELD;
}

void tun_gro_flush(struct tun_gro *gro)
{
	for (size_t i = 0; i < TUN_GRO_MAX_FLOWS; i++) {
		if (gro->flows[i].active)
			gro_emit(gro, &gro->flows[i]);
	}
}
