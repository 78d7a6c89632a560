/* When an address or link of this host changes, the next packets to peers
 * leave from a new source; a keepalive to each peer makes them learn it now
 * (they roam to the source of the latest authenticated packet) rather than
 * after KEEPALIVE + REKEY_TIMEOUT of silence. Events come in bursts (old
 * address removed, new one added, routes), so they are settled for a moment
 * before announcing. */
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "daemon/roamd.h"
#include "util/log.h"

#define ROAM_SETTLE_NS (50 * EV_NSEC_PER_MSEC)

static void on_roam_settled(struct ev_loop *loop, struct ev_timer *t)
{
	struct roamd *d = t->data;
	log_info("local addresses changed: announcing our new endpoint to peers");
	wg_device_announce_roam(d->wg, ev_now(loop));
	if (d->is_managed)
		roamd_host_address_changed(d);
}

static void on_addr_event(struct ev_loop *loop, struct ev_io *io, uint32_t revents)
{
	struct roamd *d = io->data;
	bool changed = false;
	(void)revents;
	int ret = addrwatch_drain(d->addrwatch, (int)if_nametoindex(d->ifname), &changed);
	if (ret < 0)
		log_warn("address watch: %s", strerror(-ret));
	if (changed && !ev_timer_pending(&d->roam_timer))
		ev_timer_start(loop, &d->roam_timer, ev_now(loop) + ROAM_SETTLE_NS);
}

int roamd_roaming_start(struct roamd *d)
{
	int ret = addrwatch_open(&d->addrwatch);
	if (ret < 0) {
		/* Not fatal: peers still learn our address from later traffic. */
		log_warn("cannot watch local addresses (%s): roaming relies on timers", strerror(-ret));
		return 0;
	}
	ev_timer_init(&d->roam_timer, on_roam_settled, d);
	ev_io_init(&d->addrwatch_io, addrwatch_fd(d->addrwatch), EPOLLIN, on_addr_event, d);
	return ev_io_start(d->loop, &d->addrwatch_io);
}

void roamd_roaming_stop(struct roamd *d)
{
	if (!d->addrwatch)
		return;
	ev_io_stop(d->loop, &d->addrwatch_io);
	ev_timer_stop(d->loop, &d->roam_timer);
	addrwatch_close(d->addrwatch);
	d->addrwatch = NULL;
}
