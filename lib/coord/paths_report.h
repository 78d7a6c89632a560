/* POST /v1/paths (docs/admin-api.md, "Path reports"): a node's
 * summary of how it reaches each peer, for the server's connections page
 * and event log. Body: {"paths": [{"peer": "<b64 key>", "path":
 * "direct"|"relayed"|"none", "rtt_ms": N}]}, at most COORD_PATHS_REPORT_MAX
 * entries. Pure code, no I/O. */
#ifndef ROAM_COORD_PATHS_REPORT_H
#define ROAM_COORD_PATHS_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"

#define COORD_PATHS_REPORT_MAX 96
#define COORD_PATHS_REPORT_BODY_MAX 16384

enum coord_path_kind { COORD_PATH_NONE, COORD_PATH_DIRECT, COORD_PATH_RELAYED, COORD_PATH_KINDS };

struct coord_path_entry {
	uint8_t peer[COORD_KEY_LEN];
	uint8_t path;    /* enum coord_path_kind */
	uint32_t rtt_ms; /* 0: unknown */
};

struct coord_paths_report {
	size_t count;
	struct coord_path_entry e[COORD_PATHS_REPORT_MAX];
};

const char *coord_path_kind_name(enum coord_path_kind k);
/* A new string (free()), or NULL. */
char *coord_paths_report_to_json(const struct coord_paths_report *r);
/* -EINVAL: not JSON, a bad entry, too many entries (refused whole). */
int coord_paths_report_parse(const char *text, size_t len, struct coord_paths_report *out);

#endif
