/* Notices when this host's addresses or links change (rtnetlink multicast
 * groups), so the daemon can tell its peers where it is now instead of
 * waiting for a timer: the first step of roaming. */
#ifndef ROAM_NET_ADDRWATCH_H
#define ROAM_NET_ADDRWATCH_H

#include <stdbool.h>
#include <stddef.h>

struct addrwatch;

/* A non-blocking netlink socket subscribed to IPv4/IPv6 address and link
 * events. 0 or -errno. */
int addrwatch_open(struct addrwatch **out);
void addrwatch_close(struct addrwatch *w);
int addrwatch_fd(const struct addrwatch *w);
/* Reads every queued event without blocking. *changed is true if any was an
 * address added or removed, or a link going up or down, on an interface
 * other than ignore_ifindex (our own TUN). 0, or -errno on a socket error
 * (-ENOBUFS: events were lost; treat as changed). */
int addrwatch_drain(struct addrwatch *w, int ignore_ifindex, bool *changed);

/* What addrwatch_drain() makes of one received datagram (buf, len): sets
 * *changed if it holds such an event; leaves it alone otherwise. No I/O.
 * 0, or -EBADMSG if the datagram is malformed (then none of it counts). */
int addrwatch_parse(const void *buf, size_t len, int ignore_ifindex, bool *changed);

#endif
