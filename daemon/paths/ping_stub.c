/* Until the path manager is wired (issue 9): no paths to ping. */
#include <errno.h>

#include "daemon/roamd.h"

int roamd_paths_ping(struct roamd *d, struct wg_peer *peer, uint64_t timeout_ns, paths_ping_cb cb, void *ctx)
{
	(void)d, (void)peer, (void)timeout_ns, (void)cb, (void)ctx;
	return -ENOENT;
}

void roamd_paths_ping_cancel(struct roamd *d, void *ctx)
{
	(void)d, (void)ctx;
}
