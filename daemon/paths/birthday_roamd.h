/* Hard-NAT probing wired into roamd: the extra sockets as the EP_UDP_AUX
 * transport (roamd_aux_transport_send in daemon/transport/transport.h; what
 * they receive goes to roamd_datagram_input as EP_UDP_AUX(slot, source)),
 * and the attempts of daemon/paths/birthday_glue.h. Managed mode only: the
 * path manager starts it with its operations and calls the glue's hooks. */
#ifndef ROAM_DAEMON_PATHS_BIRTHDAY_ROAMD_H
#define ROAM_DAEMON_PATHS_BIRTHDAY_ROAMD_H

#include "daemon/paths/birthday_glue.h"

struct roamd;
typedef struct cJSON cJSON;

/* At most this many extra sockets open at once, all attempts and winners
 * together: the endpoint's slot byte allows 256, far below the process's
 * open-files limit. */
#define ROAMD_AUX_SOCKETS_MAX AUX_SLOTS

/* 0, -EALREADY, -EINVAL or -ENOMEM. */
int roamd_birthday_start(struct roamd *d, const struct birthday_glue_ops *ops);
void roamd_birthday_stop(struct roamd *d); /* closes every extra socket; no-op if not started */
struct birthday_glue *roamd_birthday_glue(const struct roamd *d); /* NULL if not started */
/* The extra sockets (also multihoming's, daemon/paths/ifaces.c); NULL if not started. */
struct aux_sockets *roamd_aux_sockets(const struct roamd *d);
/* `roam status --json`: "hard_nat": attempts, sockets, PINGs. */
void roamd_birthday_status_json(const struct roamd *d, cJSON *root);

/* daemon/paths/birthday_paths.c: the path manager's side (its call sites
 * are listed at the top of that file). */
struct paths_peer;
extern const struct birthday_glue_ops paths_birthday_ops;
/* Per peer, after its path timers ran: start an attempt if it is time. */
/* 0 an attempt started (or runs), -EAGAIN not yet (ask again soon), other
 * -errno not for this peer now. */
int paths_birthday_consider(struct paths_peer *pp, uint64_t now);
/* A verified PONG that answers none of the path manager's PINGs: true if
 * it was the attempt's (consumed). */
bool paths_birthday_pong(struct paths_peer *pp, const uint8_t txid[COORD_PROBE_TXID_LEN], const struct endpoint *src,
			 uint64_t now);
/* A verified PING from a direct source (EP_UDP or EP_UDP_AUX), answered
 * already: on an extra socket, the easy side reached it (PING back at
 * once); from the hard side's address, the hard side reached us first. */
void paths_birthday_ping_seen(struct paths_peer *pp, const struct endpoint *src, uint64_t now);

#endif
