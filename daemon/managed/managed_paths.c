/* Our peers' paths to the server (POST /v1/paths), for its connections
 * page and event log: the data plane sums them up (daemon/paths_report.c),
 * we only carry them, and only while connected. */
#include <stdlib.h>

#include "coord/paths_report.h"
#include "daemon/managed/managed.h"
#include "util/log.h"

void managed_paths_send(struct managed *m, const struct coord_paths_report *r)
{
	char *body;

	if (m->st.state != MANAGED_CONNECTED || !(body = coord_paths_report_to_json(r)))
		return;
	if (managed_post(m, "/v1/paths", body) < 0)
		log_debug("cannot send our paths to the server");
	free(body);
}
