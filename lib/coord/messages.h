/* Every wire format and limit of the control protocol in one place
 * (docs/control-protocol.md). UDP messages are structs with static size
 * assertions; multi-byte integers are little-endian on the wire and are
 * read and written through the helpers in udp.c, never through the struct
 * fields directly (so alignment and host byte order never matter). */
#ifndef ROAM_COORD_MESSAGES_H
#define ROAM_COORD_MESSAGES_H

#include <assert.h>
#include <stdint.h>

#define COORD_PROTOCOL_VERSION 1

#define COORD_KEY_LEN 32          /* X25519 keys, control key K */
#define COORD_MAC_LEN 16          /* BLAKE2s-128 */
#define COORD_AUTH_NONCE_LEN 16   /* Roam-Auth nonce */
#define COORD_BINDING_NONCE_LEN 8 /* BINDING nonce */
#define COORD_COOKIE_LEN 16       /* CHALLENGE cookie */
#define COORD_PREAUTH_KEY_LEN 16
#define COORD_TLS_PIN_LEN 32      /* SHA-256 of the certificate's SPKI */
#define COORD_PUSH_VIEW_LEN 48    /* a view version (COORD_VIEW_VERSION_MAX = 40) NUL-padded */

/* HTTPS limits */
#define COORD_BODY_MAX (64 * 1024)          /* request bodies */
#define COORD_AUTH_MAX_SKEW_S 60            /* |ts - now| */
#define COORD_AUTH_REPLAY_WINDOW_S 120      /* (node, nonce) remembered at least this long */
#define COORD_STREAM_PING_S 15

/* Directory limits: everything a peer can make us store is capped. */
#define COORD_NAME_MAX 63       /* node and group names, bytes */
#define COORD_GROUPS_MAX 32     /* groups per node */
#define COORD_PRIVATE_MAX 8     /* private endpoints per node */
#define COORD_PEERS_MAX 131072  /* peers in one "peers" line */

/* Stream line limits, one set for both sides (the server never sends more,
 * a node accepts this much, growing its buffer on demand). A peer object is
 * at most COORD_PEER_JSON_MAX bytes (a longest name, 1 + COORD_PRIVATE_MAX
 * IPv6 endpoints with ports, the largest numbers; test_coord_protocol checks
 * it), so the longest line is a "peers" line of COORD_PEERS_MAX of them,
 * each with its comma, in a small envelope. */
#define COORD_PEER_JSON_MAX 1024
#define COORD_STREAM_ENVELOPE_MAX 256
#define COORD_STREAM_LINE_MAX (COORD_STREAM_ENVELOPE_MAX + (size_t)COORD_PEERS_MAX * (COORD_PEER_JSON_MAX + 1))

/* Binding lifetime (seconds) and the grace before a node shows offline. */
#define COORD_BINDING_LIFETIME_S 300
#define COORD_BINDING_GRACE_S 30
#define COORD_BINDING_REFRESH_S 25
#define COORD_BINDING_MAX_SKEW_NS (60 * UINT64_C(1000000000))

/* UDP message types: >= 0x80 never collides with WireGuard's 1..4. */
enum coord_msg_type {
	COORD_MSG_BINDING = 0x81,
	COORD_MSG_BINDING_ACK = 0x82,
	COORD_MSG_RELAY = 0x83,
	COORD_MSG_CHALLENGE = 0x84,
	COORD_MSG_PROBE_PING = 0x85,
	COORD_MSG_PROBE_PONG = 0x86,
	COORD_MSG_PROBE_CALLME = 0x87,
	COORD_MSG_NETCHECK = 0x88,
	COORD_MSG_NETCHECK_ACK = 0x89,
	/* Relay links only (lib/coord/relay_link.h), and PING/PONG also on
	 * the server's UDP port: link liveness and latency. */
	COORD_MSG_RELAY_KEEPALIVE = 0x8A,
	COORD_MSG_RELAY_PING = 0x8B,
	COORD_MSG_RELAY_PONG = 0x8C,
	/* node -> relay-only server: a BINDING with a ticket (lib/coord/ticket.h) */
	COORD_MSG_RELAY_BIND = 0x8D,
	/* The push channel (lib/coord/push.h): the stream over UDP. */
	COORD_MSG_PUSH_ACK = 0x8E,  /* node -> server: open, keep, acknowledge */
	COORD_MSG_PUSH_DATA = 0x8F, /* server -> node: stream bytes, sealed */
};

/* node -> server: "this socket is mine"; mac over the first 24 bytes. */
struct coord_msg_binding {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t node_id[4];      /* le32 */
	uint8_t timestamp_ns[8]; /* le64, wall clock */
	uint8_t nonce[COORD_BINDING_NONCE_LEN];
	uint8_t mac[COORD_MAC_LEN];
};
static_assert(sizeof(struct coord_msg_binding) == 40, "BINDING is 40 bytes");

/* node -> server: a BINDING that answers a CHALLENGE, the cookie echoed;
 * mac over the first 40 bytes (the cookie included). Same type byte, told
 * apart by its length. */
struct coord_msg_binding_cookie {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t node_id[4];
	uint8_t timestamp_ns[8];
	uint8_t nonce[COORD_BINDING_NONCE_LEN];
	uint8_t cookie[COORD_COOKIE_LEN];
	uint8_t mac[COORD_MAC_LEN];
};
static_assert(sizeof(struct coord_msg_binding_cookie) == 56, "BINDING with cookie is 56 bytes");

/* server -> the source address of a BINDING whose address:port is bound to
 * another node: "prove you receive here". The cookie is the server's MAC
 * over (address, port, node id, time bucket) under a secret of its own,
 * so the server keeps no state per challenge; timestamp_ns echoes the
 * BINDING; mac over the first 32 bytes with the node's K (only the node
 * that asked can use it). */
struct coord_msg_challenge {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t node_id[4];
	uint8_t timestamp_ns[8];
	uint8_t cookie[COORD_COOKIE_LEN];
	uint8_t mac[COORD_MAC_LEN];
};
static_assert(sizeof(struct coord_msg_challenge) == 48, "CHALLENGE is 48 bytes");

#define COORD_COOKIE_BUCKET_S 60 /* a cookie is good in its bucket and the next */

/* server -> node: the public endpoint the server saw; mac over the first
 * 36 bytes. family 4: IPv4 address in addr[0..3], the rest zero. */
struct coord_msg_binding_ack {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t node_id[4];
	uint8_t timestamp_ns[8]; /* echoed from the BINDING */
	uint8_t family;          /* 4 or 6 */
	uint8_t reserved2;
	uint8_t port[2];         /* le16 */
	uint8_t addr[16];
	uint8_t mac[COORD_MAC_LEN];
};
static_assert(sizeof(struct coord_msg_binding_ack) == 52, "BINDING_ACK is 52 bytes");

/* both ways: a WireGuard message relayed by the server. node_id is the
 * destination when a node sends, the source when the server forwards. */
struct coord_msg_relay_header {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t node_id[4];
};
static_assert(sizeof(struct coord_msg_relay_header) == 8, "RELAY header is 8 bytes");

#define COORD_RELAY_PAYLOAD_MIN 32    /* smallest WireGuard message (keepalive) */
/* What the relay forwards: WireGuard messages of their exact sizes
 * (initiation 148, response 92, cookie reply 64, transport 32 + 16 n). */
#define COORD_WG_INITIATION_LEN 148
#define COORD_WG_RESPONSE_LEN 92
#define COORD_WG_COOKIE_REPLY_LEN 64
#define COORD_WG_TRANSPORT_MIN 32
#define COORD_RELAY_PAYLOAD_MAX 65527 /* 65535 - 8 */
#define COORD_RELAY_MAX (sizeof(struct coord_msg_relay_header) + COORD_RELAY_PAYLOAD_MAX)

/* Path probes between two nodes (docs/control-protocol.md, "Path probes"):
 * node <-> node on the tunnel's socket, directly or through the relay. The
 * MAC key is pairwise and per direction (lib/coord/probe.h). */
#define COORD_PROBE_TXID_LEN 12
#define COORD_PROBE_MAX_SKEW_NS (120 * UINT64_C(1000000000))   /* |ts - now|: two nodes each within 60 s of the server */
#define COORD_PROBE_REORDER_NS (5 * UINT64_C(1000000000))      /* a PING this much older than the newest is stale */
#define COORD_PROBE_WINDOW 32                                  /* recent PING/CALLME txids remembered per peer */
#define COORD_PROBE_PENDING_MAX 16                             /* our unanswered PINGs per peer */
#define COORD_PROBE_PONG_TIMEOUT_NS (5 * UINT64_C(1000000000)) /* a PONG later than this answers nothing */
#define COORD_CALLME_ENDPOINTS_MAX 16                          /* candidates in one CALLME */

/* An endpoint on the wire, as in BINDING_ACK: family 4 (address in
 * addr[0..3], the rest zero) or 6. */
struct coord_wire_endpoint {
	uint8_t family;
	uint8_t reserved;
	uint8_t port[2]; /* le16 */
	uint8_t addr[16];
};
static_assert(sizeof(struct coord_wire_endpoint) == 20, "an endpoint is 20 bytes");

/* node -> node: "are you there on this path?". Padded to the PONG's size,
 * so an answer is never bigger than the question (no amplification).
 * mac over the first 76 bytes with the sender->receiver probe key. */
struct coord_msg_probe_ping {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t sender_pub[COORD_KEY_LEN];
	uint8_t txid[COORD_PROBE_TXID_LEN];
	uint8_t timestamp_ns[8]; /* le64, wall clock, never lower than the sender's previous one */
	uint8_t pad[20];         /* zero */
	uint8_t mac[COORD_MAC_LEN];
};
static_assert(sizeof(struct coord_msg_probe_ping) == 92, "PING is 92 bytes");

/* node -> the source of an authenticated PING: the txid echoed and the
 * address:port the responder saw the PING come from. mac over the first
 * 76 bytes with the responder->pinger probe key. */
struct coord_msg_probe_pong {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t sender_pub[COORD_KEY_LEN];
	uint8_t txid[COORD_PROBE_TXID_LEN];
	uint8_t timestamp_ns[8]; /* le64, the responder's wall clock */
	struct coord_wire_endpoint observed;
	uint8_t mac[COORD_MAC_LEN];
};
static_assert(sizeof(struct coord_msg_probe_pong) == 92, "PONG is 92 bytes");

/* node -> node through the server: "I probe you now, from these
 * candidates". Followed by count endpoints (1..COORD_CALLME_ENDPOINTS_MAX)
 * and the mac over everything before it, sender->receiver probe key:
 * 60 + 20 * count + 16 bytes. */
struct coord_msg_probe_callme_header {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t sender_pub[COORD_KEY_LEN];
	uint8_t txid[COORD_PROBE_TXID_LEN];
	uint8_t timestamp_ns[8];
	uint8_t count;
	uint8_t reserved2[3];
};
static_assert(sizeof(struct coord_msg_probe_callme_header) == 60, "CALLME header is 60 bytes");
#define COORD_CALLME_LEN(n) (sizeof(struct coord_msg_probe_callme_header) + 20 * (size_t)(n) + COORD_MAC_LEN)
#define COORD_CALLME_MAX COORD_CALLME_LEN(COORD_CALLME_ENDPOINTS_MAX)

/* Netcheck (docs/control-protocol.md, "Netcheck"): what the network
 * between a node and the server allows, STUN-like and unauthenticated. The
 * server changes nothing for it and answers no more bytes than it got
 * (the request is padded to the answer's size), rate-limited per source. */
#define COORD_NETCHECK_TXID_LEN 12
#define COORD_NETCHECK_RL_SOURCE_RATE 10 /* per second and source address */
#define COORD_NETCHECK_RL_SOURCE_BURST 20
#define COORD_NETCHECK_RL_GLOBAL_RATE 1000
#define COORD_NETCHECK_RL_GLOBAL_BURST 2000
#define COORD_NETCHECK_RL_SLOTS 1024

/* node -> one address of the server (or of our own NAT, for hairpinning):
 * server is the address:port the request is sent to, so the answer can
 * leave from it. pad is zero. */
struct coord_msg_netcheck {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t txid[COORD_NETCHECK_TXID_LEN];
	struct coord_wire_endpoint server;
	uint8_t pad[60];
};
static_assert(sizeof(struct coord_msg_netcheck) == 96, "NETCHECK is 96 bytes");

/* server -> the request's source: the txid echoed, the server address that
 * answered (the datagram's own source), the address:port the request came
 * from, and the server's other addresses to ask next, at most one per
 * family (all zero: none), which tell the mapping kind (EIM when both see
 * the same port) and whether IPv6 works. */
struct coord_msg_netcheck_ack {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t txid[COORD_NETCHECK_TXID_LEN];
	struct coord_wire_endpoint server;
	struct coord_wire_endpoint observed;
	struct coord_wire_endpoint other[2];
};
static_assert(sizeof(struct coord_msg_netcheck_ack) == 96, "NETCHECK_ACK is 96 bytes");
static_assert(sizeof(struct coord_msg_netcheck_ack) <= sizeof(struct coord_msg_netcheck), "no amplification");

/* How a node's NAT maps its socket (RFC 4787): one external port for every
 * destination (EIM: a peer can reach the port the server saw), or a new
 * one per destination (hard NAT: birthday probing). */
enum coord_mapping {
	COORD_MAPPING_UNKNOWN,
	COORD_MAPPING_EIM,
	COORD_MAPPING_PER_DEST,
	COORD_MAPPING_COUNT
};


/* The push channel (docs/control-protocol.md, "Push channel"): the bytes
 * of the node's stream (the same lines as over HTTPS) carried over the
 * node's UDP socket, so that a node whose UDP works holds no TCP
 * connection to the server. A reliable byte stream: the server numbers
 * bytes from 0 per stream, sends them in chunks, keeps what is not
 * acknowledged and sends it again; the node takes bytes in order only. */
#define COORD_PUSH_CHUNK_MAX 1100              /* stream bytes in one PUSH_DATA (1172 bytes on the wire) */
#define COORD_PUSH_INFLIGHT_MAX (32 * 1024)    /* bytes sent and not acknowledged */
#define COORD_PUSH_QUEUE_MAX (256 * 1024)      /* bytes held per node; beyond: the stream ends, TOO_BIG */
#define COORD_PUSH_RTO_NS (1000 * UINT64_C(1000000))     /* first retransmission */
#define COORD_PUSH_RTO_MAX_NS (8000 * UINT64_C(1000000)) /* doubling up to this */
#define COORD_PUSH_RETRIES 5                   /* unanswered retransmissions: the stream is dead */
#define COORD_PUSH_KEEPALIVE_S COORD_BINDING_REFRESH_S /* a node's KEEP every so often */
/* A node on the push channel sends a KEEP alone on its keepalive timer and
 * a BINDING (then OPEN|KEEP after its ACK) only every this many: a KEEP
 * from the bound endpoint refreshes the binding at the server, whose
 * answer (flag KEPT) says the binding holds; one unanswered for 1 s is
 * followed by a BINDING (the NAT gave a new mapping, or the server
 * restarted). Half the datagrams of a node's steady state (issue 14); a
 * BINDING every 100 s keeps a server without KEPT (lifetime 300 s) happy. */
#define COORD_PUSH_BINDING_EVERY 4
#define COORD_PUSH_FALLBACK_S 10               /* no answer to an OPEN or KEEP this long: the HTTPS stream */
/* The same for a node whose push channel has worked with this server (an
 * authenticated PUSH_DATA since it started or its network last changed):
 * UDP gets through, so silence means a busy server (a registration flood
 * keeps its loop full), and a node taking a TLS stream then adds a
 * handshake to what keeps it busy; 100 000 nodes doing so after 10 s were
 * a retry storm (issue 14). It asks again meanwhile, 1 s doubling
 * (jittered) up to COORD_PUSH_ASK_MAX_S. */
#define COORD_PUSH_BUSY_FALLBACK_S 60
#define COORD_PUSH_ASK_MAX_S 16

enum {
	COORD_PUSH_ACK_OPEN = 1, /* no stream, or not this one: start one (the view since `view`) */
	COORD_PUSH_ACK_KEEP = 2, /* answer even if nothing is new (an empty PUSH_DATA): the channel lives */
};
enum {
	COORD_PUSH_DATA_END = 1,     /* the stream ends here; the node opens another */
	COORD_PUSH_DATA_TOO_BIG = 2, /* with END: what is owed does not fit, use the HTTPS stream */
	COORD_PUSH_DATA_KEPT = 4,    /* answers a KEEP from the bound endpoint: the binding holds, refreshed */
};

/* node -> server, from the bound endpoint only: mac over the first 80
 * bytes with the node's control key K. timestamp_ns is newer than any the
 * server accepted from this node in a PUSH_ACK (a replay moves nothing). */
struct coord_msg_push_ack {
	uint8_t type;
	uint8_t flags;           /* COORD_PUSH_ACK_* */
	uint8_t reserved[2];
	uint8_t node_id[4];      /* le32 */
	uint8_t timestamp_ns[8]; /* le64, wall clock, strictly increasing */
	uint8_t stream_id[8];    /* le64: the stream the node holds; 0 none */
	uint8_t offset[8];       /* le64: its bytes received in order */
	char view[COORD_PUSH_VIEW_LEN]; /* the view version held, NUL-padded; "" none */
	uint8_t mac[COORD_MAC_LEN];
};
static_assert(sizeof(struct coord_msg_push_ack) == 96, "PUSH_ACK is 96 bytes");

/* server -> node: stream bytes [offset, offset + n), sealed with the push
 * key (coord_push_key) in XChaCha20-Poly1305 with a random nonce; the
 * header is the additional data. opened_ts is the timestamp_ns of the
 * PUSH_ACK that opened the stream: a node takes a new stream only if it
 * is newer than its current one's (an old stream replayed is refused). */
struct coord_msg_push_data_header {
	uint8_t type;
	uint8_t flags;           /* COORD_PUSH_DATA_* */
	uint8_t reserved[2];
	uint8_t node_id[4];      /* le32 */
	uint8_t stream_id[8];    /* le64, random per stream, never 0 */
	uint8_t opened_ts[8];    /* le64 */
	uint8_t offset[8];       /* le64 */
	uint8_t nonce[24];
};
static_assert(sizeof(struct coord_msg_push_data_header) == 56, "PUSH_DATA header is 56 bytes");
#define COORD_PUSH_DATA_MAX (sizeof(struct coord_msg_push_data_header) + COORD_PUSH_CHUNK_MAX + COORD_MAC_LEN)

#endif
