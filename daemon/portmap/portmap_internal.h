/* What portmap.c needs from each protocol's file. Each function blocks for
 * at most its timeout, fills pm->result (proto, address, port, lifetime) on
 * success and returns 0, or returns a negative errno and writes a short
 * reason into why. */
#ifndef ROAM_PORTMAP_INTERNAL_H
#define ROAM_PORTMAP_INTERNAL_H

#include "portmap.h"

#include <stddef.h>

/* lifetime 0 deletes. */
int portmap_pcp_request(struct portmap *pm, uint32_t lifetime, char *why, size_t why_len);
int portmap_natpmp_request(struct portmap *pm, uint32_t lifetime, char *why, size_t why_len);
int portmap_upnp_map(struct portmap *pm, int discover, char *why, size_t why_len);
int portmap_upnp_unmap(struct portmap *pm, char *why, size_t why_len);

/* The default route's IPv4 gateway, from /proc/net/route. */
int portmap_default_gateway(struct in_addr *gw);

#endif
