/* TUN offloads against the real driver (needs root; exit 77 otherwise).
 *
 *   private netns
 *   +---------------------------------------------+
 *   | app: TCP socket 10.9.0.1 / fd00:726f:616d::1 |
 *   |        | connect() to ...2 port 5201         |
 *   |   tun "roamo%d" (IFF_VNET_HDR, TSO on)       |
 *   +--------|------------------------------------+
 *            | fd: vnet header + packet
 *   this test = the peer 10.9.0.2 / fd00:726f:616d::2: answers the SYN,
 *   splits the kernel's TSO super-packets and ACKs them, then sends data
 *   back as one coalesced GSO write.
 *
 * Proves: the kernel hands over TCPV4/TCPV6 super-packets that split into
 * valid segments carrying exactly what the app wrote; partial checksums on
 * ordinary packets complete correctly; the kernel accepts our GRO writes and
 * delivers their bytes intact. Every wait is a bounded poll. Set
 * TUN_OFFLOAD_DUMP=dir to keep the raw super-packets (fuzz seeds). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "net/netlink.h"
#include "net/tun.h"
#include "tcp_build.h"

#define SKIP(why)                                        \
	do {                                             \
		printf("SKIP: %s\n", why);               \
		return 77;                               \
	} while (0)

#define PEER_PORT 5201
#define PEER_ISN 0x10000000u
#define PEER_MSS 1380
#define LINK_MTU 1420
#define APP_BYTES (256 * 1024)
#define BACK_SEGS 20
#define BACK_SEG_LEN 1368 /* MSS - timestamps: what the app's side would send */

struct peer {
	int tun, app;
	uint8_t version;
	struct tcp_spec spec;   /* our packets: src = peer, dst = app */
	bool syn_seen;
	uint32_t app_next;      /* next sequence number we expect from the app */
	size_t got;             /* app bytes received in order */
	unsigned reads, gso_reads, max_segs, retransmits, dumped;
	struct virtio_net_hdr first_gso, syn_hdr;
	uint8_t *rx;            /* what the app sent, as we received it */
};

static uint8_t app_data[APP_BYTES];
static uint8_t rd_buf[TUN_OFFLOAD_READ_MAX];
static uint8_t seg_store[256][2048];

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool wait_fd(int fd, short what, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = what };
	return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & what);
}

/* A plain packet to the kernel: a zero vnet header in front. */
static void tun_write_plain(struct peer *p, const uint8_t *pkt, size_t len)
{
	uint8_t buf[TUN_VNET_HDR_LEN + 2048];

	memset(buf, 0, TUN_VNET_HDR_LEN);
	memcpy(buf + TUN_VNET_HDR_LEN, pkt, len);
	CHECK_EQ(write(p->tun, buf, TUN_VNET_HDR_LEN + len), TUN_VNET_HDR_LEN + len);
}

static void send_ack(struct peer *p)
{
	uint8_t pkt[128];
	struct tcp_spec s = p->spec;

	s.flags = TH_ACK;
	s.ack = p->app_next;
	p->spec.tsval++;
	tun_write_plain(p, pkt, build_packet(&s, NULL, 0, pkt));
}

static void dump_read(struct peer *p, const char *what, const uint8_t *buf, size_t len)
{
	const char *dir = getenv("TUN_OFFLOAD_DUMP");
	char path[512];
	FILE *f;

	if (!dir || p->dumped >= 3)
		return;
	snprintf(path, sizeof(path), "%s/kernel-%s-v%u-%u", dir, what, p->version, p->dumped++);
	if ((f = fopen(path, "wb"))) {
		fputc(0, f); /* fuzz target mode byte: split */
		fwrite(buf, 1, len, f);
		fclose(f);
	}
}

/* The timestamp value in a TCP header's options, or 0. */
static uint32_t find_tsval(const uint8_t *th, size_t thl)
{
	for (size_t i = 20; i < thl;) {
		if (th[i] == 0)
			break;
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= thl || th[i + 1] < 2 || i + th[i + 1] > thl)
			break;
		if (th[i] == 8 && th[i + 1] == 10)
			return rd32(th + i + 2);
		i += th[i + 1];
	}
	return 0;
}

/* One segment from the kernel: ours if it is the app's flow, in order. */
static void take_segment(struct peer *p, const uint8_t *ip, size_t len)
{
	size_t l3 = p->version == 4 ? 20 : 40, thl, plen;
	const uint8_t *th = ip + l3;
	uint32_t seq;

	if (len < l3 + 20 || (ip[0] >> 4) != p->version || ip[p->version == 4 ? 9 : 6] != 6 ||
	    rd16(th + 2) != PEER_PORT)
		return; /* MLD, router solicitations, ... */
	CHECK(ref_checksums_ok(ip, len));
	thl = (th[12] >> 4) * 4u;
	plen = len - l3 - thl;
	seq = rd32(th + 4);
	CHECK(thl >= 20 && l3 + thl <= len);
	if (thl < 20 || l3 + thl > len)
		return;
	if (th[13] & TH_SYN) {
		p->syn_seen = true;
		p->app_next = seq + 1;
		p->spec.dport = rd16(th);
		p->spec.tsecr = find_tsval(th, thl);
		return;
	}
	if (seq != p->app_next || plen == 0) {
		p->retransmits += plen != 0;
		return;
	}
	if (find_tsval(th, thl))
		p->spec.tsecr = find_tsval(th, thl);
	CHECK(p->got + plen <= APP_BYTES);
	if (p->got + plen <= APP_BYTES)
		memcpy(p->rx + p->got, ip + l3 + thl, plen);
	p->got += plen;
	p->app_next += (uint32_t)plen;
}

/* Read once (bounded wait) and split; returns false on timeout. */
static bool tun_read_split(struct peer *p, int timeout_ms)
{
	uint8_t *bufs[256];
	size_t lens[256], n = 0;
	struct virtio_net_hdr h;
	ssize_t len;

	if (!wait_fd(p->tun, POLLIN, timeout_ms))
		return false;
	if ((len = read(p->tun, rd_buf, sizeof(rd_buf))) <= 0) {
		CHECK(len < 0 && errno == EAGAIN);
		return false;
	}
	memcpy(&h, rd_buf, sizeof(h));
	for (size_t i = 0; i < 256; i++)
		bufs[i] = seg_store[i];
	CHECK_EQ(tun_offload_split(rd_buf, (size_t)len, bufs, 256, sizeof(seg_store[0]), 0, lens, &n), 0);
	p->reads++;
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		if (!p->gso_reads++)
			p->first_gso = h;
		dump_read(p, "tso", rd_buf, (size_t)len);
		CHECK_EQ(h.gso_type & 0x7f, p->version == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6);
	}
	p->max_segs = n > p->max_segs ? (unsigned)n : p->max_segs;
	for (size_t i = 0; i < n; i++) {
		bool syn_before = p->syn_seen;
		take_segment(p, bufs[i], lens[i]);
		if (!syn_before && p->syn_seen)
			p->syn_hdr = h;
	}
	return true;
}

static void send_syn_ack(struct peer *p)
{
	uint8_t pkt[128], opt_mss[4] = { 2, 4, PEER_MSS >> 8, PEER_MSS & 0xff };
	struct tcp_spec s = p->spec;
	size_t len, l3 = p->version == 4 ? 20 : 40;

	s.flags = TH_SYN | TH_ACK;
	s.seq = PEER_ISN;
	s.ack = p->app_next;
	/* Timestamps then MSS: the MSS option rides as "payload" of the
	 * builder, and the data offset grows over it. */
	len = build_packet(&s, opt_mss, 4, pkt);
	pkt[l3 + 12] = 9 << 4;
	wr16(pkt + l3 + 16, 0);
	wr16(pkt + l3 + 16, (uint16_t)~ref_fold(ref_sum(pkt + l3, len - l3, ref_pseudo(pkt, 6, len - l3))));
	tun_write_plain(p, pkt, len);
}

/* SYN -> our SYN-ACK (MSS, timestamps) -> the app's connect() completes.
 * A SYN sent again gets another SYN-ACK, as from any real peer. */
static bool handshake(struct peer *p)
{
	uint64_t deadline = now_ms() + 10000;
	int err = -1;
	socklen_t elen = sizeof(err);

	while (!p->syn_seen && now_ms() < deadline)
		tun_read_split(p, 200);
	CHECK(p->syn_seen);
	if (!p->syn_seen)
		return false;
	send_syn_ack(p);
	while (!wait_fd(p->app, POLLOUT, 100) && now_ms() < deadline) {
		p->syn_seen = false;
		if (tun_read_split(p, 100) && p->syn_seen)
			send_syn_ack(p);
	}
	p->spec.seq = PEER_ISN + 1;
	CHECK_EQ(getsockopt(p->app, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
	CHECK_EQ(err, 0);
	CHECK(wait_fd(p->app, POLLOUT, 0));
	return err == 0 && wait_fd(p->app, POLLOUT, 0);
}

/* The app writes APP_BYTES; we split what TUN gives us and ACK every read. */
static void app_to_peer(struct peer *p)
{
	uint64_t deadline = now_ms() + 20000;
	size_t sent = 0;

	while (p->got < APP_BYTES && now_ms() < deadline) {
		if (sent < APP_BYTES) {
			ssize_t n = send(p->app, app_data + sent, APP_BYTES - sent, MSG_DONTWAIT);
			CHECK(n > 0 || errno == EAGAIN);
			sent += n > 0 ? (size_t)n : 0;
		}
		if (tun_read_split(p, 100))
			send_ack(p);
	}
	CHECK_EQ(p->got, APP_BYTES);
	CHECK(p->got == APP_BYTES && !memcmp(p->rx, app_data, APP_BYTES));
	CHECK(p->gso_reads > 0);
	CHECK(p->max_segs > 1);
	/* MSS: ours, or what the link MTU leaves; minus the timestamps. */
	CHECK_EQ(p->first_gso.gso_size, (p->version == 4 ? PEER_MSS : LINK_MTU - 40 - 20) - 12);
	CHECK_EQ(p->first_gso.hdr_len, (p->version == 4 ? 20 : 40) + 32);
	CHECK_EQ(p->first_gso.csum_start, p->version == 4 ? 20 : 40);
	CHECK_EQ(p->first_gso.csum_offset, 16);
	CHECK(p->first_gso.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
}

static struct peer *emit_peer;
static int emit_writes, emit_gso_writes;

/* Our coalescer's output goes straight into the TUN. */
static void emit_to_tun(void *ctx, const uint8_t *vnet_pkt, size_t len)
{
	struct virtio_net_hdr h;
	const char *dir = getenv("TUN_OFFLOAD_DUMP");
	ssize_t n = write(emit_peer->tun, vnet_pkt, len);

	(void)ctx;
	memcpy(&h, vnet_pkt, sizeof(h));
	CHECK_EQ(n, len);
	if (n < 0)
		fprintf(stderr, "GRO write of %zu bytes: %s\n", len, strerror(errno));
	emit_writes++;
	emit_gso_writes += h.gso_type != VIRTIO_NET_HDR_GSO_NONE;
	if (dir && h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		char path[512];
		FILE *f;
		snprintf(path, sizeof(path), "%s/gro-write-v%u", dir, emit_peer->version);
		if ((f = fopen(path, "wb"))) {
			fputc(0, f);
			fwrite(vnet_pkt, 1, len, f);
			fclose(f);
		}
	}
}

/* We send BACK_SEGS segments through the coalescer: one GSO write. */
static void peer_to_app(struct peer *p)
{
	static uint8_t want[BACK_SEGS * BACK_SEG_LEN], got[sizeof(want)];
	static struct tun_gro g;
	uint8_t pkt[2048];
	size_t have = 0;
	uint64_t deadline;

	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 7 + p->version);
	emit_peer = p;
	emit_writes = emit_gso_writes = 0;
	tun_gro_init(&g, emit_to_tun, NULL);
	p->spec.ack = p->app_next;
	p->spec.flags = TH_ACK;
	for (size_t i = 0; i < BACK_SEGS; i++) {
		if (i + 1 == BACK_SEGS)
			p->spec.flags = TH_ACK | TH_PSH;
		CHECK_EQ(tun_gro_add(&g, pkt, build_packet(&p->spec, want + i * BACK_SEG_LEN, BACK_SEG_LEN, pkt)),
			 TUN_GRO_HELD);
		p->spec.seq += BACK_SEG_LEN;
		p->spec.ip_id++;
	}
	tun_gro_flush(&g);
	CHECK_EQ(emit_writes, 1);
	CHECK_EQ(emit_gso_writes, 1);
	deadline = now_ms() + 5000;
	while (have < sizeof(want) && now_ms() < deadline) {
		ssize_t n;
		if (!wait_fd(p->app, POLLIN, 200))
			continue;
		if ((n = recv(p->app, got + have, sizeof(got) - have, MSG_DONTWAIT)) > 0)
			have += (size_t)n;
	}
	CHECK_EQ(have, sizeof(want));
	CHECK_MEM(got, want, sizeof(want));
}

/* The app's ACK for everything we wrote in one go. */
static void expect_ack(struct peer *p)
{
	uint8_t *bufs[256];
	size_t lens[256], n;
	uint64_t deadline = now_ms() + 3000;
	bool acked = false;

	for (size_t i = 0; i < 256; i++)
		bufs[i] = seg_store[i];
	while (!acked && now_ms() < deadline) {
		ssize_t len;
		if (!wait_fd(p->tun, POLLIN, 200) || (len = read(p->tun, rd_buf, sizeof(rd_buf))) <= 0)
			continue;
		if (tun_offload_split(rd_buf, (size_t)len, bufs, 256, sizeof(seg_store[0]), 0, lens, &n) < 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			size_t l3 = p->version == 4 ? 20 : 40;
			const uint8_t *th = bufs[i] + l3;
			if ((bufs[i][0] >> 4) == p->version && lens[i] >= l3 + 20 && rd16(th + 2) == PEER_PORT)
				acked |= rd32(th + 8) == p->spec.seq;
		}
	}
	CHECK(acked);
}

/* UDP_SEGMENT from the app: with USO on, TUN hands over one UDP_L4 read. */
static void app_udp_gso(struct peer *p, unsigned offloads)
{
	static const int gso_size = 1000;
	uint8_t msg[8 * 1000 + 300], *bufs[256];
	size_t lens[256], n = 0, done = 0, l3 = p->version == 4 ? 20 : 40;
	struct sockaddr_storage ss;
	struct virtio_net_hdr h = { 0 };
	socklen_t sl = p->version == 4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	uint64_t deadline = now_ms() + 3000;
	int fd = socket(p->version == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = p->version == 4 ? AF_INET : AF_INET6;
	if (p->version == 4)
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, p->spec.src, 4);
	else
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, p->spec.src, 16);
	((struct sockaddr_in *)&ss)->sin_port = htons(PEER_PORT + 1); /* same offset in both */
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 13 + 5);
	CHECK_EQ(setsockopt(fd, SOL_UDP, UDP_SEGMENT, &gso_size, sizeof(gso_size)), 0);
	CHECK_EQ(sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&ss, sl), sizeof(msg));
	for (size_t i = 0; i < 256; i++)
		bufs[i] = seg_store[i];
	while (done < sizeof(msg) && now_ms() < deadline) {
		ssize_t len;
		if (!wait_fd(p->tun, POLLIN, 200) || (len = read(p->tun, rd_buf, sizeof(rd_buf))) <= 0)
			continue;
		memcpy(&h, rd_buf, sizeof(h));
		if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
			p->dumped = 0;
			dump_read(p, "uso", rd_buf, (size_t)len);
		}
		CHECK_EQ(tun_offload_split(rd_buf, (size_t)len, bufs, 256, sizeof(seg_store[0]), 0, lens, &n), 0);
		for (size_t i = 0; i < n; i++) {
			if (bufs[i][l3 == 20 ? 9 : 6] != 17 || rd16(bufs[i] + l3 + 2) != PEER_PORT + 1)
				continue;
			CHECK(ref_checksums_ok(bufs[i], lens[i]));
			CHECK(done + lens[i] - l3 - 8 <= sizeof(msg));
			if (done + lens[i] - l3 - 8 <= sizeof(msg))
				CHECK_MEM(bufs[i] + l3 + 8, msg + done, lens[i] - l3 - 8);
			done += lens[i] - l3 - 8;
		}
	}
	CHECK_EQ(done, sizeof(msg));
	if (offloads & 0x20) /* TUN_F_USO4: one read, the whole send */
		CHECK(h.gso_type == VIRTIO_NET_HDR_GSO_UDP_L4 && h.gso_size == gso_size && n == 9);
	printf("IPv%u UDP_SEGMENT: last read gso_type=%u gso_size=%u hdr_len=%u, %zu datagrams\n", p->version,
	       h.gso_type, h.gso_size, h.hdr_len, n);
	close(fd);
}

static void peer_init(struct peer *p, int tun, uint8_t version)
{
	memset(p, 0, sizeof(*p));
	p->tun = tun;
	p->version = version;
	p->rx = malloc(APP_BYTES);
	spec_default(&p->spec, version);
	/* Our packets go from the peer (.2) to the app (.1). */
	memcpy(p->spec.src, p->spec.dst, sizeof(p->spec.src));
	p->spec.dst[version == 4 ? 3 : 15] = 1;
	p->spec.sport = PEER_PORT;
	p->spec.window = 65535; /* no window scaling offered: 64 KiB in flight */
	p->spec.tsval = 1000;
	p->spec.ip_id = 1;
}

static int app_connect(const struct peer *p)
{
	struct sockaddr_storage ss;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 }; /* close = RST, nothing lingers */
	socklen_t sl;
	int fd = socket(p->version == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	memset(&ss, 0, sizeof(ss));
	if (p->version == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(PEER_PORT);
		memcpy(&sin->sin_addr, p->spec.src, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(PEER_PORT);
		memcpy(&sin6->sin6_addr, p->spec.src, 16);
		sl = sizeof(*sin6);
	}
	CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	CHECK(connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno == EINPROGRESS);
	return fd;
}

static void run_family(int tun, uint8_t version, unsigned offloads)
{
	struct peer p;

	peer_init(&p, tun, version);
	p.app = app_connect(&p);
	if (handshake(&p)) {
		app_to_peer(&p);
		peer_to_app(&p);
		expect_ack(&p);
	}
	printf("IPv%u: SYN vnet flags=%u gso_type=%u csum_start=%u csum_offset=%u hdr_len=%u\n", version,
	       p.syn_hdr.flags, p.syn_hdr.gso_type, p.syn_hdr.csum_start, p.syn_hdr.csum_offset, p.syn_hdr.hdr_len);
	printf("IPv%u: %u reads, %u GSO, up to %u segments; first GSO: flags=%u gso_type=%u gso_size=%u "
	       "hdr_len=%u csum_start=%u csum_offset=%u; %u retransmitted segments\n",
	       version, p.reads, p.gso_reads, p.max_segs, p.first_gso.flags, p.first_gso.gso_type,
	       p.first_gso.gso_size, p.first_gso.hdr_len, p.first_gso.csum_start, p.first_gso.csum_offset,
	       p.retransmits);
	app_udp_gso(&p, offloads);
	close(p.app);
	free(p.rx);
}

/* IPv6 installs an address's local route from a work item that needs the
 * RTNL, after the netlink ACK: until then a packet to the address is
 * dropped, though the app can already send from it. Wait for the route. */
static bool ipv6_local_route_ready(const uint8_t addr[16])
{
	char want[40], line[256];
	uint64_t deadline = now_ms() + 5000;
	bool found = false;

	for (int i = 0; i < 16; i++)
		snprintf(want + 2 * i, 3, "%02x", addr[i]);
	strcat(want, " 80 ");
	while (!found && now_ms() < deadline) {
		FILE *f = fopen("/proc/net/ipv6_route", "r");
		while (f && !found && fgets(line, sizeof(line), f))
			found = strncmp(line, want, strlen(want)) == 0;
		if (f)
			fclose(f);
		if (!found)
			poll(NULL, 0, 20);
	}
	return found;
}

static void setup_link(const char *name)
{
	struct netlink_ctx *nl = NULL;
	const uint8_t a4[4] = { 10, 9, 0, 1 };
	const uint8_t a6[16] = { 0xfd, 0x00, 0x72, 0x6f, 0x61, 0x6d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

	CHECK_EQ(netlink_open(&nl), 0);
	CHECK_EQ(netlink_link_set(nl, "lo", true, 0), 0);
	CHECK_EQ(netlink_link_set(nl, name, true, LINK_MTU), 0);
	CHECK_EQ(netlink_addr_add(nl, name, AF_INET, a4, 24), 0);
	CHECK_EQ(netlink_addr_add(nl, name, AF_INET6, a6, 64), 0);
	CHECK(ipv6_local_route_ready(a6));
	netlink_close(nl);
}

int main(void)
{
	const unsigned tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	char name[IFNAMSIZ], name2[IFNAMSIZ];
	unsigned offloads = 0, offloads_uso = 0;
	int tun = -1, tun2 = -1, r;

	if (geteuid() != 0)
		SKIP("needs root for a network namespace and a TUN device");
	if (unshare(CLONE_NEWNET) < 0)
		SKIP("cannot create a network namespace");
	alarm(120); /* a watchdog over the bounded waits below */
	for (size_t i = 0; i < sizeof(app_data); i++)
		app_data[i] = (uint8_t)(i * 131 + (i >> 9));

	CHECK_EQ(tun_open_flags("x", TUN_OPEN_USO, name, &tun), -EINVAL);
	CHECK_EQ(tun_open_flags("x", 1u << 7, name, &tun), -EOPNOTSUPP);
	r = tun_open_offload("roamo%d", TUN_OPEN_VNET_HDR, name2, &tun2, &offloads);
	if (r == -ENOENT || r == -ENODEV)
		SKIP("no TUN driver");
	CHECK_EQ(r, 0);
	CHECK_EQ(offloads & tso, tso);
	close(tun2);
	CHECK_EQ(tun_open_offload("roamo%d", TUN_OPEN_VNET_HDR | TUN_OPEN_USO, name, &tun, &offloads_uso), 0);
	CHECK_EQ(offloads_uso & tso, tso);
	printf("offloads: TSO asked 0x%x, with USO asked 0x%x\n", offloads, offloads_uso);
	if (tun >= 0) {
		setup_link(name);
		run_family(tun, 4, offloads_uso);
		run_family(tun, 6, offloads_uso);
		close(tun);
	}
	return check_report("test_tun_offload_kernel");
}
