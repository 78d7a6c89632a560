/* relay_load turn-tls: the anchor for the relay links. Two TURN clients,
 * each over its own TLS connection to the server (RFC 8656 section 3.1),
 * allocate and bind channel 0x4000 to each other's relayed address; A then
 * writes ChannelData of --size bytes as fast as TLS takes them (TCP's flow
 * control paces it, as it paces a relay link) for --seconds, and B counts
 * what arrives. The server carries each message TLS -> its UDP relay -> TLS,
 * as roam-server carries a datagram from one node's TLS link to another's.
 * Last line: "result mbps=M msgs=N cpu=C" (payload bits, relay CPU). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/relay_load.h"
#include "bench/relay_load_stun.h"

#define TLS_BATCH 32

struct turn_tls {
	int fd;
	SSL *ssl;
	uint8_t relayed[8]; /* XOR-RELAYED-ADDRESS */
};

struct tls_sender {
	struct turn_tls *t;
	uint8_t *batch;
	size_t batch_len;
	uint64_t end_ns;
	atomic_ullong sent;
};

static int tls_write_all(SSL *ssl, const uint8_t *p, size_t n)
{
	while (n) {
		int w = SSL_write(ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		if (w <= 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int tls_read_all(SSL *ssl, uint8_t *p, size_t n)
{
	while (n) {
		int r = SSL_read(ssl, p, (int)n);
		if (r <= 0)
			return -EIO;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* A request and its answer on the stream (STUN over TCP is self-framing:
 * a 20-byte header with the attributes' length). */
static int tls_transact(struct turn_tls *t, const struct stun_msg *req, uint16_t want, uint8_t val[8])
{
	uint8_t buf[512];
	int r;

	if (tls_write_all(t->ssl, req->buf, req->len) < 0)
		return -EIO;
	do {
		if (tls_read_all(t->ssl, buf, 20) < 0)
			return -EIO;
		size_t len = stun_be16(buf + 2);
		if (20 + len > sizeof(buf) || tls_read_all(t->ssl, buf + 20, len) < 0)
			return -EPROTO;
		r = stun_answer(buf, 20 + len, req, want, val);
	} while (r == -EAGAIN);
	return r;
}

static int tls_allocate(SSL_CTX *ctx, const struct sockaddr_any *server, struct turn_tls *t)
{
	static const uint8_t udp_transport[4] = { IPPROTO_UDP, 0, 0, 0 };
	struct stun_msg m;
	int one = 1;

	if ((t->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(t->fd, &server->sa, server->len) < 0)
		return -errno;
	if (!(t->ssl = SSL_new(ctx)) || SSL_set_fd(t->ssl, t->fd) != 1 || SSL_connect(t->ssl) != 1)
		return -EPROTO;
	stun_begin(&m, STUN_ALLOCATE);
	stun_attr(&m, ATTR_REQUESTED_TRANSPORT, udp_transport, sizeof(udp_transport));
	return tls_transact(t, &m, ATTR_XOR_RELAYED_ADDRESS, t->relayed);
}

static int tls_channel_bind(struct turn_tls *t, const uint8_t peer_relayed[8])
{
	static const uint8_t channel[4] = { TURN_CHANNEL >> 8, TURN_CHANNEL & 0xff, 0, 0 };
	struct stun_msg m;

	stun_begin(&m, STUN_CHANNEL_BIND);
	stun_attr(&m, ATTR_CHANNEL_NUMBER, channel, sizeof(channel));
	stun_attr(&m, ATTR_XOR_PEER_ADDRESS, peer_relayed, 8);
	return tls_transact(t, &m, 0, NULL);
}

static void *sender_main(void *arg)
{
	struct tls_sender *s = arg;

	while (relay_load_mono_ns() < s->end_ns) {
		if (tls_write_all(s->t->ssl, s->batch, s->batch_len) < 0)
			break;
		atomic_fetch_add(&s->sent, TLS_BATCH);
	}
	return NULL;
}

/* Count whole ChannelData messages of size bytes (padded to 4 over a
 * stream, RFC 8656 section 12.5) until the deadline. */
static uint64_t receive_count(struct turn_tls *t, size_t size, uint64_t end_ns)
{
	static uint8_t buf[1 << 18];
	size_t have = 0;
	uint64_t msgs = 0;
	struct timeval tv = { .tv_usec = 100000 };

	setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (relay_load_mono_ns() < end_ns) {
		int r = SSL_read(t->ssl, buf + have, (int)(sizeof(buf) - have));
		if (r <= 0) {
			if (SSL_get_error(t->ssl, r) == SSL_ERROR_WANT_READ || errno == EAGAIN)
				continue;
			break;
		}
		have += (size_t)r;
		size_t off = 0;
		while (have - off >= 4) {
			size_t len = stun_be16(buf + off + 2);
			size_t total = stun_be16(buf + off) >= TURN_CHANNEL ? 4 + ((len + 3) & ~(size_t)3) : 20 + len;
			if (have - off < total)
				break;
			msgs += stun_be16(buf + off) >= TURN_CHANNEL && len == size;
			off += total;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	return msgs;
}

int relay_load_turn_tls_main(const struct relay_load_args *a)
{
	struct turn_tls ta = { .fd = -1 }, tb = { .fd = -1 };
	struct tls_sender snd = { .t = &ta };
	struct sockaddr_any server;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	uint64_t t0, msgs, cpu0;
	size_t rec = 4 + ((a->size + 3) & ~(size_t)3);
	pthread_t th;
	int r = -EINVAL;

	if (!ctx || sockaddr_any_parse(a->server, &server) < 0 || server.sa.sa_family != AF_INET)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* the anchor's own self-signed certificate */
	if ((r = tls_allocate(ctx, &server, &ta)) < 0 || (r = tls_allocate(ctx, &server, &tb)) < 0 ||
	    (r = tls_channel_bind(&ta, tb.relayed)) < 0 || (r = tls_channel_bind(&tb, ta.relayed)) < 0)
		goto out;
	snd.batch_len = rec * TLS_BATCH;
	if (!(snd.batch = calloc(TLS_BATCH, rec))) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < TLS_BATCH; i++) {
		uint8_t *m = snd.batch + i * rec;
		m[0] = TURN_CHANNEL >> 8;
		m[1] = TURN_CHANNEL & 0xff;
		m[2] = (uint8_t)(a->size >> 8);
		m[3] = (uint8_t)a->size;
		m[4] = 4;
	}
	cpu0 = relay_load_cpu_ns(a->pid);
	t0 = relay_load_mono_ns();
	snd.end_ns = t0 + (uint64_t)(a->seconds * 1e9);
	atomic_init(&snd.sent, 0);
	if (pthread_create(&th, NULL, sender_main, &snd) != 0) {
		r = -EAGAIN;
		goto out;
	}
	msgs = receive_count(&tb, a->size, snd.end_ns + 300000000u);
	double secs = (double)(relay_load_mono_ns() - t0) / 1e9, used = (double)(relay_load_cpu_ns(a->pid) - cpu0) / 1e9;
	shutdown(ta.fd, SHUT_RDWR); /* a sender blocked in SSL_write returns */
	pthread_join(th, NULL);
	printf("result mbps=%.1f msgs=%llu sent=%llu cpu=%.3f\n", (double)msgs * (double)a->size * 8 / secs / 1e6,
	       (unsigned long long)msgs, (unsigned long long)atomic_load(&snd.sent), used / secs);
	r = msgs ? 0 : -EIO;
out:
	free(snd.batch);
	SSL_free(ta.ssl);
	SSL_free(tb.ssl);
	if (ta.fd >= 0)
		close(ta.fd);
	if (tb.fd >= 0)
		close(tb.fd);
	SSL_CTX_free(ctx);
	return r;
}
