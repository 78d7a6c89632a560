/* What nodes report of their paths (POST /v1/paths, lib/coord/paths_report.h):
 * kept in memory per node, the latest report only, for the console's
 * connections page; a pair whose path kind changes is an event (EV_PATH).
 * Bounded: COORD_PATHS_REPORT_MAX entries a node. */
#ifndef ROAM_SERVER_EVENTS_PATHS_H
#define ROAM_SERVER_EVENTS_PATHS_H

#include <stddef.h>
#include <stdint.h>

#include "coord/paths_report.h"

struct server;
struct dir_node;
struct cJSON;

struct node_path {
	uint32_t peer_id;
	uint8_t path;      /* enum coord_path_kind */
	uint8_t transport; /* enum coord_path_transport */
	uint8_t relay;
	uint32_t rtt_ms;
	int64_t since; /* this path in use since (unix s): the node's age of
			* its active path, else since this kind was first reported */
};

struct node_paths {
	int64_t at; /* reported (unix s) */
	size_t count;
	struct node_path e[COORD_PATHS_REPORT_MAX];
};

struct server_paths {
	struct node_paths **by_id; /* index: node id */
	size_t cap;
};

#define PATHS_PAIRS_SHOWN_MAX 2000 /* pairs in one connections reply */

/* n reported r at now: kept, and changes logged. -ENOMEM. */
int server_paths_report(struct server *s, const struct dir_node *n, const struct coord_paths_report *r, int64_t now);
void server_paths_forget(struct server *s, uint32_t node_id);
void server_paths_free(struct server *s);
/* {"pairs": [{"node", "peer", "path", "transport", "relay", "rtt_ms",
 * "since", "reported_at"}], "pairs_total"} into o. */
void server_paths_json(struct server *s, struct cJSON *o);
/* Pairs of nodes (each pair once, as the lower id reports it, else as the
 * other does) talking directly and through a relay. */
void server_paths_count(const struct server *s, size_t *direct, size_t *relayed);

#endif
