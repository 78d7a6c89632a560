/* Managed mode: roamd as a member of a roam network run by roam-server
 * (docs/control-protocol.md). It registers its key, takes the overlay
 * addresses it is given, keeps the server told where it is (BINDING over the
 * tunnel socket, private endpoints over HTTPS), follows the server's stream
 * of peers it shares a group with, turns each into a WireGuard peer on a
 * direct or relayed path, and keeps working with its last view whenever the
 * server is away. */
#ifndef ROAM_DAEMON_MANAGED_H
#define ROAM_DAEMON_MANAGED_H

#include <stdbool.h>
#include <stdint.h>

#include "coord/json.h"
#include "daemon/http_client.h"
#include "daemon/node_state.h"
#include "ev/loop.h"
#include "net/addr.h"

struct roamd;
struct wg_peer;

enum managed_phase {
	MANAGED_IDLE,             /* not joined: waiting for `roam up` */
	MANAGED_REGISTERING,
	MANAGED_WAITING_APPROVAL, /* registered without a pre-auth key */
	MANAGED_ONLINE,           /* registered; stream up or being re-established */
	MANAGED_FAILED,           /* the server refused us: see error */
};

enum managed_path {
	PATH_NONE,           /* offline, or no endpoint known yet */
	PATH_DIRECT,         /* its public endpoint */
	PATH_DIRECT_PRIVATE, /* same NAT: its private endpoint */
	PATH_PEER_INITIATES, /* it is behind NAT and we are not: it reaches us */
	PATH_RELAY,          /* through the server's relay */
};

/* What we know of one peer, hung on wg_peer->user. */
struct managed_peer {
	struct coord_peer info;
	enum managed_path path;
};

struct managed {
	struct roamd *d;
	const char *state_dir;
	struct node_state st;
	uint8_t control_key[32]; /* K: proves our key to the server */

	enum managed_phase phase;
	char error[256];
	struct coord_node self;
	bool have_self;
	struct sockaddr_any public_endpoint; /* as the server saw our BINDING */
	bool nat;

	struct http_client *http;
	struct http_request *register_req, *stream_req;
	char pin[64]; /* "sha256//<base64>" or "" */
	struct sockaddr_any server_udp;
	bool stream_up;
	unsigned backoff_s;
	struct ev_timer binding_timer, retry_timer;
	struct ev_timer stream_watchdog; /* no line (not even a ping) for too long: reconnect */
	uint64_t binding_ts; /* timestamp of our latest BINDING */
	bool addresses_set;
	uint32_t relay_source; /* node id of the relayed datagram being processed */
};

int managed_start(struct managed *m, struct roamd *d, const char *state_dir);
void managed_stop(struct managed *m, bool logout);

/* `roam up`: join (server, token, name given) or rejoin (all NULL). 0, or
 * -errno with m->error set. */
int managed_up(struct managed *m, const char *server, const char *token, const char *name);
/* `roam down`: log out, forget peers, stay down across restarts. */
void managed_down(struct managed *m);

/* From the data plane. managed_udp_input: a datagram of ours (BINDING_ACK,
 * RELAY); returns false if it is not one. managed_relay_target: if `to` is
 * the relay, the node id to address (0 if not relayed). */
bool managed_udp_input(struct managed *m, uint8_t *buf, size_t len, const struct sockaddr_any *from, uint64_t now);
uint32_t managed_relay_target(struct managed *m, const struct wg_peer *peer, const struct sockaddr_any *to);
/* Our addresses changed: BINDING at once, private endpoints re-sent. */
void managed_address_changed(struct managed *m);

/* managed_peers.c */
int managed_apply_peer(struct managed *m, const struct coord_peer *p);
void managed_remove_peer(struct managed *m, const uint8_t public_key[32]);
void managed_remove_all_peers(struct managed *m);
void managed_repath_all(struct managed *m);
const char *managed_path_name(enum managed_path path);
const char *managed_phase_name(enum managed_phase phase);

/* managed_udp.c */
void managed_send_binding(struct managed *m);

#endif
