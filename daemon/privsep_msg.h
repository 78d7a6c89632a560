/* The messages between roamd's privileged data plane (the monitor) and its
 * unprivileged agent, which runs managed mode (daemon/privsep.h). Every
 * wire format and limit is here. A message is one SOCK_SEQPACKET datagram:
 * a header and a payload whose exact size is fixed by its type (UDP
 * messages: a fixed part and up to PS_UDP_MAX bytes). Both ends are the
 * same binary (the agent is roamd re-executed), so payloads are the C
 * structs themselves, as OpenBSD's imsg does; but the monitor trusts
 * nothing the agent sends: privsep_msg_check() verifies sizes, string
 * termination, enum ranges and addresses before any field is used. */
#ifndef ROAM_DAEMON_PRIVSEP_MSG_H
#define ROAM_DAEMON_PRIVSEP_MSG_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/json.h"
#include "coord/messages.h"
#include "coord/paths_report.h"
#include "coord/token.h"
#include "daemon/managed/managed_host.h"
#include "daemon/ondemand.h"

enum ps_type {
	/* monitor -> agent */
	PS_INIT = 1,      /* struct ps_init; then PS_PEER_HELD per peer, then PS_START */
	PS_PEER_HELD,     /* struct managed_peer_info: a peer the data plane already has */
	PS_START,         /* empty */
	PS_UP,            /* struct ps_up */
	PS_DOWN,          /* empty */
	PS_UDP_IN,        /* struct ps_udp: a control datagram from the tunnels' socket */
	PS_ADDR_CHANGED,  /* empty */
	PS_STOP,          /* struct ps_stop */
	PS_NETCHECK,      /* struct ps_netcheck: run a netcheck now (`roam netcheck`) */
	PS_REBIND,        /* empty: the relay stopped answering us: send a BINDING now */
	PS_RELAY_KEY,     /* struct ps_relay_key: K_nr for a relay, as asked */
	PS_PATHS,         /* struct coord_paths_report: the peers' paths, for POST /v1/paths */
	PS_FILE_KEY,      /* struct ps_key: our file public key, to register (before PS_START) */
	PS_PEER_ASK,      /* struct ondemand_query: ask the server for this peer; PS_PEER_ANSWER follows */
	PS_PEER_IDLE,     /* struct ps_key: an on-demand peer unused for ONDEMAND_IDLE_NS: drop it */
	PS_TO_AGENT_END,  /* not a message: the end of the monitor's range */
	/* agent -> monitor */
	PS_SET_ADDRESSES = 64, /* struct coord_node */
	PS_PEER_SET,      /* struct managed_peer_info */
	PS_PEER_REMOVE,   /* struct ps_key */
	PS_PEERS_CLEAR,   /* empty */
	PS_SET_SERVER_UDP, /* struct sockaddr_any */
	PS_UDP_OUT,       /* struct ps_udp: a BINDING to send from the tunnels' socket */
	PS_STATUS,        /* struct managed_status */
	PS_SAVE,          /* struct managed_membership */
	PS_RELAY_LINK,    /* struct ps_relay_link: where EP_RELAY datagrams go */
	PS_RELAY_KEY_REQ, /* struct ps_key: a relay's public key; PS_RELAY_KEY answers */
	PS_RELAY_ADDRS,   /* struct ps_relay_addrs: relay-only servers' UDP addresses */
	PS_FILES_WAITING, /* empty: the server's stream said files wait in its cache */
	PS_PEER_ANSWER,   /* struct ps_peer_answer: a PS_PEER_ASK answered (after its PS_PEER_SET) */
};

/* Control datagrams are small (BINDING 40, BINDING_ACK 52); a RELAY_BIND
 * carries a ticket (RELAY_BIND_LEN_MAX 432); a PUSH_DATA carries stream
 * bytes (COORD_PUSH_DATA_MAX 1172). */
#define PS_UDP_MAX 1176
static_assert(PS_UDP_MAX >= COORD_PUSH_DATA_MAX, "a PUSH_DATA fits a PS_UDP_IN");
#define PS_MSG_MAX (sizeof(struct ps_hdr) + 4096)

struct ps_hdr {
	uint32_t type;
	uint32_t len; /* payload bytes after the header */
};

struct ps_init {
	char user[32]; /* the agent switches to this user before anything else */
	uint8_t public_key[COORD_KEY_LEN];
	uint16_t port;
	char ifname[16];
	uint8_t log_level;
	struct managed_membership ms;
	uint8_t control_key[COORD_KEY_LEN]; /* K for ms's server; zero if none */
};

struct ps_up {
	uint32_t seq;
	uint8_t has_server, has_name, force;
	uint8_t has_proxy; /* proxy: "" clears the explicit proxy (`--proxy none`) */
	uint8_t tls_interception; /* CTL_TLS_INTERCEPTION_* */
	char proxy[ROAMD_PROXY_URL_MAX];
	char server[MANAGED_URL_MAX];
	struct coord_token token;
	uint8_t control_key[COORD_KEY_LEN];
	char name[COORD_NAME_MAX + 1];
};

struct ps_stop {
	uint8_t logout;
};

struct ps_netcheck {
	uint32_t seq; /* the status's netcheck.seq says when a result answers it */
};

struct ps_key {
	uint8_t public_key[COORD_KEY_LEN];
};

/* Per relay (0: the control server; a relay-only server's id): the link
 * its EP_RELAY datagrams take (UDP, or a TCP link through the datagram
 * pair), and whether it answers our RELAY_PINGs (dead: every path through
 * it is dropped at once; daemon/paths/). */
struct ps_relay_link {
	uint32_t link;  /* enum managed_relay_link */
	uint32_t relay; /* 0..255 */
	uint32_t dead;  /* 0 or 1 */
};

/* K_nr = BLAKE2s-256(key = X25519(node_priv, relay_pub), "roam-relay-node-v1"):
 * the node's proof of key to a relay-only server. The monitor derives it
 * (it holds node.key); the private key never leaves it. ok 0: a low-order
 * key (k_nr zero). */
struct ps_relay_key {
	uint8_t relay_pub[COORD_KEY_LEN];
	uint8_t k_nr[COORD_KEY_LEN];
	uint8_t ok;
};

struct ps_relay_addrs {
	uint32_t count; /* <= COORD_RELAYS_MAX */
	struct {
		uint32_t id; /* 1..255: relay 0 is the server (PS_SET_SERVER_UDP) */
		struct sockaddr_any udp;
	} r[COORD_RELAYS_MAX];
};

struct ps_peer_answer {
	struct ondemand_query q;
	uint32_t result; /* enum ondemand_result */
};

struct ps_udp {
	struct sockaddr_any peer; /* from (in) or to (out) */
	uint16_t len;
	uint8_t data[PS_UDP_MAX];
};

static_assert(sizeof(struct ps_hdr) + sizeof(struct managed_status) <= PS_MSG_MAX, "status fits a message");
static_assert(sizeof(struct ps_hdr) + sizeof(struct coord_node) <= PS_MSG_MAX, "node fits a message");
static_assert(sizeof(struct ps_hdr) + sizeof(struct ps_init) <= PS_MSG_MAX, "init fits a message");
static_assert(sizeof(struct ps_hdr) + sizeof(struct coord_paths_report) <= PS_MSG_MAX, "paths fit a message");

/* A checked message: type and payload (pointing into the caller's buffer,
 * which must be suitably aligned: use an array of max_align_t). */
struct ps_msg {
	enum ps_type type;
	void *payload;
	size_t len;
};

/* Checks one received datagram (buf, n) from the other side: the agent's
 * side checks monitor messages (from_agent false), the monitor's side
 * agent messages (from_agent true). Strings are NUL-terminated in place.
 * 0, or -EBADMSG (wrong size, type from the wrong side, bad field). */
int privsep_msg_check(void *buf, size_t n, bool from_agent, struct ps_msg *out);

/* A UDP message for peer; -EMSGSIZE if len > PS_UDP_MAX. */
int privsep_udp_fill(struct ps_udp *u, const struct sockaddr_any *peer, const uint8_t *data, size_t len);

/* Fills hdr + payload into out (PS_MSG_MAX bytes); returns the length. */
size_t privsep_msg_build(void *out, enum ps_type type, const void *payload, size_t len);

#endif
