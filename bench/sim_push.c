/* The push channel of a simulated node (docs/control-protocol.md, "Push
 * channel"): its stream over the UDP socket it binds with, so that it holds
 * no TCP connection. After registration over HTTPS: a PUSH_ACK OPEN with the
 * view version it holds; PUSH_DATA bytes go to the same line handling as the
 * TLS stream's; one acknowledgement per receive batch; a KEEP every
 * g_sim.keep_s, with a BINDING every COORD_PUSH_BINDING_EVERY-th (as
 * roamd: the server refreshes the binding on a KEEP); an OPEN or KEEP unanswered is sent again (1 s,
 * doubling, jittered: struct coord_push_wait, as roamd) and after
 * COORD_PUSH_FALLBACK_S (COORD_PUSH_BUSY_FALLBACK_S once the channel has
 * answered this node: a busy server) the node takes the TLS stream for
 * good; END: it opens another; END|TOO_BIG: the TLS stream (?view=)
 * until its "view" line, then the push channel again with that version. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bench/coord_sim.h"
#include "crypto/crypto.h"

#define SIM_PUSH_LINE_MAX COORD_PUSH_QUEUE_MAX /* a line never exceeds what a stream holds */

static uint32_t sim_push_rnd(uint32_t bound)
{
	uint32_t r;

	crypto_random(&r, sizeof(r));
	return bound ? r % bound : 0;
}

static void push_ack_send(struct sim_node *n, uint8_t flags)
{
	/* An OPEN names no stream: the node holds none that lives (it ended,
	 * or the node never had one), and a new one must start. */
	struct coord_push_ack a = { .flags = flags, .node_id = n->id,
				    .stream_id = flags & COORD_PUSH_ACK_OPEN ? 0 : n->prx.stream_id,
				    .offset = flags & COORD_PUSH_ACK_OPEN ? 0 : n->prx.offset };
	uint8_t msg[sizeof(struct coord_msg_push_ack)];
	uint64_t ts = sim_now_ns();

	/* Strictly increasing, and never below a BINDING's: the server keeps
	 * each floor apart, the node one clock for both. */
	if (ts <= n->push_ts)
		ts = n->push_ts + 1;
	n->push_ts = ts;
	a.timestamp_ns = ts;
	snprintf(a.view, sizeof(a.view), "%s", g_sim.full_views ? "" : n->view);
	if (coord_push_ack_build(msg, n->k, &a) == 0 && n->udp_fd >= 0)
		(void)send(n->udp_fd, msg, sizeof(msg), 0);
}

/* An OPEN or KEEP, waiting for an answer from now. */
static void push_ask(struct sim_node *n, uint8_t flags, bool binding)
{
	uint64_t now = sim_mono_ns();

	if (binding)
		sim_send_binding(n, NULL);
	push_ack_send(n, flags);
	coord_push_wait_start(&n->push_wait, now);
	n->push_wait_flags = flags;
}

void sim_push_open(struct sim_node *n, bool binding)
{
	if (!n->push_key[0] && !n->push_key[1])
		coord_push_key(n->push_key, n->k);
	n->phase = SIM_PUSH;
	push_ask(n, COORD_PUSH_ACK_OPEN, binding);
}

void sim_push_keep(struct sim_node *n)
{
	if (n->phase == SIM_PUSH && !n->push_wait.since_ns)
		push_ask(n, COORD_PUSH_ACK_KEEP, false);
}

void sim_push_reopen(struct sim_node *n)
{
	g_sim.in_flight++; /* as sim_node_start: until its view */
	sim_push_open(n, true);
}

/* The TLS connection (registration, or the view after TOO_BIG) is done:
 * closed without telling the driver (the node is not down), then OPEN. */
void sim_push_switch(struct sim_node *n)
{
	n->push_switch = false;
	n->push_tls = false;
	n->phase = SIM_PUSH;
	sim_http_close(&n->http, "on the push channel");
	sim_push_open(n, false);
}

/* Bytes of the stream in order: whole lines to the handler, the rest kept. */
static int push_bytes(struct sim_node *n, const uint8_t *data, size_t len)
{
	struct sim_buf *b = &n->push_line;
	const uint8_t *nl;

	while (len && (nl = memchr(data, '\n', len))) {
		size_t part = (size_t)(nl - data);
		if (b->len) { /* the end of a line begun before */
			if (b->len + part > SIM_PUSH_LINE_MAX)
				return -EMSGSIZE;
			char *d = realloc(b->data, b->len + part + 1);
			if (!d)
				return -ENOMEM;
			memcpy(d + b->len, data, part);
			d[b->len + part] = '\0';
			b->data = d;
			sim_node_line(n, d, b->len + part);
			free(b->data);
			memset(b, 0, sizeof(*b));
		} else {
			char *line = malloc(part + 1);
			if (!line)
				return -ENOMEM;
			memcpy(line, data, part);
			line[part] = '\0';
			sim_node_line(n, line, part);
			free(line);
		}
		data += part + 1;
		len -= part + 1;
		if (n->phase != SIM_PUSH)
			return 0; /* the handler ended it (a goodbye) */
	}
	if (len) {
		char *d;
		if (b->len + len > SIM_PUSH_LINE_MAX || !(d = realloc(b->data, b->len + len + 1)))
			return -EMSGSIZE;
		memcpy(d + b->len, data, len);
		b->data = d;
		b->len += len;
	}
	return 0;
}

static void push_line_reset(struct sim_node *n)
{
	free(n->push_line.data);
	memset(&n->push_line, 0, sizeof(n->push_line));
}

/* The stream is gone for this node: down, and the driver brings it back. */
static void push_down(struct sim_node *n)
{
	coord_push_wait_cancel(&n->push_wait); /* that it worked is kept */
	n->keep_ns = 0;
	n->push_ack_due = false;
	push_line_reset(n);
	sim_node_down(n);
}

void sim_push_drop(struct sim_node *n)
{
	if (n->phase == SIM_PUSH)
		push_down(n);
}

static void push_end(struct sim_node *n)
{
	bool too_big = n->prx.too_big;

	g_sim.push_ends++;
	n->prx.ended = n->prx.too_big = false;
	if (too_big) { /* the view over HTTPS, then back here */
		g_sim.push_too_big++;
		n->push_tls = true;
	}
	push_down(n);
}

void sim_push_input(struct sim_node *n, const uint8_t *buf, size_t len)
{
	uint8_t plain[COORD_PUSH_CHUNK_MAX];
	struct coord_push_data d;
	size_t skip;

	if (n->phase != SIM_PUSH || coord_push_data_parse(buf, len, n->push_key, n->id, plain, &d) < 0)
		return;
	switch (coord_push_rx_accept(&n->prx, &d, n->push_ts, &skip)) {
	case COORD_PUSH_RX_DROP:
		return;
	case COORD_PUSH_RX_NEW:
		push_line_reset(n);
		break;
	default:
		break;
	}
	if (n->push_wait.since_ns && (n->push_wait_flags & COORD_PUSH_ACK_KEEP) && g_sim.hooks &&
	    g_sim.hooks->keep_answered)
		g_sim.hooks->keep_answered(n, sim_mono_ns() - n->push_wait.since_ns);
	coord_push_wait_answered(&n->push_wait);
	if (!n->keep_ns) /* spread over the interval: not all at once */
		n->keep_ns = sim_mono_ns() + (uint64_t)(1 + sim_push_rnd(g_sim.keep_s * 1000u)) * 1000000u;
	if (d.len) {
		n->push_ack_due = true;
		if (d.len > skip && push_bytes(n, d.data + skip, d.len - skip) < 0) {
			push_down(n); /* a line over the cap: start over */
			return;
		}
	}
	if (n->phase != SIM_PUSH)
		return;
	if (n->goodbye_ms) { /* the server stops: back when it said */
		push_down(n);
		return;
	}
	if (n->prx.ended) {
		sim_push_flush(n);
		push_end(n);
	}
}

void sim_push_flush(struct sim_node *n)
{
	if (!n->push_ack_due || n->phase != SIM_PUSH)
		return;
	n->push_ack_due = false;
	push_ack_send(n, 0);
}

void sim_push_tick(struct sim_node *n, uint64_t now)
{
	if (n->phase != SIM_PUSH)
		return;
	if (n->push_wait.since_ns) {
		switch (coord_push_wait_tick(&n->push_wait, now, sim_push_rnd(UINT32_MAX))) {
		case COORD_PUSH_WAIT_FALLBACK:
			g_sim.push_fallbacks++;
			n->push_fallen = true; /* the TLS stream from now on */
			push_down(n);
			break;
		case COORD_PUSH_WAIT_ASK:
			push_ask(n, n->push_wait_flags, true);
			break;
		default:
			break;
		}
		return;
	}
	if (n->keep_ns && now >= n->keep_ns) {
		bool binding = ++n->keeps >= COORD_PUSH_BINDING_EVERY;
		n->keep_ns = now + (uint64_t)g_sim.keep_s * 1000000000u;
		if (binding)
			n->keeps = 0;
		push_ask(n, COORD_PUSH_ACK_KEEP, binding);
	}
}
