/* JSON documents of the control protocol (docs/control-protocol.md): the
 * request bodies, `node`, `peer`, and the stream's lines. cJSON underneath.
 *
 * Encoders return a malloc'ed NUL-terminated string (the caller frees it) or
 * NULL when out of memory. Decoders take untrusted bytes with their length,
 * enforce every limit of messages.h, and return 0, -EINVAL (malformed: not
 * JSON, a missing or mistyped field, a value out of range) or -ENOMEM; they
 * write *out only on success. Unknown fields are ignored, so either side
 * may add fields later. */
#ifndef ROAM_COORD_JSON_H
#define ROAM_COORD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"
#include "net/addr.h"

/* A node as the server describes it to itself (register's answer, the
 * stream's "self" line). Addresses are host prefixes (/128, /32), networks
 * the prefixes to route through the TUN device. */
struct coord_node {
	uint32_t node_id;
	char name[COORD_NAME_MAX + 1];
	uint8_t public_key[COORD_KEY_LEN];
	struct ip_prefix ipv6, ipv4;
	struct ip_prefix network6, network4;
	size_t groups_count;
	char groups[COORD_GROUPS_MAX][COORD_NAME_MAX + 1];
	bool approved;
};

/* Another node as a peer sees it. public_endpoint.len == 0: none (null). */
#define COORD_RELAYS_MAX 16
/* "relay_rtt": {"0":12.5,"1":30.1}: a node's round trip to each relay (ms
 * on the wire, microseconds here, > 0), as it reports in POST
 * /v1/endpoints and peers see it in its peer line. Optional. */
#define COORD_RELAY_RTT_MAX_US 60000000u
struct coord_relay_rtts {
	uint8_t count;
	uint8_t id[COORD_RELAYS_MAX];
	uint32_t us[COORD_RELAYS_MAX];
};

struct coord_peer {
	uint32_t node_id;
	char name[COORD_NAME_MAX + 1];
	uint8_t public_key[COORD_KEY_LEN];
	struct ip_prefix ipv6, ipv4;
	struct sockaddr_any public_endpoint;
	size_t private_count;
	struct sockaddr_any private_endpoints[COORD_PRIVATE_MAX];
	bool nat;
	bool online;
	int64_t last_seen; /* unix seconds; 0 = never */
	enum coord_mapping mapping;       /* as its netcheck found ("mapping", absent: unknown) */
	struct sockaddr_any mapped_endpoint; /* a port mapping its router made; len 0: none */
	struct coord_relay_rtts relay_rtt;
	/* Its file public key ("file_key", docs/files.md): what files for it
	 * are sealed to; absent until it registered one. */
	bool has_file_key;
	uint8_t file_key[COORD_KEY_LEN];
};

/* POST /v1/register body. */
struct coord_register_req {
	char name[COORD_NAME_MAX + 1];
	bool has_preauth_key;
	uint8_t preauth_key[COORD_PREAUTH_KEY_LEN];
	uint16_t port; /* the node's WireGuard UDP port; 0 = not given */
	bool has_file_key; /* "file_key": the node's file public key (X25519), optional */
	uint8_t file_key[COORD_KEY_LEN];
};

/* POST /v1/endpoints body. */
struct coord_endpoints_req {
	size_t count;
	struct sockaddr_any endpoints[COORD_PRIVATE_MAX];
	uint16_t port;
	enum coord_mapping mapping;   /* "mapping": the node's netcheck; absent: unknown */
	struct sockaddr_any mapped;   /* "mapped": a port-mapped endpoint; absent or null: none */
	struct coord_relay_rtts relay_rtt;
};

/* Names of nodes and groups: 1..COORD_NAME_MAX of [A-Za-z0-9._-], not
 * starting with '.' or '-'. */
bool coord_name_valid(const char *name);

char *coord_register_req_to_json(const struct coord_register_req *req);
int coord_register_req_parse(const char *text, size_t len, struct coord_register_req *out);

char *coord_endpoints_req_to_json(const struct coord_endpoints_req *req);
int coord_endpoints_req_parse(const char *text, size_t len, struct coord_endpoints_req *out);

char *coord_node_to_json(const struct coord_node *node);
int coord_node_parse(const char *text, size_t len, struct coord_node *out);

/* A peer object alone (no newline): the server renders each node's once
 * per change and splices it into every stream line that needs it. */
char *coord_peer_to_json(const struct coord_peer *peer);
int coord_peer_parse(const char *text, size_t len, struct coord_peer *out);

/* Stream lines, each ending in "\n". */
char *coord_line_self(const struct coord_node *node, const struct sockaddr_any *public_endpoint, bool nat);
char *coord_line_peer(const char *peer_json);                 /* {"type":"peer","peer":...} */
char *coord_line_peers(const char *const *peer_jsons, size_t n); /* the full view */
char *coord_line_peer_removed(const uint8_t public_key[COORD_KEY_LEN]);
/* Views as deltas (docs/control-protocol.md, "View versions"): a version is
 * an opaque token of at most COORD_VIEW_VERSION_MAX characters from
 * [0-9a-f.]; the server tags peer lines with the version they bring
 * ("view") and ends a full view or a delta with a "view" line. A node
 * opens its next stream with ?view=VERSION and gets only what changed. */
#define COORD_VIEW_VERSION_MAX 40
char *coord_line_peer_at(const char *peer_json, const char *version); /* a peer line with "view" */
char *coord_line_view(const char *version);                           /* {"type":"view","version":...} */
bool coord_view_version_valid(const char *text);
/* {"type":"goodbye","retry_after_ms":N}: the server is going away (a
 * restart); the node comes back after N ms, which the server spreads over
 * its nodes so that they do not all return at once. */
#define COORD_GOODBYE_MAX_MS 600000u
char *coord_line_goodbye(uint32_t retry_after_ms);
#define COORD_LINE_PING "{\"type\":\"ping\"}\n"
#define COORD_LINE_FILES "{\"type\":\"files\"}\n"

/* Node side: one stream line (without or with its "\n"), dispatched to the
 * handler's callbacks (any may be NULL). A "peers" line calls peers_begin,
 * then peer once per peer (full_view = true), then peers_end. A callback
 * returning < 0 stops parsing and that value is returned. Unknown types are
 * ignored (0). */
/* The relay map (docs/control-protocol.md, "Several relays"): relay 0 is
 * the control server; the id is EP_RELAY's relay index. */
#define COORD_RELAY_HOST_MAX 256
#define COORD_RELAY_REGION_MAX 32
#define COORD_RELAY_URL_MAX 300
struct coord_relay {
	uint8_t id;
	char region[COORD_RELAY_REGION_MAX];
	char url[COORD_RELAY_URL_MAX]; /* https://HOST:PORT */
	char udp_host[COORD_RELAY_HOST_MAX]; /* without brackets */
	uint16_t udp_port;
	uint8_t key[COORD_KEY_LEN];     /* its X25519 key: K_nr */
	uint8_t tls_pin[COORD_KEY_LEN]; /* SHA-256 of its SPKI */
};
struct coord_relay_map {
	size_t count;
	struct coord_relay relays[COORD_RELAYS_MAX];
};
struct ticket;
struct coord_servers; /* coord/servers.h */

struct coord_stream_handler {
	int (*self)(void *ctx, const struct coord_node *node, const struct sockaddr_any *public_endpoint, bool nat);
	int (*peers_begin)(void *ctx, size_t count);
	int (*peer)(void *ctx, const struct coord_peer *peer, bool full_view);
	int (*peers_end)(void *ctx);
	int (*peer_removed)(void *ctx, const uint8_t public_key[COORD_KEY_LEN]);
	int (*ping)(void *ctx);
	int (*relays)(void *ctx, const struct coord_relay_map *map);
	/* Our ticket for relay-only servers: its bytes, and what they say. */
	int (*ticket)(void *ctx, const uint8_t *ticket, size_t len, const struct ticket *parsed);
	/* {"type":"files"}: files wait for us in the server's cache, or a
	 * receipt for one we sent came (docs/files.md): ask the cache now. */
	int (*files)(void *ctx);
	/* {"type":"servers"}: every control server of the network (failover). */
	int (*servers)(void *ctx, const struct coord_servers *list);
	/* The view version the node now holds (a "view" line, or a peer line's
	 * "view" field, after its peer callback): keep the last one. */
	int (*view)(void *ctx, const char *version);
	/* {"type":"goodbye"}: come back after retry_after_ms (<= COORD_GOODBYE_MAX_MS). */
	int (*goodbye)(void *ctx, uint32_t retry_after_ms);
};
int coord_stream_line_parse(const char *line, size_t len, const struct coord_stream_handler *h, void *ctx);

#endif
