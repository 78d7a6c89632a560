#include "net/addrwatch.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>

#include "net/netlink.h"

struct addrwatch {
	struct mnl_socket *nl;
};

int addrwatch_open(struct addrwatch **out)
{
	struct addrwatch *w = calloc(1, sizeof(*w));
	int ret;
	if (!w)
		return -ENOMEM;
	w->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!w->nl) {
		ret = -errno;
		free(w);
		return ret;
	}
	if (mnl_socket_bind(w->nl, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		addrwatch_close(w);
		return ret;
	}
	*out = w;
	return 0;
}

void addrwatch_close(struct addrwatch *w)
{
	if (!w)
		return;
	if (w->nl)
		mnl_socket_close(w->nl);
	free(w);
}

int addrwatch_fd(const struct addrwatch *w)
{
	return mnl_socket_get_fd(w->nl);
}

struct drain_state {
	int ignore_ifindex;
	bool changed;
};

static int on_message(const struct nlmsghdr *nlh, void *data)
{
	struct drain_state *st = data;
	int ifindex;
	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
		if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
			return MNL_CB_OK;
		ifindex = (int)((const struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_index;
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
			return MNL_CB_OK;
		ifindex = ((const struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_index;
		break;
	default:
		return MNL_CB_OK;
	}
	if (ifindex != st->ignore_ifindex)
		st->changed = true;
	return MNL_CB_OK;
}

int addrwatch_parse(const void *buf, size_t len, int ignore_ifindex, bool *changed)
{
	struct drain_state st = { .ignore_ifindex = ignore_ifindex };
	int ret = 0;

	if (netlink_msgs_check(buf, len) < 0)
		return -EBADMSG;
	/* Multicast notifications carry seq 0 and the kernel's port id 0. */
	if (mnl_cb_run(buf, len, 0, 0, on_message, &st) < 0 && errno != ENOENT)
		ret = -EBADMSG;
	if (st.changed)
		*changed = true;
	return ret;
}

int addrwatch_drain(struct addrwatch *w, int ignore_ifindex, bool *changed)
{
	char buf[8192]; /* MNL_SOCKET_BUFFER_SIZE is not a constant */
	struct drain_state st = { .ignore_ifindex = ignore_ifindex };
	int ret = 0;
	/* Bounded: a burst of events is drained in at most 64 reads. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = mnl_socket_recvfrom(w->nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == ENOBUFS) {
				st.changed = true; /* overflowed: something changed */
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ret = -errno;
			break;
		}
		(void)addrwatch_parse(buf, (size_t)n, ignore_ifindex, &st.changed); /* a bad one is skipped */
	}
	*changed = st.changed;
	return ret;
}
