/* relay.h: BINDING (with the return-routability challenge) and the relay. */
#include "server/relay.h"

#include <errno.h>
#include <string.h>

#include "coord/probe.h"
#include "coord/push.h"
#include "coord/relay_link.h"
#include "coord/ticket.h"
#include "coord/udp.h"
#include "crypto/crypto.h"
#include "server/directory.h"
#include "server/server.h"

void relay_init(struct relay *r, struct directory *dir, struct server_stats *stats, const struct relay_ops *ops,
		void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->dir = dir;
	r->stats = stats;
	r->ops = *ops;
	r->ctx = ctx;
	crypto_random(r->cookie_secret, sizeof(r->cookie_secret));
}

void relay_wipe(struct relay *r)
{
	crypto_wipe(r->cookie_secret, sizeof(r->cookie_secret));
}

/* Made for this address, port and node in this time bucket or the last. */
static bool cookie_valid(const struct relay *r, const uint8_t *cookie, const struct sockaddr_any *from,
			 uint32_t id, uint64_t now_s)
{
	uint8_t want[COORD_COOKIE_LEN];
	uint64_t bucket = now_s / COORD_COOKIE_BUCKET_S;
	bool ok = coord_cookie_make(want, r->cookie_secret, from, id, bucket) == 0 &&
		  crypto_equal(want, cookie, COORD_COOKIE_LEN);

	if (!ok && bucket > 0)
		ok = coord_cookie_make(want, r->cookie_secret, from, id, bucket - 1) == 0 &&
		     crypto_equal(want, cookie, COORD_COOKIE_LEN);
	crypto_wipe(want, sizeof(want));
	return ok;
}

/* The source is bound to another live node: ask the sender to prove it
 * receives there. The answer goes to the address, not to whoever sent. */
static void send_challenge(struct relay *r, const struct dir_node *n, const struct sockaddr_any *from,
			   uint64_t ts, uint64_t now_s)
{
	uint8_t cookie[COORD_COOKIE_LEN], msg[sizeof(struct coord_msg_challenge)];

	if (coord_cookie_make(cookie, r->cookie_secret, from, n->rec.id, now_s / COORD_COOKIE_BUCKET_S) < 0)
		return;
	coord_challenge_build(msg, n->k, n->rec.id, ts, cookie);
	r->stats->challenges++;
	r->ops.send(r->ctx, from, msg, sizeof(msg));
}

static void binding_accept(struct relay *r, struct dir_node *n, uint64_t ts, const uint8_t *cookie,
			   const struct sockaddr_any *from, uint64_t now_ns);

static void binding_input(struct relay *r, const uint8_t *buf, size_t len, const struct sockaddr_any *from,
			  uint64_t now_ns)
{
	uint64_t now_s = now_ns / 1000000000u, ts;
	const uint8_t *cookie;
	struct dir_node *n;
	uint32_t id;

	if (coord_binding_peek(buf, len, &id) < 0 || !(n = dir_node_get(r->dir, id)) ||
	    !dir_node_active(n, (int64_t)now_s) || coord_binding_verify(buf, len, n->k, &ts, &cookie) < 0) {
		r->stats->bindings_bad++;
		return;
	}
	binding_accept(r, n, ts, cookie, from, now_ns);
}

/* A BINDING or RELAY_BIND whose mac verified: n's endpoint is from. */
static void binding_accept(struct relay *r, struct dir_node *n, uint64_t ts, const uint8_t *cookie,
			   const struct sockaddr_any *from, uint64_t now_ns)
{
	uint8_t ack[sizeof(struct coord_msg_binding_ack)];
	uint64_t now_s = now_ns / 1000000000u;
	uint32_t id = n->rec.id;
	struct dir_node *other;
	bool moved;

	/* Fresh and newer than the last one: a captured BINDING replayed from
	 * elsewhere cannot move the node's endpoint. */
	if (ts + COORD_BINDING_MAX_SKEW_NS < now_ns || ts > now_ns + COORD_BINDING_MAX_SKEW_NS ||
	    ts <= n->last_binding_ts)
		goto bad;
	n->last_binding_ts = ts;
	/* Anyone can put another node's address on a datagram signed with its
	 * own key; only the one that receives there answers the challenge. */
	other = dir_node_by_endpoint(r->dir, from);
	if (other == n || (other && (!other->online || !dir_node_active(other, (int64_t)now_s))))
		other = NULL;
	if (other && (!cookie || !cookie_valid(r, cookie, from, id, now_s))) {
		send_challenge(r, n, from, ts, now_s);
		return;
	}
	moved = !n->online || !n->public_ep.len || !sockaddr_any_equal(&n->public_ep, from);
	if (moved && dir_set_public(r->dir, n, from) < 0)
		return;
	if (!n->online)
		dir_relay_touch(r->dir, n->rec.id);
	n->online = true;
	n->last_seen = (int64_t)now_s;
	if (coord_binding_ack_build(ack, n->k, id, ts, from) == 0)
		r->ops.send(r->ctx, from, ack, sizeof(ack));
	r->stats->bindings++;
	r->ops.bound(r->ctx, n, moved);
	if (other) {
		r->stats->takeovers++;
		r->ops.evicted(r->ctx, other);
	}
	return;
bad:
	r->stats->bindings_bad++;
}

/* Whether dst can be reached at all: a relay link, or a live binding. */
static bool relay_reachable(const struct dir_node *dst)
{
	return dst->online && (dst->public_ep.len || dir_node_linked(dst));
}

static int relay_deliver(struct relay *r, struct dir_node *dst, const uint8_t *buf, size_t len)
{
	int rc = r->ops.link_send ? r->ops.link_send(r->ctx, dst, buf, len) : -ENOTCONN;

	if (rc == -ENOTCONN)
		rc = dst->public_ep.len ? r->ops.send(r->ctx, &dst->public_ep, buf, len) : -ENOTCONN;
	return rc;
}

/* The per-client rate limit (roam-server relay --rate-limit): at most
 * rate_bytes_s bytes from one node in each wall-clock second. */
static bool relay_rate_allows(struct relay *r, struct dir_node *src, size_t len, int64_t now)
{
	if (!r->rate_bytes_s)
		return true;
	int shared = r->rate ? r->rate(r->ctx, src->rec.id, len, now) : -ENOENT;
	if (shared >= 0)
		return shared;
	if (src->rate_window != now) {
		src->rate_window = now;
		src->rate_used = 0;
	}
	if (src->rate_used + len > r->rate_bytes_s)
		return false;
	src->rate_used += len;
	return true;
}

int relay_forward(struct relay *r, struct dir_node *src, uint8_t *buf, size_t len, int64_t now)
{
	struct server_stats *st = r->stats;
	struct dir_node *dst;
	const uint8_t *payload;
	size_t payload_len;
	uint32_t dst_id;
	int rc;

	st->relay_dropped++; /* until it is sent */
	if (coord_relay_parse(buf, len, &dst_id, &payload, &payload_len) < 0) {
		st->relay_drop_malformed++;
		return -EBADMSG;
	}
	uint8_t probe_type;
	const uint8_t *probe_sender;
	bool probe = coord_probe_peek(payload, payload_len, &probe_type, &probe_sender) == 0;
	/* Path probes (PING, PONG, CALLME: exact sizes) travel like WireGuard
	 * messages: the relay is itself a path, and CALLME reaches a peer
	 * behind a NAT only this way. Their macs are for the peer to check. */
	switch (probe ? COORD_WG_OK : coord_wg_message_check(payload, payload_len)) {
	case COORD_WG_OK:
		break;
	case COORD_WG_BAD_SIZE:
		st->relay_drop_bad_size++;
		return -EMSGSIZE;
	default:
		st->relay_drop_not_wg++;
		return -EBADMSG;
	}
	if (!src || !src->online || !dir_node_active(src, now)) {
		st->relay_drop_sender++;
		return -EPERM;
	}
	if (!(dst = dir_node_get(r->dir, dst_id)) || dst == src || !relay_reachable(dst) ||
	    !dir_node_active(dst, now) || !dir_share_group(src, dst)) {
		st->relay_drop_dest++;
		return -EHOSTUNREACH;
	}
	if (!relay_rate_allows(r, src, len, now)) {
		st->relay_drop_rate++;
		return -ENOBUFS;
	}
	coord_relay_header_write(buf, src->rec.id);
	if ((rc = relay_deliver(r, dst, buf, len)) < 0) {
		if (rc == -ENOBUFS)
			st->relay_drop_slow++;
		else
			st->relay_drop_send++;
		return rc;
	}
	st->relay_dropped--;
	st->relayed++;
	st->relayed_bytes += len;
	st->relayed_probes += probe;
	return 0;
}

/* Token bucket of RELAY_PONG_BURST, refilled at RELAY_PONG_RATE/s. */
static bool relay_pong_allowed(struct dir_node *n, uint64_t now_ns)
{
	const uint64_t cost = 1000000000u / RELAY_PONG_RATE, cap = cost * RELAY_PONG_BURST;
	uint64_t credit = n->pong_credit_ns;

	if (now_ns > n->pong_last_ns)
		credit += now_ns - n->pong_last_ns;
	n->pong_last_ns = now_ns;
	if (credit > cap)
		credit = cap;
	if (credit < cost) {
		n->pong_credit_ns = credit;
		return false;
	}
	n->pong_credit_ns = credit - cost;
	return true;
}

/* A RELAY_PING to the UDP port: a PONG back to a bound node's endpoint. */
static void relay_ping_input(struct relay *r, const uint8_t *buf, size_t len, const struct sockaddr_any *from,
			     uint64_t now_ns)
{
	uint8_t pong[sizeof(struct relay_msg_ping)], type;
	struct dir_node *n;
	uint64_t echo;

	if (relay_ping_parse(buf, len, &type, &echo) < 0 || type != COORD_MSG_RELAY_PING ||
	    !(n = dir_node_by_endpoint(r->dir, from)) || !n->online || !relay_pong_allowed(n, now_ns)) {
		r->stats->relay_pings_dropped++;
		return;
	}
	relay_ping_build(pong, COORD_MSG_RELAY_PONG, echo);
	r->stats->relay_pongs++;
	r->ops.send(r->ctx, from, pong, sizeof(pong));
}

/* RELAY_BIND (relay-only servers): the ticket admits the node (r->admit),
 * then it is a BINDING with K_nr. No cookie: a takeover of another node's
 * endpoint is challenged with a CHALLENGE the node answers by BINDING. */
static void relay_bind_input(struct relay *r, const uint8_t *buf, size_t len, const struct sockaddr_any *from,
			     uint64_t now_ns)
{
	const uint8_t *ticket;
	size_t ticket_len;
	struct dir_node *n;
	uint32_t id;
	uint64_t ts;

	if (!r->admit || relay_bind_parse(buf, len, &id, &ts, &ticket, &ticket_len) < 0 ||
	    r->admit(r->ctx, ticket, ticket_len, (int64_t)(now_ns / 1000000000u), id) < 0 ||
	    !(n = dir_node_get(r->dir, id)) || relay_bind_verify(buf, len, n->k) < 0) {
		r->stats->bindings_bad++;
		return;
	}
	binding_accept(r, n, ts, NULL, from, now_ns);
}

/* PUSH_ACK (docs/control-protocol.md, "Push channel"): only from the
 * endpoint the node proved with a BINDING, so a push never goes toward a
 * spoofed address, and a captured PUSH_ACK replayed from elsewhere or
 * later does nothing. A KEEP refreshes the binding as a BINDING from
 * there would (COORD_PUSH_BINDING_EVERY): it is as fresh, as authentic
 * and from the same endpoint; its answer says so (KEPT). */
static void push_ack_input(struct relay *r, const uint8_t *buf, size_t len, const struct sockaddr_any *from,
			   uint64_t now_ns)
{
	struct coord_push_ack a;
	struct dir_node *n;
	uint32_t id;

	if (!r->ops.push_ack) {
		r->stats->udp_other++;
		return;
	}
	if (coord_push_ack_peek(buf, len, &id) < 0 || !(n = dir_node_get(r->dir, id)) ||
	    !dir_node_active(n, (int64_t)(now_ns / 1000000000u)) || coord_push_ack_parse(buf, len, n->k, &a) < 0 ||
	    a.timestamp_ns + COORD_BINDING_MAX_SKEW_NS < now_ns || a.timestamp_ns > now_ns + COORD_BINDING_MAX_SKEW_NS ||
	    a.timestamp_ns <= n->last_push_ts || !n->online || !sockaddr_any_equal(&n->public_ep, from)) {
		r->stats->push_bad++;
		return;
	}
	n->last_push_ts = a.timestamp_ns;
	r->stats->push_acks++;
	if (a.flags & COORD_PUSH_ACK_KEEP) {
		n->last_seen = (int64_t)(now_ns / 1000000000u);
		r->stats->push_keeps++;
		r->ops.bound(r->ctx, n, false);
	}
	r->ops.push_ack(r->ctx, n, &a);
}

void relay_input(struct relay *r, uint8_t *buf, size_t len, const struct sockaddr_any *from, uint64_t now_ns)
{
	if (len && buf[0] == COORD_MSG_RELAY_BIND) {
		relay_bind_input(r, buf, len, from, now_ns);
		return;
	}
	/* The relay link's own PING (lib/coord/relay_link.h) and PUSH_ACK are
	 * not among coord_msg_type's UDP messages. */
	if (len && buf[0] == COORD_MSG_RELAY_PING) {
		relay_ping_input(r, buf, len, from, now_ns);
		return;
	}
	if (len && buf[0] == COORD_MSG_PUSH_ACK) { /* the relay thread hands it back */
		push_ack_input(r, buf, len, from, now_ns);
		return;
	}
	switch (coord_msg_type(buf, len)) {
	case COORD_MSG_BINDING:
		binding_input(r, buf, len, from, now_ns);
		break;
	case COORD_MSG_RELAY:
		/* The sender is who its address says: only a node's current bound
		 * endpoint (proved by a BINDING) can use the relay over UDP. */
		relay_forward(r, dir_node_by_endpoint(r->dir, from), buf, len, (int64_t)(now_ns / 1000000000u));
		break;
	default:
		r->stats->udp_other++;
		break;
	}
}
