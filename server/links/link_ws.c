/* The WebSocket relay link (RFC 6455, subprotocol roam-relay.v1) on a
 * connection taken over from evhttp (link_upgrade.c): one binary message is
 * one datagram. wslay does the framing, masking checks (an unmasked client
 * frame is a protocol error: 1002), the message cap (1009), pings and the
 * close handshake; text messages are refused here (1003). After a close
 * frame is sent the link ends (the frame is flushed first). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "coord/auth.h"
#include "server/links/link_conn.h"
#include "server/server.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_MAX 64

struct ws_state {
	wslay_event_context_ptr ctx;
	bool in_recv; /* inside wslay_event_recv: queue only, send after */
};

int link_ws_accept_value(const char *key, char *out, size_t size)
{
	char text[WS_KEY_MAX + sizeof(WS_GUID)];
	uint8_t digest[SHA_DIGEST_LENGTH], raw[16];
	size_t n = strlen(key);

	/* The key is 16 random bytes in base64 (RFC 6455 4.1). */
	if (n != 24 || coord_b64_decode(raw, sizeof(raw), key, n, 0) < 0)
		return -EINVAL;
	memcpy(text, key, n);
	memcpy(text + n, WS_GUID, sizeof(WS_GUID) - 1);
	SHA1((const unsigned char *)text, n + sizeof(WS_GUID) - 1, digest);
	return coord_b64_encode(out, size, digest, sizeof(digest), 0) < 0 ? -ENOSPC : 0;
}

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	struct link_conn *c = user;
	int n;

	(void)flags;
	n = evbuffer_remove(bufferevent_get_input(c->bev), buf, len);
	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return n;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
	struct link_conn *c = user;

	(void)flags;
	if (c->link.dead || link_conn_write(c, data, len, NULL, 0) < 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

static void ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	static uint8_t scratch[RELAY_LINK_DGRAM_MAX]; /* links_input rewrites in place; one loop, one user */
	struct link_conn *c = user;

	if (arg->opcode == WSLAY_TEXT_FRAME) {
		wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA, NULL, 0);
		return;
	}
	if (arg->opcode != WSLAY_BINARY_FRAME || arg->msg_length == 0 || arg->msg_length > sizeof(scratch))
		return; /* control frames: wslay answers them */
	memcpy(scratch, arg->msg, arg->msg_length);
	links_input(&c->link, scratch, arg->msg_length);
}

static const struct wslay_event_callbacks ws_callbacks = {
	.recv_callback = ws_recv_cb,
	.send_callback = ws_send_cb,
	.on_msg_recv_callback = ws_msg_cb,
};

/* Write what wslay queued; a close frame sent ends the link. */
static void ws_flush(struct link_conn *c)
{
	struct ws_state *ws = c->ws;

	if (c->link.dead)
		return;
	if (wslay_event_send(ws->ctx) < 0 || wslay_event_get_close_sent(ws->ctx) ||
	    (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx)))
		links_kill(&c->link, wslay_event_get_close_received(ws->ctx) ? LINKS_CLOSE_PEER : LINKS_CLOSE_PROTOCOL);
}

void link_ws_readable(struct link_conn *c)
{
	struct ws_state *ws = c->ws;
	int r;

	if (c->link.dead)
		return;
	ws->in_recv = true;
	r = wslay_event_recv(ws->ctx);
	ws->in_recv = false;
	if (r < 0) {
		links_kill(&c->link, LINKS_CLOSE_PROTOCOL);
		return;
	}
	ws_flush(c);
}

static int ws_send(struct relay_link *l, const uint8_t *d, size_t len)
{
	struct link_conn *c = link_conn_of(l);
	struct ws_state *ws = c->ws;
	struct wslay_event_msg msg = { WSLAY_BINARY_FRAME, d, len };

	if (l->dead)
		return -EPIPE;
	if (link_conn_output_full(c))
		return -ENOBUFS;
	if (wslay_event_queue_msg(ws->ctx, &msg) != 0)
		return -EPIPE;
	if (!ws->in_recv)
		ws_flush(c);
	return 0;
}

static void ws_keepalive(struct relay_link *l)
{
	uint8_t k[RELAY_KEEPALIVE_LEN];

	relay_keepalive_build(k);
	ws_send(l, k, sizeof(k));
}

const struct relay_link_ops link_ws_ops = { ws_send, ws_keepalive, link_conn_destroy };

int link_ws_start(struct link_conn *c)
{
	struct ws_state *ws = calloc(1, sizeof(*ws));

	if (!ws)
		return -ENOMEM;
	if (wslay_event_context_server_init(&ws->ctx, &ws_callbacks, c) != 0) {
		free(ws);
		return -ENOMEM;
	}
	wslay_event_config_set_max_recv_msg_length(ws->ctx, RELAY_LINK_DGRAM_MAX);
	c->ws = ws;
	return 0;
}

void link_ws_free(struct link_conn *c)
{
	struct ws_state *ws = c->ws;

	if (!ws)
		return;
	wslay_event_context_free(ws->ctx);
	free(ws);
	c->ws = NULL;
}
