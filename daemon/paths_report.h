/* The data plane's summary of how it reaches each managed peer (direct,
 * relayed, none, and the round trip), handed to the agent for POST
 * /v1/paths: when a peer's kind of path changed, or every
 * ROAMD_PATHS_REFRESH_S; checked every ROAMD_PATHS_CHECK_S. */
#ifndef ROAM_DAEMON_PATHS_REPORT_H
#define ROAM_DAEMON_PATHS_REPORT_H

#include <stdint.h>

#include "coord/paths_report.h"

#define ROAMD_PATHS_CHECK_S 5
#define ROAMD_PATHS_REFRESH_S 60

struct roamd;

struct roamd_paths_report {
	struct coord_paths_report last; /* as last handed over */
	uint64_t sent_at;               /* ev_now() then; 0: never */
};

/* The report to hand over now, or NULL (nothing new). */
struct coord_paths_report *roamd_paths_report_due(struct roamd *d, struct roamd_paths_report *st);

#endif
