/* The server's in-memory directory: every node with its groups, its control
 * key K, and its presence (endpoints, NAT flag, online, last seen), indexed
 * by id, public key and bound public endpoint. No I/O and no clock: callers
 * pass the time in, the program turns changes into stream pushes.
 *
 * Persistent facts (name, key, addresses, approval, groups) come from the
 * store and are refreshed with dir_node_set(); presence lives only here. */
#ifndef ROAM_SERVER_DIRECTORY_H
#define ROAM_SERVER_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/json.h"
#include "net/addr.h"
#include "server/store.h"

struct srv_stream;
struct relay_link;

/* Relay link kinds, in order of preference for delivery (server/links/). */
enum dir_link_kind { DIR_LINK_TLS, DIR_LINK_WS, DIR_LINK_POLL, DIR_LINK_KINDS };

struct dir_node {
	struct store_node rec;            /* as stored */
	uint8_t k[COORD_KEY_LEN];         /* control key, derived on load */
	bool k_ok;                        /* false: low-order key, never authenticates */
	/* presence */
	struct sockaddr_any public_ep;    /* len 0: no binding */
	size_t private_count;
	struct sockaddr_any private_eps[COORD_PRIVATE_MAX];
	bool nat;
	/* What it last posted to /v1/endpoints (kept in the store: schema 8) */
	enum coord_mapping mapping;       /* as the node's netcheck reports it */
	struct sockaddr_any mapped_ep;    /* a port mapping it reports; len 0: none */
	struct coord_relay_rtts relay_rtt; /* its round trips to the relays */
	uint64_t endpoints_hash;          /* of the JSON stored: unchanged ones are not written again */
	bool online;                      /* a live binding (public_ep) or a relay link */
	int64_t last_seen;                /* unix seconds */
	uint64_t last_binding_ts;         /* replay floor for BINDING timestamps */
	uint64_t last_push_ts;            /* replay floor for PUSH_ACK timestamps */
	bool stored_online;               /* presence as last written to the store */
	int64_t stored_at;                /* when (unix seconds) */
	/* program state */
	char *peer_json;                  /* rendered peer object; NULL when stale */
	struct srv_stream *stream;        /* at most one per node */
	struct relay_link *links[DIR_LINK_KINDS]; /* at most one of each kind */
	uint64_t pong_credit_ns, pong_last_ns;    /* UDP RELAY_PONG rate limit */
	int64_t rate_window;                      /* relay --rate-limit: this second ... */
	uint64_t rate_used;                       /* ... and the bytes relayed in it */
	void *timer;                      /* the program's presence timer */
	int64_t ticket_at;                /* its last relay ticket (unix s), 0: none */
	uint64_t ticket_serial;
	uint32_t mark;                    /* dedup generation for visibility walks */
	uint64_t view_seq;                /* server/view.h: when its peer line was last pushed */
	uint64_t view_reset_seq;          /* when its own view last changed wholesale (groups) */
	uint64_t view_hash;               /* of its peer line as last pushed (view_peer_hash); 0: none */
	bool push_pending;                /* server/view_state.c: its push waits for the batch */
	bool view_back;                   /* online since the restart (view_state.c's window) */
	/* Peers it holds on demand (members of a big group it asked for, or
	 * that asked for it; the pairs are symmetric): ids, oldest first. */
	uint32_t *od;
	uint16_t od_count, od_cap;
};

#define DIR_RELAY_DIRTY_MAX 512

struct dir_group {
	uint32_t id;
	char name[COORD_NAME_MAX + 1];
	uint32_t *members; /* node ids */
	size_t count, cap;
	bool big; /* more than the directory's group_view_max members: peers on demand */
};

struct dir_idtab {
	struct dir_idtab_slot { uint64_t hash; uint32_t id; } *slots;
	size_t mask, count;
};

struct directory {
	struct dir_node **by_id;   /* index = node id; NULL = none */
	size_t by_id_cap;
	size_t count;
	struct dir_idtab by_key, by_endpoint;
	struct dir_group *groups;
	size_t groups_count;
	uint32_t mark_gen;
	bool records_changed; /* a node added, removed, or its record changed (server/view_state.c saves soon) */
	/* Moves on every change the relay thread's snapshot reads (a node
	 * added, removed, its record, groups, endpoint, online, relay links):
	 * the snapshot is rebuilt only when it moved (server/relay_thread.c). */
	uint64_t relay_gen;
	/* The nodes that moved it since the relay thread's last snapshot
	 * (dir_relay_touch), so that it patches the few entries instead of
	 * walking 100 000 nodes (~25 ms) for each endpoint change; relay_full:
	 * more than DIR_RELAY_DIRTY_MAX, or a change of every node. The
	 * thread's builder empties it (dir_relay_dirty_clear). */
	uint32_t relay_dirty[DIR_RELAY_DIRTY_MAX];
	size_t relay_dirty_count;
	bool relay_full;
	uint64_t hash_seed;
	uint8_t server_priv[COORD_KEY_LEN];
	/* NULL: nodes' keys are K (coord_control_key); a relay-only server
	 * sets RELAY_NODE_KEY_LABEL: K_nr (lib/coord/ticket.h). */
	const char *key_label;
	uint8_t network6[16];
	struct ip_prefix network6_prefix, network4_prefix;
	/* Groups with more members are big: their members are not in each
	 * other's views, they ask (GET /v1/peer). 0: no group is big. */
	size_t group_view_max;
	/* The sum of dir_record_hash over every node (view_state.c's digest:
	 * order does not matter), kept as nodes are set and removed. */
	uint64_t records_sum;
	/* Groups that became big or stopped being big since the program last
	 * took them (dir_groups_flipped_take): their members' views change. */
	uint32_t *flipped;
	size_t flipped_count, flipped_cap;
};

int dir_init(struct directory *d, const uint8_t server_priv[COORD_KEY_LEN], const uint8_t network6[16]);
void dir_free(struct directory *d); /* the caller has released streams and timers */

struct dir_node *dir_node_get(const struct directory *d, uint32_t id);
struct dir_node *dir_node_by_key(const struct directory *d, const uint8_t pub[COORD_KEY_LEN]);
struct dir_node *dir_node_by_endpoint(const struct directory *d, const struct sockaddr_any *ep);
/* By overlay address (AF_INET6: 16 bytes, AF_INET: 4). */
struct dir_node *dir_node_by_address(const struct directory *d, int family, const uint8_t *addr);
/* The keyed hash of by_endpoint (the seed is fixed at dir_init: any thread
 * may call it; server/relay_thread.c's snapshot uses it too). */
uint64_t dir_endpoint_hash(const struct directory *d, const struct sockaddr_any *ep);

/* Add or refresh a node from the store (derives K for a new key). Returns
 * the node; *groups_changed tells if its group set moved. -ENOMEM, -ERANGE. */
int dir_node_set(struct directory *d, const struct store_node *rec, struct dir_node **out, bool *groups_changed);
void dir_node_remove(struct directory *d, uint32_t id); /* frees it */

/* Replace the group table (names) and rebuild member lists from the nodes. */
int dir_groups_set(struct directory *d, const struct store_group *groups, size_t count);
int dir_groups_rebuild(struct directory *d);
/* A node just added (its id above every member's): appended to its groups'
 * member lists, which stay ascending, instead of a rebuild that walks every
 * node. Falls back to dir_groups_rebuild when that would not hold. */
int dir_groups_add_new(struct directory *d, const struct dir_node *n);
const char *dir_group_name(const struct directory *d, uint32_t id);

/* What a viewer's view depends on in a record (id, key, name, approval,
 * expiry, groups), hashed. */
uint64_t dir_record_hash(const struct store_node *r);

/* Usable: approved and not expired at now. */
bool dir_node_active(const struct dir_node *n, int64_t now);
bool dir_share_group(const struct dir_node *a, const struct dir_node *b);

/* Call cb for every other node in n's view (each once), active or not: the
 * members of the groups it shares with them that are not big, and the peers
 * it holds on demand (still sharing a group). cb returning < 0 stops. */
int dir_foreach_visible(struct directory *d, const struct dir_node *n,
			int (*cb)(void *ctx, struct dir_node *peer), void *ctx);

/* Node id's state as the relay thread sees it may have changed (endpoint,
 * online, relay links, record): relay_gen moves, id is listed. _all: every
 * node's may have. */
void dir_relay_touch(struct directory *d, uint32_t id);
void dir_relay_touch_all(struct directory *d);
void dir_relay_dirty_clear(struct directory *d);

/* Peers on demand (big groups; docs/architecture.md): a and b hold each
 * other from now on (a symmetric pair). A node holds at most DIR_OD_MAX:
 * beyond, its oldest pair is forgotten at both ends. 1: a new pair, 0: held
 * already (refreshed: the newest), -ENOMEM. */
#define DIR_OD_MAX 1024
int dir_od_add(struct directory *d, struct dir_node *a, struct dir_node *b);
bool dir_od_holds(const struct dir_node *a, uint32_t id);
/* n's pairs with nodes it no longer shares a group with: forgotten, and
 * each told to gone (NULL: nobody). The caller runs it once the records
 * changed (a regroup of n or of a peer). */
void dir_od_prune(struct directory *d, struct dir_node *n,
		  void (*gone)(void *ctx, struct dir_node *n, struct dir_node *p), void *ctx);
/* The flipped groups' ids (*count); the list is empty after. The caller
 * frees the array. */
uint32_t *dir_groups_flipped_take(struct directory *d, size_t *count);
const struct dir_group *dir_group_get(const struct directory *d, uint32_t id);

/* Presence. set_public re-indexes the endpoint (a second node on the same
 * endpoint takes it over). nat is recomputed against the private list. */
int dir_set_public(struct directory *d, struct dir_node *n, const struct sockaddr_any *ep);
void dir_set_private(struct dir_node *n, const struct sockaddr_any *eps, size_t count);
/* n loses its binding: offline, unless it still has a relay link. */
void dir_set_offline(struct directory *d, struct dir_node *n, bool forget_endpoint);
bool dir_node_linked(const struct dir_node *n); /* has an open relay link */

/* The peer object for n (cached until the next change), and its node doc. */
const char *dir_peer_json(struct directory *d, struct dir_node *n);
void dir_node_touch(struct dir_node *n); /* drop the cached JSON */
void dir_node_describe(const struct directory *d, const struct dir_node *n, struct coord_node *out);

#endif
