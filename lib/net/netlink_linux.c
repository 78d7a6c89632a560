#include "net/netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/addr.h"

/* Large enough for any ACK, even one echoing a request (if CAP_ACK is off). */
#define NETLINK_BUF_SIZE 32768
#define NETLINK_EXTACK_MAX 160

struct netlink_ctx {
	struct mnl_socket *nl;
	unsigned int portid;
	uint32_t seq;
	char extack[NETLINK_EXTACK_MAX];
	char buf[NETLINK_BUF_SIZE];
};

int netlink_open(struct netlink_ctx **out)
{
	struct netlink_ctx *ctx = calloc(1, sizeof(*ctx));
	int one = 1, r;

	if (!ctx)
		return -ENOMEM;
	ctx->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!ctx->nl) {
		r = -errno;
		goto fail;
	}
	if (mnl_socket_bind(ctx->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto fail;
	}
	/* Best effort: the kernel's error text, and ACKs without our request echoed. */
	mnl_socket_setsockopt(ctx->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(ctx->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	ctx->portid = mnl_socket_get_portid(ctx->nl);
	*out = ctx;
	return 0;

fail:
	netlink_close(ctx);
	return r;
}

void netlink_close(struct netlink_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->nl)
		mnl_socket_close(ctx->nl);
	free(ctx);
}

const char *netlink_last_error(const struct netlink_ctx *ctx)
{
	return ctx->extack[0] ? ctx->extack : NULL;
}

struct netlink_extack {
	char *text;
	size_t size;
};

/* NLMSG_ERROR: error 0 is the ACK; otherwise keep the extended-ACK text. */
static int netlink_error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct netlink_extack *ext = data;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t payload = mnl_nlmsg_get_payload_len(nlh);
	size_t offset = sizeof(*err);
	struct nlattr *attr; /* not const: mnl_attr_for_each casts it to char * */

	if (payload < sizeof(*err)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (err->error == 0)
		return MNL_CB_STOP;

	/* The TLVs follow our request, echoed whole unless capped to its header. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (err->msg.nlmsg_len < sizeof(struct nlmsghdr))
			offset = SIZE_MAX;
		else
			offset += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	}
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && offset <= payload && ext->size) {
		mnl_attr_for_each(attr, nlh, offset) {
			if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
			    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
				strncpy(ext->text, mnl_attr_get_str(attr), ext->size - 1);
				ext->text[ext->size - 1] = '\0';
			}
		}
	}
	errno = err->error < 0 ? -err->error : EPROTO;
	return MNL_CB_ERROR;
}

int netlink_msgs_check(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(const void *)p;
		size_t msg_len = MNL_ALIGN((size_t)nlh->nlmsg_len);
		if (nlh->nlmsg_len < sizeof(*nlh) || msg_len > len)
			return -EBADMSG;
		p += msg_len;
		len -= msg_len;
	}
	return 0;
}

int netlink_ack_parse(const void *buf, size_t len, uint32_t seq, uint32_t portid, char *extack, size_t extack_size,
		      bool *acked)
{
	/* Not static const: libmnl takes the array non-const. */
	mnl_cb_t ctl_cb[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = netlink_error_cb };
	struct netlink_extack ext = { extack, extack_size };
	int r;

	if (extack_size)
		extack[0] = '\0';
	if (netlink_msgs_check(buf, len) < 0)
		return -EBADMSG;
	errno = 0;
	r = mnl_cb_run2(buf, len, seq, portid, NULL, &ext, ctl_cb, NLMSG_MIN_TYPE);
	if (r == MNL_CB_ERROR)
		return errno ? -errno : -EPROTO;
	*acked = r == MNL_CB_STOP;
	return 0;
}

/* Send one request with NLM_F_ACK and wait for its ACK or error. */
static int netlink_transact(struct netlink_ctx *ctx, struct nlmsghdr *nlh)
{
	uint32_t seq = ++ctx->seq;
	bool acked = false;
	ssize_t n;
	int r;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	ctx->extack[0] = '\0';
	if (mnl_socket_sendto(ctx->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(ctx->nl, ctx->buf, sizeof(ctx->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		r = netlink_ack_parse(ctx->buf, (size_t)n, seq, ctx->portid, ctx->extack, sizeof(ctx->extack), &acked);
		if (r < 0 || acked)
			return r;
	}
}

static int netlink_ifindex(const char *ifname, unsigned *out)
{
	unsigned idx = 0;

	if (!ifname || strlen(ifname) >= IFNAMSIZ)
		return -ENODEV;
	idx = if_nametoindex(ifname);
	if (idx == 0)
		return errno ? -errno : -ENODEV;
	*out = idx;
	return 0;
}

static int netlink_addr_len(int family, uint8_t prefixlen, size_t *out)
{
	size_t len;

	if (family == AF_INET)
		len = 4;
	else if (family == AF_INET6)
		len = 16;
	else
		return -EAFNOSUPPORT;
	if (prefixlen > len * 8)
		return -EINVAL;
	*out = len;
	return 0;
}

int netlink_link_set(struct netlink_ctx *ctx, const char *ifname, bool up, uint32_t mtu)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	unsigned idx = 0;
	int r;

	r = netlink_ifindex(ifname, &idx);
	if (r < 0)
		return r;
	nlh = mnl_nlmsg_put_header(ctx->buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)idx;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return netlink_transact(ctx, nlh);
}

/* What every address and route request needs: the address length for the
 * family (with the prefix length checked) and the interface's index. */
static int netlink_target(const char *ifname, int family, uint8_t prefixlen, size_t *alen, unsigned *idx)
{
	int r = netlink_addr_len(family, prefixlen, alen);
	return r < 0 ? r : netlink_ifindex(ifname, idx);
}

int netlink_addr_add(struct netlink_ctx *ctx, const char *ifname, int family, const void *addr,
		     uint8_t prefixlen)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	unsigned idx = 0;
	size_t alen;
	int r;

	if ((r = netlink_target(ifname, family, prefixlen, &alen, &idx)) < 0)
		return r;
	nlh = mnl_nlmsg_put_header(ctx->buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	/* REPLACE keeps a restart from failing on the address it added last time. */
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = idx;
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr);
	if (family == AF_INET6) {
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	return netlink_transact(ctx, nlh);
}

/* One route request: through ifname (unicast), or, with ifname NULL, an
 * unreachable route (no device) at the given metric. */
static int netlink_route(struct netlink_ctx *ctx, uint16_t type, const char *ifname, int family,
			 const void *dst, uint8_t prefixlen, uint32_t metric)
{
	struct ip_prefix net = { .family = family, .cidr = prefixlen };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	unsigned idx = 0;
	size_t alen;
	int r;

	r = ifname ? netlink_target(ifname, family, prefixlen, &alen, &idx) : netlink_addr_len(family, prefixlen, &alen);
	if (r < 0)
		return r;
	/* IPv4 rejects host bits in a route's destination; mask them here. */
	memcpy(net.addr, dst, alen);
	ip_prefix_mask(&net);

	nlh = mnl_nlmsg_put_header(ctx->buf);
	nlh->nlmsg_type = type;
	if (type == RTM_NEWROUTE)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = prefixlen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_type = ifname ? RTN_UNICAST : RTN_UNREACHABLE;
	if (type == RTM_DELROUTE)
		rtm->rtm_scope = RT_SCOPE_NOWHERE; /* match whatever scope it has */
	else
		rtm->rtm_scope = family == AF_INET && ifname ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	if (prefixlen)
		mnl_attr_put(nlh, RTA_DST, alen, net.addr);
	if (ifname)
		mnl_attr_put_u32(nlh, RTA_OIF, idx);
	if (metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);
	return netlink_transact(ctx, nlh);
}

int netlink_route_add(struct netlink_ctx *ctx, const char *ifname, int family, const void *dst,
		      uint8_t prefixlen)
{
	int r = netlink_route(ctx, RTM_NEWROUTE, ifname, family, dst, prefixlen, 0);

	return r == -EEXIST ? 0 : r;
}

int netlink_route_del(struct netlink_ctx *ctx, const char *ifname, int family, const void *dst,
		      uint8_t prefixlen)
{
	int r = netlink_route(ctx, RTM_DELROUTE, ifname, family, dst, prefixlen, 0);

	/* IPv4 says ESRCH and IPv6 ENOENT for "no such route". */
	return (r == -ESRCH || r == -ENOENT) ? 0 : r;
}

int netlink_route_unreachable_add(struct netlink_ctx *ctx, int family, const void *dst, uint8_t prefixlen,
				  uint32_t metric)
{
	int r = netlink_route(ctx, RTM_NEWROUTE, NULL, family, dst, prefixlen, metric);

	return r == -EEXIST ? 0 : r;
}

int netlink_route_unreachable_del(struct netlink_ctx *ctx, int family, const void *dst, uint8_t prefixlen,
				  uint32_t metric)
{
	int r = netlink_route(ctx, RTM_DELROUTE, NULL, family, dst, prefixlen, metric);

	return (r == -ESRCH || r == -ENOENT) ? 0 : r;
}
