/* The node's relay link (s4 of issue 10): how its datagrams for the
 * server's relay (EP_RELAY) reach the server when UDP does not. Runs in
 * roamd's agent, which holds libcurl and TLS; the monitor hands it the
 * datagrams through the datagram pair (daemon/transport/dgram_pair.h)
 * and gets back what the server sends.
 *
 *   relaylink.c   the ladder's I/O side: opens and closes links as
 *                 ladder.c (no I/O) says, keepalives, what goes where
 *   link_stream.c TLS stream and WebSocket: libcurl CONNECT_ONLY (proxy
 *                 CONNECT, TLS, the server's key pinned), then our own
 *                 HTTP/1.1 Upgrade and framing on the connection
 *   link_ws.c     the WebSocket framing (wslay) over link_stream.c
 *   link_poll.c   HTTP long-poll (GET down, POST up) through http_client.c
 *
 * Every datagram is one of lib/coord/relay_link.h's: RELAY (to and from
 * the data plane), RELAY_KEEPALIVE and RELAY_PING/PONG (ours). */
#ifndef ROAM_DAEMON_RELAYLINK_H
#define ROAM_DAEMON_RELAYLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/managed/managed_host.h"
#include "daemon/proxy.h"
#include "ev/loop.h"

struct relaylink;

struct relaylink_ops {
	/* "Roam-Auth: ..." for an empty-bodied request (method, target). */
	int (*auth)(void *ctx, const char *method, const char *target, char *out, size_t cap);
	/* A RELAY datagram from the server, for the data plane. */
	void (*deliver)(void *ctx, const uint8_t *d, size_t len);
	/* The link that carries changed. */
	void (*changed)(void *ctx, enum managed_relay_link link);
	/* More header lines for the authenticated request (a relay-only
	 * server's "Roam-Ticket: ..."), without the final CRLF; may be NULL. */
	int (*headers)(void *ctx, char *out, size_t cap);
	/* A RELAY_PONG echoing echo (our ev_now when its PING went) came on
	 * a TCP link; may be NULL. */
	void (*pong)(void *ctx, uint64_t echo);
	/* Send a BINDING (relay 0) or RELAY_BIND (a relay-only server) now:
	 * the last went unanswered and one loss must not move us to TCP; may
	 * be NULL (then the first loss climbs). */
	void (*reprobe)(void *ctx);
};

int relaylink_new(struct ev_loop *loop, const struct relaylink_ops *ops, void *ctx, struct relaylink **out);
void relaylink_free(struct relaylink *rl); /* NULL-safe */

/* (Re)starts the ladder towards server url (https://host[:port]), its
 * key pinned by pin ("sha256//..." or NULL: system CAs), through proxy
 * (copied; NULL: the environment's). forced: the test knob (NONE: the
 * ladder chooses). */
int relaylink_start(struct relaylink *rl, const char *url, const char *pin, const struct roamd_proxy *proxy,
		    enum managed_relay_link forced);
/* Is the ladder running towards url through proxy? */
bool relaylink_runs_with(const struct relaylink *rl, const char *url, const struct roamd_proxy *proxy);
void relaylink_stop(struct relaylink *rl); /* closes every link: NONE */
/* Through a TLS-intercepting proxy (roam up --allow-tls-interception): k
 * (our control key K) proves the server inside instead of the pin (the
 * Upgrade's 101 and the long-poll session's answer carry its mac; the
 * frames are WireGuard's). NULL: the pin again. For links opened after. */
void relaylink_set_server_auth(struct relaylink *rl, const uint8_t k[COORD_KEY_LEN]);
/* Interception allowed but not met on the control server: the pin first,
 * and if a TLS link finds another key (a proxy intercepting this relay
 * only), k from then on, as relaylink_set_server_auth(k). NULL: none. */
void relaylink_set_server_auth_fallback(struct relaylink *rl, const uint8_t k[COORD_KEY_LEN]);

/* UDP news for the ladder: a BINDING_ACK arrived; the netcheck says UDP
 * to the server is blocked. */
void relaylink_udp_ack(struct relaylink *rl);
/* A BINDING went out (ladder_udp_probe). */
void relaylink_udp_probe(struct relaylink *rl);
void relaylink_udp_blocked(struct relaylink *rl, bool blocked);

/* A datagram from the data plane for the server (a RELAY). Dropped and
 * counted when no TCP link is up. */
void relaylink_send(struct relaylink *rl, const uint8_t *d, size_t len);
/* The last phase of the loop turn: write what the turn queued. */
void relaylink_flush(struct relaylink *rl);

enum managed_relay_link relaylink_current(const struct relaylink *rl);
/* A RELAY_PING (echo: now) on the TCP link that carries: 0, or
 * -ENOTCONN when no TCP link carries (UDP's are managed mode's). */
int relaylink_ping(struct relaylink *rl, uint64_t now);
/* The round trip of the TCP link that carries (RELAY_PING), 0 if none. */
uint32_t relaylink_rtt_us(const struct relaylink *rl);
unsigned relaylink_binding_interval_s(const struct relaylink *rl, unsigned normal_s);

/* The long-poll link carries and had to fall back to short polls (a proxy
 * buffers its streamed replies). */
bool relaylink_short_polls(const struct relaylink *rl);

/* test_hooks.c: ROAMD_TEST_RELAY_LINK (test builds only), else NONE. */
enum managed_relay_link relaylink_test_forced(void);
/* test_hooks.c: ROAMD_TEST_RELAY_POLL=short (test builds only): the
 * long-poll link starts with short polls, as behind a buffering proxy. */
bool relaylink_test_short_polls(void);

#endif
