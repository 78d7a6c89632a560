/* POST /v1/paths: a node's summary of its paths (lib/coord/paths_report.h),
 * for the console's connections page and the event log. */
#include <stdlib.h>

#include "coord/paths_report.h"
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
