/* The WebSocket relay link's framing (RFC 6455) with wslay, over the
 * connection of link_stream.c: one binary message per datagram, client
 * frames masked, pings answered by wslay. The server's text messages,
 * and messages over RELAY_LINK_DGRAM_MAX, end the link. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "coord/auth.h"
#include "coord/relay_link.h"
#include "crypto/crypto.h"
#include "daemon/relaylink/link_stream.h"
#include "daemon/relaylink/relaylink_internal.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct rl_ws {
	struct rl_stream *s;
	wslay_event_context_ptr ctx;
	const uint8_t *in; /* bytes being fed to wslay */
	size_t in_len;
	char key[25];
	bool bad; /* a text message or other protocol breach */
	/* Masking keys, drawn from the CSPRNG a pool at a time: one getrandom(2)
	 * per frame was a system call per datagram. They are sent in the clear
	 * with their frames; what matters (RFC 6455 10.3) is that nobody can
	 * predict them, which the pool keeps. */
	uint8_t masks[256];
	size_t masks_left;
};

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	struct rl_ws *w = user;
	(void)flags;
	if (!w->in_len) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	size_t n = len < w->in_len ? len : w->in_len;
	memcpy(buf, w->in, n);
	w->in += n;
	w->in_len -= n;
	return (ssize_t)n;
}

/* Into the stream's output; a full one waits (wslay keeps the frame). */
static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
	struct rl_ws *w = user;
	(void)flags;
	size_t room = rl_stream_out_room(w->s);
	size_t n = len < room ? len : room;
	if (!n || !rl_stream_write(w->s, data, n)) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return (ssize_t)n;
}

static int ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
	struct rl_ws *w = user;
	(void)ctx;
	while (len) {
		if (!w->masks_left) {
			crypto_random(w->masks, sizeof(w->masks));
			w->masks_left = sizeof(w->masks);
		}
		size_t n = len < w->masks_left ? len : w->masks_left;
		memcpy(buf, w->masks + sizeof(w->masks) - w->masks_left, n);
		w->masks_left -= n;
		buf += n;
		len -= n;
	}
	return 0;
}

static void ws_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	struct rl_ws *w = user;
	if (arg->opcode == WSLAY_BINARY_FRAME && arg->msg_length > 0) {
		rl_stream_ws_message(w->s, arg->msg, arg->msg_length);
	} else if (arg->opcode == WSLAY_TEXT_FRAME) {
		w->bad = true;
		wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA, NULL, 0);
	}
}

static const struct wslay_event_callbacks callbacks = {
	.recv_callback = ws_recv,
	.send_callback = ws_send,
	.genmask_callback = ws_genmask,
	.on_msg_recv_callback = ws_msg,
};

int rl_ws_new(struct rl_stream *s, struct rl_ws **out)
{
	struct rl_ws *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->s = s;
	if (wslay_event_context_client_init(&w->ctx, &callbacks, w) != 0) {
		free(w);
		return -ENOMEM;
	}
	wslay_event_config_set_max_recv_msg_length(w->ctx, RELAY_LINK_DGRAM_MAX);
	*out = w;
	return 0;
}

void rl_ws_free(struct rl_ws *w)
{
	if (!w)
		return;
	wslay_event_context_free(w->ctx);
	crypto_wipe(w->masks, sizeof(w->masks));
	free(w);
}

void rl_ws_key(struct rl_ws *w, char key[25])
{
	uint8_t raw[16];
	crypto_random(raw, sizeof(raw));
	coord_b64_encode(w->key, sizeof(w->key), raw, sizeof(raw), 0);
	memcpy(key, w->key, sizeof(w->key));
}

void rl_ws_accept_expected(const struct rl_ws *w, char *out, size_t cap)
{
	char in[64];
	uint8_t md[20];
	unsigned md_len = 0;
	size_t n = strlen(w->key);
	out[0] = '\0';
	memcpy(in, w->key, n);
	memcpy(in + n, WS_GUID, sizeof(WS_GUID) - 1);
	/* SHA-1 only because RFC 6455 says so: it proves the server speaks
	 * WebSocket, nothing about security rests on it. */
	if (!EVP_Digest(in, n + sizeof(WS_GUID) - 1, md, &md_len, EVP_sha1(), NULL) || md_len != sizeof(md) ||
	    coord_b64_encode(out, cap, md, sizeof(md), 0) < 0)
		out[0] = '\0'; /* matches no answer */
}

int rl_ws_input(struct rl_ws *w, const uint8_t *in, size_t n)
{
	w->in = in;
	w->in_len = n;
	int ret = wslay_event_recv(w->ctx);
	w->in_len = 0;
	if (ret != 0 || w->bad || !wslay_event_want_read(w->ctx))
		return -EPROTO; /* broken framing, or the server closed */
	return 0;
}

int rl_ws_send(struct rl_ws *w, const uint8_t *d, size_t len)
{
	/* wslay copies queued messages: its queue counts against our cap. */
	if (wslay_event_get_queued_msg_length(w->ctx) + len > RL_OUT_MAX)
		return -ENOBUFS;
	struct wslay_event_msg msg = { .opcode = WSLAY_BINARY_FRAME, .msg = d, .msg_length = len };
	return wslay_event_queue_msg(w->ctx, &msg) == 0 ? 0 : -ENOTCONN;
}

int rl_ws_output(struct rl_ws *w)
{
	if (!wslay_event_want_write(w->ctx))
		return 0;
	return wslay_event_send(w->ctx) == 0 ? 0 : -EPROTO;
}
