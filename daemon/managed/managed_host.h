/* The one interface between managed mode (the control plane: the server's
 * HTTPS API, its stream, BINDINGs) and the data plane that carries the
 * tunnels (TUN, the UDP socket, the WireGuard engine, the node's key).
 *
 * Managed mode never touches the data plane's structs: it tells it what
 * to do through struct managed_host_ops, and hears from it through the
 * managed_*() calls in managed.h. roamd runs the two in separate processes
 * (daemon/privsep.h): the data plane privileged, managed mode unprivileged
 * and sandboxed, and these calls travel as typed messages between them. */
#ifndef ROAM_DAEMON_MANAGED_HOST_H
#define ROAM_DAEMON_MANAGED_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "coord/json.h"
#include "coord/messages.h"
#include "coord/servers.h"
#include "coord/token.h"
#include "daemon/ondemand.h"
#include "daemon/proxy.h"
#include "net/addr.h"

#define MANAGED_URL_MAX 256
#define MANAGED_PEER_RELAYS_MAX 5 /* meeting, our home, the peer's home, our next best, relay 0 */
#define MANAGED_ERROR_MAX 256

/* One state, named the same in `roam status`, `roam up` and the logs. */
enum managed_state {
	MANAGED_NOT_JOINED,       /* waiting for `roam up` (or after `roam down`) */
	MANAGED_JOINING,          /* registering with a server for the first time */
	MANAGED_WAITING_APPROVAL, /* registered without a pre-auth key */
	MANAGED_CONNECTED,        /* registered, the server's stream is up */
	MANAGED_CONNECTING,       /* registered; the stream not up (yet, or lost): tunnels keep the last view */
	MANAGED_REFUSED,          /* the server refused us (removed, expired): no peers */
	MANAGED_STATE_COUNT
};

/* What the BINDING_ACKs tell: is there a NAT between us and the server? */
enum managed_nat {
	MANAGED_NAT_UNKNOWN, /* no answer to a BINDING yet (UDP may be blocked) */
	MANAGED_NAT_PUBLIC,  /* the server sees one of our own addresses */
	MANAGED_NAT_BEHIND,  /* it sees another address: a NAT maps us */
	MANAGED_NAT_COUNT
};

/* Does UDP between us and the server work? Unknown until a BINDING or a
 * netcheck is answered or a netcheck is not. */
enum managed_udp {
	MANAGED_UDP_UNKNOWN,
	MANAGED_UDP_OK,
	MANAGED_UDP_BLOCKED, /* a netcheck got no answer and no BINDING ever did */
	MANAGED_UDP_COUNT
};

/* How the node's datagrams for the server's relay (EP_RELAY) reach the
 * server: its relay link (daemon/relaylink/relaylink.h), best first. The
 * server delivers to the node on its best open link. */
enum managed_relay_link {
	MANAGED_RELAY_LINK_NONE,      /* none yet (joining, or every link down) */
	MANAGED_RELAY_LINK_UDP,       /* the tunnels' socket, 8-byte RELAY header */
	MANAGED_RELAY_LINK_TLS,       /* Upgrade: roam-relay/1 on the HTTPS port */
	MANAGED_RELAY_LINK_WEBSOCKET, /* RFC 6455, one binary message a datagram */
	MANAGED_RELAY_LINK_LONG_POLL, /* HTTP GET / POST with seqs and acks */
	MANAGED_RELAY_LINK_COUNT
};

/* What the latest netcheck found (daemon/netcheck.c); -1/0/1 for unknown,
 * no, yes. */
struct managed_netcheck_result {
	uint32_t runs;    /* completed netchecks; 0: none yet */
	uint32_t seq;     /* the latest on-demand request (PS_NETCHECK) it answers */
	int64_t at;       /* unix time it completed */
	enum managed_udp udp;
	struct sockaddr_any answered[2]; /* the server addresses that answered over our family */
	struct sockaddr_any observed[2]; /* where each saw us */
	enum coord_mapping mapping;      /* EIM when both saw the same endpoint */
	int8_t hairpin;                  /* a request to our own public endpoint came back */
	int8_t ipv6;                     /* -1: the server named no IPv6 address */
	struct sockaddr_any observed6;
	uint32_t server_rtt_us; /* 0: no answer */
	/* Port mapping (daemon/portmap): the protocol that mapped (enum
	 * portmap_proto, 0: none), the external endpoint, and why the others
	 * did not. */
	uint8_t portmap_proto;
	int8_t portmap_verified; /* -1: not checked */
	struct sockaddr_any portmap_external;
	char portmap_error[256]; /* as struct portmap_result.error */
};

/* The outcome of the latest `roam up`, which the CLI waits for. */
enum managed_up_result {
	MANAGED_UP_NONE,
	MANAGED_UP_PENDING,
	MANAGED_UP_DONE,   /* joined, or waiting for approval */
	MANAGED_UP_FAILED, /* see error; the previous membership (if any) is kept */
	MANAGED_UP_RESULT_COUNT
};

/* One peer as the data plane needs it and `roam status` shows it. */
struct managed_peer_info {
	uint8_t public_key[COORD_KEY_LEN];
	uint32_t node_id;
	char name[COORD_NAME_MAX + 1];
	struct ip_prefix ipv6, ipv4; /* its addresses: AllowedIPs /128 and /32 */
	bool online, nat;
	int64_t last_seen;
	/* Its candidates as the server's view gives them; the data plane's
	 * path manager probes them (and the relay) and picks the path. */
	struct sockaddr_any public_endpoint; /* as the server saw it; len 0: none */
	uint8_t private_count;
	struct sockaddr_any private_endpoints[COORD_PRIVATE_MAX]; /* LAN and global IPv6 addresses it reported */
	struct sockaddr_any mapped_endpoint; /* a port mapping its router made; len 0: none */
	enum coord_mapping mapping;          /* its NAT's mapping kind, as its netcheck found */
	uint16_t keepalive_s;
	/* Several relays: the relays to reach it through, the meeting relay
	 * first, then standbys (lib/path/relay_choice.h); 0 entries: relay 0. */
	uint8_t relay_count;
	uint8_t relays[MANAGED_PEER_RELAYS_MAX];
	/* Its file public key as the directory lists it (docs/files.md). */
	uint8_t has_file_key; /* 0 or 1 */
	uint8_t file_key[COORD_KEY_LEN];
	/* 1: held on demand (asked for with GET /v1/peer: a big group's
	 * member), not listed in our view; dropped when unused. */
	uint8_t on_demand;
};

/* A relay as `roam status` shows it (several relays). */
struct managed_relay_status {
	uint8_t id;
	char region[COORD_RELAY_REGION_MAX];
	uint32_t rtt_us; /* 0: none measured */
	uint8_t home, have_key;
	uint8_t link;  /* enum managed_relay_link: how we reach it */
	uint8_t flags; /* MANAGED_RELAY_* (one byte: the status fits a message) */
};
#define MANAGED_RELAY_DEAD 1u   /* in use, but no PONG to our RELAY_PINGs */
#define MANAGED_RELAY_IN_USE 2u /* our home, or a relay of some peer's paths */

/* Managed mode's state as `roam status` shows it. */
struct managed_status {
	enum managed_state state;
	char error[MANAGED_ERROR_MAX];
	char server_url[MANAGED_URL_MAX];
	bool have_self;
	struct coord_node self;
	struct sockaddr_any public_endpoint;
	enum managed_nat nat;
	enum managed_udp udp;
	struct managed_netcheck_result netcheck;
	uint32_t up_seq;
	enum managed_up_result up_result;
	enum managed_relay_link relay_link;
	uint32_t relay_rtt_us; /* the TCP relay link's round trip (RELAY_PING); 0: none */
	uint8_t relay_short_polls; /* 1: long-poll without streaming (a buffering proxy) */
	uint8_t relay_ticket;      /* 1: we hold a ticket for relay-only servers */
	uint8_t relays_count;      /* the relay map, <= COORD_RELAYS_MAX */
	struct managed_relay_status relays[COORD_RELAYS_MAX];
	uint8_t proxy_bypassed; /* 1: the proxy could not be reached: requests go direct */
	uint8_t tls_interception; /* 1: through a TLS-intercepting proxy (server proved inside) */
	uint8_t control_polling;  /* 1: the stream's replies are buffered: polls (managed_stream.c) */
	uint8_t control_push;     /* 1: the stream comes over UDP, the push channel (managed_push.c) */
};

/* What a node remembers of its network across restarts (state.json); the
 * data plane keeps it on disk beside the key. */
struct managed_membership {
	char server_url[MANAGED_URL_MAX];
	struct coord_token token; /* preauth_key zero once registered */
	char name[COORD_NAME_MAX + 1];
	uint32_t node_id; /* 0 until registered */
	bool joined;      /* `roam down` clears it: no reconnect at start */
	struct roamd_proxy proxy; /* `roam up --proxy`; unset: roamd's environment decides */
	/* `roam up --allow-tls-interception`: when the server's TLS key is not the
	 * pinned one, go on without TLS's proof and check the server's mac on
	 * every reply (docs/control-protocol.md) */
	uint8_t allow_tls_interception;
	/* The network's servers as its stream last gave them (several servers
	 * on one PostgreSQL): saved, so that a node restarted while its server
	 * is down registers with another at once. */
	struct coord_servers servers;
};

struct managed_host_ops {
	/* Our overlay addresses (self->ipv6/ipv4 in self->network6/4). */
	void (*set_addresses)(void *ctx, const struct coord_node *self);
	/* Add or update a peer; remove one; remove all (sessions and keys wiped). */
	void (*peer_set)(void *ctx, const struct managed_peer_info *peer);
	void (*peer_remove)(void *ctx, const uint8_t public_key[COORD_KEY_LEN]);
	void (*peers_clear)(void *ctx);
	/* Where the server's UDP side is (BINDINGs go there, relayed
	 * datagrams come from there). */
	void (*set_server_udp)(void *ctx, const struct sockaddr_any *server);
	/* A control datagram (BINDING) from the tunnels' own socket. */
	void (*send_udp)(void *ctx, const struct sockaddr_any *to, const uint8_t *msg, size_t len);
	void (*publish_status)(void *ctx, const struct managed_status *st);
	/* Relay `relay`'s link changed, or it stopped (dead) or started again
	 * answering our RELAY_PINGs: the data plane sends its EP_RELAY
	 * datagrams over UDP for NONE and UDP, else to relay_deliver's pair,
	 * and drops its paths while it is dead. */
	void (*relay_link)(void *ctx, uint8_t relay, enum managed_relay_link link, bool dead);
	/* A datagram relay `relay`'s link received (a RELAY with its 8-byte
	 * header), for the data plane. */
	void (*relay_deliver)(void *ctx, uint8_t relay, const uint8_t *d, size_t len);
	void (*save_membership)(void *ctx, const struct managed_membership *ms);
	/* K_nr for this relay key, please: managed_relays_key answers. */
	void (*relay_key_request)(void *ctx, const uint8_t relay_pub[COORD_KEY_LEN]);
	/* Relay-only servers' UDP addresses (ids 1..255), for EP_RELAY(id). */
	void (*relay_addrs)(void *ctx, const uint8_t *ids, const struct sockaddr_any *addrs, size_t n);
	/* The server says files (or receipts) wait in its cache: the file
	 * service asks it now (daemon/files/). May be NULL. */
	void (*files_waiting)(void *ctx);
	/* The answer to the data plane's question (PS_PEER_ASK): after the
	 * peer_set of a peer found. */
	void (*peer_answer)(void *ctx, const struct ondemand_query *q, enum ondemand_result r);
};

const char *managed_state_name(enum managed_state state);
const char *managed_nat_name(enum managed_nat nat);
const char *managed_up_result_name(enum managed_up_result r);
const char *managed_udp_name(enum managed_udp u);
const char *managed_relay_link_name(enum managed_relay_link l);

#endif
