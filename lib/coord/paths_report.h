/* POST /v1/paths (docs/admin-api.md, "Path reports"): a node's
 * summary of how it reaches each peer, for the server's connections page
 * and event log. Body: {"paths": [{"peer": "<b64 key>", "path":
 * "direct"|"relayed"|"none", "rtt_ms": N, "transport": T, "relay": R,
 * "active_s": S}]}, at most COORD_PATHS_REPORT_MAX entries. The last three
 * are optional (older nodes send none): the active path's transport
 * (coord_path_transport_name), the relay it goes through (0: the server),
 * and how long it has carried the peer's data, in seconds (an age, so the
 * two clocks need not agree). Pure code, no I/O. */
#ifndef ROAM_COORD_PATHS_REPORT_H
#define ROAM_COORD_PATHS_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"

/* 88 entries of 44 bytes: a report fits one privsep message (4 KiB). */
#define COORD_PATHS_REPORT_MAX 88
#define COORD_PATHS_REPORT_BODY_MAX 16384

enum coord_path_kind { COORD_PATH_NONE, COORD_PATH_DIRECT, COORD_PATH_RELAYED, COORD_PATH_KINDS };

/* The names of lib/path's transports (path_transport_name), and unknown. */
enum coord_path_transport {
	COORD_TRANSPORT_UNKNOWN,
	COORD_TRANSPORT_DIRECT,
	COORD_TRANSPORT_UDP_RELAY,
	COORD_TRANSPORT_TLS_RELAY,
	COORD_TRANSPORT_WS_RELAY,
	COORD_TRANSPORT_POLL_RELAY,
	COORD_TRANSPORTS
};

#define COORD_PATH_ACTIVE_S_MAX (400u * 86400u) /* ages above are refused */

struct coord_path_entry {
	uint8_t peer[COORD_KEY_LEN];
	uint8_t path;      /* enum coord_path_kind */
	uint8_t transport; /* enum coord_path_transport */
	uint8_t relay;     /* a relayed path's relay (0: the server) */
	uint32_t rtt_ms;   /* 0: unknown */
	uint32_t active_s; /* the active path's age; 0 with COORD_TRANSPORT_UNKNOWN */
};

struct coord_paths_report {
	size_t count;
	struct coord_path_entry e[COORD_PATHS_REPORT_MAX];
};

const char *coord_path_kind_name(enum coord_path_kind k);
const char *coord_path_transport_name(enum coord_path_transport t); /* "unknown" */
/* COORD_TRANSPORT_UNKNOWN for a name not in the table. */
enum coord_path_transport coord_path_transport_parse(const char *name);
/* A new string (free()), or NULL. */
char *coord_paths_report_to_json(const struct coord_paths_report *r);
/* -EINVAL: not JSON, a bad entry, too many entries (refused whole). */
int coord_paths_report_parse(const char *text, size_t len, struct coord_paths_report *out);

#endif
