/* TLS stream and WebSocket relay links: the connection (link_stream.h).
 *
 * libcurl and CONNECT_ONLY: curl_easy_send/recv find the connection
 * through the multi handle that made it, and removing the handle from
 * its multi closes the connection (libcurl 7.88, multi.c), so each link
 * keeps a multi of its own (daemon/curl_ev.h) for its whole life; once
 * connected it is detached and our own watcher reads and writes. */
#include <curl/curl.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/relay_link.h"
#include "daemon/curl_ev.h"
#include "daemon/relaylink/link_stream.h"
#include "daemon/relaylink/relaylink_internal.h"
#include "daemon/relaylink/upgrade_head.h"
#include "util/log.h"

#define HEAD_MAX UPGRADE_HEAD_MAX /* the server's 101 and its headers */
#define READ_CHUNK 16384 /* SSL_read returns at most a record */
#define READ_BUDGET (1024 * 1024) /* bytes per wakeup; more next turn */
#define CONNECT_TIMEOUT_MS 10000
#define OUT_CAP (RL_OUT_MAX + 2 * RELAY_LINK_DGRAM_MAX)

enum stream_state {
	ST_CONNECTING, /* libcurl: TCP, proxy, TLS */
	ST_UPGRADING,  /* our request sent, waiting for the 101 */
	ST_UP,
	ST_FAILED,
};

struct rl_link {
	struct relaylink *rl;
	enum managed_relay_link kind;
	enum stream_state state;
	struct curl_ev ce; /* connecting; detached once connected */
	CURL *easy;
	int fd;
	struct ev_io io;
	uint32_t io_events;
	struct ev_timer more; /* the read budget ran out: go on next turn */
	uint8_t *out;         /* OUT_CAP bytes, never moved while a write waits */
	size_t out_off, out_len;
	bool write_waits;     /* libcurl/OpenSSL must be called again with the same bytes */
	char head[HEAD_MAX];
	size_t head_len;
	struct relay_frame_reader reader; /* TLS */
	uint8_t *frame_buf;
	struct rl_ws *ws; /* WebSocket */
	char ws_key[25];
	uint8_t nonce[COORD_AUTH_NONCE_LEN]; /* of the Upgrade's Roam-Auth (the 101's proof) */
};

struct rl_stream; /* = struct rl_link, for link_ws.c */

static void fail(struct rl_link *l, int err)
{
	if (l->state == ST_FAILED)
		return;
	l->state = ST_FAILED;
	if (l->fd >= 0)
		ev_io_stop(relaylink_loop(l->rl), &l->io);
	relaylink_on_failed(l->rl, l->kind, err);
}

/* --- the byte stream ---------------------------------------------------- */

static void want_write(struct rl_link *l, bool on)
{
	uint32_t ev = EPOLLIN | (on ? EPOLLOUT : 0);
	if (l->fd < 0 || l->state == ST_FAILED || ev == l->io_events)
		return;
	l->io_events = ev;
	ev_io_modify(relaylink_loop(l->rl), &l->io, ev);
}

static void flush_out(struct rl_link *l)
{
	while (l->state != ST_FAILED && l->state != ST_CONNECTING && l->out_off < l->out_len) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(l->easy, l->out + l->out_off, l->out_len - l->out_off, &n);
		if (rc == CURLE_AGAIN) {
			l->write_waits = true;
			want_write(l, true);
			return;
		}
		if (rc != CURLE_OK) {
			fail(l, -EPIPE);
			return;
		}
		l->write_waits = false;
		l->out_off += n;
	}
	if (l->out_off == l->out_len)
		l->out_off = l->out_len = 0;
	want_write(l, false);
}

size_t rl_stream_out_room(const struct rl_stream *s)
{
	const struct rl_link *l = (const struct rl_link *)s;
	size_t held = l->out_len - l->out_off;
	return held >= RL_OUT_MAX ? 0 : RL_OUT_MAX - held;
}

bool rl_stream_write2(struct rl_stream *s, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	struct rl_link *l = (struct rl_link *)s;
	size_t len = alen + blen;
	if (l->state == ST_FAILED || len > rl_stream_out_room(s))
		return false;
	if (l->out_len + len > OUT_CAP) {
		/* Room only by moving what waits to the front, which a write
		 * that must be repeated with the same bytes forbids. */
		if (l->write_waits)
			return false;
		memmove(l->out, l->out + l->out_off, l->out_len - l->out_off);
		l->out_len -= l->out_off;
		l->out_off = 0;
	}
	if (alen)
		memcpy(l->out + l->out_len, a, alen);
	if (blen)
		memcpy(l->out + l->out_len + alen, b, blen);
	l->out_len += len;
	return true;
}

bool rl_stream_write(struct rl_stream *s, const uint8_t *d, size_t len)
{
	return rl_stream_write2(s, d, len, NULL, 0);
}

static int on_frame(void *ctx, uint8_t *d, size_t len)
{
	struct rl_link *l = ctx;
	relaylink_on_rx(l->rl, l->kind, d, len);
	return 0;
}

void rl_stream_ws_message(struct rl_stream *s, const uint8_t *d, size_t len)
{
	struct rl_link *l = (struct rl_link *)s;
	relaylink_on_rx(l->rl, l->kind, d, len);
}

static int framing_input(struct rl_link *l, const uint8_t *in, size_t n)
{
	if (!n)
		return 0;
	if (l->ws)
		return rl_ws_input(l->ws, in, n);
	ssize_t r = relay_frame_feed(&l->reader, in, n, on_frame, l);
	return r < 0 ? (int)r : 0;
}

/* The server's answer to our Upgrade (upgrade_head.c checks it). Bytes
 * after the blank line are the stream's: *used says where they start. */
static int head_input(struct rl_link *l, const uint8_t *in, size_t n, size_t *used)
{
	size_t take = n < HEAD_MAX - l->head_len ? n : HEAD_MAX - l->head_len;
	memcpy(l->head + l->head_len, in, take);
	size_t before = l->head_len;
	l->head_len += take;
	size_t end = upgrade_head_end(l->head, l->head_len);
	if (!end) {
		*used = take;
		return l->head_len == HEAD_MAX ? -EMSGSIZE : 0;
	}
	*used = end - before;
	char accept[32];
	int code = 0;
	if (l->ws)
		rl_ws_accept_expected(l->ws, accept, sizeof(accept));
	int ret = upgrade_head_check(l->head, end, l->ws ? accept : NULL, &code);
	if (ret < 0) {
		log_info("relay link %s: the server (or a proxy) answered HTTP %d%s", managed_relay_link_name(l->kind),
			 code, code == 101 ? " without the right upgrade" : ", not 101");
		return ret;
	}
	if (relaylink_server_auth(l->rl) &&
	    upgrade_head_server_auth(l->head, end, relaylink_server_auth(l->rl), l->nonce) < 0) {
		log_warn("relay link %s: a 101 without the server's proof (a TLS-intercepting proxy answered itself)",
			 managed_relay_link_name(l->kind));
		return -EBADMSG;
	}
	l->state = ST_UP;
	relaylink_on_up(l->rl, l->kind);
	return 1;
}

static void read_some(struct rl_link *l)
{
	uint8_t buf[READ_CHUNK];
	size_t total = 0;
	while (l->state == ST_UPGRADING || l->state == ST_UP) {
		size_t n = 0;
		CURLcode rc = curl_easy_recv(l->easy, buf, sizeof(buf), &n);
		if (rc == CURLE_AGAIN)
			return;
		if (rc != CURLE_OK || n == 0) {
			fail(l, rc == CURLE_OK ? -ECONNRESET : -EIO);
			return;
		}
		size_t off = 0;
		int ret = 0;
		if (l->state == ST_UPGRADING) {
			ret = head_input(l, buf, n, &off);
			if (ret < 0) {
				fail(l, ret);
				return;
			}
		}
		if (l->state == ST_UP && (ret = framing_input(l, buf + off, n - off)) < 0) {
			fail(l, ret);
			return;
		}
		total += n;
		if (total >= READ_BUDGET) {
			/* TLS may hold decrypted bytes the socket no longer
			 * signals: come back next turn rather than wait. */
			struct ev_loop *loop = relaylink_loop(l->rl);
			ev_timer_start(loop, &l->more, ev_now(loop));
			return;
		}
	}
}

static void on_io(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct rl_link *l = io->data;
	(void)loop;
	if (revents & EPOLLOUT)
		flush_out(l);
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
		read_some(l);
	if (l->ws && l->state == ST_UP && rl_ws_output(l->ws) < 0)
		fail(l, -EPROTO);
	if (l->state == ST_UP || l->state == ST_UPGRADING)
		flush_out(l);
}

static void on_more(struct ev_loop *loop, struct ev_timer *t)
{
	struct rl_link *l = t->data;
	(void)loop;
	read_some(l);
	if (l->state == ST_UP)
		flush_out(l);
}

/* The Upgrade request: the same auth as every request (GET /v1/relay). */
static int send_upgrade(struct rl_link *l)
{
	char url[RL_URL_MAX], auth[512 + RL_HEADERS_MAX], req[1024 + RL_HEADERS_MAX], hostport[300];
	relaylink_url(l->rl, "/v1/relay", url, sizeof(url));
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	size_t hl = strcspn(h, "/?#");
	snprintf(hostport, sizeof(hostport), "%.*s", (int)hl, h);
	int ret = relaylink_auth(l->rl, "GET", "/v1/relay", auth, sizeof(auth));
	if (ret < 0)
		return ret;
	if (relaylink_server_auth(l->rl)) { /* the 101 must prove the server: ask */
		struct coord_auth a;
		size_t n = strlen(COORD_AUTH_HEADER ": ");
		if (coord_auth_parse(auth + n, &a) < 0)
			return -EINVAL;
		memcpy(l->nonce, a.nonce, sizeof(l->nonce));
		snprintf(auth + strlen(auth), sizeof(auth) - strlen(auth), "\r\n%s: 1", COORD_WANT_SERVER_AUTH_HEADER);
	}
	/* A relay-only server's Roam-Ticket. */
	size_t at = strlen(auth);
	if (sizeof(auth) - at < 3 || (ret = relaylink_headers(l->rl, auth + at + 2, sizeof(auth) - at - 2)) < 0)
		return ret < 0 ? ret : -ENOSPC;
	if (auth[at + 2])
		memcpy(auth + at, "\r\n", 2);
	int n;
	if (l->ws) {
		rl_ws_key(l->ws, l->ws_key);
		n = snprintf(req, sizeof(req),
			     "GET /v1/relay HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
			     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
			     "Sec-WebSocket-Protocol: roam-relay.v1\r\n%s\r\n\r\n",
			     hostport, l->ws_key, auth);
	} else {
		n = snprintf(req, sizeof(req),
			     "GET /v1/relay HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: roam-relay/1\r\n%s\r\n\r\n",
			     hostport, auth);
	}
	if (n < 0 || (size_t)n >= sizeof(req) || !rl_stream_write((struct rl_stream *)l, (const uint8_t *)req, (size_t)n))
		return -EMSGSIZE;
	return 0;
}

/* libcurl finished its part: the connection is ours from here. */
/* The pin failed and the relay may prove itself inside instead
 * (relaylink_pin_failed): the same handle again without the pin. */
static int retry_unpinned(struct rl_link *l)
{
	CURL *e = l->easy;
	if (curl_multi_remove_handle(l->ce.multi, e) != CURLM_OK)
		return -EIO;
	curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, NULL);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	return curl_multi_add_handle(l->ce.multi, e) == CURLM_OK ? 0 : -EIO;
}

static void check_connected(void *ctx)
{
	struct rl_link *l = ctx;
	CURLMsg *m;
	int left;
	while (l->state == ST_CONNECTING && (m = curl_multi_info_read(l->ce.multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_socket_t fd = CURL_SOCKET_BAD;
		if (m->data.result == CURLE_SSL_PINNEDPUBKEYNOTMATCH && relaylink_pin_failed(l->rl)) {
			if (retry_unpinned(l) < 0)
				fail(l, -EIO);
			return;
		}
		if (m->data.result != CURLE_OK ||
		    curl_easy_getinfo(l->easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD) {
			log_info("relay link %s: cannot connect: %s", managed_relay_link_name(l->kind),
				 curl_easy_strerror(m->data.result));
			fail(l, -ECONNREFUSED);
			return;
		}
		l->state = ST_UPGRADING;
		curl_ev_detach(&l->ce);
		l->fd = fd;
		l->io_events = EPOLLIN;
		ev_io_init(&l->io, fd, EPOLLIN, on_io, l);
		int ret = ev_io_start(relaylink_loop(l->rl), &l->io);
		if (ret < 0 || (ret = send_upgrade(l)) < 0) {
			fail(l, ret);
			return;
		}
		flush_out(l);
	}
}

static void stream_close(struct rl_link *l)
{
	if (!l)
		return;
	struct ev_loop *loop = relaylink_loop(l->rl);
	if (l->fd >= 0 && l->state != ST_FAILED)
		ev_io_stop(loop, &l->io);
	l->state = ST_FAILED;
	ev_timer_stop(loop, &l->more);
	rl_ws_free(l->ws);
	if (l->ce.multi) {
		curl_ev_detach(&l->ce); /* libcurl's callbacks during the cleanup change nothing */
		if (l->easy)
			curl_multi_remove_handle(l->ce.multi, l->easy); /* closes the connection */
		curl_ev_cleanup(&l->ce);
	}
	if (l->easy)
		curl_easy_cleanup(l->easy);
	free(l->out);
	free(l->frame_buf);
	free(l);
}

/* libcurl's OpenSSL context for this connection. Without read-ahead
 * OpenSSL reads a record's 5-byte header and then its body: two read(2)s
 * per record, which were two per datagram while the server wrote a record
 * per frame. With it, one read fills a buffer of several records; our
 * reads go on until libcurl says EAGAIN (or the budget's timer comes back),
 * so nothing waits inside OpenSSL unseen. */
#define TLS_READ_BUFFER (64 * 1024)

static CURLcode ssl_ctx_setup(CURL *easy, void *ssl_ctx, void *arg)
{
	SSL_CTX *ctx = ssl_ctx;
	(void)easy;
	(void)arg;
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, TLS_READ_BUFFER);
	/* A busy link would free and allocate its buffers every record. */
	SSL_CTX_clear_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return CURLE_OK;
}

static int stream_open(struct relaylink *rl, enum managed_relay_link kind, struct rl_link **out)
{
	char url[RL_URL_MAX];
	struct rl_link *l = calloc(1, sizeof(*l));
	int ret = -ENOMEM;
	if (!l)
		return -ENOMEM;
	l->rl = rl;
	l->kind = kind;
	l->fd = -1;
	ev_timer_init(&l->more, on_more, l);
	if (!(l->out = malloc(OUT_CAP)) || curl_ev_init(&l->ce, relaylink_loop(rl), check_connected, l) < 0 ||
	    !(l->easy = curl_easy_init()))
		goto fail;
	if (kind == MANAGED_RELAY_LINK_WEBSOCKET) {
		if ((ret = rl_ws_new((struct rl_stream *)l, &l->ws)) < 0)
			goto fail;
	} else {
		if (!(l->frame_buf = malloc(RELAY_LINK_DGRAM_MAX)))
			goto fail;
		relay_frame_reader_init(&l->reader, l->frame_buf);
	}
	relaylink_url(rl, "/v1/relay", url, sizeof(url));
	CURL *e = l->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	/* The relay's framing is HTTP/1.1 Upgrade: never let ALPN pick h2. */
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_SSL_ENABLE_ALPN, 0L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_setup);
	if (relaylink_server_auth(rl)) {
		/* A TLS-intercepting proxy's certificate: the 101 proves the server. */
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (relaylink_pin(rl)) {
		/* As http_client.c: the join token pins the server's key. */
		curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, relaylink_pin(rl));
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	/* The node's proxy (CONNECT, its authentication), as every request. */
	if ((ret = roamd_proxy_apply(e, relaylink_proxy(rl))) < 0)
		goto fail;
	ret = -ENOMEM;
	if (curl_multi_add_handle(l->ce.multi, e) != CURLM_OK)
		goto fail;
	*out = l;
	return 0;
fail:
	stream_close(l);
	return ret;
}

static int stream_send(struct rl_link *l, const uint8_t *d, size_t len)
{
	if (l->state != ST_UP)
		return -ENOTCONN;
	if (len == 0 || len > RELAY_LINK_DGRAM_MAX)
		return -EMSGSIZE;
	if (l->ws)
		return rl_ws_send(l->ws, d, len);
	uint8_t hdr[RELAY_FRAME_HDR_LEN];
	relay_frame_header(hdr, len);
	return rl_stream_write2((struct rl_stream *)l, hdr, sizeof(hdr), d, len) ? 0 : -ENOBUFS;
}

static void stream_flush(struct rl_link *l)
{
	if (l->ws && l->state == ST_UP && rl_ws_output(l->ws) < 0)
		fail(l, -EPROTO);
	if (l->state == ST_UP)
		flush_out(l);
}

const struct rl_link_class rl_stream_class = {
	.open = stream_open,
	.send = stream_send,
	.flush = stream_flush,
	.close = stream_close,
};
