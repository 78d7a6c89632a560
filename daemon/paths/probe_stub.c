/* Until the path manager is wired (issue 9): probes are dropped. */
#include "daemon/roamd.h"
#include "daemon/transport/transport.h"

void roamd_probe_input(struct roamd *d, const uint8_t *buf, size_t len, const struct endpoint *src, uint64_t now)
{
	(void)buf, (void)len, (void)src, (void)now;
	d->stats.control_dropped++;
}
