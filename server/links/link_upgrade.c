/* Taking an upgraded connection over from evhttp, and the TLS-stream link
 * (`Upgrade: roam-relay/1`: frames [len le16][datagram] both ways).
 *
 * libevent 2.1 has no upgrade API, so we take the connection's bufferevent
 * while evhttp still owns the struct evhttp_connection. Why this is safe
 * (libevent 2.1.12 http.c):
 * - the request callback runs from evhttp_read_cb with the connection in
 *   EVCON_WRITING, after evhttp_handle_request disabled EV_READ and
 *   evhttp_read_cb cancelled its deferred "read more" callback; nothing in
 *   evhttp touches the connection again until a reply is sent, an event
 *   callback of the bufferevent fires, or the connection is freed;
 * - we never send a reply for the request and replace all three bufferevent
 *   callbacks (bufferevent_setcb) and its timeouts, so evhttp hears nothing
 *   more about the connection;
 * - we end it with evhttp_connection_free, which frees the pending request
 *   and the bufferevent (its SSL ex_data callback releases the conn_limit
 *   slot: the connection stays counted as long as it is open), and unlinks
 *   it from the evhttp; evhttp_free would free it too, so every link is
 *   closed before evhttp_free (links_close, server_close);
 * - no close callback is set, so evhttp_connection_free calls nothing of ours.
 * The request bytes were consumed from the input buffer by evhttp's parser;
 * anything the node sent after them (it should wait for the 101) is ours. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "server/links/link_conn.h"
#include "server/server.h"

/* No write progress this long with bytes queued: the node is gone. */
#define LINK_CONN_WRITE_TIMEOUT_S 60

bool link_conn_output_full(const struct link_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) > RELAY_LINK_OUTPUT_MAX;
}

/* Frames go into the output buffer back to back, in chains of at least
 * LINK_CONN_CHAIN bytes: bufferevent_openssl hands each chain to one
 * SSL_write (up to 8 chains and its max single write per callback), so a
 * chain is a TLS record and a write(2). Left to evbuffer_reserve_space, a
 * frame that does not fit the last chain gets a new chain of its own size,
 * i.e. a record and a write per datagram; node to node through the relay
 * that cost more than the node's side (docs/performance.md "Relays"). The
 * room left in the last chain is remembered after each frame; when the
 * next frame would not fit, evbuffer_expand makes a large chain first. */
#define LINK_CONN_CHAIN (16 * 1024)

int link_conn_write(struct link_conn *c, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct evbuffer_iovec v;
	size_t n = alen + blen;

	if (!evbuffer_get_length(out)) /* written out: its chains are gone */
		c->out_room = 0;
	if (c->out_room < n && evbuffer_expand(out, n > LINK_CONN_CHAIN ? n : LINK_CONN_CHAIN) < 0)
		return -ENOMEM;
	/* One add of both parts: the bufferevent may try to write (and fail)
	 * from within an add, after which the link may be dead. */
	if (evbuffer_reserve_space(out, n, &v, 1) < 1)
		return -ENOMEM;
	if (alen)
		memcpy(v.iov_base, a, alen);
	if (blen)
		memcpy((uint8_t *)v.iov_base + alen, b, blen);
	c->out_room = v.iov_len - n;
	v.iov_len = n;
	return evbuffer_commit_space(out, &v, 1) < 0 ? -ENOMEM : 0;
}

static int tls_send(struct relay_link *l, const uint8_t *d, size_t len)
{
	struct link_conn *c = link_conn_of(l);
	uint8_t hdr[RELAY_FRAME_HDR_LEN];

	if (l->dead)
		return -EPIPE;
	if (len == 0 || len > RELAY_LINK_DGRAM_MAX)
		return -EMSGSIZE;
	if (link_conn_output_full(c))
		return -ENOBUFS;
	relay_frame_header(hdr, len);
	return link_conn_write(c, hdr, sizeof(hdr), d, len);
}

static void tls_keepalive(struct relay_link *l)
{
	uint8_t k[RELAY_KEEPALIVE_LEN];

	relay_keepalive_build(k);
	tls_send(l, k, sizeof(k));
}

/* Whole frames out of the input buffer, in place (no buffer per link: a
 * frame waits in the bufferevent's input until it is complete). */
static void tls_readable(struct link_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	uint8_t hdr[RELAY_FRAME_HDR_LEN];
	size_t len;
	uint8_t *p;

	while (!c->link.dead && evbuffer_copyout(in, hdr, sizeof(hdr)) == (ev_ssize_t)sizeof(hdr)) {
		ssize_t n = relay_frame_len(hdr);
		if (n < 0) {
			links_kill(&c->link, LINKS_CLOSE_PROTOCOL);
			return;
		}
		len = (size_t)n;
		if (evbuffer_get_length(in) < sizeof(hdr) + len)
			return;
		if (!(p = evbuffer_pullup(in, (ev_ssize_t)(sizeof(hdr) + len)))) {
			links_kill(&c->link, LINKS_CLOSE_PEER);
			return;
		}
		links_input(&c->link, p + sizeof(hdr), len);
		evbuffer_drain(in, sizeof(hdr) + len);
	}
}

/* libevent 2.1's bufferevent_openssl reads one or two TLS records per
 * wakeup (an SSL_read per reserved iovec, then only what SSL_pending
 * shows), so a node that writes a record per datagram cost an epoll_wait,
 * an epoll_ctl and several reads per datagram or two. Read on here while
 * the socket has records, up to TLS_READ_MORE a callback: each SSL_read
 * has room for a whole record, so (no read-ahead) nothing stays inside
 * OpenSSL that the bufferevent would not see; what is left stays in the
 * socket, which wakes the loop again. WANT_READ ends it; an error is left
 * for the bufferevent's next read to report. */
#define TLS_READ_MORE 64

static void tls_read_more(struct link_conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	struct evbuffer *in = bufferevent_get_input(c->bev);

	for (int i = 0; ssl && i < TLS_READ_MORE && !c->link.dead; i++) {
		struct evbuffer_iovec v;
		int n;
		if (evbuffer_get_length(in) + SSL3_RT_MAX_PLAIN_LENGTH > LINK_CONN_INPUT_MAX ||
		    evbuffer_reserve_space(in, SSL3_RT_MAX_PLAIN_LENGTH, &v, 1) < 1)
			break;
		ERR_clear_error();
		n = SSL_read(ssl, v.iov_base, v.iov_len > INT_MAX ? INT_MAX : (int)v.iov_len);
		if (n <= 0) { /* the reserved space is simply not committed */
			ERR_clear_error();
			break;
		}
		v.iov_len = (size_t)n;
		if (evbuffer_commit_space(in, &v, 1) < 0)
			break;
		tls_readable(c);
	}
}

static void link_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct link_conn *c = arg;

	(void)bev;
	if (c->ws) {
		link_ws_readable(c);
	} else {
		tls_readable(c);
		tls_read_more(c);
	}
}

static void link_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct link_conn *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		links_kill(&c->link, LINKS_CLOSE_PEER);
}

static void link_conn_free(struct link_conn *c)
{
	struct relay_link *l = &c->link;

	if (l->prev)
		l->prev->next = l->next;
	else if (l->srv->links.lingering == l)
		l->srv->links.lingering = l->next;
	if (l->next)
		l->next->prev = l->prev;
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	evhttp_connection_free(c->evcon);
	free(c);
}

/* Lingering close: what the node still sends is read and thrown away, so
 * that closing never resets the connection before it has read our last
 * bytes (a WebSocket close frame); once they are out we send FIN and wait
 * for the node's, at most LINK_CONN_LINGER_S. */
static void linger_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	(void)arg;
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void linger_write_cb(struct bufferevent *bev, void *arg)
{
	struct link_conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) || c->shut)
		return;
	c->shut = true;
	shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void linger_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	link_conn_free(arg);
}

void link_conn_destroy(struct relay_link *l)
{
	struct link_conn *c = link_conn_of(l);
	struct timeval linger = { LINK_CONN_LINGER_S, 0 };

	link_ws_free(c);
	/* Lingering is for a close frame, not for a backlog of datagrams that
	 * a node which stopped reading could pile up link after link. */
	if (l->srv->links.shutting_down || evbuffer_get_length(bufferevent_get_output(c->bev)) > LINK_CONN_LINGER_MAX) {
		link_conn_free(c);
		return;
	}
	/* The link is gone from every table; only the connection remains. */
	l->prev = NULL;
	l->next = l->srv->links.lingering;
	if (l->next)
		l->next->prev = l;
	l->srv->links.lingering = l;
	bufferevent_set_timeouts(c->bev, &linger, &linger);
	bufferevent_setcb(c->bev, linger_read_cb, linger_write_cb, linger_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	linger_write_cb(c->bev, c);
}

void link_upgrade_linger_free(struct server *s)
{
	while (s->links.lingering)
		link_conn_free(link_conn_of(s->links.lingering));
}

static const struct relay_link_ops tls_ops = { tls_send, tls_keepalive, link_conn_destroy };

static const char upgrade_tls[] = "HTTP/1.1 101 Switching Protocols\r\n"
				  "Connection: Upgrade\r\n"
				  "Upgrade: roam-relay/1\r\n"; /* then the proof, if any, and the blank line */

int link_upgrade_take(struct server *s, struct evhttp_request *req, struct dir_node *n, const char *ws_accept,
		      const struct reply_auth *ra)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct timeval write_timeout = { LINK_CONN_WRITE_TIMEOUT_S, 0 };
	struct link_conn *c;
	char head[256], proof[80];
	int r;

	if (!bev)
		return -ENOTCONN;
	reply_auth_header_line(proof, sizeof(proof), ra, 101, NULL, 0);
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c->evcon = evcon;
	c->bev = bev;
	if (ws_accept) {
		snprintf(head, sizeof(head),
			 "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
			 "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: roam-relay.v1\r\n%s\r\n",
			 ws_accept, proof);
		if ((r = link_ws_start(c)) < 0) {
			free(c);
			return r;
		}
	} else {
		snprintf(head, sizeof(head), "%s%s\r\n", upgrade_tls, proof);
	}
	/* From here on the connection is ours (see the top of this file). */
	bufferevent_setcb(bev, link_conn_read_cb, NULL, link_conn_event_cb, c);
	bufferevent_set_timeouts(bev, NULL, &write_timeout);
	bufferevent_setwatermark(bev, EV_READ, 0, LINK_CONN_INPUT_MAX);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	/* Default 16 KiB a write callback: a few records per wakeup. */
	bufferevent_set_max_single_write(bev, LINK_CONN_MAX_WRITE);
	links_attach(s, &c->link, n, ws_accept ? DIR_LINK_WS : DIR_LINK_TLS, ws_accept ? &link_ws_ops : &tls_ops);
	bufferevent_write(bev, head, strlen(head));
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_input(bev)))
		link_conn_read_cb(bev, c);
	return 0;
}
