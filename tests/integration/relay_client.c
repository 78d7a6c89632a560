/* relay_client: a hand-made node for t_relay_links.sh that speaks roam-server's
 * relay links (docs/control-protocol.md, "Relay links") over OpenSSL and
 * lib/coord/relay_link.h, with WebSocket frames written by hand so that bad
 * ones can be sent too. Blocking I/O; test code only.
 *
 *   relay_client --server ADDR:PORT --token TOKEN --key FILE --name NAME
 *                --kind tls|ws|poll [--stream] [--dup] CMD...
 *
 * It registers (POST /v1/register), prints "id N", opens the link, prints
 * "ready", then runs each CMD (one argument each, words split by spaces):
 *   send DST COUNT SIZE   COUNT RELAY datagrams to node DST, WireGuard
 *                         transport messages of SIZE bytes (32 + 16 n) with
 *                         a sequence number and a pattern inside
 *   expect COUNT MS       receive until COUNT distinct (source, seq) datagrams
 *                         arrived (or MS passed), and 300 ms more for extras;
 *                         prints "received N dup D bad B"; exit 1 unless
 *                         N == COUNT and D == B == 0
 *   say DST TEXT          one datagram to DST in coord_sim's text shape
 *   expect_text TEXT MS   wait for a datagram in that shape holding TEXT
 *   ping ECHO             RELAY_PING, prints "pong ECHO" when it comes back
 *   raw HEX               one datagram of those bytes on the link
 *   bytes HEX             those bytes as they are on the TLS connection
 *   closed MS             wait for the server to close; prints "closed CODE"
 *                         (WebSocket close code, 0 for TLS); exit 1 if not
 *   postraw HEX           (poll) POST /v1/relay/poll/send with that body;
 *                         prints "status N"
 *   wsframe OP MASKED HEX (ws) one frame as given (MASKED 0: unmasked)
 *   wsbig N               (ws) one masked binary frame of N bytes
 *   hold MS               sleep, reading nothing
 *   idle N                open N more TLS-stream links (each replaces the
 *                         last) and N TLS connections that send nothing
 * --stream: long-poll GETs with stream=1; --dup: long-poll batches carry
 * every record twice and are posted twice (the server drops the copies). */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "coord/auth.h"
#include "coord/json.h"
#include "coord/relay_link.h"
#include "coord/token.h"
#include "crypto/crypto.h"
#include "util/le.h"

#define IN_MAX (1024 * 1024)

struct conn {
	int fd;
	SSL *ssl;
	uint8_t *in;
	size_t in_len;
};

static struct {
	const char *server, *name, *kind;
	char host[128], port[16];
	struct coord_token token;
	uint8_t priv[COORD_KEY_LEN], pub[COORD_KEY_LEN], k[COORD_KEY_LEN];
	uint32_t id;
	bool stream, dup;
	SSL_CTX *ctx;
	struct conn link, post;
	char session[64];
	uint64_t up_seq, down_ack;
	/* what expect saw */
	uint8_t seen[8192];
	int ws_close;
} g;

static void die(const char *what)
{
	fprintf(stderr, "relay_client: %s\n", what);
	exit(2);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int conn_open(struct conn *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (getaddrinfo(g.host, g.port, &hints, &ai) != 0)
		return -1;
	c->fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	c->ssl = SSL_new(g.ctx);
	c->in = malloc(IN_MAX);
	if (!c->ssl || !c->in || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1)
		return -1;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static int conn_write(struct conn *c, const void *d, size_t n)
{
	return n == 0 || SSL_write(c->ssl, d, (int)n) == (int)n ? 0 : -1;
}

/* More bytes in, waiting at most until deadline: 1, 0 timeout, -1 closed. */
static int conn_fill(struct conn *c, int64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int n;

	if (c->in_len == IN_MAX)
		die("input buffer full");
	if (!SSL_pending(c->ssl)) {
		int64_t left = deadline - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return 0;
	}
	n = SSL_read(c->ssl, c->in + c->in_len, (int)(IN_MAX - c->in_len));
	if (n <= 0)
		return -1;
	c->in_len += (size_t)n;
	return 1;
}

static int conn_need(struct conn *c, size_t n, int64_t deadline)
{
	int r;
	while (c->in_len < n)
		if ((r = conn_fill(c, deadline)) <= 0)
			return r;
	return 1;
}

static void conn_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* The response head: status, Content-Length (-1: none), chunked. */
static int http_head(struct conn *c, int64_t deadline, int *status, long *clen, bool *chunked)
{
	char *end, *p;
	int r;

	for (;;) {
		if (c->in_len >= 4 && (end = memmem(c->in, c->in_len, "\r\n\r\n", 4)))
			break;
		if ((r = conn_fill(c, deadline)) <= 0)
			return r < 0 ? -1 : 0;
	}
	*end = '\0';
	*clen = -1;
	*chunked = false;
	if (sscanf((char *)c->in, "HTTP/1.%*d %d", status) != 1)
		return -1;
	for (p = strstr((char *)c->in, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			*clen = strtol(p + 17, NULL, 10);
		if (strncasecmp(p + 2, "Transfer-Encoding: chunked", 26) == 0)
			*chunked = true;
	}
	conn_consume(c, (size_t)(end + 4 - (char *)c->in));
	return 1;
}

/* One chunk's data appended to out (size *n); 0 at the last chunk. */
static int http_chunk(struct conn *c, int64_t deadline, uint8_t *out, size_t *n, size_t cap)
{
	char *crlf;
	size_t len;

	while (!(c->in_len && (crlf = memmem(c->in, c->in_len, "\r\n", 2))))
		if (conn_fill(c, deadline) <= 0)
			return -1;
	len = strtoul((char *)c->in, NULL, 16);
	conn_consume(c, (size_t)(crlf + 2 - (char *)c->in));
	if (conn_need(c, len + 2, deadline) <= 0 || *n + len > cap)
		return -1;
	memcpy(out + *n, c->in, len);
	*n += len;
	conn_consume(c, len + 2);
	return len ? 1 : 0;
}

static int http_body(struct conn *c, int64_t deadline, long clen, bool chunked, uint8_t *out, size_t *n, size_t cap)
{
	int r;

	*n = 0;
	if (chunked) {
		while ((r = http_chunk(c, deadline, out, n, cap)) > 0)
			;
		return r;
	}
	if (clen <= 0)
		return 0; /* 204, or no body */
	if ((size_t)clen > cap || conn_need(c, (size_t)clen, deadline) <= 0)
		return -1;
	memcpy(out, c->in, (size_t)clen);
	*n = (size_t)clen;
	conn_consume(c, (size_t)clen);
	return 0;
}

/* A request with Roam-Auth (auth) or Roam-Session, and extra headers. */
static int http_request(struct conn *c, const char *method, const char *target, bool auth, const char *extra,
			const uint8_t *body, size_t len)
{
	char head[2048], hdr[COORD_AUTH_HEADER_MAX];
	uint8_t nonce[COORD_AUTH_NONCE_LEN];

	crypto_random(nonce, sizeof(nonce));
	if (auth && coord_auth_build(hdr, sizeof(hdr), g.k, g.pub, method, target, (int64_t)time(NULL), nonce, body,
				     len) < 0)
		return -1;
	snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%s%s%s%sContent-Length: %zu\r\n\r\n", method,
		 target, g.server, auth ? "Roam-Auth: " : "", auth ? hdr : "", auth ? "\r\n" : "",
		 g.session[0] && !auth ? "Roam-Session: " : "", g.session[0] && !auth ? g.session : "",
		 g.session[0] && !auth ? "\r\n" : "", len);
	if (extra)
		snprintf(head + strlen(head) - 2, sizeof(head) - strlen(head) + 2, "%s\r\n\r\n", extra);
	if (conn_write(c, head, strlen(head)) < 0 || conn_write(c, body, len) < 0)
		return -1;
	return 0;
}

static int http_simple(struct conn *c, const char *method, const char *target, bool auth, const char *extra,
		       const uint8_t *body, size_t len, uint8_t *out, size_t *n, size_t cap)
{
	int64_t deadline = now_ms() + 30000;
	int status;
	long clen;
	bool chunked;

	if (http_request(c, method, target, auth, extra, body, len) < 0 ||
	    http_head(c, deadline, &status, &clen, &chunked) <= 0 ||
	    http_body(c, deadline, clen, chunked, out, n, cap) < 0)
		return -1;
	out[*n < cap ? *n : cap - 1] = 0;
	return status;
}

static void do_register(void)
{
	struct coord_register_req req;
	struct coord_node doc;
	static uint8_t out[65536];
	size_t n;
	char *body;
	int st;

	memset(&req, 0, sizeof(req));
	snprintf(req.name, sizeof(req.name), "%s", g.name);
	req.has_preauth_key = !crypto_is_zero(g.token.preauth_key, COORD_PREAUTH_KEY_LEN);
	memcpy(req.preauth_key, g.token.preauth_key, COORD_PREAUTH_KEY_LEN);
	req.port = 51820;
	if (!(body = coord_register_req_to_json(&req)) || conn_open(&g.link) < 0)
		die("register: connect");
	st = http_simple(&g.link, "POST", "/v1/register", true, NULL, (uint8_t *)body, strlen(body), out, &n,
			 sizeof(out));
	free(body);
	if (st != 200 || coord_node_parse((char *)out, n, &doc) < 0)
		die("register failed");
	g.id = doc.node_id;
	printf("id %u\n", g.id);
	conn_close(&g.link);
}

/* WebSocket frames, client side: masked (unless told not to). */
static int ws_frame(struct conn *c, uint8_t opcode, const uint8_t *d, size_t len, bool masked)
{
	uint8_t h[14], mask[4];
	size_t hl = 2;
	uint8_t *buf = malloc(len + sizeof(h));
	int r;

	if (!buf)
		return -1;
	h[0] = 0x80 | opcode;
	if (len < 126) {
		h[1] = (uint8_t)len;
	} else if (len < 65536) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	if (masked) {
		h[1] |= 0x80;
		crypto_random(mask, sizeof(mask));
		memcpy(h + hl, mask, 4);
		hl += 4;
	}
	memcpy(buf, h, hl);
	for (size_t i = 0; i < len; i++)
		buf[hl + i] = masked ? d[i] ^ mask[i % 4] : d[i];
	r = conn_write(c, buf, hl + len);
	free(buf);
	return r;
}

static void upgrade(const char *kind)
{
	static uint8_t out[4096];
	char extra[512];
	size_t n;
	int st;

	if (strcmp(kind, "ws") == 0) {
		uint8_t key[16];
		char key64[32];
		crypto_random(key, sizeof(key));
		coord_b64_encode(key64, sizeof(key64), key, sizeof(key), 0);
		snprintf(extra, sizeof(extra),
			 "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: %s\r\n"
			 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: roam-relay.v1",
			 key64);
	} else {
		snprintf(extra, sizeof(extra), "Connection: Upgrade\r\nUpgrade: roam-relay/1");
	}
	if (conn_open(&g.link) < 0 || http_request(&g.link, "GET", "/v1/relay", true, extra, NULL, 0) < 0)
		die("upgrade: connect");
	int64_t deadline = now_ms() + 10000;
	long clen;
	bool chunked;
	if (http_head(&g.link, deadline, &st, &clen, &chunked) <= 0)
		die("upgrade: no answer");
	if (st != 101) {
		http_body(&g.link, deadline, clen, chunked, out, &n, sizeof(out) - 1);
		out[n] = 0;
		fprintf(stderr, "relay_client: upgrade refused: %d %s\n", st, out);
		exit(3);
	}
}

static void open_link(void)
{
	static uint8_t out[4096];
	size_t n;

	if (strcmp(g.kind, "poll") != 0) {
		upgrade(g.kind);
		return;
	}
	if (conn_open(&g.post) < 0 || conn_open(&g.link) < 0)
		die("poll: connect");
	if (http_simple(&g.post, "POST", "/v1/relay/poll", true, NULL, NULL, 0, out, &n, sizeof(out)) != 200)
		die("poll: no session");
	char *s = strstr((char *)out, "\"session\":\"");
	if (!s || sscanf(s + 11, "%63[^\"]", g.session) != 1)
		die("poll: no session id");
}

static int link_send(const uint8_t *d, size_t len)
{
	static uint8_t body[2 * RELAY_POLL_BATCH_MAX], out[4096];
	size_t n = 0, got;

	if (strcmp(g.kind, "tls") == 0) {
		uint8_t hdr[2];
		relay_frame_header(hdr, len);
		return conn_write(&g.link, hdr, 2) < 0 || conn_write(&g.link, d, len) < 0 ? -1 : 0;
	}
	if (strcmp(g.kind, "ws") == 0)
		return ws_frame(&g.link, 2, d, len, true);
	g.up_seq++;
	n += relay_poll_record_write(body + n, sizeof(body) - n, g.up_seq, d, len);
	if (g.dup)
		n += relay_poll_record_write(body + n, sizeof(body) - n, g.up_seq, d, len);
	for (int i = 0; i < (g.dup ? 2 : 1); i++) {
		int st = http_simple(&g.post, "POST", "/v1/relay/poll/send", false, NULL, body, n, out, &got, sizeof(out));
		if (st != 204) {
			fprintf(stderr, "relay_client: poll send: status %d %s\n", st, st > 0 ? (char *)out : "");
			return -1;
		}
	}
	return 0;
}

/* One datagram from the link into d: its length, 0 on timeout, -1 closed. */
static int poll_recv(uint8_t *d, int64_t deadline);

static int link_recv(uint8_t *d, int64_t deadline)
{
	struct conn *c = &g.link;
	int r;

	if (strcmp(g.kind, "poll") == 0)
		return poll_recv(d, deadline);
	if (strcmp(g.kind, "tls") == 0) {
		if ((r = conn_need(c, 2, deadline)) <= 0)
			return r;
		size_t len = le16_get(c->in);
		if ((r = conn_need(c, 2 + len, deadline)) <= 0)
			return r;
		memcpy(d, c->in + 2, len);
		conn_consume(c, 2 + len);
		return (int)len;
	}
	for (;;) {
		if ((r = conn_need(c, 2, deadline)) <= 0)
			return r;
		uint8_t op = c->in[0] & 0x0f;
		size_t len = c->in[1] & 0x7f, hl = 2;
		if (len == 126) {
			if ((r = conn_need(c, 4, deadline)) <= 0)
				return r;
			len = (size_t)c->in[2] << 8 | c->in[3];
			hl = 4;
		} else if (len == 127) {
			die("ws: 64-bit frame from the server");
		}
		if ((r = conn_need(c, hl + len, deadline)) <= 0)
			return r;
		memcpy(d, c->in + hl, len);
		conn_consume(c, hl + len);
		if (op == 8) {
			g.ws_close = len >= 2 ? d[0] << 8 | d[1] : 1005;
			return -1;
		}
		if (op == 9)
			ws_frame(c, 10, d, len, true);
		if (op == 2)
			return (int)len;
	}
}

/* Records not yet handed out, from the last GET reply. */
static uint8_t g_recs[2 * 1024 * 1024];
static size_t g_recs_len, g_recs_off;
static bool g_stream_open;

static int poll_take(uint8_t *d)
{
	while (g_recs_len - g_recs_off >= RELAY_POLL_REC_HDR_LEN) {
		uint64_t seq = le64_get(g_recs + g_recs_off);
		size_t len = le16_get(g_recs + g_recs_off + 8);
		if (g_recs_len - g_recs_off < RELAY_POLL_REC_HDR_LEN + len)
			return 0; /* stream: the rest comes in the next chunk */
		memcpy(d, g_recs + g_recs_off + RELAY_POLL_REC_HDR_LEN, len);
		g_recs_off += RELAY_POLL_REC_HDR_LEN + len;
		if (seq == 0)
			continue; /* keepalive record */
		if (seq <= g.down_ack)
			continue; /* a resend of what we have */
		if (seq != g.down_ack + 1)
			die("poll: a gap in the server's seqs");
		g.down_ack = seq;
		return (int)len;
	}
	return 0;
}

static int poll_recv(uint8_t *d, int64_t deadline)
{
	char target[128];
	int st, r;
	long clen;
	bool chunked;

	for (;;) {
		if ((r = poll_take(d)) > 0)
			return r;
		if (g_recs_off == g_recs_len)
			g_recs_len = g_recs_off = 0;
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		if (g_stream_open) {
			if ((r = http_chunk(&g.link, deadline, g_recs, &g_recs_len, sizeof(g_recs))) < 0)
				return now_ms() >= deadline ? 0 : -1;
			if (r == 0)
				g_stream_open = false;
			continue;
		}
		snprintf(target, sizeof(target), "/v1/relay/poll?ack=%llu&stream=%d&wait=%lld",
			 (unsigned long long)g.down_ack, g.stream ? 1 : 0, (long long)(left < 25000 ? left : 25000));
		if (http_request(&g.link, "GET", target, false, NULL, NULL, 0) < 0 ||
		    http_head(&g.link, now_ms() + 30000, &st, &clen, &chunked) <= 0 || st != 200)
			return -1;
		if (g.stream && chunked) {
			g_stream_open = true;
			continue;
		}
		if (http_body(&g.link, now_ms() + 30000, clen, chunked, g_recs + g_recs_len, &g_recs_len,
			      sizeof(g_recs) - g_recs_len) < 0)
			return -1;
	}
}

static void make_dgram(uint8_t *d, uint32_t dst, uint64_t seq, size_t size)
{
	memset(d, 0, 8);
	d[0] = COORD_MSG_RELAY;
	le32_put(d + 4, dst);
	d[8] = 4; /* WireGuard transport data */
	memset(d + 9, 0, 3);
	le64_put(d + 16, seq);
	for (size_t i = 24; i < 8 + size; i++)
		d[i] = (uint8_t)(seq * 7 + i);
}

static bool check_dgram(const uint8_t *d, size_t len, uint64_t *seq)
{
	if (len < 8 + 32 || d[0] != COORD_MSG_RELAY || d[8] != 4)
		return false;
	*seq = le64_get(d + 16);
	if (*seq == 0 || *seq >= 1000)
		return false;
	for (size_t i = 24; i < len; i++)
		if (d[i] != (uint8_t)(*seq * 7 + i))
			return false;
	return true;
}

static size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (hex[0] && hex[1] && n < cap && sscanf(hex, "%2x", &v) == 1) {
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

static int run_cmd(char *cmd)
{
	static uint8_t d[RELAY_LINK_DGRAM_MAX + 16], out[4096];
	char op[16] = "";
	unsigned long long a = 0, b = 0, c = 0;
	char hex[8192] = "";

	sscanf(cmd, "%15s", op);
	if (strcmp(op, "send") == 0 && sscanf(cmd, "%*s %llu %llu %llu", &a, &b, &c) == 3) {
		for (uint64_t i = 1; i <= b; i++) {
			make_dgram(d, (uint32_t)a, i, c);
			if (link_send(d, 8 + c) < 0)
				die("send failed");
		}
		printf("sent %llu\n", b);
	} else if (strcmp(op, "expect") == 0 && sscanf(cmd, "%*s %llu %llu", &a, &b) == 2) {
		int64_t deadline = now_ms() + (int64_t)b;
		unsigned long got = 0, dup = 0, bad = 0;
		uint64_t seq;
		int r;
		bool extra = false;
		memset(g.seen, 0, sizeof(g.seen));
		for (;;) {
			if (got >= a && !extra) {
				extra = true; /* anything more is one too many */
				deadline = now_ms() + 300;
			}
			if ((r = link_recv(d, deadline)) <= 0)
				break;
			if (d[0] != COORD_MSG_RELAY)
				continue; /* keepalive, pong */
			/* (source, seq): sources are small ids, seqs < 1000 */
			size_t key = (size_t)le32_get(d + 4) * 1000 + (size_t)le64_get(d + 16);
			if (!check_dgram(d, (size_t)r, &seq) || key >= sizeof(g.seen) * 8)
				bad++;
			else if (g.seen[key / 8] & (1 << (key % 8)))
				dup++;
			else {
				g.seen[key / 8] |= (uint8_t)(1 << (key % 8));
				got++;
			}
		}
		printf("received %lu dup %lu bad %lu\n", got, dup, bad);
		return got == a && !dup && !bad ? 0 : 1;
	} else if (strcmp(op, "ping") == 0 && sscanf(cmd, "%*s %llu", &a) == 1) {
		uint8_t type;
		uint64_t echo;
		int r;
		relay_ping_build(d, COORD_MSG_RELAY_PING, a);
		if (link_send(d, 12) < 0)
			die("ping failed");
		int64_t deadline = now_ms() + 5000;
		while ((r = link_recv(d, deadline)) > 0) {
			if (relay_ping_parse(d, (size_t)r, &type, &echo) == 0 && type == COORD_MSG_RELAY_PONG) {
				printf("pong %llu\n", (unsigned long long)echo);
				return echo == a ? 0 : 1;
			}
		}
		printf("no pong\n");
		return 1;
	} else if (strcmp(op, "raw") == 0 && sscanf(cmd, "%*s %8191s", hex) == 1) {
		size_t n = hex_decode(hex, d, sizeof(d));
		if (link_send(d, n) < 0)
			die("raw send failed");
	} else if (strcmp(op, "bytes") == 0 && sscanf(cmd, "%*s %8191s", hex) == 1) {
		size_t n = hex_decode(hex, d, sizeof(d));
		if (conn_write(&g.link, d, n) < 0)
			die("bytes send failed");
	} else if (strcmp(op, "closed") == 0 && sscanf(cmd, "%*s %llu", &a) == 1) {
		int64_t deadline = now_ms() + (int64_t)a;
		int r;
		while ((r = link_recv(d, deadline)) > 0)
			;
		printf("closed %d\n", r < 0 ? g.ws_close : -1);
		return r < 0 ? 0 : 1;
	} else if (strcmp(op, "postraw") == 0 && sscanf(cmd, "%*s %8191s", hex) == 1) {
		size_t n = hex_decode(hex, d, sizeof(d)), got;
		printf("status %d\n",
		       http_simple(&g.post, "POST", "/v1/relay/poll/send", false, NULL, d, n, out, &got, sizeof(out)));
	} else if (strcmp(op, "say") == 0 && sscanf(cmd, "%*s %llu %255s", &a, hex) == 2) {
		/* coord_sim's shape: type 4, a 16-byte header, the text padded */
		size_t tl = strlen(hex), len = 8 + 32 + (tl + 15) / 16 * 16;
		memset(d, 0, len);
		d[0] = COORD_MSG_RELAY;
		le32_put(d + 4, (uint32_t)a);
		d[8] = 4;
		memcpy(d + 24, hex, tl);
		if (link_send(d, len) < 0)
			die("say failed");
	} else if (strcmp(op, "expect_text") == 0 && sscanf(cmd, "%*s %255s %llu", hex, &a) == 2) {
		int64_t deadline = now_ms() + (int64_t)a;
		int r;
		while ((r = link_recv(d, deadline)) > 0) {
			if (r > 24 && d[0] == COORD_MSG_RELAY && memmem(d + 24, (size_t)r - 24, hex, strlen(hex))) {
				printf("text from %u %s\n", le32_get(d + 4), hex);
				return 0;
			}
		}
		printf("no text %s\n", hex);
		return 1;
	} else if (strcmp(op, "wsframe") == 0 && sscanf(cmd, "%*s %llu %llu %8191s", &a, &b, hex) == 3) {
		size_t n = hex_decode(hex, d, sizeof(d));
		if (ws_frame(&g.link, (uint8_t)a, d, n, b != 0) < 0)
			die("wsframe failed");
	} else if (strcmp(op, "wsbig") == 0 && sscanf(cmd, "%*s %llu", &a) == 1) {
		uint8_t *big = calloc(1, a);
		if (!big)
			die("wsbig: out of memory");
		ws_frame(&g.link, 2, big, a, true); /* the server may close before the end */
		free(big);
	} else if (strcmp(op, "hold") == 0 && sscanf(cmd, "%*s %llu", &a) == 1) {
		usleep((useconds_t)(a * 1000));
	} else if (strcmp(op, "idle") == 0 && sscanf(cmd, "%*s %llu", &a) == 1) {
		static struct conn extra[1024];
		for (unsigned long long i = 0; i < a && i < 512; i++) {
			struct conn keep = g.link;
			upgrade("tls");
			extra[2 * i] = g.link;
			g.link = keep;
			if (conn_open(&extra[2 * i + 1]) < 0)
				die("idle: connect");
		}
		printf("idle %llu\n", a);
	} else {
		fprintf(stderr, "relay_client: bad command: %s\n", cmd);
		return 2;
	}
	fflush(stdout);
	return 0;
}

static void load_key(const char *file)
{
	char text[128] = "";
	FILE *f = fopen(file, "re");
	size_t len;

	if (!f)
		die("cannot read the key file");
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (coord_b64_decode(g.priv, COORD_KEY_LEN, text, len, 0) < 0 || x25519_public(g.pub, g.priv) < 0 ||
	    coord_control_key(g.k, g.priv, g.token.server_pub) < 0)
		die("bad key");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' }, { "token", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },    { "name", required_argument, NULL, 'n' },
		{ "kind", required_argument, NULL, 'K' },   { "stream", no_argument, NULL, 'S' },
		{ "dup", no_argument, NULL, 'D' },          { NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *token = NULL;
	int o, rc = 0;

	g.kind = "tls";
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': g.server = optarg; break;
		case 't': token = optarg; break;
		case 'k': key = optarg; break;
		case 'n': g.name = optarg; break;
		case 'K': g.kind = optarg; break;
		case 'S': g.stream = true; break;
		case 'D': g.dup = true; break;
		default: die("usage: see the top of relay_client.c");
		}
	}
	if (!g.server || !token || !key || !g.name || coord_token_decode(token, &g.token) < 0 ||
	    sscanf(g.server, "%127[^:]:%15s", g.host, g.port) != 2)
		die("usage: see the top of relay_client.c");
	load_key(key);
	if (!(g.ctx = SSL_CTX_new(TLS_client_method())))
		die("TLS");
	SSL_CTX_set_verify(g.ctx, SSL_VERIFY_NONE, NULL); /* a test tool: the lab's server only */
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN); /* a write to a closed link fails, it does not kill us */
	do_register();
	open_link();
	printf("ready\n");
	for (int i = optind; i < argc && rc == 0; i++)
		rc = run_cmd(argv[i]);
	return rc;
}
