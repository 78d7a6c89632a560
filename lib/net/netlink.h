/* Interface configuration over rtnetlink (libmnl): link state and MTU,
 * addresses, routes through the device. What `ip link/addr/route` would do,
 * without running it.
 *
 * Every call is one request and its ACK; errors are the kernel's -errno from
 * NLMSG_ERROR, and netlink_last_error() then gives the kernel's extended-ACK
 * text when it sent one (e.g. "Nexthop device is not up"). Blocking, for
 * setup and reconfiguration, not the data path. Needs CAP_NET_ADMIN. */
#ifndef ROAM_NET_NETLINK_H
#define ROAM_NET_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

struct netlink_ctx;

int netlink_open(struct netlink_ctx **out); /* 0, -ENOMEM, or -errno from socket/bind */
void netlink_close(struct netlink_ctx *ctx);

/* Kernel's message for the last failed request, or NULL. Valid until the next call. */
const char *netlink_last_error(const struct netlink_ctx *ctx);

/* Bring ifname up or down, and set its MTU unless mtu == 0.
 * -ENODEV if there is no such interface. */
int netlink_link_set(struct netlink_ctx *ctx, const char *ifname, bool up, uint32_t mtu);

/* Add (or replace) addr/prefixlen on ifname; addr is a struct in_addr or
 * in6_addr in network byte order. IPv6 addresses get IFA_F_NODAD so they are
 * usable at once (no duplicate detection on a point-to-point tunnel). */
int netlink_addr_add(struct netlink_ctx *ctx, const char *ifname, int family, const void *addr,
		     uint8_t prefixlen);

/* Route dst/prefixlen through ifname (main table, RTPROT_STATIC); host bits of
 * dst are ignored. An existing identical route counts as success. IPv4 routes
 * need the link up first (else -ENETDOWN). */
int netlink_route_add(struct netlink_ctx *ctx, const char *ifname, int family, const void *dst,
		      uint8_t prefixlen);

/* Remove a route that netlink_route_add() made; one already gone counts as success. */
int netlink_route_del(struct netlink_ctx *ctx, const char *ifname, int family, const void *dst,
		      uint8_t prefixlen);

/* An unreachable route for dst/prefixlen (no device) at the given metric:
 * a fallback behind the device routes, so that while they are missing (the
 * device down) packets for dst are refused here instead of following the
 * default route out of the host. An existing one counts as success; so does
 * deleting one already gone. */
int netlink_route_unreachable_add(struct netlink_ctx *ctx, int family, const void *dst, uint8_t prefixlen,
				  uint32_t metric);
int netlink_route_unreachable_del(struct netlink_ctx *ctx, int family, const void *dst, uint8_t prefixlen,
				  uint32_t metric);

#endif
