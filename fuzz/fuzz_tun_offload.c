/* Fuzzes the TUN offload code with whatever a buggy kernel (reads) or a
 * peer (decrypted packets for the coalescer) could hand it. The first byte
 * picks the path:
 *   even: the rest is one TUN read, vnet header + packet, to parse and split
 *   odd:  the rest is a batch of packets, each behind a 2-byte big-endian
 *         length, offered to the GRO coalescer, then flushed
 * Beyond memory safety it checks (abort() on failure): every TCP/UDP segment
 * the split makes has valid checksums; every write the coalescer emits
 * parses and splits again; every offered packet comes out exactly once, and
 * no TCP payload byte is lost or made up. */
#include <stdlib.h>

#include "fuzz/fuzz.h"
#include "tests/unit/offload/tcp_build.h"

#define FUZZ_MAX_SEGMENTS 64 /* a gso_size of 1 would mean 65000: a few prove the point */

static uint8_t seg_buf[TUN_OFFLOAD_MAX_IP];

static void require(bool ok)
{
	if (!ok)
		abort();
}

/* All segments of a parsed read; returns how many, checking each. */
static size_t split_and_check(const struct tun_offload_pkt *p, size_t *payload_out)
{
	size_t n = p->segments, len, payload = 0;
	bool plain_l3 = p->ip_version == 4 || p->l3_len == 40;

	if (n > FUZZ_MAX_SEGMENTS)
		n = FUZZ_MAX_SEGMENTS;
	for (size_t i = 0; i < n; i++) {
		require(tun_offload_segment(p, i, seg_buf, sizeof(seg_buf), &len) == 0);
		require(len <= p->ip_len);
		if ((p->kind == TUN_OFFLOAD_TCP || p->kind == TUN_OFFLOAD_UDP) && plain_l3)
			require(ref_checksums_ok(seg_buf, len));
		/* Finished partial checksum: the region plus the kernel's seed
		 * (the field's old value, the pseudo-header sum) verifies. */
		if (p->kind == TUN_OFFLOAD_CSUM && p->csum_offset % 2 == 0)
			require(ref_fold(ref_sum(seg_buf + p->csum_start, len - p->csum_start,
						 rd16(p->ip + p->csum_start + p->csum_offset))) == 0xffff);
		payload += len - (p->kind >= TUN_OFFLOAD_TCP ? p->hdr_len : 0);
	}
	require(tun_offload_segment(p, p->segments, seg_buf, sizeof(seg_buf), &len) < 0);
	*payload_out = payload;
	return n;
}

static void fuzz_split(const uint8_t *data, size_t size)
{
	static uint8_t store[4][2048];
	uint8_t *bufs[4] = { store[0], store[1], store[2], store[3] };
	size_t lens[4], n, payload;
	struct tun_offload_pkt p;

	if (tun_offload_parse(data, size, &p) < 0)
		return;
	require(p.segments >= 1 && p.ip_len == size - TUN_VNET_HDR_LEN);
	split_and_check(&p, &payload);
	if (tun_offload_split(data, size, bufs, 4, sizeof(store[0]), 16, lens, &n) == 0)
		require(n == p.segments && n <= 4);
}

static struct tun_gro gro;
static size_t emitted_segments, emitted_payload;

static void on_emit(void *ctx, const uint8_t *vnet_pkt, size_t len)
{
	struct tun_offload_pkt p;
	size_t payload;

	(void)ctx;
	require(tun_offload_parse(vnet_pkt, len, &p) == 0);
	require(p.kind == TUN_OFFLOAD_PLAIN || p.kind == TUN_OFFLOAD_TCP);
	emitted_segments += p.segments;
	if (p.kind == TUN_OFFLOAD_TCP && p.segments <= FUZZ_MAX_SEGMENTS) {
		split_and_check(&p, &payload);
		emitted_payload += payload;
	} else if (p.kind == TUN_OFFLOAD_TCP) {
		emitted_payload += p.ip_len - p.hdr_len;
	} else {
		/* A lone held packet: unchanged, so its own headers say it all. */
		const uint8_t *ip = p.ip;
		size_t l3 = (ip[0] >> 4) == 4 ? 20 : 40;
		require(ref_checksums_ok(ip, p.ip_len));
		emitted_payload += p.ip_len - l3 - (ip[l3 + 12] >> 4) * 4u;
	}
}

/* TCP payload of a packet the coalescer held (so a plain, valid one). */
static size_t held_payload(const uint8_t *ip, size_t len)
{
	size_t l3 = (ip[0] >> 4) == 4 ? 20 : 40;
	return len - l3 - (ip[l3 + 12] >> 4) * 4u;
}

static void fuzz_gro(const uint8_t *data, size_t size)
{
	size_t offered = 0, passed = 0, held_bytes = 0;

	emitted_segments = emitted_payload = 0;
	tun_gro_init(&gro, on_emit, NULL);
	while (size >= 2) {
		size_t len = (size_t)data[0] << 8 | data[1];
		uint8_t *pkt;
		len = len < size - 2 ? len : size - 2;
		/* An exact-size copy: reading past a packet is caught, not hidden by the next one. */
		require((pkt = malloc(len ? len : 1)) != NULL);
		memcpy(pkt, data + 2, len);
		offered++;
		if (tun_gro_add(&gro, pkt, len) == TUN_GRO_PASS)
			passed++;
		else
			held_bytes += held_payload(pkt, len);
		free(pkt);
		data += 2 + len;
		size -= 2 + len;
	}
	tun_gro_flush(&gro);
	require(offered == passed + emitted_segments);
	require(held_bytes == emitted_payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		fuzz_split(data + 1, size - 1);
	else
		fuzz_gro(data + 1, size - 1);
	return 0;
}
