/* relay_client's links: registration, the TLS-stream and WebSocket
 * upgrades, long-poll sessions (GET with ack, stream=0 or 1; POST send). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/auth.h"
#include "coord/json.h"
#include "coord/relay_link.h"
#include "coord/ticket.h"
#include "crypto/crypto.h"
#include "tests/integration/relay_client.h"
#include "util/le.h"

void do_register(void)
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

/* --relay: the node's ticket and the relay's key from its stream on the
 * control server; then every request goes to the relay, with Roam-Auth
 * made with K_nr and the ticket in Roam-Ticket. */
void fetch_ticket(void)
{
	static uint8_t buf[256 * 1024];
	char want[32], key64[64] = "", *p;
	uint8_t relay_pub[32];
	size_t n = 0;
	int st;
	long clen;
	bool chunked;

	if (conn_open(&g.link) < 0 || http_request(&g.link, "GET", "/v1/stream", true, NULL, NULL, 0) < 0 ||
	    http_head(&g.link, now_ms() + 10000, &st, &clen, &chunked) <= 0 || st != 200)
		die("stream: refused");
	snprintf(want, sizeof(want), "{\"id\":%u,", g.relay_id);
	int64_t deadline = now_ms() + 10000;
	while (!g.ticket[0] || !key64[0]) {
		if (http_chunk(&g.link, deadline, buf, &n, sizeof(buf) - 1) <= 0)
			die("stream: no ticket or no relay map");
		buf[n] = 0;
		if (!g.ticket[0] && (p = strstr((char *)buf, "\"type\":\"ticket\",\"ticket\":\"")))
			sscanf(p + 26, "%599[^\"]", g.ticket);
		if (!key64[0] && (p = strstr((char *)buf, want)) && (p = strstr(p, "\"key\":\"")))
			sscanf(p + 7, "%63[^\"]", key64);
	}
	conn_close(&g.link);
	if (coord_b64_decode(relay_pub, 32, key64, strlen(key64), 0) < 0 ||
	    relay_key_derive(g.k, g.priv, relay_pub, RELAY_NODE_KEY_LABEL) < 0)
		die("relay key");
	if (g.ticket_flip >= 0) {
		uint8_t raw[TICKET_LEN_MAX];
		size_t len = strlen(g.ticket) / 4 * 3 - (strchr(g.ticket, '=') ? strlen(strchr(g.ticket, '=')) : 0);
		if (coord_b64_decode(raw, len, g.ticket, strlen(g.ticket), 0) < 0 || (size_t)g.ticket_flip >= len)
			die("ticket flip");
		raw[g.ticket_flip] ^= 1;
		coord_b64_encode(g.ticket, sizeof(g.ticket), raw, len, 0);
	}
	g.server = g.relay;
	if (sscanf(g.relay, "%127[^:]:%15s", g.host, g.port) != 2)
		die("--relay ADDR:PORT");
	printf("ticket\n");
}

void upgrade(const char *kind)
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

void open_link(void)
{
	static uint8_t out[4096];
	size_t n;

	if (strcmp(g.kind, "poll") != 0) {
		upgrade(g.kind);
		return;
	}
	if (conn_open(&g.post) < 0 || conn_open(&g.link) < 0)
		die("poll: connect");
	int st = http_simple(&g.post, "POST", "/v1/relay/poll", true, NULL, NULL, 0, out, &n, sizeof(out));
	if (st != 200) {
		fprintf(stderr, "relay_client: upgrade refused: %d %s\n", st, st > 0 ? (char *)out : "");
		exit(3);
	}
	char *s = strstr((char *)out, "\"session\":\"");
	if (!s || sscanf(s + 11, "%63[^\"]", g.session) != 1)
		die("poll: no session id");
}

int link_send(const uint8_t *d, size_t len)
{
	static uint8_t body[2 * RELAY_POLL_BATCH_MAX], out[4096];
	size_t n = 0, got;

	if (strcmp(g.kind, "tls") == 0) {
		static uint8_t frame[RELAY_FRAME_HDR_LEN + RELAY_LINK_DGRAM_MAX];
		relay_frame_header(frame, len);
		memcpy(frame + RELAY_FRAME_HDR_LEN, d, len);
		return conn_write(&g.link, frame, RELAY_FRAME_HDR_LEN + len);
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

static int poll_recv(uint8_t *d, int64_t deadline);

int link_recv(uint8_t *d, int64_t deadline)
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
		if (op == 10)
			g.ws_pongs++;
		if (op == 2)
			return (int)len;
	}
}

/* --ackpost: acknowledge on the uplink (POST send?ack=N, empty body), the
 * streaming GET staying open. */
static void poll_post_ack(void)
{
	static uint8_t out[4096];
	char target[96];
	size_t got;

	snprintf(target, sizeof(target), "/v1/relay/poll/send?ack=%llu", (unsigned long long)g.down_ack);
	if (http_simple(&g.post, "POST", target, false, NULL, NULL, 0, out, &got, sizeof(out)) != 204)
		die("poll: ack POST refused");
	g.acked = g.down_ack;
}

/* Records not yet handed out, from the last GET reply. */

static int poll_take(uint8_t *d)
{
	while (g.recs_len - g.recs_off >= RELAY_POLL_REC_HDR_LEN) {
		uint64_t seq = le64_get(g.recs + g.recs_off);
		size_t len = le16_get(g.recs + g.recs_off + 8);
		if (g.recs_len - g.recs_off < RELAY_POLL_REC_HDR_LEN + len)
			return 0; /* stream: the rest comes in the next chunk */
		memcpy(d, g.recs + g.recs_off + RELAY_POLL_REC_HDR_LEN, len);
		g.recs_off += RELAY_POLL_REC_HDR_LEN + len;
		if (seq == 0)
			continue; /* keepalive record */
		if (seq <= g.down_ack)
			continue; /* a resend of what we have */
		if (seq != g.down_ack + 1)
			die("poll: a gap in the server's seqs");
		g.down_ack = seq;
		if (g.ackpost && g.down_ack - g.acked >= 64)
			poll_post_ack();
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
		if (g.recs_off == g.recs_len)
			g.recs_len = g.recs_off = 0;
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		if (g.stream_open) {
			if ((r = http_chunk(&g.link, deadline, g.recs, &g.recs_len, sizeof(g.recs))) < 0)
				return now_ms() >= deadline ? 0 : -1;
			if (r == 0)
				g.stream_open = false;
			continue;
		}
		snprintf(target, sizeof(target), "/v1/relay/poll?ack=%llu&stream=%d&wait=%lld",
			 (unsigned long long)g.down_ack, g.stream ? 1 : 0, (long long)(left < 25000 ? left : 25000));
		g.gets++;
		if (http_request(&g.link, "GET", target, false, NULL, NULL, 0) < 0 ||
		    http_head(&g.link, now_ms() + 30000, &st, &clen, &chunked) <= 0 || st != 200)
			return -1;
		if (g.stream && chunked) {
			g.stream_open = true;
			continue;
		}
		if (http_body(&g.link, now_ms() + 30000, clen, chunked, g.recs + g.recs_len, &g.recs_len,
			      sizeof(g.recs) - g.recs_len) < 0)
			return -1;
	}
}
