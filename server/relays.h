/* The control server's view of relay-only servers (docs/control-protocol.md,
 * "Several relays"): the relays table from the store (reloaded with admin
 * changes), their control streams (GET /v1/relay/control: ticket floors and
 * pings), their load reports, and the relay map pushed to nodes
 * ({"type":"relays",...}; relay 0 is this server). */
#ifndef ROAM_SERVER_RELAYS_H
#define ROAM_SERVER_RELAYS_H

#include <stdbool.h>
#include <stdint.h>

#include "server/store.h"

struct server;
struct dir_node;
struct evhttp_request;

#define RELAYS_FLOORS_MAX 4096      /* recent floors replayed to a relay that (re)connects */
#define RELAYS_CONTROL_OUTPUT_MAX (1024 * 1024) /* a relay not reading its control stream is cut off */

struct srv_relay {
	struct server *srv;
	struct store_relay rec;
	uint8_t k[32]; /* K_r, once registered */
	bool k_ok;
	struct evhttp_request *control; /* its open control stream, or NULL */
};

struct relay_floor {
	uint32_t node_id;
	uint64_t serial;
	int64_t at;
};

struct srv_relays {
	struct srv_relay *by_id[STORE_RELAYS_MAX + 1]; /* [0] unused: relay 0 is this server */
	struct relay_floor floors[RELAYS_FLOORS_MAX];  /* a ring, the oldest overwritten */
	size_t floors_next, floors_count;
	bool floors_save_queued; /* ticket_floors.c: written at the end of the loop turn */
	char *map_line;        /* the relay map as sent last; NULL before the first */
	char self_host[256];   /* relay 0: this server's host and port, as init stored them */
	uint16_t self_port;
};

int relays_open(struct server *s);
void relays_close(struct server *s);
/* The table from the store again (after an admin change); the nodes get
 * a new map if it changed, a removed relay's control stream is closed. */
int relays_reload(struct server *s);
struct srv_relay *relays_by_key(struct server *s, const uint8_t pub[32]);
/* First registration or a restart of the relay: key, UDP port, TLS pin. */
int relays_registered(struct server *s, struct srv_relay *rl, const uint8_t pub[32], uint16_t udp_port,
		      const uint8_t tls_pin[32]);
int relays_load_report(struct server *s, struct srv_relay *rl, const struct store_relay *load);
/* Takes over req as rl's control stream (replacing an older one). */
int relays_control_open(struct server *s, struct srv_relay *rl, struct evhttp_request *req);
/* Tickets of node_id below a new serial are void: told to every relay. */
void relays_floor(struct server *s, uint32_t node_id);
void relays_ping_all(struct server *s);
/* ticket_floors.c: the live floors to the store (at the end of this loop
 * turn) / from it (at start). */
int relays_floors_save(struct server *s);
void relays_floors_flush(struct server *s); /* a save still queued: now */
int relays_floors_load(struct server *s);

/* ticket_floors.c, for the admin CLI writing the database while no server
 * runs (cmd_common.c): a snapshot of the nodes before the change, then
 * floors at the stored "ticket_serial" ceiling for each node the change
 * removed, expired or took out of a group, appended to the stored list the
 * next server loads. *added: how many. 0 or -errno. */
struct floor_nodes;
int ticket_floors_snapshot(struct store *st, struct floor_nodes **out);
void ticket_floors_snapshot_free(struct floor_nodes *l);
int ticket_floors_offline(struct store *st, const struct floor_nodes *before, int64_t now, size_t *added);
/* The relay map on n's stream. */
void relays_send_map(struct server *s, struct dir_node *n);

#endif
