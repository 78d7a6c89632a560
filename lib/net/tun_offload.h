/* TUN offloads, as wireguard-go does them (tun/offload_linux.go): with
 * IFF_VNET_HDR every TUN read and write starts with a struct virtio_net_hdr.
 *
 * Read side (TSO/USO): the kernel hands over one "super-packet" of up to
 * 64 KiB with gso_type TCPV4/TCPV6/UDP_L4 and gso_size = MSS; we cut it into
 * the MTU-sized packets it stands for, fixing lengths, IDs, sequence numbers,
 * flags and checksums per segment, as the kernel's tcp_gso_segment() would.
 * A non-GSO packet may still carry a partial checksum (NEEDS_CSUM) to finish.
 *
 *   kernel --read--> [vnet hdr | IP | TCP | 64 KiB] --split--> N x [IP|TCP|MSS]
 *
 * Write side (GRO): consecutive in-order TCP segments of one flow from a batch
 * of decrypted packets are merged into one super-packet, written with a
 * virtio_net_hdr (NEEDS_CSUM + gso_type), so the local TCP stack takes one
 * big skb instead of dozens.
 *
 * Pure functions over caller memory: no I/O, no allocation, no globals. All
 * vnet header fields are in host byte order (legacy virtio without
 * TUNSETVNETLE, which is what tun_open_offload() sets up). */
#ifndef ROAM_NET_TUN_OFFLOAD_H
#define ROAM_NET_TUN_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* Linux >= 4.18 headers; Debian 12's lack it */
#endif

#define TUN_VNET_HDR_LEN sizeof(struct virtio_net_hdr) /* 10 */
#define TUN_OFFLOAD_MAX_IP 65535                       /* largest IP packet read or written */
/* A read buffer that any TUN read fits in: header plus the largest packet. */
#define TUN_OFFLOAD_READ_MAX (TUN_VNET_HDR_LEN + TUN_OFFLOAD_MAX_IP)

/* ---- Read side: split ---------------------------------------------------- */

enum tun_offload_kind {
	TUN_OFFLOAD_PLAIN,   /* one complete packet, copied as is */
	TUN_OFFLOAD_CSUM,    /* one packet whose checksum at csum_start/offset we finish */
	TUN_OFFLOAD_TCP,     /* TSO super-packet (IPv4 or IPv6) */
	TUN_OFFLOAD_UDP,     /* USO super-packet (IPv4 or IPv6) */
};

/* A validated TUN read. Borrows the caller's buffer: `ip` points into it, so
 * the buffer must stay alive and unchanged while segments are produced. */
struct tun_offload_pkt {
	const uint8_t *ip;   /* the IP packet (after the vnet header) */
	size_t ip_len;
	size_t segments;     /* packets tun_offload_segment() yields, >= 1 */
	enum tun_offload_kind kind;
	uint8_t ip_version;  /* 4 or 6; 0 for PLAIN/CSUM (not inspected) */
	uint16_t l3_len;     /* IP header incl. IPv4 options / IPv6 extension headers */
	uint16_t hdr_len;    /* l3_len + TCP/UDP header: bytes repeated in every segment */
	uint16_t gso_size;   /* payload bytes per segment (last may be shorter) */
	uint16_t csum_start; /* CSUM only */
	uint16_t csum_offset;
};

/* Validate what one TUN read returned (vnet header + packet, len bytes).
 * Nothing from the kernel is trusted: header lengths come from the packet
 * itself, hdr_len is only a hint (the kernel puts skb_headlen() there, which
 * on forwarded packets covers payload too) but may not exceed the packet;
 * NEEDS_CSUM must point at the real TCP/UDP checksum of a GSO packet.
 * Returns 0, -EINVAL (malformed: too short, gso_size 0, csum_start/offset out
 * of the packet, header lengths that do not fit, wrong IP version or protocol
 * for the gso_type, IPv4 fragment, no payload) or -EOPNOTSUPP (UFO, an IPv6
 * extension header other than hop-by-hop/destination options). */
int tun_offload_parse(const uint8_t *vnet_pkt, size_t len, struct tun_offload_pkt *out);

/* Write segment `index` (< pkt->segments) as a complete IP packet with valid
 * checksums at out (cap bytes); *len_out = its length. -ENOBUFS if it does
 * not fit, -EINVAL for a bad index. Segments are independent: any order. */
int tun_offload_segment(const struct tun_offload_pkt *pkt, size_t index, uint8_t *out, size_t cap,
			size_t *len_out);

/* Parse and cut into caller buffers in one go: segment i goes to
 * bufs[i] + headroom (room before it for WireGuard's data header, so the
 * caller encrypts in place), lens[i] = its length, *n_out = count. Each buffer
 * is buf_cap bytes. The caller owns all buffers; nothing is retained.
 * Errors as tun_offload_parse(), plus -ENOBUFS when more than n_bufs segments
 * would result or one does not fit in buf_cap - headroom (then nothing in
 * *n_out; the caller drops the read, or uses tun_offload_segment() to go
 * through it in pieces). */
int tun_offload_split(const uint8_t *vnet_pkt, size_t len, uint8_t *const bufs[], size_t n_bufs,
		      size_t buf_cap, size_t headroom, size_t lens[], size_t *n_out);

/* ---- Write side: GRO coalescer ------------------------------------------- */

#define TUN_GRO_MAX_FLOWS 8

/* Called with one TUN write's worth: vnet header + packet, len bytes. The
 * bytes belong to the coalescer and are valid only during the call. Write
 * failures are the callback's to count; the coalescer forgets the packet. */
typedef void (*tun_gro_emit_fn)(void *ctx, const uint8_t *vnet_pkt, size_t len);

/* One flow in progress: its first packet's headers and the payload so far,
 * copied into fixed storage. Private to tun_offload.c. */
struct tun_gro_flow {
	bool active;
	bool closed;          /* PSH or a short segment came: nothing may follow */
	uint8_t ip_version;
	uint16_t l3_len, hdr_len;
	uint16_t gso_size;    /* first segment's payload */
	uint16_t segments;
	uint16_t ipv4_id_next;
	uint32_t seq_next;
	size_t ip_len;        /* bytes of IP packet in buf after the vnet header */
	uint8_t buf[TUN_VNET_HDR_LEN + TUN_OFFLOAD_MAX_IP];
};

/* About 512 KiB: allocate it (calloc) or make it static, not on the stack. */
struct tun_gro {
	tun_gro_emit_fn emit;
	void *ctx;
	struct tun_gro_flow flows[TUN_GRO_MAX_FLOWS];
};

enum tun_gro_verdict {
	TUN_GRO_PASS = 0, /* not taken: the caller writes pkt itself, now, with a zero vnet header */
	TUN_GRO_HELD = 1, /* copied in: the caller's buffer is free again */
};

void tun_gro_init(struct tun_gro *gro, tun_gro_emit_fn emit, void *ctx);

/* Offer one plain IP packet (len bytes, no vnet header) from a batch. A TCP
 * data segment with only ACK (or ACK|PSH) that continues a held flow exactly
 * is appended; one that starts a flow is held. Anything else passes. Before
 * returning PASS for a packet of a held flow, or starting that flow anew, the
 * held part is emitted, so a flow's bytes reach the kernel in order. */
enum tun_gro_verdict tun_gro_add(struct tun_gro *gro, const uint8_t *pkt, size_t len);

/* Emit every held flow (end of a batch): a merged flow as a GSO super-packet,
 * a lone packet unchanged behind a zero vnet header. Leaves gro empty. */
void tun_gro_flush(struct tun_gro *gro);

#endif
