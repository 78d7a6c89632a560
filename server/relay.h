/* The server's UDP protocol with no I/O: BINDING in (BINDING_ACK, or a
 * CHALLENGE when the source address:port is bound to another node), and the
 * relay, which forwards well-formed WireGuard messages (and path probes)
 * between reachable nodes that share a group, whether they came over UDP or
 * a relay link (server/links/), delivering on the destination's best link,
 * else to its UDP endpoint. A datagram, its source and the time go in;
 * datagrams and presence events come out through callbacks (relay_udp.c
 * wires them to the socket, the links and the streams, fuzz_server_udp.c
 * to a recorder). */
#ifndef ROAM_SERVER_RELAY_H
#define ROAM_SERVER_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"
#include "net/addr.h"

struct directory;
struct dir_node;
struct server_stats;
struct coord_push_ack;

struct relay_ops {
	int (*send)(void *ctx, const struct sockaddr_any *to, const uint8_t *buf, size_t len); /* 0, -errno */
	/* n proved its endpoint (online, last_seen set): re-arm its presence;
	 * moved: the endpoint is new, tell its viewers. */
	void (*bound)(void *ctx, struct dir_node *n, bool moved);
	/* other lost its endpoint to a node that proved it receives there. */
	void (*evicted)(void *ctx, struct dir_node *other);
	/* Delivers to n over its best open relay link (server/links/):
	 * 0; -ENOTCONN: it has none (the relay uses its UDP endpoint);
	 * -ENOBUFS: the link's queue is full; other -errno. NULL: no links. */
	int (*link_send)(void *ctx, struct dir_node *n, const uint8_t *buf, size_t len);
	/* A PUSH_ACK from n that passed every check (mac, fresh and newer than
	 * n's last, from n's bound endpoint). NULL: PUSH_ACKs are not ours. */
	void (*push_ack)(void *ctx, struct dir_node *n, const struct coord_push_ack *a);
};

struct relay {
	struct directory *dir;
	struct server_stats *stats;
	uint8_t cookie_secret[COORD_KEY_LEN]; /* random at init, never leaves the process */
	struct relay_ops ops;
	void *ctx;
	/* A relay-only server (set after relay_init): the ticket of a
	 * RELAY_BIND from node_id admits (or refreshes) that node; 0 or
	 * -errno. NULL: RELAY_BIND is refused. */
	int (*admit)(void *ctx, const uint8_t *ticket, size_t len, int64_t now, uint32_t node_id);
	uint64_t rate_bytes_s; /* per source node and second; 0: no limit (set after relay_init) */
	/* The relay thread's budget of node_id (relay_thread.c), so that a node
	 * sending both over UDP and over a link has one budget: 1 allowed, 0
	 * over, -ENOENT not known there (the node's own state then). NULL: no
	 * thread. */
	int (*rate)(void *ctx, uint32_t node_id, size_t len, int64_t now);
};

void relay_init(struct relay *r, struct directory *dir, struct server_stats *stats, const struct relay_ops *ops,
		void *ctx);
void relay_wipe(struct relay *r);
/* One datagram from `from` at now_ns (wall clock). buf may be rewritten (the
 * relay header is turned around in place). */
void relay_input(struct relay *r, uint8_t *buf, size_t len, const struct sockaddr_any *from, uint64_t now_ns);

/* A RELAY datagram from src, however it came (its UDP endpoint or one of
 * its relay links): checked (well-formed WireGuard message or path probe,
 * src and destination usable and in a shared group) and delivered on the
 * destination's best relay link, else to its UDP endpoint. buf is
 * rewritten in place. 0 when forwarded, else -errno (counted by reason). */
int relay_forward(struct relay *r, struct dir_node *src, uint8_t *buf, size_t len, int64_t now);

/* UDP RELAY_PINGs answered per bound node: a PONG is no bigger than its PING,
 * the cap only bounds the work. */
#define RELAY_PONG_RATE 10 /* per second */
#define RELAY_PONG_BURST 20

#endif
