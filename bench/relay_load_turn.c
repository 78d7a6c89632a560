/* relay_load turn: the anchor's fast path. A TURN client allocates a relayed
 * address (RFC 8656 Allocate over UDP; the server runs without
 * authentication, which only skips the long-term credential exchange at
 * set-up), binds channel 0x4000 to a plain UDP peer socket beside it, and
 * sends ChannelData (a 4-byte header, RFC 8656 section 12.4) that the server
 * forwards from the relayed address to the peer: one receive and one send
 * per datagram, as in roam-server's relay. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "bench/relay_load.h"
#include "bench/relay_load_stun.h"
#include "crypto/crypto.h"

/* STUN is big-endian (network order). */
static void be16_put(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void be32_put(uint8_t *p, uint32_t v) { be16_put(p, (uint16_t)(v >> 16)); be16_put(p + 2, (uint16_t)v); }

void stun_begin(struct stun_msg *m, uint16_t type)
{
	be16_put(m->buf, type);
	be16_put(m->buf + 2, 0);
	be32_put(m->buf + 4, STUN_COOKIE);
	crypto_random(m->buf + 8, 12);
	m->len = 20;
}

void stun_attr(struct stun_msg *m, uint16_t type, const uint8_t *val, uint16_t len)
{
	be16_put(m->buf + m->len, type);
	be16_put(m->buf + m->len + 2, len);
	memcpy(m->buf + m->len + 4, val, len);
	m->len += 4 + ((len + 3u) & ~3u);
	be16_put(m->buf + 2, (uint16_t)(m->len - 20));
}

/* XOR-MAPPED-ADDRESS encoding of an IPv4 address (RFC 8489 section 14.2). */
void stun_xor_addr4(uint8_t out[8], const struct sockaddr_any *a)
{
	out[0] = 0;
	out[1] = 1;
	be16_put(out + 2, (uint16_t)(ntohs(a->in4.sin_port) ^ (STUN_COOKIE >> 16)));
	be32_put(out + 4, ntohl(a->in4.sin_addr.s_addr) ^ STUN_COOKIE);
}

int stun_xor_addr4_decode(const uint8_t in[8], struct sockaddr_any *a)
{
	if (in[1] != 1)
		return -EAFNOSUPPORT;
	memset(a, 0, sizeof(*a));
	a->len = sizeof(struct sockaddr_in);
	a->in4.sin_family = AF_INET;
	a->in4.sin_port = htons((uint16_t)(stun_be16(in + 2) ^ (STUN_COOKIE >> 16)));
	a->in4.sin_addr.s_addr = htonl(stun_be32(in + 4) ^ STUN_COOKIE);
	return 0;
}

int stun_answer(const uint8_t *buf, size_t n, const struct stun_msg *req, uint16_t want, uint8_t val[8])
{
	if (n < 20 || memcmp(buf + 8, req->buf + 8, 12) != 0)
		return -EAGAIN; /* not ours */
	if (stun_be16(buf) != (stun_be16(req->buf) | STUN_SUCCESS))
		return -EPERM; /* an error response: e.g. 401, the server wants auth */
	for (size_t off = 20; off + 4 <= n;) {
		uint16_t type = stun_be16(buf + off), len = stun_be16(buf + off + 2);
		if (off + 4 + len > n)
			break;
		if (type == want && len == 8)
			memcpy(val, buf + off + 4, 8);
		off += 4 + ((len + 3u) & ~3u);
	}
	return 0;
}

/* Send the request until a success answer with its transaction id comes;
 * copies attribute want (if non-zero) into val (8 bytes). */
static int stun_transact(int fd, const struct stun_msg *req, uint16_t want, uint8_t val[8])
{
	uint8_t buf[512];

	for (int attempt = 0; attempt < 3; attempt++) {
		if (send(fd, req->buf, req->len, 0) < 0)
			return -errno;
		ssize_t n;
		while ((n = relay_load_recv(fd, buf, sizeof(buf), 1000)) >= 0) {
			int r = stun_answer(buf, (size_t)n, req, want, val);
			if (r != -EAGAIN)
				return r;
		}
	}
	return -ETIMEDOUT;
}

/* The peer: a UDP socket on the client's own address, connected to the
 * relayed address so that only the relay's datagrams count. */
static int peer_socket(int client_fd, const uint8_t relayed[8], struct sockaddr_any *peer)
{
	struct sockaddr_any relay;
	int size = 32 * 1024 * 1024, fd;

	peer->len = sizeof(peer->in6);
	if (getsockname(client_fd, &peer->sa, &peer->len) < 0 || peer->sa.sa_family != AF_INET)
		return -EAFNOSUPPORT;
	peer->in4.sin_port = 0;
	if (stun_xor_addr4_decode(relayed, &relay) < 0)
		return -EAFNOSUPPORT;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	if (bind(fd, &peer->sa, peer->len) < 0 || getsockname(fd, &peer->sa, &peer->len) < 0 ||
	    connect(fd, &relay.sa, relay.len) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int relay_load_turn_setup(const struct relay_load_args *a, struct relay_load_flow *f)
{
	static const uint8_t udp_transport[4] = { IPPROTO_UDP, 0, 0, 0 };
	uint8_t relayed[8] = { 0 }, peer_attr[8], channel[4] = { TURN_CHANNEL >> 8, TURN_CHANNEL & 0xff, 0, 0 };
	struct sockaddr_any server, peer;
	struct stun_msg m;
	int r;

	if (sockaddr_any_parse(a->server, &server) < 0 || server.sa.sa_family != AF_INET)
		return -EINVAL;
	if ((r = f->tx_fd = relay_load_socket(&server)) < 0)
		return r;
	stun_begin(&m, STUN_ALLOCATE);
	stun_attr(&m, ATTR_REQUESTED_TRANSPORT, udp_transport, sizeof(udp_transport));
	if ((r = stun_transact(f->tx_fd, &m, ATTR_XOR_RELAYED_ADDRESS, relayed)) < 0)
		return r;
	if (relayed[1] != 1)
		return -EPROTO;
	if ((r = f->rx_fd = peer_socket(f->tx_fd, relayed, &peer)) < 0)
		return r;
	stun_begin(&m, STUN_CHANNEL_BIND);
	stun_attr(&m, ATTR_CHANNEL_NUMBER, channel, sizeof(channel));
	stun_xor_addr4(peer_attr, &peer);
	stun_attr(&m, ATTR_XOR_PEER_ADDRESS, peer_attr, sizeof(peer_attr));
	if ((r = stun_transact(f->tx_fd, &m, 0, NULL)) < 0)
		return r;
	memset(f->msg, 0, sizeof(f->msg));
	be16_put(f->msg, TURN_CHANNEL);
	be16_put(f->msg + 2, (uint16_t)a->size);
	f->msg[4] = 4; /* the same WireGuard-shaped payload as roam's */
	for (size_t i = 4 + 16; i < sizeof(f->msg); i++)
		f->msg[i] = (uint8_t)(i * 131);
	f->len = 4 + a->size;
	f->rx_len = a->size;
	f->rx_first = 4;
	return 0;
}
