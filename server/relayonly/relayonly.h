/* roam-server relay: a relay-only server (docs/control-protocol.md,
 * "Several relays"). The same event loop, HTTPS listener, UDP relay and
 * relay links as the control server (server.c with cfg.relay_only), but no
 * store: its directory holds the nodes that showed a valid ticket, with
 * the ticket's key, expiry and groups as their record (so relay_forward's
 * group check reads ticket groups here, store groups there), and K_nr as
 * their key. A control thread (control.c) registers with the control
 * server, follows its control stream (ticket floors, handed to the loop
 * over a pipe) and reports load every 10 s. */
#ifndef ROAM_SERVER_RELAYONLY_H
#define ROAM_SERVER_RELAYONLY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/ticket.h"

struct server;
struct event;

#define RELAYONLY_LOAD_S 10
#define RELAYONLY_TICKET_HEADER "Roam-Ticket"
#define RELAYONLY_NODE_ID_MAX (254u * 16384u) /* the control server's node ids stay below */

struct relayonly {
	/* the control server */
	char url[300], host[256], port[16];
	struct relay_token token;
	char region[64];
	uint32_t relay_id;
	uint8_t ticket_key[TICKET_PUB_LEN];
	/* floors: node id -> lowest valid serial (grown on demand) */
	uint64_t *floors;
	size_t floors_cap;
	int pipe[2];          /* control thread -> loop: struct relayonly_floor */
	struct event *floor_ev, *sweep_ev;
	pthread_t thread;
	bool thread_started;
	int stop;             /* atomic: the thread ends */
	struct server *srv;
	uint64_t tickets_bad, tickets_old, tickets_expired; /* refused tickets, by reason */
	/* the load report, made by the loop, sent by the thread */
	pthread_mutex_t load_lock;
	char load_json[384];
	uint64_t load_relayed, load_bytes; /* stats.relayed(_bytes) at the last report */
};

struct relayonly_floor {
	uint32_t node_id;
	uint64_t serial;
};

/* tickets.c side: a node's Roam-Ticket (base64) for a request signed by
 * auth_pub: checked and its node put in (or refreshed in) the directory.
 * 0, or -EACCES (bad, expired, floored, or not auth_pub's). */
int relayonly_admit(struct server *s, const char *ticket_b64, const uint8_t auth_pub[32], int64_t now);
/* The same for raw ticket bytes (RELAY_BIND). */
int relayonly_admit_raw(struct server *s, const uint8_t *ticket, size_t len, const uint8_t node_pub[32],
			int64_t now);
/* relay_ops.admit (RELAY_BIND): the ticket must be node_id's. */
int relayonly_udp_admit(void *ctx, const uint8_t *ticket, size_t len, int64_t now, uint32_t node_id);
int relayonly_loop_open(struct server *s); /* the floor pipe's event, the expiry sweep */
void relayonly_loop_close(struct server *s);

/* control.c */
/* Registers (blocking; retried until it succeeds or *stop): relay_id and
 * the ticket key. */
int relayonly_register(struct relayonly *ro, const uint8_t relay_priv[32], const uint8_t relay_pub[32],
		       const uint8_t tls_pin[32], uint16_t udp_port);
int relayonly_thread_start(struct relayonly *ro, const uint8_t relay_priv[32], const uint8_t relay_pub[32]);
void relayonly_thread_stop(struct relayonly *ro);

#endif
