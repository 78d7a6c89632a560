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
#include <stddef.h>
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
/* Checks that buf (len bytes from one read) is a run of netlink messages each
 * within it, before libmnl walks it: libmnl compares nlmsg_len as an int (a
 * length of 2 GiB or more passes, then its walk leaves the buffer) and reads
 * attributes up to a message's aligned end. 0 or -EBADMSG. */
int netlink_msgs_check(const void *buf, size_t len);

/* What a request makes of one datagram received while it waits for its ACK
 * (buf, len), without I/O: 0 with *acked true for the ACK, 0 with *acked
 * false if no answer is in it yet (read again); or the kernel's -errno (then
 * extack, extack_size bytes, holds its text, or ""), -EPROTO / -ESRCH for a
 * message not for request seq to portid, -EBADMSG for a malformed one. */
int netlink_ack_parse(const void *buf, size_t len, uint32_t seq, uint32_t portid, char *extack, size_t extack_size,
		      bool *acked);

#endif
