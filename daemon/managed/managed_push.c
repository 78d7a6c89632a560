/* Managed mode: the push channel, roamd's side (docs/control-protocol.md,
 * "Push channel"; the core in lib/coord/push.h). The server's stream (the
 * same lines as the HTTPS stream's) comes over the tunnels' UDP socket, so
 * a node whose UDP works holds no TCP connection to the server.
 *
 * - After a BINDING_ACK (the server bound our endpoint: it takes PUSH_ACKs
 *   only from there), a PUSH_ACK OPEN with the view version we hold. Once
 *   the push stream brought its first "view" line, the HTTPS stream is
 *   closed (managed_stream.c keeps it closed while we are on push).
 * - With every later BINDING_ACK a PUSH_ACK OPEN|KEEP: the server answers
 *   KEEP on the stream it has (an empty PUSH_DATA at least), and OPEN
 *   starts a new one when it has none (it restarted): the node is back
 *   with its next BINDING, getting what changed since its view version.
 *   Sent after the ACK rather than with the BINDING so that it never
 *   reaches a server that has not bound our endpoint yet.
 * - While on the push channel the keepalive timer sends that OPEN|KEEP
 *   alone, and a BINDING only every COORD_PUSH_BINDING_EVERY times: a KEEP
 *   from the bound endpoint refreshes the binding, and the server's answer
 *   says so (KEPT). Unanswered for 1 s (a new NAT mapping, a restarted
 *   server: neither takes a PUSH_ACK from an endpoint not bound), a
 *   BINDING follows, as when a BINDING goes unanswered.
 * - Received bytes are acknowledged once per loop turn (managed_push_flush),
 *   at once when a gap shows a datagram was lost.
 * - No PUSH_DATA within COORD_PUSH_FALLBACK_S of a BINDING or PUSH_ACK that
 *   wants one (resent after 1 s, doubling with jitter: struct
 *   coord_push_wait): the HTTPS stream, and an OPEN again after
 *   PUSH_RETRY_S, or with the next BINDING_ACK if the BINDINGs went
 *   unanswered too (the server was away, not the push). Once the push
 *   channel has worked (PUSH_DATA came since roamd started or the network
 *   last changed), COORD_PUSH_BUSY_FALLBACK_S instead: a server that stops
 *   answering then is busy, and TLS would only add to its load.
 * - END: OPEN again, after the server's goodbye delay if it said one (a
 *   goodbye line ends the stream too, END or not; "connecting" until the
 *   next stream answers). END|TOO_BIG: the HTTPS stream with ?view= until
 *   its "view" line, then OPEN with that version.
 * - A network of several servers keeps the HTTPS stream: its end is how a
 *   node notices within the failover goal (5 s) that its server died; a
 *   KEEP every 25 s could not (docs/architecture.md).
 *
 * Parsed here, in the unprivileged agent, like the HTTPS stream's lines;
 * the data plane only forwards the datagrams from the server's address. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord/udp.h"
#include "crypto/crypto.h"
#include "daemon/managed/managed.h"
#include "util/log.h"

#define PUSH_RETRY_S 300  /* on the HTTPS stream after a fallback: OPEN again after this */
/* After a goodbye, no OPEN sooner than this: the server lingers a moment
 * to get its lines out (SERVER_GOODBYE_FLUSH_MS, 500 ms), and an OPEN it
 * answered then would be a stream on a server about to vanish. */
#define PUSH_GOODBYE_MIN_MS 1500

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool connected(const struct managed *m)
{
	return m->st.state == MANAGED_CONNECTED || m->st.state == MANAGED_CONNECTING;
}

/* Push is off in a test build with ROAMD_TEST_PUSH=off, and while the
 * network has several servers (above). */
static bool push_allowed(const struct managed *m)
{
#ifdef ROAM_TEST_HOOKS
	const char *v = getenv("ROAMD_TEST_PUSH");
	if (v && strcmp(v, "off") == 0)
		return false;
#endif
	return m->servers.count <= 1 && m->ms.node_id && m->server_udp.len && !m->switching;
}

/* The receiver for this membership (node id and K): a new one when either changed. */
static struct managed_push_rx *receiver(struct managed *m)
{
	struct managed_push *p = &m->push;
	if (p->have_rx && (p->rx.node_id != m->ms.node_id || memcmp(m->control_key, p->rx.k, COORD_KEY_LEN) != 0)) {
		managed_push_rx_free(&p->rx);
		p->have_rx = false;
	}
	if (!p->have_rx) {
		managed_push_rx_init(&p->rx, m->control_key, m->ms.node_id);
		p->have_rx = true;
	}
	return &p->rx;
}

static void send_ack(struct managed *m, uint8_t flags)
{
	uint8_t msg[sizeof(struct coord_msg_push_ack)];
	if (!m->push.have_rx || !m->server_udp.len)
		return;
	if (managed_push_rx_ack(&m->push.rx, flags, m->ctl.view, wall_ns(), msg) < 0)
		return;
	if (flags)
		log_debug("push channel: PUSH_ACK %s%s stream %016llx offset %llu view \"%s\"",
			  flags & COORD_PUSH_ACK_OPEN ? "OPEN" : "", flags & COORD_PUSH_ACK_KEEP ? "|KEEP" : "",
			  (unsigned long long)m->push.rx.rx.stream_id, (unsigned long long)m->push.rx.rx.offset, m->ctl.view);
	m->host->send_udp(m->host_ctx, &m->server_udp, msg, sizeof(msg));
}

/* Something that wants an answer went out: the fallback clock runs. */
static void wait_answer(struct managed *m)
{
	struct managed_push *p = &m->push;
	if (p->wait.since_ns)
		return;
	coord_push_wait_start(&p->wait, ev_now(m->loop));
	ev_timer_start(m->loop, &p->timer, coord_push_wait_due(&p->wait));
}

static void send_open(struct managed *m, uint8_t flags)
{
	receiver(m);
	send_ack(m, flags);
	wait_answer(m);
}

/* Back to the HTTPS stream (it may be open already: OPENING keeps it). */
static void to_https(struct managed *m)
{
	m->st.control_push = 0;
	if (m->stream_req || !connected(m))
		return;
	m->stream_up = false;
	m->st.state = MANAGED_CONNECTING;
	managed_stream_open(m);
}

/* Off the push channel: the HTTPS stream; no OPEN for retry_s. */
static void fall_back(struct managed *m, unsigned retry_s, const char *why)
{
	struct managed_push *p = &m->push;
	if (p->state == MANAGED_PUSH_OFF)
		return;
	log_info("push channel: %s: the HTTPS stream%s", why, retry_s ? ", the push channel again later" : "");
	p->state = MANAGED_PUSH_OFF;
	p->retry_at = ev_now(m->loop) + (uint64_t)retry_s * EV_NSEC_PER_SEC;
	coord_push_wait_cancel(&p->wait);
	p->open_at = 0;
	ev_timer_stop(m->loop, &p->timer);
	if (p->have_rx && !p->in_line) /* else after the datagram (managed_push_input) */
		managed_push_rx_forget(&p->rx);
	to_https(m);
}

static void on_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct managed *m = t->data;
	struct managed_push *p = &m->push;
	uint64_t now = ev_now(loop), since = p->wait.since_ns;
	uint32_t rnd;
	if (p->open_at && now >= p->open_at) { /* the server's goodbye delay is over */
		p->open_at = 0;
		coord_push_wait_cancel(&p->wait); /* the fallback clock starts with this OPEN */
		send_open(m, COORD_PUSH_ACK_OPEN);
		return;
	}
	crypto_random(&rnd, sizeof(rnd));
	switch (coord_push_wait_tick(&p->wait, now, rnd)) {
	case COORD_PUSH_WAIT_FALLBACK:
		/* BINDINGs unanswered too: the server (or UDP) is gone, the
		 * push channel no worse than HTTPS; OPEN again with the next
		 * BINDING_ACK. Answered but no push: this server or path does
		 * not carry it; HTTPS for PUSH_RETRY_S. */
		if (m->binding_ack_at < since)
			fall_back(m, 0, "no answer from the server over UDP");
		else
			fall_back(m, PUSH_RETRY_S, "BINDINGs answered but no push");
		return;
	case COORD_PUSH_WAIT_ASK:
		/* Lost on the way, or a busy server? The BINDING first if it
		 * went unanswered (its ACK brings the PUSH_ACK), else the
		 * PUSH_ACK again. */
		log_debug("push channel: no answer for %.1f s: asking again (falling back after %u s)",
			  (double)(now - since) / 1e9, p->wait.worked ? COORD_PUSH_BUSY_FALLBACK_S : COORD_PUSH_FALLBACK_S);
		if (m->binding_ack_at < since)
			managed_rebind(m);
		else
			send_ack(m, COORD_PUSH_ACK_OPEN | COORD_PUSH_ACK_KEEP);
		break;
	default:
		break;
	}
	if (p->wait.since_ns)
		ev_timer_start(loop, t, coord_push_wait_due(&p->wait));
}

/* OFF: OPEN now if allowed and due, and not while an HTTPS stream is
 * bringing us our first view (the OPEN would take its place and start that
 * view again over UDP, where a big one does not fit: TOO_BIG): its "view"
 * line opens the push channel then (managed_push_view). */
static void try_open(struct managed *m)
{
	struct managed_push *p = &m->push;
	/* A BINDING_ACK since the fallback (retry_at): UDP works again. */
	if (p->state != MANAGED_PUSH_OFF || ev_now(m->loop) < p->retry_at || !m->binding_ack_at ||
	    m->binding_ack_at < p->retry_at || !connected(m) || !push_allowed(m) || (m->stream_req && !m->ctl.view[0]))
		return;
	p->state = MANAGED_PUSH_OPENING;
	send_open(m, COORD_PUSH_ACK_OPEN);
}

void managed_push_binding_sent(struct managed *m)
{
	if (m->push.state == MANAGED_PUSH_ON || m->push.state == MANAGED_PUSH_OPENING)
		wait_answer(m);
}

/* The keepalive timer: OPEN|KEEP instead of a BINDING while the push
 * channel is on, nothing is awaited, and a BINDING was answered within the
 * last COORD_PUSH_BINDING_EVERY - 1 timers. */
bool managed_push_keep(struct managed *m)
{
	struct managed_push *p = &m->push;
	if (p->state != MANAGED_PUSH_ON || p->wait.since_ns || !m->binding_ack_at || !connected(m) ||
	    !push_allowed(m) || p->keeps + 1 >= COORD_PUSH_BINDING_EVERY)
		return false;
	p->keeps++;
	send_ack(m, COORD_PUSH_ACK_OPEN | COORD_PUSH_ACK_KEEP);
	wait_answer(m);
	return true;
}

void managed_push_binding_ack(struct managed *m)
{
	struct managed_push *p = &m->push;
	p->keeps = 0;
	if (!connected(m))
		return;
	if (!push_allowed(m)) {
		fall_back(m, 0, "not used here");
		return;
	}
	switch (p->state) {
	case MANAGED_PUSH_OFF:
		try_open(m);
		return;
	case MANAGED_PUSH_OPENING:
	case MANAGED_PUSH_ON:
		send_ack(m, COORD_PUSH_ACK_OPEN | COORD_PUSH_ACK_KEEP);
		wait_answer(m);
		return;
	default:
		return; /* catching up over HTTPS */
	}
}

static void on_push_line(void *ctx, const char *line, size_t len)
{
	struct managed *m = ctx;
	/* A new push stream (ours opened, or the server's after a restart)
	 * begins with a view or a delta; the server may have forgotten the
	 * peers it gave us on demand. */
	if (m->push.rx.rx.stream_id != m->push.line_stream) {
		m->push.line_stream = m->push.rx.rx.stream_id;
		m->ctl.settled = false;
		managed_ondemand_stream_new(m);
	}
	m->push.in_line = true;
	managed_stream_take_line(m, line, len);
	m->push.in_line = false;
}

/* The stream ended: another at once (or after the server's goodbye delay). */
static void on_end(struct managed *m, bool too_big)
{
	struct managed_push *p = &m->push;
	managed_push_rx_forget(&p->rx);
	if (too_big) {
		log_info("push channel: the server owes us more than it holds for UDP: the view over HTTPS first");
		p->state = MANAGED_PUSH_CATCHUP;
		coord_push_wait_cancel(&p->wait);
		ev_timer_stop(m->loop, &p->timer);
		to_https(m);
		return;
	}
	if (p->state == MANAGED_PUSH_ON && connected(m)) {
		/* No stream until the next one answers (as when the HTTPS one ends). */
		m->stream_up = false;
		m->st.state = MANAGED_CONNECTING;
	}
	if (m->ctl.goodbye_ms) {
		uint64_t ms = m->ctl.goodbye_ms - 1 > PUSH_GOODBYE_MIN_MS ? m->ctl.goodbye_ms - 1 : PUSH_GOODBYE_MIN_MS;
		p->open_at = ev_now(m->loop) + ms * EV_NSEC_PER_MSEC;
		m->ctl.goodbye_ms = 0;
		coord_push_wait_cancel(&p->wait);
		ev_timer_start(m->loop, &p->timer, p->open_at);
		return;
	}
	send_open(m, COORD_PUSH_ACK_OPEN);
}

void managed_push_input(struct managed *m, const uint8_t *buf, size_t len)
{
	struct managed_push *p = &m->push;
	if ((p->state != MANAGED_PUSH_OPENING && p->state != MANAGED_PUSH_ON) || !p->have_rx || !connected(m))
		return; /* not asked for (a late datagram of a stream we left) */
	int r = managed_push_rx_input(&p->rx, buf, len, on_push_line, m);
	if (r != MANAGED_PUSH_IN_TAKEN) /* the unremarkable case: bytes in order */
		log_debug("push channel: PUSH_DATA %d (stream %016llx, offset %llu)", r,
			  (unsigned long long)p->rx.rx.stream_id, (unsigned long long)p->rx.rx.offset);
	if (r < 0)
		return; /* not ours */
	if (p->state == MANAGED_PUSH_OFF || !p->have_rx) {
		/* A line made us leave (the splitter could not go while it ran). */
		if (p->have_rx)
			managed_push_rx_forget(&p->rx);
		return;
	}
	if (r & MANAGED_PUSH_IN_TAKEN) {
		/* An answer: the server heard us since we began to wait (a
		 * BINDING_ACK since, a stream our OPEN opened, or KEPT: it had
		 * our KEEP). Bytes alone are not: with our datagrams to it
		 * lost, it goes on pushing and resending until it gives the
		 * stream up (~23 s). */
		if (r & MANAGED_PUSH_IN_KEPT)
			m->kept_at = ev_now(m->loop);
		if (p->wait.since_ns &&
		    (m->binding_ack_at >= p->wait.since_ns || (r & (MANAGED_PUSH_IN_NEW | MANAGED_PUSH_IN_KEPT)))) {
			coord_push_wait_answered(&p->wait);
			ev_timer_stop(m->loop, &p->timer);
		}
		p->wait.worked = true; /* authenticated: UDP from here to this server works */
		if (p->state == MANAGED_PUSH_ON)
			managed_stream_heard(m);
	}
	if (r & MANAGED_PUSH_IN_BROKEN) {
		fall_back(m, PUSH_RETRY_S, "a line over the limit");
		return;
	}
	if (p->rx.ack_now)
		send_ack(m, 0);
	/* The end, or the server's goodbye (it is going away: the stream
	 * with it, whether an END follows or not). */
	if ((r & MANAGED_PUSH_IN_END) || m->ctl.goodbye_ms) {
		send_ack(m, 0); /* the server may free it */
		on_end(m, (r & MANAGED_PUSH_IN_TOO_BIG) != 0);
	}
}

/* A "view" line: over UDP, the first one puts us on the push channel; over
 * HTTPS while catching up, the push channel is opened again from it. */
void managed_push_view(struct managed *m)
{
	struct managed_push *p = &m->push;
	if (p->in_line && p->state == MANAGED_PUSH_OPENING) {
		p->state = MANAGED_PUSH_ON;
		m->st.control_push = 1;
		log_info("connected to the server's push channel (UDP): the HTTPS stream is closed");
		managed_stream_tls_stop(m);
		managed_stream_heard(m);
	} else if (!p->in_line && p->state == MANAGED_PUSH_CATCHUP) {
		p->state = MANAGED_PUSH_OPENING;
		send_open(m, COORD_PUSH_ACK_OPEN);
	} else if (!p->in_line) {
		try_open(m); /* the HTTPS stream brought the view: the delta over UDP is small */
	}
}

/* The server list changed: several servers keep the HTTPS stream. */
void managed_push_servers(struct managed *m)
{
	if (m->servers.count > 1)
		fall_back(m, 0, "several servers (the HTTPS stream shows a dead one sooner)");
}

/* The server closed our HTTPS stream: a push stream took its place (an
 * OPEN of ours it answered late, while we caught up after TOO_BIG): true
 * if the push channel carries on (it falls back if nothing comes). */
bool managed_push_tls_closed(struct managed *m)
{
	struct managed_push *p = &m->push;
	if (p->state == MANAGED_PUSH_CATCHUP && p->have_rx) {
		log_info("push channel: the server moved our stream to UDP while we caught up over HTTPS");
		p->state = MANAGED_PUSH_OPENING;
		wait_answer(m);
	}
	return managed_push_holds(m);
}

bool managed_push_holds(const struct managed *m)
{
	return m->push.state == MANAGED_PUSH_ON || m->push.state == MANAGED_PUSH_OPENING;
}

bool managed_push_on(const struct managed *m)
{
	return m->push.state == MANAGED_PUSH_ON;
}

/* The end of the loop turn: one PUSH_ACK for everything taken in it. */
void managed_push_flush(struct managed *m)
{
	struct managed_push *p = &m->push;
	if (p->have_rx && (p->rx.ack_due || p->rx.ack_now) && managed_push_holds(m))
		send_ack(m, 0);
}

void managed_push_stop(struct managed *m)
{
	struct managed_push *p = &m->push;
	ev_timer_stop(m->loop, &p->timer);
	/* Within the splitter's callback the receiver cannot go: OFF makes
	 * managed_push_input forget its stream once the datagram is done. */
	if (p->have_rx && !p->in_line) {
		managed_push_rx_free(&p->rx);
		p->have_rx = false;
	}
	p->state = MANAGED_PUSH_OFF;
	p->retry_at = p->open_at = 0;
	memset(&p->wait, 0, sizeof(p->wait)); /* down, refused, stopped: it worked with no server now */
	m->st.control_push = 0;
}

/* Our address changed: UDP may not get through from the new network; a
 * wait that runs (the BINDING that goes out now) gets the short bound. */
void managed_push_address_changed(struct managed *m)
{
	struct managed_push *p = &m->push;
	coord_push_wait_reset(&p->wait);
	if (p->wait.since_ns)
		ev_timer_start(m->loop, &p->timer, coord_push_wait_due(&p->wait));
}

void managed_push_init(struct managed *m)
{
	ev_timer_init(&m->push.timer, on_timer, m);
}
