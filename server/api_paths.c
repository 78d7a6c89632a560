/* POST /v1/paths: a node's summary of its paths (lib/coord/paths_report.h),
 * for the console's connections page and the event log. GET /v1/peer: a
 * peer of a big group, on demand (lib/coord/peer_query.h). */
#include <stdlib.h>
#include <string.h>

#include "coord/paths_report.h"
#include "coord/peer_query.h"
#include "server/api_internal.h"
#include "server/events/paths.h"
#include "server/server.h"

void api_paths(struct api_req *a)
{
	struct coord_paths_report *r;

	if (api_authenticate(a, false) < 0)
		return;
	if (!(r = malloc(sizeof(*r)))) {
		api_error(a, 500, "out of memory");
		return;
	}
	if (coord_paths_report_parse(a->body, a->body_len, r) < 0)
		api_error(a, 400, "malformed paths report");
	else if (server_paths_report(a->srv, a->node, r, a->now) < 0)
		api_error(a, 500, "out of memory");
	else
		api_reply_empty(a, 204);
	free(r);
}

/* The same answer for a node that is not there, not active, ourselves, or
 * in none of our groups: nobody learns of nodes outside its groups. */
#define NO_PEER "no peer at that address shares a group with you"

void api_peer(struct api_req *a)
{
	struct coord_peer_query q;
	struct dir_node *peer;
	const char *json;
	char *line;

	if (api_authenticate(a, false) < 0)
		return;
	if (coord_peer_query_parse(a->target, &q) < 0) {
		api_error(a, 400, "give ?address=ADDR (an overlay address) or ?key=HEX (a public key, 64 hex digits)");
		return;
	}
	peer = q.by_key ? dir_node_by_key(&a->srv->dir, q.key) : dir_node_by_address(&a->srv->dir, q.family, q.addr);
	if (!peer || peer == a->node || !dir_node_active(peer, a->now) || !dir_node_active(a->node, a->now) ||
	    !dir_share_group(a->node, peer)) {
		api_error(a, 404, NO_PEER);
		return;
	}
	if (server_peer_ask(a->srv, a->node, peer) < 0 || !(json = dir_peer_json(&a->srv->dir, peer)) ||
	    !(line = coord_line_peer(json))) {
		api_error(a, 500, "out of memory");
		return;
	}
	api_reply_json(a, 200, line);
	free(line);
}
