/* Static mode: the peers, routes and DNS of a configuration file, applied
 * at start and again, as differences, on SIGHUP (like `wg syncconf`). */
#ifndef ROAM_DAEMON_STATIC_MODE_H
#define ROAM_DAEMON_STATIC_MODE_H

#include <stdbool.h>

#include "daemon/config.h"
#include "ev/loop.h"

struct roamd;

enum roamd_dns_backend { ROAMD_DNS_NONE, ROAMD_DNS_RESOLVECTL, ROAMD_DNS_RESOLVCONF };

struct roamd_static {
	const char *config_path;
	struct ev_signal sighup;
	bool sighup_started;
	enum roamd_dns_backend dns; /* what set the interface's DNS, to undo it */
};

/* Static mode only (no-op in managed mode): the peers of d->cfg, its DNS,
 * and reloads on SIGHUP. The interface must be up with its routes. */
int roamd_static_start(struct roamd *d, const char *config_path);
void roamd_static_stop(struct roamd *d); /* removes the DNS it set */

/* Makes the engine, routes and DNS match new_cfg, changing only what differs
 * from d->cfg (the running configuration): unchanged peers keep their
 * sessions. With new_cfg == d->cfg, the first application at start. What
 * only a restart can change is logged. 0, or -errno with nothing changed
 * when the file cannot apply (-EINVAL: a peer has our own key). */
int roamd_static_apply(struct roamd *d, const struct roam_config *new_cfg);

/* dns.c: set through resolvectl or resolvconf, whichever the host has (a
 * warning when neither); *used says which, for roamd_dns_clear(). */
int roamd_dns_set(const char *ifname, const struct roam_config *cfg, enum roamd_dns_backend *used);
void roamd_dns_clear(const char *ifname, enum roamd_dns_backend *used);

#endif
